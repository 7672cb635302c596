#include "server/src/store/key_use.h"

#include <algorithm>
#include <chrono>

#include "cairn/encoding.h"
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
    auto count = ScalarInt(**db, "SELECT count(*) FROM audit_checkpoints");
    if (!count) return tl::unexpected(count.error());
    use.checkpoints = *count;
    auto newest = (*db)->Prepare(
        "SELECT key_id FROM audit_checkpoints ORDER BY seq DESC LIMIT 1");
    if (!newest) return tl::unexpected(newest.error());
    auto row = newest->Step();
    if (!row) return tl::unexpected(row.error());
    if (*row) use.newest_checkpoint_key = newest->Text(0);
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
  for (const auto& [epoch, signals] : use.active_voprf_by_epoch) {
    const auto recorded = use.recorded_oprf_keys.find(epoch);
    const auto key = found.find(epoch);
    if (recorded == use.recorded_oprf_keys.end() || key == found.end() ||
        recorded->second == key->second) {
      continue;
    }
    return MakeError(
        ErrorCode::kConflict,
        "the OPRF key of epoch " + std::to_string(epoch) + " in " +
            dir.string() + " (public key " + HexEncode(key->second) +
            ") is not the one this database recorded for that epoch (" +
            HexEncode(recorded->second) + "), which its " +
            std::to_string(signals) +
            " active voprf-v1 signals of that epoch were made with: the "
            "directory belongs to another hub, or the epoch was made again; "
            "restore the OPRF directory backed up with this database" +
            kAllowNew);
  }
  return {};
}

}  // namespace cairn::server
