// The retry policy: what is retried, how often, and how long it waits.
#include <catch2/catch.hpp>

#include "src/retry.h"
#include "tests/client/recording_connection.h"

namespace cairn::client_internal {
namespace {

using namespace std::chrono_literals;
using testing::RecordingConnection;
using testing::Reply;

struct Harness {
  std::vector<std::chrono::milliseconds> sleeps;
  std::shared_ptr<RecordingConnection> inner;
  std::shared_ptr<Connection> connection;
  // The policy's clock: moved by the sleeps and by each attempt.
  std::chrono::steady_clock::time_point now{};

  // Answers with `script` in order, then 200; each attempt takes
  // `attempt_takes` of the policy's clock.
  explicit Harness(std::vector<Result<HttpReply>> script,
                   RetryPolicy policy = {},
                   std::chrono::milliseconds attempt_takes = 0ms) {
    auto remaining =
        std::make_shared<std::vector<Result<HttpReply>>>(std::move(script));
    inner = std::make_shared<RecordingConnection>(
        [this, remaining,
         attempt_takes](const HttpRequest&) -> Result<HttpReply> {
          now += attempt_takes;
          if (remaining->empty()) return Reply(200, "{}");
          auto next = remaining->front();
          remaining->erase(remaining->begin());
          return next;
        });
    connection = MakeRetryingConnection(
        inner, policy,
        [this](std::chrono::milliseconds d) {
          sleeps.push_back(d);
          now += d;
        },
        [] { return 1.0; }, [this] { return now; });
  }
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;
};

HttpRequest Post(bool idempotent) {
  return HttpRequest{"POST", "/v1/signals/retract", "{}", {}, idempotent};
}

TEST_CASE("BackoffDelay doubles up to max_backoff and applies jitter") {
  RetryPolicy policy{10, 100ms, 1000ms};
  CHECK(BackoffDelay(policy, 1, 1.0) == 100ms);
  CHECK(BackoffDelay(policy, 2, 1.0) == 200ms);
  CHECK(BackoffDelay(policy, 3, 1.0) == 400ms);
  CHECK(BackoffDelay(policy, 5, 1.0) == 1000ms);
  CHECK(BackoffDelay(policy, 30, 1.0) == 1000ms);
  CHECK(BackoffDelay(policy, 1, 0.0) == 50ms);
  CHECK(BackoffDelay(policy, 3, 0.5) == 300ms);
}

TEST_CASE("ParseRetryAfter reads delay-seconds only") {
  struct Case {
    const char* text;
    std::optional<std::chrono::seconds> want;
  } cases[] = {{"3", 3s},
               {" 10 ", 10s},
               {"0", 0s},
               {"", std::nullopt},
               {"-1", std::nullopt},
               {"1.5", std::nullopt},
               {"Wed, 21 Oct 2015 07:28:00 GMT", std::nullopt}};
  for (const auto& c : cases) {
    CAPTURE(c.text);
    CHECK(ParseRetryAfter(c.text) == c.want);
  }
}

TEST_CASE("503 and 502/504 are retried for idempotent requests") {
  Harness h({Reply(503, ""), Reply(502, ""), Reply(504, "")},
            RetryPolicy{4, 100ms, 5000ms});
  auto reply = h.connection->Send(Post(true));
  REQUIRE(reply);
  CHECK(reply->status == 200);
  CHECK(h.inner->requests().size() == 4);
  CHECK(h.sleeps ==
        std::vector<std::chrono::milliseconds>{100ms, 200ms, 400ms});
}

// The integration guide (section 7) advises 1 s, 2 s, 4 s for a 503; the
// default policy follows it, so that a hub that recovers within seconds is
// ridden out (the old default gave up after at most 0.7 s).
TEST_CASE("the default policy backs off about 1 s, 2 s, 4 s") {
  const RetryPolicy policy;
  CHECK(policy.max_attempts == 4);
  CHECK(BackoffDelay(policy, 1, 1.0) == 1000ms);
  CHECK(BackoffDelay(policy, 2, 1.0) == 2000ms);
  CHECK(BackoffDelay(policy, 3, 1.0) == 4000ms);
  CHECK(BackoffDelay(policy, 1, 0.0) == 500ms);
  CHECK(BackoffDelay(policy, 3, 0.0) == 2000ms);
  CHECK(BackoffDelay(policy, 4, 1.0) == 5000ms);  // capped by max_backoff

  Harness h({Reply(503, ""), Reply(503, ""), Reply(503, "")});
  auto reply = h.connection->Send(HttpRequest{"GET", "/v1/me", "", {}, true});
  REQUIRE(reply);
  CHECK(reply->status == 200);
  CHECK(h.sleeps ==
        std::vector<std::chrono::milliseconds>{1000ms, 2000ms, 4000ms});
}

TEST_CASE("429 honours Retry-After and is retried even when not idempotent") {
  Harness h({Reply(429, "", {{"Retry-After", "2"}})});
  auto reply = h.connection->Send(Post(false));
  REQUIRE(reply);
  CHECK(reply->status == 200);
  CHECK(h.inner->requests().size() == 2);
  CHECK(h.sleeps == std::vector<std::chrono::milliseconds>{2000ms});
}

TEST_CASE(
    "a 429 whose Retry-After is beyond max_retry_after comes back at once") {
  // A daily OPRF quota answers Retry-After until midnight UTC; the old
  // policy slept 60 s and asked again, three times.
  for (bool idempotent : {true, false}) {
    CAPTURE(idempotent);
    Harness h({Reply(429, "", {{"Retry-After", "120"}})});
    auto reply = h.connection->Send(Post(idempotent));
    REQUIRE(reply);
    CHECK(reply->status == 429);
    CHECK(reply->Header("Retry-After") == "120");
    CHECK(h.inner->requests().size() == 1);
    CHECK(h.sleeps.empty());
  }
}

TEST_CASE("a 429 is waited out up to max_retry_after, inclusive") {
  struct Case {
    std::chrono::seconds max_retry_after;
    const char* retry_after;
    std::size_t requests;
    std::vector<std::chrono::milliseconds> sleeps;
  } cases[] = {
      {30s, "30", 2, {30000ms}}, {30s, "31", 1, {}},
      {30s, "0", 2, {1000ms}},  // never less than the backoff
      {5s, "6", 1, {}},          {120s, "120", 2, {120000ms}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.max_retry_after.count(), c.retry_after);
    RetryPolicy policy;
    policy.max_retry_after = c.max_retry_after;
    CHECK(RetryAfterAccepted(policy, c.max_retry_after));
    CHECK_FALSE(RetryAfterAccepted(policy, c.max_retry_after + 1s));
    Harness h({Reply(429, "", {{"Retry-After", c.retry_after}})}, policy);
    auto reply = h.connection->Send(Post(false));
    REQUIRE(reply);
    CHECK(h.inner->requests().size() == c.requests);
    CHECK(h.sleeps == c.sleeps);
  }
}

TEST_CASE("non-idempotent requests are not resent once they may have arrived") {
  // A query whose answer was lost may have recorded matches: resending it
  // records them again under new match_ids the caller never sees.
  struct Case {
    const char* name;
    Result<HttpReply> first;
  } cases[] = {
      {"503", Reply(503, "")},
      {"502", Reply(502, "")},
      {"504", Reply(504, "")},
      {"read failed", MakeError(ErrorCode::kIo, "reading failed")},
      {"timed out", MakeError(ErrorCode::kIo, "the hub did not answer")},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    Harness h({c.first});
    auto reply = h.connection->Send(Post(false));
    CHECK(h.inner->requests().size() == 1);
    CHECK(h.sleeps.empty());
    CHECK(reply.has_value() == c.first.has_value());
  }
}

TEST_CASE("connect failures are retried for every request") {
  Harness h({MakeError(ErrorCode::kUnavailable, "connect refused")});
  auto reply = h.connection->Send(Post(false));
  REQUIRE(reply);
  CHECK(h.inner->requests().size() == 2);
}

TEST_CASE("the last reply is returned when attempts run out") {
  Harness h({Reply(503, "a"), Reply(503, "b"), Reply(503, "c")},
            RetryPolicy{3, 10ms, 100ms});
  auto reply = h.connection->Send(Post(true));
  REQUIRE(reply);
  CHECK(reply->status == 503);
  CHECK(reply->body == "c");
  CHECK(h.inner->requests().size() == 3);
}

TEST_CASE("a connection that already retries is not wrapped again") {
  Harness h({Reply(503, "a"), Reply(503, "b"), Reply(503, "c"), Reply(503, "d"),
             Reply(503, "e")},
            RetryPolicy{3, 10ms, 100ms});
  // As MakeClient(options, MakeHubConnection(options)) does.
  auto twice = MakeRetryingConnection(h.connection, RetryPolicy{3, 10ms, 100ms},
                                      [](std::chrono::milliseconds) {});
  CHECK(twice == h.connection);
  auto reply = twice->Send(Post(true));
  REQUIRE(reply);
  CHECK(reply->status == 503);
  CHECK(h.inner->requests().size() == 3);  // not 3 x 3
}

TEST_CASE(
    "no attempt starts once RetryPolicy::max_elapsed would pass, so a hub "
    "that does not answer holds a call about request_timeout, not four "
    "times it") {
  Error timeout;
  timeout.code = ErrorCode::kIo;
  timeout.message = "the hub did not answer within request_timeout";
  struct Case {
    std::chrono::milliseconds attempt_takes;
    std::size_t attempts;  // with the default policy (60 s, backoff 1-2-4 s)
  };
  for (const Case& c : {
           Case{60000ms, 1},  // the default request_timeout: not resent
           Case{20000ms, 3},  // 20 + 1 + 20 + 2 + 20 (+ 4 would pass 60)
           Case{10000ms, 4},  // all four fit: 10 + 1 + 10 + 2 + 10 + 4 + 10
       }) {
    CAPTURE(c.attempt_takes.count());
    Harness h({tl::unexpected(timeout), tl::unexpected(timeout),
               tl::unexpected(timeout), tl::unexpected(timeout)},
              RetryPolicy{}, c.attempt_takes);
    auto reply =
        h.connection->Send(HttpRequest{"GET", "/v1/feed", "", {}, true});
    REQUIRE_FALSE(reply);
    CHECK(reply.error().code == ErrorCode::kIo);
    CHECK(h.inner->requests().size() == c.attempts);
    if (c.attempts < 4) {
      CHECK_THAT(reply.error().message,
                 Catch::StartsWith(timeout.message) &&
                     Catch::Contains("not sent again: ") &&
                     Catch::Contains("RetryPolicy::max_elapsed (60 s)"));
    } else {
      CHECK(reply.error().message == timeout.message);
    }
  }
  // The first attempt always goes, whatever the bound.
  RetryPolicy none;
  none.max_elapsed = 0ms;
  Harness once({Reply(503, "")}, none);
  auto reply =
      once.connection->Send(HttpRequest{"GET", "/v1/me", "", {}, true});
  REQUIRE(reply);
  CHECK(reply->status == 503);
  CHECK(once.inner->requests().size() == 1);
}

TEST_CASE("client errors are not retried") {
  for (int status : {400, 401, 403, 404, 409, 413, 500}) {
    CAPTURE(status);
    Harness h({Reply(status, "")});
    auto reply = h.connection->Send(Post(true));
    REQUIRE(reply);
    CHECK(reply->status == status);
    CHECK(h.inner->requests().size() == 1);
  }
}

}  // namespace
}  // namespace cairn::client_internal
