// The audit log's canonical byte encodings: the bytes each entry's hash and
// each checkpoint's signature cover (docs/protocol.md, "Audit log"). Shared
// by the store, which writes the chain, and the offline verifier, which
// recomputes it. Pure functions, thread-safe, except LastAuditEntry, which
// reads a database.
#ifndef CAIRN_SERVER_STORE_AUDIT_CHAIN_H_
#define CAIRN_SERVER_STORE_AUDIT_CHAIN_H_

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/result.h"

namespace cairn::server {

class Database;

using AuditHash = std::array<std::uint8_t, 32>;

// The action of the entry `cairnctl restore` appends to a restored log
// (server/src/audit/audit_restore.h).
inline constexpr std::string_view kRestoreAction = "hub.restore";
// The action of the entry cairnd appends when it finds a step of the system
// clock (guarded_clock.h, ClockStepRecord); actor "hub".
inline constexpr std::string_view kClockStepAction = "hub.clock_step";

// A hash read from the database: its first 32 bytes, zero-padded if
// shorter.
AuditHash ToAuditHash(std::span<const std::uint8_t> blob);

// The last entry of an audit log (seq 0: the log is empty).
struct AuditHead {
  std::uint64_t seq = 0;
  AuditHash hash{};
  std::int64_t at = 0;  // unix seconds; 0 when seq is 0
};

// The last entry of audit_log in `db` (seq 0 and action empty: the log is
// empty); `action`, if given, receives its action. Thread-compatible (as
// `db`).
Result<AuditHead> LastAuditEntry(Database& db, std::string* action = nullptr);

// The hashed fields of one audit_log row.
struct AuditEntryFields {
  std::uint64_t seq = 0;
  std::int64_t at = 0;  // unix seconds
  std::string_view actor;
  std::string_view fingerprint;
  std::string_view request_id;
  std::string_view action;
  std::string_view details;
  std::string_view result;
  AuditHash prev_hash{};
};

// The canonical encoding: "cairn-audit-entry-v1" then each field in the
// order above; integers as 8 bytes big-endian, text as a 4-byte big-endian
// length then its bytes, prev_hash as its 32 raw bytes.
std::vector<std::uint8_t> EncodeAuditEntry(const AuditEntryFields& entry);

// SHA-256 (libsodium) of EncodeAuditEntry(entry).
AuditHash HashAuditEntry(const AuditEntryFields& entry);

// Hashes `entry` and inserts it as an audit_log row of `db` (inside the
// caller's transaction); returns its hash. The one writer of audit rows, for
// the hub's writer and cairnctl restore alike.
Result<AuditHash> AppendAuditEntry(Database& db, const AuditEntryFields& entry);

// The bytes a checkpoint signature covers: "cairn-audit-checkpoint-v1",
// seq, head_hash, at, key_id, encoded as in EncodeAuditEntry.
std::vector<std::uint8_t> EncodeCheckpointMessage(std::uint64_t seq,
                                                  const AuditHash& head_hash,
                                                  std::int64_t at,
                                                  std::string_view key_id);

}  // namespace cairn::server

#endif  // CAIRN_SERVER_STORE_AUDIT_CHAIN_H_
