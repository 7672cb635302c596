#include "transport/handshake_failures.h"

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace cairn::server {

std::string_view HandshakeFailureReasonName(HandshakeFailureReason reason) {
  switch (reason) {
    case HandshakeFailureReason::kCertificate:
      return "certificate";
    case HandshakeFailureReason::kTimeout:
      return "timeout";
    case HandshakeFailureReason::kClosed:
      return "closed";
    case HandshakeFailureReason::kOther:
      return "other";
  }
  return "other";
}

std::string EscapeForLog(std::string_view text, std::size_t max_bytes) {
  std::string out;
  const std::size_t n = std::min(text.size(), max_bytes);
  out.reserve(n + 3);
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  if (text.size() > max_bytes) out += "...";
  return out;
}

HandshakeFailureLog::HandshakeFailureLog(Clock now) : now_(std::move(now)) {
  if (!now_) now_ = [] { return std::chrono::steady_clock::now(); };
}

void HandshakeFailureLog::Record(const HandshakeFailure& failure) {
  counts_[static_cast<std::size_t>(failure.reason)].fetch_add(
      1, std::memory_order_relaxed);
  if (failure.reason == HandshakeFailureReason::kClosed) {
    spdlog::debug("TLS handshake failed: peer={} reason=closed detail=\"{}\"",
                  failure.peer, EscapeForLog(failure.detail, 256));
    return;
  }
  std::lock_guard lock(mutex_);
  if (!budget_.Take(now_(), LogSummary)) return;
  // warn, not info: a refused would-be member (an expired certificate, one
  // from the wrong CA) is for the operator to act on, and an operator who
  // runs at warn to quiet the per-request access log must still see it.
  spdlog::warn(
      "TLS handshake failed: peer={} reason={} detail=\"{}\" "
      "fingerprint={} cn=\"{}\"",
      failure.peer.empty() ? "-" : failure.peer,
      HandshakeFailureReasonName(failure.reason),
      EscapeForLog(failure.detail, 256),
      failure.fingerprint.empty() ? "-" : failure.fingerprint,
      EscapeForLog(failure.common_name, 64));
}

void HandshakeFailureLog::Flush() {
  std::lock_guard lock(mutex_);
  if (const std::uint64_t n = budget_.TakeHeldBack(); n > 0) LogSummary(n);
}

void HandshakeFailureLog::LogSummary(std::uint64_t not_logged) {
  spdlog::warn(
      "{} further failed TLS handshakes were not logged (at most {} a second "
      "are; cairn_tls_handshake_failures_total counts them all)",
      not_logged, kLinesPerSecond);
}

}  // namespace cairn::server
