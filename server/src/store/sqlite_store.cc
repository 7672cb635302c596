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
// rollback.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include <sodium.h>

#include "cairn/encoding.h"
#include "cairn/json_object.h"
#include "cairn/sha256.h"
#include "server/src/store/audit_writer.h"
#include "server/src/store/completion_runner.h"
#include "server/src/store/match_reuse.h"
#include "server/src/store/member_directory.h"
#include "server/src/store/recent_match_signals.h"
#include "server/src/store/record_ids.h"
#include "server/src/store/sqlite_db.h"
#include "server/src/store/store.h"
#include "server/src/store/store_time.h"
#include "server/src/store/stream_reads.h"
#include "server/src/store/submit_records.h"
#include "server/src/store/token_index.h"
#include "server/src/store/wal_checkpointer.h"
#include "server/src/store/write_batch.h"

namespace cairn::server {
namespace {

using namespace store_internal;  // NOLINT(google-build-using-namespace)

std::vector<std::string> RoleNames(RoleSet roles) {
  std::vector<std::string> names;
  for (Role r : {Role::kMember, Role::kCompliance, Role::kOperator}) {
    if (roles & RoleBit(r)) names.emplace_back(ToString(r));
  }
  return names;
}

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(const SqliteStoreOptions& options)
      : options_(options),
        audit_(AuditWriter::Options{options.checkpoint_signer,
                                    options.checkpoint_every_entries,
                                    options.checkpoint_interval}) {
    if (!options_.clock) options_.clock = SystemClock();
  }

  ~SqliteStore() override {
    {
      std::lock_guard lock(queue_mutex_);
      stopping_ = true;
    }
    queue_cv_.notify_all();
    if (writer_.joinable()) writer_.join();
    completions_.reset();  // runs the last acknowledgements
    if (checkpointer_ && writer_db_) WalCheckpointer::Detach(*writer_db_);
    checkpointer_.reset();
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
    if (!options_.writer_setup_sql_for_testing.empty()) {
      if (auto s = writer_db_->Exec(options_.writer_setup_sql_for_testing);
          !s) {
        return s;
      }
    }
    if (options_.wal_checkpoint_pages > 0) {
      auto checkpointer =
          WalCheckpointer::Start(options_.db_path, options_.busy_timeout,
                                 options_.wal_checkpoint_pages);
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
    Publish(std::move(*dir));
    if (auto s = LoadIndex(); !s) return s;
    if (auto s = recent_match_signals_.Load(*writer_db_); !s) return s;
    writer_ = std::thread([this] { WriterLoop(); });
    return {};
  }

  // ---- Members -----------------------------------------------------------

  std::optional<AuthenticatedMember> Authenticate(
      std::string_view fingerprint_hex) const override {
    auto dir = Snapshot();
    auto fp = dir->active_fps.find(std::string(fingerprint_hex));
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
    Enqueue<MemberRecord>([this, c = std::move(command)](
                              BatchState& b) { return DoCreateMember(b, c); },
                          std::move(done), std::move(tag));
  }

  void ChangeMember(MemberChangeCommand command,
                    Callback<MemberRecord> done) override {
    AuditTag tag{command.context, "member.change"};
    Enqueue<MemberRecord>([this, c = std::move(command)](
                              BatchState& b) { return DoChangeMember(b, c); },
                          std::move(done), std::move(tag));
  }

  void RegisterKind(RegisterKindCommand command, Callback<void> done) override {
    AuditTag tag{command.context, "kind.register"};
    Enqueue<void>([this, c = std::move(command)](
                      BatchState& b) { return DoRegisterKind(b, c); },
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

  void RecordOprfUsage(OprfUsage usage, Callback<void> done) override {
    auto op = std::make_unique<TypedOperation<void>>(
        [this, u = std::move(usage)](BatchState& b) -> Status {
          return DoRecordOprfUsage(b, u);
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
          return DoSubmit(b, c, digest);
        },
        std::move(done), std::move(tag));
  }

  void Retract(RetractCommand command, Callback<RetractOutcome> done) override {
    AuditTag tag{command.context, "retract"};
    Enqueue<RetractOutcome>([this, c = std::move(command)](
                                BatchState& b) { return DoRetract(b, c); },
                            std::move(done), std::move(tag));
  }

  void Query(QueryCommand command, Callback<QueryOutcome> done) override {
    auto dir = Snapshot();
    const Directory::Member* me = dir->FindMember(command.member_id);
    if (me == nullptr) {
      done(UnknownMember(command.member_id));
      return;
    }
    const std::int64_t now = ToUnix(options_.clock());
    KindCache kinds;
    // Keep only the items that match now; the rest are dropped here and
    // never reach the writer, SQLite or a log.
    std::vector<IndexKey> keys;
    std::vector<std::uint32_t> item_of;  // keys[k] is command.items[item_of[k]]
    keys.reserve(command.items.size());
    item_of.reserve(command.items.size());
    for (std::size_t i = 0; i < command.items.size(); ++i) {
      if (auto key = ToIndexKey(*dir, command.items[i], &kinds)) {
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
        match = reuse_->Find(me->number, keys[k], entries,
                             now - options_.match_reuse_window.count(), item);
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
      // the entry but nothing else (docs/adr/0004-audit-log.md).
      outcome.matches = std::move(reused);
      AuditEvent event;
      event.request_id = std::move(command.context.request_id);
      event.actor = std::move(command.context.actor);
      event.fingerprint = std::move(command.context.fingerprint);
      event.action = "query";
      event.details = QueryDetails(outcome.queried, outcome.matches);
      done(std::move(outcome));
      RecordAudit(std::move(event), [this](const Status& s) {
        if (!s) dropped_audit_entries_.fetch_add(1, std::memory_order_relaxed);
      });
      return;
    }
    AuditTag tag{command.context, "query"};
    Enqueue<QueryOutcome>(
        [this, ctx = std::move(command.context), member = me->number,
         queried = outcome.queried, hits = std::move(hits),
         reused = std::move(reused)](BatchState& b) {
          return DoRecordMatches(b, ctx, member, queried, hits, reused);
        },
        std::move(done), std::move(tag));
  }

  void Dispose(DisposeCommand command,
               Callback<DispositionRecord> done) override {
    AuditTag tag{command.context, "disposition"};
    Enqueue<DispositionRecord>([this, c = std::move(command)](
                                   BatchState& b) { return DoDispose(b, c); },
                               std::move(done), std::move(tag));
  }

  void ExpireDue(Callback<ExpireOutcome> done) override {
    Enqueue<ExpireOutcome>([this](BatchState& b) { return DoExpire(b); },
                           std::move(done), AuditTag{HubContext(), "expire"});
  }

  void Purge(PurgeCommand command, Callback<PurgeOutcome> done) override {
    AuditTag tag{command.context, "purge"};
    Enqueue<PurgeOutcome>(
        [this, c = std::move(command)](BatchState& b) { return DoPurge(b, c); },
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

  Result<FeedPage> Feed(std::string_view member_id, std::uint64_t after_seq,
                        std::size_t limit) const override {
    auto dir = Snapshot();
    const Directory::Member* me = dir->FindMember(member_id);
    if (me == nullptr) return UnknownMember(member_id);
    std::lock_guard lock(reader_mutex_);
    return ReadFeedPage(*reader_db_, *dir, me->number, after_seq, limit);
  }

  Result<std::vector<OprfUsage>> OprfUsageOn(std::int64_t day) const override {
    auto dir = Snapshot();
    std::lock_guard lock(reader_mutex_);
    return ReadOprfUsage(*reader_db_, *dir, day);
  }

  Result<NotificationPage> Notifications(std::string_view member_id,
                                         std::uint64_t after_seq,
                                         std::size_t limit) const override {
    auto dir = Snapshot();
    const Directory::Member* me = dir->FindMember(member_id);
    if (me == nullptr) return UnknownMember(member_id);
    std::lock_guard lock(reader_mutex_);
    return ReadNotificationPage(*reader_db_, me->number, after_seq, limit);
  }

  // ---- Operations --------------------------------------------------------

  bool IsWritable() const override {
    return writable_.load(std::memory_order_relaxed);
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
    s.match_settles = match_settles_.load(std::memory_order_relaxed);
    s.match_settle_seconds =
        double(match_settle_micros_.load(std::memory_order_relaxed)) / 1e6;
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
  // ---- Snapshot ----------------------------------------------------------

  std::shared_ptr<const Directory> Snapshot() const {
    std::lock_guard lock(directory_mutex_);
    return directory_;
  }

  void Publish(Directory dir) {
    auto next = std::make_shared<const Directory>(std::move(dir));
    std::lock_guard lock(directory_mutex_);
    directory_ = std::move(next);
  }

  static tl::unexpected<Error> MemberNotFound(std::string_view id) {
    return MakeError(ErrorCode::kNotFound,
                     "no member '" + std::string(id) +
                         "' exists; list members with `cairnctl member list`");
  }

  static tl::unexpected<Error> UnknownMember(std::string_view id) {
    return MakeError(ErrorCode::kPermissionDenied,
                     "member '" + std::string(id) +
                         "' is not registered on this hub; ask the operator "
                         "to admit it");
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
    key->kind = static_cast<std::uint16_t>(stmt.Int(col + 1));
    key->scheme = static_cast<TokenScheme>(stmt.Int(col + 2));
    key->epoch = static_cast<std::uint32_t>(stmt.Int(col + 3));
    auto token = stmt.Blob(col + 4);
    key->token = {};
    std::copy_n(token.begin(), std::min(token.size(), key->token.size()),
                key->token.begin());
    e->member = static_cast<std::uint32_t>(stmt.Int(col + 5));
    e->category = static_cast<Category>(stmt.Int(col + 6));
    e->severity = static_cast<Severity>(stmt.Int(col + 7));
    e->banned_at = stmt.Int(col + 8);
    e->expires_at = stmt.Int(col + 9);
    e->attribution = stmt.Int(col + 10) != 0;
  }

  // The last kind looked up: a batch is nearly always of one or two kinds.
  struct KindCache {
    std::string name;
    std::optional<std::uint16_t> id;
  };

  std::optional<IndexKey> ToIndexKey(const Directory& dir, const TokenKey& key,
                                     KindCache* cache = nullptr) const {
    std::optional<std::uint16_t> kind;
    if (cache != nullptr && cache->id && cache->name == key.kind) {
      kind = cache->id;
    } else {
      kind = dir.KindId(key.kind);
      if (cache != nullptr && kind) *cache = KindCache{key.kind, kind};
    }
    if (!kind) return std::nullopt;
    if (!SchemeAccepted(key.scheme)) return std::nullopt;
    if (!EpochAccepted(key)) return std::nullopt;
    IndexKey k;
    k.kind = *kind;
    k.scheme = key.scheme;
    k.epoch = key.epoch;
    k.token = key.token;
    return k;
  }

  bool SchemeAccepted(TokenScheme scheme) const {
    return std::find(options_.accepted_schemes.begin(),
                     options_.accepted_schemes.end(),
                     scheme) != options_.accepted_schemes.end();
  }

  bool EpochAccepted(const TokenKey& key) const {
    const auto& epochs = options_.voprf_epochs;
    return key.scheme != TokenScheme::kVoprfV1 || epochs.empty() ||
           std::find(epochs.begin(), epochs.end(), key.epoch) != epochs.end();
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
      if (!state.fatal &&
          recent_match_signals_.Rows(state.recent) >=
              std::max<std::size_t>(1, options_.match_settle_rows)) {
        SettleRecentMatches(state);
      }
      if (state.fatal) {
        failure = *state.fatal;
      } else if (auto s = audit_.Append(*writer_db_, state.audit,
                                        options_.audit_hook.get());
                 !s) {
        failure = s.error();
      } else if (auto c = audit_.CheckpointIfDue(*writer_db_, state.now); !c) {
        failure = c.error();
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
      writable_.store(false, std::memory_order_relaxed);
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
    recent_match_signals_.Commit(std::move(state.recent));
    // Only committed matches may be handed out again.
    for (auto& r : state.reusable) {
      reuse_->Insert(r.member, r.key, std::move(r.support), state.now,
                     std::move(r.match));
    }
    if (state.directory_changed) {
      auto dir = LoadDirectory(*writer_db_);
      if (dir) Publish(std::move(*dir));
    }
    writable_.store(true, std::memory_order_relaxed);
    transactions_.fetch_add(1, std::memory_order_relaxed);
    operations_.fetch_add(batch.size(), std::memory_order_relaxed);
    last_batch_operations_.store(batch.size(), std::memory_order_relaxed);
    Acknowledge(batch, std::nullopt);
  }

  // Moves match_signals_recent into match_signals inside the batch, timed
  // for StoreStats. Returns false (the batch has failed) on SQL failure.
  bool SettleRecentMatches(BatchState& b) {
    const auto start = std::chrono::steady_clock::now();
    auto s = RecentMatchSignals::Settle(b.db, b.recent);
    const std::chrono::duration<double> took =
        std::chrono::steady_clock::now() - start;
    match_settles_.fetch_add(1, std::memory_order_relaxed);
    match_settle_micros_.fetch_add(
        static_cast<std::uint64_t>(took.count() * 1e6),
        std::memory_order_relaxed);
    if (!s) {
      b.Fail(s.error());
      return false;
    }
    return true;
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

  // Active signals on `key` as of this point of the batch (index + overlay),
  // with expires_at > min_expiry.
  std::vector<IndexEntry> BatchLookup(const BatchState& b, const IndexKey& key,
                                      std::int64_t min_expiry) const {
    std::vector<IndexEntry> found;
    index_->Lookup(key, kAnyTime, &found);
    std::vector<IndexEntry> out;
    for (const IndexEntry& e : found) {
      if (b.removed.contains(e.rowid)) continue;
      auto it = b.upserts.find(e.rowid);
      const IndexEntry& current = it == b.upserts.end() ? e : it->second.second;
      if (current.expires_at > min_expiry) out.push_back(current);
    }
    auto inserted = b.inserted_by_key.find(key);
    if (inserted != b.inserted_by_key.end()) {
      for (std::int64_t rowid : inserted->second) {
        auto it = b.upserts.find(rowid);
        if (it == b.upserts.end()) continue;  // removed later in the batch
        if (it->second.second.expires_at > min_expiry) {
          out.push_back(it->second.second);
        }
      }
    }
    return out;
  }

  static void Audit(BatchState& b, const CommandContext& ctx,
                    std::string action, std::string details) {
    AuditEvent e;
    e.request_id = ctx.request_id;
    e.actor = ctx.actor;
    e.fingerprint = ctx.fingerprint;
    e.action = std::move(action);
    e.details = std::move(details);
    e.at = FromUnix(b.now);
    b.audit.push_back(std::move(e));
  }

  static CommandContext HubContext() { return CommandContext{"", "hub", ""}; }

  static std::string QueryDetails(std::size_t tokens,
                                  const std::vector<MatchResult>& matches) {
    std::vector<std::string> ids;
    ids.reserve(matches.size());
    for (const auto& m : matches) ids.push_back(m.match_id);
    return JsonObjectWriter()
        .Add("tokens", tokens)
        .Add("matches", ids)
        .Finish();
  }

  // Shorthand: prepare a cached statement or record the batch failure.
  Statement* Prep(BatchState& b, std::optional<Statement>& slot,
                  const char* sql) {
    auto stmt = b.db.Prepare(sql);
    if (!stmt) {
      b.Fail(stmt.error());
      return nullptr;
    }
    slot.emplace(std::move(*stmt));
    return &*slot;
  }

  static constexpr std::int64_t kOperatorBit = RoleBit(Role::kOperator);

  bool Run(BatchState& b, const char* sql,
           const std::function<void(Statement&)>& bind) {
    std::optional<Statement> slot;
    Statement* stmt = Prep(b, slot, sql);
    if (stmt == nullptr) return false;
    bind(*stmt);
    if (auto s = stmt->Run(); !s) {
      b.Fail(s.error());
      return false;
    }
    return true;
  }

  // Queues a feed row; FlushFeed writes it when the command ends.
  static void AddFeedEvent(BatchState& b, FeedEventType type,
                           std::int64_t rowid, std::uint32_t member) {
    b.feed.push_back({type, rowid, member});
  }

  // Statement texts for InsertRows: `head` ("INSERT INTO t (a, b) VALUES ")
  // followed by 64, 16, 4 and 1 groups of `columns` parameters.
  using MultiRowSql = std::array<std::string, 4>;
  static constexpr std::array<std::size_t, 4> kMultiRows = {64, 16, 4, 1};
  static MultiRowSql MakeMultiRowSql(std::string_view head,
                                     std::size_t columns) {
    std::string group = "(?";
    for (std::size_t c = 1; c < columns; ++c) group += ",?";
    group += ")";
    MultiRowSql out;
    for (std::size_t k = 0; k < kMultiRows.size(); ++k) {
      out[k] = std::string(head);
      for (std::size_t i = 0; i < kMultiRows[k]; ++i) {
        if (i > 0) out[k] += ',';
        out[k] += group;
      }
    }
    return out;
  }

  // Writes `rows` in order, in multi-row INSERTs of 64, 16, 4 and 1 rows:
  // one statement per row cost SQLite's per-statement work per row, a large
  // part of the writer's time for 1,000-signal submits (docs/performance.md).
  // bind(statement, first parameter, row) binds one row. `sql` must outlive
  // the connection: the statement cache is keyed by the text's address.
  template <typename Row, typename BindRow>
  void InsertRows(BatchState& b, const MultiRowSql& sql,
                  const std::vector<Row>& rows, std::size_t columns,
                  const BindRow& bind) {
    std::size_t next = 0;
    for (std::size_t k = 0; k < kMultiRows.size() && !b.fatal; ++k) {
      while (rows.size() - next >= kMultiRows[k] && !b.fatal) {
        Run(b, sql[k].c_str(), [&](Statement& s) {
          for (std::size_t i = 0; i < kMultiRows[k]; ++i) {
            bind(s, static_cast<int>(i * columns) + 1, rows[next + i]);
          }
        });
        next += kMultiRows[k];
      }
    }
  }

  // The id for the next row the writer inserts into a table, as SQLite
  // would assign it (largest id + 1): `next` holds it for the rest of the
  // batch, 0 until `max_sql` (the table's largest id, 0 if empty) is first
  // read. -1 on SQL error (b.fatal set).
  std::int64_t NextRowid(BatchState& b, std::int64_t& next,
                         const char* max_sql) {
    if (next == 0) {
      const std::int64_t last = ScalarInt(b, max_sql, [](Statement&) {});
      if (last < 0) return -1;
      next = last + 1;
    }
    return next++;
  }

  // Writes the queued feed rows.
  void FlushFeed(BatchState& b) {
    static const MultiRowSql kSql = MakeMultiRowSql(
        "INSERT INTO feed (type, signal, member, at) VALUES ", 4);
    InsertRows(b, kSql, b.feed, 4,
               [&](Statement& s, int p, const BatchState::FeedRow& row) {
                 s.Bind(p, static_cast<std::int64_t>(row.type))
                     .Bind(p + 1, row.signal)
                     .Bind(p + 2, row.member)
                     .Bind(p + 3, b.now);
               });
    b.feed.clear();
  }

  // Writes the queued new signals.
  void FlushSignals(BatchState& b) {
    static const MultiRowSql kSql = MakeMultiRowSql(
        "INSERT INTO signals (id, signal_id, kind, scheme, epoch, token,"
        " category, severity, banned_at, expires_at, attribution, member,"
        " ref, status, created_at, updated_at) VALUES ",
        16);
    InsertRows(b, kSql, b.signals, 16,
               [&](Statement& s, int p, const BatchState::SignalRow& row) {
                 const IndexEntry& e = row.entry;
                 s.Bind(p, row.rowid)
                     .Bind(p + 1, row.signal_id)
                     .Bind(p + 2, std::int64_t{row.key.kind})
                     .Bind(p + 3, static_cast<std::int64_t>(row.key.scheme))
                     .Bind(p + 4, std::int64_t{row.key.epoch})
                     .BindBlob(p + 5, row.key.token)
                     .Bind(p + 6, static_cast<std::int64_t>(e.category))
                     .Bind(p + 7, static_cast<std::int64_t>(e.severity))
                     .Bind(p + 8, e.banned_at)
                     .Bind(p + 9, e.expires_at)
                     .Bind(p + 10, std::int64_t{e.attribution ? 1 : 0})
                     .Bind(p + 11, e.member)
                     .Bind(p + 13, std::int64_t{0})
                     .Bind(p + 14, b.now)
                     .Bind(p + 15, b.now);
                 if (row.ref.empty()) {
                   s.BindNull(p + 12);
                 } else {
                   s.Bind(p + 12, row.ref);
                 }
               });
    b.signals.clear();
  }

  // Writes the queued matches and their match_signals rows.
  void FlushMatches(BatchState& b) {
    static const MultiRowSql kMatchSql = MakeMultiRowSql(
        "INSERT INTO matches (id, match_id, member, created_at) VALUES ", 4);
    // In match order, so these append (recent_match_signals.h).
    static const MultiRowSql kSignalSql = MakeMultiRowSql(
        "INSERT OR IGNORE INTO match_signals_recent (match, signal) VALUES ",
        2);
    InsertRows(b, kMatchSql, b.matches, 4,
               [&](Statement& s, int p, const BatchState::MatchRow& row) {
                 s.Bind(p, row.rowid)
                     .Bind(p + 1, row.match_id)
                     .Bind(p + 2, row.member)
                     .Bind(p + 3, b.now);
               });
    InsertRows(b, kSignalSql, b.match_signals, 2,
               [](Statement& s, int p, const BatchState::MatchSignalRow& row) {
                 s.Bind(p, row.match).Bind(p + 1, row.signal);
               });
    for (const BatchState::MatchSignalRow& row : b.match_signals) {
      b.recent.added.push_back(row.signal);
    }
    b.matches.clear();
    b.match_signals.clear();
  }

  // ---- Commands (run on the writer inside the batch transaction) ---------

  Result<MemberRecord> ReadMember(BatchState& b, std::string_view member_id) {
    // The directory is rebuilt from the same rows after commit; building the
    // returned record the same way keeps the two in step.
    auto dir = LoadDirectory(b.db);
    if (!dir) return tl::unexpected(b.Fail(dir.error()));
    const Directory::Member* m = dir->FindMember(member_id);
    if (m == nullptr) return MemberNotFound(member_id);
    return m->record;
  }

  // The first column of `sql`'s first row as an integer, 0 without a row,
  // -1 on SQL error (b.fatal set).
  std::int64_t ScalarInt(BatchState& b, const char* sql,
                         const std::function<void(Statement&)>& bind) {
    std::optional<Statement> slot;
    Statement* s = Prep(b, slot, sql);
    if (s == nullptr) return -1;
    bind(*s);
    auto row = s->Step();
    if (!row) {
      b.Fail(row.error());
      return -1;
    }
    return *row ? s->Int(0) : 0;
  }

  // 0 if absent; -1 on SQL error (batch failed).
  std::int64_t MemberNumber(BatchState& b, std::string_view member_id) {
    return ScalarInt(b, "SELECT id FROM members WHERE member_id = ?1",
                     [&](Statement& s) { s.Bind(1, member_id); });
  }

  // 1 if member `number` is the hub's only active (not suspended) operator,
  // else 0; -1 on SQL error.
  std::int64_t IsLastActiveOperator(BatchState& b, std::int64_t number) {
    return ScalarInt(
        b,
        "SELECT count(*) = 1 AND coalesce(sum(id = ?1), 0) = 1"
        " FROM members WHERE suspended = 0 AND (roles & ?2) != 0",
        [&](Statement& s) { s.Bind(1, number).Bind(2, kOperatorBit); });
  }

  // 0 if free, else the owning member number; -1 on SQL error.
  std::int64_t FingerprintOwner(BatchState& b, std::string_view fp) {
    return ScalarInt(b,
                     "SELECT member FROM fingerprints WHERE fingerprint = ?1",
                     [&](Statement& s) { s.Bind(1, fp); });
  }

  Result<MemberRecord> DoCreateMember(BatchState& b,
                                      const CreateMemberCommand& c) {
    const std::int64_t existing = MemberNumber(b, c.member_id);
    if (existing < 0) return tl::unexpected(*b.fatal);
    if (existing > 0) {
      return MakeError(ErrorCode::kConflict,
                       "member '" + c.member_id +
                           "' already exists; choose another id or change "
                           "the existing member",
                       "member_id");
    }
    for (std::size_t i = 0; i < c.fingerprints.size(); ++i) {
      const std::int64_t owner = FingerprintOwner(b, c.fingerprints[i]);
      if (owner < 0) return tl::unexpected(*b.fatal);
      const bool repeated =
          std::find(c.fingerprints.begin(), c.fingerprints.begin() + i,
                    c.fingerprints[i]) != c.fingerprints.begin() + i;
      if (owner > 0 || repeated) {
        return MakeError(ErrorCode::kConflict,
                         "fingerprint " + c.fingerprints[i] +
                             " is already registered; each certificate "
                             "belongs to one member",
                         "fingerprints[" + std::to_string(i) + "]");
      }
    }
    if (!Run(b,
             "INSERT INTO members (member_id, name, roles, created_at)"
             " VALUES (?1, ?2, ?3, ?4)",
             [&](Statement& s) {
               s.Bind(1, c.member_id)
                   .Bind(2, c.name)
                   .Bind(3, static_cast<std::int64_t>(c.roles))
                   .Bind(4, b.now);
             })) {
      return tl::unexpected(*b.fatal);
    }
    const std::int64_t number = b.db.LastInsertRowid();
    for (const auto& fp : c.fingerprints) {
      if (!InsertFingerprint(b, number, fp)) return tl::unexpected(*b.fatal);
    }
    b.directory_changed = true;
    Audit(b, c.context, "member.create",
          JsonObjectWriter()
              .Add("member_id", c.member_id)
              .Add("name", c.name)
              .Add("roles", RoleNames(c.roles))
              .Add("fingerprints", c.fingerprints)
              .Finish());
    return ReadMember(b, c.member_id);
  }

  bool InsertFingerprint(BatchState& b, std::int64_t member,
                         const std::string& fp) {
    return Run(
        b,
        "INSERT INTO fingerprints (fingerprint, member, added_at)"
        " VALUES (?1, ?2, ?3)",
        [&](Statement& s) { s.Bind(1, fp).Bind(2, member).Bind(3, b.now); });
  }

  Result<MemberRecord> DoChangeMember(BatchState& b,
                                      const MemberChangeCommand& c) {
    using Change = MemberChangeCommand::Change;
    const std::int64_t number = MemberNumber(b, c.member_id);
    if (number < 0) return tl::unexpected(*b.fatal);
    if (number == 0) return MemberNotFound(c.member_id);
    // Nobody could administer the hub any more (members, certificates,
    // keys all go through an operator): refuse to suspend or demote the
    // last active operator.
    const bool removes_operator =
        c.change == Change::kSuspend ||
        (c.change == Change::kSetRoles && !HasRole(c.roles, Role::kOperator));
    if (removes_operator) {
      const std::int64_t last = IsLastActiveOperator(b, number);
      if (last < 0) return tl::unexpected(*b.fatal);
      if (last == 1) {
        return MakeError(
            ErrorCode::kConflict,
            "'" + c.member_id +
                "' is the hub's last active operator; suspending it or "
                "removing its operator role would leave nobody able to "
                "administer the hub. Give another member the operator "
                "role first",
            "member_id");
      }
    }
    bool ok = true;
    std::string action;
    JsonObjectWriter details;
    details.Add("member_id", c.member_id);
    switch (c.change) {
      case Change::kSuspend:
      case Change::kResume: {
        const bool suspend = c.change == Change::kSuspend;
        action = suspend ? "suspend" : "resume";
        details.Add("change", action);
        if (suspend) details.Add("reason", c.reason);
        ok = Run(b,
                 "UPDATE members SET suspended = ?2, suspended_reason = ?3"
                 " WHERE id = ?1",
                 [&](Statement& s) {
                   s.Bind(1, number)
                       .Bind(2, std::int64_t{suspend ? 1 : 0})
                       .Bind(3, suspend ? std::string_view(c.reason)
                                        : std::string_view());
                 });
        break;
      }
      case Change::kAddFingerprint: {
        action = "add_fingerprint";
        details.Add("change", action).Add("fingerprint", c.fingerprint);
        const std::int64_t owner = FingerprintOwner(b, c.fingerprint);
        if (owner < 0) return tl::unexpected(*b.fatal);
        if (owner > 0) {
          return MakeError(ErrorCode::kConflict,
                           "fingerprint " + c.fingerprint +
                               " is already registered (revoked fingerprints "
                               "cannot be reused); issue a new certificate",
                           "fingerprint");
        }
        ok = InsertFingerprint(b, number, c.fingerprint);
        break;
      }
      case Change::kRevokeFingerprint: {
        action = "revoke_fingerprint";
        details.Add("change", action).Add("fingerprint", c.fingerprint);
        const std::int64_t owner = FingerprintOwner(b, c.fingerprint);
        if (owner < 0) return tl::unexpected(*b.fatal);
        if (owner != number) {
          return MakeError(ErrorCode::kNotFound,
                           "member '" + c.member_id + "' has no fingerprint " +
                               c.fingerprint + "; see `cairnctl member show " +
                               c.member_id + "`",
                           "fingerprint");
        }
        ok =
            Run(b,
                "UPDATE fingerprints SET revoked = 1,"
                " revoked_at = coalesce(revoked_at, ?2)"
                " WHERE fingerprint = ?1",
                [&](Statement& s) { s.Bind(1, c.fingerprint).Bind(2, b.now); });
        break;
      }
      case Change::kSetRoles:
        action = "set_roles";
        details.Add("change", action).Add("roles", RoleNames(c.roles));
        ok =
            Run(b, "UPDATE members SET roles = ?2 WHERE id = ?1",
                [&](Statement& s) {
                  s.Bind(1, number).Bind(2, static_cast<std::int64_t>(c.roles));
                });
        break;
    }
    if (!ok) return tl::unexpected(*b.fatal);
    b.directory_changed = true;
    Audit(b, c.context, "member.change", details.Finish());
    return ReadMember(b, c.member_id);
  }

  Status DoRegisterKind(BatchState& b, const RegisterKindCommand& c) {
    if (!IsWellFormedKind(c.kind)) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "kind '" + c.kind +
                           "' is not a valid kind name; use 2-32 characters "
                           "of a-z, 0-9 and _, starting with a letter",
                       "kind");
    }
    if (!Run(b,
             "INSERT OR IGNORE INTO kinds (name, builtin, created_at)"
             " VALUES (?1, 0, ?2)",
             [&](Statement& s) { s.Bind(1, c.kind).Bind(2, b.now); })) {
      return tl::unexpected(*b.fatal);
    }
    b.directory_changed = true;
    Audit(b, c.context, "kind.register",
          JsonObjectWriter().Add("kind", c.kind).Finish());
    return {};
  }

  // `digest` is SubmissionDigest(c.items) when c has an idempotency key.
  Result<SubmitOutcome> DoSubmit(BatchState& b, const SubmitCommand& c,
                                 const Sha256Digest& digest) {
    auto dir = Snapshot();
    const Directory::Member* me = dir->FindMember(c.member_id);
    if (me == nullptr) return UnknownMember(c.member_id);
    SubmitOutcome outcome;
    if (!c.idempotency_key.empty()) {
      std::optional<Statement> slot;
      Statement* s =
          Prep(b, slot,
               "SELECT digest, results FROM idempotency"
               " WHERE member = ?1 AND key = ?2 AND created_at > ?3");
      if (s == nullptr) return tl::unexpected(*b.fatal);
      s->Bind(1, me->number)
          .Bind(2, c.idempotency_key)
          .Bind(3, b.now - options_.idempotency_window.count());
      auto row = s->Step();
      if (!row) return tl::unexpected(b.Fail(row.error()));
      if (*row) {
        auto stored = s->Blob(0);
        if (!std::equal(stored.begin(), stored.end(), digest.begin(),
                        digest.end())) {
          return MakeError(ErrorCode::kConflict,
                           "Idempotency-Key '" + c.idempotency_key +
                               "' was already used for a different batch; "
                               "use a new key for a new batch");
        }
        outcome.results = DecodeResults(s->Text(1));
        outcome.replayed = true;
        Audit(b, c.context, "submit", SubmitDetails(outcome));
        return outcome;
      }
    }
    outcome.results.reserve(c.items.size());
    for (std::size_t i = 0; i < c.items.size(); ++i) {
      SubmitItemResult r = SubmitItem(b, *dir, *me, c.items[i], i);
      if (b.fatal) return tl::unexpected(*b.fatal);
      outcome.results.push_back(std::move(r));
    }
    if (!c.idempotency_key.empty()) {
      if (!Run(b,
               "INSERT OR REPLACE INTO idempotency"
               " (member, key, digest, results, created_at)"
               " VALUES (?1, ?2, ?3, ?4, ?5)",
               [&](Statement& s) {
                 s.Bind(1, me->number)
                     .Bind(2, c.idempotency_key)
                     .BindBlob(3, digest)
                     .Bind(4, EncodeResults(outcome.results))
                     .Bind(5, b.now);
               })) {
        return tl::unexpected(*b.fatal);
      }
    }
    Audit(b, c.context, "submit", SubmitDetails(outcome));
    return outcome;
  }

  static std::string SubmitDetails(const SubmitOutcome& outcome) {
    std::uint64_t counts[4] = {0, 0, 0, 0};
    std::vector<std::string> ids;
    for (const auto& r : outcome.results) {
      ++counts[static_cast<std::size_t>(r.status)];
      if (r.status != SubmitStatus::kError) ids.push_back(r.signal_id);
    }
    JsonObjectWriter d;
    d.Add("items", std::uint64_t{outcome.results.size()})
        .Add("created", counts[static_cast<int>(SubmitStatus::kCreated)])
        .Add("updated", counts[static_cast<int>(SubmitStatus::kUpdated)])
        .Add("duplicate", counts[static_cast<int>(SubmitStatus::kDuplicate)])
        .Add("errors", counts[static_cast<int>(SubmitStatus::kError)])
        .Add("signal_ids", ids);
    if (outcome.replayed) d.Add("replayed", true);
    return d.Finish();
  }

  SubmitItemResult SubmitItem(BatchState& b, const Directory& dir,
                              const Directory::Member& me,
                              const SignalSubmission& item, std::size_t i) {
    SubmitItemResult r;
    r.index = i;
    auto fail = [&](std::string message, const char* field) {
      r.status = SubmitStatus::kError;
      r.error = ItemError(ErrorCode::kInvalidArgument, std::move(message),
                          "signals[" + std::to_string(i) + "]." + field, i);
      return r;
    };
    auto kind = dir.KindId(item.key.kind);
    if (!kind) {
      return fail("kind '" + item.key.kind +
                      "' is not registered on this hub; use a built-in kind "
                      "or ask the operator to register it",
                  "kind");
    }
    if (!SchemeAccepted(item.key.scheme)) {
      return fail("token scheme '" + std::string(ToString(item.key.scheme)) +
                      "' is not accepted by this hub; see token_schemes in "
                      "GET /v1/me",
                  "scheme");
    }
    if (!EpochAccepted(item.key)) {
      return fail("voprf-v1 epoch " + std::to_string(item.key.epoch) +
                      " is not one this hub holds a key for; derive the "
                      "token again under the epoch announced in GET /v1/me",
                  "epoch");
    }
    const std::int64_t banned_at = ToUnix(item.banned_at);
    if (banned_at > b.now + options_.max_clock_skew.count()) {
      return fail(
          "banned_at lies in the future; send the time the account "
          "was banned (check the clock of the submitting system)",
          "banned_at");
    }
    const std::int64_t cap = b.now + options_.max_retention.count();
    std::optional<std::int64_t> requested;
    if (item.expires_at) {
      requested = std::min(ToUnix(*item.expires_at), cap);
      if (*requested <= b.now) {
        return fail(
            "expires_at is not in the future; omit it to use the "
            "hub's default retention",
            "expires_at");
      }
      if (*requested < banned_at) {
        return fail(
            "expires_at is before banned_at; a signal must expire "
            "after the ban it records",
            "expires_at");
      }
    }
    IndexKey key{*kind, item.key.scheme, item.key.epoch, item.key.token};
    IndexEntry entry;
    entry.banned_at = banned_at;
    entry.member = me.number;
    entry.category = item.category;
    entry.severity = item.severity;
    entry.attribution = item.attribution;

    // The member's own active signal on this token and category, if any.
    std::optional<IndexEntry> existing;
    for (const IndexEntry& e : BatchLookup(b, key, kAnyTime)) {
      if (e.member == me.number && e.category == item.category) existing = e;
    }
    if (existing) {
      entry.rowid = existing->rowid;
      // Without expires_at a resend keeps the current expiry, so re-sending
      // the same batch is a duplicate rather than an extension.
      entry.expires_at = requested.value_or(existing->expires_at);
      // Sent twice in this command: its row must be written before it is
      // read and updated below.
      if (!b.signals.empty() && existing->rowid >= b.signals.front().rowid) {
        FlushSignals(b);
        if (b.fatal) return r;
      }
      std::optional<Statement> slot;
      Statement* s = Prep(b, slot,
                          "SELECT signal_id, coalesce(ref, '') FROM signals"
                          " WHERE id = ?1");
      if (s == nullptr) return r;
      s->Bind(1, entry.rowid);
      auto row = s->Step();
      if (!row) {
        b.Fail(row.error());
        return r;
      }
      r.signal_id = s->Text(0);
      const std::string old_ref = s->Text(1);
      slot.reset();
      const bool same_ref = item.ref.empty() || item.ref == old_ref;
      if (entry == *existing && same_ref) {
        r.status = SubmitStatus::kDuplicate;
        return r;
      }
      if (!Run(b,
               "UPDATE signals SET severity = ?2, banned_at = ?3,"
               " expires_at = ?4, attribution = ?5,"
               " ref = coalesce(?6, ref), updated_at = ?7 WHERE id = ?1",
               [&](Statement& st) {
                 st.Bind(1, entry.rowid)
                     .Bind(2, static_cast<std::int64_t>(entry.severity))
                     .Bind(3, entry.banned_at)
                     .Bind(4, entry.expires_at)
                     .Bind(5, std::int64_t{entry.attribution ? 1 : 0})
                     .Bind(7, b.now);
                 if (item.ref.empty()) {
                   st.BindNull(6);
                 } else {
                   st.Bind(6, item.ref);
                 }
               })) {
        return r;
      }
      // Mirrors upsert by signal_id, so an update is re-announced as added.
      AddFeedEvent(b, FeedEventType::kAdded, entry.rowid, me.number);
      b.Update(key, entry);
      r.status = SubmitStatus::kUpdated;
      return r;
    }

    entry.expires_at =
        requested.value_or(b.now + options_.default_retention.count());
    if (entry.expires_at < banned_at) {
      return fail(
          "the hub's default retention ends before banned_at; send "
          "an expires_at after banned_at",
          "banned_at");
    }
    r.signal_id = NewId("s_");
    entry.rowid = NextRowid(b, b.next_signal_rowid,
                            "SELECT coalesce(max(id), 0) FROM signals");
    if (entry.rowid < 0) return r;
    b.signals.push_back({entry.rowid, r.signal_id, key, entry, item.ref});
    AddFeedEvent(b, FeedEventType::kAdded, entry.rowid, me.number);
    b.Insert(key, entry);
    r.status = SubmitStatus::kCreated;
    return r;
  }

  // A signal leaving the active set.
  struct Departure {
    IndexKey key;
    std::int64_t rowid = 0;
  };

  // Marks the signal retracted/expired, emits its feed event and removes it
  // from the overlay. Returns false on SQL failure.
  bool Depart(BatchState& b, const Departure& d, std::uint32_t member,
              std::int64_t status, std::optional<RetractReason> reason,
              const std::string& request_id) {
    if (!Run(b,
             "UPDATE signals SET status = ?2, retract_reason = ?3,"
             " updated_at = ?4 WHERE id = ?1",
             [&](Statement& s) {
               s.Bind(1, d.rowid).Bind(2, status).Bind(4, b.now);
               if (reason) {
                 s.Bind(3, static_cast<std::int64_t>(*reason));
               } else {
                 s.BindNull(3);
               }
             })) {
      return false;
    }
    if (reason &&
        !Run(b,
             "INSERT OR REPLACE INTO retractions (signal, reason, request_id,"
             " at) VALUES (?1, ?2, ?3, ?4)",
             [&](Statement& s) {
               s.Bind(1, d.rowid)
                   .Bind(2, static_cast<std::int64_t>(*reason))
                   .Bind(3, request_id)
                   .Bind(4, b.now);
             })) {
      return false;
    }
    const FeedEventType type = status == kStatusExpired
                                   ? FeedEventType::kExpired
                                   : FeedEventType::kRetracted;
    AddFeedEvent(b, type, d.rowid, member);
    b.Remove(d.key, d.rowid);
    return true;
  }

  // One notification per match that included any departed signal, after all
  // of them have left (so still_supported reflects the final state).
  bool NotifyMatches(BatchState& b, const std::vector<Departure>& departed,
                     FeedEventType type, std::optional<RetractReason> reason) {
    // Matches are found through match_signals, keyed by signal; a departing
    // signal's recent matches are settled there first.
    std::vector<std::int64_t> signals;
    signals.reserve(departed.size());
    for (const Departure& d : departed) signals.push_back(d.rowid);
    if (recent_match_signals_.MayHoldAny(signals, b.recent) &&
        !SettleRecentMatches(b)) {
      return false;
    }
    std::map<std::int64_t, std::pair<std::uint32_t, IndexKey>> matches;
    for (const Departure& d : departed) {
      std::optional<Statement> slot;
      Statement* s = Prep(b, slot,
                          "SELECT m.id, m.member FROM match_signals ms"
                          " JOIN matches m ON m.id = ms.match"
                          " WHERE ms.signal = ?1");
      if (s == nullptr) return false;
      s->Bind(1, d.rowid);
      while (true) {
        auto row = s->Step();
        if (!row) {
          b.Fail(row.error());
          return false;
        }
        if (!*row) break;
        matches.emplace(
            s->Int(0),
            std::make_pair(static_cast<std::uint32_t>(s->Int(1)), d.key));
      }
    }
    for (const auto& entry : matches) {
      // No structured bindings here: the lambda below captures them, which
      // clang-14 (the fuzz build) does not support.
      const auto match = entry.first;
      const std::uint32_t querier = entry.second.first;
      const auto& key = entry.second.second;
      bool supported = false;
      for (const IndexEntry& e : BatchLookup(b, key, b.now)) {
        if (e.member != querier) supported = true;
      }
      if (!Run(b,
               "INSERT INTO notifications (member, match, type, reason,"
               " still_supported, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
               [&](Statement& s) {
                 s.Bind(1, std::int64_t{querier})
                     .Bind(2, match)
                     .Bind(3, static_cast<std::int64_t>(type))
                     .Bind(5, std::int64_t{supported ? 1 : 0})
                     .Bind(6, b.now);
                 if (reason) {
                   s.Bind(4, static_cast<std::int64_t>(*reason));
                 } else {
                   s.BindNull(4);
                 }
               })) {
        return false;
      }
    }
    return true;
  }

  Result<RetractOutcome> DoRetract(BatchState& b, const RetractCommand& c) {
    auto dir = Snapshot();
    const Directory::Member* me = dir->FindMember(c.member_id);
    if (me == nullptr) return UnknownMember(c.member_id);
    RetractOutcome outcome;
    std::map<std::optional<RetractReason>, std::vector<Departure>> by_reason;
    std::size_t retracted = 0;
    for (std::size_t i = 0; i < c.items.size(); ++i) {
      const RetractionItem& item = c.items[i];
      RetractItemResult r;
      r.index = i;
      std::vector<Departure> targets;
      if (item.key) {
        if (auto key = ToIndexKey(*dir, *item.key)) {
          for (const IndexEntry& e : BatchLookup(b, *key, kAnyTime)) {
            if (e.member == me->number) targets.push_back({*key, e.rowid});
          }
        }
      } else if (!item.ref.empty()) {
        std::optional<Statement> slot;
        Statement* s = Prep(b, slot,
                            "SELECT id, kind, scheme, epoch, token FROM signals"
                            " WHERE member = ?1 AND ref = ?2 AND status = 0");
        if (s == nullptr) return tl::unexpected(*b.fatal);
        s->Bind(1, me->number).Bind(2, item.ref);
        while (true) {
          auto row = s->Step();
          if (!row) return tl::unexpected(b.Fail(row.error()));
          if (!*row) break;
          Departure d;
          d.rowid = s->Int(0);
          d.key.kind = static_cast<std::uint16_t>(s->Int(1));
          d.key.scheme = static_cast<TokenScheme>(s->Int(2));
          d.key.epoch = static_cast<std::uint32_t>(s->Int(3));
          auto token = s->Blob(4);
          std::copy_n(token.begin(), std::min(token.size(), d.key.token.size()),
                      d.key.token.begin());
          targets.push_back(d);
        }
      }
      for (const Departure& d : targets) {
        std::optional<Statement> slot;
        Statement* s =
            Prep(b, slot, "SELECT signal_id FROM signals WHERE id = ?1");
        if (s == nullptr) return tl::unexpected(*b.fatal);
        s->Bind(1, d.rowid);
        auto row = s->Step();
        if (!row) return tl::unexpected(b.Fail(row.error()));
        if (*row) r.signal_ids.push_back(s->Text(0));
        slot.reset();
        if (!Depart(b, d, me->number, kStatusRetracted, item.reason,
                    c.context.request_id)) {
          return tl::unexpected(*b.fatal);
        }
        by_reason[item.reason].push_back(d);
      }
      r.status = targets.empty() ? RetractStatus::kNotFound
                                 : RetractStatus::kRetracted;
      retracted += targets.size();
      outcome.results.push_back(std::move(r));
    }
    for (const auto& [reason, departed] : by_reason) {
      if (!NotifyMatches(b, departed, FeedEventType::kRetracted, reason)) {
        return tl::unexpected(*b.fatal);
      }
    }
    std::vector<std::string> ids;
    for (const auto& r : outcome.results) {
      ids.insert(ids.end(), r.signal_ids.begin(), r.signal_ids.end());
    }
    Audit(b, c.context, "retract",
          JsonObjectWriter()
              .Add("items", std::uint64_t{c.items.size()})
              .Add("retracted", std::uint64_t{retracted})
              .Add("signal_ids", ids)
              .Finish());
    return outcome;
  }

  // Records a match for each of `hits` that still has live signals, and
  // answers with those and the `reused` ones, in item order.
  Result<QueryOutcome> DoRecordMatches(
      BatchState& b, const CommandContext& ctx, std::uint32_t member,
      std::size_t queried,
      const std::vector<std::pair<std::size_t, TokenKey>>& hits,
      const std::vector<MatchResult>& reused) {
    auto dir = Snapshot();
    QueryOutcome outcome;
    outcome.queried = queried;
    for (const auto& [index, token_key] : hits) {
      auto key = ToIndexKey(*dir, token_key);
      if (!key) continue;
      // Re-checked here so a retraction queued before this command is
      // honoured and every recorded match has live signals.
      std::vector<IndexEntry> support;
      for (const IndexEntry& e : BatchLookup(b, *key, b.now)) {
        if (e.member != member) support.push_back(e);
      }
      if (support.empty()) continue;
      MatchResult m;
      m.index = index;
      m.match_id = match_ids_.Next("m_");
      m.kinds = {token_key.kind};
      std::set<Category> categories;
      std::set<std::uint32_t> platforms;
      std::set<std::string> attributed;
      std::int64_t first = std::numeric_limits<std::int64_t>::max();
      std::int64_t last = std::numeric_limits<std::int64_t>::min();
      Severity max_severity = Severity::kLow;
      for (const IndexEntry& e : support) {
        categories.insert(e.category);
        platforms.insert(e.member);
        if (e.attribution) attributed.insert(dir->MemberIdOf(e.member));
        first = std::min(first, e.banned_at);
        last = std::max(last, e.banned_at);
        max_severity = std::max(max_severity, e.severity);
      }
      m.categories.assign(categories.begin(), categories.end());
      m.platforms = static_cast<std::uint32_t>(platforms.size());
      m.attributed_to.assign(attributed.begin(), attributed.end());
      m.first_banned_at = FromUnix(first);
      m.last_banned_at = FromUnix(last);
      m.max_severity = max_severity;
      const std::int64_t match_row = NextRowid(
          b, b.next_match_rowid, "SELECT coalesce(max(id), 0) FROM matches");
      if (match_row < 0) return tl::unexpected(*b.fatal);
      b.matches.push_back({match_row, m.match_id, member});
      for (const IndexEntry& e : support) {
        b.match_signals.push_back({e.rowid, match_row});
      }
      if (reuse_) {
        std::sort(support.begin(), support.end(),
                  [](const IndexEntry& x, const IndexEntry& y) {
                    return x.rowid < y.rowid;
                  });
        b.reusable.push_back({member, *key, std::move(support), m});
      }
      outcome.matches.push_back(std::move(m));
    }
    if (!reused.empty()) {
      outcome.matches.insert(outcome.matches.end(), reused.begin(),
                             reused.end());
      std::sort(outcome.matches.begin(), outcome.matches.end(),
                [](const MatchResult& x, const MatchResult& y) {
                  return x.index < y.index;
                });
    }
    Audit(b, ctx, "query", QueryDetails(queried, outcome.matches));
    return outcome;
  }

  Status DoRecordOprfUsage(BatchState& b, const OprfUsage& u) {
    auto dir = Snapshot();
    const Directory::Member* me = dir->FindMember(u.member_id);
    if (me == nullptr) return UnknownMember(u.member_id);
    if (!Run(b, "DELETE FROM oprf_usage WHERE member = ?1 AND day < ?2",
             [&](Statement& s) { s.Bind(1, me->number).Bind(2, u.day); }) ||
        !Run(b,
             "INSERT INTO oprf_usage (member, day, elements)"
             " VALUES (?1, ?2, ?3) ON CONFLICT (member, day)"
             " DO UPDATE SET elements = elements + excluded.elements",
             [&](Statement& s) {
               s.Bind(1, me->number)
                   .Bind(2, u.day)
                   .Bind(3, static_cast<std::int64_t>(u.elements));
             })) {
      return tl::unexpected(*b.fatal);
    }
    return {};
  }

  Result<DispositionRecord> DoDispose(BatchState& b, const DisposeCommand& c) {
    auto dir = Snapshot();
    const Directory::Member* me = dir->FindMember(c.member_id);
    if (me == nullptr) return UnknownMember(c.member_id);
    std::int64_t match_row = 0;
    {
      std::optional<Statement> slot;
      Statement* s =
          Prep(b, slot, "SELECT id, member FROM matches WHERE match_id = ?1");
      if (s == nullptr) return tl::unexpected(*b.fatal);
      s->Bind(1, c.match_id);
      auto row = s->Step();
      if (!row) return tl::unexpected(b.Fail(row.error()));
      if (!*row || s->Int(1) != me->number) {
        return MakeError(ErrorCode::kNotFound,
                         "no match '" + c.match_id +
                             "' was made by your queries; use a match_id "
                             "from one of your query responses",
                         "match_id");
      }
      match_row = s->Int(0);
    }
    if (!Run(b,
             "INSERT INTO dispositions (match, member, outcome, note,"
             " recorded_at) VALUES (?1, ?2, ?3, ?4, ?5)",
             [&](Statement& s) {
               s.Bind(1, match_row)
                   .Bind(2, me->number)
                   .Bind(3, static_cast<std::int64_t>(c.outcome))
                   .Bind(4, c.note)
                   .Bind(5, b.now);
             })) {
      return tl::unexpected(*b.fatal);
    }
    Audit(b, c.context, "disposition",
          JsonObjectWriter()
              .Add("match_id", c.match_id)
              .Add("outcome", ToString(c.outcome))
              .Finish());
    return DispositionRecord{c.match_id, c.outcome, c.note, FromUnix(b.now)};
  }

  Result<ExpireOutcome> DoExpire(BatchState& b) {
    std::vector<std::pair<Departure, std::uint32_t>> due;
    {
      std::optional<Statement> slot;
      Statement* s =
          Prep(b, slot,
               "SELECT id, kind, scheme, epoch, token, member"
               " FROM signals WHERE status = 0 AND expires_at <= ?1");
      if (s == nullptr) return tl::unexpected(*b.fatal);
      s->Bind(1, b.now);
      while (true) {
        auto row = s->Step();
        if (!row) return tl::unexpected(b.Fail(row.error()));
        if (!*row) break;
        Departure d;
        d.rowid = s->Int(0);
        d.key.kind = static_cast<std::uint16_t>(s->Int(1));
        d.key.scheme = static_cast<TokenScheme>(s->Int(2));
        d.key.epoch = static_cast<std::uint32_t>(s->Int(3));
        auto token = s->Blob(4);
        std::copy_n(token.begin(), std::min(token.size(), d.key.token.size()),
                    d.key.token.begin());
        due.emplace_back(d, static_cast<std::uint32_t>(s->Int(5)));
      }
    }
    std::vector<Departure> departed;
    for (const auto& [d, member] : due) {
      if (!Depart(b, d, member, kStatusExpired, std::nullopt, {})) {
        return tl::unexpected(*b.fatal);
      }
      departed.push_back(d);
    }
    if (!NotifyMatches(b, departed, FeedEventType::kExpired, std::nullopt)) {
      return tl::unexpected(*b.fatal);
    }
    if (!departed.empty()) {
      Audit(b, HubContext(), "expire",
            JsonObjectWriter()
                .Add("signals", std::uint64_t{departed.size()})
                .Finish());
    }
    return ExpireOutcome{departed.size()};
  }

  // Runs `sql` with those of ?1..?5 it uses bound to the purge cutoffs
  // (tombstone, match, disposition, notification, idempotency); returns the
  // count it selects, or the number of rows it deleted.
  std::optional<std::uint64_t> PurgeStep(BatchState& b, const char* sql,
                                         const std::int64_t (&cut)[5],
                                         bool count) {
    std::optional<Statement> slot;
    Statement* st = Prep(b, slot, sql);
    if (st == nullptr) return std::nullopt;
    for (int i = 0; i < 5; ++i) {
      const char placeholder[] = {'?', static_cast<char>('1' + i)};
      if (std::string_view(sql).find(std::string_view(placeholder, 2)) !=
          std::string_view::npos) {
        st->Bind(i + 1, cut[i]);
      }
    }
    auto row = st->Step();
    if (!row) {
      b.Fail(row.error());
      return std::nullopt;
    }
    if (count) return static_cast<std::uint64_t>(st->Int(0));
    return static_cast<std::uint64_t>(sqlite3_changes(b.db.handle()));
  }

  Result<PurgeOutcome> DoPurge(BatchState& b, const PurgeCommand& c) {
    const std::int64_t cut[5] = {
        b.now - options_.tombstone_period.count(),
        b.now - options_.match_retention.count(),
        b.now - options_.disposition_retention.count(),
        b.now - options_.notification_retention.count(),
        b.now - options_.idempotency_window.count()};
    PurgeOutcome out;
    out.dry_run = c.dry_run;
    struct Step {
      const char* count_sql;
      const char* delete_sql;  // nullptr: deleted by an earlier step
      std::uint64_t* total;
    };
    // Order matters for the deletes: rows that point at a signal or a match
    // go before it, so nothing is left dangling.
    const Step steps[] = {
        {"SELECT count(*) FROM feed WHERE signal IN (SELECT id FROM signals"
         " WHERE status != 0 AND updated_at <= ?1)",
         "DELETE FROM feed WHERE signal IN (SELECT id FROM signals"
         " WHERE status != 0 AND updated_at <= ?1)",
         &out.feed_events},
        {"SELECT 0",
         "DELETE FROM retractions WHERE signal IN (SELECT id FROM signals"
         " WHERE status != 0 AND updated_at <= ?1)",
         nullptr},
        {"SELECT 0",
         "DELETE FROM match_signals WHERE signal IN (SELECT id FROM signals"
         " WHERE status != 0 AND updated_at <= ?1)",
         nullptr},
        {"SELECT count(*) FROM signals WHERE status != 0 AND updated_at <= ?1",
         "DELETE FROM signals WHERE status != 0 AND updated_at <= ?1",
         &out.signals},
        {"SELECT count(*) FROM dispositions WHERE recorded_at <= ?3 OR match"
         " IN (SELECT id FROM matches WHERE created_at <= ?2)",
         "DELETE FROM dispositions WHERE recorded_at <= ?3 OR match"
         " IN (SELECT id FROM matches WHERE created_at <= ?2)",
         &out.dispositions},
        {"SELECT count(*) FROM notifications WHERE at <= ?4 OR match"
         " IN (SELECT id FROM matches WHERE created_at <= ?2)",
         "DELETE FROM notifications WHERE at <= ?4 OR match"
         " IN (SELECT id FROM matches WHERE created_at <= ?2)",
         &out.notifications},
        {"SELECT 0",
         "DELETE FROM match_signals WHERE match"
         " IN (SELECT id FROM matches WHERE created_at <= ?2)",
         nullptr},
        // A departed signal's rows were settled when it departed, but an
        // old match can still wait in match_signals_recent.
        {"SELECT 0",
         "DELETE FROM match_signals_recent WHERE match"
         " IN (SELECT id FROM matches WHERE created_at <= ?2)",
         nullptr},
        {"SELECT count(*) FROM matches WHERE created_at <= ?2",
         "DELETE FROM matches WHERE created_at <= ?2", &out.matches},
        {"SELECT count(*) FROM idempotency WHERE created_at <= ?5",
         "DELETE FROM idempotency WHERE created_at <= ?5",
         &out.idempotency_keys},
    };
    for (const Step& step : steps) {
      if (c.dry_run && step.total == nullptr) continue;
      auto n = PurgeStep(b, c.dry_run ? step.count_sql : step.delete_sql, cut,
                         c.dry_run);
      if (!n) return tl::unexpected(*b.fatal);
      if (step.total != nullptr) *step.total = *n;
    }
    if (!c.dry_run && (out.Total() > 0 || c.context.actor != "hub")) {
      Audit(b, c.context, "purge",
            JsonObjectWriter()
                .Add("signals", out.signals)
                .Add("feed_events", out.feed_events)
                .Add("matches", out.matches)
                .Add("dispositions", out.dispositions)
                .Add("notifications", out.notifications)
                .Add("idempotency_keys", out.idempotency_keys)
                .Finish());
    }
    return out;
  }

  SqliteStoreOptions options_;
  AuditWriter audit_;                    // writer thread only (after Open)
  std::unique_ptr<Database> writer_db_;  // writer thread only (after Open)
  std::unique_ptr<Database> reader_db_;
  mutable std::mutex reader_mutex_;
  // After writer_db_: the writer's commit hook points at it.
  std::unique_ptr<WalCheckpointer> checkpointer_;
  std::unique_ptr<TokenIndex> index_;
  // Set when options_.match_reuse_window > 0.
  std::unique_ptr<MatchReuseCache> reuse_;
  RecentMatchSignals recent_match_signals_;  // writer thread only
  TimeOrderedIds match_ids_;                 // writer thread only

  mutable std::mutex directory_mutex_;
  std::shared_ptr<const Directory> directory_;

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

  std::atomic<bool> writable_{true};
  std::atomic<std::uint64_t> transactions_{0};
  std::atomic<std::uint64_t> failed_transactions_{0};
  std::atomic<std::uint64_t> operations_{0};
  std::atomic<std::uint64_t> last_batch_operations_{0};
  std::atomic<std::uint64_t> audit_head_seq_{0};
  std::atomic<std::uint64_t> dropped_audit_entries_{0};
  std::atomic<std::uint64_t> match_settles_{0};
  std::atomic<std::uint64_t> match_settle_micros_{0};
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
