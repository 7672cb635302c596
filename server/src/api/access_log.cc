#include "server/src/api/access_log.h"

#include <cstdint>
#include <string>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace cairn::server {

void WriteAccessLine(AccessLogLimiter* limiter, const AccessLine& line) {
  const std::string_view fingerprint =
      line.peer.fingerprint.empty() ? std::string_view("-")
                                    : std::string_view(line.peer.fingerprint);
  // A non-member's lines are capped per certificate (the address changes
  // with every connection).
  if (limiter != nullptr && limiter->Limits(line.status, line.caller_caused) &&
      !limiter->ShouldLog(
          line.member_id.empty()
              ? fmt::format("member=- fingerprint={}", fingerprint)
              : fmt::format("member={}", line.member_id),
          line.status)) {
    return;
  }
  const std::string error_field =
      line.error ? fmt::format(" error={}", ErrorCodeName(*line.error))
                 : std::string();
  const auto latency_us = static_cast<std::int64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(line.latency)
          .count());
  if (line.member_id.empty()) {
    // A caller that is not (or no longer) a member: the address and the
    // certificate are all an operator can trace it by.
    spdlog::info(
        "request_id={} member=- peer={} fingerprint={} endpoint={} "
        "status={}{} latency_us={}",
        line.request_id,
        line.peer.remote_address.empty() ? "-" : line.peer.remote_address,
        fingerprint, line.endpoint, line.status, error_field, latency_us);
  } else {
    spdlog::info(
        "request_id={} member={} endpoint={} status={}{} items={} "
        "latency_us={}",
        line.request_id, line.member_id, line.endpoint, line.status,
        error_field, line.items, latency_us);
  }
}

}  // namespace cairn::server
