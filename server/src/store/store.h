// The hub's store: members, signals, matches, dispositions, feed and
// notifications, plus the in-memory token index that answers queries.
//
// The hub depends only on the abstract Store. OpenSqliteStore() makes the
// embedded SQLite backend; a PostgreSQL backend will implement the same
// interface.
//
// Writes are asynchronous: a mutating call queues a command and returns at
// once. One writer thread drains everything queued into one transaction
// (group commit), commits durably, applies the changes to the token index
// and then runs each command's `done` callback ON THE WRITER THREAD. A
// callback must be short and must not call a blocking *AndWait method of
// the same store (post the result to your own executor instead). If the
// transaction fails, every command of the batch gets kUnavailable and
// nothing changes.
//
// Reads (Authenticate, GetMember, Feed, ...) are synchronous and may be
// called from any thread concurrently with the writer.
#ifndef CAIRN_SERVER_STORE_STORE_H_
#define CAIRN_SERVER_STORE_STORE_H_

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/oprf.h"
#include "cairn/result.h"
#include "server/src/store/records.h"

namespace cairn::server {

// One entry of the audit log (docs/protocol.md, "Audit log"). Commands
// produce theirs inside the store; RecordAudit takes others'.
struct AuditEvent {
  std::string request_id;  // "" when there is no request (sweeps, tools)
  std::string actor;       // member id, "hub" or "cairnctl"
  std::string action;      // one of the actions listed in docs/protocol.md
  // A JSON object, compact, with the keys in the order the action documents;
  // never a query token.
  std::string details = "{}";
  sys_seconds at{};           // set by the writer to the batch's time
  std::string fingerprint;    // caller's certificate, 64 hex, or ""
  std::string result = "ok";  // "ok" or an ErrorCodeName
};

// Observer of the audit log: called by the writer inside the batch's
// transaction, before COMMIT, once per entry appended. Returning an error
// aborts the whole batch (every command gets kUnavailable). Tests use it to
// veto batches.
class AuditHook {
 public:
  virtual ~AuditHook() = default;
  virtual Status Append(const AuditEvent& event) = 0;
};

// What a checkpoint signer returns: which key signed, the checkpoint's time
// (Unix seconds) it passed to the builder, and the Ed25519 signature over
// the message the builder made.
struct CheckpointSignature {
  std::string key_id;
  std::int64_t at = 0;
  std::array<std::uint8_t, 64> signature{};
};

// Signs audit checkpoints with the hub's current key: calls build(key_id,
// at) for the message (which names the key and the time) and signs it with
// that same key, so a concurrent key rotation cannot make them differ. The
// signer picks `at`, read together with the key, so that it is never
// before the key's valid_from (a time read earlier, e.g. when the batch
// started, could precede a rotation). cairnd wires it to
// HubKeyring::SignNamed.
using CheckpointMessageBuilder = std::function<std::vector<std::uint8_t>(
    const std::string& key_id, std::int64_t at)>;
using CheckpointSigner =
    std::function<CheckpointSignature(const CheckpointMessageBuilder& build)>;

class Store {
 public:
  template <typename T>
  using Callback = std::function<void(Result<T>)>;

  Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  // Finishes queued commands, stops the writer and closes the database
  // (calls Close() if it was not called).
  virtual ~Store() = default;

  // Finishes queued commands, stops the writer and closes the database so
  // that the database file holds every committed write on its own (for
  // SQLite: no -wal file left beside it). An error means the file still
  // needs what was left beside it. Nothing but destruction may follow.
  // Call it only once every reader of the store has gone.
  virtual Status Close() { return {}; }

  // ---- Members (reads are served from an in-memory snapshot) -------------

  // The active member owning `fingerprint_hex`, or nullopt if the
  // fingerprint is unknown or revoked. A suspended member IS returned, with
  // suspended == true. Admin changes are visible to the next call.
  // Thread-safe, lock-light; meant for every request.
  virtual std::optional<AuthenticatedMember> Authenticate(
      std::string_view fingerprint_hex) const = 0;
  // Whether `fingerprint_hex` was registered and has been revoked (so that
  // a refusal can say so rather than "not registered").
  virtual bool IsRevokedFingerprint(std::string_view fingerprint_hex) const = 0;

  // kNotFound if no such member.
  virtual Result<MemberRecord> GetMember(std::string_view member_id) const = 0;
  // Sorted by member id.
  virtual std::vector<MemberRecord> ListMembers() const = 0;
  // Built-in kinds plus registered custom kinds.
  virtual bool IsKnownKind(std::string_view kind) const = 0;
  virtual std::vector<std::string> ListKinds() const = 0;

  // The three admin commands refuse (kPermissionDenied) a context with a
  // fingerprint that is not an unrevoked certificate of an active member
  // with the operator role, as of the command's place in the commit order;
  // a context without one (offline tools) is not checked.
  // kConflict if the member id or a fingerprint is already taken.
  virtual void CreateMember(CreateMemberCommand command,
                            Callback<MemberRecord> done) = 0;
  // kNotFound for an unknown member or fingerprint; kConflict when adding a
  // fingerprint registered anywhere already. Returns the updated member.
  virtual void ChangeMember(MemberChangeCommand command,
                            Callback<MemberRecord> done) = 0;
  // Idempotent; kInvalidArgument for a malformed name.
  virtual void RegisterKind(RegisterKindCommand command,
                            Callback<void> done) = 0;

  // ---- Signals -----------------------------------------------------------
  //
  // Submit, Retract, Query and Dispose check the caller's standing where
  // the command takes its place in the commit order, against the members as
  // the commands before it in the same transaction left them: the member
  // exists, is not suspended and has the member role, and the command's
  // context.fingerprint, when not empty, is an unrevoked certificate of
  // that member. Otherwise kPermissionDenied (with the router's messages,
  // standing.h), audited with that result. So once a suspension,
  // revocation or role change is acknowledged, no such write of the member
  // commits, even if its request passed the router's check before.

  // Per-item outcomes (see SubmitItemResult). Whole-command errors:
  // kPermissionDenied (standing, above), kConflict for an idempotency key
  // reused with a different body, kUnavailable when the commit failed.
  virtual void Submit(SubmitCommand command, Callback<SubmitOutcome> done) = 0;

  // Only the member's own active signals; anything else is kNotFound per
  // item. Notifies every member that had matched a retracted signal.
  virtual void Retract(RetractCommand command,
                       Callback<RetractOutcome> done) = 0;

  // Looks every item up in the token index. Items with no match never reach
  // SQLite and are never stored; if nothing matches, `done` runs at once on
  // the CALLING thread (after checking the standing against the published
  // members before the look-up and, if they changed, again before
  // answering). Otherwise the matches are recorded through the writer and
  // `done` runs on the writer thread after the commit.
  virtual void Query(QueryCommand command, Callback<QueryOutcome> done) = 0;

  // kNotFound unless `member_id` made the match.
  virtual void Dispose(DisposeCommand command,
                       Callback<DispositionRecord> done) = 0;

  // Expires every active signal with expires_at <= now (feed events,
  // notifications). Queries already ignore such signals before this runs.
  // "now" is SqliteStoreOptions::deletion_clock's time when one is set;
  // while it holds deletions, nothing expires and the outcome says `held`.
  virtual void ExpireDue(Callback<ExpireOutcome> done) = 0;

  // Appends `event` to the audit log through the writer, for actions that
  // change nothing else: queries without matches, OPRF evaluations, report
  // reads, key rotations. `done` runs on the writer thread after COMMIT;
  // callers that answer without waiting must still log a failure.
  virtual void RecordAudit(AuditEvent event, Callback<void> done) = 0;

  // RecordAudit for an operator's action outside the store (a key
  // rotation), which the caller carries out only once `done` reports the
  // entry committed. The entry is appended only if event.actor, with
  // event.fingerprint (when not empty), is still an operator in good
  // standing where the entry takes its place in the commit order, checked
  // as for the admin commands above; otherwise kPermissionDenied with the
  // router's messages (standing.h), audited with that result and details
  // {}. Not lingering: the caller's answer waits for it.
  virtual void RecordOperatorAction(AuditEvent event, Callback<void> done) = 0;

  // Adds usage.elements to the member's OPRF evaluations on usage.day and
  // forgets its earlier days. Like RecordAudit it rides the next group
  // commit and nobody waits: a crash loses at most the charges of the last
  // few milliseconds. kPermissionDenied for an unknown member.
  virtual void RecordOprfUsage(OprfUsage usage, Callback<void> done) = 0;

  // Deletes (or with dry_run only counts) what has outlived its retention;
  // see SqliteStoreOptions and PurgeOutcome. The cut-offs count back from
  // the deletion clock's time when one is set (held: nothing happens, the
  // outcome says `held`). Appends a "purge" audit entry
  // when it deleted anything or the actor is not "hub".
  virtual void Purge(PurgeCommand command, Callback<PurgeOutcome> done) = 0;

  // Writes an audit checkpoint now if one is due by time (the writer checks
  // the entry count after every commit anyway). Meant for a periodic timer.
  // No-op without a checkpoint signer.
  virtual void CheckpointIfDue(Callback<void> done) = 0;

  // Audit checkpoints with seq > after_seq, oldest first.
  // REQUIRES: 1 <= limit <= 10000.
  virtual Result<AuditCheckpointPage> AuditCheckpoints(
      std::uint64_t after_seq, std::size_t limit) const = 0;

  // ---- Streams (synchronous reads) ---------------------------------------
  //
  // Feed and Notifications check the reader's standing as the writes do
  // (the member exists, is not suspended and has the member role, and
  // `fingerprint`, when not empty, is an unrevoked certificate of it),
  // against the published members before the read and, when a member
  // change was published while it ran, again after it, before the page is
  // returned. Otherwise kPermissionDenied with the router's messages
  // (standing.h). So a read that finishes after a suspension or revocation
  // is acknowledged returns no data; the pages are read on a connection of
  // their own, outside the writer's order, so that is as close as a read
  // gets to the commit of the change.

  // Events about OTHER members' signals with seq > after.seq, in order.
  // kCursorExpired when a purge deleted events above `after` since it was
  // issued (the reader must rebuild from 0); kInvalidArgument for a cursor
  // this database did not issue. after.seq == 0 always works.
  // REQUIRES: 1 <= limit <= 10000.
  virtual Result<FeedPage> Feed(std::string_view member_id,
                                std::string_view fingerprint,
                                StreamCursor after,
                                std::size_t limit) const = 0;
  // The member's notifications with seq > after.seq; errors as Feed.
  virtual Result<NotificationPage> Notifications(std::string_view member_id,
                                                 std::string_view fingerprint,
                                                 StreamCursor after,
                                                 std::size_t limit) const = 0;
  // The same without a certificate to check (tools, tests).
  Result<FeedPage> Feed(std::string_view member_id, StreamCursor after,
                        std::size_t limit) const {
    return Feed(member_id, {}, after, limit);
  }
  Result<NotificationPage> Notifications(std::string_view member_id,
                                         StreamCursor after,
                                         std::size_t limit) const {
    return Notifications(member_id, {}, after, limit);
  }

  // Every member's OPRF evaluations recorded for `day` (days since the
  // epoch, UTC): cairnd restores the daily quota from them at start-up.
  virtual Result<std::vector<OprfUsage>> OprfUsageOn(
      std::int64_t day) const = 0;

  // ---- Operations --------------------------------------------------------

  // False while the last write transaction failed, and for
  // SqliteStoreOptions::health_failure_window after any failed one (so that
  // a disk on which small commits fit and large ones fail does not make
  // /healthz flap). /healthz reports it.
  virtual bool IsWritable() const = 0;
  virtual StoreStats Stats() const = 0;

  // Checks that the files the store has open are still the ones at their
  // paths (SQLite: cairn.db, cairn.db-wal and cairn.db-shm neither deleted
  // nor replaced, which would lose acknowledged writes at the next crash,
  // or for cairn.db at any stop, and split any other connection's view).
  // After an error FilesIntact() stays false until the store is reopened.
  // Cheap (a stat per file); meant for a periodic timer.
  virtual Status CheckFiles() { return {}; }
  // False once CheckFiles() has found a file lost. Separate from
  // IsWritable(): commits still succeed then, and /healthz must not send
  // the operator after a full disk or permissions.
  virtual bool FilesIntact() const { return true; }

  // ---- Blocking conveniences for tools and tests -------------------------
  // Never call these from a store callback (the writer would wait on itself).
  Result<MemberRecord> CreateMemberAndWait(CreateMemberCommand command);
  Result<MemberRecord> ChangeMemberAndWait(MemberChangeCommand command);
  Status RegisterKindAndWait(RegisterKindCommand command);
  Result<SubmitOutcome> SubmitAndWait(SubmitCommand command);
  Result<RetractOutcome> RetractAndWait(RetractCommand command);
  Result<QueryOutcome> QueryAndWait(QueryCommand command);
  Result<DispositionRecord> DisposeAndWait(DisposeCommand command);
  Result<ExpireOutcome> ExpireDueAndWait();
  Status RecordAuditAndWait(AuditEvent event);
  Status RecordOprfUsageAndWait(OprfUsage usage);
  Result<PurgeOutcome> PurgeAndWait(PurgeCommand command);
  Status CheckpointIfDueAndWait();
};

struct SqliteStoreOptions {
  // The database file; its directory must exist. Default: none (required).
  std::filesystem::path db_path;

  // Create an empty database when the file does not exist. Default: true.
  bool create_if_missing = true;

  // How long a connection waits on a lock held by another process.
  // Default: 5 s.
  std::chrono::milliseconds busy_timeout{5000};

  // After the first command arrives, how long the writer waits for more to
  // share its transaction. Zero still batches whatever queued up during the
  // previous commit. Default: 0.
  std::chrono::microseconds max_batch_wait{0};

  // Upper bound on commands in one transaction. Default: 4096.
  std::size_t max_batch_commands = 4096;

  // How long an audit entry that nobody waits for (RecordAudit: a query
  // without matches, an OPRF evaluation, a report read) may wait for other
  // work before the writer commits it on its own. Such entries ride the
  // next transaction anyway; the wait keeps a stream of them from costing
  // one fsync and one writer wake-up each. It bounds what a crash can lose
  // of them (docs/adr/0004-audit-log.md). Default: 20 ms.
  std::chrono::milliseconds audit_linger{20};

  // Checkpoint the write-ahead log, on a thread of its own, once it holds
  // this many pages (4 KiB each); the writer never checkpoints
  // (wal_checkpointer.h). 0: SQLite's automatic checkpoint on the writer,
  // inside the commit that crosses 1000 pages. Default: 1000.
  int wal_checkpoint_pages = 1000;

  // Once a checkpoint has copied the whole write-ahead log back, the
  // writer's next commit shrinks the `-wal` file to this many bytes (PRAGMA
  // journal_size_limit). Without it, a burst (a large import, a settle of
  // match_signals_recent) leaves the file at its largest size until cairnd
  // stops. Not a config key. Default: 64 MiB.
  std::int64_t wal_size_limit_bytes = std::int64_t{64} << 20;

  // A member who queries a token again, while exactly the same signals
  // support it, gets the match recorded for it within this window instead
  // of a new one: no write to wait for, no duplicate review, one retraction
  // notice (match_reuse.h). 0: every matching query records new matches.
  // Default: 0.
  std::chrono::seconds match_reuse_window{0};
  // The most matches kept for reuse (up to about 400 bytes each). Default:
  // 100,000.
  std::size_t match_reuse_entries = 100000;

  // New matches' supporting signals wait in match_signals_recent until it
  // holds this many rows, then move to match_signals in one sorted insert
  // (recent_match_signals.h); a retraction of a signal with waiting rows
  // moves them first. 1 moves them in every transaction. Not a config
  // key: tests set it. Default: 65,536 (about 1 MiB of table).
  std::size_t match_settle_rows = 65536;

  // Retention applied when a submission has no expires_at, and the cap
  // applied when it has one. Default: 730 days both.
  std::chrono::seconds default_retention{std::chrono::days(730)};
  std::chrono::seconds max_retention{std::chrono::days(730)};

  // How far banned_at may lie in the future (clock skew). Default: 5 min.
  std::chrono::seconds max_clock_skew{std::chrono::minutes(5)};

  // Token schemes accepted in submissions and queries; others get a
  // per-item error (submit) or never match (query). Default: hmac-v1.
  std::vector<TokenScheme> accepted_schemes = {TokenScheme::kHmacV1};

  // voprf-v1 key epochs whose tokens are accepted: those the hub holds an
  // OPRF key for. A voprf-v1 token of another epoch gets a per-item error
  // (submit) or never matches (query). Empty: any epoch (for stores opened
  // without the OPRF keys, as cairnctl does). Default: empty.
  std::vector<std::uint32_t> voprf_epochs;
  // The public key of each of those epochs, recorded in the database when
  // the store opens. A key other than the one recorded for its epoch makes
  // the open fail (kConflict) unless replace_recorded_oprf_keys, which
  // replaces the record and logs a warning naming both keys (cairnd's
  // --allow-new-keys; key_use.h checks first). Empty: nothing recorded.
  // Default: empty, false.
  std::map<std::uint32_t, oprf::Element> voprf_public_keys;
  bool replace_recorded_oprf_keys = false;

  // Idempotency keys are honoured this long. Default: 24 h.
  std::chrono::seconds idempotency_window{std::chrono::hours(24)};

  // Source of "now". Default: the system clock.
  Clock clock;
  // What the expiry sweep (ExpireDue) and Purge delete by, read when they
  // run: a time (used when not after `clock`'s), or nullopt to hold them
  // (they then change nothing and say `held`). cairnd holds them after a
  // forward step of the system clock (guarded_clock.h). Default: none
  // (they go by `clock`).
  DeletionClock deletion_clock;

  // Called inside each write transaction for each audit entry. Default:
  // none.
  std::shared_ptr<AuditHook> audit_hook;

  // Signs audit checkpoints. Default: none, and then no checkpoints are
  // written (tests, tools that open the store offline).
  CheckpointSigner checkpoint_signer;

  // The writer adds a checkpoint to a commit once this many audit entries
  // are not covered by one yet... Default: 1000.
  std::uint64_t checkpoint_every_entries = 1000;
  // ...or when the oldest uncovered entry is this old. Default: 1 h.
  // A store that opens on a log ending in an unsigned restore entry
  // ('cairnctl restore') signs at its first commit, whatever these say.
  std::chrono::seconds checkpoint_interval{std::chrono::hours(1)};

  // Retracted and expired signal rows (and their feed events) are purged
  // this long after they left the active set. A feed reader that falls
  // further behind must resynchronise from the start. Default: 30 days.
  std::chrono::seconds tombstone_period{std::chrono::days(30)};
  // Matches (with their dispositions and notifications) are purged this
  // long after they were made. Default: 730 days.
  std::chrono::seconds match_retention{std::chrono::days(730)};
  // Dispositions are purged this long after they were recorded.
  // Default: 730 days.
  std::chrono::seconds disposition_retention{std::chrono::days(730)};
  // Notifications are purged this long after they were emitted.
  // Default: 730 days.
  std::chrono::seconds notification_retention{std::chrono::days(730)};

  // After a write transaction fails, IsWritable() stays false this long
  // even if later ones succeed. Not a config key. Default: 60 s.
  std::chrono::seconds health_failure_window{60};

  // Test seam: called on the reading thread after a Feed or Notifications
  // page is read, before the reader's standing is checked again (a test
  // suspends the member there). Default: none.
  std::function<void()> stream_read_hook_for_testing;

  // Test seam: SQL run on the writer connection right after it opens
  // (e.g. "PRAGMA max_page_count=..." to provoke SQLITE_FULL). Default: "".
  std::string writer_setup_sql_for_testing;
};

// Opens (creating or migrating as needed) the database and loads the token
// index. Errors: kIo when the file cannot be opened, kUnavailable when it is
// locked, kInternal when its schema is newer than this build understands.
Result<std::unique_ptr<Store>> OpenSqliteStore(
    const SqliteStoreOptions& options);

// Test seam: runs `sql` on the writer connection between batches (e.g. to
// change PRAGMA max_page_count). `store` must come from OpenSqliteStore.
Status RunOnSqliteWriterForTesting(Store& store, std::string sql);

// The schema version this build writes (PRAGMA user_version).
int SqliteSchemaVersion();

}  // namespace cairn::server

#endif  // CAIRN_SERVER_STORE_STORE_H_
