#include "server/src/store/key_use.h"

#include <algorithm>
#include <chrono>
#include <optional>

#include "cairn/encoding.h"
#include "server/src/store/audit_chain.h"
#include "server/src/store/guarded_clock.h"
#include "server/src/store/sqlite_db.h"

namespace cairn::server {
namespace {

constexpr char kAllowNew[] =
    "; if those keys are lost for good, start cairnd once with "
    "--allow-new-keys (operator guide, section 10)";

Result<std::int64_t> ScalarInt(Database& db, const char* sql) {
  auto stmt = db.Prepare(sql);
  if (!stmt) return tl::unexpected(stmt.error());
  auto row = stmt->Step();
  if (!row) return tl::unexpected(row.error());
  return *row ? stmt->Int(0) : 0;
}

// The newest hub.clock_step entry with a hold, among those within the
// deletion hold of the log's end, through the partial index of schema 9
// (only those entries, newest first): a start must not read the last
// hour of a busy hub's log. A database without the index (before schema
// 9; the store adds it when it opens) cannot hold such entries, which
// only this version writes.
Status ReadRecordedHold(Database& db, sys_seconds newest_at, KeyUse& use) {
  auto has_index = ScalarInt(
      db,
      "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = "
      "'audit_clock_steps'");
  if (!has_index) return tl::unexpected(has_index.error());
  if (*has_index == 0) return {};
  const auto oldest = newest_at - GuardedClockOptions{}.deletion_hold;
  auto stmt = db.Prepare(kRecordedHoldQuery);
  if (!stmt) return tl::unexpected(stmt.error());
  while (true) {
    auto row = stmt->Step();
    if (!row) return tl::unexpected(row.error());
    if (!*row || stmt->Int(1) < oldest.time_since_epoch().count()) break;
    if (auto until = RecordedHoldUntil(stmt->Text(2))) {
      use.recorded_hold_until = *until;
      use.recorded_hold_seq = static_cast<std::uint64_t>(stmt->Int(0));
      break;
    }
  }
  return {};
}

}  // namespace

Result<KeyUse> ReadKeyUse(const std::filesystem::path& db_path,
                          bool voprf_signals) {
  auto db = Database::Open(db_path, /*create=*/false, /*read_only=*/true,
                           std::chrono::milliseconds(5000));
  if (!db) return tl::unexpected(db.error());
  KeyUse use;
  auto has_checkpoints = ScalarInt(
      **db,
      "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = "
      "'audit_checkpoints'");
  if (!has_checkpoints) return tl::unexpected(has_checkpoints.error());
  if (*has_checkpoints > 0) {
    // audit_log came with audit_checkpoints (schema 3). Its newest entry by
    // seq is also its latest: entries are appended in the hub's time order.
    auto newest_at =
        (*db)->Prepare("SELECT at FROM audit_log ORDER BY seq DESC LIMIT 1");
    if (!newest_at) return tl::unexpected(newest_at.error());
    auto at_row = newest_at->Step();
    if (!at_row) return tl::unexpected(at_row.error());
    if (*at_row) {
      use.newest_audit_at =
          sys_seconds(std::chrono::seconds(newest_at->Int(0)));
      if (auto s = ReadRecordedHold(**db, *use.newest_audit_at, use); !s) {
        return tl::unexpected(s.error());
      }
    }
    auto count = ScalarInt(**db, "SELECT count(*) FROM audit_checkpoints");
    if (!count) return tl::unexpected(count.error());
    use.checkpoints = *count;
    auto newest = (*db)->Prepare(
        "SELECT key_id, at FROM audit_checkpoints ORDER BY seq DESC LIMIT 1");
    if (!newest) return tl::unexpected(newest.error());
    auto row = newest->Step();
    if (!row) return tl::unexpected(row.error());
    if (*row) {
      use.newest_checkpoint_key = newest->Text(0);
      use.newest_checkpoint_at =
          sys_seconds(std::chrono::seconds(newest->Int(1)));
    }
  }
  if (!voprf_signals) return use;
  // Status 0 is an active signal; scheme 1 is voprf-v1 (vocabulary.h).
  // NOT INDEXED: otherwise SQLite walks signals_active_by_expiry (active
  // rows in expiry order) and looks each row up in the table, a random
  // read per signal wherever expiry order differs from insertion order;
  // reading the table in rowid order is one sequential pass.
  auto voprf = (*db)->Prepare(
      "SELECT epoch, count(*) FROM signals NOT INDEXED"
      " WHERE status = 0 AND scheme = 1 GROUP BY epoch");
  if (!voprf) return tl::unexpected(voprf.error());
  while (true) {
    auto row = voprf->Step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) break;
    const auto epoch = static_cast<std::uint32_t>(voprf->Int(0));
    use.active_voprf_by_epoch[epoch] = voprf->Int(1);
    use.active_voprf_signals += voprf->Int(1);
    use.newest_voprf_epoch = std::max(use.newest_voprf_epoch, epoch);
  }
  auto has_keys = ScalarInt(
      **db,
      "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = "
      "'oprf_keys'");
  if (!has_keys) return tl::unexpected(has_keys.error());
  if (*has_keys > 0) {
    auto keys = (*db)->Prepare("SELECT epoch, public_key FROM oprf_keys");
    if (!keys) return tl::unexpected(keys.error());
    while (true) {
      auto row = keys->Step();
      if (!row) return tl::unexpected(row.error());
      if (!*row) break;
      const auto blob = keys->Blob(1);
      oprf::Element key{};
      if (blob.size() != key.size()) {
        return MakeError(ErrorCode::kInternal,
                         "the database's oprf_keys table holds a key of " +
                             std::to_string(blob.size()) + " bytes for epoch " +
                             std::to_string(keys->Int(0)) +
                             "; restore the database from a backup");
      }
      std::copy(blob.begin(), blob.end(), key.begin());
      use.recorded_oprf_keys[static_cast<std::uint32_t>(keys->Int(0))] = key;
    }
  }
  return use;
}

Status MayCreateSigningKey(const KeyUse& use,
                           const std::filesystem::path& keys_dir) {
  if (use.checkpoints == 0) return {};
  return MakeError(
      ErrorCode::kConflict,
      "the keys directory " + keys_dir.string() +
          " has no hub signing key, but the database holds " +
          std::to_string(use.checkpoints) +
          " audit checkpoints (the newest signed by " +
          use.newest_checkpoint_key +
          "): restore the keys directory backed up with this database "
          "(or point [keys] dir at it) rather than start with a new key" +
          kAllowNew);
}

Status SigningKeysCoverDatabase(const KeyUse& use,
                                const std::vector<std::string>& key_ids,
                                const std::filesystem::path& keys_dir) {
  if (use.newest_checkpoint_key.empty()) return {};
  if (std::find(key_ids.begin(), key_ids.end(), use.newest_checkpoint_key) !=
      key_ids.end()) {
    return {};
  }
  return MakeError(ErrorCode::kConflict,
                   "the database's newest audit checkpoint was signed by " +
                       use.newest_checkpoint_key + ", which is not among the " +
                       std::to_string(key_ids.size()) + " keys in " +
                       keys_dir.string() +
                       ": the directory belongs to another hub or is older "
                       "than the database; restore the keys directory backed "
                       "up with this database" +
                       kAllowNew);
}

Status MayCreateOprfKey(const KeyUse& use, const std::filesystem::path& dir) {
  if (use.active_voprf_signals == 0) return {};
  return MakeError(
      ErrorCode::kConflict,
      "the OPRF key directory " + dir.string() +
          " has no key, but the database holds " +
          std::to_string(use.active_voprf_signals) +
          " active voprf-v1 signals (newest epoch " +
          std::to_string(use.newest_voprf_epoch) +
          "), which a new key would silently stop matching: restore the "
          "OPRF directory backed up with this database (or point [oprf] "
          "key_dir at it)" +
          kAllowNew);
}

Status OprfKeysCoverDatabase(const KeyUse& use,
                             std::uint32_t newest_epoch_found,
                             const std::filesystem::path& dir) {
  if (use.active_voprf_signals == 0 ||
      newest_epoch_found >= use.newest_voprf_epoch) {
    return {};
  }
  return MakeError(
      ErrorCode::kConflict,
      "the database holds voprf-v1 signals of epoch " +
          std::to_string(use.newest_voprf_epoch) + ", but the newest key in " +
          dir.string() + " is epoch " + std::to_string(newest_epoch_found) +
          ": the directory is older than the database; restore the OPRF "
          "directory backed up with this database" +
          kAllowNew);
}

Status OprfKeysMatchRecord(const KeyUse& use,
                           const std::map<std::uint32_t, oprf::Element>& found,
                           const std::filesystem::path& dir) {
  // Every recorded epoch, with or without active signals: members' mirrors
  // and the SDK's token cache know an epoch by its number only, so a
  // different key under a number once served would leave them holding
  // tokens that silently match nothing.
  std::optional<std::uint32_t> first_changed;
  std::string also_changed;
  bool shares_recorded_epoch = false;
  for (const auto& [epoch, key] : found) {
    const auto recorded = use.recorded_oprf_keys.find(epoch);
    if (recorded == use.recorded_oprf_keys.end()) continue;
    if (recorded->second == key) {
      shares_recorded_epoch = true;
    } else if (!first_changed) {
      first_changed = epoch;
    } else {
      also_changed += ", " + std::to_string(epoch);
    }
  }
  if (first_changed) {
    const std::uint32_t epoch = *first_changed;
    const auto active = use.active_voprf_by_epoch.find(epoch);
    const std::string made_with =
        active == use.active_voprf_by_epoch.end()
            ? "which the hub served that epoch with (members' mirrors and "
              "the SDK's token cache know an epoch by its number only, so "
              "tokens they hold would silently match nothing)"
            : "which its " + std::to_string(active->second) +
                  " active voprf-v1 signals of that epoch were made with";
    return MakeError(
        ErrorCode::kConflict,
        "the OPRF key of epoch " + std::to_string(epoch) + " in " +
            dir.string() + " (public key " + HexEncode(found.at(epoch)) +
            ") is not the one this database recorded for that epoch (" +
            HexEncode(use.recorded_oprf_keys.at(epoch)) + "), " + made_with +
            (also_changed.empty()
                 ? std::string()
                 : "; the keys of epochs" + also_changed.substr(1) +
                       " differ from the record too") +
            ": the directory belongs to another hub, or the epoch was made "
            "again; restore the OPRF directory backed up with this "
            "database" +
            kAllowNew);
  }
  // A directory that holds none of the epochs this database recorded, not
  // even the one its newest active signals use, is not this hub's lineage
  // (a rotation followed by deleting the old epoch-N.key files keeps the
  // newer epoch, recorded at the restart that announced it).
  if (use.active_voprf_signals == 0 || shares_recorded_epoch ||
      found.contains(use.newest_voprf_epoch) ||
      !use.recorded_oprf_keys.contains(use.newest_voprf_epoch)) {
    return {};
  }
  std::string epochs;
  for (const auto& entry : found) {
    epochs += (epochs.empty() ? "" : ", ") + std::to_string(entry.first);
  }
  const auto newest = use.active_voprf_by_epoch.find(use.newest_voprf_epoch);
  return MakeError(
      ErrorCode::kConflict,
      "the database holds " +
          std::to_string(
              newest == use.active_voprf_by_epoch.end() ? 0 : newest->second) +
          " active voprf-v1 signals of epoch " +
          std::to_string(use.newest_voprf_epoch) +
          ", made with the key it recorded for that epoch, but " +
          dir.string() + " holds epochs " + epochs +
          ", none of which this database recorded: the directory belongs to "
          "another hub (with it every voprf-v1 signal would silently match "
          "nothing), or the old epoch files were deleted after 'cairnctl "
          "oprf rotate' before cairnd announced the new epoch; restore the "
          "OPRF directory backed up with this database" +
          kAllowNew);
}

Result<std::optional<AuditEvent>> ReadNewestAuditEntry(
    const std::filesystem::path& db_path, std::string_view action) {
  auto db = Database::Open(db_path, /*create=*/false, /*read_only=*/true,
                           std::chrono::milliseconds(5000));
  if (!db) return tl::unexpected(db.error());
  auto has_log = ScalarInt(
      **db,
      "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = "
      "'audit_log'");
  if (!has_log) return tl::unexpected(has_log.error());
  if (*has_log == 0) return std::optional<AuditEvent>();
  auto stmt = (*db)->Prepare(
      "SELECT request_id, actor, fingerprint, details, result FROM audit_log"
      " WHERE action = ?1 ORDER BY seq DESC LIMIT 1");
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->Bind(1, action);
  auto row = stmt->Step();
  if (!row) return tl::unexpected(row.error());
  if (!*row) return std::optional<AuditEvent>();
  AuditEvent entry;
  entry.request_id = stmt->Text(0);
  entry.actor = stmt->Text(1);
  entry.fingerprint = stmt->Text(2);
  entry.action = std::string(action);
  entry.details = stmt->Text(3);
  entry.result = stmt->Text(4);
  return std::optional<AuditEvent>(std::move(entry));
}

}  // namespace cairn::server
