// Per-member token buckets: one for requests, one for items (tokens queried
// or signals submitted), so that neither many small requests nor a few huge
// batches can monopolise the hub.
#ifndef CAIRN_SERVER_API_RATE_LIMITER_H_
#define CAIRN_SERVER_API_RATE_LIMITER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

namespace cairn::server {

struct RateLimitOptions {
  // Sustained requests per second per member. 0 disables the limit.
  // Default: 200.
  double requests_per_second = 200;
  // Sustained batch items per second per member. 0 disables the limit.
  // Default: 200,000.
  double items_per_second = 200000;
  // How many seconds of sustained rate a member may spend at once.
  // Default: 2.
  double burst_seconds = 2;
};

// Monotonic clock seam so tests control time.
using SteadyNow = std::function<std::chrono::steady_clock::time_point()>;

class RateLimiter {
 public:
  explicit RateLimiter(RateLimitOptions options, SteadyNow now = {});

  // Admits one request carrying `items` items for `member_id`. Returns 0 if
  // admitted (and charges the buckets); otherwise the whole number of
  // seconds (>= 1) after which the same request would be admitted, for a
  // Retry-After header, and charges nothing.
  // A batch larger than a full bucket is admitted when the bucket is full,
  // so that the maximum batch size always gets through eventually.
  // With count_request = false only the items are charged and checked: the
  // batch endpoints charge the request before decoding (so that malformed
  // bodies cost too) and the items once they are known.
  // Thread-safe.
  std::int64_t Admit(const std::string& member_id, std::uint64_t items,
                     bool count_request = true);

 private:
  struct Bucket {
    double requests;
    double items;
    std::chrono::steady_clock::time_point last;
  };

  RateLimitOptions options_;
  SteadyNow now_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace cairn::server

#endif  // CAIRN_SERVER_API_RATE_LIMITER_H_
