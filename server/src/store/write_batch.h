// What the store's writer thread works with: the state of one write
// transaction (BatchState) and the queued commands that run in it
// (Operation).
#ifndef CAIRN_SERVER_STORE_WRITE_BATCH_H_
#define CAIRN_SERVER_STORE_WRITE_BATCH_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "cairn/result.h"
#include "server/src/store/audit_writer.h"
#include "server/src/store/member_directory.h"
#include "server/src/store/recent_match_signals.h"
#include "server/src/store/sqlite_db.h"
#include "server/src/store/store.h"
#include "server/src/store/store_errors.h"
#include "server/src/store/token_index.h"

namespace cairn::server::store_internal {

// The state of one write transaction.
struct BatchState {
  explicit BatchState(Database& d) : db(d) {}
  Database& db;
  std::int64_t now = 0;
  std::optional<Error> fatal;  // an SQL failure: the batch rolls back
  std::vector<IndexChange> changes;
  // Overlay over the TokenIndex: current state of rows touched this batch.
  std::unordered_map<std::int64_t, std::pair<IndexKey, IndexEntry>> upserts;
  std::unordered_set<std::int64_t> removed;
  std::unordered_map<IndexKey, std::vector<std::int64_t>, IndexKeyHash>
      inserted_by_key;
  // Members and kinds as this batch has them so far (StoreWrites::Members):
  // the published snapshot until a command changes them, then what the
  // transaction holds, so that a command after a suspension in the same
  // batch is refused. Null until a command asks, or after a change.
  std::shared_ptr<const Directory> directory;
  // Set by ChangedDirectory(): the writer publishes `directory` after
  // COMMIT.
  bool directory_changed = false;
  std::vector<AuditEvent> audit;
  // Feed rows of the running command, written by FlushFeed when it ends.
  struct FeedRow {
    FeedEventType type;
    std::int64_t signal;
    std::uint32_t member;
    std::int64_t seq = 0;  // assigned by FlushFeed
  };
  std::vector<FeedRow> feed;
  // Feed and notification seqs are assigned here, above both the largest
  // seq and the floor a purge left in seq_floors: a seq is a cursor, and
  // must never be issued twice.
  std::int64_t next_feed_seq = 0;          // 0: not read yet in this batch
  std::int64_t next_notification_seq = 0;  // 0: not read yet in this batch
  // And each member's own numbering (member_seq), by member number: read
  // from the database the first time the batch notifies the member (one
  // indexed lookup), so that a batch that rolls back leaves no gap.
  std::unordered_map<std::uint32_t, std::int64_t> next_member_notification_seq;
  // New signal rows of the running command, written by FlushSignals when it
  // ends (or before a statement reads one of them). Their ids are assigned
  // here, from next_signal_rowid, as SQLite would: the largest id plus one.
  struct SignalRow {
    std::int64_t rowid;
    std::string signal_id;
    IndexKey key;
    IndexEntry entry;
    std::string ref;
  };
  std::vector<SignalRow> signals;
  std::int64_t next_signal_rowid = 0;  // 0: not read yet in this batch
  // Recorded matches of the running command and their supporting signals,
  // written by FlushMatches when it ends; ids assigned like signal ids.
  struct MatchRow {
    std::int64_t rowid;
    std::string match_id;
    std::uint32_t member;
  };
  struct MatchSignalRow {
    std::int64_t signal;
    std::int64_t match;
  };
  std::vector<MatchRow> matches;
  std::vector<MatchSignalRow> match_signals;
  std::int64_t next_match_rowid = 0;  // 0: not read yet in this batch
  // What this batch did to match_signals_recent, for the writer's
  // RecentMatchSignals after COMMIT.
  RecentMatchSignals::Pending recent;
  // Matches recorded in this batch, for the reuse cache after COMMIT.
  struct ReusableMatch {
    std::uint32_t member;
    IndexKey key;
    std::vector<IndexEntry> support;  // ascending by rowid
    MatchResult match;
  };
  std::vector<ReusableMatch> reusable;

  // A command changed members, fingerprints or kinds.
  void ChangedDirectory() {
    directory_changed = true;
    directory.reset();
  }

  // Records an SQL failure; returns the error for convenient returns.
  Error Fail(const Error& e) {
    if (!fatal) fatal = e;
    return e;
  }

  void Insert(const IndexKey& key, const IndexEntry& entry) {
    changes.push_back({IndexChange::Op::kInsert, key, entry});
    upserts[entry.rowid] = {key, entry};
    inserted_by_key[key].push_back(entry.rowid);
  }
  void Update(const IndexKey& key, const IndexEntry& entry) {
    changes.push_back({IndexChange::Op::kUpdate, key, entry});
    upserts[entry.rowid] = {key, entry};
  }
  void Remove(const IndexKey& key, std::int64_t rowid) {
    IndexEntry e;
    e.rowid = rowid;
    changes.push_back({IndexChange::Op::kRemove, key, e});
    removed.insert(rowid);
    upserts.erase(rowid);
  }
};

// A queued command. Run() executes inside the batch's transaction and keeps
// its result; Complete() delivers it after COMMIT, Fail() after ROLLBACK.
class Operation {
 public:
  virtual ~Operation() = default;
  virtual void Run(BatchState& batch) = 0;
  virtual void Complete() = 0;
  virtual void Fail(const Error& error) = 0;
};

// Who asked for a command and as which audit action, so that a command that
// fails as a whole is still logged, with its error code as the result.
struct AuditTag {
  CommandContext context;
  std::string action;
};

template <typename T>
class TypedOperation final : public Operation {
 public:
  using Body = std::function<Result<T>(BatchState&)>;
  TypedOperation(Body body, Store::Callback<T> done,
                 std::optional<AuditTag> tag)
      : body_(std::move(body)), done_(std::move(done)), tag_(std::move(tag)) {}
  void Run(BatchState& batch) override {
    result_.emplace(body_(batch));
    if (!*result_ && !batch.fatal && tag_) {
      AuditEvent e;
      e.request_id = tag_->context.request_id;
      e.actor = tag_->context.actor;
      e.fingerprint = tag_->context.fingerprint;
      e.action = tag_->action;
      e.at = sys_seconds{std::chrono::seconds{batch.now}};
      e.result = std::string(ErrorCodeName(result_->error().code));
      batch.audit.push_back(std::move(e));
    }
  }
  void Complete() override {
    if (result_) {
      done_(std::move(*result_));
    } else {
      done_(tl::unexpected(Unavailable("the command was not run; retry")));
    }
  }
  void Fail(const Error& error) override { done_(tl::unexpected(error)); }

 private:
  Body body_;
  Store::Callback<T> done_;
  std::optional<AuditTag> tag_;
  std::optional<Result<T>> result_;
};

}  // namespace cairn::server::store_internal

#endif  // CAIRN_SERVER_STORE_WRITE_BATCH_H_
