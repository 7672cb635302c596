#include "server/src/api/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace cairn::server {

RateLimiter::RateLimiter(RateLimitOptions options, SteadyNow now)
    : options_(options), now_(std::move(now)) {
  if (!now_) now_ = [] { return std::chrono::steady_clock::now(); };
}

std::int64_t RateLimiter::Admit(const std::string& member_id,
                                std::uint64_t items, bool count_request) {
  const double request_cap =
      options_.requests_per_second * options_.burst_seconds;
  const double item_cap = options_.items_per_second * options_.burst_seconds;
  const auto now = now_();

  std::lock_guard lock(mu_);
  auto [it, inserted] =
      buckets_.try_emplace(member_id, Bucket{request_cap, item_cap, now});
  Bucket& b = it->second;
  const double elapsed = std::chrono::duration<double>(now - b.last).count();
  b.last = now;
  b.requests = std::min(request_cap,
                        b.requests + elapsed * options_.requests_per_second);
  b.items = std::min(item_cap, b.items + elapsed * options_.items_per_second);

  const bool limit_requests = count_request && options_.requests_per_second > 0;
  const bool limit_items = options_.items_per_second > 0;
  // An oversized batch needs a full bucket, not more than the bucket holds.
  const double items_needed = std::min(static_cast<double>(items), item_cap);

  double wait = 0;
  if (limit_requests && b.requests < 1) {
    wait = std::max(wait, (1 - b.requests) / options_.requests_per_second);
  }
  if (limit_items && b.items < items_needed) {
    wait = std::max(wait, (items_needed - b.items) / options_.items_per_second);
  }
  if (wait > 0) return std::max<std::int64_t>(1, std::llround(std::ceil(wait)));

  if (limit_requests) b.requests -= 1;
  if (limit_items) b.items -= static_cast<double>(items);
  return 0;
}

}  // namespace cairn::server
