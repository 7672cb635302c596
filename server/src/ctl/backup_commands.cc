// cairnctl backup and cairnctl restore: consistent online copies of a hub's
// database and their offline, verified installation.
#include <array>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "cairn/timestamp.h"
#include "server/src/audit/audit_verify.h"
#include "server/src/ctl/backup.h"
#include "server/src/ctl/command.h"
#include "server/src/keys/hub_keyring.h"
#include "server/src/store_location.h"

namespace cairn::server::ctl {
namespace {

namespace fs = std::filesystem;

// The OPRF key directory when the hub has one. The OPRF keys exist only
// when voprf-v1 is enabled, and losing them makes every voprf-v1 signal
// unmatchable (docs/token-scheme.md), so they are named when present.
std::optional<fs::path> OprfKeysDir(const fs::path& data_dir) {
  const fs::path oprf = data_dir / "oprf";
  std::error_code ec;
  if (fs::is_directory(oprf, ec)) return oprf;
  return std::nullopt;
}

// Secrets the database backup leaves out, and what to do about them.
std::string KeysReminder(const fs::path& data_dir) {
  std::string dirs = (data_dir / "keys").string() + " (signing keys)";
  if (auto oprf = OprfKeysDir(data_dir)) {
    dirs += " and " + oprf->string() + " (OPRF keys)";
  }
  return dirs +
         " are NOT in the backup: they are secrets, so copy them yourself, "
         "encrypted, after every key rotation, and keep those copies for as "
         "long as any database backup that needs them (a key dir set in "
         "cairnd's config replaces these paths)";
}

// The audit chain and checkpoint check that restore runs on the staged copy:
// A's offline verifier with the public halves of the hub keys. Missing keys
// are not fatal here: the verifier then names the first checkpoint whose key
// it lacks, which is the clearer message.
AuditVerifier MakeAuditVerifier() {
  return [](const fs::path& db_path,
            const fs::path& keys_dir) -> Result<std::string> {
    auto loaded = LoadHubPublicKeys(keys_dir);
    const AuditKeys keys = loaded ? ToAuditKeys(*loaded) : AuditKeys{};
    auto report = VerifyAuditLog(db_path, keys);
    if (!report) return tl::unexpected(report.error());
    // A backup from before the audit log has nothing to check; cairnd
    // upgrades it when it starts.
    if (!report->has_audit_log) {
      return std::string("not present (schema version ") +
             std::to_string(report->schema_version) +
             " predates the audit log; restore adds it, starting with the "
             "restore entry)";
    }
    if (!report->intact) {
      std::string hint;
      if (report->unsigned_restore_seq != 0) {
        hint =
            "; this backup was made after a restore that the hub had not "
            "signed yet: use a backup made once the hub had run after that "
            "restore, or an older one";
      } else if (!loaded || report->unverifiable) {
        hint =
            "; the hub public keys in " + keys_dir.string() +
            (loaded ? std::string(" lack that key")
                    : " could not be loaded (" + loaded.error().message + ")") +
            ": restore the keys directory first or pass --keys DIR";
      } else {
        hint = "; use an older backup, and keep this file for investigation";
      }
      return MakeError(ErrorCode::kCrypto, report->problem + hint);
    }
    std::string summary = "intact: " + std::to_string(report->entries) +
                          " entries, " + std::to_string(report->checkpoints) +
                          " checkpoints";
    if (report->first_at && report->last_at) {
      summary += ", " + FormatTimestamp(*report->first_at) + " to " +
                 FormatTimestamp(*report->last_at);
    }
    return summary;
  };
}

int Backup(const std::string& data_dir, const std::string& out, bool json) {
  auto report = BackupDatabase(DatabasePath(data_dir), out);
  if (!report) return Report(report.error());
  const std::string keys_dir = (fs::path(data_dir) / "keys").string();
  if (json) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    w.StartObject();
    w.Key("path");
    w.String(report->path.c_str());
    w.Key("bytes");
    w.Uint64(report->bytes);
    w.Key("pages");
    w.Int(report->pages);
    w.Key("integrity");
    w.String(report->integrity.c_str());
    w.Key("schema_version");
    w.Int(report->schema_version);
    w.Key("keys_not_included");
    w.String(keys_dir.c_str());
    w.Key("oprf_keys_not_included");
    if (auto oprf = OprfKeysDir(data_dir)) {
      w.String(oprf->c_str());
    } else {
      w.Null();
    }
    w.EndObject();
    std::printf("%s\n", buffer.GetString());
  } else {
    std::printf("backup      %s\n", report->path.c_str());
    std::printf("bytes       %llu\n",
                static_cast<unsigned long long>(report->bytes));
    std::printf("pages       %d\n", report->pages);
    std::printf("integrity   %s\n", report->integrity.c_str());
    std::printf("schema      %d\n", report->schema_version);
  }
  std::fprintf(stderr, "cairnctl: reminder: %s\n",
               KeysReminder(data_dir).c_str());
  return kExitOk;
}

// "audit entry 491 (hub.restore): the backup ends at entry 62, the
// replaced database at 490; entries 63 to 490 are no longer in the log"
std::string RestoreEntryLine(const RestoreEntry& e) {
  const std::uint64_t backup_last = e.declared.backup_last.seq;
  std::string line = "audit entry " + std::to_string(e.seq) + " (" +
                     std::string(kRestoreAction) +
                     "): the backup ends at entry " +
                     std::to_string(backup_last);
  if (!e.declared.replaced_last) {
    return line + ", no database was replaced";
  }
  const std::uint64_t replaced_last = e.declared.replaced_last->seq;
  line += e.declared.replaced
              ? ", the replaced database at " + std::to_string(replaced_last)
              : ", no database was replaced, the lost one's at " +
                    std::to_string(replaced_last) + " (--after-seq)";
  if (replaced_last > backup_last) {
    line += "; entries " + std::to_string(backup_last + 1) + " to " +
            std::to_string(replaced_last) + " are no longer in the log";
  }
  return line;
}

int Restore(const RestoreOptions& options, bool json) {
  auto report = RestoreDatabase(options);
  if (!report) return Report(report.error());
  for (const auto& warning : report->warnings) {
    std::fprintf(stderr, "cairnctl: warning: %s\n", warning.c_str());
  }
  if (json) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    w.StartObject();
    w.Key("path");
    w.String(report->path.c_str());
    w.Key("bytes");
    w.Uint64(report->bytes);
    w.Key("integrity");
    w.String(report->integrity.c_str());
    w.Key("schema_version");
    w.Int(report->schema_version);
    w.Key("audit");
    w.String(report->audit.c_str());
    w.Key("replaced");
    if (report->replaced) {
      w.String(report->replaced->c_str());
    } else {
      w.Null();
    }
    if (report->audit_entry) {
      const RestoreEntry& e = *report->audit_entry;
      w.Key("restore_entry");
      w.StartObject();
      w.Key("seq");
      w.Uint64(e.seq);
      w.Key("backup_last_seq");
      w.Uint64(e.declared.backup_last.seq);
      w.Key("replaced_last_seq");
      if (e.declared.replaced_last) {
        w.Uint64(e.declared.replaced_last->seq);
      } else {
        w.Null();
      }
      w.EndObject();
    }
    w.EndObject();
    std::printf("%s\n", buffer.GetString());
    return kExitOk;
  }
  std::printf("restored    %s\n", report->path.c_str());
  std::printf("bytes       %llu\n",
              static_cast<unsigned long long>(report->bytes));
  std::printf("integrity   %s\n", report->integrity.c_str());
  std::printf("schema      %d\n", report->schema_version);
  std::printf("audit       %s\n", report->audit.c_str());
  if (report->audit_entry) {
    std::printf("recorded    %s\n",
                RestoreEntryLine(*report->audit_entry).c_str());
  }
  if (report->replaced) {
    std::printf(
        "replaced    %s (the previous database: keep it, it is the only "
        "copy of the audit entries the restore discarded; it holds the same "
        "sensitive data as a backup, so store it like one)\n",
        report->replaced->c_str());
  }
  return kExitOk;
}

}  // namespace

void AddBackupCommands(CLI::App& app, int* exit_code) {
  struct State {
    std::string data_dir;
    std::string out;
    bool json = false;
    RestoreOptions restore;
    std::string from;
    std::string restore_data_dir;
    std::string keys_dir;
    bool restore_json = false;
    std::uint64_t after_seq = 0;
  };
  auto s = std::make_shared<State>();

  auto* backup = app.add_subcommand(
      "backup",
      "Copy the hub's database while it serves (SQLite online backup); the "
      "keys directory must be backed up separately");
  backup->add_option("--data", s->data_dir, "The hub's data directory")
      ->required();
  backup->add_option("--out", s->out, "The backup file to create (new)")
      ->required();
  backup->add_flag("--json", s->json, "Print JSON instead of a table");
  backup->callback(
      [s, exit_code] { *exit_code = Backup(s->data_dir, s->out, s->json); });

  auto* restore = app.add_subcommand(
      "restore",
      "Install a backup into a data directory (offline: the hub must be "
      "stopped); verifies integrity and the audit chain first");
  restore->add_option("--from", s->from, "The backup file")->required();
  restore
      ->add_option("--data", s->restore_data_dir,
                   "The data directory to restore into")
      ->required();
  restore->add_option("--keys", s->keys_dir,
                      "The hub keys directory whose public keys verify the "
                      "audit checkpoints (default: <data>/keys)");
  restore->add_flag("--force", s->restore.force,
                    "Replace an existing database (kept as "
                    "cairn.db.replaced-<time>)");
  CLI::Option* after_seq = restore->add_option(
      "--after-seq", s->after_seq,
      "With no database to replace (a lost disk): the lost hub's last audit "
      "seq (at least the newest seq in members' saved GET "
      "/v1/audit/checkpoints answers); the restore entry then declares the "
      "entries after the backup's as discarded and no seq is used twice");
  restore->add_flag("--json", s->restore_json, "Print JSON instead of a table");
  restore->callback([s, exit_code, after_seq] {
    s->restore.from = s->from;
    if (after_seq->count() > 0) s->restore.after_seq = s->after_seq;
    s->restore.data_dir = s->restore_data_dir;
    s->restore.keys_dir = s->keys_dir;
    s->restore.verify_audit = MakeAuditVerifier();
    *exit_code = Restore(s->restore, s->restore_json);
  });
}

}  // namespace cairn::server::ctl
