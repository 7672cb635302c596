// The seam between the transport (TLS, HTTP sessions) and the API.
//
// The transport authenticates the peer's TLS certificate, parses one HTTP
// request at a time and hands it to a RequestHandler together with the
// peer's identity. The handler knows nothing of sockets and is testable
// without them. This header is deliberately free of coroutines and Asio so
// that the router, handlers and their fuzzers (clang-14) can include it.
#ifndef CAIRN_SERVER_HTTP_REQUEST_HANDLER_H_
#define CAIRN_SERVER_HTTP_REQUEST_HANDLER_H_

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "cairn/result.h"

namespace cairn::server {

using HttpRequest =
    boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse =
    boost::beast::http::response<boost::beast::http::string_body>;
using HttpRequestHeader = boost::beast::http::request_header<>;

// Who is on the other end of the connection. The CA has already verified the
// certificate chain, validity period and clientAuth usage; whether the
// fingerprint belongs to an active member is the handler's decision.
struct PeerIdentity {
  // SHA-256 of the peer certificate's DER encoding, 64 lowercase hex.
  // Empty only on the optional loopback metrics listener (plain HTTP, no
  // certificate), which forwards nothing but GET /metrics.
  std::string fingerprint;
  // The certificate subject, one line (e.g. "CN=alpha,O=Cairn Dev"), for logs.
  std::string subject;
  // "127.0.0.1:53412" or "[::1]:53412".
  std::string remote_address;
  // When the certificate's validity ends; the transport refuses requests
  // after it even on a connection opened before.
  std::optional<std::chrono::sys_seconds> not_after = std::nullopt;
};

// A request the transport answered itself: refused before the handler
// could see it (a header or body over the limits, malformed HTTP, a
// certificate over its connection limit or expired on a keep-alive
// connection), or answered 500 because the handler dropped its `respond`
// without calling it.
struct RefusedRequest {
  // From the request line; both empty when that could not be read (it
  // was malformed, or longer than the header limit). For a dropped
  // `respond`, the target is the path only (no query), and empty if
  // longer than 256 bytes (longer than any route).
  std::string method;
  std::string target;
  int status = 0;
  ErrorCode error = ErrorCode::kInternal;
  // As sent in the answer's X-Request-Id header.
  std::string request_id;
  // From the request's first bytes to the answer.
  std::chrono::steady_clock::duration latency{};
  // A 5xx that the caller brought on itself, not a failure of the hub:
  // the 503 of a certificate over its connection limit.
  bool caller_caused = false;
};

class RequestHandler {
 public:
  virtual ~RequestHandler() = default;

  // Handles one request. Called on the connection's strand (an I/O thread).
  // Must not block: slow work (e.g. waiting for a durable group commit) goes
  // to another thread, which then calls `respond`.
  //
  // REQUIRES: `respond` is called exactly once, from any thread. The transport
  // posts the response back to the connection's strand. `keep_alive` and
  // `version` of the response are set by the transport from the request,
  // except that a response with "Connection: close" ends the connection
  // after it is written; Content-Length is computed by the transport
  // (prepare_payload).
  //
  // Thread-safety: called concurrently for different connections.
  virtual void Handle(HttpRequest request, const PeerIdentity& peer,
                      std::function<void(HttpResponse)> respond) = 0;

  // Called once the request header is read, before the body: false when
  // the request will be refused whatever its body holds (an unregistered,
  // revoked or suspended caller, a missing role, a wrong content type, an
  // unknown endpoint). The transport then skips the body, hands the
  // request with an empty body to HandleSkippedBody() instead of Handle(),
  // and closes the connection after the answer, so such callers cannot
  // make the hub buffer bodies. Must not block; same threads as Handle.
  // Default: true.
  virtual bool WantsBody(const HttpRequestHeader& header,
                         const PeerIdentity& peer) {
    (void)header;
    (void)peer;
    return true;
  }

  // Answers a request whose body was skipped after WantsBody() returned
  // false. Must refuse it: the request's body is gone, so even if the
  // caller's standing changed since WantsBody() (an operator resumed the
  // member in between, say) it must not be served, and such an answer
  // should tell the caller to send the request again. Same contract as
  // Handle(). Default: Handle(), for handlers whose WantsBody() is always
  // true.
  virtual void HandleSkippedBody(HttpRequest request, const PeerIdentity& peer,
                                 std::function<void(HttpResponse)> respond) {
    Handle(std::move(request), peer, std::move(respond));
  }

  // Records a request the transport refused and answered itself (before
  // writing its answer), so that it leaves the same trace, such as an
  // access-log line and a count in the metrics, as the ones the handler
  // answers. Must not block. Called on a connection's strand, or (for a
  // dropped `respond`) on the thread that dropped it. Default: nothing.
  virtual void LogRefused(const RefusedRequest& refused,
                          const PeerIdentity& peer) {
    (void)refused;
    (void)peer;
  }
};

}  // namespace cairn::server

#endif  // CAIRN_SERVER_HTTP_REQUEST_HANDLER_H_
