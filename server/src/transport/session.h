// One connection: TLS handshake, then HTTP/1.1 requests read one at a time,
// each handed to the RequestHandler and its response written back. Internal
// to the transport; HubServer (hub_server.h) is the public face.
#ifndef CAIRN_SERVER_TRANSPORT_SESSION_H_
#define CAIRN_SERVER_TRANSPORT_SESSION_H_

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>

#include "http/request_handler.h"
#include "transport/asio.h"
#include "transport/handshake_failures.h"
#include "transport/server_config.h"

namespace cairn::server {

// What the server can do to a live connection from outside its coroutine.
// Every member is touched only on the connection's strand.
struct ConnectionControl {
  explicit ConnectionControl(asio::any_io_executor executor)
      : strand(std::move(executor)) {}
  asio::any_io_executor strand;
  beast::tcp_stream* stream = nullptr;  // null once the session has ended
  bool busy = false;  // between a request's first byte and its response
  // Set while the RequestHandler holds a request: answers it with 503 now,
  // so that a forced close at the drain deadline does not wait for a
  // handler that never answers.
  std::function<void()> abandon;
};

// State shared by the listeners, the sessions and HubServer.
// Thread-safety: all methods are safe to call from any thread.
class ServerState {
 public:
  ServerState(TransportConfig config, RequestHandler& handler,
              std::shared_ptr<ssl::context> tls_context);

  const TransportConfig& config() const { return config_; }
  RequestHandler& handler() const { return handler_; }

  // The context new connections use; replaced on reload.
  std::shared_ptr<ssl::context> tls_context() const;
  void set_tls_context(std::shared_ptr<ssl::context> context);

  // Which budget a connection counts against: member connections against
  // limits.max_connections; the loopback metrics listener's against a small
  // budget of its own (kMaxMetricsConnections), so a flood of member
  // connections cannot lock out the local Prometheus scraper.
  enum class Budget { kMembers, kMetrics };
  static constexpr std::size_t kMaxMetricsConnections = 8;

  // Reserves a connection in `budget`; false if that budget is full.
  bool TryOpenConnection(Budget budget);
  void CloseConnection(Budget budget);
  // All open connections, both budgets.
  std::size_t open_connections() const { return open_.load(); }

  // Failed TLS handshakes: counted, and logged under a rate limit.
  HandshakeFailureLog& handshake_failures() { return handshake_failures_; }
  const HandshakeFailureLog& handshake_failures() const {
    return handshake_failures_;
  }

  // Counts a connection against its fingerprint; false if the member is at
  // max_connections_per_member (the count is then not taken).
  bool TryAddMember(const std::string& fingerprint);
  void RemoveMember(const std::string& fingerprint);

  void Register(const std::shared_ptr<ConnectionControl>& connection);
  void Unregister(const std::shared_ptr<ConnectionControl>& connection);

  bool stopping() const { return stopping_.load(); }
  // Sets stopping and closes connections that wait for a request; busy ones
  // close after their response. `on_drained` runs (on some thread) when the
  // last connection has closed, or at once if none is open.
  void BeginStop(std::function<void()> on_drained);
  // Closes every connection now, busy or not.
  void ForceCloseAll();
  // After this, nothing is posted to the io_context any more (it is being
  // destroyed).
  void Shutdown() { io_closed_ = true; }
  bool io_closed() const { return io_closed_.load(); }

  // The server's io_context. A request still held by the RequestHandler
  // keeps it alive (see PendingResponse in session.cc): its completion
  // handler and work guard hold the connection's strand, which must not
  // outlive the io_context even when the handler (a store's queue, a test
  // double) outlives the server.
  void set_io_context(std::weak_ptr<asio::io_context> io) {
    io_ = std::move(io);
  }
  std::shared_ptr<asio::io_context> io_context() const { return io_.lock(); }

 private:
  const TransportConfig config_;
  RequestHandler& handler_;
  std::atomic<std::size_t> open_{0};  // both budgets: drain waits for 0
  std::atomic<std::size_t> open_members_{0};
  std::atomic<std::size_t> open_metrics_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> io_closed_{false};
  std::weak_ptr<asio::io_context> io_;  // set once, before Run
  HandshakeFailureLog handshake_failures_;

  mutable std::mutex mutex_;
  std::shared_ptr<ssl::context> tls_context_;
  std::unordered_map<std::string, std::size_t> per_member_;
  std::set<std::shared_ptr<ConnectionControl>> connections_;
  std::function<void()> on_drained_;
};

// Serves one accepted TLS connection until it closes. The socket's executor
// must be a strand. REQUIRES: state.TryOpenConnection() succeeded for it;
// the session releases that slot when it ends.
asio::awaitable<void> RunTlsSession(tcp::socket socket,
                                    std::shared_ptr<ServerState> state);

// Serves one plain-HTTP connection of the loopback metrics listener: only
// GET /metrics reaches the handler (with an empty fingerprint); anything else
// gets 404. Same REQUIRES as RunTlsSession.
asio::awaitable<void> RunMetricsSession(tcp::socket socket,
                                        std::shared_ptr<ServerState> state);

// A transport-level error response: the protocol's JSON error body.
HttpResponse MakeErrorResponse(http::status status, ErrorCode code,
                               std::string message, unsigned version = 11);

}  // namespace cairn::server

#endif  // CAIRN_SERVER_TRANSPORT_SESSION_H_
