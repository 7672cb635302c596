// AccessLogLimiter: the per-caller cap on 4xx access-log lines and its
// summaries, driven by an injected monotonic clock (no sleeps).
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "server/src/api/access_log_limiter.h"

namespace cairn::server {
namespace {

using std::chrono::seconds;

struct FakeSteady {
  std::atomic<std::chrono::steady_clock::time_point> now{
      std::chrono::steady_clock::time_point(std::chrono::hours(5))};
  SteadyNow AsNow() {
    return [this] { return now.load(); };
  }
  void Advance(std::chrono::steady_clock::duration d) {
    now.store(now.load() + d);
  }
};

struct Summaries {
  std::mutex mutex;
  std::vector<std::string> lines;
  std::function<void(const std::string&)> Sink() {
    return [this](const std::string& line) {
      std::lock_guard lock(mutex);
      lines.push_back(line);
    };
  }
  std::vector<std::string> Take() {
    std::lock_guard lock(mutex);
    return std::exchange(lines, {});
  }
};

AccessLogLimits Limits(std::size_t lines, seconds window) {
  AccessLogLimits limits;
  limits.lines_per_window = lines;
  limits.window = window;
  return limits;
}

TEST_CASE("AccessLogLimiter limits only 4xx answers, and only with a cap",
          "[access_log]") {
  FakeSteady clock;
  AccessLogLimiter limiter(Limits(20, seconds(10)), clock.AsNow());
  for (const int status : {200, 201, 304, 500, 503, 399, 500}) {
    CAPTURE(status);
    CHECK_FALSE(limiter.Limits(status));
  }
  for (const int status : {400, 403, 404, 429, 431, 499}) {
    CAPTURE(status);
    CHECK(limiter.Limits(status));
  }
  AccessLogLimiter uncapped(Limits(0, seconds(10)), clock.AsNow());
  CHECK_FALSE(uncapped.Limits(400));
}

TEST_CASE(
    "AccessLogLimiter limits a 5xx the caller brought on itself, and its "
    "summary names it apart from the 4xx",
    "[access_log]") {
  FakeSteady clock;
  Summaries summaries;
  AccessLogLimiter limiter(Limits(2, seconds(10)), clock.AsNow(),
                           summaries.Sink());
  CHECK(limiter.Limits(503, /*caller_caused=*/true));
  CHECK_FALSE(limiter.Limits(503, /*caller_caused=*/false));
  CHECK_FALSE(limiter.Limits(200, /*caller_caused=*/true));
  AccessLogLimiter uncapped(Limits(0, seconds(10)), clock.AsNow());
  CHECK_FALSE(uncapped.Limits(503, /*caller_caused=*/true));

  // The connection-limit 503s and the 4xx of one caller share its cap.
  std::vector<bool> logged;
  for (const int status : {503, 400, 503, 503, 429}) {
    logged.push_back(limiter.ShouldLog("member=alpha", status));
  }
  CHECK(logged == std::vector<bool>{true, true, false, false, false});
  for (int i = 0; i < 4; ++i) limiter.ShouldLog("member=beta", 503);
  limiter.Flush(/*everything=*/true);
  auto lines = summaries.Take();
  std::sort(lines.begin(), lines.end());
  CHECK(lines ==
        std::vector<std::string>{
            "member=alpha: 3 more 4xx and 503 responses not logged (429: 1, "
            "503: 2); only the first 2 of a caller in each 10 s are",
            "member=beta: 2 more 503 responses not logged (503: 2); only the "
            "first 2 of a caller in each 10 s are"});
}

TEST_CASE(
    "AccessLogLimiter logs the first lines of a caller's window and sums up "
    "the rest once the window ends",
    "[access_log]") {
  FakeSteady clock;
  Summaries summaries;
  AccessLogLimiter limiter(Limits(3, seconds(10)), clock.AsNow(),
                           summaries.Sink());
  std::vector<bool> logged;
  for (const int status : {400, 400, 429, 429, 400, 429, 429, 404}) {
    logged.push_back(limiter.ShouldLog("member=alpha", status));
  }
  CHECK(logged ==
        std::vector<bool>{true, true, true, false, false, false, false, false});
  // Another caller has a window of its own.
  CHECK(limiter.ShouldLog("member=beta", 400));
  CHECK(limiter.Tracked() == 2);

  // Nothing is summed up before the window ends.
  clock.Advance(seconds(9));
  limiter.Flush();
  CHECK(summaries.Take().empty());

  clock.Advance(seconds(1));
  limiter.Flush();
  CHECK(summaries.Take() ==
        std::vector<std::string>{
            "member=alpha: 5 more 4xx responses not logged (400: 1, 404: 1, "
            "429: 3); only the first 3 of a caller in each 10 s are"});
  // Both windows ended and are forgotten; beta had nothing held back.
  CHECK(limiter.Tracked() == 0);
  CHECK(limiter.ShouldLog("member=alpha", 400));
}

TEST_CASE(
    "AccessLogLimiter writes the previous window's summary at the caller's "
    "next 4xx answer",
    "[access_log]") {
  FakeSteady clock;
  Summaries summaries;
  AccessLogLimiter limiter(Limits(1, seconds(10)), clock.AsNow(),
                           summaries.Sink());
  CHECK(limiter.ShouldLog("member=alpha", 400));
  CHECK_FALSE(limiter.ShouldLog("member=alpha", 400));
  CHECK_FALSE(limiter.ShouldLog("member=alpha", 400));
  clock.Advance(seconds(11));
  CHECK(limiter.ShouldLog("member=alpha", 429));
  CHECK(summaries.Take() ==
        std::vector<std::string>{
            "member=alpha: 2 more 4xx responses not logged (400: 2); only "
            "the first 1 of a caller in each 10 s are"});
  CHECK_FALSE(limiter.ShouldLog("member=alpha", 429));
  // Flush(everything) sums up windows that are still open.
  limiter.Flush(/*everything=*/true);
  CHECK(summaries.Take() ==
        std::vector<std::string>{
            "member=alpha: 1 more 4xx responses not logged (429: 1); only "
            "the first 1 of a caller in each 10 s are"});
  CHECK(limiter.Tracked() == 0);
}

TEST_CASE("AccessLogLimiter writes pending summaries when destroyed",
          "[access_log]") {
  FakeSteady clock;
  Summaries summaries;
  {
    AccessLogLimiter limiter(Limits(1, seconds(10)), clock.AsNow(),
                             summaries.Sink());
    CHECK(limiter.ShouldLog("member=alpha", 400));
    CHECK_FALSE(limiter.ShouldLog("member=alpha", 400));
  }
  CHECK(summaries.Take().size() == 1);
}

TEST_CASE(
    "AccessLogLimiter counts every answer of concurrent callers exactly once",
    "[access_log]") {
  FakeSteady clock;
  Summaries summaries;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 5000;
  std::atomic<int> logged{0};
  {
    AccessLogLimiter limiter(Limits(7, seconds(10)), clock.AsNow(),
                             summaries.Sink());
    std::vector<std::thread> threads;
    threads.reserve(kThreads);
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        // Two threads share each caller.
        const std::string caller = "member=m" + std::to_string(t % 2);
        for (int i = 0; i < kPerThread; ++i) {
          if (limiter.ShouldLog(caller, 400 + i % 2 * 29)) ++logged;
        }
      });
    }
    for (auto& thread : threads) thread.join();
  }
  CHECK(logged == 2 * 7);
  std::uint64_t held_back = 0;
  for (const std::string& line : summaries.Take()) {
    held_back += std::stoull(line.substr(line.find(": ") + 2));
  }
  CHECK(held_back + logged == kThreads * kPerThread);
}

TEST_CASE(
    "AccessLogLimiter's own thread writes a summary once the window has "
    "ended",
    "[access_log]") {
  FakeSteady clock;
  Summaries summaries;
  AccessLogLimits limits = Limits(1, seconds(10));
  limits.flush_every = std::chrono::milliseconds(1);
  AccessLogLimiter limiter(limits, clock.AsNow(), summaries.Sink());
  CHECK(limiter.ShouldLog("member=alpha", 400));
  CHECK_FALSE(limiter.ShouldLog("member=alpha", 400));
  clock.Advance(seconds(10));
  // Bounded wait for the thread (not a timing assertion).
  std::vector<std::string> lines;
  for (int i = 0; i < 10000 && lines.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    lines = summaries.Take();
  }
  CHECK(lines.size() == 1);
  CHECK(limiter.Tracked() == 0);
}

}  // namespace
}  // namespace cairn::server
