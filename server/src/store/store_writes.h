// The store's write commands: what the writer thread runs, one after
// another, inside a batch's transaction (SqliteStore queues them; see
// sqlite_store.cc for the writer loop and group commit). Each command
// reads and changes the database through BatchState, sees earlier commands
// of the same batch through its index overlay, queues its audit entry, and
// returns its outcome, which is delivered only after COMMIT.
//
// The definitions are split by subject: members and kinds
// (member_writes.cc), signals and retractions (signal_writes.cc), matches,
// dispositions and OPRF use (query_writes.cc), expiry and purges
// (retention_writes.cc); store_writes.cc holds what several share.
//
// Thread-safety: writer thread only, except the match settle counters.
#ifndef CAIRN_SERVER_STORE_STORE_WRITES_H_
#define CAIRN_SERVER_STORE_STORE_WRITES_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cairn/result.h"
#include "cairn/sha256.h"
#include "server/src/store/index_keys.h"
#include "server/src/store/member_directory.h"
#include "server/src/store/recent_match_signals.h"
#include "server/src/store/record_ids.h"
#include "server/src/store/store.h"
#include "server/src/store/token_index.h"
#include "server/src/store/write_batch.h"

namespace cairn::server::store_internal {

// The actor of the hub's own sweeps (expiry, scheduled purges).
inline CommandContext HubContext() { return CommandContext{"", "hub", ""}; }

// A query item the caller answered from the match reuse cache
// (match_reuse.h), and the signals it found supporting the match then.
struct ReusedMatch {
  MatchResult match;
  IndexKey key;
  std::vector<IndexEntry> support;  // other members' only, ascending by rowid
};

// The audit details of a query: {"tokens": N, "matches": [match ids]},
// plus "replayed": true when the matches were an Idempotency-Key replay.
std::string QueryAuditDetails(std::size_t tokens,
                              const std::vector<MatchResult>& matches,
                              bool replayed = false);

class StoreWrites {
 public:
  // All three must outlive this. `record_reusable`: queue each new match in
  // BatchState::reusable for the match reuse cache.
  StoreWrites(const SqliteStoreOptions& options, const TokenIndex& index,
              const PublishedDirectory& directory, bool record_reusable);
  StoreWrites(const StoreWrites&) = delete;
  StoreWrites& operator=(const StoreWrites&) = delete;

  // Reads match_signals_recent's state at start-up.
  Status Load(Database& db);

  // Members and kinds (member_writes.cc).
  Result<MemberRecord> CreateMember(BatchState& b,
                                    const CreateMemberCommand& c);
  Result<MemberRecord> ChangeMember(BatchState& b,
                                    const MemberChangeCommand& c);
  Status RegisterKind(BatchState& b, const RegisterKindCommand& c);

  // Signals (signal_writes.cc). `digest` is SubmissionDigest(c.items) when
  // c has an idempotency key.
  Result<SubmitOutcome> Submit(BatchState& b, const SubmitCommand& c,
                               const Sha256Digest& digest);
  Result<RetractOutcome> Retract(BatchState& b, const RetractCommand& c);

  // Matches and what members do with them (query_writes.cc). RecordMatches
  // records a match for each of `hits` that still has live signals, and
  // answers with those and the `reused` ones, in item order. A reused match
  // whose supporting signals are no longer exactly those it was found with
  // (a retraction or update earlier in the batch) is a hit like the others.
  // With an idempotency key (QueryCommand::idempotency_key; `digest` is
  // QueryDigest of the matched items) the matches of an earlier query with
  // that key and digest are answered instead, and new matches are kept
  // under it. A key this member used for another request (another digest)
  // is ignored: the query is answered as a new one and not kept.
  Result<QueryOutcome> RecordMatches(
      BatchState& b, const CommandContext& ctx, std::string_view member_id,
      std::size_t queried,
      const std::vector<std::pair<std::size_t, TokenKey>>& hits,
      const std::vector<ReusedMatch>& reused,
      std::string_view idempotency_key = {}, const Sha256Digest& digest = {});
  Result<DispositionRecord> Dispose(BatchState& b, const DisposeCommand& c);
  Status RecordOprfUsage(BatchState& b, const OprfUsage& u);

  // Retention (retention_writes.cc).
  // What the expiry sweep and the purge go by in batch `b` (and a submit,
  // before it expires a lapsed signal): the deletion clock's time
  // (SqliteStoreOptions::deletion_clock), never after b.now, or nullopt
  // while deletions are held after a forward step of the clock.
  std::optional<std::int64_t> DeletionTime(const BatchState& b) const;
  // `at`: DeletionTime(b).
  Result<ExpireOutcome> Expire(BatchState& b, std::int64_t at);
  Result<PurgeOutcome> Purge(BatchState& b, const PurgeCommand& c,
                             std::int64_t at);

  // Members and kinds as of this point of the batch (BatchState::directory),
  // read from the transaction after a change; null, with the batch failed,
  // if they could not be read. The writer publishes it after a COMMIT that
  // changed it.
  std::shared_ptr<const Directory> Members(BatchState& b) const;

  // Runs before every COMMIT: settles match_signals_recent into
  // match_signals once it holds options.match_settle_rows rows.
  void FinishBatch(BatchState& b);
  // Runs after every COMMIT.
  void Committed(BatchState& b);

  // For StoreStats; any thread.
  std::uint64_t match_settles() const {
    return match_settles_.load(std::memory_order_relaxed);
  }
  double match_settle_seconds() const {
    return double(match_settle_micros_.load(std::memory_order_relaxed)) / 1e6;
  }

  // Whether the operator behind an admin command (or an
  // operator action recorded by RecordOperatorAction) may still make it, as of
  // this point of the batch (CheckStanding): the router checked before it
  // read the request, but the operator may have been suspended, revoked or
  // demoted since, or earlier in this batch. Offline tools, which have no
  // certificate, pass.
  Status OperatorStanding(BatchState& b, const CommandContext& ctx);

 private:
  // A signal leaving the active set.
  struct Departure {
    IndexKey key;
    std::int64_t rowid = 0;
  };

  // Records a new match of `member` on `key` (whose kind is `kind`) for
  // query item `index`, supported by `support` (not empty).
  Result<MatchResult> NewMatch(BatchState& b, const Directory& dir,
                               std::uint32_t member, std::size_t index,
                               const std::string& kind, const IndexKey& key,
                               std::vector<IndexEntry> support);

  // Active signals on `key` as of this point of the batch (index + overlay),
  // with expires_at > min_expiry.
  std::vector<IndexEntry> BatchLookup(const BatchState& b, const IndexKey& key,
                                      std::int64_t min_expiry) const;
  // Moves match_signals_recent into match_signals inside the batch, timed
  // for StoreStats. Returns false (the batch has failed) on SQL failure.
  bool SettleRecentMatches(BatchState& b);

  // member_writes.cc
  Result<MemberRecord> ReadMember(BatchState& b, std::string_view member_id);
  std::int64_t MemberNumber(BatchState& b, std::string_view member_id);
  std::int64_t IsLastActiveOperator(BatchState& b, std::int64_t number);
  std::int64_t IsLastOperatorCertificate(BatchState& b, std::string_view fp);
  std::int64_t FingerprintOwner(BatchState& b, std::string_view fp);
  bool InsertFingerprint(BatchState& b, std::int64_t member,
                         const std::string& fp);

  // signal_writes.cc
  // The stored results of `member`'s request with Idempotency-Key `key`
  // within the idempotency window; nullopt when there is none. kConflict
  // when that request's digest differs from `digest` (a reused key).
  Result<std::optional<std::string>> IdempotencyRecord(
      BatchState& b, std::uint32_t member, std::string_view key,
      const Sha256Digest& digest);
  // Keeps `results` under `key` for the window; false on a store failure.
  bool KeepIdempotencyRecord(BatchState& b, std::uint32_t member,
                             std::string_view key, const Sha256Digest& digest,
                             const std::string& results);
  // `key` is ResolveTokenKey of item.key.
  SubmitItemResult SubmitItem(BatchState& b, const Directory::Member& me,
                              const SignalSubmission& item,
                              const tl::expected<IndexKey, KeyProblem>& key,
                              std::size_t i);
  static std::string SubmitDetails(const SubmitOutcome& outcome);
  bool Depart(BatchState& b, const Departure& d, std::uint32_t member,
              std::int64_t status, std::optional<RetractReason> reason,
              const std::string& request_id);
  bool NotifyMatches(BatchState& b, const std::vector<Departure>& departed,
                     FeedEventType type, std::optional<RetractReason> reason);

  // retention_writes.cc
  std::optional<std::uint64_t> PurgeStep(BatchState& b, const char* sql,
                                         const std::int64_t (&cut)[5],
                                         bool count);

  const SqliteStoreOptions& options_;
  const TokenIndex& index_;
  const PublishedDirectory& directory_;
  const bool record_reusable_;
  RecentMatchSignals recent_match_signals_;
  TimeOrderedIds match_ids_;
  std::atomic<std::uint64_t> match_settles_{0};
  std::atomic<std::uint64_t> match_settle_micros_{0};
};

}  // namespace cairn::server::store_internal

#endif  // CAIRN_SERVER_STORE_STORE_WRITES_H_
