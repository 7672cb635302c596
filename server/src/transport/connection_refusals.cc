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
  if (!budget_.Take(now_(), LogSummary)) return;
  spdlog::warn("refusing a connection: peer={} reason={} ({})",
               peer.empty() ? "-" : peer, ConnectionRefusalReasonName(reason),
               detail);
}

void ConnectionRefusalLog::Flush() {
  std::lock_guard lock(mutex_);
  if (const std::uint64_t n = budget_.TakeHeldBack(); n > 0) LogSummary(n);
}

void ConnectionRefusalLog::LogSummary(std::uint64_t not_logged) {
  spdlog::warn(
      "{} further refused connections were not logged (at most {} a second "
      "are; cairn_connections_refused_total counts them all)",
      not_logged, kLinesPerSecond);
}

}  // namespace cairn::server
