#include "transport/connection_refusals.h"

#include <spdlog/spdlog.h>

namespace cairn::server {

std::string_view ConnectionRefusalReasonName(ConnectionRefusalReason reason) {
  switch (reason) {
    case ConnectionRefusalReason::kMaxConnections:
      return "max_connections";
    case ConnectionRefusalReason::kMaxHandshakes:
      return "max_handshakes";
    case ConnectionRefusalReason::kMaxHandshakesPerAddress:
      return "max_handshakes_per_address";
    case ConnectionRefusalReason::kMetricsListener:
      return "metrics_listener";
  }
  return "max_connections";
}

ConnectionRefusalLog::ConnectionRefusalLog(Clock now) : now_(std::move(now)) {
  if (!now_) now_ = [] { return std::chrono::steady_clock::now(); };
}

void ConnectionRefusalLog::Record(ConnectionRefusalReason reason,
                                  std::string_view peer,
                                  std::string_view detail) {
  counts_[static_cast<std::size_t>(reason)].fetch_add(
      1, std::memory_order_relaxed);
  std::lock_guard lock(mutex_);
  const auto now = now_();
  if (!started_ || now - window_start_ >= std::chrono::seconds(1)) {
    LogSummaryLocked();
    started_ = true;
    window_start_ = now;
    logged_in_window_ = 0;
  }
  if (logged_in_window_ >= kLinesPerSecond) {
    ++not_logged_;
    return;
  }
  ++logged_in_window_;
  spdlog::warn("refusing a connection: peer={} reason={} ({})",
               peer.empty() ? "-" : peer, ConnectionRefusalReasonName(reason),
               detail);
}

void ConnectionRefusalLog::Flush() {
  std::lock_guard lock(mutex_);
  LogSummaryLocked();
}

void ConnectionRefusalLog::LogSummaryLocked() {
  if (not_logged_ == 0) return;
  spdlog::warn(
      "{} further refused connections were not logged (at most {} a second "
      "are; cairn_connections_refused_total counts them all)",
      not_logged_, kLinesPerSecond);
  not_logged_ = 0;
}

}  // namespace cairn::server
