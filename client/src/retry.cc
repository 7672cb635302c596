#include "src/retry.h"

#include <algorithm>
#include <charconv>
#include <random>
#include <string>
#include <thread>

namespace cairn::client_internal {
namespace {

// "60 s", "620 ms": a duration in a message.
std::string Spoken(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0 || d >= std::chrono::seconds(10)) {
    return std::to_string(d.count() / 1000) + " s";
  }
  return std::to_string(d.count()) + " ms";
}

bool IsGatewayOrUnavailable(int status) {
  return status == 502 || status == 503 || status == 504;
}

class RetryingConnection final : public Connection {
 public:
  RetryingConnection(std::shared_ptr<Connection> inner, RetryPolicy policy,
                     SleepFunction sleep, JitterFunction jitter,
                     ClockFunction now)
      : inner_(std::move(inner)),
        policy_(policy),
        sleep_(std::move(sleep)),
        jitter_(std::move(jitter)),
        now_(std::move(now)) {}

  Result<HttpReply> Send(const HttpRequest& request) override {
    const int attempts = std::max(1, policy_.max_attempts);
    const auto start = now_();
    for (int attempt = 1;; ++attempt) {
      auto reply = inner_->Send(request);
      if (attempt >= attempts) return reply;
      std::chrono::milliseconds delay =
          BackoffDelay(policy_, attempt, jitter_());
      if (!reply) {
        // kUnavailable: the request certainly did not reach the hub
        // (resolve, connect, TLS handshake). kIo: it may have.
        const ErrorCode code = reply.error().code;
        if (code == ErrorCode::kIo && !request.idempotent) return reply;
        if (code != ErrorCode::kUnavailable && code != ErrorCode::kIo) {
          return reply;
        }
      } else if (reply->status == 429) {
        // Refused before any work, so retried for every request, but only
        // when the hub's wait is one this policy accepts: a longer one
        // (a daily quota waits until midnight) comes back at once, for the
        // caller to schedule, rather than sleeping and asking too early.
        if (auto after = ParseRetryAfter(reply->Header("Retry-After"))) {
          if (!RetryAfterAccepted(policy_, *after)) return reply;
          delay = std::max<std::chrono::milliseconds>(delay, *after);
        }
      } else if (IsGatewayOrUnavailable(reply->status)) {
        // Sent, and the hub (or a proxy before it) may have done some or
        // all of the work: only requests that may run twice go again.
        if (!request.idempotent) return reply;
      } else {
        return reply;
      }
      // Out of time: a hub that did not answer within request_timeout
      // would otherwise hold a call for max_attempts times that (four
      // minutes with the defaults, measured with `cairn feed`). A 429's
      // wait is max_retry_after's to bound.
      const auto elapsed =
          std::chrono::duration_cast<std::chrono::milliseconds>(now_() - start);
      const bool rate_limited = reply && reply->status == 429;
      if (!rate_limited && elapsed + delay >= policy_.max_elapsed) {
        if (reply) return reply;
        Error error = reply.error();
        error.message += "; not sent again: " + std::to_string(attempt) +
                         (attempt == 1 ? " attempt" : " attempts") + " took " +
                         Spoken(elapsed) +
                         ", and another would pass RetryPolicy::max_elapsed (" +
                         Spoken(policy_.max_elapsed) + ")";
        return tl::unexpected(std::move(error));
      }
      sleep_(delay);
    }
  }

 private:
  std::shared_ptr<Connection> inner_;
  RetryPolicy policy_;
  SleepFunction sleep_;
  JitterFunction jitter_;
  ClockFunction now_;
};

}  // namespace

std::chrono::milliseconds BackoffDelay(const RetryPolicy& policy, int retry,
                                       double jitter) {
  std::chrono::milliseconds d = policy.initial_backoff;
  for (int i = 1; i < retry && d < policy.max_backoff; ++i) d *= 2;
  d = std::min(d, policy.max_backoff);
  jitter = std::clamp(jitter, 0.0, 1.0);
  const auto half = d.count() / 2;
  return std::chrono::milliseconds(
      half + static_cast<std::int64_t>(jitter *
                                       static_cast<double>(d.count() - half)));
}

bool RetryAfterAccepted(const RetryPolicy& policy,
                        std::chrono::seconds retry_after) {
  return retry_after <= policy.max_retry_after;
}

std::optional<std::chrono::seconds> ParseRetryAfter(std::string_view value) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  std::int64_t seconds = 0;
  const auto [end, ec] =
      std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec != std::errc() || end != value.data() + value.size() || seconds < 0) {
    return std::nullopt;
  }
  return std::chrono::seconds(seconds);
}

std::shared_ptr<Connection> MakeRetryingConnection(
    std::shared_ptr<Connection> inner, RetryPolicy policy, SleepFunction sleep,
    JitterFunction jitter, ClockFunction now) {
  // A connection that already retries (MakeHubConnection's, handed to
  // MakeClient(options, connection)) is not wrapped again: the attempts
  // would multiply.
  if (dynamic_cast<const RetryingConnection*>(inner.get()) != nullptr) {
    return inner;
  }
  if (!sleep) {
    sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  }
  if (!jitter) {
    jitter = [] {
      thread_local std::mt19937_64 engine{std::random_device{}()};
      return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
    };
  }
  if (!now) now = [] { return std::chrono::steady_clock::now(); };
  return std::make_shared<RetryingConnection>(
      std::move(inner), policy, std::move(sleep), std::move(jitter),
      std::move(now));
}

}  // namespace cairn::client_internal
