// One API request in flight, shared by the router and the endpoint
// handlers. Internal to server/src/api.
#ifndef CAIRN_SERVER_API_CALL_H_
#define CAIRN_SERVER_API_CALL_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "cairn/result.h"
#include "server/src/api/api_router.h"
#include "server/src/api/endpoint.h"
#include "server/src/http/request_handler.h"
#include "server/src/store/records.h"
#include "server/src/store/store.h"

namespace cairn::server {

struct ApiRouter::Call {
  HttpRequest request;
  PeerIdentity peer;
  Route route;
  std::string query_string;  // after '?', without it
  AuthenticatedMember member;
  std::string request_id;
  std::chrono::steady_clock::time_point start;
  std::size_t items = 0;  // batch items, for the access log
  HubMetrics* metrics = nullptr;
  AccessLogLimiter* access_log = nullptr;
  // The code of an error answer (set by Fail), for the access log.
  std::optional<ErrorCode> error;
  SteadyNow steady_now;
  std::function<void(HttpResponse)> respond;
  std::atomic<bool> finished{false};
  // Answer with "Connection: close", so that the transport ends the
  // connection after the answer: set for a certificate that is no active
  // member's (unregistered, revoked, suspended), which must not hold
  // connections open by sending requests it knows will be refused.
  bool close_connection = false;

  CommandContext Context() const {
    return {request_id, member.member_id, peer.fingerprint};
  }

  // Sends `body` (JSON unless `content_type` says otherwise) with `status`.
  void Finish(int status, std::string body,
              std::string_view content_type = "application/json");
  // Sends the protocol's error body for `error`, with its HTTP status.
  void Fail(const Error& error);
  void Fail(ErrorCode code, std::string message, std::string field = {});

  // Appends an audit entry for this request (actor, fingerprint and request
  // id from the call) without waiting for its commit, for reads that change
  // nothing to protect: a failure is logged with the request id, not sent
  // to the member, whose answer may already be on its way.
  void AuditWithoutWaiting(Store& store, std::string action,
                           std::string details) const;
};

}  // namespace cairn::server

#endif  // CAIRN_SERVER_API_CALL_H_
