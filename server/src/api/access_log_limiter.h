// Caps the access-log lines of one caller's 4xx answers (and of the 503s
// of a certificate over its connection limit).
//
// A member in a tight retry loop (a client that ignores Retry-After, or
// resends a request the hub refuses) would otherwise write a line per
// request: thousands a second. The first `lines_per_window` 4xx answers of
// a caller in each window are logged as usual; the rest are only counted,
// by status, and one summary line per window says how many were left out:
//
//   member=alpha: 280 more 4xx responses not logged (400: 80, 429: 200);
//   only the first 20 of a caller in each 10 s are
//
// 2xx and 5xx answers are never held back: the rate limits already bound
// a member's 2xx answers, and each 5xx is a failure of the hub whose
// request id the member is told to quote. The exception is a 5xx the
// caller brings on itself: the 503 of a certificate that already has its
// maximum of connections open. A client reconnecting in a loop would
// otherwise write a line per refused connection, and nothing else bounds
// it (the refusal comes before any rate limit). Those count against the
// caller's cap like its 4xx answers, and the summary then says "4xx and
// 503 responses".
//
// Cost: nothing for answers outside 4xx (one comparison); a 4xx answer
// takes one of kShards mutexes for a hash-map update.
#ifndef CAIRN_SERVER_API_ACCESS_LOG_LIMITER_H_
#define CAIRN_SERVER_API_ACCESS_LOG_LIMITER_H_

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "server/src/api/rate_limiter.h"

namespace cairn::server {

struct AccessLogLimits {
  // 4xx access lines logged per caller per window; 0 logs every one.
  // Default: 20.
  std::size_t lines_per_window = 20;
  // Default: 10 s.
  std::chrono::steady_clock::duration window = std::chrono::seconds(10);
  // How often a thread of the limiter's own writes the summaries of
  // windows that have ended, so a burst's summary appears soon after it
  // even if the caller goes quiet. 0: no thread; a summary is then written
  // at the caller's next 4xx answer after the window, or by Flush.
  // Default: 0 (cairnd uses 1 s).
  std::chrono::steady_clock::duration flush_every{0};
};

class AccessLogLimiter {
 public:
  // `summary` receives each summary line (default: spdlog at warn);
  // `now` is the clock of the windows (default: steady_clock).
  explicit AccessLogLimiter(
      AccessLogLimits limits, SteadyNow now = {},
      std::function<void(const std::string&)> summary = {});
  // Stops the flush thread and writes every pending summary.
  ~AccessLogLimiter();
  AccessLogLimiter(const AccessLogLimiter&) = delete;
  AccessLogLimiter& operator=(const AccessLogLimiter&) = delete;

  // Whether answers with `status` are limited at all: 4xx, and an error
  // status the caller brought on itself (`caller_caused`, see above); and
  // only with a cap set.
  bool Limits(int status, bool caller_caused = false) const {
    return limits_.lines_per_window > 0 && status >= 400 &&
           (status < 500 || caller_caused);
  }

  // Whether the access line of a limited answer to `caller` (as the access
  // line names it, e.g. "member=alpha") is to be written; false means it
  // was counted for the window's summary. Writes the summary of the
  // caller's previous window first if that has ended. Thread-safe.
  // REQUIRES: Limits(status, caller_caused) for the answer's flag.
  bool ShouldLog(std::string_view caller, int status);

  // Writes the summaries of windows that have ended (of every window with
  // `everything`) and forgets their callers. Thread-safe.
  void Flush(bool everything = false);

  // Callers with an open window (for tests: idle ones are forgotten).
  std::size_t Tracked() const;

 private:
  static constexpr std::size_t kShards = 16;

  struct Window {
    std::chrono::steady_clock::time_point start;
    std::size_t logged = 0;
    // (status, answers not logged), in order of first appearance: a
    // handful of distinct statuses at most.
    std::vector<std::pair<int, std::uint64_t>> held_back;
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const {
      return std::hash<std::string_view>{}(s);
    }
  };
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, Window, Hash, std::equal_to<>> callers;
  };

  // The summary line of `window`, or "" if nothing was held back.
  std::string Summary(std::string_view caller, const Window& window) const;
  void Emit(const std::vector<std::string>& lines) const;
  void FlushLoop();

  const AccessLogLimits limits_;
  const SteadyNow now_;
  const std::function<void(const std::string&)> summary_;
  std::array<Shard, kShards> shards_;

  std::mutex flush_mutex_;
  std::condition_variable flush_wake_;
  bool stopping_ = false;  // guarded by flush_mutex_
  std::thread flusher_;    // only with limits_.flush_every > 0
};

}  // namespace cairn::server

#endif  // CAIRN_SERVER_API_ACCESS_LOG_LIMITER_H_
