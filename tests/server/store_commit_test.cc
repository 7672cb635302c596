// Group commit, failure injection, audit hook and rebuilding after reopen.
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include <catch2/catch.hpp>

#include "store_test_util.h"

namespace cairn::server {
namespace {

using testing::KeyOf;
using testing::QueryTokens;
using testing::Signal;
using testing::StoreFixture;
using testing::SubmitOne;

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

TEST_CASE(
    "the write-ahead log is checkpointed beside the writer, never inside a "
    "commit") {
  StoreFixture f;
  f.ReopenWith([](SqliteStoreOptions& o) { o.wal_checkpoint_pages = 16; });
  Store& s = f.store();
  const auto db = f.dir.path() / "hub.db";
  const auto size_before = std::filesystem::file_size(db);
  REQUIRE(s.Stats().wal_checkpoints == 0);
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
