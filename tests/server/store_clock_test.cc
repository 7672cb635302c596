// The store on cairnd's guarded clock (guarded_clock.h): a step of the
// system clock neither expires a signal irreversibly nor lets an expired
// one match again, nor refuses a member's correct banned_at.
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include "server/src/store/audit_chain.h"
#include "server/src/store/guarded_clock.h"
#include "server/src/store/key_use.h"
#include "store_test_util.h"

namespace cairn::server {
namespace {

using namespace std::chrono_literals;
using testing::QueryInt64;
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
    RecordClockSteps(*clock, f.store());
  }
  ~SteppedStore() {
    clock->SetStepRecorder(nullptr);
    spdlog::set_default_logger(previous);
  }

  // Stops the store and starts it again as cairnd does (cairnd.cc): a new
  // clock, started from what the database recorded. The boot clock starts
  // again too (a reboot); the system clock goes on.
  void Restart() {
    REQUIRE(f.store().Close().has_value());
    clock->SetStepRecorder(nullptr);
    f.store_ptr().reset();
    steady = std::chrono::steady_clock::time_point(std::chrono::minutes(1));
    GuardedClockOptions o;
    o.system_now = [this] { return system; };
    o.steady_now = [this] { return steady; };
    o.deletion_hold = 1h;
    clock = std::make_shared<GuardedClock>(std::move(o));
    auto use = ReadKeyUse(f.Options().db_path, /*voprf_signals=*/false);
    REQUIRE(use.has_value());
    StartHubClock(*clock, *use);
    f.Reopen();
    RecordClockSteps(*clock, f.store());
  }
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

// A member's resend of a signal that lapsed by the hub's time only: the
// hub's time is the later of the two (a forward step it is holding
// deletions after, or a backward step it runs ahead of). The resend renews
// the signal in place instead of expiring it: the expiry sweep would not
// expire it yet, and neither may a submit.
void ResendRenewsInPlace(SteppedStore& h, const std::string& original_id) {
  Store& s = h.store();
  auto resent = SubmitOne(s, "alpha", Signal(3));
  REQUIRE(resent.has_value());
  const auto& r = resent->results.at(0);
  CHECK(r.status == SubmitStatus::kUpdated);
  CHECK(r.signal_id == original_id);
  CHECK_FALSE(FeedHasExpiry(s));
  CHECK(s.Stats().index_signals == 1);
  // In force by the hub's time: the expiry a new signal would get.
  auto matched = QueryTokens(s, "beta", {3});
  REQUIRE(matched.has_value());
  CHECK(matched->matches.size() == 1);
}

TEST_CASE(
    "a resend of a signal that a forward step of the clock made lapse renews "
    "it instead of expiring it while the hub holds deletions") {
  SteppedStore h;
  Store& s = h.store();
  auto item = Signal(3);
  item.expires_at = h.Now() + 2h;
  auto created = SubmitOne(s, "alpha", item);
  REQUIRE(created.has_value());
  REQUIRE(created->results.at(0).status == SubmitStatus::kCreated);
  const std::string id = created->results.at(0).signal_id;

  h.Pass(10s);
  h.Step(24h);  // a wrong `date -s`
  REQUIRE(QueryTokens(s, "beta", {3})->matches.empty());
  ResendRenewsInPlace(h, id);

  // The step is undone within the hold: nothing expired, the signal is the
  // one the member sent first.
  h.Pass(10min);
  h.Step(-24h);
  h.Pass(50min);
  auto swept = s.ExpireDueAndWait();
  REQUIRE(swept.has_value());
  CHECK_FALSE(swept->held);
  CHECK(swept->expired == 0);
  CHECK_FALSE(FeedHasExpiry(s));
  CHECK(s.Stats().index_signals == 1);
}

TEST_CASE(
    "a resend of a signal that lapsed by the hub's time after a backward "
    "step, but not by the system clock's, renews it in place") {
  SteppedStore h;
  Store& s = h.store();
  auto item = Signal(3);
  item.expires_at = h.Now() + 1h;
  auto created = SubmitOne(s, "alpha", item);
  REQUIRE(created.has_value());
  const std::string id = created->results.at(0).signal_id;
  h.Pass(90min);  // lapsed; the sweep has not run
  h.Step(-2h);    // the system clock is now before expires_at
  ResendRenewsInPlace(h, id);
}

TEST_CASE(
    "once the hold after a forward step is over, a resend of a lapsed signal "
    "expires it and records a new signal") {
  SteppedStore h;
  Store& s = h.store();
  auto item = Signal(3);
  item.expires_at = h.Now() + 2h;
  auto created = SubmitOne(s, "alpha", item);
  REQUIRE(created.has_value());
  const std::string id = created->results.at(0).signal_id;
  h.Pass(10s);
  h.Step(24h);
  h.Now();        // the hub sees the step: the hold starts
  h.Pass(61min);  // the step stands
  auto resent = SubmitOne(s, "alpha", Signal(3));
  REQUIRE(resent.has_value());
  CHECK(resent->results.at(0).status == SubmitStatus::kCreated);
  CHECK(resent->results.at(0).signal_id != id);
  CHECK(FeedHasExpiry(s));
  CHECK(QueryTokens(s, "beta", {3})->matches.size() == 1);
}

TEST_CASE(
    "audit entries are never dated before earlier ones when the system "
    "clock steps back") {
  SteppedStore h;
  Store& s = h.store();
  auto submit = [&s](int token) {
    auto r = SubmitOne(s, "alpha", Signal(token));
    REQUIRE(r.has_value());
    REQUIRE(r->results.at(0).status == SubmitStatus::kCreated);
  };
  submit(6);
  h.Pass(30s);
  submit(7);
  h.Step(-1h);
  h.Pass(5s);
  submit(8);
  h.Step(-10min);  // again, while the hub still runs ahead
  submit(9);
  const auto db = h.f.Options().db_path;
  CHECK(QueryInt64(db,
                   "SELECT count(*) FROM audit_log WHERE action ="
                   " 'submit'") == 4);
  CHECK(QueryInt64(db,
                   "SELECT count(*) FROM audit_log a JOIN audit_log b"
                   " ON b.seq = a.seq + 1 WHERE b.at < a.at") == 0);
  CHECK(QueryInt64(db, "SELECT max(at) FROM audit_log") ==
        testing::kStart + 35);
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

ExpireOutcome Sweep(Store& s) {
  auto swept = s.ExpireDueAndWait();
  REQUIRE(swept.has_value());
  return *swept;
}

bool PurgeHeld(Store& s) {
  PurgeCommand purge;
  purge.context.actor = "hub";
  auto purged = s.PurgeAndWait(purge);
  REQUIRE(purged.has_value());
  return purged->held;
}

TEST_CASE(
    "a restart within the hold after a forward step keeps deletions held "
    "until its end, from the step's hub.clock_step audit entry") {
  SteppedStore h;
  auto item = Signal(3);
  item.expires_at = h.Now() + 2h;
  REQUIRE(SubmitOne(h.store(), "alpha", item)->results.at(0).status ==
          SubmitStatus::kCreated);
  h.Pass(10s);
  h.Step(24h);  // a wrong `date -s`
  REQUIRE(Sweep(h.store()).held);
  h.Pass(10min);
  // The entries written since carry the stepped time: the restarted hub
  // sees no step, only the entry that recorded it.
  h.Restart();
  const auto db = h.f.Options().db_path;
  CHECK(QueryInt64(db,
                   "SELECT count(*) FROM audit_log WHERE action ="
                   " 'hub.clock_step' AND actor = 'hub' AND details LIKE"
                   " '{\"direction\":\"forward\",\"step_seconds\":86400,%'"
                   " AND details LIKE '%\"hold_until\":\"2026-%'") == 1);
  CHECK(h.clock->Steps().deletions_held);
  CHECK(h.clock->Steps().Unresolved());
  auto swept = Sweep(h.store());
  CHECK(swept.held);
  CHECK(swept.expired == 0);
  CHECK(PurgeHeld(h.store()));
  CHECK(h.store().Stats().index_signals == 1);
  CHECK_FALSE(FeedHasExpiry(h.store()));

  SECTION("until the hour after the step, not an hour after the restart") {
    h.Pass(50min - 1s);
    CHECK(Sweep(h.store()).held);
    h.Pass(1s);
    swept = Sweep(h.store());
    CHECK_FALSE(swept.held);
    CHECK(swept.expired == 1);
    CHECK(FeedHasExpiry(h.store()));
  }

  SECTION("across a further restart") {
    h.Pass(20min);
    h.Restart();
    CHECK(Sweep(h.store()).held);
    h.Pass(30min);
    CHECK(Sweep(h.store()).expired == 1);
  }
}

TEST_CASE(
    "a start with the system clock more than the hold ahead of the newest "
    "record holds deletions for the hold, across a further restart") {
  SteppedStore h;
  auto item = Signal(3);
  item.expires_at = h.Now() + 2h;
  REQUIRE(SubmitOne(h.store(), "alpha", item)->results.at(0).status ==
          SubmitStatus::kCreated);
  h.Pass(10s);
  h.Restart();  // a plain restart holds nothing
  CHECK_FALSE(h.clock->Steps().Unresolved());
  CHECK(QueryInt64(h.f.Options().db_path,
                   "SELECT count(*) FROM audit_log WHERE action ="
                   " 'hub.clock_step'") == 0);

  h.Step(24h);  // while cairnd is stopped: a wrong step, or a long stop
  h.Restart();
  CHECK(h.clock->Steps().deletions_held);
  CHECK(h.clock->Steps().forward == 0);
  auto swept = Sweep(h.store());
  CHECK(swept.held);
  CHECK(swept.expired == 0);
  CHECK(PurgeHeld(h.store()));
  CHECK(QueryInt64(h.f.Options().db_path,
                   "SELECT count(*) FROM audit_log WHERE action ="
                   " 'hub.clock_step' AND details LIKE"
                   " '{\"direction\":\"ahead_at_start\",%'") == 1);
  // A member's submission dates an entry by the new time: a restart then
  // sees no gap, only the recorded hold.
  REQUIRE(SubmitOne(h.store(), "alpha", Signal(4)).has_value());
  h.Pass(30min);
  h.Restart();
  CHECK(Sweep(h.store()).held);
  h.Pass(30min);
  swept = Sweep(h.store());
  CHECK_FALSE(swept.held);
  CHECK(swept.expired == 1);
}

}  // namespace
}  // namespace cairn::server
