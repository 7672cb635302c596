// The store on cairnd's guarded clock (guarded_clock.h): a step of the
// system clock neither expires a signal irreversibly nor lets an expired
// one match again, nor refuses a member's correct banned_at.
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>

#include <catch2/catch.hpp>

#include "server/src/store/guarded_clock.h"
#include "store_test_util.h"

namespace cairn::server {
namespace {

using namespace std::chrono_literals;
using testing::QueryTokens;
using testing::Signal;
using testing::StoreFixture;
using testing::SubmitOne;

// The system and steady clocks the guarded clock reads, and the store on it.
struct SteppedStore {
  std::chrono::system_clock::time_point system{
      sys_seconds{std::chrono::seconds{testing::kStart}}};
  std::chrono::steady_clock::time_point steady{std::chrono::hours(5)};
  std::shared_ptr<GuardedClock> clock;
  StoreFixture f;
  // The clock's error lines are expected here; keep them out of the output.
  std::shared_ptr<spdlog::logger> previous = spdlog::default_logger();

  SteppedStore() {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>(
        "quiet", std::make_shared<spdlog::sinks::null_sink_mt>()));
    GuardedClockOptions o;
    o.system_now = [this] { return system; };
    o.steady_now = [this] { return steady; };
    o.deletion_hold = 1h;
    clock = std::make_shared<GuardedClock>(std::move(o));
    f.customise = [this](SqliteStoreOptions& options) {
      options.clock = HubClock(clock);
      options.deletion_clock = HubDeletionClock(clock);
    };
    f.Reopen();
  }
  ~SteppedStore() { spdlog::set_default_logger(previous); }
  SteppedStore(const SteppedStore&) = delete;
  SteppedStore& operator=(const SteppedStore&) = delete;

  void Pass(std::chrono::seconds d) {
    system += d;
    steady += d;
  }
  void Step(std::chrono::seconds d) { system += d; }
  sys_seconds Now() { return clock->NowSeconds(); }
  Store& store() { return f.store(); }
};

bool FeedHasExpiry(Store& s) {
  auto feed = s.Feed("beta", 0, 100);
  REQUIRE(feed.has_value());
  for (const auto& e : feed->events) {
    if (e.type == FeedEventType::kExpired) return true;
  }
  return false;
}

TEST_CASE(
    "a signal that a forward step of the clock makes due is not expired "
    "while the hub holds deletions") {
  SteppedStore h;
  Store& s = h.store();
  auto item = Signal(3);
  item.expires_at = h.Now() + 2h;
  auto created = SubmitOne(s, "alpha", item);
  REQUIRE(created.has_value());
  REQUIRE(created->results.at(0).status == SubmitStatus::kCreated);

  h.Pass(10s);
  h.Step(24h);  // a wrong `date -s`
  auto swept = s.ExpireDueAndWait();
  REQUIRE(swept.has_value());
  CHECK(swept->held);
  CHECK(swept->expired == 0);
  CHECK(s.Stats().index_signals == 1);
  CHECK_FALSE(FeedHasExpiry(s));
  PurgeCommand purge;
  purge.context.actor = "hub";
  auto purged = s.PurgeAndWait(purge);
  REQUIRE(purged.has_value());
  CHECK(purged->held);

  // Corrected within the hold: once the hold ends, the sweep goes by the
  // system clock's time, by which the signal has not expired yet...
  h.Pass(10min);
  h.Step(-24h);
  h.Pass(50min);
  swept = s.ExpireDueAndWait();
  REQUIRE(swept.has_value());
  CHECK_FALSE(swept->held);
  CHECK(swept->expired == 0);
  CHECK(s.Stats().index_signals == 1);
  CHECK_FALSE(FeedHasExpiry(s));
  // ...and expires it when that time comes.
  h.Pass(1h);
  swept = s.ExpireDueAndWait();
  REQUIRE(swept.has_value());
  CHECK(swept->expired == 1);
  CHECK(FeedHasExpiry(s));
}

TEST_CASE(
    "after a backward step of the clock an expired signal does not match "
    "again and a fresh banned_at is accepted") {
  SteppedStore h;
  Store& s = h.store();
  auto item = Signal(4);
  item.expires_at = h.Now() + 100s;
  REQUIRE(SubmitOne(s, "alpha", item)->results.at(0).status ==
          SubmitStatus::kCreated);
  h.Pass(200s);
  REQUIRE(QueryTokens(s, "beta", {4})->matches.empty());

  h.Step(-1h);  // the system clock goes back; the expiry sweep has not run
  CHECK(QueryTokens(s, "beta", {4})->matches.empty());

  // A member bans an account now and says so: the time is right, and must
  // not be refused as lying in the future (the system clock is an hour
  // behind, beyond max_clock_skew).
  auto fresh = Signal(5);
  fresh.banned_at = sys_seconds{std::chrono::seconds{testing::kStart}} + 200s;
  auto r = SubmitOne(s, "gamma", fresh);
  REQUIRE(r.has_value());
  CHECK(r->results.at(0).status == SubmitStatus::kCreated);
  CHECK(QueryTokens(s, "beta", {5})->matches.size() == 1);
}

}  // namespace
}  // namespace cairn::server
