#include "server/src/audit/audit_restore.h"

#include <algorithm>
#include <chrono>

#include <rapidjson/document.h>

#include "cairn/encoding.h"
#include "cairn/json_object.h"
#include "cairn/timestamp.h"
#include "server/src/store/sqlite_db.h"

namespace cairn::server {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;
using std::chrono::sys_seconds;

constexpr int kAuditSchemaVersion = 3;  // the first with audit_log

// `known`: false for a lost log's last entry, of which only the seq is
// known.
void AddHead(JsonObjectWriter& w, const std::string& prefix,
             const std::optional<AuditHead>& head, bool known = true) {
  if (!head) {
    w.AddRaw(prefix + "_seq", "null");
    w.AddRaw(prefix + "_hash", "null");
    w.AddRaw(prefix + "_at", "null");
    return;
  }
  w.Add(prefix + "_seq", head->seq);
  if (head->seq == 0 || !known) {
    w.AddRaw(prefix + "_hash", "null");
    w.AddRaw(prefix + "_at", "null");
    return;
  }
  w.Add(prefix + "_hash", HexEncode(head->hash));
  w.Add(prefix + "_at", FormatTimestamp(sys_seconds{seconds{head->at}}));
}

Error BadDetails(std::string why) {
  return Error{ErrorCode::kInvalidArgument,
               "its details are not a restore declaration: " + std::move(why),
               {},
               std::nullopt};
}

// Reads "<prefix>_seq", "_hash" and "_at". nullopt: the seq is null.
// `known`: false when the hash may be null (a lost log's last entry).
Result<std::optional<AuditHead>> ParseHead(const rapidjson::Value& doc,
                                           const std::string& prefix,
                                           bool known = true) {
  const std::string seq_key = prefix + "_seq", hash_key = prefix + "_hash",
                    at_key = prefix + "_at";
  auto seq = doc.FindMember(seq_key.c_str());
  if (seq == doc.MemberEnd()) {
    return tl::unexpected(BadDetails("\"" + seq_key + "\" is missing"));
  }
  if (seq->value.IsNull()) return std::optional<AuditHead>{};
  if (!seq->value.IsUint64()) {
    return tl::unexpected(
        BadDetails("\"" + seq_key + "\" is not a whole number"));
  }
  AuditHead head;
  head.seq = seq->value.GetUint64();
  if (head.seq == 0) return std::optional<AuditHead>{head};
  auto hash = doc.FindMember(hash_key.c_str());
  if (!known && hash != doc.MemberEnd() && hash->value.IsNull()) {
    return std::optional<AuditHead>{head};
  }
  if (hash == doc.MemberEnd() || !hash->value.IsString()) {
    return tl::unexpected(
        BadDetails("\"" + hash_key + "\" is missing or not a string"));
  }
  auto bytes = HexDecode(
      std::string_view(hash->value.GetString(), hash->value.GetStringLength()),
      /*lowercase_only=*/true);
  if (!bytes || bytes->size() != head.hash.size()) {
    return tl::unexpected(
        BadDetails("\"" + hash_key + "\" is not 64 lowercase hex characters"));
  }
  head.hash = ToAuditHash(*bytes);
  auto at = doc.FindMember(at_key.c_str());
  if (at != doc.MemberEnd() && at->value.IsString()) {
    if (auto t = ParseTimestamp(at->value.GetString())) {
      head.at = t->time_since_epoch().count();
    }
  }
  return std::optional<AuditHead>{head};
}

}  // namespace

std::uint64_t RestoreDeclaration::EntrySeq() const {
  return std::max(backup_last.seq, replaced_last ? replaced_last->seq : 0) + 1;
}

std::string EncodeRestoreDetails(const RestoreDeclaration& d) {
  JsonObjectWriter w;
  w.Add("backup", d.backup);
  AddHead(w, "backup_last", d.backup_last);
  if (d.replaced) {
    w.Add("replaced", *d.replaced);
  } else {
    w.AddRaw("replaced", "null");
  }
  AddHead(w, "replaced_last", d.replaced_last, d.replaced.has_value());
  return w.Finish();
}

Result<RestoreDeclaration> ParseRestoreDetails(std::string_view details) {
  rapidjson::Document doc;
  doc.Parse(details.data(), details.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return tl::unexpected(BadDetails("not a JSON object"));
  }
  RestoreDeclaration d;
  if (doc.HasMember("backup") && doc["backup"].IsString()) {
    d.backup = doc["backup"].GetString();
  }
  auto backup_last = ParseHead(doc, "backup_last");
  if (!backup_last) return tl::unexpected(backup_last.error());
  if (!*backup_last) {
    return tl::unexpected(BadDetails("\"backup_last_seq\" is null"));
  }
  d.backup_last = **backup_last;
  if (doc.HasMember("replaced") && doc["replaced"].IsString()) {
    d.replaced = doc["replaced"].GetString();
  }
  auto replaced_last =
      ParseHead(doc, "replaced_last", /*known=*/d.replaced.has_value());
  if (!replaced_last) return tl::unexpected(replaced_last.error());
  d.replaced_last = *replaced_last;
  return d;
}

Result<std::optional<AuditHead>> ReadAuditHead(const fs::path& db_path) {
  auto db = Database::Open(db_path, /*create=*/false, /*read_only=*/true,
                           std::chrono::milliseconds(5000));
  if (!db) return tl::unexpected(db.error());
  auto version = SchemaVersionOf(**db);
  if (!version) return tl::unexpected(version.error());
  if (*version < kAuditSchemaVersion) return std::optional<AuditHead>{};
  auto head = LastAuditEntry(**db);
  if (!head) return tl::unexpected(head.error());
  return std::optional<AuditHead>{*head};
}

Result<RestoreEntry> AppendRestoreEntry(const fs::path& db_path,
                                        std::string backup,
                                        std::optional<std::string> replaced,
                                        std::optional<AuditHead> replaced_last,
                                        std::int64_t at) {
  auto db = Database::Open(db_path, /*create=*/false, /*read_only=*/false,
                           std::chrono::milliseconds(5000));
  if (!db) return tl::unexpected(db.error());
  auto version = SchemaVersionOf(**db);
  if (!version) return tl::unexpected(version.error());
  if (*version < kAuditSchemaVersion) {
    if (auto s = MigrateSchema(**db, kAuditSchemaVersion); !s) {
      return tl::unexpected(s.error());
    }
  }
  if (auto s = (*db)->Exec("BEGIN IMMEDIATE"); !s) {
    return tl::unexpected(s.error());
  }
  auto rollback = [&db](Error error) -> Result<RestoreEntry> {
    (void)(*db)->Exec("ROLLBACK");
    return tl::unexpected(std::move(error));
  };
  RestoreEntry entry;
  entry.at = at;
  entry.declared.backup = std::move(backup);
  entry.declared.replaced = std::move(replaced);
  entry.declared.replaced_last = replaced_last;
  {
    auto head = LastAuditEntry(**db);
    if (!head) return rollback(head.error());
    entry.declared.backup_last = *head;
  }
  if (!entry.declared.replaced && entry.declared.replaced_last &&
      entry.declared.replaced_last->seq < entry.declared.backup_last.seq) {
    return rollback(Error{
        ErrorCode::kInvalidArgument,
        "the lost log's last audit seq (" +
            std::to_string(entry.declared.replaced_last->seq) +
            ") is before the backup's last entry (" +
            std::to_string(entry.declared.backup_last.seq) +
            "); give the lost hub's last seq, which is at least the backup's",
        {},
        std::nullopt});
  }
  entry.seq = entry.declared.EntrySeq();
  const std::string details = EncodeRestoreDetails(entry.declared);
  AuditEntryFields fields;
  fields.seq = entry.seq;
  fields.at = at;
  fields.actor = kRestoreActor;
  fields.action = kRestoreAction;
  fields.details = details;
  fields.result = "ok";
  fields.prev_hash = entry.declared.backup_last.hash;  // zeros for seq 0
  if (auto inserted = AppendAuditEntry(**db, fields); !inserted) {
    return rollback(inserted.error());
  }
  if (auto s = (*db)->Exec("COMMIT"); !s) return rollback(s.error());
  return entry;
}

}  // namespace cairn::server
