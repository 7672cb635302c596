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
#include <span>
#include <string>
#include <vector>

#include "cairn/result.h"
#include "cairn/wire/audit.h"

namespace cairn::server {

// A hub public key and the period in which it signed. A checkpoint it
// signed after valid_until is not genuine: after rotation the old private
// key is no longer guarded. (valid_from is informational: see
// audit_verify.cc.)
struct AuditKey {
  std::array<std::uint8_t, 32> public_key{};
  std::optional<std::chrono::sys_seconds> valid_from;   // nullopt: no bound
  std::optional<std::chrono::sys_seconds> valid_until;  // nullopt: current
};
using AuditKeys = std::map<std::string, AuditKey>;  // by key id

// A restore the log discloses: a "hub.restore" entry (audit_restore.h).
struct AuditRestoreFound {
  std::uint64_t seq = 0;  // of the restore entry
  std::chrono::sys_seconds at;
  std::string backup;                 // the backup's file name
  std::uint64_t backup_last_seq = 0;  // the entry before the restore entry
  // The replaced database's last seq; nullopt: no database was replaced.
  std::optional<std::uint64_t> replaced_last_seq;
  // The entries the restore discarded (the replaced database had them,
  // the backup did not): backup_last_seq + 1 .. seq - 1; none when
  // discarded_to < discarded_from.
  std::uint64_t discarded_from = 0;
  std::uint64_t discarded_to = 0;
};

// A held checkpoint over entries a disclosed restore discarded: its
// signature verifies, but the log no longer holds the entries it covers.
struct AuditDiscardedCheckpoint {
  std::uint64_t seq = 0;
  std::uint64_t restore_seq = 0;
  std::chrono::sys_seconds restore_at;
};

struct AuditVerifyReport {
  // True when every entry and every checkpoint checked out.
  bool intact = false;
  // When !intact: nothing failed a check, but a checkpoint names a key that
  // was not given, or a restore entry's declared gap is not yet covered by
  // any checkpoint (unsigned_restore_seq), so the log could not be
  // verified (not in itself a sign of tampering; pass the hub's keys, or
  // let the hub sign the restore entry).
  bool unverifiable = false;
  // When unverifiable because of a restore entry no verified checkpoint
  // covers: its seq (else 0).
  std::uint64_t unsigned_restore_seq = 0;
  // False for a database older than the audit log (schema < 3): nothing
  // to verify; intact is true and the counts are 0.
  bool has_audit_log = true;
  int schema_version = 0;
  std::uint64_t entries = 0;      // entries verified before the first problem
  std::uint64_t checkpoints = 0;  // checkpoints verified (hub's + held)
  std::uint64_t hub_checkpoints = 0;   // of them, from audit_checkpoints
  std::uint64_t held_checkpoints = 0;  // of them, given as held
  std::uint64_t last_seq = 0;          // last intact entry (0: none)
  std::optional<std::chrono::sys_seconds> first_at;  // of the first entry
  std::optional<std::chrono::sys_seconds> last_at;   // of entry last_seq
  // The latest time of the entries up to last_seq: later than last_at when
  // the hub's clock went back meanwhile (below).
  std::optional<std::chrono::sys_seconds> latest_at;
  // The first entry up to last_seq dated earlier than the entry before it
  // (0: none). Not in itself a sign of tampering: entries are chained in
  // seq order, and a hub's time goes back when it is restarted with
  // --clock-from-system after a wrong forward step of its clock.
  std::uint64_t first_backward_seq = 0;

  // The last entry a verified checkpoint covers (0: none), and that
  // checkpoint's time: entries after signed_seq are only as trustworthy as
  // the database file until the hub signs its next checkpoint.
  std::uint64_t signed_seq = 0;
  std::optional<std::chrono::sys_seconds> signed_at;

  // How far the hash chain alone checked out (each entry's hash and its
  // link to the one before), whatever the checkpoints say: without the
  // hub's keys this is all that could be checked.
  std::uint64_t chain_entries = 0;
  std::uint64_t chain_last_seq = 0;

  // Restores the log discloses, oldest first (before the first problem),
  // and the held checkpoints over entries they discarded.
  std::vector<AuditRestoreFound> restores;
  std::vector<AuditDiscardedCheckpoint> discarded_checkpoints;

  // When !intact: the first entry that cannot be trusted, and why, e.g.
  // "entry 17: hash does not match its contents".
  std::uint64_t bad_seq = 0;
  std::string problem;
};

// Verifies the audit log in the SQLite database at `db_path`, opened
// read-only. `keys` holds every hub public key whose checkpoints should
// verify (current and retired). `held` are checkpoints kept outside the
// hub (saved GET /v1/audit/checkpoints answers); each is checked against
// the log like the hub's own, so a rewrite hidden by recomputing the chain
// and deleting the hub's checkpoints is still found. When a checkpoint does
// not match, the first bad entry is the one after the last checkpoint that
// did (the rewrite lies somewhere in between).
//
// Seqs have no gaps, except where a restore discloses one: a gap is
// accepted only right before a "hub.restore" entry whose details declare
// that the backup ended at the entry before the gap and the replaced
// database at the entry before it (audit_restore.h), and only once a
// verified checkpoint (the hub's own or held) covers that restore entry:
// cairnctl writes it without the hub's keys, so until the hub signs a head
// after it, it could have been written by anyone who can write the
// database. Before that the report is unverifiable (unsigned_restore_seq,
// bad_seq the first missing entry). A held checkpoint inside a covered
// restore's gap is listed in discarded_checkpoints (its signature is still
// checked), not reported as tampering. Errors (kNotFound for a
// missing database, kIo, kUnavailable, kInternal) mean the database could
// not be read; a tampered log is a report with intact == false.
// Thread-safe.
Result<AuditVerifyReport> VerifyAuditLog(
    const std::filesystem::path& db_path, const AuditKeys& keys,
    std::span<const wire::AuditCheckpoint> held = {});

}  // namespace cairn::server

#endif  // CAIRN_SERVER_AUDIT_AUDIT_VERIFY_H_
