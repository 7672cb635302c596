#include "progress.h"

#include <algorithm>
#include <cmath>

namespace cairn::cli {

std::string GroupThousands(std::size_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

namespace {

std::string FormatDuration(double seconds) {
  const auto s = static_cast<long long>(std::ceil(seconds));
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) {
    return std::to_string(s / 60) + "m" + std::to_string(s % 60) + "s";
  }
  return std::to_string(s / 3600) + "h" + std::to_string(s % 3600 / 60) + "m";
}

}  // namespace

std::string RenderProgress(std::size_t done, std::size_t total,
                           std::chrono::duration<double> elapsed,
                           std::size_t bar_width) {
  done = std::min(done, total);
  const double fraction =
      total == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(total);
  const auto filled = static_cast<std::size_t>(
      std::floor(fraction * static_cast<double>(bar_width)));
  std::string line = "[";
  line.append(filled, '#');
  line.append(bar_width - filled, '.');
  line += "] ";
  const int percent = static_cast<int>(std::floor(fraction * 100.0));
  if (percent < 100) line += ' ';
  if (percent < 10) line += ' ';
  line += std::to_string(percent) + "%  " + GroupThousands(done) + "/" +
          GroupThousands(total) + " rows";
  // Under a fifth of a second the rate is noise.
  if (elapsed.count() >= 0.2 && done > 0) {
    const double rate = static_cast<double>(done) / elapsed.count();
    line += "  " + GroupThousands(static_cast<std::size_t>(rate)) + " rows/s";
    if (done < total) {
      line += "  " + FormatDuration(static_cast<double>(total - done) / rate) +
              " left";
    }
  }
  return line;
}

ProgressBar::ProgressBar(std::FILE* out, std::size_t total, bool enabled)
    : out_(out), total_(total), enabled_(enabled), start_(Clock::now()) {}

void ProgressBar::Update(std::size_t done) {
  if (!enabled_) return;
  const auto now = Clock::now();
  const bool last = done >= total_;
  if (!last && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  // \r and clear-to-end-of-line: a shorter line must not leave old text.
  std::fprintf(out_, "\r%s\x1b[K",
               RenderProgress(done, total_, now - start_).c_str());
  if (last) std::fprintf(out_, "\n");
  std::fflush(out_);
}

}  // namespace cairn::cli
