// Offline verification of a hub's audit log: recomputes the hash chain of
// audit_log and checks every row of audit_checkpoints against it and against
// the hub's Ed25519 public keys. Used by `cairnctl audit verify` and by
// restore; works on a live database (read-only, WAL readers never block the
// hub) and on a backup copy.
#ifndef CAIRN_SERVER_AUDIT_AUDIT_VERIFY_H_
#define CAIRN_SERVER_AUDIT_AUDIT_VERIFY_H_

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "cairn/result.h"

namespace cairn::server {

struct AuditVerifyReport {
  // True when every entry and every checkpoint checked out.
  bool intact = false;
  std::uint64_t entries = 0;      // entries verified before the first problem
  std::uint64_t checkpoints = 0;  // checkpoints verified
  std::uint64_t last_seq = 0;     // last intact entry (0: none)
  std::optional<std::chrono::sys_seconds> first_at;  // of entry 1
  std::optional<std::chrono::sys_seconds> last_at;   // of entry last_seq

  // When !intact: the first entry that cannot be trusted, and why, e.g.
  // "entry 17: hash does not match its contents".
  std::uint64_t bad_seq = 0;
  std::string problem;
};

// Verifies the audit log in the SQLite database at `db_path`, opened
// read-only. `public_keys_by_key_id` holds every hub public key whose
// checkpoints should verify (current and retired). Errors (kIo,
// kUnavailable, kInternal) mean the database could not be read; a tampered
// log is a report with intact == false. Thread-safe.
Result<AuditVerifyReport> VerifyAuditLog(
    const std::filesystem::path& db_path,
    const std::map<std::string, std::array<std::uint8_t, 32>>&
        public_keys_by_key_id);

}  // namespace cairn::server

#endif  // CAIRN_SERVER_AUDIT_AUDIT_VERIFY_H_
