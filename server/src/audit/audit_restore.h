// The audit entry that records a restore (action "hub.restore"): what
// `cairnctl restore` appends to the restored database, and what the offline
// verifier reads back to tell a disclosed restore from deleted entries.
//
// A restore puts an older copy of the log in place; the entries the
// replaced database had after the backup's last one are no longer in it.
// The restore entry says so, in the log itself and chained like any entry:
// its seq is one more than the higher of the backup's and the replaced
// database's last seq (or, with no database to replace, the lost log's
// last seq if the operator gave it: cairnctl restore --after-seq), so no
// seq is used twice, and its details declare both heads (docs/protocol.md,
// "Audit log"). With no database to replace and no such seq, the entry
// numbers on from the backup and the lost log's later seqs are reused.
#ifndef CAIRN_SERVER_AUDIT_AUDIT_RESTORE_H_
#define CAIRN_SERVER_AUDIT_AUDIT_RESTORE_H_

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "cairn/result.h"
#include "server/src/store/audit_chain.h"

namespace cairn::server {

// kRestoreAction ("hub.restore") is in audit_chain.h.
// The actor of offline cairnctl commands that write the log.
inline constexpr std::string_view kRestoreActor = "cairnctl";

// AuditHead, the last entry of an audit log, is in audit_chain.h.

// What a restore entry declares (its details).
struct RestoreDeclaration {
  std::string backup;     // the backup's file name (no directory)
  AuditHead backup_last;  // the restored copy's last entry
  // The file the replaced database was moved to (no directory); nullopt:
  // there was no database to replace.
  std::optional<std::string> replaced;
  // The replaced database's last entry; nullopt: no database was replaced
  // (and no lost log's last seq was given) or it predates the audit log.
  // With no replaced database, the lost log's last seq given by the
  // operator (cairnctl restore --after-seq): its hash and time are unknown
  // (written as null, read back as zero).
  std::optional<AuditHead> replaced_last;

  // The seq the restore entry must have: one more than both heads.
  std::uint64_t EntrySeq() const;
};

// {"backup","backup_last_seq","backup_last_hash","backup_last_at",
//  "replaced","replaced_last_seq","replaced_last_hash","replaced_last_at"},
// compact, in this order; hashes as 64 lowercase hex, times RFC 3339, and
// null for what does not exist or is not known (a hash and time of seq 0,
// a replaced database that was not there, the hash and time of a lost
// log's last entry).
std::string EncodeRestoreDetails(const RestoreDeclaration& declaration);

// Reads details written by EncodeRestoreDetails. kInvalidArgument saying
// which field is missing or malformed.
Result<RestoreDeclaration> ParseRestoreDetails(std::string_view details);

// The last entry of the audit log in the database at `db_path`, opened
// read-only; nullopt when the database predates the audit log (schema < 3).
Result<std::optional<AuditHead>> ReadAuditHead(
    const std::filesystem::path& db_path);

struct RestoreEntry {
  std::uint64_t seq = 0;
  std::int64_t at = 0;
  RestoreDeclaration declared;
};

// Appends the restore entry to the database at `db_path` (the restored
// copy, not in use by anyone else) in one transaction: the copy's own last
// entry is the backup's head, `replaced` and `replaced_last` describe the
// database it replaces (or, with `replaced` nullopt, the lost log's last
// seq; kInvalidArgument when that is below the copy's own last seq), `at`
// is the time of the restore. A copy older than
// the audit log (schema < 3) first gets the audit tables (schema 3, as
// cairnd would make them), so the restore is recorded there too. Thread-
// compatible.
Result<RestoreEntry> AppendRestoreEntry(const std::filesystem::path& db_path,
                                        std::string backup,
                                        std::optional<std::string> replaced,
                                        std::optional<AuditHead> replaced_last,
                                        std::int64_t at);

}  // namespace cairn::server

#endif  // CAIRN_SERVER_AUDIT_AUDIT_RESTORE_H_
