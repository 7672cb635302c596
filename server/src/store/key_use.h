// Which hub keys a database depends on, read before cairnd opens its key
// directories, so that a data directory restored without its keys (or with
// another hub's) is refused instead of quietly getting new keys.
//
// A new signing key would leave the database's checkpoints unverifiable by
// the hub's own keys; a new OPRF key makes every voprf-v1 signal stop
// matching without an error anywhere (operator guide, section 10).
#ifndef CAIRN_SERVER_STORE_KEY_USE_H_
#define CAIRN_SERVER_STORE_KEY_USE_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/oprf.h"
#include "cairn/result.h"
#include "server/src/store/store.h"

namespace cairn::server {

struct KeyUse {
  std::int64_t checkpoints = 0;
  // Key id and signing time of the newest audit checkpoint; "" and unset
  // when none.
  std::string newest_checkpoint_key;
  std::optional<sys_seconds> newest_checkpoint_at;
  // voprf-v1 signals that are still active, and the highest epoch among
  // them (0 when none).
  std::int64_t active_voprf_signals = 0;
  std::uint32_t newest_voprf_epoch = 0;
  // Active voprf-v1 signals per epoch (only epochs that have some).
  std::map<std::uint32_t, std::int64_t> active_voprf_by_epoch;
  // The public key recorded for each OPRF epoch the hub has served with
  // (table oprf_keys, schema 8; empty before).
  std::map<std::uint32_t, oprf::Element> recorded_oprf_keys;
  // The time of the newest audit entry (every write batch appends one):
  // the hub's clock must not start earlier (GuardedClock::NotBefore).
  // Unset for a database without entries.
  std::optional<sys_seconds> newest_audit_at;
  // The latest deletion hold the audit log records (hub.clock_step entries
  // with a hold_until, GuardedClock::RestoreHold) and its entry's seq.
  // Only entries within GuardedClockOptions::deletion_hold of
  // newest_audit_at are read: an older entry's hold ended before the
  // newest entry was written (an entry is dated no earlier than the system
  // clock, the hold's end no later than the hold after it).
  std::optional<sys_seconds> recorded_hold_until;
  std::uint64_t recorded_hold_seq = 0;
};

// How ReadKeyUse finds the recorded deletion holds: hub.clock_step
// entries, newest first, through the partial index audit_clock_steps
// (schema 9), so a start does not read the last hour of a busy hub's log.
// The action is a literal, not a parameter: SQLite uses a partial index
// only for a query whose WHERE clause implies the index's. Public for the
// test that checks SQLite's plan for it.
inline constexpr char kRecordedHoldQuery[] =
    "SELECT seq, at, details FROM audit_log"
    " WHERE action = 'hub.clock_step' ORDER BY seq DESC";

// Reads the database at `db_path` (read-only). A database older than the
// audit log (schema < 3) has no checkpoints. The voprf-v1 fields take a
// scan of the signals table (no index has the scheme), so they are read
// only with `voprf_signals`; without it they stay 0, which the OPRF checks
// below would take for a database without voprf-v1 signals: pass true
// whenever they will run (cairnd: when [oprf] is enabled).
Result<KeyUse> ReadKeyUse(const std::filesystem::path& db_path,
                          bool voprf_signals);

// Whether a hub signing key may be created because the keys directory has
// none: only when the database holds no checkpoint. Otherwise a kConflict
// error saying what to restore (cairnd's --allow-new-keys turns the errors
// of these checks into warnings).
Status MayCreateSigningKey(const KeyUse& use,
                           const std::filesystem::path& keys_dir);

// Whether the signing keys found (`key_ids`) include the one that signed
// the newest checkpoint: otherwise the directory belongs to another hub or
// predates the database.
Status SigningKeysCoverDatabase(const KeyUse& use,
                                const std::vector<std::string>& key_ids,
                                const std::filesystem::path& keys_dir);

// The same two checks for the OPRF keys (token scheme voprf-v1): a new
// epoch 1 may be created only when no active voprf-v1 signal exists, and
// the keys found must reach the newest epoch those signals use.
Status MayCreateOprfKey(const KeyUse& use, const std::filesystem::path& dir);
Status OprfKeysCoverDatabase(const KeyUse& use,
                             std::uint32_t newest_epoch_found,
                             const std::filesystem::path& dir);
// Whether the keys found (`found`: epoch -> public key) are this hub's:
//  - each must be the key the database recorded for its epoch, whether or
//    not active signals use it: a different key under the same epoch
//    number (another hub's directory, or an epoch made again after the
//    directory was lost) makes that epoch's signals match nothing, and
//    members, who cache tokens by epoch number, would not notice;
//  - when the epoch of the newest active voprf-v1 signals has a recorded
//    key but is not in the directory, the directory must hold some epoch
//    the database recorded: otherwise it is another hub's (epochs all
//    newer than the database's pass OprfKeysCoverDatabase). A rotation
//    followed by deleting the old epoch files passes, since the restart
//    that announced the new epoch recorded it.
Status OprfKeysMatchRecord(const KeyUse& use,
                           const std::map<std::uint32_t, oprf::Element>& found,
                           const std::filesystem::path& dir);

// The newest entry of the audit log with `action` (request_id, actor,
// fingerprint, details and result; `at` is left unset) in the database at
// `db_path`, read-only; nullopt when there is none, or no audit log
// (schema < 3). Scans back from the newest entry: meant for the rare
// start-up that needs it (SettleAbandonedRotations), not for every start.
Result<std::optional<AuditEvent>> ReadNewestAuditEntry(
    const std::filesystem::path& db_path, std::string_view action);

}  // namespace cairn::server

#endif  // CAIRN_SERVER_STORE_KEY_USE_H_
