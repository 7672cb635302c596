#include "transport/listener.h"

#include <charconv>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "transport/session.h"

namespace cairn::server {

Result<tcp::endpoint> ParseListenAddress(std::string_view address) {
  auto invalid = [&](std::string_view why) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("listen address '{}' {}; write it as "
                                 "\"127.0.0.1:8443\" or \"[::1]:8443\"",
                                 address, why));
  };
  const std::size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) return invalid("has no port");
  std::string_view host = address.substr(0, colon);
  const std::string_view port_text = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return invalid("has an IPv6 address without [brackets]");
  }
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(
      port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() ||
      end != port_text.data() + port_text.size() || port > 65535) {
    return invalid("has no valid port (0 to 65535)");
  }
  boost::system::error_code address_error;
  const auto ip = asio::ip::make_address(std::string(host), address_error);
  if (address_error) return invalid("has no valid IP address");
  return tcp::endpoint(ip, static_cast<unsigned short>(port));
}

Result<std::unique_ptr<tcp::acceptor>> OpenAcceptor(
    asio::any_io_executor executor, const tcp::endpoint& endpoint) {
  auto acceptor = std::make_unique<tcp::acceptor>(std::move(executor));
  boost::system::error_code ec;
  auto fail = [&](std::string_view step) {
    return MakeError(
        ErrorCode::kUnavailable,
        fmt::format("cannot {} {}:{}: {}; check that the address is local "
                    "and no other process uses the port",
                    step, endpoint.address().to_string(), endpoint.port(),
                    ec.message()));
  };
  if (acceptor->open(endpoint.protocol(), ec)) return fail("open a socket for");
  acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (endpoint.address().is_v6()) {
    acceptor->set_option(asio::ip::v6_only(true), ec);
  }
  if (acceptor->bind(endpoint, ec)) return fail("listen on");
  if (acceptor->listen(asio::socket_base::max_listen_connections, ec)) {
    return fail("listen on");
  }
  return acceptor;
}

asio::awaitable<void> AcceptLoop(tcp::acceptor& acceptor,
                                 std::shared_ptr<ServerState> state,
                                 ListenerKind kind) {
  auto& context = static_cast<asio::io_context&>(
      asio::query(acceptor.get_executor(), asio::execution::context));
  while (!state->stopping() && acceptor.is_open()) {
    tcp::socket socket(asio::make_strand(context));
    boost::system::error_code ec;
    co_await acceptor.async_accept(
        socket, asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted || state->stopping()) break;
    if (ec) {
      // Typically EMFILE: back off instead of spinning on the error.
      spdlog::warn("accept failed: {}; retrying in 100 ms", ec.message());
      asio::steady_timer timer(acceptor.get_executor(),
                               std::chrono::milliseconds(100));
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    // Connections still in the TLS handshake have a budget of their own
    // (and one per source address): they need no certificate, so they
    // must not take the slots of established members. A refusal is counted
    // and logged under a rate limit (a flood of connections must not be a
    // flood of log lines).
    const tcp::endpoint remote = socket.remote_endpoint(ec);
    if (ec) {
      socket.close(ec);  // already reset by the peer
      continue;
    }
    const auto budget = kind == ListenerKind::kTls
                            ? ServerState::Budget::kHandshakes
                            : ServerState::Budget::kMetrics;
    if (!state->TryOpenConnection(budget, remote)) {
      socket.close(ec);
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto executor = socket.get_executor();
    if (kind == ListenerKind::kTls) {
      asio::co_spawn(executor, RunTlsSession(std::move(socket), remote, state),
                     asio::detached);
    } else {
      asio::co_spawn(executor,
                     RunMetricsSession(std::move(socket), remote, state),
                     asio::detached);
    }
  }
}

}  // namespace cairn::server
