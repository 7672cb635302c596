#include "server/src/api/access_log_limiter.h"

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace cairn::server {

AccessLogLimiter::AccessLogLimiter(
    AccessLogLimits limits, SteadyNow now,
    std::function<void(const std::string&)> summary)
    : limits_(limits),
      now_(now ? std::move(now)
               : SteadyNow([] { return std::chrono::steady_clock::now(); })),
      summary_(summary ? std::move(summary) : [](const std::string& line) {
        spdlog::warn("{}", line);
      }) {
  if (limits_.lines_per_window > 0 &&
      limits_.flush_every > std::chrono::steady_clock::duration::zero()) {
    flusher_ = std::thread([this] { FlushLoop(); });
  }
}

AccessLogLimiter::~AccessLogLimiter() {
  {
    std::lock_guard lock(flush_mutex_);
    stopping_ = true;
  }
  flush_wake_.notify_all();
  if (flusher_.joinable()) flusher_.join();
  Flush(/*everything=*/true);
}

bool AccessLogLimiter::ShouldLog(std::string_view caller, int status) {
  const auto now = now_();
  Shard& shard = shards_[Hash{}(caller) % kShards];
  std::string summary;
  bool log = false;
  {
    std::lock_guard lock(shard.mutex);
    auto it = shard.callers.find(caller);
    if (it == shard.callers.end()) {
      it = shard.callers.emplace(std::string(caller), Window{now, 0, {}}).first;
    } else if (now - it->second.start >= limits_.window) {
      summary = Summary(caller, it->second);
      it->second = Window{now, 0, {}};
    }
    Window& window = it->second;
    if (window.logged < limits_.lines_per_window) {
      ++window.logged;
      log = true;
    } else {
      auto held = std::find_if(
          window.held_back.begin(), window.held_back.end(),
          [status](const auto& entry) { return entry.first == status; });
      if (held == window.held_back.end()) {
        window.held_back.emplace_back(status, 1);
      } else {
        ++held->second;
      }
    }
  }
  // Outside the lock: a slow log sink must not hold up the shard.
  if (!summary.empty()) summary_(summary);
  return log;
}

void AccessLogLimiter::Flush(bool everything) {
  const auto now = now_();
  std::vector<std::string> lines;
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    for (auto it = shard.callers.begin(); it != shard.callers.end();) {
      if (everything || now - it->second.start >= limits_.window) {
        if (std::string line = Summary(it->first, it->second); !line.empty()) {
          lines.push_back(std::move(line));
        }
        it = shard.callers.erase(it);
      } else {
        ++it;
      }
    }
  }
  Emit(lines);
}

std::size_t AccessLogLimiter::Tracked() const {
  std::size_t n = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    n += shard.callers.size();
  }
  return n;
}

std::string AccessLogLimiter::Summary(std::string_view caller,
                                      const Window& window) const {
  if (window.held_back.empty()) return {};
  auto held = window.held_back;
  std::sort(held.begin(), held.end());
  std::uint64_t total = 0;
  std::string by_status;
  // "4xx", then any other status by itself (a connection-limit 503): held
  // is sorted, so 4xx come first.
  std::string kinds;
  for (const auto& [status, count] : held) {
    total += count;
    by_status +=
        fmt::format("{}{}: {}", by_status.empty() ? "" : ", ", status, count);
    const std::string kind =
        status >= 400 && status < 500 ? "4xx" : std::to_string(status);
    if (kinds.empty()) {
      kinds = kind;
    } else if (kind != "4xx") {
      kinds += " and " + kind;
    }
  }
  return fmt::format(
      "{}: {} more {} responses not logged ({}); only the first {} of a "
      "caller in each {} s are",
      caller, total, kinds, by_status, limits_.lines_per_window,
      std::chrono::duration_cast<std::chrono::seconds>(limits_.window).count());
}

void AccessLogLimiter::Emit(const std::vector<std::string>& lines) const {
  for (const std::string& line : lines) summary_(line);
}

void AccessLogLimiter::FlushLoop() {
  std::unique_lock lock(flush_mutex_);
  while (!stopping_) {
    flush_wake_.wait_for(lock, limits_.flush_every,
                         [this] { return stopping_; });
    if (stopping_) return;
    lock.unlock();
    Flush();
    lock.lock();
  }
}

}  // namespace cairn::server
