// RateLimiter: per-member token buckets for requests and items, driven by an
// injected monotonic clock (no sleeps).
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>

#include "server/src/api/rate_limiter.h"

namespace cairn::server {
namespace {

using std::chrono::milliseconds;

struct FakeSteady {
  std::chrono::steady_clock::time_point now{std::chrono::hours(5)};
  SteadyNow AsNow() {
    return [this] { return now; };
  }
};

RateLimitOptions Limits(double rps, double ips, double burst) {
  RateLimitOptions o;
  o.requests_per_second = rps;
  o.items_per_second = ips;
  o.burst_seconds = burst;
  return o;
}

TEST_CASE("RateLimiter admits a full burst of requests, then refuses",
          "[rate_limiter]") {
  FakeSteady clock;
  RateLimiter limiter(Limits(2, 0, 2), clock.AsNow());  // 4 requests
  for (int i = 0; i < 4; ++i) {
    CAPTURE(i);
    REQUIRE(limiter.Admit("alpha", 1) == 0);
  }
  const auto retry = limiter.Admit("alpha", 1);
  CHECK(retry >= 1);
  // A refusal charges nothing: refusing again says the same.
  CHECK(limiter.Admit("alpha", 1) == retry);
}

TEST_CASE("RateLimiter refills at the sustained rate", "[rate_limiter]") {
  FakeSteady clock;
  RateLimiter limiter(Limits(2, 0, 1), clock.AsNow());  // 2 requests burst
  REQUIRE(limiter.Admit("alpha", 1) == 0);
  REQUIRE(limiter.Admit("alpha", 1) == 0);
  REQUIRE(limiter.Admit("alpha", 1) >= 1);
  clock.now += milliseconds(499);
  CHECK(limiter.Admit("alpha", 1) >= 1);  // 0.998 of a request refilled
  clock.now += milliseconds(2);
  CHECK(limiter.Admit("alpha", 1) == 0);
  CHECK(limiter.Admit("alpha", 1) >= 1);
  // A long pause refills only up to the burst.
  clock.now += std::chrono::hours(1);
  CHECK(limiter.Admit("alpha", 1) == 0);
  CHECK(limiter.Admit("alpha", 1) == 0);
  CHECK(limiter.Admit("alpha", 1) >= 1);
}

TEST_CASE("RateLimiter Retry-After is whole seconds, rounded up",
          "[rate_limiter]") {
  FakeSteady clock;
  // 0.25 requests/s, burst 4 s: one request, then a wait of 4 s.
  RateLimiter limiter(Limits(0.25, 0, 4), clock.AsNow());
  REQUIRE(limiter.Admit("alpha", 1) == 0);
  CHECK(limiter.Admit("alpha", 1) == 4);
  clock.now += milliseconds(2500);
  CHECK(limiter.Admit("alpha", 1) == 2);  // 1.5 s left, rounded up
  clock.now += milliseconds(1500);
  CHECK(limiter.Admit("alpha", 1) == 0);
}

TEST_CASE("RateLimiter keeps one bucket per member", "[rate_limiter]") {
  FakeSteady clock;
  RateLimiter limiter(Limits(1, 0, 1), clock.AsNow());
  REQUIRE(limiter.Admit("alpha", 1) == 0);
  CHECK(limiter.Admit("alpha", 1) >= 1);
  CHECK(limiter.Admit("beta", 1) == 0);
  CHECK(limiter.Admit("beta", 1) >= 1);
}

TEST_CASE("RateLimiter limits items independently of requests",
          "[rate_limiter]") {
  FakeSteady clock;
  RateLimiter limiter(Limits(0, 100, 1), clock.AsNow());  // 100 items
  CHECK(limiter.Admit("alpha", 60) == 0);
  CHECK(limiter.Admit("alpha", 41) == 1);  // 40 left, 1 missing: 0.01 s
  CHECK(limiter.Admit("alpha", 40) == 0);
  CHECK(limiter.Admit("alpha", 1) >= 1);
  clock.now += milliseconds(500);
  CHECK(limiter.Admit("alpha", 50) == 0);
  CHECK(limiter.Admit("alpha", 1) >= 1);
}

TEST_CASE("RateLimiter charges only items when the request was charged",
          "[rate_limiter]") {
  FakeSteady clock;
  RateLimiter limiter(Limits(2, 100, 1), clock.AsNow());  // 2 requests
  CHECK(limiter.Admit("alpha", 0) == 0);  // a batch request, before decoding
  CHECK(limiter.Admit("alpha", 60, /*count_request=*/false) == 0);
  CHECK(limiter.Admit("alpha", 0) == 0);
  // Both requests are spent, yet the items of the second still fit.
  CHECK(limiter.Admit("alpha", 40, /*count_request=*/false) == 0);
  CHECK(limiter.Admit("alpha", 1, /*count_request=*/false) >= 1);
  CHECK(limiter.Admit("alpha", 0) >= 1);
}

TEST_CASE("RateLimiter admits a batch larger than the bucket when full",
          "[rate_limiter]") {
  FakeSteady clock;
  RateLimiter limiter(Limits(0, 100, 1), clock.AsNow());  // 100 items
  CHECK(limiter.Admit("alpha", 10000) == 0);  // full bucket: admitted
  // Now deep in debt: the next item waits until the debt is paid off.
  const auto retry = limiter.Admit("alpha", 1);
  CHECK(retry >= 99);
  clock.now += std::chrono::seconds(retry);
  CHECK(limiter.Admit("alpha", 1) == 0);
  // An oversized batch needs a full bucket, not more than it holds.
  CHECK(limiter.Admit("alpha", 500) >= 1);  // bucket not full yet
  clock.now += std::chrono::seconds(1);
  CHECK(limiter.Admit("alpha", 500) == 0);
}

TEST_CASE("RateLimiter with both limits at zero admits everything",
          "[rate_limiter]") {
  FakeSteady clock;
  RateLimiter limiter(Limits(0, 0, 2), clock.AsNow());
  for (int i = 0; i < 1000; ++i) {
    REQUIRE(limiter.Admit("alpha", 1000000) == 0);
  }
}

TEST_CASE("RateLimiter refuses when either limit is exhausted",
          "[rate_limiter]") {
  FakeSteady clock;
  RateLimiter limiter(Limits(10, 10, 1), clock.AsNow());
  CHECK(limiter.Admit("alpha", 10) == 0);  // items exhausted
  CHECK(limiter.Admit("alpha", 1) >= 1);
  CHECK(limiter.Admit("alpha", 0) == 0);  // a request without items passes
  for (int i = 0; i < 8; ++i) REQUIRE(limiter.Admit("alpha", 0) == 0);
  CHECK(limiter.Admit("alpha", 0) >= 1);  // requests exhausted too
}

TEST_CASE("RateLimiter uses the real steady clock by default",
          "[rate_limiter]") {
  // A refill of one request takes 1000 s: no scheduling hiccup matters.
  RateLimiter limiter(Limits(0.001, 0, 1000));
  CHECK(limiter.Admit("alpha", 1) == 0);
  CHECK(limiter.Admit("alpha", 1) >= 1);
}

}  // namespace
}  // namespace cairn::server
