// GuardedClock: steps of the system clock against the boot clock, with
// both clocks injected, so every step and every hold is exact (no sleeps);
// and one case on the real clocks, that they agree.
#include "server/src/store/guarded_clock.h"

#include <spdlog/spdlog.h>
#include <time.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "cairn/timestamp.h"
#include "support/log_capture.h"

namespace cairn::server {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

// 2026-11-23T14:00:00Z
const sys_seconds kStart{seconds{1795442400}};

using cairn::testing::LogCapture;

// The two clocks the guarded clock reads: Pass() moves both (time passing),
// Step() only the system clock (someone set it).
struct FakeTime {
  std::chrono::system_clock::time_point system{kStart};
  std::chrono::steady_clock::time_point steady{hours(5)};

  void Pass(std::chrono::nanoseconds d) {
    system +=
        std::chrono::duration_cast<std::chrono::system_clock::duration>(d);
    steady += d;
  }
  void Step(std::chrono::nanoseconds d) {
    system +=
        std::chrono::duration_cast<std::chrono::system_clock::duration>(d);
  }
  GuardedClockOptions Options() {
    GuardedClockOptions o;
    o.system_now = [this] { return system; };
    o.steady_now = [this] { return steady; };
    return o;
  }
  sys_seconds System() const { return std::chrono::floor<seconds>(system); }
};

std::int64_t BootTimeNs() {
  timespec ts{};
  REQUIRE(clock_gettime(CLOCK_BOOTTIME, &ts) == 0);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

TEST_CASE("the guarded clock's steady time is the boot clock") {
  // Read between two direct readings of CLOCK_BOOTTIME, so no timing is
  // involved: a reading in the wrong unit (too fast or too slow) or from
  // another clock (CLOCK_MONOTONIC, which stops during suspend) lies
  // outside them. The real-clock case below cannot see a slow clock: the
  // hub's time then stays at the system clock's.
  for (int i = 0; i < 3; ++i) {
    const std::int64_t before = BootTimeNs();
    const std::int64_t reading =
        std::chrono::duration_cast<std::chrono::nanoseconds>(
            BootClockNow().time_since_epoch())
            .count();
    const std::int64_t after = BootTimeNs();
    INFO("boot clock " << before << " .. " << after << " ns, reading "
                       << reading << " ns");
    CHECK(before <= reading);
    CHECK(reading <= after);
  }
}

TEST_CASE("the guarded clock's own clocks agree with the system clock") {
  // The defaults (the system clock and CLOCK_BOOTTIME). A boot clock that
  // runs fast makes the hub's time run ahead of the system clock over the
  // pauses below by far more than a second (a slow one is caught by the
  // case above).
  LogCapture log;
  GuardedClock clock;
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const auto system = std::chrono::system_clock::now();
    const auto hub = clock.Now();
    CHECK(hub >= system);
    CHECK(hub - system < std::chrono::seconds(1));
  }
  CHECK_FALSE(clock.Steps().Unresolved());
  CHECK(log.Lines().empty());
}

TEST_CASE("the guarded clock follows the system clock while nothing steps") {
  LogCapture log;
  FakeTime t;
  GuardedClock clock(t.Options());
  CHECK(clock.NowSeconds() == kStart);
  t.Pass(seconds(10));
  CHECK(clock.NowSeconds() == kStart + seconds(10));
  CHECK(clock.DeletionTime() == kStart + seconds(10));
  // Sub-threshold changes are no step (NTP's own small steps, a leap
  // second): nothing counted, nothing held, nothing logged.
  t.Step(seconds(30));
  CHECK(clock.NowSeconds() == kStart + seconds(40));
  t.Pass(seconds(1));
  CHECK(clock.DeletionTime() == kStart + seconds(41));
  const ClockSteps steps = clock.Steps();
  CHECK(steps.forward == 0);
  CHECK(steps.backward == 0);
  CHECK_FALSE(steps.Unresolved());
  CHECK(log.Lines().empty());
}

TEST_CASE(
    "after a backward step of the system clock the guarded clock keeps "
    "counting from where it was") {
  LogCapture log;
  FakeTime t;
  GuardedClock clock(t.Options());
  t.Pass(seconds(10));
  REQUIRE(clock.NowSeconds() == kStart + seconds(10));
  t.Step(-hours(1));
  CHECK(clock.NowSeconds() == kStart + seconds(10));
  t.Pass(seconds(5));
  CHECK(clock.NowSeconds() == kStart + seconds(15));
  CHECK(t.System() == kStart + seconds(15) - hours(1));

  ClockSteps steps = clock.Steps();
  CHECK(steps.backward == 1);
  CHECK(steps.forward == 0);
  CHECK(steps.ahead_of_system);
  CHECK_FALSE(steps.deletions_held);
  CHECK(steps.Unresolved());
  CHECK(log.Count("[error] the system clock stepped back by 3600 s",
                  "now 3600 s ahead of the system clock") == 1);
  CHECK(log.Count("[error]", "check this host's time synchronisation") == 1);
  // Deletions go by the earlier of the two times, so a backward step
  // undone later has not expired or purged anything early.
  CHECK(clock.DeletionTime() == t.System());

  SECTION("a second backward step is logged and counted too") {
    t.Step(-minutes(10));
    CHECK(clock.NowSeconds() == kStart + seconds(15));
    CHECK(clock.Steps().backward == 2);
    CHECK(log.Count("[error] the system clock stepped back again, by 600 s",
                    "4200 s ahead") == 1);
  }

  SECTION("the system clock catching up ends it, without a forward hold") {
    t.Pass(minutes(1));
    t.Step(hours(1));  // NTP corrects the system clock
    CHECK(clock.NowSeconds() == kStart + seconds(75));
    steps = clock.Steps();
    CHECK(steps.forward == 1);
    CHECK_FALSE(steps.ahead_of_system);
    CHECK_FALSE(steps.deletions_held);
    CHECK_FALSE(steps.Unresolved());
    CHECK(clock.DeletionTime() == kStart + seconds(75));
    CHECK(log.Count("[warning] the system clock has caught up with the hub's "
                    "time",
                    "follows the system clock again") == 1);
    CHECK(log.Count("[error]", "stepped forward") == 0);
    t.Pass(seconds(1));
    CHECK(clock.NowSeconds() == kStart + seconds(76));
  }
}

TEST_CASE(
    "a forward step of the system clock moves the guarded clock and holds "
    "deletions for the hold period") {
  LogCapture log;
  FakeTime t;
  GuardedClockOptions options = t.Options();
  options.deletion_hold = minutes(10);
  GuardedClock clock(std::move(options));
  t.Pass(seconds(10));
  REQUIRE(clock.DeletionTime() == kStart + seconds(10));
  t.Step(hours(24));
  CHECK(clock.NowSeconds() == kStart + seconds(10) + hours(24));
  CHECK(clock.DeletionTime() == std::nullopt);

  ClockSteps steps = clock.Steps();
  CHECK(steps.forward == 1);
  CHECK(steps.backward == 0);
  CHECK(steps.deletions_held);
  CHECK_FALSE(steps.ahead_of_system);
  CHECK(steps.Unresolved());
  CHECK(log.Count("[error] the system clock stepped forward by 86400 s",
                  "held for 10 min") == 1);
  CHECK(log.Count("[error]", "to 2026-11-24T14:00:10Z") == 1);

  SECTION("the hold ends once the clock has not stepped for its length") {
    t.Pass(minutes(10) - seconds(1));
    CHECK(clock.DeletionTime() == std::nullopt);
    t.Pass(seconds(1));
    CHECK(clock.DeletionTime() == t.System());
    CHECK_FALSE(clock.Steps().Unresolved());
    CHECK(log.Count("[warning] no forward step of the system clock for 10 "
                    "min",
                    "resume") == 1);
  }

  SECTION("a further forward step restarts the hold") {
    t.Pass(minutes(8));
    t.Step(hours(1));
    (void)clock.Now();  // a request reads the clock
    t.Pass(minutes(8));
    CHECK(clock.DeletionTime() == std::nullopt);
    CHECK(clock.Steps().forward == 2);
    t.Pass(minutes(2));
    CHECK(clock.DeletionTime() == t.System());
  }

  SECTION(
      "a step undone within the hold leaves deletions on the system clock's "
      "time once the hold ends") {
    t.Pass(minutes(5));
    t.Step(-hours(24));  // the wrong step is corrected
    // The hub's time does not go back: it stays a day ahead until the
    // system clock catches up, or cairnd is restarted with
    // --clock-from-system (a plain restart goes on from the newest
    // recorded time).
    CHECK(clock.NowSeconds() == kStart + seconds(10) + minutes(5) + hours(24));
    CHECK(clock.DeletionTime() == std::nullopt);
    steps = clock.Steps();
    CHECK(steps.backward == 1);
    CHECK(steps.ahead_of_system);
    t.Pass(minutes(5));
    CHECK(clock.DeletionTime() == kStart + seconds(10) + minutes(10));
    CHECK(clock.Steps().Unresolved());  // still ahead of the system clock
  }

  SECTION(
      "the same wrong step made again after it was undone restarts the "
      "hold") {
    // A flapping clock (a hypervisor's time sync fighting NTP): the hub's
    // time stays a day ahead after the undo, so the step made again moves
    // only the system clock, and with it the time deletions go by.
    t.Pass(minutes(2));
    t.Step(-hours(24));  // NTP undoes it
    (void)clock.Now();
    t.Pass(minutes(2));
    t.Step(hours(24));  // the wrong time again
    (void)clock.Now();
    CHECK(clock.Steps().forward == 2);
    t.Pass(minutes(7));  // 11 min after the first step, 7 after this one
    const auto at = clock.DeletionTime();
    INFO("deletion time " << (at ? FormatTimestamp(*at) : "held"));
    CHECK(at == std::nullopt);
    CHECK(clock.Steps().deletions_held);
    CHECK(log.Count("[error] the system clock stepped forward by 86400 s",
                    "towards the hub's time") == 1);
    CHECK(log.Count("[error]", "held for 10 min") == 2);
    t.Pass(minutes(3));
    CHECK(clock.DeletionTime() == t.System());
  }
}

TEST_CASE(
    "a system clock set back while cairnd was stopped is caught from the "
    "newest recorded time") {
  LogCapture log;
  FakeTime t;
  GuardedClock clock(t.Options());
  // The database's newest entry is an hour ahead of the system clock.
  clock.NotBefore(t.system + hours(1));
  CHECK(clock.NowSeconds() == kStart + hours(1));
  t.Pass(seconds(5));
  CHECK(clock.NowSeconds() == kStart + hours(1) + seconds(5));
  ClockSteps steps = clock.Steps();
  CHECK(steps.backward == 1);
  CHECK(steps.ahead_of_system);
  CHECK(log.Count("[error]",
                  "is 3600 s behind the newest time this hub's "
                  "database recorded") == 1);
  CHECK(log.Count("[error]", "--clock-from-system") == 1);
  // Deletions still go by the system clock's earlier time.
  CHECK(clock.DeletionTime() == t.System());

  SECTION("and ends when the system clock catches up, with a hold") {
    t.Step(hours(1));
    CHECK(clock.NowSeconds() == t.System());
    steps = clock.Steps();
    CHECK_FALSE(steps.ahead_of_system);
    CHECK(steps.forward == 1);
    CHECK(log.Count("[warning] the system clock has caught up") == 1);
    // The recorded time may be the one a wrong forward step gave the last
    // run (deletions then went by the system clock's earlier time), so
    // deletions, which have not gone by so late a time in this run, wait
    // in case the step is undone, as after any forward step.
    CHECK(steps.deletions_held);
    CHECK(clock.DeletionTime() == std::nullopt);
    CHECK(log.Count("[error] the system clock stepped forward by 3600 s",
                    "towards the hub's time") == 1);
    t.Pass(hours(1));
    CHECK(clock.DeletionTime() == t.System());
    CHECK_FALSE(clock.Steps().Unresolved());
  }
}

TEST_CASE(
    "a recorded time within the step threshold or in the past is followed "
    "without a report") {
  LogCapture log;
  FakeTime t;
  GuardedClock clock(t.Options());
  clock.NotBefore(t.system + seconds(10));
  CHECK(clock.NowSeconds() == kStart + seconds(10));
  clock.NotBefore(t.system - hours(24));
  CHECK(clock.NowSeconds() == kStart + seconds(10));
  CHECK(clock.Steps().backward == 0);
  CHECK_FALSE(clock.Steps().Unresolved());
  CHECK(log.Lines().empty());
}

TEST_CASE(
    "each step goes to the step recorder, those made before it was set "
    "too") {
  LogCapture log;
  FakeTime t;
  GuardedClockOptions options = t.Options();
  options.deletion_hold = minutes(10);
  GuardedClock clock(std::move(options));
  t.Pass(seconds(10));
  t.Step(hours(24));
  (void)clock.Now();
  std::vector<ClockStepRecord> records;
  clock.SetStepRecorder(
      [&records](const ClockStepRecord& r) { records.push_back(r); });
  REQUIRE(records.size() == 1);
  CHECK(records[0].direction == "forward");
  CHECK(records[0].step_seconds == 86400);
  CHECK(records[0].system_time == kStart + seconds(10) + hours(24));
  // By the system clock: a reboot keeps it, not the boot clock.
  CHECK(records[0].hold_until ==
        kStart + seconds(10) + hours(24) + minutes(10));
  CHECK(records[0].Details() ==
        "{\"direction\":\"forward\",\"step_seconds\":86400,"
        "\"system_time\":\"2026-11-24T14:00:10Z\",\"hold_until\":"
        "\"2026-11-24T14:10:10Z\"}");
  CHECK(RecordedHoldUntil(records[0].Details()) == records[0].hold_until);

  t.Pass(minutes(1));
  t.Step(-hours(2));
  (void)clock.Now();
  REQUIRE(records.size() == 2);
  CHECK(records[1].direction == "backward");
  CHECK(records[1].step_seconds == 7200);
  CHECK(records[1].hold_until == std::nullopt);
  CHECK(RecordedHoldUntil(records[1].Details()) == std::nullopt);
  // Read again without a step: nothing more.
  t.Pass(seconds(30));
  (void)clock.Now();
  (void)clock.DeletionTime();
  CHECK(records.size() == 2);
  clock.SetStepRecorder(nullptr);
  t.Step(hours(3));
  (void)clock.Now();
  CHECK(records.size() == 2);
}

TEST_CASE(
    "a system clock more than the hold ahead of the newest record at start "
    "holds deletions for the hold") {
  LogCapture log;
  FakeTime t;
  GuardedClockOptions options = t.Options();
  options.deletion_hold = minutes(60);
  GuardedClock clock(std::move(options));
  std::vector<ClockStepRecord> records;
  clock.SetStepRecorder(
      [&records](const ClockStepRecord& r) { records.push_back(r); });

  SECTION("within the hold: a restart, nothing held") {
    clock.NotBefore(t.system - minutes(60));
    clock.HoldIfFarAhead(t.System() - minutes(60));
    CHECK(clock.DeletionTime() == t.System());
    CHECK_FALSE(clock.Steps().Unresolved());
    CHECK(records.empty());
    CHECK(log.Lines().empty());
  }

  SECTION("beyond it: held for the hold from the start") {
    // Stopped for a day, or the clock stepped a day forward meanwhile.
    clock.NotBefore(t.system - hours(24));
    clock.HoldIfFarAhead(t.System() - hours(24));
    CHECK(clock.DeletionTime() == std::nullopt);
    ClockSteps steps = clock.Steps();
    CHECK(steps.deletions_held);
    CHECK(steps.Unresolved());
    // Not known to be a step: not counted as one.
    CHECK(steps.forward == 0);
    CHECK(log.Count("[error]",
                    "is 86400 s ahead of the newest time this hub's "
                    "database recorded") == 1);
    CHECK(log.Count("[error]", "until 2026-11-23T15:00:00Z") == 1);
    REQUIRE(records.size() == 1);
    CHECK(records[0].direction == "ahead_at_start");
    CHECK(records[0].step_seconds == 86400);
    CHECK(records[0].hold_until == kStart + hours(1));
    t.Pass(minutes(59));
    CHECK(clock.DeletionTime() == std::nullopt);
    t.Pass(minutes(1));
    CHECK(clock.DeletionTime() == t.System());
    CHECK_FALSE(clock.Steps().Unresolved());
  }
}

TEST_CASE(
    "a recorded hold is restored until its end by the system clock, for no "
    "longer than the hold") {
  LogCapture log;
  FakeTime t;
  GuardedClockOptions options = t.Options();
  options.deletion_hold = minutes(60);
  GuardedClock clock(std::move(options));

  SECTION("an end ahead: held until it") {
    clock.RestoreHold(t.System() + minutes(20));
    CHECK(clock.DeletionTime() == std::nullopt);
    CHECK(clock.Steps().Unresolved());
    CHECK(log.Count("[error]", "lasts until 2026-11-23T14:20:00Z") == 1);
    t.Pass(minutes(20) - seconds(1));
    CHECK(clock.DeletionTime() == std::nullopt);
    t.Pass(seconds(1));
    CHECK(clock.DeletionTime() == t.System());
  }

  SECTION("an end further ahead than the hold: held for the hold") {
    // The system clock was set back since the step was recorded.
    clock.RestoreHold(t.System() + hours(25));
    t.Pass(minutes(59));
    CHECK(clock.DeletionTime() == std::nullopt);
    t.Pass(minutes(1));
    CHECK(clock.DeletionTime() == t.System());
  }

  SECTION("an end passed: nothing held") {
    clock.RestoreHold(t.System() - seconds(1));
    CHECK(clock.DeletionTime() == t.System());
    CHECK_FALSE(clock.Steps().Unresolved());
    CHECK(log.Lines().empty());
  }

  SECTION("a forward step during a restored hold extends it") {
    clock.RestoreHold(t.System() + minutes(20));
    t.Pass(minutes(10));
    t.Step(hours(2));
    (void)clock.Now();
    t.Pass(minutes(59));
    CHECK(clock.DeletionTime() == std::nullopt);
    t.Pass(minutes(1));
    CHECK(clock.DeletionTime() == t.System());
  }
}

}  // namespace
}  // namespace cairn::server
