// Connections the listeners close without serving them (a budget of
// connections is full), told to the hub operator: counted by reason (for
// the cairn_connections_refused_total metric) and logged at warn, at most
// kLinesPerSecond lines a second hub-wide; the rest are summed up in one
// line, as HandshakeFailureLog does for failed handshakes. A flood of
// connections must not become a flood of log lines.
#ifndef CAIRN_SERVER_TRANSPORT_CONNECTION_REFUSALS_H_
#define CAIRN_SERVER_TRANSPORT_CONNECTION_REFUSALS_H_

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string_view>

#include "transport/log_line_budget.h"

namespace cairn::server {

// Which budget was full; the `reason` label of the metric.
enum class ConnectionRefusalReason {
  kMaxConnections,           // limits.max_connections established
  kMaxHandshakes,            // limits.max_handshakes in the handshake
  kMaxHandshakesPerAddress,  // limits.max_handshakes_per_address, one source
  kMetricsListener,          // the loopback metrics listener's own budget
};
inline constexpr std::size_t kConnectionRefusalReasons = 4;
// "max_connections", "max_handshakes", "max_handshakes_per_address",
// "metrics_listener".
std::string_view ConnectionRefusalReasonName(ConnectionRefusalReason reason);

// Thread-safe. Record costs an atomic increment and a mutex, plus perhaps a
// log line.
class ConnectionRefusalLog {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  // At most this many refusals are logged in each one-second window; the
  // rest are counted and summed up in one line when logging resumes.
  static constexpr std::size_t kLinesPerSecond = LogLineBudget::kLinesPerSecond;

  // `now` is for tests; the default is std::chrono::steady_clock::now.
  explicit ConnectionRefusalLog(Clock now = {});

  // Counts a refused connection from `peer` ("127.0.0.1:40522"), and logs
  // it at warn with `detail` (which limit, and its value), or, over the
  // rate, counts it as not logged.
  void Record(ConnectionRefusalReason reason, std::string_view peer,
              std::string_view detail);
  // Logs the summary of refusals not logged yet, if any (at shutdown, so
  // that none goes unmentioned).
  void Flush();

  // Refusals recorded since start with `reason`.
  std::uint64_t count(ConnectionRefusalReason reason) const {
    return counts_[static_cast<std::size_t>(reason)].load(
        std::memory_order_relaxed);
  }

 private:
  static void LogSummary(std::uint64_t not_logged);

  Clock now_;
  std::array<std::atomic<std::uint64_t>, kConnectionRefusalReasons> counts_{};
  std::mutex mutex_;
  LogLineBudget budget_;  // under mutex_
};

}  // namespace cairn::server

#endif  // CAIRN_SERVER_TRANSPORT_CONNECTION_REFUSALS_H_
