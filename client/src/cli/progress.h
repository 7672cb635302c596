// A progress bar for `cairn submit|query|retract --file` on large files:
// one stderr line redrawn in place with the share done, rows per second
// and the time left, so an operator feeding 500,000 rows knows whether to
// wait or come back later.
#ifndef CAIRN_CLIENT_CLI_PROGRESS_H_
#define CAIRN_CLIENT_CLI_PROGRESS_H_

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <string>

namespace cairn::cli {

// The line for `done` of `total` rows after `elapsed`, e.g.
//   "[##########..........]  50%  25,000/50,000 rows  4,150 rows/s  6s left"
// `bar_width` is the number of cells between the brackets. The rate and
// the time left are omitted until some time has passed.
std::string RenderProgress(std::size_t done, std::size_t total,
                           std::chrono::duration<double> elapsed,
                           std::size_t bar_width = 30);

// Redraws RenderProgress() on `out` at most ten times a second. Disabled
// (prints nothing) when `enabled` is false, e.g. when stderr is not a
// terminal or the input is small.
class ProgressBar {
 public:
  ProgressBar(std::FILE* out, std::size_t total, bool enabled);
  // Draws the new state if enough time has passed since the last draw, and
  // always for the final row.
  void Update(std::size_t done);

 private:
  using Clock = std::chrono::steady_clock;
  std::FILE* out_;
  std::size_t total_;
  bool enabled_;
  Clock::time_point start_;
  Clock::time_point last_draw_{};
};

// "1,234,567": thousands separators for counts read by people.
std::string GroupThousands(std::size_t n);

}  // namespace cairn::cli

#endif  // CAIRN_CLIENT_CLI_PROGRESS_H_
