// Domain records of the hub's store: the commands handlers give to a Store
// and the outcomes they get back. Plain values, no I/O, no JSON; the wire
// layer maps them to and from the shapes in notes/api.md and schemas/
// (except MatchResult, which is the protocol's wire::Match).
#ifndef CAIRN_SERVER_STORE_RECORDS_H_
#define CAIRN_SERVER_STORE_RECORDS_H_

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cairn/result.h"
#include "cairn/vocabulary.h"
#include "cairn/wire/query.h"

namespace cairn::server {

using std::chrono::sys_seconds;

// The store's notion of "now". Injected so tests control expiry.
using Clock = std::function<sys_seconds()>;

// The system clock truncated to seconds.
Clock SystemClock();

// The time the expiry sweep and the purge cut-offs go by, or nullopt while
// the hub holds them after its clock stepped forward (guarded_clock.h).
using DeletionClock = std::function<std::optional<sys_seconds>()>;

// Every mutating command carries who asked and under which request, so the
// audit log (Accountability issue) can record it in the same transaction.
struct CommandContext {
  // Hub-generated "r_" + 32 hex; may be empty in tools and tests.
  std::string request_id;
  // Member id of the caller (for admin commands: the operator), "hub" for
  // the hub's own sweeps, "cairnctl" for offline tools.
  std::string actor;
  // SHA-256 of the caller's certificate, 64 lowercase hex; "" when there is
  // no certificate (the hub itself, offline tools).
  std::string fingerprint;
};

// ---------------------------------------------------------------------------
// Members

struct FingerprintRecord {
  std::string fingerprint;  // 64 lowercase hex
  bool revoked = false;
  sys_seconds added_at{};
  std::optional<sys_seconds> revoked_at;
};

struct MemberRecord {
  std::string member_id;
  std::string name;
  RoleSet roles = 0;
  bool suspended = false;
  std::string suspended_reason;  // empty when not suspended or not given
  sys_seconds created_at{};
  std::vector<FingerprintRecord> fingerprints;
};

// The result of a successful fingerprint lookup. A suspended member is
// reported (suspended == true) so the hub can say so; the hub must then
// refuse the request.
struct AuthenticatedMember {
  std::string member_id;
  std::uint32_t number = 0;  // the store's compact numeric id
  RoleSet roles = 0;
  std::string name;
  bool suspended = false;
  std::string suspended_reason;
};

struct CreateMemberCommand {
  CommandContext context;
  std::string member_id;  // ^[a-z][a-z0-9-]{1,31}$ (validated by the wire)
  std::string name;
  RoleSet roles = 0;
  std::vector<std::string> fingerprints;  // 64 lowercase hex each
};

// One command for every admin change to an existing member; `change` says
// which. Unused fields are ignored.
struct MemberChangeCommand {
  enum class Change : std::uint8_t {
    kSuspend,
    kResume,
    kAddFingerprint,
    kRevokeFingerprint,
    kSetRoles,
  };
  CommandContext context;
  std::string member_id;
  Change change = Change::kSuspend;
  std::string reason;       // kSuspend
  std::string fingerprint;  // kAddFingerprint, kRevokeFingerprint
  RoleSet roles = 0;        // kSetRoles
};

struct RegisterKindCommand {
  CommandContext context;
  std::string kind;  // IsWellFormedKind()
};

// ---------------------------------------------------------------------------
// Signals

// What a token is about: (kind, scheme, epoch, token).
struct TokenKey {
  std::string kind;
  TokenScheme scheme = TokenScheme::kHmacV1;
  std::uint32_t epoch = 0;
  Token token{};
};

struct SignalSubmission {
  TokenKey key;
  Category category = Category::kOther;
  Severity severity = Severity::kLow;
  sys_seconds banned_at{};
  // Absent: now + the hub's default retention. Capped at now + max retention.
  std::optional<sys_seconds> expires_at;
  bool attribution = false;
  std::string ref;  // member-private; empty = none
};

struct SubmitCommand {
  CommandContext context;
  std::string member_id;
  std::vector<SignalSubmission> items;
  // Empty = none. Same key from the same member within 24 h replays the
  // stored results; same key with a different body is a kConflict error.
  std::string idempotency_key;
};

enum class SubmitStatus : std::uint8_t {
  kCreated,
  kUpdated,
  kDuplicate,
  kError
};

struct SubmitItemResult {
  std::size_t index = 0;
  SubmitStatus status = SubmitStatus::kError;
  std::string signal_id;  // "s_" + 32 hex, set unless kError
  Error error;            // set when kError (code, message, field)
};

struct SubmitOutcome {
  std::vector<SubmitItemResult> results;  // one per item, in order
  bool replayed = false;  // true when answered from the idempotency record
};

// Exactly one of `key` and `ref` identifies the signals to retract.
struct RetractionItem {
  std::optional<TokenKey> key;  // retracts all of the member's active
                                // signals on this token (every category)
  std::string ref;              // used when `key` is absent
  RetractReason reason = RetractReason::kOther;
};

struct RetractCommand {
  CommandContext context;
  std::string member_id;
  std::vector<RetractionItem> items;
};

enum class RetractStatus : std::uint8_t { kRetracted, kNotFound, kError };

struct RetractItemResult {
  std::size_t index = 0;
  RetractStatus status = RetractStatus::kNotFound;
  std::vector<std::string> signal_ids;  // the retracted signals
  Error error;                          // set when kError
};

struct RetractOutcome {
  std::vector<RetractItemResult> results;
};

// ---------------------------------------------------------------------------
// Queries and matches

struct QueryCommand {
  CommandContext context;
  std::string member_id;
  std::vector<TokenKey> items;
  // Optional (the request's Idempotency-Key). A query that records new
  // matches keeps them under this key for the idempotency window; a later
  // query by the same member with the same key and items is answered with
  // those matches instead of recording new ones (a retry after a lost
  // answer), and one with other items is refused (kConflict).
  std::string idempotency_key;
};

// A match is stored, kept for an Idempotency-Key and answered in the
// protocol's form itself (the query response's matches[i]), so no copy
// field by field between two structs alike but for their name: index is
// the position in the query batch, categories the union (sorted,
// distinct), platforms the distinct submitting members, attributed_to
// the member ids that opted in (sorted).
using MatchResult = wire::Match;

struct QueryOutcome {
  std::size_t queried = 0;
  std::vector<MatchResult> matches;  // only matching items, by index
  bool replayed = false;  // the matches of an earlier query with its key
};

struct DisposeCommand {
  CommandContext context;
  std::string member_id;
  std::string match_id;
  Outcome outcome = Outcome::kConfirmed;
  std::string note;
};

struct DispositionRecord {
  std::string match_id;
  Outcome outcome = Outcome::kConfirmed;
  std::string note;
  sys_seconds recorded_at{};
};

// ---------------------------------------------------------------------------
// Feed and notifications

struct FeedEvent {
  std::uint64_t seq = 0;
  FeedEventType type = FeedEventType::kAdded;
  // Stable per signal and reveals nothing about the submitter. A mirror keys
  // its copy on it: "added" upserts (an update re-emits "added"),
  // "retracted"/"expired" erase. Without it two members' signals on the same
  // token cannot be told apart.
  std::string signal_id;
  TokenKey key;
  Category category = Category::kOther;
  Severity severity = Severity::kLow;
  sys_seconds banned_at{};
  sys_seconds expires_at{};
  sys_seconds at{};  // when the event happened
};

// Where a feed or notification reader resumes: after `seq`. A purge that
// deletes events numbered above a reader's cursor would make it miss them
// (a retraction it never applies), so the hub refuses such a cursor
// (kCursorExpired). A reader rebuilding from the start passes, for a while,
// cursors below events purged before it started; those carry `purges`, the
// number of purges that had deleted from the stream when the cursor was
// issued, and stay good until the next such purge.
struct StreamCursor {
  std::uint64_t seq = 0;
  std::optional<std::uint64_t> purges;
  // A notification cursor in the member's own numbering (its notifications
  // are 1, 2, 3...), written "mSEQ". Without it, a notification cursor is
  // a seq of the hub-wide sequence older cairnds numbered every member's
  // notifications from, which the store still takes (stream_reads.cc).
  bool per_member = false;

  StreamCursor() = default;
  // Implicit: a plain sequence number is the common cursor.
  StreamCursor(std::uint64_t s) : seq(s) {}
  StreamCursor(std::uint64_t s, std::optional<std::uint64_t> p)
      : seq(s), purges(p) {}
  static StreamCursor PerMember(std::uint64_t s,
                                std::optional<std::uint64_t> p = {}) {
    StreamCursor c(s, p);
    c.per_member = true;
    return c;
  }
  friend bool operator==(const StreamCursor&, const StreamCursor&) = default;
};

// A cursor as readers see it: "SEQ", or "SEQpPURGES" when it carries a
// purge count, after kStreamCursorPerMemberMark when per_member
// (server/src/api/sequence_cursor.h parses it). The store's refusals quote it
// in this form, as the reader sent it.
inline constexpr char kStreamCursorPurgesMark = 'p';
// Leads a notification cursor in the member's own numbering: "mSEQ",
// "mSEQpPURGES".
inline constexpr char kStreamCursorPerMemberMark = 'm';
std::string FormatStreamCursor(const StreamCursor& cursor);

struct FeedPage {
  std::vector<FeedEvent> events;
  // Pass as `after` to continue: the last event's seq, or once the reader
  // is caught up (more == false) the stream's newest seq, events of its own
  // included, so that its cursor keeps up with the stream even when only
  // it submits.
  std::uint64_t cursor = 0;
  // Set when `cursor` lies below events a purge deleted (see StreamCursor).
  std::optional<std::uint64_t> cursor_purges;
  bool more = false;

  StreamCursor next() const { return {cursor, cursor_purges}; }
};

struct Notification {
  std::uint64_t seq = 0;  // the member's own numbering: 1, 2, 3...
  std::string match_id;
  FeedEventType type = FeedEventType::kRetracted;  // kRetracted or kExpired
  std::optional<RetractReason> reason;             // set for kRetracted
  sys_seconds at{};
  bool still_supported = false;
};

struct NotificationPage {
  std::vector<Notification> notifications;
  // As FeedPage::cursor, in the member's own numbering (as each
  // notification's seq): the head a caught-up reader gets is its own newest
  // notification. Numbers that moved with other members' notifications
  // would count their matches.
  std::uint64_t cursor = 0;
  std::optional<std::uint64_t> cursor_purges;
  bool more = false;

  StreamCursor next() const {
    return StreamCursor::PerMember(cursor, cursor_purges);
  }
};

struct ExpireOutcome {
  std::size_t expired = 0;  // signals that left the active set
  // Nothing was expired: the deletion clock holds the sweep.
  bool held = false;
};

// ---------------------------------------------------------------------------
// Retention and the audit log

// Deletes what the retention options say has been kept long enough (see
// SqliteStoreOptions). The audit log itself is never purged.
struct PurgeCommand {
  CommandContext context;
  // Count what would go, change nothing and write no audit entry.
  bool dry_run = false;
};

struct PurgeOutcome {
  bool dry_run = false;
  std::uint64_t signals = 0;           // retracted/expired rows past tombstone
  std::uint64_t feed_events = 0;       // feed rows of those signals
  std::uint64_t matches = 0;           // matches past match retention
  std::uint64_t dispositions = 0;      // own retention, or with their match
  std::uint64_t notifications = 0;     // own retention, or with their match
  std::uint64_t idempotency_keys = 0;  // past the idempotency window
  // Nothing was purged (or counted): the deletion clock holds the purge.
  bool held = false;

  std::uint64_t Total() const {
    return signals + feed_events + matches + dispositions + notifications +
           idempotency_keys;
  }
};

// Blinded elements a member had evaluated on one UTC day (token scheme
// voprf-v1): kept so that the daily OPRF quota survives a restart.
struct OprfUsage {
  std::string member_id;
  std::int64_t day = 0;  // days since 1970-01-01, UTC
  std::uint64_t elements = 0;

  bool operator==(const OprfUsage&) const = default;
};

// A signed statement that the audit log's entry `seq` has hash `head_hash`.
struct AuditCheckpoint {
  std::uint64_t seq = 0;
  std::array<std::uint8_t, 32> head_hash{};
  sys_seconds at{};
  std::string key_id;
  std::array<std::uint8_t, 64> signature{};
};

struct AuditCheckpointPage {
  std::vector<AuditCheckpoint> checkpoints;
  std::uint64_t cursor = 0;  // seq of the last checkpoint returned
  bool more = false;
};

// ---------------------------------------------------------------------------
// Operations

struct StoreStats {
  std::uint64_t index_signals = 0;  // active signals in the token index
  std::uint64_t index_keys = 0;     // distinct (kind, scheme, epoch, token)
  std::uint64_t transactions = 0;   // committed write transactions
  std::uint64_t failed_transactions = 0;  // rolled back (I/O error, disk full)
  std::uint64_t operations = 0;           // commands acknowledged by commits
  std::uint64_t last_batch_operations = 0;
  std::uint64_t queued_operations = 0;  // waiting for the writer now
  std::uint64_t audit_head_seq = 0;     // seq of the last audit entry
  // Audit entries of non-matching queries lost to failed commits.
  std::uint64_t dropped_audit_entries = 0;
  // Write-ahead log checkpoints run beside the writer (WalCheckpointer).
  std::uint64_t wal_checkpoints = 0;
  std::uint64_t failed_wal_checkpoints = 0;
  // Moves of match_signals_recent into match_signals, and the writer's time
  // spent in them: each pauses the writer (recent_match_signals.h).
  std::uint64_t match_settles = 0;
  double match_settle_seconds = 0;
};

}  // namespace cairn::server

#endif  // CAIRN_SERVER_STORE_RECORDS_H_
