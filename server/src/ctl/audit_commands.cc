// cairnctl audit verify: offline check of a hub's audit log (hash chain and
// signed checkpoints), on a live data directory, a restored backup or a
// database file such as a backup (--db).
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cairn/json_object.h"
#include "cairn/timestamp.h"
#include "cairn/whole_file.h"
#include "cairn/wire/audit.h"
#include "server/src/audit/audit_verify.h"
#include "server/src/ctl/command.h"
#include "server/src/keys/hub_keyring.h"
#include "server/src/store_location.h"

namespace cairn::server::ctl {
namespace {

namespace fs = std::filesystem;

// "at entry 491 (2026-12-07T10:47:13Z) from cairn-latest.db: the backup
// ends at entry 62, the replaced database at 490; entries 63 to 490 were
// discarded"
std::string RestoreLine(const AuditRestoreFound& r) {
  std::string line =
      "at entry " + std::to_string(r.seq) + " (" + FormatTimestamp(r.at) +
      ") from " + (r.backup.empty() ? std::string("a backup") : r.backup) +
      ": the backup ends at entry " + std::to_string(r.backup_last_seq);
  if (!r.replaced_last_seq) return line + ", no database was replaced";
  line += ", the replaced database at " + std::to_string(*r.replaced_last_seq);
  if (r.discarded_to >= r.discarded_from) {
    line += "; entries " + std::to_string(r.discarded_from) + " to " +
            std::to_string(r.discarded_to) + " were discarded";
  }
  return line;
}

std::string DiscardedLine(const AuditDiscardedCheckpoint& d) {
  return "held checkpoint at " + std::to_string(d.seq) +
         " describes entries the restore at seq " +
         std::to_string(d.restore_seq) + " (" + FormatTimestamp(d.restore_at) +
         ") discarded (disclosed by the log, not tampering)";
}

// Already-encoded JSON values as one array.
std::string JsonArray(const std::vector<std::string>& values) {
  std::string out = "[";
  for (const std::string& value : values) {
    if (out.size() > 1) out += ',';
    out += value;
  }
  return out + "]";
}

std::string RestoreJson(const AuditRestoreFound& r) {
  JsonObjectWriter o;
  o.Add("seq", r.seq)
      .Add("at", FormatTimestamp(r.at))
      .Add("backup", r.backup)
      .Add("backup_last_seq", r.backup_last_seq);
  if (r.replaced_last_seq) {
    o.Add("replaced_last_seq", *r.replaced_last_seq);
  } else {
    o.AddRaw("replaced_last_seq", "null");
  }
  if (r.discarded_to >= r.discarded_from) {
    o.Add("discarded_from", r.discarded_from)
        .Add("discarded_to", r.discarded_to);
  }
  return o.Finish();
}

void PrintJson(const AuditVerifyReport& r) {
  JsonObjectWriter o;
  o.Add("intact", r.intact)
      .Add("entries", r.entries)
      .Add("checkpoints", r.checkpoints)
      .Add("hub_checkpoints", r.hub_checkpoints)
      .Add("held_checkpoints", r.held_checkpoints)
      .Add("signed_seq", r.signed_seq);
  if (r.signed_at) o.Add("signed_at", FormatTimestamp(*r.signed_at));
  o.Add("chain_entries", r.chain_entries)
      .Add("chain_last_seq", r.chain_last_seq)
      .Add("last_seq", r.last_seq);
  if (r.first_at) o.Add("first_at", FormatTimestamp(*r.first_at));
  if (r.last_at) o.Add("last_at", FormatTimestamp(*r.last_at));
  if (r.latest_at) o.Add("latest_at", FormatTimestamp(*r.latest_at));
  if (r.first_backward_seq != 0) {
    o.Add("first_backward_seq", r.first_backward_seq);
  }
  std::vector<std::string> restores;
  for (const AuditRestoreFound& restore : r.restores) {
    restores.push_back(RestoreJson(restore));
  }
  o.AddRaw("restores", JsonArray(restores));
  std::vector<std::string> discarded;
  for (const AuditDiscardedCheckpoint& d : r.discarded_checkpoints) {
    discarded.push_back(JsonObjectWriter()
                            .Add("seq", d.seq)
                            .Add("restore_seq", d.restore_seq)
                            .Add("restore_at", FormatTimestamp(d.restore_at))
                            .Finish());
  }
  o.AddRaw("discarded_checkpoints", JsonArray(discarded));
  if (!r.intact) {
    o.Add("unverifiable", r.unverifiable);
    if (r.unsigned_restore_seq != 0) {
      o.Add("unsigned_restore_seq", r.unsigned_restore_seq);
    }
    o.Add("bad_seq", r.bad_seq).Add("problem", r.problem);
  }
  std::printf("%s\n", o.Finish().c_str());
}

// Where signed coverage ends: entries after it are only as trustworthy as
// the database file until the hub signs its next checkpoint.
std::string SignedLine(const AuditVerifyReport& r) {
  if (r.signed_seq == 0) {
    return "none: no entry is covered by a verified checkpoint yet";
  }
  std::string line = "through entry " + std::to_string(r.signed_seq);
  if (r.signed_at)
    line += " (checkpoint of " + FormatTimestamp(*r.signed_at) + ")";
  if (r.signed_seq >= r.last_seq) return line + ", the last entry";
  return line + "; entries after seq " + std::to_string(r.signed_seq) +
         " are not covered by any checkpoint yet";
}

void PrintText(const AuditVerifyReport& r) {
  std::string span =
      r.first_at && r.last_at
          ? FormatTimestamp(*r.first_at) + " to " + FormatTimestamp(*r.last_at)
          : std::string("-");
  // Entries are chained in seq order, not time order: say where the times
  // go back, so that "to" is not read as the latest time the log holds.
  if (r.first_backward_seq != 0) {
    span += "; times go back at entry " + std::to_string(r.first_backward_seq);
    if (r.latest_at && r.last_at && *r.latest_at > *r.last_at) {
      span += ", the latest is " + FormatTimestamp(*r.latest_at);
    }
    span +=
        " (the hub's clock was set back, as by cairnd --clock-from-system "
        "after a wrong forward step; not in itself a sign of tampering)";
  }
  if (r.intact) {
    std::string restores;
    if (!r.restores.empty()) {
      restores = ", with " + std::to_string(r.restores.size()) +
                 (r.restores.size() == 1 ? " disclosed restore"
                                         : " disclosed restores");
    }
    std::printf("audit log intact%s\n", restores.c_str());
  } else if (r.unverifiable) {
    std::printf("audit log CANNOT BE VERIFIED: %s\n", r.problem.c_str());
    // The chain check needs no key; say how far it got, and what it
    // cannot show.
    std::printf(
        "hash chain  intact through entry %llu (%llu entries; %s)\n",
        static_cast<unsigned long long>(r.chain_last_seq),
        static_cast<unsigned long long>(r.chain_entries),
        r.unsigned_restore_seq != 0
            ? "the chain alone cannot show who wrote the restore entry"
            : "without the hub's keys this cannot show that the chain was "
              "not recomputed");
  } else {
    std::printf("audit log TAMPERED: %s\n", r.problem.c_str());
    std::printf("first bad  %llu\n",
                static_cast<unsigned long long>(r.bad_seq));
  }
  std::printf("entries     %llu%s\n",
              static_cast<unsigned long long>(r.entries),
              r.intact                      ? ""
              : r.unsigned_restore_seq != 0 ? " (before the unsigned restore's "
                                              "gap)"
              : r.unverifiable              ? " (vouched for before the "
                                              "unverifiable checkpoint)"
                               : " (intact before the first bad entry)");
  std::printf("checkpoints %llu (%llu of the hub's own, %llu held)\n",
              static_cast<unsigned long long>(r.checkpoints),
              static_cast<unsigned long long>(r.hub_checkpoints),
              static_cast<unsigned long long>(r.held_checkpoints));
  std::printf("signed      %s\n", SignedLine(r).c_str());
  std::printf("time span   %s\n", span.c_str());
  for (const AuditRestoreFound& restore : r.restores) {
    std::printf("restore     %s\n", RestoreLine(restore).c_str());
  }
  for (const AuditDiscardedCheckpoint& d : r.discarded_checkpoints) {
    std::printf("discarded   %s\n", DiscardedLine(d).c_str());
  }
}

// Checkpoints saved from GET /v1/audit/checkpoints (one answer per file).
Result<std::vector<wire::AuditCheckpoint>> LoadHeldCheckpoints(
    const std::vector<std::string>& files) {
  std::vector<wire::AuditCheckpoint> out;
  for (const std::string& file : files) {
    auto text =
        ReadWholeFile(file, "checkpoints file",
                      "pass a saved answer of GET /v1/audit/checkpoints");
    if (!text) return tl::unexpected(text.error());
    auto page = wire::DecodeAuditCheckpointsResponse(*text);
    if (!page) {
      return MakeError(ErrorCode::kInvalidArgument,
                       file +
                           " is not a saved GET /v1/audit/checkpoints "
                           "answer: " +
                           page.error().message);
    }
    out.insert(out.end(), page->checkpoints.begin(), page->checkpoints.end());
  }
  return out;
}

// Where to verify: a data directory (--data DIR: DIR/cairn.db, keys in
// DIR/keys by default) or a database file (--db FILE, such as a backup,
// whose keys must be named with --keys).
struct Target {
  std::string data_dir;
  std::string db_file;
};

int Verify(const Target& target, std::string keys_dir,
           const std::vector<std::string>& held_files, bool json) {
  auto usage = [](std::string message) {
    return Report(
        Error{
            ErrorCode::kInvalidArgument, std::move(message), {}, std::nullopt},
        kExitUsage);
  };
  std::error_code ec;
  if (target.data_dir.empty() == target.db_file.empty()) {
    return usage(
        "pass either --data DIR (a hub data directory) or --db FILE (a "
        "database file, such as a backup made by 'cairnctl backup', with "
        "--keys DIR)");
  }
  const std::string data_dir = target.data_dir;
  if (!data_dir.empty() && fs::is_regular_file(data_dir, ec)) {
    return usage("--data " + data_dir +
                 " is a file, not a data directory; to verify a database "
                 "file such as a backup, pass --db " +
                 data_dir + " --keys DIR (the hub's keys directory)");
  }
  if (!target.db_file.empty()) {
    if (keys_dir.empty()) {
      return usage(
          "--db needs --keys DIR: the hub's keys directory (DATA/keys "
          "of the hub the database came from, or its backup), whose "
          "public keys verify the checkpoints");
    }
    if (!fs::is_regular_file(target.db_file, ec)) {
      return Report(Error{ErrorCode::kNotFound,
                          "no database file at " + target.db_file +
                              "; pass a hub database or a backup file with "
                              "--db (a data directory goes with --data)",
                          {},
                          std::nullopt},
                    kExitUsage);
    }
  }
  const std::string db_path =
      target.db_file.empty() ? DatabasePath(data_dir).string() : target.db_file;
  const std::string what =
      target.db_file.empty() ? "the database in " + data_dir : target.db_file;
  if (keys_dir.empty()) keys_dir = (fs::path(data_dir) / "keys").string();
  auto held = LoadHeldCheckpoints(held_files);
  if (!held) return Report(held.error(), kExitUsage);
  AuditKeys keys;
  auto loaded = LoadHubPublicKeys(keys_dir);
  if (loaded) {
    keys = ToAuditKeys(*loaded);
  } else {
    // Still worth checking the chain; checkpoints will name the key they
    // could not find.
    std::fprintf(stderr,
                 "cairnctl: warning: no hub public keys loaded from %s (%s); "
                 "checkpoint signatures cannot be verified, pass --keys DIR\n",
                 keys_dir.c_str(), loaded.error().message.c_str());
  }
  auto report = VerifyAuditLog(db_path, keys, *held);
  // Exit 1 means tampered and nothing else: a log that could not be read
  // or checked is 2, so that an alert on 1 is never a wrong path.
  if (!report) return Report(report.error(), kExitUsage);
  if (!report->has_audit_log) {
    return Report(Error{ErrorCode::kInvalidArgument,
                        what + " predates the audit log (schema version " +
                            std::to_string(report->schema_version) +
                            "); start cairnd once to upgrade it",
                        {},
                        std::nullopt},
                  kExitUsage);
  }
  if (json) {
    PrintJson(*report);
  } else {
    PrintText(*report);
  }
  if (report->intact) return kExitOk;
  return report->unverifiable ? kExitUsage : kExitRefused;
}

}  // namespace

void AddAuditCommands(CLI::App& app, int* exit_code) {
  struct Settings {
    Target target;
    std::string keys_dir;
    std::vector<std::string> held_files;
    bool json = false;
  };
  auto s = std::make_shared<Settings>();
  auto* audit = app.add_subcommand("audit", "Check the hub's audit log");
  audit->require_subcommand(1);
  auto* verify = audit->add_subcommand(
      "verify",
      "Verify the audit log's hash chain and signed checkpoints offline "
      "(exit 0 intact, 1 tampered, 2 could not be checked: no database, or "
      "a checkpoint signed by a key not given)");
  auto* data = verify->add_option("--data", s->target.data_dir,
                                  "Hub data directory (or a copy)");
  auto* db = verify->add_option(
      "--db", s->target.db_file,
      "A hub database file instead of a data directory, such as a backup "
      "made by 'cairnctl backup' (needs --keys)");
  data->excludes(db);
  verify->add_option("--keys", s->keys_dir,
                     "Directory of the hub's public keys (default DATA/keys; "
                     "required with --db)");
  verify->add_option(
      "--checkpoints", s->held_files,
      "A saved answer of GET /v1/audit/checkpoints kept outside the hub "
      "(repeatable): each checkpoint is checked against the log too");
  verify->add_flag("--json", s->json, "Print the report as JSON");
  verify->callback([s, exit_code] {
    *exit_code = Verify(s->target, s->keys_dir, s->held_files, s->json);
  });
}

}  // namespace cairn::server::ctl
