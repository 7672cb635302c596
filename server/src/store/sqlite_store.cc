// SqliteStore: the embedded Store backend.
//
// Shape: one writer thread owns the read-write connection and applies queued
// commands in batches (group commit, one transaction per batch); a separate
// read-only connection under a mutex serves feed and notification pages
// (stream_reads.h); members and kinds are served from an immutable in-memory
// snapshot (member_directory.h) that the writer republishes after commits
// that change them; queries are answered from the TokenIndex.
//
// While a batch runs, its index changes are held in an overlay (BatchState)
// so later commands of the same batch see earlier ones; the overlay is
// applied to the TokenIndex only after COMMIT succeeds and dropped on
// rollback. The commands themselves are StoreWrites (store_writes.h); this
// file queues them, runs the batches and serves the reads.
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <limits>
#include <mutex>
#include <thread>

#include <sodium.h>
#include <spdlog/spdlog.h>

#include "cairn/encoding.h"
#include "cairn/sha256.h"
#include "server/src/store/audit_writer.h"
#include "server/src/store/batch_statements.h"
#include "server/src/store/completion_runner.h"
#include "server/src/store/failure_log.h"
#include "server/src/store/index_keys.h"
#include "server/src/store/match_reuse.h"
#include "server/src/store/member_directory.h"
#include "server/src/store/sqlite_db.h"
#include "server/src/store/store.h"
#include "server/src/store/store_errors.h"
#include "server/src/store/store_time.h"
#include "server/src/store/store_writes.h"
#include "server/src/store/stream_reads.h"
#include "server/src/store/submit_records.h"
#include "server/src/store/token_index.h"
#include "server/src/store/wal_checkpointer.h"
#include "server/src/store/write_batch.h"

namespace cairn::server {
namespace {

using namespace store_internal;  // NOLINT(google-build-using-namespace)

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(const SqliteStoreOptions& options)
      : options_(options),
        audit_(AuditWriter::Options{options.checkpoint_signer,
                                    options.checkpoint_every_entries,
                                    options.checkpoint_interval}) {
    if (!options_.clock) options_.clock = SystemClock();
  }

  ~SqliteStore() override { (void)Close(); }

  Status Close() override {
    {
      std::lock_guard lock(queue_mutex_);
      stopping_ = true;
    }
    queue_cv_.notify_all();
    if (writer_.joinable()) writer_.join();
    completions_.reset();  // runs the last acknowledgements
    if (checkpointer_ && writer_db_) WalCheckpointer::Detach(*writer_db_);
    checkpointer_.reset();
    // A stopped hub's cairn.db must hold everything on its own: operators
    // copy it, and a -wal left beside it would be lost with the copy.
    // SQLite folds the WAL in and deletes it when the last connection
    // closes, but only if that connection may write, so the reader goes
    // first; the explicit checkpoint covers a connection that someone
    // else still holds open (the WAL is then left empty).
    reader_db_.reset();
    if (!writer_db_) return {};
    Status checkpoint = FinalCheckpoint(*writer_db_);
    writer_db_.reset();
    return checkpoint;
  }

  // PRAGMA wal_checkpoint(TRUNCATE) answers SQLITE_OK even when another
  // connection kept it from finishing; its first column says so.
  static Status FinalCheckpoint(Database& db) {
    auto fail = [](const std::string& why) {
      return MakeError(ErrorCode::kUnavailable,
                       "the final WAL checkpoint did not complete (" + why +
                           "); keep the -wal file beside the database: the "
                           "next start folds it in");
    };
    auto stmt = db.Prepare("PRAGMA wal_checkpoint(TRUNCATE)");
    if (!stmt) return fail(stmt.error().message);
    auto row = stmt->Step();
    if (!row) return fail(row.error().message);
    if (*row && stmt->Int(0) != 0) {
      return fail("another connection was reading the database");
    }
    return {};
  }

  Status Open() {
    auto db = Database::Open(options_.db_path, options_.create_if_missing,
                             /*read_only=*/false, options_.busy_timeout);
    if (!db) return tl::unexpected(db.error());
    writer_db_ = std::move(*db);
    // WAL lets the reader connection run beside the writer; FULL makes a
    // commit durable before we acknowledge it.
    for (const char* pragma :
         {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
          "PRAGMA foreign_keys=OFF"}) {
      if (auto s = writer_db_->Exec(pragma); !s) return s;
    }
    if (auto s =
            writer_db_->Exec("PRAGMA journal_size_limit = " +
                             std::to_string(options_.wal_size_limit_bytes));
        !s) {
      return s;
    }
    if (auto s = MigrateSchema(*writer_db_); !s) return s;
    if (auto s = audit_.Load(*writer_db_); !s) return s;
    audit_head_seq_.store(audit_.head_seq(), std::memory_order_relaxed);
    if (auto s = RecordOprfKeys(); !s) return s;
    if (!options_.writer_setup_sql_for_testing.empty()) {
      if (auto s = writer_db_->Exec(options_.writer_setup_sql_for_testing);
          !s) {
        return s;
      }
    }
    if (options_.wal_checkpoint_pages > 0) {
      auto checkpointer =
          WalCheckpointer::Start(options_.db_path, options_.busy_timeout,
                                 options_.wal_checkpoint_pages, options_.clock);
      if (!checkpointer) return tl::unexpected(checkpointer.error());
      checkpointer_ = std::move(*checkpointer);
      checkpointer_->Attach(*writer_db_);
    }
    auto reader = Database::Open(options_.db_path, false, /*read_only=*/true,
                                 options_.busy_timeout);
    if (!reader) return tl::unexpected(reader.error());
    reader_db_ = std::move(*reader);

    auto dir = LoadDirectory(*writer_db_);
    if (!dir) return tl::unexpected(dir.error());
    directory_.Publish(std::move(*dir));
    if (auto s = LoadIndex(); !s) return s;
    writes_ = std::make_unique<StoreWrites>(options_, *index_, directory_,
                                            reuse_ != nullptr);
    if (auto s = writes_->Load(*writer_db_); !s) return s;
    WatchFiles();
    writer_ = std::thread([this] { WriterLoop(); });
    return {};
  }

  // Records the public key of each OPRF epoch the hub opens with. A
  // different key for a recorded epoch is refused unless the operator
  // allowed new keys (key_use.h checks first, with the operator's advice);
  // then it replaces the record and a warning names both keys. Only the
  // replacing key is kept: the record is what the next start compares the
  // directory with, and signals name their epoch, not their key.
  Status RecordOprfKeys() {
    if (options_.voprf_public_keys.empty()) return {};
    if (auto s = writer_db_->Exec("BEGIN IMMEDIATE"); !s) return s;
    Status status;
    const std::int64_t now = ToUnix(options_.clock());
    std::vector<std::string> replaced;
    for (const auto& [epoch, key] : options_.voprf_public_keys) {
      status = RecordOprfKey(epoch, key, now, &replaced);
      if (!status) break;
    }
    if (status) status = writer_db_->Exec("COMMIT");
    if (!status) {
      (void)writer_db_->Exec("ROLLBACK");
      return status;
    }
    for (const std::string& line : replaced) {
      spdlog::warn("{}", line);
    }
    return {};
  }

  Status RecordOprfKey(std::uint32_t epoch, const oprf::Element& key,
                       std::int64_t now, std::vector<std::string>* replaced) {
    auto read = writer_db_->Prepare(
        "SELECT public_key FROM oprf_keys WHERE epoch = ?1");
    if (!read) return tl::unexpected(read.error());
    read->Bind(1, static_cast<std::int64_t>(epoch));
    auto row = read->Step();
    if (!row) return tl::unexpected(row.error());
    std::optional<std::string> old_hex;
    if (*row) {
      const auto blob = read->Blob(0);
      if (std::equal(blob.begin(), blob.end(), key.begin(), key.end())) {
        return {};
      }
      old_hex = HexEncode(blob);
      if (!options_.replace_recorded_oprf_keys) {
        return MakeError(
            ErrorCode::kConflict,
            "the OPRF key of epoch " + std::to_string(epoch) + " (" +
                HexEncode(key) + ") is not the one " +
                options_.db_path.string() + " recorded for that epoch (" +
                *old_hex +
                "); not replacing the record: restore the OPRF directory "
                "backed up with this database, or start cairnd with "
                "--allow-new-keys if that key is lost for good");
      }
    }
    auto write = writer_db_->Prepare(
        "INSERT INTO oprf_keys (epoch, public_key, recorded_at)"
        " VALUES (?1, ?2, ?3) ON CONFLICT (epoch) DO UPDATE SET"
        " public_key = excluded.public_key,"
        " recorded_at = excluded.recorded_at");
    if (!write) return tl::unexpected(write.error());
    if (auto s = write->Bind(1, static_cast<std::int64_t>(epoch))
                     .BindBlob(2, key)
                     .Bind(3, now)
                     .Run();
        !s) {
      return s;
    }
    if (old_hex) {
      replaced->push_back(
          "--allow-new-keys: the recorded OPRF key of epoch " +
          std::to_string(epoch) + " in " + options_.db_path.string() + " was " +
          *old_hex + " and is now " + HexEncode(key) +
          ": voprf-v1 signals of that epoch made with the old key, and "
          "tokens members cached for it, match nothing any more");
    }
    return {};
  }

  // ---- Members -----------------------------------------------------------

  std::optional<AuthenticatedMember> Authenticate(
      std::string_view fingerprint_hex) const override {
    auto dir = Snapshot();
    auto fp = dir->active_fps.find(fingerprint_hex);
    if (fp == dir->active_fps.end()) return std::nullopt;
    const Directory::Member* m = dir->FindMember(fp->second);
    if (m == nullptr) return std::nullopt;
    AuthenticatedMember a;
    a.member_id = m->record.member_id;
    a.number = m->number;
    a.roles = m->record.roles;
    a.name = m->record.name;
    a.suspended = m->record.suspended;
    a.suspended_reason = m->record.suspended_reason;
    return a;
  }

  bool IsRevokedFingerprint(std::string_view fingerprint_hex) const override {
    return Snapshot()->revoked_fps.contains(fingerprint_hex);
  }

  Result<MemberRecord> GetMember(std::string_view member_id) const override {
    auto dir = Snapshot();
    const Directory::Member* m = dir->FindMember(member_id);
    if (m == nullptr) return MemberNotFound(member_id);
    return m->record;
  }

  std::vector<MemberRecord> ListMembers() const override {
    auto dir = Snapshot();
    std::vector<MemberRecord> out;
    out.reserve(dir->members.size());
    for (const auto& [id, m] : dir->members) out.push_back(m.record);
    std::sort(out.begin(), out.end(),
              [](const MemberRecord& a, const MemberRecord& b) {
                return a.member_id < b.member_id;
              });
    return out;
  }

  bool IsKnownKind(std::string_view kind) const override {
    return Snapshot()->KindId(kind).has_value();
  }

  std::vector<std::string> ListKinds() const override {
    auto dir = Snapshot();
    std::vector<std::pair<std::uint16_t, std::string>> kinds(
        dir->kind_names.begin(), dir->kind_names.end());
    std::sort(kinds.begin(), kinds.end());
    std::vector<std::string> out;
    out.reserve(kinds.size());
    for (auto& [id, name] : kinds) out.push_back(std::move(name));
    return out;
  }

  void CreateMember(CreateMemberCommand command,
                    Callback<MemberRecord> done) override {
    AuditTag tag{command.context, "member.create"};
    Enqueue<MemberRecord>(
        [this, c = std::move(command)](BatchState& b) {
          return writes_->CreateMember(b, c);
        },
        std::move(done), std::move(tag));
  }

  void ChangeMember(MemberChangeCommand command,
                    Callback<MemberRecord> done) override {
    AuditTag tag{command.context, "member.change"};
    Enqueue<MemberRecord>(
        [this, c = std::move(command)](BatchState& b) {
          return writes_->ChangeMember(b, c);
        },
        std::move(done), std::move(tag));
  }

  void RegisterKind(RegisterKindCommand command, Callback<void> done) override {
    AuditTag tag{command.context, "kind.register"};
    Enqueue<void>([this, c = std::move(command)](
                      BatchState& b) { return writes_->RegisterKind(b, c); },
                  std::move(done), std::move(tag));
  }

  void RecordAudit(AuditEvent event, Callback<void> done) override {
    auto op = std::make_unique<TypedOperation<void>>(
        [e = std::move(event)](BatchState& b) -> Status {
          AuditEvent copy = e;
          copy.at = FromUnix(b.now);
          if (copy.details.empty()) copy.details = "{}";
          if (copy.result.empty()) copy.result = "ok";
          b.audit.push_back(std::move(copy));
          return {};
        },
        std::move(done), std::nullopt);
    Push(std::move(op), /*lingering=*/true);
  }

  void RecordOperatorAction(AuditEvent event, Callback<void> done) override {
    CommandContext context{event.request_id, event.actor, event.fingerprint};
    AuditTag tag{context, event.action};
    Enqueue<void>(
        [this, e = std::move(event),
         c = std::move(context)](BatchState& b) -> Status {
          if (auto s = writes_->OperatorStanding(b, c); !s) return s;
          AuditEvent copy = e;
          copy.at = FromUnix(b.now);
          if (copy.details.empty()) copy.details = "{}";
          if (copy.result.empty()) copy.result = "ok";
          b.audit.push_back(std::move(copy));
          return {};
        },
        std::move(done), std::move(tag));
  }

  void RecordOprfUsage(OprfUsage usage, Callback<void> done) override {
    auto op = std::make_unique<TypedOperation<void>>(
        [this, u = std::move(usage)](BatchState& b) -> Status {
          return writes_->RecordOprfUsage(b, u);
        },
        std::move(done), std::nullopt);
    Push(std::move(op), /*lingering=*/true);
  }

  // ---- Signals -----------------------------------------------------------

  void Submit(SubmitCommand command, Callback<SubmitOutcome> done) override {
    AuditTag tag{command.context, "submit"};
    // Hashed here, on the caller's thread: the writer is the one thread
    // every submit waits for.
    Sha256Digest digest{};
    if (!command.idempotency_key.empty()) {
      digest = SubmissionDigest(command.items);
    }
    Enqueue<SubmitOutcome>(
        [this, c = std::move(command), digest](BatchState& b) {
          return writes_->Submit(b, c, digest);
        },
        std::move(done), std::move(tag));
  }

  void Retract(RetractCommand command, Callback<RetractOutcome> done) override {
    AuditTag tag{command.context, "retract"};
    Enqueue<RetractOutcome>(
        [this, c = std::move(command)](BatchState& b) {
          return writes_->Retract(b, c);
        },
        std::move(done), std::move(tag));
  }

  void Query(QueryCommand command, Callback<QueryOutcome> done) override {
    // Read before the snapshot: if it differs when the answer is ready, a
    // newer directory (perhaps a suspension) was published meanwhile.
    const std::uint64_t version = directory_.Version();
    auto dir = Snapshot();
    auto standing = CheckStanding(*dir, command.member_id,
                                  command.context.fingerprint, Role::kMember);
    if (!standing) {
      RefuseQuery(std::move(command.context), standing.error(), done);
      return;
    }
    const Directory::Member* me = *standing;
    const std::int64_t now = ToUnix(options_.clock());
    KindCache kinds;
    // Keep only the items that match now; the rest are dropped here and
    // never reach the writer, SQLite or a log.
    std::vector<IndexKey> keys;
    std::vector<std::uint32_t> item_of;  // keys[k] is command.items[item_of[k]]
    keys.reserve(command.items.size());
    item_of.reserve(command.items.size());
    for (std::size_t i = 0; i < command.items.size(); ++i) {
      if (auto key = ToIndexKey(options_, *dir, command.items[i], &kinds)) {
        keys.push_back(*key);
        item_of.push_back(static_cast<std::uint32_t>(i));
      }
    }
    // Every live signal of another member on keys[k], as (k, entry).
    std::vector<std::pair<std::uint32_t, IndexEntry>> support;
    index_->LookupMany(keys, now, [&](std::size_t k, const IndexEntry& e) {
      if (e.member != me->number) {
        support.emplace_back(static_cast<std::uint32_t>(k), e);
      }
    });
    std::sort(support.begin(), support.end(), [](const auto& x, const auto& y) {
      return x.first != y.first ? x.first < y.first
                                : x.second.rowid < y.second.rowid;
    });
    QueryOutcome outcome;
    outcome.queried = command.items.size();
    // Items with a match: reused when this member already has the match
    // for the same signals (match_reuse.h), otherwise recorded below.
    std::vector<MatchResult> reused;
    std::vector<std::pair<std::size_t, TokenKey>> hits;
    std::vector<IndexEntry> entries;
    for (std::size_t at = 0; at < support.size();) {
      const std::uint32_t k = support[at].first;
      entries.clear();
      for (; at < support.size() && support[at].first == k; ++at) {
        entries.push_back(support[at].second);
      }
      const std::size_t item = item_of[k];
      std::optional<MatchResult> match;
      if (reuse_) {
        // Never a match past its retention, which a purge may be deleting.
        const std::int64_t not_before =
            std::max(now - options_.match_reuse_window.count(),
                     now - options_.match_retention.count() + 1);
        match = reuse_->Find(me->number, keys[k], entries, not_before, item);
      }
      if (match) {
        reused.push_back(std::move(*match));
      } else {
        hits.emplace_back(item, std::move(command.items[item]));
      }
    }
    if (hits.empty()) {
      // The hot path: nothing new to record, so answer now and let the audit
      // entry ride the next group commit. A crash before that commit loses
      // the entry but nothing else (docs/adr/0004-audit-log.md). A
      // suspension or revocation published since the check above refuses
      // the answer; one atomic load when there was none.
      if (directory_.Version() != version) {
        auto fresh = Snapshot();
        auto still = CheckStanding(*fresh, command.member_id,
                                   command.context.fingerprint, Role::kMember);
        if (!still) {
          RefuseQuery(std::move(command.context), still.error(), done);
          return;
        }
      }
      outcome.matches = std::move(reused);
      AuditEvent event;
      event.request_id = std::move(command.context.request_id);
      event.actor = std::move(command.context.actor);
      event.fingerprint = std::move(command.context.fingerprint);
      event.action = "query";
      event.details = QueryAuditDetails(outcome.queried, outcome.matches);
      done(std::move(outcome));
      RecordAudit(std::move(event), [this](const Status& s) {
        if (!s) dropped_audit_entries_.fetch_add(1, std::memory_order_relaxed);
      });
      return;
    }
    // The Idempotency-Key's digest, hashed on the caller's thread as a
    // submit's is, but only for a query that goes to the writer (one with a
    // new hit): the others, most of them, never read the key.
    Sha256Digest digest{};
    if (!command.idempotency_key.empty()) {
      std::vector<std::pair<std::size_t, const TokenKey*>> matched;
      matched.reserve(hits.size() + reused.size());
      for (const auto& [item, key] : hits) matched.emplace_back(item, &key);
      for (const MatchResult& m : reused) {
        matched.emplace_back(m.index, &command.items[m.index]);
      }
      std::sort(matched.begin(), matched.end(),
                [](const auto& x, const auto& y) { return x.first < y.first; });
      digest = QueryDigest(outcome.queried, matched);
    }
    // Recorded anyway: the writer checks the reused matches again against
    // the signals as the commands before it leave them, so each goes with
    // its key and the support it was found with (found again here rather
    // than noted in the loop above, which the no-write path runs too).
    std::vector<ReusedMatch> recheck;
    recheck.reserve(reused.size());
    for (MatchResult& m : reused) {
      const auto k = static_cast<std::uint32_t>(
          std::lower_bound(item_of.begin(), item_of.end(), m.index) -
          item_of.begin());
      const auto [first, end] = std::equal_range(
          support.begin(), support.end(), std::make_pair(k, IndexEntry{}),
          [](const auto& x, const auto& y) { return x.first < y.first; });
      ReusedMatch r{std::move(m), keys[k], {}};
      r.support.reserve(static_cast<std::size_t>(end - first));
      for (auto at = first; at != end; ++at) r.support.push_back(at->second);
      recheck.push_back(std::move(r));
    }
    AuditTag tag{command.context, "query"};
    // The writer checks the caller's standing again, at the query's place
    // in the commit order.
    Enqueue<QueryOutcome>(
        [this, ctx = std::move(command.context),
         member_id = std::move(command.member_id), queried = outcome.queried,
         hits = std::move(hits), reused = std::move(recheck),
         key = std::move(command.idempotency_key), digest](BatchState& b) {
          return writes_->RecordMatches(b, ctx, member_id, queried, hits,
                                        reused, key, digest);
        },
        std::move(done), std::move(tag));
  }

  // Answers a query refused on the caller's thread and logs the refusal as
  // the writer logs a refused command: its error code, details {}.
  void RefuseQuery(CommandContext context, const Error& error,
                   const Callback<QueryOutcome>& done) {
    AuditEvent event;
    event.request_id = std::move(context.request_id);
    event.actor = std::move(context.actor);
    event.fingerprint = std::move(context.fingerprint);
    event.action = "query";
    event.result = std::string(ErrorCodeName(error.code));
    done(tl::unexpected(error));
    RecordAudit(std::move(event), [this](const Status& s) {
      if (!s) dropped_audit_entries_.fetch_add(1, std::memory_order_relaxed);
    });
  }

  void Dispose(DisposeCommand command,
               Callback<DispositionRecord> done) override {
    AuditTag tag{command.context, "disposition"};
    Enqueue<DispositionRecord>(
        [this, c = std::move(command)](BatchState& b) {
          return writes_->Dispose(b, c);
        },
        std::move(done), std::move(tag));
  }

  void ExpireDue(Callback<ExpireOutcome> done) override {
    Enqueue<ExpireOutcome>(
        [this](BatchState& b) -> Result<ExpireOutcome> {
          const auto at = writes_->DeletionTime(b);
          if (!at) return ExpireOutcome{.held = true};
          return writes_->Expire(b, *at);
        },
        std::move(done), AuditTag{HubContext(), "expire"});
  }

  void Purge(PurgeCommand command, Callback<PurgeOutcome> done) override {
    AuditTag tag{command.context, "purge"};
    Enqueue<PurgeOutcome>(
        [this, c = std::move(command)](BatchState& b) -> Result<PurgeOutcome> {
          const auto at = writes_->DeletionTime(b);
          if (!at) return PurgeOutcome{.dry_run = c.dry_run, .held = true};
          auto out = writes_->Purge(b, c, *at);
          // Before the commit, so that no query answered after it hands out
          // a match it deleted; a rollback only costs some reuse.
          if (out && !c.dry_run && reuse_) {
            reuse_->EvictCreatedAtOrBefore(*at -
                                           options_.match_retention.count());
          }
          return out;
        },
        std::move(done), std::move(tag));
  }

  void CheckpointIfDue(Callback<void> done) override {
    // An empty batch: the writer checks for a due checkpoint before every
    // COMMIT.
    Enqueue<void>([](BatchState&) -> Status { return {}; }, std::move(done));
  }

  Result<AuditCheckpointPage> AuditCheckpoints(
      std::uint64_t after_seq, std::size_t limit) const override {
    std::lock_guard lock(reader_mutex_);
    return ReadAuditCheckpointPage(*reader_db_, after_seq, limit);
  }

  // ---- Streams -----------------------------------------------------------

  Result<FeedPage> Feed(std::string_view member_id,
                        std::string_view fingerprint, StreamCursor after,
                        std::size_t limit) const override {
    return ReadAsMember<FeedPage>(
        member_id, fingerprint,
        [&](const Directory& dir, std::uint32_t member) {
          return ReadFeedPage(*reader_db_, dir, member, after, limit);
        });
  }

  Result<std::vector<OprfUsage>> OprfUsageOn(std::int64_t day) const override {
    auto dir = Snapshot();
    std::lock_guard lock(reader_mutex_);
    return ReadOprfUsage(*reader_db_, *dir, day);
  }

  Result<NotificationPage> Notifications(std::string_view member_id,
                                         std::string_view fingerprint,
                                         StreamCursor after,
                                         std::size_t limit) const override {
    return ReadAsMember<NotificationPage>(
        member_id, fingerprint, [&](const Directory&, std::uint32_t member) {
          return ReadNotificationPage(*reader_db_, member, after, limit);
        });
  }

  // ---- Operations --------------------------------------------------------

  bool IsWritable() const override {
    if (!writable_.load(std::memory_order_relaxed)) return false;
    // A commit that failed a moment ago counts even when a later one got
    // through: on a nearly full disk small commits fit and large ones do
    // not, and /healthz must not flap between them.
    const std::int64_t failed =
        last_failed_commit_.load(std::memory_order_relaxed);
    return failed == kNever || ToUnix(options_.clock()) - failed >=
                                   options_.health_failure_window.count();
  }

  bool FilesIntact() const override {
    return !files_lost_.load(std::memory_order_relaxed);
  }

  StoreStats Stats() const override {
    StoreStats s;
    s.index_signals = index_->Size();
    s.index_keys = index_->KeyCount();
    s.transactions = transactions_.load(std::memory_order_relaxed);
    s.failed_transactions =
        failed_transactions_.load(std::memory_order_relaxed);
    s.operations = operations_.load(std::memory_order_relaxed);
    s.last_batch_operations =
        last_batch_operations_.load(std::memory_order_relaxed);
    s.audit_head_seq = audit_head_seq_.load(std::memory_order_relaxed);
    s.dropped_audit_entries =
        dropped_audit_entries_.load(std::memory_order_relaxed);
    s.match_settles = writes_->match_settles();
    s.match_settle_seconds = writes_->match_settle_seconds();
    if (checkpointer_) {
      s.wal_checkpoints = checkpointer_->Completed();
      s.failed_wal_checkpoints = checkpointer_->Failed();
    }
    {
      std::lock_guard lock(queue_mutex_);
      s.queued_operations = queue_.size() + background_.size();
    }
    return s;
  }

  Status CheckFiles() override {
    for (const WatchedFile& f : watched_) {
      struct stat st {};
      const bool gone = ::stat(f.path.c_str(), &st) != 0;
      if (!gone && st.st_dev == f.dev && st.st_ino == f.ino) continue;
      files_lost_.store(true, std::memory_order_relaxed);
      if (f.path == options_.db_path) return DatabaseFileLost(gone);
      return MakeError(
          ErrorCode::kUnavailable,
          f.path.string() + (gone ? " was deleted" : " was replaced") +
              " while the store has it open: writes still go to the "
              "hub's open copy, which a crash or kill -9 now loses, and "
              "any other program opening the database sees different "
              "data; stop cairnd cleanly now (SIGTERM, systemctl stop: the "
              "final checkpoint writes everything into " +
              options_.db_path.filename().string() +
              "), and never delete its -wal, -shm or cairnd.lock files");
    }
    return {};
  }

  // Unlike a lost -wal, a clean stop does not save this: SQLite skips the
  // closing checkpoint of a database whose file has moved and leaves the
  // -wal behind, so the hub's copy vanishes and the next start would pair
  // whatever is at the path with a -wal written for another file.
  Status DatabaseFileLost(bool gone) const {
    const std::string path = options_.db_path.string();
    return MakeError(
        ErrorCode::kUnavailable,
        path + (gone ? " is gone (deleted or renamed)" : " was replaced") +
            " while the store has it open: the hub goes on reading and "
            "writing its open copy, which no other program sees and whose "
            "latest writes any stop of cairnd, even a clean one, loses; do not "
            "stop cairnd normally: freeze it (kill -STOP), copy its open "
            "copy from /proc/PID/fd back to " +
            path +
            ", kill -9 it and start it again, as operator-guide.md, "
            "\"Files never to delete\", shows");
  }

  Status RunOnWriter(std::string sql) {
    std::promise<Status> promise;
    auto future = promise.get_future();
    Enqueue<void>(
        [sql = std::move(sql)](BatchState& b) -> Status {
          if (auto s = b.db.Exec(sql); !s) return s;
          return {};
        },
        [&promise](Status s) { promise.set_value(std::move(s)); },
        std::nullopt);
    return future.get();
  }

 private:
  // ---- Start-up ----------------------------------------------------------

  // The database, its write-ahead log and the log's index, as SQLite
  // opened them: they stay open (and keep their inodes) until the last
  // connection closes. The database comes first: losing it is the worst.
  void WatchFiles() {
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::path path = options_.db_path;
      path += suffix;
      struct stat st {};
      if (::stat(path.c_str(), &st) == 0) {
        watched_.push_back({std::move(path), st.st_dev, st.st_ino});
      }
    }
  }

  std::shared_ptr<const Directory> Snapshot() const { return directory_.Get(); }

  // Runs read(directory, member number) on the reader connection for a
  // member in good standing (Store's streams comment). The page is not
  // read under the writer's order, so a suspension may commit while it is
  // read: the version, read before the snapshot, says whether one may
  // have been published since, and then the standing is checked again on
  // the newer members before the page leaves the store.
  template <typename Page, typename Read>
  Result<Page> ReadAsMember(std::string_view member_id,
                            std::string_view fingerprint,
                            const Read& read) const {
    const std::uint64_t version = directory_.Version();
    auto dir = Snapshot();
    auto standing = CheckStanding(*dir, member_id, fingerprint, Role::kMember);
    if (!standing) return tl::unexpected(standing.error());
    Result<Page> page = [&] {
      std::lock_guard lock(reader_mutex_);
      return read(*dir, (*standing)->number);
    }();
    if (options_.stream_read_hook_for_testing) {
      options_.stream_read_hook_for_testing();
    }
    if (page && directory_.Version() != version) {
      auto fresh = Snapshot();
      auto still = CheckStanding(*fresh, member_id, fingerprint, Role::kMember);
      if (!still) return tl::unexpected(still.error());
    }
    return page;
  }

  Status LoadIndex() {
    std::size_t expected = 0;
    {
      auto stmt =
          writer_db_->Prepare("SELECT count(*) FROM signals WHERE status = 0");
      if (!stmt) return tl::unexpected(stmt.error());
      auto row = stmt->Step();
      if (!row) return tl::unexpected(row.error());
      expected = static_cast<std::size_t>(stmt->Int(0));
    }
    index_ = std::make_unique<TokenIndex>(expected);
    if (options_.match_reuse_window.count() > 0) {
      reuse_ = std::make_unique<MatchReuseCache>(options_.match_reuse_entries);
    }
    auto stmt = writer_db_->Prepare(
        "SELECT id, kind, scheme, epoch, token, member, category, severity,"
        " banned_at, expires_at, attribution FROM signals WHERE status = 0");
    if (!stmt) return tl::unexpected(stmt.error());
    while (true) {
      auto row = stmt->Step();
      if (!row) return tl::unexpected(row.error());
      if (!*row) break;
      IndexKey key;
      IndexEntry e;
      ReadIndexRow(*stmt, 0, &key, &e);
      index_->Insert(key, e);
    }
    return {};
  }

  // Reads the 11 columns (id, kind, scheme, epoch, token, member, category,
  // severity, banned_at, expires_at, attribution) starting at `col`.
  static void ReadIndexRow(const Statement& stmt, int col, IndexKey* key,
                           IndexEntry* e) {
    e->rowid = stmt.Int(col);
    *key = ReadIndexKey(stmt, col + 1);
    e->member = static_cast<std::uint32_t>(stmt.Int(col + 5));
    e->category = static_cast<Category>(stmt.Int(col + 6));
    e->severity = static_cast<Severity>(stmt.Int(col + 7));
    e->banned_at = stmt.Int(col + 8);
    e->expires_at = stmt.Int(col + 9);
    e->attribution = stmt.Int(col + 10) != 0;
  }

  // ---- Writer ------------------------------------------------------------

  template <typename T>
  void Enqueue(typename TypedOperation<T>::Body body, Callback<T> done,
               std::optional<AuditTag> tag = std::nullopt) {
    Push(std::make_unique<TypedOperation<T>>(std::move(body), std::move(done),
                                             std::move(tag)),
         /*lingering=*/false);
  }

  // Queues `op` for the writer: urgent work wakes it at once; a lingering
  // entry (RecordAudit) waits up to options_.audit_linger for other work to
  // share its commit. Fails `op` when the store is closing.
  void Push(std::unique_ptr<Operation> op, bool lingering) {
    bool wake = false;
    std::unique_ptr<Operation> refused;
    {
      std::lock_guard lock(queue_mutex_);
      if (stopping_) {
        refused = std::move(op);
      } else if (lingering) {
        // Only the first entry of a lingering group wakes the writer (to
        // start its clock); the rest wait for it without a futex call
        // each.
        wake = background_.empty();
        if (wake) background_since_ = std::chrono::steady_clock::now();
        background_.push_back(std::move(op));
      } else {
        wake = true;
        queue_.push_back(std::move(op));
      }
    }
    if (refused) {  // failed outside the lock: its callback may call back in
      refused->Fail(Unavailable(
          "the store is shutting down; retry against the restarted hub"));
      return;
    }
    if (wake) queue_cv_.notify_one();
  }

  void WriterLoop() {
    while (true) {
      std::vector<std::unique_ptr<Operation>> batch;
      {
        std::unique_lock lock(queue_mutex_);
        const auto urgent = [this] { return stopping_ || !queue_.empty(); };
        while (!urgent()) {
          if (background_.empty()) {
            queue_cv_.wait(lock);
          } else if (!queue_cv_.wait_until(
                         lock, background_since_ + options_.audit_linger,
                         urgent)) {
            break;  // the lingering audit entries commit on their own
          }
        }
        if (queue_.empty() && background_.empty()) return;  // stopping
        if (!queue_.empty() && options_.max_batch_wait.count() > 0 &&
            !stopping_) {
          queue_cv_.wait_for(lock, options_.max_batch_wait, [this] {
            return stopping_ || queue_.size() >= options_.max_batch_commands;
          });
        }
        const std::size_t limit =
            std::max<std::size_t>(1, options_.max_batch_commands);
        const std::size_t n = std::min(queue_.size(), limit);
        const std::size_t m =
            std::min(background_.size(), n < limit ? limit - n : 0);
        batch.reserve(n + m);
        // The lingering entries first: they were queued before the urgent
        // work that now carries them, and the log keeps that order.
        for (std::size_t i = 0; i < m; ++i) {
          batch.push_back(std::move(background_.front()));
          background_.pop_front();
        }
        for (std::size_t i = 0; i < n; ++i) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
        if (!background_.empty()) {
          // Left over by a full batch: they have waited enough.
          background_since_ = std::chrono::steady_clock::time_point{};
        }
      }
      RunBatch(batch);
    }
  }

  void RunBatch(std::vector<std::unique_ptr<Operation>>& batch) {
    BatchState state(*writer_db_);
    state.now = ToUnix(options_.clock());
    std::optional<Error> failure;
    // Set when the batch changed it.
    std::shared_ptr<const Directory> directory;
    if (auto s = writer_db_->Exec("BEGIN IMMEDIATE"); !s) {
      failure = s.error();
    } else {
      for (auto& op : batch) {
        op->Run(state);
        FlushSignals(state);
        FlushFeed(state);
        FlushMatches(state);
        if (state.fatal) break;
      }
      writes_->FinishBatch(state);
      if (state.fatal) {
        failure = *state.fatal;
      } else if (auto s = audit_.Append(*writer_db_, state.audit,
                                        options_.audit_hook.get());
                 !s) {
        failure = s.error();
      } else if (auto c = audit_.CheckpointIfDue(*writer_db_, state.now); !c) {
        failure = c.error();
      } else if (state.directory_changed) {
        // The batch's own view, read inside the transaction after the last
        // change, so that a directory that cannot be read rolls the change
        // back: a committed suspension or revocation that authentication
        // did not see would be acknowledged yet not in force.
        directory = writes_->Members(state);
        if (!directory) failure = *state.fatal;
      }
      if (!failure) {
        if (auto s = writer_db_->Exec("COMMIT"); !s) failure = s.error();
      }
      if (failure && writer_db_->InTransaction()) {
        (void)writer_db_->Exec("ROLLBACK");
      }
    }
    if (failure) {
      audit_.RolledBack();
      failed_transactions_.fetch_add(1, std::memory_order_relaxed);
      last_failed_commit_.store(state.now, std::memory_order_relaxed);
      writable_.store(false, std::memory_order_relaxed);
      // The batch may carry audit entries nobody waits for, so it counts
      // operations, not refused requests.
      commit_log_.Failed(std::to_string(batch.size()) +
                             " operation(s) rolled back, nothing of them "
                             "stored (requests waiting on them get 503): " +
                             failure->message,
                         FromUnix(state.now));
      Error e = Unavailable(
          "the store could not commit this request, nothing was changed: " +
          failure->message);
      Acknowledge(batch, std::move(e));
      return;
    }
    // Durable now: make it visible, then acknowledge.
    audit_.Committed();
    audit_head_seq_.store(audit_.head_seq(), std::memory_order_relaxed);
    index_->Apply(state.changes);
    writes_->Committed(state);
    // Only committed matches may be handed out again.
    for (auto& r : state.reusable) {
      reuse_->Insert(r.member, r.key, std::move(r.support), state.now,
                     std::move(r.match));
    }
    if (directory) directory_.Publish(std::move(directory));
    writable_.store(true, std::memory_order_relaxed);
    commit_log_.Succeeded(FromUnix(state.now));
    transactions_.fetch_add(1, std::memory_order_relaxed);
    operations_.fetch_add(batch.size(), std::memory_order_relaxed);
    last_batch_operations_.store(batch.size(), std::memory_order_relaxed);
    Acknowledge(batch, std::nullopt);
  }

  // Hands the batch's callbacks to the completion runner, so the writer can
  // start the next transaction while the answers are built.
  void Acknowledge(std::vector<std::unique_ptr<Operation>>& batch,
                   std::optional<Error> failure) {
    auto ops = std::make_shared<std::vector<std::unique_ptr<Operation>>>(
        std::move(batch));
    completions_->Run([ops, failure = std::move(failure)] {
      for (auto& op : *ops) {
        if (failure) {
          op->Fail(*failure);
        } else {
          op->Complete();
        }
      }
    });
  }

  static constexpr std::int64_t kNever =
      std::numeric_limits<std::int64_t>::min();

  SqliteStoreOptions options_;
  AuditWriter audit_;  // writer thread only (after Open)
  // Writer thread only. Every failed commit is an error the operator must
  // see with its cause, but a full disk fails thousands a minute.
  RepeatingFailureLog commit_log_{
      "store commit",
      "check the data directory's free space (df) and permissions; "
      "docs/operator-guide.md, \"Disk full and store errors\"",
      std::chrono::seconds(10)};
  std::unique_ptr<Database> writer_db_;  // writer thread only (after Open)
  std::unique_ptr<Database> reader_db_;
  mutable std::mutex reader_mutex_;
  // After writer_db_: the writer's commit hook points at it.
  std::unique_ptr<WalCheckpointer> checkpointer_;
  std::unique_ptr<TokenIndex> index_;
  // Set when options_.match_reuse_window > 0.
  std::unique_ptr<MatchReuseCache> reuse_;
  PublishedDirectory directory_;
  // The commands the writer runs; made once the index is loaded. Refers to
  // options_, *index_ and directory_.
  std::unique_ptr<StoreWrites> writes_;

  mutable std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::deque<std::unique_ptr<Operation>> queue_;
  // RecordAudit entries: nobody waits on them, so they wait up to
  // options_.audit_linger for other work to share a commit.
  std::deque<std::unique_ptr<Operation>> background_;
  std::chrono::steady_clock::time_point background_since_;
  bool stopping_ = false;
  std::unique_ptr<CompletionRunner> completions_ =
      std::make_unique<CompletionRunner>();
  std::thread writer_;

  struct WatchedFile {
    std::filesystem::path path;
    dev_t dev;
    ino_t ino;
  };
  std::vector<WatchedFile> watched_;  // set by Open, then read-only
  std::atomic<bool> files_lost_{false};

  std::atomic<bool> writable_{true};
  std::atomic<std::uint64_t> transactions_{0};
  std::atomic<std::uint64_t> failed_transactions_{0};
  // The batch time (unix seconds) of the latest failed commit, or kNever.
  std::atomic<std::int64_t> last_failed_commit_{kNever};
  std::atomic<std::uint64_t> operations_{0};
  std::atomic<std::uint64_t> last_batch_operations_{0};
  std::atomic<std::uint64_t> audit_head_seq_{0};
  std::atomic<std::uint64_t> dropped_audit_entries_{0};
};

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStore(
    const SqliteStoreOptions& options) {
  if (sodium_init() < 0) {
    return MakeError(ErrorCode::kInternal,
                     "libsodium failed to initialise; check the system's "
                     "random number source");
  }
  if (options.db_path.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "no database path given; set the store's data "
                     "directory in the configuration");
  }
  auto store = std::make_unique<SqliteStore>(options);
  if (auto s = store->Open(); !s) return tl::unexpected(s.error());
  return std::unique_ptr<Store>(std::move(store));
}

Status RunOnSqliteWriterForTesting(Store& store, std::string sql) {
  auto* sqlite = dynamic_cast<SqliteStore*>(&store);
  if (sqlite == nullptr) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "not a SQLite store; use OpenSqliteStore");
  }
  return sqlite->RunOnWriter(std::move(sql));
}

int SqliteSchemaVersion() { return LatestSchemaVersion(); }

}  // namespace cairn::server
