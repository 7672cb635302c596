// At most kLinesPerSecond log lines in each one-second window; the lines
// over it are only counted, and summed up in one line when the next window
// starts (or at shutdown). The transport's logs of what a flood repeats
// (failed handshakes, refused connections) share it: a flood of
// connections must not become a flood of log lines.
#ifndef CAIRN_SERVER_TRANSPORT_LOG_LINE_BUDGET_H_
#define CAIRN_SERVER_TRANSPORT_LOG_LINE_BUDGET_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <utility>

namespace cairn::server {

// Not thread-safe: its owner calls it under the lock it logs under, so
// that a summary comes before the lines of the window after it.
class LogLineBudget {
 public:
  static constexpr std::size_t kLinesPerSecond = 10;

  // Whether one more line may be logged at `now`. When `now` starts a new
  // window and lines were held back in the earlier ones, `summarise(n)` is
  // called first with their number.
  template <typename Summarise>
  bool Take(std::chrono::steady_clock::time_point now, Summarise summarise) {
    if (!started_ || now - window_start_ >= std::chrono::seconds(1)) {
      if (held_back_ > 0) summarise(TakeHeldBack());
      started_ = true;
      window_start_ = now;
      used_ = 0;
    }
    if (used_ >= kLinesPerSecond) {
      ++held_back_;
      return false;
    }
    ++used_;
    return true;
  }

  // The lines held back and not summed up yet (for the final summary),
  // which now count as summed up.
  std::uint64_t TakeHeldBack() { return std::exchange(held_back_, 0); }

 private:
  std::chrono::steady_clock::time_point window_start_{};
  std::size_t used_ = 0;
  std::uint64_t held_back_ = 0;
  bool started_ = false;
};

}  // namespace cairn::server

#endif  // CAIRN_SERVER_TRANSPORT_LOG_LINE_BUDGET_H_
