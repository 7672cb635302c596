// Accepting connections: parse listen addresses, bind, and run the accept
// loop that hands each socket to a session on its own strand.
#ifndef CAIRN_SERVER_TRANSPORT_LISTENER_H_
#define CAIRN_SERVER_TRANSPORT_LISTENER_H_

#include <memory>
#include <string_view>

#include "cairn/result.h"
#include "transport/asio.h"

namespace cairn::server {

class ServerState;

// "127.0.0.1:8443", "[::1]:8443", "0.0.0.0:0" -> endpoint. Host names are
// not resolved: a listener binds to an address.
Result<tcp::endpoint> ParseListenAddress(std::string_view address);

// Opens, binds and listens (SO_REUSEADDR; IPv6 sockets are v6-only so that
// "[::]:p" and "0.0.0.0:p" can both be given).
Result<std::unique_ptr<tcp::acceptor>> OpenAcceptor(
    asio::any_io_executor executor, const tcp::endpoint& endpoint);

enum class ListenerKind { kTls, kMetrics };

// Accepts until the acceptor is closed or the server stops. Connections that
// find their budget full (ServerState::TryOpenConnection: max_handshakes,
// max_handshakes_per_address, max_connections, or the metrics listener's)
// are closed at once. Run it on the acceptor's executor.
asio::awaitable<void> AcceptLoop(tcp::acceptor& acceptor,
                                 std::shared_ptr<ServerState> state,
                                 ListenerKind kind);

}  // namespace cairn::server

#endif  // CAIRN_SERVER_TRANSPORT_LISTENER_H_
