// The seam under cairn::Client: one HTTP exchange with the hub.
//
// Client is a thin, copyable value over a shared Connection. The production
// connection (MakeHubConnection) is an HTTPS + mutual-TLS keep-alive pool
// with retries; tests substitute their own (cairn/testing/fake_hub.h, or a
// mock that records requests). Requests reaching a Connection contain only
// tokens, never raw identifiers.
#ifndef CAIRN_CLIENT_CONNECTION_H_
#define CAIRN_CLIENT_CONNECTION_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cairn/options.h"
#include "cairn/result.h"

namespace cairn {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;   // "GET" or "POST"
  std::string target;   // "/v1/query", "/v1/feed?after=12&limit=1000"
  std::string body;     // JSON; empty for GET
  HttpHeaders headers;  // extra headers, e.g. Idempotency-Key
  // True if sending the request twice has the effect of sending it once.
  // Non-idempotent requests are never resent once they may have reached
  // the hub.
  bool idempotent = true;
  // Optional, for an idempotent request whose idempotence depends on the
  // hub: asked by the retry policy before it resends the request after an
  // attempt that may have reached the hub (a kIo error, a 502/503/504).
  // False: not resent, and that attempt's outcome is returned as it is.
  // Not asked when the request certainly did not reach the hub
  // (kUnavailable) or the hub refused it unprocessed (429). Client sets it
  // on queries (a hub honours a query's Idempotency-Key only from store
  // schema 10 on); it may make requests of its own on the connection.
  std::function<bool()> may_resend{};
};

struct HttpReply {
  int status = 0;
  std::string body;
  HttpHeaders headers;

  // The value of header `name` (case-insensitive); empty if absent.
  std::string_view Header(std::string_view name) const;
};

// Thread-safety: Send() may be called concurrently from any thread.
class Connection {
 public:
  virtual ~Connection() = default;

  // Performs one exchange. Any HTTP status is a reply. Transport failures
  // are errors with code kUnavailable when the request certainly did not
  // reach the hub (resolve, connect, handshake) and kIo when it may have;
  // a TLS refusal of either side's certificate is kPermissionDenied (not
  // transient, so not retried).
  virtual Result<HttpReply> Send(const HttpRequest& request) = 0;
};

// The HTTPS + mTLS keep-alive pool to options.hub_url, wrapped in the retry
// policy options.retry. Loads the certificate, key and CA now, so file
// errors surface here; connects lazily on the first call.
Result<std::shared_ptr<Connection>> MakeHubConnection(
    const ClientOptions& options);

}  // namespace cairn

#endif  // CAIRN_CLIENT_CONNECTION_H_
