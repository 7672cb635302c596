// The writer side of the audit log: appends hash-chained entries and signed
// checkpoints inside the writer's batch transaction. Internal to
// server/src/store; used only by the SQLite writer thread (not
// thread-safe).
//
// Appends are staged: the head moves for real only when the caller reports
// the COMMIT (Committed), so a rolled-back batch leaves no gap in the chain.
#ifndef CAIRN_SERVER_STORE_AUDIT_WRITER_H_
#define CAIRN_SERVER_STORE_AUDIT_WRITER_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "cairn/result.h"
#include "server/src/store/audit_chain.h"
#include "server/src/store/sqlite_db.h"
#include "server/src/store/store.h"

namespace cairn::server {

class AuditWriter {
 public:
  struct Options {
    CheckpointSigner signer;  // none: no checkpoints
    std::uint64_t every_entries = 1000;
    std::chrono::seconds interval{std::chrono::hours(1)};
  };

  explicit AuditWriter(Options options) : options_(std::move(options)) {}

  // Reads the chain head and the last checkpoint. Call once after opening.
  // If the log ends in a restore entry (kRestoreAction) that no checkpoint
  // covers, the next CheckpointIfDue signs one whatever the interval, so
  // that the restore's declaration is vouched for promptly.
  Status Load(Database& db);

  // Appends `events` (in order) to the log. REQUIRES: inside a transaction.
  // `hook`, if set, sees each event and may veto the batch.
  Status Append(Database& db, const std::vector<AuditEvent>& events,
                AuditHook* hook);

  // Adds a checkpoint covering the staged head if one is due at `now`,
  // dated by the signer (CheckpointSignature::at).
  // A signer that throws or names no key skips the checkpoint (retried by
  // the next batch); only SQL errors are returned.
  Status CheckpointIfDue(Database& db, std::int64_t now);

  void Committed() { committed_ = staged_; }
  void RolledBack() { staged_ = committed_; }

  std::uint64_t head_seq() const { return committed_.seq; }

 private:
  struct Head {
    std::uint64_t seq = 0;
    AuditHash hash{};
    std::uint64_t checkpoint_seq = 0;
    // `at` of the first entry after checkpoint_seq, if one exists.
    std::optional<std::int64_t> oldest_uncovered_at;
    // Checkpoint at the next chance whatever the count and interval: the
    // log opened ending in a restore entry no checkpoint covers.
    bool checkpoint_now = false;
  };

  Options options_;
  Head committed_;
  Head staged_;
};

}  // namespace cairn::server

#endif  // CAIRN_SERVER_STORE_AUDIT_WRITER_H_
