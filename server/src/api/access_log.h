// The access-log line of one answered request.
//
// One formatter for the answers of the router and for the refusals the
// transport answers before the router sees the request
// (RequestHandler::LogRefused), so that both read alike, an operator's
// grep finds both, and both count against the same per-caller cap of 4xx
// lines (AccessLogLimiter). The cap's caller is the member when the
// certificate is one's, else the certificate: both callers must say
// which member a certificate is (AccessLine::member_id), or one caller
// would have two caps.
#ifndef CAIRN_SERVER_API_ACCESS_LOG_H_
#define CAIRN_SERVER_API_ACCESS_LOG_H_

#include <chrono>
#include <cstddef>
#include <optional>
#include <string_view>

#include "cairn/result.h"
#include "server/src/api/access_log_limiter.h"
#include "server/src/http/request_handler.h"

namespace cairn::server {

struct AccessLine {
  std::string_view request_id;
  // Empty for a caller that is not (or no longer) a member: the line then
  // names the peer's address and certificate fingerprint instead.
  std::string_view member_id;
  const PeerIdentity& peer;
  // As in the metrics ("query", "unknown"); "-" when the request line
  // could not be read.
  std::string_view endpoint;
  int status = 0;
  // The error code of an error answer.
  std::optional<ErrorCode> error;
  std::size_t items = 0;
  std::chrono::steady_clock::duration latency{};
  // A 5xx the caller brought on itself (a certificate over its connection
  // limit): capped like a 4xx.
  bool caller_caused = false;
};

// Writes `line` at info, unless `limiter` (null: no cap) holds back this
// 4xx (or caller-caused) line of its caller. Thread-safe.
void WriteAccessLine(AccessLogLimiter* limiter, const AccessLine& line);

}  // namespace cairn::server

#endif  // CAIRN_SERVER_API_ACCESS_LOG_H_
