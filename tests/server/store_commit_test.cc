// Group commit, failure injection, audit hook and rebuilding after reopen.
#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include <spdlog/spdlog.h>
#include <catch2/catch.hpp>

#include "server/src/store/failure_log.h"
#include "store_test_util.h"
#include "support/log_capture.h"

namespace cairn::server {
namespace {

using testing::KeyOf;
using testing::QueryTokens;
using testing::Signal;
using testing::StoreFixture;
using testing::SubmitOne;

using cairn::testing::LogCapture;

TEST_CASE("concurrent submitters share transactions and all get acks") {
  StoreFixture f;
  Store& s = f.store();
  const auto before = s.Stats();
  constexpr int kThreads = 8;
  constexpr int kPerThread = 50;
  std::atomic<int> acked{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  const char* members[] = {"alpha", "beta", "gamma"};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Asynchronous submits: many are in flight at once.
      std::mutex mu;
      std::condition_variable cv;
      int pending = kPerThread;
      for (int i = 0; i < kPerThread; ++i) {
        SubmitCommand c;
        c.member_id = members[t % 3];
        c.items.push_back(Signal(10000 + t * kPerThread + i));
        s.Submit(std::move(c), [&](Result<SubmitOutcome> r) {
          if (r.has_value() && r->results[0].status == SubmitStatus::kCreated) {
            acked.fetch_add(1);
          } else {
            failed.fetch_add(1);
          }
          std::lock_guard lock(mu);
          if (--pending == 0) cv.notify_one();
        });
      }
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return pending == 0; });
    });
  }
  for (auto& t : threads) t.join();
  CHECK(acked.load() == kThreads * kPerThread);
  CHECK(failed.load() == 0);
  const auto after = s.Stats();
  const auto ops = after.operations - before.operations;
  const auto txns = after.transactions - before.transactions;
  CHECK(ops == kThreads * kPerThread);
  CHECK(txns < ops);  // group commit batched some of them
  CHECK(after.index_signals == kThreads * kPerThread);
}

TEST_CASE(
    "a failed commit fails the whole batch, changes nothing, and the "
    "store recovers") {
  StoreFixture f;
  Store& s = f.store();
  REQUIRE(SubmitOne(s, "alpha", Signal(1)).has_value());
  const auto before = s.Stats();
  // Freeze the file at its current size: the next growth is SQLITE_FULL.
  REQUIRE(
      RunOnSqliteWriterForTesting(s, "PRAGMA max_page_count = 1").has_value());
  SubmitCommand big;
  big.member_id = "beta";
  for (int i = 0; i < 2000; ++i) big.items.push_back(Signal(100 + i));
  auto r = s.SubmitAndWait(big);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == ErrorCode::kUnavailable);
  CHECK_THAT(r.error().message, Catch::Contains("nothing was changed"));
  CHECK_FALSE(s.IsWritable());
  CHECK(s.Stats().index_signals == before.index_signals);
  CHECK(s.Stats().failed_transactions == before.failed_transactions + 1);
  CHECK(QueryTokens(s, "gamma", {100, 101, 2099})->matches.empty());
  CHECK(s.Feed("gamma", 0, 10000)->events.size() == 1);

  REQUIRE(RunOnSqliteWriterForTesting(s, "PRAGMA max_page_count = 1073741823")
              .has_value());
  auto retry = s.SubmitAndWait(big);
  REQUIRE(retry.has_value());
  CHECK(retry->results[1999].status == SubmitStatus::kCreated);
  // Healthy again once no commit has failed for a while.
  f.clock.Advance(std::chrono::seconds(60));
  CHECK(s.IsWritable());
  CHECK(s.Stats().index_signals == before.index_signals + 2000);
  CHECK(QueryTokens(s, "gamma", {100, 2099})->matches.size() == 2);
}

TEST_CASE("the index rebuilt after reopening equals the one kept in step") {
  StoreFixture f;
  for (int i = 0; i < 300; ++i) {
    REQUIRE(
        SubmitOne(f.store(), i % 2 ? "alpha" : "beta", Signal(i)).has_value());
  }
  RetractCommand r;
  r.member_id = "alpha";
  for (int i = 1; i < 100; i += 2) {
    RetractionItem item;
    item.key = KeyOf(i);
    item.reason = RetractReason::kError;
    r.items.push_back(item);
  }
  REQUIRE(f.store().RetractAndWait(r).has_value());
  auto q_before = QueryTokens(f.store(), "gamma", {1, 2, 3, 101, 102});
  REQUIRE(q_before.has_value());
  const auto stats_before = f.store().Stats();
  const auto feed_before = f.store().Feed("gamma", 0, 10000)->events.size();
  auto match_id = q_before->matches.at(0).match_id;

  f.Reopen();
  const auto stats_after = f.store().Stats();
  CHECK(stats_after.index_signals == stats_before.index_signals);
  CHECK(stats_after.index_keys == stats_before.index_keys);
  CHECK(stats_after.index_signals == 250);
  auto q_after = QueryTokens(f.store(), "gamma", {1, 2, 3, 101, 102});
  REQUIRE(q_after.has_value());
  REQUIRE(q_after->matches.size() == q_before->matches.size());
  for (std::size_t i = 0; i < q_after->matches.size(); ++i) {
    CHECK(q_after->matches[i].index == q_before->matches[i].index);
    CHECK(q_after->matches[i].categories == q_before->matches[i].categories);
  }
  CHECK(f.store().Feed("gamma", 0, 10000)->events.size() == feed_before);
  // Matches survive too: the disposition finds its match.
  DisposeCommand d;
  d.member_id = "gamma";
  d.match_id = match_id;
  CHECK(f.store().DisposeAndWait(d).has_value());
  // Submitting the same signals again after reopen is a duplicate.
  CHECK(SubmitOne(f.store(), "beta", Signal(2))->results[0].status ==
        SubmitStatus::kDuplicate);
}

class RecordingHook : public AuditHook {
 public:
  Status Append(const AuditEvent& event) override {
    std::lock_guard lock(mu_);
    if (fail_) {
      return MakeError(ErrorCode::kUnavailable, "audit log unavailable");
    }
    events_.push_back(event);
    return {};
  }
  std::vector<AuditEvent> events() {
    std::lock_guard lock(mu_);
    return events_;
  }
  void set_fail(bool f) {
    std::lock_guard lock(mu_);
    fail_ = f;
  }

 private:
  std::mutex mu_;
  bool fail_ = false;
  std::vector<AuditEvent> events_;
};

TEST_CASE("the audit hook sees each command and can veto a batch") {
  testing::TempDir dir;
  testing::ManualClock clock;
  auto hook = std::make_shared<RecordingHook>();
  SqliteStoreOptions o;
  o.db_path = dir.path() / "hub.db";
  o.clock = clock.AsClock();
  o.audit_hook = hook;
  auto store = OpenSqliteStore(o);
  REQUIRE(store.has_value());
  Store& s = **store;
  CreateMemberCommand c;
  c.context = {"r_1", "ops", ""};
  c.member_id = "alpha";
  c.name = "Alpha";
  c.roles = RoleBit(Role::kMember);
  REQUIRE(s.CreateMemberAndWait(c).has_value());
  SubmitCommand sub;
  sub.context = {"r_2", "alpha", ""};
  sub.member_id = "alpha";
  sub.items = {Signal(1)};
  REQUIRE(s.SubmitAndWait(sub).has_value());
  auto events = hook->events();
  REQUIRE(events.size() == 2);
  CHECK(events[0].action == "member.create");
  CHECK(events[0].request_id == "r_1");
  CHECK(events[1].action == "submit");
  CHECK(events[1].actor == "alpha");

  hook->set_fail(true);
  sub.items = {Signal(2)};
  auto vetoed = s.SubmitAndWait(sub);
  REQUIRE_FALSE(vetoed.has_value());
  CHECK(vetoed.error().code == ErrorCode::kUnavailable);
  CHECK(s.Stats().index_signals == 1);
}

Result<SubmitOutcome> SubmitMany(Store& s, const std::string& member, int first,
                                 int count) {
  SubmitCommand c;
  c.member_id = member;
  for (int i = 0; i < count; ++i) c.items.push_back(Signal(first + i));
  return s.SubmitAndWait(c);
}

// Which threads write the database file and which its write-ahead log,
// seen from below SQLite: while alive, SQLite's default VFS is a shim over
// the one it replaces that notes the writing thread of each xWrite while
// recording. In WAL mode only a checkpoint writes the database file and
// only a commit appends to the log, so a checkpoint run inside a commit
// shows up as the writer's thread among the database file's writers.
class WriteThreads {
 public:
  WriteThreads() {
    REQUIRE(sqlite3_initialize() == SQLITE_OK);
    real_ = sqlite3_vfs_find(nullptr);
    REQUIRE(real_ != nullptr);
    shim_ = *real_;
    shim_.iVersion = 2;
    shim_.szOsFile = static_cast<int>(sizeof(File)) + real_->szOsFile;
    shim_.pNext = nullptr;
    shim_.zName = "cairn-test-write-threads";
    shim_.pAppData = nullptr;
    shim_.xOpen = &Open;
    shim_.xDelete = [](sqlite3_vfs*, const char* name, int sync) {
      return real_->xDelete(real_, name, sync);
    };
    shim_.xAccess = [](sqlite3_vfs*, const char* name, int flags, int* out) {
      return real_->xAccess(real_, name, flags, out);
    };
    shim_.xFullPathname = [](sqlite3_vfs*, const char* name, int n, char* o) {
      return real_->xFullPathname(real_, name, n, o);
    };
    shim_.xDlOpen = [](sqlite3_vfs*, const char* name) {
      return real_->xDlOpen(real_, name);
    };
    shim_.xDlError = [](sqlite3_vfs*, int n, char* out) {
      real_->xDlError(real_, n, out);
    };
    shim_.xDlSym = [](sqlite3_vfs*, void* h, const char* sym) {
      return real_->xDlSym(real_, h, sym);
    };
    shim_.xDlClose = [](sqlite3_vfs*, void* h) { real_->xDlClose(real_, h); };
    shim_.xRandomness = [](sqlite3_vfs*, int n, char* out) {
      return real_->xRandomness(real_, n, out);
    };
    shim_.xSleep = [](sqlite3_vfs*, int us) {
      return real_->xSleep(real_, us);
    };
    shim_.xCurrentTime = [](sqlite3_vfs*, double* out) {
      return real_->xCurrentTime(real_, out);
    };
    shim_.xGetLastError = [](sqlite3_vfs*, int n, char* out) {
      return real_->xGetLastError(real_, n, out);
    };
    shim_.xCurrentTimeInt64 = [](sqlite3_vfs*, sqlite3_int64* out) {
      return real_->xCurrentTimeInt64(real_, out);
    };
    shim_.xSetSystemCall = nullptr;
    shim_.xGetSystemCall = nullptr;
    shim_.xNextSystemCall = nullptr;
    REQUIRE(real_->iVersion >= 2);
    REQUIRE(sqlite3_vfs_register(&shim_, /*makeDflt=*/1) == SQLITE_OK);
  }
  // Files opened through the shim keep working: its structures are static.
  ~WriteThreads() {
    recording_ = false;
    fail_database_writes_ = false;
    sqlite3_vfs_register(real_, /*makeDflt=*/1);
    sqlite3_vfs_unregister(&shim_);
  }
  WriteThreads(const WriteThreads&) = delete;
  WriteThreads& operator=(const WriteThreads&) = delete;

  void Record(bool on) { recording_ = on; }
  // While on, every write to a database file (in WAL mode: a checkpoint's
  // copy, never a commit) fails as on a full disk.
  void FailDatabaseWrites(bool on) { fail_database_writes_ = on; }
  std::set<std::thread::id> DatabaseWriters() const {
    std::lock_guard lock(mutex_);
    return database_writers_;
  }
  std::set<std::thread::id> LogWriters() const {
    std::lock_guard lock(mutex_);
    return log_writers_;
  }

 private:
  enum class Kind { kOther, kDatabase, kLog };
  struct File {
    sqlite3_file base;
    Kind kind;
    sqlite3_file* real;  // the real VFS's file, just after this struct
  };

  static sqlite3_file* Real(sqlite3_file* f) {
    return reinterpret_cast<File*>(f)->real;
  }

  static int Open(sqlite3_vfs*, const char* name, sqlite3_file* file, int flags,
                  int* out_flags) {
    auto* mine = reinterpret_cast<File*>(file);
    mine->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) +
                                                 sizeof(File));
    mine->kind = (flags & SQLITE_OPEN_MAIN_DB) ? Kind::kDatabase
                 : (flags & SQLITE_OPEN_WAL)   ? Kind::kLog
                                               : Kind::kOther;
    const int rc = real_->xOpen(real_, name, mine->real, flags, out_flags);
    mine->base.pMethods = mine->real->pMethods != nullptr ? &methods_ : nullptr;
    return rc;
  }

  static int Write(sqlite3_file* f, const void* data, int n,
                   sqlite3_int64 offset) {
    const Kind kind = reinterpret_cast<File*>(f)->kind;
    if (fail_database_writes_ && kind == Kind::kDatabase) return SQLITE_FULL;
    if (recording_ && kind != Kind::kOther) {
      std::lock_guard lock(mutex_);
      (kind == Kind::kDatabase ? database_writers_ : log_writers_)
          .insert(std::this_thread::get_id());
    }
    return Real(f)->pMethods->xWrite(Real(f), data, n, offset);
  }

  static inline sqlite3_vfs* real_ = nullptr;
  static inline sqlite3_vfs shim_{};
  static inline std::atomic<bool> recording_{false};
  static inline std::atomic<bool> fail_database_writes_{false};
  static inline std::mutex mutex_;
  static inline std::set<std::thread::id> database_writers_;
  static inline std::set<std::thread::id> log_writers_;
  static inline const sqlite3_io_methods methods_ = {
      3,
      [](sqlite3_file* f) {
        const int rc = Real(f)->pMethods->xClose(Real(f));
        f->pMethods = nullptr;
        return rc;
      },
      [](sqlite3_file* f, void* out, int n, sqlite3_int64 offset) {
        return Real(f)->pMethods->xRead(Real(f), out, n, offset);
      },
      &Write,
      [](sqlite3_file* f, sqlite3_int64 size) {
        return Real(f)->pMethods->xTruncate(Real(f), size);
      },
      [](sqlite3_file* f, int flags) {
        return Real(f)->pMethods->xSync(Real(f), flags);
      },
      [](sqlite3_file* f, sqlite3_int64* size) {
        return Real(f)->pMethods->xFileSize(Real(f), size);
      },
      [](sqlite3_file* f, int lock) {
        return Real(f)->pMethods->xLock(Real(f), lock);
      },
      [](sqlite3_file* f, int lock) {
        return Real(f)->pMethods->xUnlock(Real(f), lock);
      },
      [](sqlite3_file* f, int* out) {
        return Real(f)->pMethods->xCheckReservedLock(Real(f), out);
      },
      [](sqlite3_file* f, int op, void* arg) {
        return Real(f)->pMethods->xFileControl(Real(f), op, arg);
      },
      [](sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); },
      [](sqlite3_file* f) {
        return Real(f)->pMethods->xDeviceCharacteristics(Real(f));
      },
      [](sqlite3_file* f, int region, int size, int extend,
         void volatile** out) {
        return Real(f)->pMethods->xShmMap(Real(f), region, size, extend, out);
      },
      [](sqlite3_file* f, int offset, int n, int flags) {
        return Real(f)->pMethods->xShmLock(Real(f), offset, n, flags);
      },
      [](sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); },
      [](sqlite3_file* f, int remove) {
        return Real(f)->pMethods->xShmUnmap(Real(f), remove);
      },
      [](sqlite3_file* f, sqlite3_int64 offset, int n, void** out) {
        return Real(f)->pMethods->xFetch(Real(f), offset, n, out);
      },
      [](sqlite3_file* f, sqlite3_int64 offset, void* p) {
        return Real(f)->pMethods->xUnfetch(Real(f), offset, p);
      },
  };
};

TEST_CASE(
    "the write-ahead log is checkpointed beside the writer, never inside a "
    "commit") {
  StoreFixture f;
  // Installed before the store below opens its connections (the writer's
  // and the checkpointer's), so their files go through it.
  WriteThreads threads;
  f.ReopenWith([](SqliteStoreOptions& o) { o.wal_checkpoint_pages = 16; });
  Store& s = f.store();
  const auto db = f.dir.path() / "hub.db";
  const auto size_before = std::filesystem::file_size(db);
  REQUIRE(s.Stats().wal_checkpoints == 0);
  threads.Record(true);
  for (int batch = 0; batch < 20; ++batch) {
    auto r = SubmitMany(s, "alpha", 100000 + batch * 200, 200);
    REQUIRE(r.has_value());
  }
  // The checkpointer runs on its own thread: wait for it, boundedly.
  for (int i = 0; i < 500 && s.Stats().wal_checkpoints == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const auto stats = s.Stats();
  CHECK(stats.wal_checkpoints > 0);
  CHECK(stats.failed_wal_checkpoints == 0);
  // Not the reopen below: the last connection to close checkpoints, on
  // the closing thread.
  threads.Record(false);
  // Only the writer's thread appends to the log; the database file was
  // written (by the checkpoints), and never by that thread.
  const auto log_writers = threads.LogWriters();
  const auto database_writers = threads.DatabaseWriters();
  REQUIRE(log_writers.size() == 1);
  CHECK_FALSE(database_writers.empty());
  CHECK(database_writers.count(*log_writers.begin()) == 0);
  // Only a checkpoint writes to the database file in WAL mode.
  CHECK(std::filesystem::file_size(db) > size_before);
  f.Reopen();
  CHECK(f.store().Stats().index_signals == 20 * 200);
  auto q = QueryTokens(f.store(), "beta", {100000, 103999});
  REQUIRE(q.has_value());
  CHECK(q->matches.size() == 2);
}

TEST_CASE("OPRF usage adds up per member and day and survives a reopen") {
  StoreFixture f;
  Store& s = f.store();
  constexpr std::int64_t kDay = 20'415;
  REQUIRE(s.RecordOprfUsageAndWait({"alpha", kDay - 1, 7}));
  REQUIRE(s.RecordOprfUsageAndWait({"alpha", kDay, 10}));
  REQUIRE(s.RecordOprfUsageAndWait({"alpha", kDay, 5}));
  REQUIRE(s.RecordOprfUsageAndWait({"beta", kDay, 1}));
  // Concurrent charges of one member all count. (Catch's assertions are not
  // thread-safe: the threads count failures instead.)
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&s, &failed] {
      for (int i = 0; i < 25; ++i) {
        if (!s.RecordOprfUsageAndWait({"gamma", kDay, 2})) ++failed;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(failed == 0);
  const std::vector<OprfUsage> expected = {
      {"alpha", kDay, 15}, {"beta", kDay, 1}, {"gamma", kDay, 200}};
  CHECK(s.OprfUsageOn(kDay).value() == expected);
  // A member's earlier days are forgotten when it is charged again.
  CHECK(s.OprfUsageOn(kDay - 1).value().empty());
  const auto db = f.dir.path() / "hub.db";
  CHECK(testing::QueryInt64(db, "SELECT count(*) FROM oprf_usage") == 3);

  // Refused, and nothing written, for a member the hub does not know.
  auto unknown = s.RecordOprfUsageAndWait({"nobody", kDay, 1});
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().code == ErrorCode::kPermissionDenied);
  CHECK(testing::QueryInt64(db, "SELECT count(*) FROM oprf_usage") == 3);

  f.Reopen();
  CHECK(f.store().OprfUsageOn(kDay).value() == expected);
  CHECK(f.store().OprfUsageOn(kDay + 1).value().empty());
}

TEST_CASE("after a burst is checkpointed the log shrinks to its limit") {
  StoreFixture f;
  f.ReopenWith([](SqliteStoreOptions& o) {
    o.wal_checkpoint_pages = 16;
    o.wal_size_limit_bytes = 64 * 1024;
  });
  Store& s = f.store();
  const auto wal = f.dir.path() / "hub.db-wal";
  REQUIRE(SubmitMany(s, "alpha", 300000, 20000).has_value());
  const auto burst = std::filesystem::file_size(wal);
  CHECK(burst > 2 * 1024 * 1024);
  // The checkpointer runs on its own thread: wait for it, boundedly.
  for (int i = 0; i < 500 && s.Stats().wal_checkpoints == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE(s.Stats().wal_checkpoints > 0);
  // The next commit starts the log over and truncates the file.
  REQUIRE(SubmitMany(s, "alpha", 400000, 1).has_value());
  CHECK(std::filesystem::file_size(wal) <= 64 * 1024);
  CHECK(s.Stats().index_signals == 20001);
}

TEST_CASE("with wal_checkpoint_pages 0 no checkpointer thread runs") {
  StoreFixture f;
  f.ReopenWith([](SqliteStoreOptions& o) { o.wal_checkpoint_pages = 0; });
  for (int batch = 0; batch < 5; ++batch) {
    REQUIRE(
        SubmitMany(f.store(), "alpha", 200000 + batch * 200, 200).has_value());
  }
  CHECK(f.store().Stats().wal_checkpoints == 0);
  CHECK(f.store().Stats().index_signals == 5 * 200);
}

}  // namespace
}  // namespace cairn::server

namespace cairn::server {
namespace {

TEST_CASE(
    "a failed commit is logged at error with its cause, repeats are "
    "counted, and the recovery is logged") {
  LogCapture log;
  StoreFixture f;
  Store& s = f.store();
  REQUIRE(SubmitMany(s, "alpha", 1, 10).has_value());
  // Freeze the file at its current size: the next growth is SQLITE_FULL.
  REQUIRE(RunOnSqliteWriterForTesting(s, "PRAGMA max_page_count = 1"));
  REQUIRE_FALSE(SubmitMany(s, "beta", 1000, 2000).has_value());
  auto errors = log.Lines("store commit failed");
  REQUIRE(errors.size() == 1);
  CHECK_THAT(errors[0], Catch::Contains("[error]") &&
                            Catch::Contains("database or disk is full") &&
                            Catch::Contains("1 operation(s) rolled back"));

  // More failures at once: no line each...
  for (int i = 0; i < 3; ++i) {
    REQUIRE_FALSE(SubmitMany(s, "beta", 1000, 2000).has_value());
  }
  CHECK(log.Lines("store commit").size() == 1);
  // ...but one line per interval, with the count.
  f.clock.Advance(std::chrono::seconds(10));
  REQUIRE_FALSE(SubmitMany(s, "beta", 1000, 2000).has_value());
  auto repeated = log.Lines("store commit still failing");
  REQUIRE(repeated.size() == 1);
  CHECK_THAT(repeated[0], Catch::Contains("[error]") &&
                              Catch::Contains("4 more failure(s)") &&
                              Catch::Contains("5 since the first 10 s ago") &&
                              Catch::Contains("database or disk is full"));
  CHECK(s.Stats().failed_transactions == 5);

  REQUIRE(RunOnSqliteWriterForTesting(s, "PRAGMA max_page_count = 1073741823"));
  REQUIRE(SubmitMany(s, "beta", 1000, 2000).has_value());
  auto recovered = log.Lines("store commit succeeds again");
  REQUIRE(recovered.size() == 1);
  CHECK_THAT(recovered[0], Catch::Contains("after 5 failure(s)"));
  // Once: later commits add no line.
  REQUIRE(SubmitMany(s, "beta", 5000, 1).has_value());
  CHECK(log.Lines("store commit").size() == 3);
}

TEST_CASE(
    "the failure log stays rate-limited while failures and successes "
    "alternate, and logs the recovery once failures stop") {
  using std::chrono::seconds;
  LogCapture log;
  RepeatingFailureLog commits("store commit", "check df", seconds(10));
  const sys_seconds t0{seconds(1'700'000'000)};
  // A nearly full disk: for 100 s, ten large commits a second fail, each
  // followed by a small one that fits.
  for (int second = 0; second < 100; ++second) {
    for (int i = 0; i < 10; ++i) {
      commits.Failed("database or disk is full", t0 + seconds(second));
      commits.Succeeded(t0 + seconds(second));
    }
  }
  // The first failure at once, and the first success after it (it might
  // have been the disk freed)...
  auto failed = log.Lines("store commit failed");
  REQUIRE(failed.size() == 1);
  CHECK_THAT(failed[0], Catch::Contains("database or disk is full"));
  auto again = log.Lines("store commit succeeds again");
  REQUIRE(again.size() == 1);
  CHECK_THAT(again[0], Catch::Contains("after 1 failure(s) over 0 s"));
  // ...then one line per 10 s that counts both, at t0 + 10, ..., t0 + 90.
  auto still = log.Lines("store commit still failing");
  REQUIRE(still.size() == 9);
  CHECK_THAT(still[0], Catch::Contains("100 more failure(s) and 99 "
                                       "success(es) in the last 10 s, 101 "
                                       "since the first 10 s ago"));
  CHECK_THAT(still[8], Catch::Contains("100 more failure(s) and 100 "
                                       "success(es) in the last 10 s, 901 "
                                       "since the first 90 s ago"));

  // The failures stop (the last at t0 + 99); small commits go on.
  for (int second = 100; second < 200; ++second) {
    commits.Succeeded(t0 + seconds(second));
  }
  again = log.Lines("store commit succeeds again");
  REQUIRE(again.size() == 2);
  CHECK_THAT(again[1], Catch::Contains("after 1000 failure(s) over 109 s"));
  CHECK(log.Lines("store commit").size() == 12);

  // A failure long after is a new run: logged at once, and so is its end.
  commits.Failed("disk I/O error", t0 + seconds(300));
  commits.Succeeded(t0 + seconds(300));
  failed = log.Lines("store commit failed");
  REQUIRE(failed.size() == 2);
  CHECK_THAT(failed[1], Catch::Contains("disk I/O error"));
  again = log.Lines("store commit succeeds again");
  REQUIRE(again.size() == 3);
  CHECK_THAT(again[2], Catch::Contains("after 1 failure(s) over 0 s"));
}

TEST_CASE(
    "the store reports itself unwritable for a while after any failed "
    "commit, not only after the last one") {
  StoreFixture f;
  Store& s = f.store();
  REQUIRE(RunOnSqliteWriterForTesting(s, "PRAGMA max_page_count = 1"));
  REQUIRE_FALSE(SubmitMany(s, "beta", 1000, 2000).has_value());
  CHECK_FALSE(s.IsWritable());
  // A small commit fits where a large one did not (a nearly full disk):
  // the store is still not healthy.
  REQUIRE(RunOnSqliteWriterForTesting(s, "PRAGMA max_page_count = 1073741823"));
  REQUIRE(SubmitMany(s, "beta", 5000, 1).has_value());
  CHECK_FALSE(s.IsWritable());
  f.clock.Advance(std::chrono::seconds(59));
  CHECK_FALSE(s.IsWritable());
  f.clock.Advance(std::chrono::seconds(1));
  CHECK(s.IsWritable());
}

TEST_CASE(
    "a failed WAL checkpoint is logged at error with its cause, and its "
    "recovery once") {
  LogCapture log;
  StoreFixture f;
  WriteThreads files;  // before the checkpointer's connection opens
  f.ReopenWith([](SqliteStoreOptions& o) { o.wal_checkpoint_pages = 1; });
  Store& s = f.store();
  const auto wait_for = [&s](auto done) {
    for (int i = 0; i < 2000 && !done(s.Stats()); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return done(s.Stats());
  };
  files.FailDatabaseWrites(true);
  REQUIRE(SubmitMany(s, "alpha", 1, 200).has_value());  // commits go on
  REQUIRE(wait_for(
      [](const StoreStats& st) { return st.failed_wal_checkpoints >= 1; }));
  auto errors = log.Lines("WAL checkpoint failed");
  REQUIRE(errors.size() == 1);
  CHECK_THAT(errors[0], Catch::Contains("[error]") &&
                            Catch::Contains("database or disk is full") &&
                            Catch::Contains("cairn.db-wal grows"));

  files.FailDatabaseWrites(false);
  const auto ok_before = s.Stats().wal_checkpoints;
  REQUIRE(SubmitMany(s, "alpha", 1000, 200).has_value());
  REQUIRE(wait_for([ok_before](const StoreStats& st) {
    return st.wal_checkpoints > ok_before;
  }));
  auto recovered = log.Lines("WAL checkpoint succeeds again");
  REQUIRE(recovered.size() == 1);
  CHECK_THAT(recovered[0], Catch::Contains("[warning]"));
}

}  // namespace
}  // namespace cairn::server

namespace cairn::server {
namespace {

TEST_CASE(
    "the file check reports a -wal or -shm file deleted or replaced under "
    "the store, which then reports its files lost, not unwritable") {
  StoreFixture f;
  Store& s = f.store();
  REQUIRE(SubmitMany(s, "alpha", 1, 10).has_value());
  CHECK(s.CheckFiles().has_value());
  const std::string db = (f.dir.path() / "hub.db").string();

  SECTION("-wal replaced by a copy") {
    std::filesystem::copy_file(db + "-wal", db + "-wal.copy");
    std::filesystem::rename(db + "-wal.copy", db + "-wal");
    auto checked = s.CheckFiles();
    REQUIRE_FALSE(checked.has_value());
    CHECK_THAT(checked.error().message,
               Catch::Contains(db + "-wal was replaced") &&
                   Catch::Contains("stop cairnd cleanly"));
  }
  SECTION("-shm deleted") {
    std::filesystem::remove(db + "-shm");
    auto checked = s.CheckFiles();
    REQUIRE_FALSE(checked.has_value());
    CHECK_THAT(checked.error().message,
               Catch::Contains(db + "-shm was deleted"));
  }
  // Commits still succeed, but the store is not healthy until reopened.
  REQUIRE(SubmitMany(s, "alpha", 100, 10).has_value());
  f.clock.Advance(std::chrono::hours(1));
  CHECK_FALSE(s.FilesIntact());
  CHECK(s.IsWritable());
  f.Reopen();
  CHECK(f.store().CheckFiles().has_value());
  CHECK(f.store().FilesIntact());
  CHECK(f.store().IsWritable());
}

TEST_CASE(
    "the file check reports the database file itself deleted, renamed or "
    "replaced under the store, which then reports its files lost") {
  StoreFixture f;
  Store& s = f.store();
  REQUIRE(SubmitMany(s, "alpha", 1, 10).has_value());
  CHECK(s.CheckFiles().has_value());
  const std::string db = (f.dir.path() / "hub.db").string();

  SECTION("deleted") {
    std::filesystem::remove(db);
    auto checked = s.CheckFiles();
    REQUIRE_FALSE(checked.has_value());
    CHECK(checked.error().code == ErrorCode::kUnavailable);
    CHECK_THAT(checked.error().message,
               Catch::Contains(db + " is gone (deleted or renamed)") &&
                   Catch::Contains("even a clean one") &&
                   Catch::Contains("kill -STOP") &&
                   Catch::Contains("Files never to delete"));
  }
  SECTION("renamed") {
    std::filesystem::rename(db, db + ".moved");
    auto checked = s.CheckFiles();
    REQUIRE_FALSE(checked.has_value());
    CHECK_THAT(checked.error().message,
               Catch::Contains(db + " is gone (deleted or renamed)"));
  }
  SECTION("replaced by a copy") {
    std::filesystem::copy_file(db, db + ".copy");
    std::filesystem::rename(db + ".copy", db);
    auto checked = s.CheckFiles();
    REQUIRE_FALSE(checked.has_value());
    CHECK_THAT(checked.error().message, Catch::Contains(db + " was replaced"));
  }
  // SQLite goes on committing into the open file; the check keeps saying so.
  REQUIRE(SubmitMany(s, "alpha", 100, 10).has_value());
  CHECK_FALSE(s.CheckFiles().has_value());
  f.clock.Advance(std::chrono::hours(1));
  CHECK_FALSE(s.FilesIntact());
  CHECK(s.IsWritable());
}

}  // namespace
}  // namespace cairn::server
