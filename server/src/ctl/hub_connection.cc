#include "server/src/ctl/hub_connection.h"

#include <optional>

#include <openssl/ssl.h>

#include "cairn/hub_url.h"
#include "transport/asio.h"

namespace cairn::server {

struct HubConnection::Impl {
  asio::io_context io;
  ssl::context tls{ssl::context::tls_client};
  // Made after `tls` is configured: OpenSSL copies the context's settings
  // into each connection when the connection is created.
  std::optional<beast::ssl_stream<beast::tcp_stream>> stream;
  std::string host;
  std::chrono::seconds timeout{30};
  beast::flat_buffer buffer;
};

namespace {

tl::unexpected<Error> TransportError(const std::string& what,
                                     const boost::system::error_code& ec,
                                     const std::string& hint) {
  return MakeError(ErrorCode::kUnavailable,
                   what + ": " + ec.message() + "; " + hint);
}

}  // namespace

HubConnection::HubConnection(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
HubConnection::~HubConnection() {
  if (impl_ && impl_->stream) {
    boost::system::error_code ignored;
    beast::get_lowest_layer(*impl_->stream)
        .expires_after(std::chrono::seconds(2));
    impl_->stream->shutdown(ignored);  // best effort: the hub may be gone
  }
}

Result<std::unique_ptr<HubConnection>> HubConnection::Open(
    const HubConnectionOptions& options) {
  auto url = ParseHubUrl(options.hub_url);
  if (!url) return tl::unexpected(url.error());
  auto impl = std::make_unique<Impl>();
  impl->host = url->host;
  impl->timeout = options.timeout;
  boost::system::error_code ec;
  impl->tls.set_verify_mode(ssl::verify_peer, ec);
  impl->tls.load_verify_file(options.ca_file, ec);
  if (ec) {
    return MakeError(ErrorCode::kIo,
                     "cannot read the CA bundle '" + options.ca_file +
                         "': " + ec.message() + "; check --cacert");
  }
  impl->tls.use_certificate_chain_file(options.cert_file, ec);
  if (ec) {
    return MakeError(ErrorCode::kIo, "cannot read the client certificate '" +
                                         options.cert_file + "': " +
                                         ec.message() + "; check --cert");
  }
  impl->tls.use_private_key_file(options.key_file, ssl::context::pem, ec);
  if (ec) {
    return MakeError(ErrorCode::kIo,
                     "cannot read the client key '" + options.key_file +
                         "': " + ec.message() + "; check --key");
  }
  SSL_CTX_set_min_proto_version(impl->tls.native_handle(), TLS1_2_VERSION);

  auto& stream = impl->stream.emplace(impl->io, impl->tls);
  stream.set_verify_callback(ssl::host_name_verification(impl->host));
  if (!SSL_set_tlsext_host_name(stream.native_handle(), impl->host.c_str())) {
    return MakeError(ErrorCode::kInternal, "cannot set TLS server name");
  }
  tcp::resolver resolver(impl->io);
  auto endpoints = resolver.resolve(url->host, url->port, ec);
  if (ec) {
    return TransportError("cannot resolve hub host '" + url->host + "'", ec,
                          "check --hub");
  }
  auto& tcp_stream = beast::get_lowest_layer(stream);
  tcp_stream.expires_after(options.timeout);
  tcp_stream.connect(endpoints, ec);
  if (ec) {
    return TransportError("cannot connect to " + options.hub_url, ec,
                          "is cairnd running and is --hub right?");
  }
  tcp_stream.socket().set_option(tcp::no_delay(true), ec);
  stream.handshake(ssl::stream_base::client, ec);
  if (ec) {
    return TransportError(
        "TLS handshake with " + options.hub_url + " failed", ec,
        "check that --cacert signed the hub's certificate and that the hub "
        "accepts --cert (issued by its CA, with clientAuth usage, in date)");
  }
  return std::unique_ptr<HubConnection>(new HubConnection(std::move(impl)));
}

Result<HubReply> HubConnection::Send(std::string_view method,
                                     std::string_view target,
                                     std::string_view body) {
  http::request<http::string_body> request;
  request.method_string(beast::string_view(method.data(), method.size()));
  request.target(beast::string_view(target.data(), target.size()));
  request.version(11);
  request.set(http::field::host, impl_->host);
  request.set(http::field::user_agent, "cairnctl");
  request.keep_alive(true);
  if (!body.empty() || method == "POST" || method == "PUT") {
    request.set(http::field::content_type, "application/json");
    request.body() = std::string(body);
  }
  request.prepare_payload();

  boost::system::error_code ec;
  auto& tcp_stream = beast::get_lowest_layer(*impl_->stream);
  tcp_stream.expires_after(impl_->timeout);
  http::write(*impl_->stream, request, ec);
  if (ec) {
    return TransportError("sending the request failed", ec,
                          "the hub closed the connection; if it refused the "
                          "client certificate, ask the operator to check "
                          "its registration");
  }
  http::response_parser<http::string_body> parser;
  parser.body_limit(256 * 1024 * 1024);
  http::read(*impl_->stream, impl_->buffer, parser, ec);
  if (ec) {
    return TransportError("reading the hub's answer failed", ec,
                          "retry; if it persists, check the hub's log");
  }
  auto response = parser.release();
  return HubReply{static_cast<int>(response.result_int()),
                  std::move(response.body())};
}

}  // namespace cairn::server
