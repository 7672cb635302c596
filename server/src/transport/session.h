// One connection: TLS handshake, then HTTP/1.1 requests read one at a time,
// each handed to the RequestHandler and its response written back. Internal
// to the transport; HubServer (hub_server.h) is the public face.
#ifndef CAIRN_SERVER_TRANSPORT_SESSION_H_
#define CAIRN_SERVER_TRANSPORT_SESSION_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

#include "http/request_handler.h"
#include "transport/asio.h"
#include "transport/connection_refusals.h"
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

// Which source a connection in the TLS handshake is counted against for
// limits.max_handshakes_per_address: an IPv4 address as is (also written as
// IPv4-mapped IPv6), an IPv6 address by its /64 (a single host commonly
// has a whole /64 to pick from).
std::array<unsigned char, 16> SourceAddressKey(
    const asio::ip::address& address);

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

  // Which budget a connection counts against. A TLS connection counts
  // against kHandshakes (limits.max_handshakes, and
  // limits.max_handshakes_per_address for its source address) until its
  // handshake is done, then against kMembers (limits.max_connections): a
  // connection needs no certificate to start a handshake, so connections
  // that never finish one must not take the slots of established members.
  // The loopback metrics listener's connections count against a small
  // budget of their own (kMaxMetricsConnections), so that a flood of
  // connections cannot lock out the local Prometheus scraper.
  enum class Budget { kHandshakes, kMembers, kMetrics };
  static constexpr std::size_t kMaxMetricsConnections = 8;

  // Reserves a slot for a connection just accepted from `peer`, in
  // kHandshakes (also refused while max_connections are established: its
  // handshake would be wasted) or kMetrics. On refusal returns false, and
  // has counted and logged it (connection_refusals()); the caller closes the
  // socket.
  bool TryOpenConnection(Budget budget, const tcp::endpoint& peer);
  // Moves a connection whose handshake succeeded from kHandshakes to
  // kMembers. On false (max_connections are established; counted and
  // logged) the connection holds a slot in neither budget, and must close.
  bool FinishHandshake(const tcp::endpoint& peer);
  // Releases the connection's slot in `budget` (none: it holds none, after
  // a refused FinishHandshake).
  void CloseConnection(std::optional<Budget> budget, const tcp::endpoint& peer);
  // All open connections, every budget.
  std::size_t open_connections() const { return open_.load(); }
  // Connections in the TLS handshake now.
  std::size_t open_handshakes() const { return open_handshakes_.load(); }

  // Connections refused by a full budget: counted, and logged under a
  // rate limit.
  ConnectionRefusalLog& connection_refusals() { return connection_refusals_; }
  const ConnectionRefusalLog& connection_refusals() const {
    return connection_refusals_;
  }

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
  // Reserves one of `limit` in `open`; false if all are taken.
  static bool TryReserve(std::atomic<std::size_t>& open, std::size_t limit);
  using AddressKey = std::array<unsigned char, 16>;
  // Gives back a kHandshakes slot and its source address's count.
  void ReleaseHandshake(const tcp::endpoint& peer);

  std::atomic<std::size_t> open_{0};  // every budget: drain waits for 0
  std::atomic<std::size_t> open_handshakes_{0};
  std::atomic<std::size_t> open_members_{0};
  std::atomic<std::size_t> open_metrics_{0};
  ConnectionRefusalLog connection_refusals_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> io_closed_{false};
  std::weak_ptr<asio::io_context> io_;  // set once, before Run
  HandshakeFailureLog handshake_failures_;

  mutable std::mutex mutex_;
  std::shared_ptr<ssl::context> tls_context_;
  std::unordered_map<std::string, std::size_t> per_member_;
  std::map<AddressKey, std::size_t> handshakes_per_address_;
  std::set<std::shared_ptr<ConnectionControl>> connections_;
  std::function<void()> on_drained_;
};

// Serves one accepted TLS connection until it closes. The socket's executor
// must be a strand. REQUIRES: state.TryOpenConnection(kHandshakes) succeeded
// for it; the session moves it to kMembers after its handshake, and releases
// its slot when it ends.
// `remote` is the socket's remote endpoint, as the slot was reserved for.
asio::awaitable<void> RunTlsSession(tcp::socket socket, tcp::endpoint remote,
                                    std::shared_ptr<ServerState> state);

// Serves one plain-HTTP connection of the loopback metrics listener: only
// GET /metrics reaches the handler (with an empty fingerprint); anything else
// gets 404. REQUIRES: state.TryOpenConnection(kMetrics) succeeded for it.
asio::awaitable<void> RunMetricsSession(tcp::socket socket,
                                        tcp::endpoint remote,
                                        std::shared_ptr<ServerState> state);

// A transport-level error response: the protocol's JSON error body.
HttpResponse MakeErrorResponse(http::status status, ErrorCode code,
                               std::string message, unsigned version = 11);

}  // namespace cairn::server

#endif  // CAIRN_SERVER_TRANSPORT_SESSION_H_
