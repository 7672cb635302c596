// Failed TLS handshakes, told to the hub operator: counted by reason (for
// the cairn_tls_handshake_failures_total metric) and logged at warn with
// the peer, the reason and the client certificate it presented, at most
// kLinesPerSecond lines a second hub-wide.
#ifndef CAIRN_SERVER_TRANSPORT_HANDSHAKE_FAILURES_H_
#define CAIRN_SERVER_TRANSPORT_HANDSHAKE_FAILURES_H_

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "transport/log_line_budget.h"

namespace cairn::server {

// Why a handshake failed; the `reason` label of the metric.
enum class HandshakeFailureReason {
  kCertificate,  // the client's certificate was refused, or it sent none
  kTimeout,      // not finished within timeouts.handshake
  kClosed,       // the client closed the connection (TCP probes do this)
  kOther,        // any other TLS error (protocol version, no shared cipher,
                 // the client's alert about the hub's certificate, ...)
};
inline constexpr std::size_t kHandshakeFailureReasons = 4;
// "certificate", "timeout", "closed", "other".
std::string_view HandshakeFailureReasonName(HandshakeFailureReason reason);

struct HandshakeFailure {
  std::string_view peer{};  // "127.0.0.1:40522"
  HandshakeFailureReason reason = HandshakeFailureReason::kOther;
  // In words: OpenSSL's verify result ("certificate has expired"), "timed
  // out after 10000 ms", or the TLS error.
  std::string_view detail{};
  // Of the client's certificate when it sent one: SHA-256 of its DER as 64
  // lowercase hex (as cairnctl and the access log print it), and its
  // subject CN as the certificate says it (escaped when logged).
  std::string_view fingerprint{};
  std::string_view common_name{};
};

// Thread-safe. Record costs an atomic increment, and a mutex plus perhaps a
// log line; it runs only for failed handshakes.
class HandshakeFailureLog {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  // At most this many failures are logged in each one-second window; the
  // rest are counted and summed up in one line when logging resumes.
  static constexpr std::size_t kLinesPerSecond = LogLineBudget::kLinesPerSecond;

  // `now` is for tests; the default is std::chrono::steady_clock::now.
  explicit HandshakeFailureLog(Clock now = {});

  // Counts `failure` and logs it at warn (closed ones at debug only: load
  // balancers' and port scanners' TCP probes would fill the log), or, over
  // the rate, counts it as not logged.
  void Record(const HandshakeFailure& failure);
  // Logs the summary of failures not logged yet, if any (at shutdown, so
  // that none goes unmentioned).
  void Flush();

  // Failures recorded since start with `reason`.
  std::uint64_t count(HandshakeFailureReason reason) const {
    return counts_[static_cast<std::size_t>(reason)].load(
        std::memory_order_relaxed);
  }

 private:
  static void LogSummary(std::uint64_t not_logged);

  Clock now_;
  std::array<std::atomic<std::uint64_t>, kHandshakeFailureReasons> counts_{};
  std::mutex mutex_;
  LogLineBudget budget_;  // under mutex_
};

// `text` (say an untrusted certificate's CN) for a log line: printable
// ASCII as is except `"` and `\`, which are escaped, every other byte as
// \xNN, so that it cannot forge or break lines; cut after `max_bytes` of
// input with "..." after.
std::string EscapeForLog(std::string_view text, std::size_t max_bytes);

}  // namespace cairn::server

#endif  // CAIRN_SERVER_TRANSPORT_HANDSHAKE_FAILURES_H_
