#include "server/src/ctl/hub_connection.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string_view>
#include <tuple>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cairn/certificate_names.h"
#include "cairn/hub_url.h"
#include "cairn/tls_alerts.h"
#include "server/src/ctl/certificate.h"
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
  std::string cert_file;
  // Of --cert, as `cairnctl member fingerprint add` takes it; empty when it
  // could not be computed.
  std::string fingerprint;
};

namespace {

tl::unexpected<Error> TransportError(const std::string& what,
                                     const boost::system::error_code& ec,
                                     const std::string& hint) {
  return MakeError(ErrorCode::kUnavailable,
                   what + ": " + ec.message() + "; " + hint);
}

// Why the hub refused this client's certificate, if `ec` is a TLS alert
// about it (cairn/tls_alerts.h).
std::optional<std::string_view> RefusedCertificateReason(
    const boost::system::error_code& ec) {
  if (ec.category() != asio::error::get_ssl_category()) return std::nullopt;
  return cairn::RefusedCertificateReason(
      static_cast<unsigned long>(ec.value()));
}

// A TLS alert refusing --cert as a refusal, not an outage: no retry or
// wait fixes the certificate, so cairnctl exits 1 for it as `cairn` does.
std::optional<tl::unexpected<Error>> CertificateRefused(
    const boost::system::error_code& ec, const std::string& cert_file,
    const std::string& fingerprint) {
  const auto reason = RefusedCertificateReason(ec);
  if (!reason) return std::nullopt;
  return MakeError(
      ErrorCode::kPermissionDenied,
      "the hub refused the client certificate '" + cert_file +
          "' (SHA-256 fingerprint " +
          (fingerprint.empty() ? std::string("unknown") : fingerprint) +
          "): " + std::string(*reason) + " (TLS alert: " + ec.message() +
          "); use as --cert a certificate signed by the hub's CA, in date, "
          "with the clientAuth usage, and registered with the hub "
          "(cairnctl member fingerprint add)");
}

// OpenSSL reports a file it cannot open as "asio.ssl error"; say why, as
// the system does.
std::optional<tl::unexpected<Error>> Unopenable(const std::string& path,
                                                const std::string& what,
                                                const std::string& flags) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"),
                                             &std::fclose);
  if (file) return std::nullopt;
  return MakeError(ErrorCode::kIo, "cannot open " + what + " '" + path +
                                       "': " + std::strerror(errno) +
                                       "; check " + flags);
}

// Why the handshake failed, in the words an operator can act on. OpenSSL
// keeps the result of checking the hub's certificate, so a certificate
// issued for another name is told apart from one another CA signed, and
// both from a hub that refused our certificate.
std::string HandshakeHint(SSL* ssl, const std::string& host) {
  const long result = SSL_get_verify_result(ssl);
  if (result == X509_V_ERR_HOSTNAME_MISMATCH ||
      result == X509_V_ERR_IP_ADDRESS_MISMATCH) {
    std::string names = "no names that could be read";
    // The chain the hub sent is kept even though it was refused.
    STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
    if (chain != nullptr && sk_X509_num(chain) > 0) {
      names = CertificateNames(sk_X509_value(chain, 0));
    }
    return "the hub's certificate is not issued for '" + host +
           "', the host in --hub (it names " + names +
           "); use a --hub URL with one of those names, and if that name "
           "does not resolve to the hub from here, add --hub-address with "
           "the address to connect to (the certificate is still checked "
           "against the --hub name)";
  }
  if (result != X509_V_OK) {
    return std::string("the hub's certificate was refused (") +
           X509_verify_cert_error_string(result) +
           "); check that --cacert is the CA that signed the hub's "
           "certificate and that the certificate is in date";
  }
  return "the hub's certificate was accepted, so check that the hub accepts "
         "--cert (issued by its CA, with clientAuth usage, in date) and "
         "that --hub is a Cairn hub";
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
  impl->cert_file = options.cert_file;
  for (const auto& [path, what, flags] :
       {std::tuple(options.ca_file, "the CA bundle",
                   "--cacert (or CAIRNCTL_CACERT)"),
        std::tuple(options.cert_file, "the client certificate",
                   "--cert (or CAIRNCTL_CERT)"),
        std::tuple(options.key_file, "the client key",
                   "--key (or CAIRNCTL_KEY)")}) {
    if (auto unopenable = Unopenable(path, what, flags)) return *unopenable;
  }
  impl->tls.set_verify_mode(ssl::verify_peer, ec);
  impl->tls.load_verify_file(options.ca_file, ec);
  if (ec) {
    return MakeError(ErrorCode::kIo,
                     "cannot read the CA bundle '" + options.ca_file +
                         "': " + ec.message() +
                         "; give --cacert (or CAIRNCTL_CACERT) a readable PEM "
                         "file holding the CA that signed the hub's "
                         "certificate");
  }
  impl->tls.use_certificate_chain_file(options.cert_file, ec);
  if (ec) {
    return MakeError(
        ErrorCode::kIo,
        "cannot read the client certificate '" + options.cert_file +
            "': " + ec.message() +
            "; give --cert (or CAIRNCTL_CERT) a readable PEM "
            "file holding the certificate of an operator or compliance member");
  }
  impl->tls.use_private_key_file(options.key_file, ssl::context::pem, ec);
  if (ec) {
    return MakeError(ErrorCode::kIo,
                     "cannot read the client key '" + options.key_file +
                         "': " + ec.message() +
                         "; give --key (or CAIRNCTL_KEY) a readable, "
                         "unencrypted PEM file holding the private key of "
                         "--cert (it must match the certificate)");
  }
  if (auto fingerprint = FingerprintOfPemFile(options.cert_file)) {
    impl->fingerprint = std::move(*fingerprint);
  }
  SSL_CTX_set_min_proto_version(impl->tls.native_handle(), TLS1_2_VERSION);

  auto& stream = impl->stream.emplace(impl->io, impl->tls);
  // OpenSSL checks the name (a DNS name, or an IP address written as one)
  // itself, so a mismatch is reported as X509_V_ERR_HOSTNAME_MISMATCH or
  // X509_V_ERR_IP_ADDRESS_MISMATCH rather than as an anonymous refusal.
  if (!SSL_set1_host(stream.native_handle(), impl->host.c_str()) ||
      !SSL_set_tlsext_host_name(stream.native_handle(), impl->host.c_str())) {
    return MakeError(ErrorCode::kInternal,
                     "cannot set the TLS server name '" + impl->host + "'");
  }
  const std::string& address =
      options.address.empty() ? url->host : options.address;
  tcp::resolver resolver(impl->io);
  auto endpoints = resolver.resolve(address, url->port, ec);
  if (ec) {
    return options.address.empty()
               ? TransportError("cannot resolve hub host '" + url->host + "'",
                                ec, "check --hub")
               : TransportError("cannot resolve '" + address + "'", ec,
                                "check --hub-address");
  }
  auto& tcp_stream = beast::get_lowest_layer(stream);
  tcp_stream.expires_after(options.timeout);
  tcp_stream.connect(endpoints, ec);
  if (ec) {
    return options.address.empty()
               ? TransportError("cannot connect to " + options.hub_url, ec,
                                "is cairnd running and is --hub right?")
               : TransportError(
                     "cannot connect to " + options.hub_url + " at " + address,
                     ec,
                     "is cairnd running there and are --hub's port "
                     "and --hub-address right?");
  }
  tcp_stream.socket().set_option(tcp::no_delay(true), ec);
  stream.handshake(ssl::stream_base::client, ec);
  if (auto refused =
          CertificateRefused(ec, impl->cert_file, impl->fingerprint)) {
    return *refused;
  }
  if (ec) {
    const std::string what = "TLS handshake with " + options.hub_url +
                             " failed: " + ec.message() + "; " +
                             HandshakeHint(stream.native_handle(), url->host);
    // A hub certificate this side refused (another CA, another name, out of
    // date) is no outage that a retry or a wait fixes: like the SDK (and so
    // `cairn`), call it a refusal, not unavailable.
    const bool hub_certificate_refused =
        SSL_get_verify_result(stream.native_handle()) != X509_V_OK;
    return MakeError(hub_certificate_refused ? ErrorCode::kPermissionDenied
                                             : ErrorCode::kUnavailable,
                     what);
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
    // The hub may have refused --cert with an alert (TLS 1.3) and closed
    // before the request went out; the alert, unread, says more than
    // "broken pipe".
    if (ec != beast::error::timeout) {
      tcp_stream.expires_after(std::min<std::chrono::seconds>(
          impl_->timeout, std::chrono::seconds(2)));
      http::response_parser<http::string_body> early;
      boost::system::error_code read_ec;
      http::read(*impl_->stream, impl_->buffer, early, read_ec);
      if (auto refused = CertificateRefused(read_ec, impl_->cert_file,
                                            impl_->fingerprint)) {
        return *refused;
      }
    }
    if (auto refused =
            CertificateRefused(ec, impl_->cert_file, impl_->fingerprint)) {
      return *refused;
    }
    return TransportError("sending the request failed", ec,
                          "the hub closed the connection; if it refused the "
                          "client certificate, ask the operator to check "
                          "its registration");
  }
  http::response_parser<http::string_body> parser;
  parser.body_limit(256 * 1024 * 1024);
  http::read(*impl_->stream, impl_->buffer, parser, ec);
  if (auto refused =
          CertificateRefused(ec, impl_->cert_file, impl_->fingerprint)) {
    return *refused;
  }
  if (ec) {
    return TransportError("reading the hub's answer failed", ec,
                          "retry; if it persists, check the hub's log");
  }
  auto response = parser.release();
  return HubReply{static_cast<int>(response.result_int()),
                  std::move(response.body())};
}

}  // namespace cairn::server
