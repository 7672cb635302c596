#include "src/retry.h"

#include <algorithm>
#include <charconv>
#include <random>
#include <thread>

namespace cairn::client_internal {
namespace {

constexpr std::chrono::seconds kMaxRetryAfter{60};

bool IsRetryableStatus(int status) {
  return status == 502 || status == 503 || status == 504 || status == 429;
}

class RetryingConnection final : public Connection {
 public:
  RetryingConnection(std::shared_ptr<Connection> inner, RetryPolicy policy,
                     SleepFunction sleep, JitterFunction jitter)
      : inner_(std::move(inner)),
        policy_(policy),
        sleep_(std::move(sleep)),
        jitter_(std::move(jitter)) {}

  Result<HttpReply> Send(const HttpRequest& request) override {
    const int attempts = std::max(1, policy_.max_attempts);
    for (int attempt = 1;; ++attempt) {
      auto reply = inner_->Send(request);
      if (attempt >= attempts) return reply;
      std::chrono::milliseconds delay =
          BackoffDelay(policy_, attempt, jitter_());
      if (!reply) {
        const bool not_sent = reply.error().code == ErrorCode::kUnavailable;
        if (!not_sent && !request.idempotent) return reply;
        if (!not_sent && reply.error().code != ErrorCode::kIo) return reply;
      } else {
        if (!IsRetryableStatus(reply->status)) return reply;
        // A 429 was refused before any work; anything else may have been
        // (partly) done, so only idempotent requests go again.
        if (reply->status != 429 && !request.idempotent) return reply;
        if (auto after = ParseRetryAfter(reply->Header("Retry-After"))) {
          delay = std::max<std::chrono::milliseconds>(
              delay, std::min(*after, kMaxRetryAfter));
        }
      }
      sleep_(delay);
    }
  }

 private:
  std::shared_ptr<Connection> inner_;
  RetryPolicy policy_;
  SleepFunction sleep_;
  JitterFunction jitter_;
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
    JitterFunction jitter) {
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
  return std::make_shared<RetryingConnection>(
      std::move(inner), policy, std::move(sleep), std::move(jitter));
}

}  // namespace cairn::client_internal
