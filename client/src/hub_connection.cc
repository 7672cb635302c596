// MakeHubConnection: a pool of keep-alive HTTPS + mutual-TLS connections.
//
// Each pooled connection owns a private io_context and is used by one thread
// at a time; blocking calls run asynchronous operations to completion so
// that every stage has a timeout (beast::tcp_stream::expires_after). Host
// name resolution and the TCP connect share one connect_timeout; the TLS
// handshake has another; writing the request and reading the reply share
// request_timeout.
#include <poll.h>

#include <charconv>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <vector>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "cairn/certificate_names.h"
#include "cairn/connection.h"
#include "cairn/hub_url.h"
#include "cairn/tls_alerts.h"
#include "src/asio.h"
#include "src/certificates.h"
#include "src/hub_connection.h"
#include "src/retry.h"

namespace cairn {

std::string_view HttpReply::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key.size() != name.size()) continue;
    bool equal = true;
    for (std::size_t i = 0; i < key.size() && equal; ++i) {
      equal = std::tolower(static_cast<unsigned char>(key[i])) ==
              std::tolower(static_cast<unsigned char>(name[i]));
    }
    if (equal) return value;
  }
  return {};
}

namespace client_internal {
namespace {

using error_code = boost::system::error_code;
constexpr std::uint64_t kMaxReplyBytes = 256ull * 1024 * 1024;
// How long to wait for an answer the hub sent before a failed write.
constexpr std::chrono::seconds kEarlyReplyTimeout{2};

// Why the hub refused this client's certificate, if `ec` is a TLS alert
// about it (cairn/tls_alerts.h).
std::optional<std::string_view> RefusedCertificateReason(const error_code& ec) {
  if (ec.category() != asio::error::get_ssl_category()) return std::nullopt;
  return cairn::RefusedCertificateReason(
      static_cast<unsigned long>(ec.value()));
}

// Runs one asynchronous operation to completion on `io`.
template <typename Start>
error_code RunOp(asio::io_context& io, Start start) {
  error_code result = asio::error::would_block;
  start([&result](error_code ec, auto&&...) { result = ec; });
  io.restart();
  io.run();
  return result;
}

// "10 s", "250 ms": a timeout as the user set it.
std::string Duration(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + " s";
  return std::to_string(d.count()) + " ms";
}

class PooledStream {
 public:
  PooledStream(ssl::context& tls) : stream_(io_, tls) {}

  asio::io_context io_;
  beast::ssl_stream<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
  // When the last exchange ended (set when the stream goes back to the
  // pool).
  std::chrono::steady_clock::time_point last_used;
  // How long this stream may idle in the pool: the pool's bound, or less
  // when the hub's last reply announced a shorter idle timeout.
  std::chrono::milliseconds max_idle{0};
};

// The idle timeout a reply's `Keep-Alive: timeout=N` announces (cairnd
// sends its [timeouts] idle_seconds), if it names one.
std::optional<std::chrono::seconds> AnnouncedIdleTimeout(
    std::string_view keep_alive) {
  // "timeout=N" among comma-separated parameters ("timeout=5, max=100").
  while (!keep_alive.empty()) {
    const std::size_t comma = keep_alive.find(',');
    std::string_view param = keep_alive.substr(0, comma);
    keep_alive.remove_prefix(comma == std::string_view::npos ? keep_alive.size()
                                                             : comma + 1);
    while (!param.empty() && param.front() == ' ') param.remove_prefix(1);
    while (!param.empty() && param.back() == ' ') param.remove_suffix(1);
    constexpr std::string_view kTimeout = "timeout=";
    if (param.substr(0, kTimeout.size()) != kTimeout) continue;
    param.remove_prefix(kTimeout.size());
    std::int64_t seconds = 0;
    const auto [end, ec] =
        std::from_chars(param.data(), param.data() + param.size(), seconds);
    if (ec != std::errc() || end != param.data() + param.size() ||
        seconds < 0) {
      return std::nullopt;
    }
    return std::chrono::seconds(seconds);
  }
  return std::nullopt;
}

// The outcome of one resolution, shared between the waiting caller and the
// thread that resolves (which may outlive the wait).
struct Resolution {
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  error_code ec;
  tcp::resolver::results_type results;
};

// Resolves host:port by `deadline`. getaddrinfo cannot be cancelled, and
// Asio's async_resolve runs it on a thread that destroying the io_context
// joins, so a stalled DNS server would hold the caller past any deadline:
// the resolution runs on a detached thread of its own, which finishes (and
// is forgotten) whenever getaddrinfo returns. Returns false at the
// deadline; true once `resolution` holds the outcome.
bool ResolveBy(const std::shared_ptr<Resolution>& resolution,
               const std::string& host, const std::string& port,
               std::chrono::steady_clock::time_point deadline,
               const std::function<void()>& before_resolve) {
  try {
    std::thread([resolution, host, port, before_resolve] {
      if (before_resolve) before_resolve();
      asio::io_context io;
      tcp::resolver resolver(io);
      error_code ec;
      auto results = resolver.resolve(host, port, ec);
      std::lock_guard lock(resolution->mutex);
      resolution->ec = ec;
      resolution->results = std::move(results);
      resolution->done = true;
      resolution->done_cv.notify_all();
    }).detach();
  } catch (const std::system_error& e) {
    std::lock_guard lock(resolution->mutex);
    resolution->ec =
        error_code(e.code().value(), boost::system::system_category());
    resolution->done = true;
    return true;
  }
  std::unique_lock lock(resolution->mutex);
  return resolution->done_cv.wait_until(lock, deadline,
                                        [&] { return resolution->done; });
}

class HubPool final : public Connection {
 public:
  HubPool(ClientOptions options, HubAddress address, std::string pin,
          PoolSeams seams)
      : options_(std::move(options)),
        address_(std::move(address)),
        pin_(std::move(pin)),
        seams_(std::move(seams)) {}

  Status Configure() {
    error_code ec;
    tls_.set_verify_mode(ssl::verify_peer, ec);
    tls_.load_verify_file(options_.ca_file, ec);
    if (ec) {
      return MakeError(ErrorCode::kIo, "cannot read the CA bundle '" +
                                           options_.ca_file +
                                           "': " + ec.message() +
                                           "; check ClientOptions::ca_file");
    }
    tls_.use_certificate_chain_file(options_.cert_file, ec);
    if (ec) {
      return MakeError(ErrorCode::kIo, "cannot read the client certificate '" +
                                           options_.cert_file +
                                           "': " + ec.message() +
                                           "; check ClientOptions::cert_file");
    }
    tls_.use_private_key_file(options_.key_file, ssl::context::pem, ec);
    if (ec) {
      return MakeError(ErrorCode::kIo,
                       "cannot read the client key '" + options_.key_file +
                           "': " + ec.message() +
                           " (it must match the certificate); check "
                           "ClientOptions::key_file");
    }
    SSL_CTX_set_min_proto_version(tls_.native_handle(), TLS1_2_VERSION);
    if (auto fp = CertificateFingerprint(options_.cert_file)) {
      fingerprint_ = ColonHex(*fp);
    }
    return {};
  }

  Result<HttpReply> Send(const HttpRequest& request) override {
    std::unique_ptr<PooledStream> stream = TakeIdle();
    if (!stream) {
      auto fresh = Open();
      if (!fresh) return tl::unexpected(fresh.error());
      stream = std::move(*fresh);
    }
    auto reply = Exchange(*stream, request);
    if (reply && reply->Header("Connection") != "close") {
      stream->max_idle = seams_.max_idle;
      if (auto announced = AnnouncedIdleTimeout(reply->Header("Keep-Alive"))) {
        // Three quarters, as kMaxPooledIdle is of cairnd's default: the
        // hub's idle clock started when it sent the reply, and its close
        // may be on the way before it is readable here.
        stream->max_idle = std::min<std::chrono::milliseconds>(
            stream->max_idle, std::chrono::milliseconds(*announced) * 3 / 4);
      }
      GiveBack(std::move(stream));
    }
    return reply;
  }

 private:
  std::unique_ptr<PooledStream> TakeIdle() {
    const auto now = std::chrono::steady_clock::now();
    while (true) {
      std::unique_ptr<PooledStream> stream;
      {
        // Only the pop under the lock: with the poll below inside it,
        // threads sharing the pool queued on the lock (three futex calls
        // per request with eight threads, perf of cairn-bench).
        std::lock_guard lock(mutex_);
        if (idle_.empty()) return nullptr;
        stream = std::move(idle_.back());
        idle_.pop_back();
      }
      // Idle close to the hub's idle timeout: the hub's close may be on
      // its way and not yet readable (kMaxPooledIdle).
      if (now - stream->last_used >= stream->max_idle) continue;
      // A connection the hub closed while idle is readable (EOF); any
      // unexpected byte also means it is unusable.
      pollfd fd{};
      fd.fd = beast::get_lowest_layer(stream->stream_).socket().native_handle();
      fd.events = POLLIN;
      if (::poll(&fd, 1, 0) == 0) return stream;
    }
  }

  void GiveBack(std::unique_ptr<PooledStream> stream) {
    stream->last_used = std::chrono::steady_clock::now();
    std::lock_guard lock(mutex_);
    if (idle_.size() < std::max<std::size_t>(1, options_.pool_size)) {
      idle_.push_back(std::move(stream));
    }
  }

  Result<std::unique_ptr<PooledStream>> Open() {
    auto stream = std::make_unique<PooledStream>(tls_);
    auto& ssl_stream = stream->stream_;
    // OpenSSL checks the name itself (a DNS name, or an IP address written
    // as one) as part of verifying the chain, rather than a verify callback,
    // so that a mismatch is kept as X509_V_ERR_HOSTNAME_MISMATCH or
    // X509_V_ERR_IP_ADDRESS_MISMATCH and can be told apart from a
    // certificate another CA signed.
    if (!SSL_set1_host(ssl_stream.native_handle(), address_.host.c_str()) ||
        !SSL_set_tlsext_host_name(ssl_stream.native_handle(),
                                  address_.host.c_str())) {
      return MakeError(
          ErrorCode::kInternal,
          "cannot set the TLS server name '" + address_.host + "'");
    }
    // Resolving and connecting share one connect_timeout.
    const auto deadline =
        std::chrono::steady_clock::now() + options_.connect_timeout;
    auto resolution = std::make_shared<Resolution>();
    if (!ResolveBy(resolution, address_.host, address_.port, deadline,
                   seams_.before_resolve)) {
      return MakeError(
          ErrorCode::kUnavailable,
          "resolving the hub host '" + address_.host +
              "' did not finish within connect_timeout (" +
              Duration(options_.connect_timeout) +
              "); check this machine's DNS resolver (/etc/resolv.conf) and "
              "the host in the hub URL");
    }
    error_code ec = resolution->ec;
    if (ec) {
      return MakeError(ErrorCode::kUnavailable,
                       "cannot resolve the hub host '" + address_.host +
                           "': " + ec.message() + "; check the hub URL");
    }
    auto& tcp_stream = beast::get_lowest_layer(ssl_stream);
    tcp_stream.expires_at(deadline);
    ec = RunOp(stream->io_, [&](auto handler) {
      tcp_stream.async_connect(resolution->results, std::move(handler));
    });
    if (ec == beast::error::timeout) {
      return MakeError(
          ErrorCode::kUnavailable,
          "connecting to " + options_.hub_url +
              " timed out (connect_timeout, " +
              Duration(options_.connect_timeout) +
              "): nothing answered at that address; check that the hub is "
              "running, that the URL's host and port are right and that no "
              "firewall drops the connection");
    }
    if (ec) {
      return MakeError(ErrorCode::kUnavailable,
                       "cannot connect to " + options_.hub_url + ": " +
                           ec.message() +
                           "; is the hub running and is the URL right?");
    }
    tcp_stream.socket().set_option(tcp::no_delay(true), ec);
    tcp_stream.expires_after(options_.connect_timeout);
    ec = RunOp(stream->io_, [&](auto handler) {
      ssl_stream.async_handshake(ssl::stream_base::client, std::move(handler));
    });
    if (auto refused = CertificateRefused(ec)) return *refused;
    if (ec == beast::error::timeout) {
      return MakeError(
          ErrorCode::kUnavailable,
          "the TLS handshake with " + options_.hub_url +
              " did not complete within connect_timeout (" +
              Duration(options_.connect_timeout) +
              "): the server accepted the connection but did not finish "
              "TLS; check that the URL's port is the hub's HTTPS port (not "
              "a plain-HTTP port, a proxy or another service); if it is, the "
              "hub is overloaded or stalled: ask its operator");
    }
    if (ec) {
      if (auto mismatch = HostMismatch(ssl_stream.native_handle())) {
        return *mismatch;
      }
      if (auto refused = HubCertificateRefused(ssl_stream.native_handle())) {
        return *refused;
      }
      return MakeError(
          ErrorCode::kUnavailable,
          "TLS handshake with " + options_.hub_url +
              " failed: " + ec.message() +
              "; check that ca_file signed the hub's certificate and that "
              "the hub accepts cert_file (issued by the hub's CA, clientAuth "
              "usage, in date)");
    }
    if (!pin_.empty()) {
      std::unique_ptr<X509, void (*)(X509*)> peer(
          SSL_get1_peer_certificate(ssl_stream.native_handle()), &X509_free);
      const std::string actual = peer ? PublicKeyPin(peer.get()) : "";
      if (actual != pin_) {
        // Not retryable: a different key will not change by retrying.
        return MakeError(
            ErrorCode::kPermissionDenied,
            "hub certificate does not match the pinned key (the hub presented "
            "key " +
                actual + ", pinned " + pin_ +
                "); if the hub operator rotated the key, confirm the new pin "
                "with them out of band and update hub_pin");
      }
    }
    return stream;
  }

  Result<HttpReply> Exchange(PooledStream& stream, const HttpRequest& request) {
    http::request<http::string_body> message;
    message.method_string(request.method);
    message.target(request.target);
    message.version(11);
    message.set(http::field::host, address_.host);
    message.set(http::field::user_agent, options_.user_agent);
    message.keep_alive(true);
    for (const auto& [name, value] : request.headers) message.set(name, value);
    if (request.method != "GET") {
      message.set(http::field::content_type, "application/json");
      message.body() = request.body;
    }
    message.prepare_payload();

    auto& tcp_stream = beast::get_lowest_layer(stream.stream_);
    tcp_stream.expires_after(options_.request_timeout);
    error_code ec = RunOp(stream.io_, [&](auto handler) {
      http::async_write(stream.stream_, message, std::move(handler));
    });
    if (ec) {
      // The hub may have answered before taking the whole request (413 for
      // a body over its limit) and closed. Its answer can still be waiting
      // in the socket's receive buffer (Asio's TLS stream writes through
      // its own buffers, so the TLS session survives the failed write), and
      // it says more than "Broken pipe". A timeout closed the socket.
      if (ec != beast::error::timeout) {
        tcp_stream.expires_after(std::min<std::chrono::milliseconds>(
            options_.request_timeout, kEarlyReplyTimeout));
        auto early = ReadReply(stream);
        if (early) {
          early->headers.emplace_back("Connection", "close");
          return std::move(*early);
        }
        if (auto refused = CertificateRefused(early.error())) return *refused;
      }
      if (auto refused = CertificateRefused(ec)) return *refused;
      if (ec == beast::error::timeout) {
        return MakeError(ErrorCode::kIo,
                         "sending the request to the hub did not finish within "
                         "request_timeout (" +
                             Duration(options_.request_timeout) +
                             "); it may or may not have arrived; " +
                             TimeoutAdvice(request));
      }
      return MakeError(ErrorCode::kIo,
                       "sending the request to the hub failed: " +
                           ec.message() + "; it may or may not have arrived");
    }
    auto reply = ReadReply(stream);
    if (!reply) {
      ec = reply.error();
      if (auto refused = CertificateRefused(ec)) return *refused;
      if (ec == beast::error::timeout) {
        return MakeError(ErrorCode::kIo,
                         "the hub did not answer within request_timeout (" +
                             Duration(options_.request_timeout) +
                             "); the request may or may not have been "
                             "processed; " +
                             TimeoutAdvice(request));
      }
      return MakeError(ErrorCode::kIo,
                       "reading the hub's reply failed: " + ec.message() +
                           "; the request may or may not have been processed");
    }
    return std::move(*reply);
  }

  // What to do about a request_timeout: a batch in a POST body can take
  // the hub long; a GET should not.
  static std::string TimeoutAdvice(const HttpRequest& request) {
    if (request.method == "POST" && !request.body.empty()) {
      return "a large batch takes the hub longer: raise "
             "ClientOptions::request_timeout or lower max_batch";
    }
    return "the hub or the network stalled: check the hub's health "
           "(GET /healthz) or ask the hub operator";
  }

  // Reads one HTTP reply from `stream` (timeout already set).
  static tl::expected<HttpReply, error_code> ReadReply(PooledStream& stream) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxReplyBytes);
    const error_code ec = RunOp(stream.io_, [&](auto handler) {
      http::async_read(stream.stream_, stream.buffer_, parser,
                       std::move(handler));
    });
    if (ec) return tl::unexpected(ec);
    auto response = parser.release();
    HttpReply reply;
    reply.status = static_cast<int>(response.result_int());
    reply.body = std::move(response.body());
    for (const auto& field : response) {
      reply.headers.emplace_back(std::string(field.name_string()),
                                 std::string(field.value()));
    }
    if (!response.keep_alive()) {
      reply.headers.emplace_back("Connection", "close");
    }
    return reply;
  }

  // A TLS alert refusing this client's certificate as a permission error:
  // retrying cannot help, and the user must fix the certificate.
  std::optional<tl::unexpected<Error>> CertificateRefused(
      const error_code& ec) const {
    const auto reason = RefusedCertificateReason(ec);
    if (!reason) return std::nullopt;
    return MakeError(
        ErrorCode::kPermissionDenied,
        "the hub refused this client certificate (" + options_.cert_file +
            ", fingerprint " +
            (fingerprint_.empty() ? std::string("unknown") : fingerprint_) +
            "): " + std::string(*reason) + " (TLS alert: " + ec.message() +
            "); check that cert_file is the certificate the hub operator "
            "registered, signed by the CA the hub trusts, in date, not "
            "revoked and with the clientAuth usage");
  }

  // A hub certificate that is not issued for the host in the hub URL, as a
  // permission error like a pin mismatch: retrying cannot help, and the
  // error names the names the certificate does hold so that the user can
  // tell a wrong URL from a wrong certificate.
  std::optional<tl::unexpected<Error>> HostMismatch(SSL* ssl) const {
    const long result = SSL_get_verify_result(ssl);
    if (result != X509_V_ERR_HOSTNAME_MISMATCH &&
        result != X509_V_ERR_IP_ADDRESS_MISMATCH) {
      return std::nullopt;
    }
    std::string names = "no names that could be read";
    // The chain the hub sent is kept although it was refused.
    STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
    if (chain != nullptr && sk_X509_num(chain) > 0) {
      names = CertificateNames(sk_X509_value(chain, 0));
    }
    return MakeError(
        ErrorCode::kPermissionDenied,
        "the hub's certificate is not valid for host '" + address_.host +
            "', the host in the hub URL " + options_.hub_url +
            " (it is for: " + names +
            "); check the hub URL (ClientOptions::hub_url, cairn's --hub) "
            "and use one of the certificate's names, or ask the hub operator "
            "for a certificate that names this host");
  }

  // The hub's certificate failed this client's checks for a reason other
  // than its host name: name that reason. The generic message would also
  // send the user to their own cert_file, which is not at fault here (an
  // expired hub certificate read as "check that the hub accepts
  // cert_file"). A permission error like a host mismatch, not retried: a
  // wrong ca_file, or a certificate an operator must renew or a clock
  // someone must fix, does not change within the seconds of backoff, which
  // would only delay the error.
  std::optional<tl::unexpected<Error>> HubCertificateRefused(SSL* ssl) const {
    const long result = SSL_get_verify_result(ssl);
    if (result == X509_V_OK) return std::nullopt;
    std::string advice;
    switch (result) {
      case X509_V_ERR_CERT_HAS_EXPIRED:
        advice = "the hub operator must renew it";
        break;
      case X509_V_ERR_CERT_NOT_YET_VALID:
        advice =
            "check this machine's clock, or ask the hub operator when it "
            "becomes valid";
        break;
      default:
        advice =
            "check that ca_file (" + options_.ca_file +
            ") is the CA that signed the hub's certificate, or ask the hub "
            "operator for that CA";
        break;
    }
    return MakeError(ErrorCode::kPermissionDenied,
                     "TLS handshake with " + options_.hub_url +
                         " failed: the hub's certificate was refused (" +
                         X509_verify_cert_error_string(result) + "); " +
                         advice);
  }

  ClientOptions options_;
  HubAddress address_;
  std::string pin_;
  PoolSeams seams_;
  std::string fingerprint_;  // of cert_file, "AB:CD:..."; empty if unreadable
  ssl::context tls_{ssl::context::tls_client};
  std::mutex mutex_;
  std::vector<std::unique_ptr<PooledStream>> idle_;
};

}  // namespace
}  // namespace client_internal

Result<std::shared_ptr<Connection>> MakeHubConnection(
    const ClientOptions& options) {
  return client_internal::MakeHubConnection(options,
                                            client_internal::PoolSeams{});
}

Result<std::shared_ptr<Connection>> client_internal::MakeHubConnection(
    const ClientOptions& options, PoolSeams seams) {
  auto address = ParseHubUrl(options.hub_url);
  if (!address) return tl::unexpected(address.error());
  std::string pin;
  if (!options.hub_pin.empty()) {
    auto canonical = CanonicalPin(options.hub_pin);
    if (!canonical) return tl::unexpected(canonical.error());
    pin = std::move(*canonical);
  }
  for (const auto& [value, what] :
       {std::pair{&options.cert_file,
                  "cert_file (the member's client "
                  "certificate)"},
        std::pair{&options.key_file, "key_file (its private key)"},
        std::pair{&options.ca_file, "ca_file (the CA that signed the hub)"}}) {
    if (value->empty()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       std::string("ClientOptions::") + what + " is not set");
    }
  }
  auto pool = std::make_shared<HubPool>(options, std::move(*address),
                                        std::move(pin), std::move(seams));
  if (auto status = pool->Configure(); !status) {
    return tl::unexpected(status.error());
  }
  return MakeRetryingConnection(std::move(pool), options.retry);
}

}  // namespace cairn
