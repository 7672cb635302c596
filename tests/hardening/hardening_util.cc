#include "tests/hardening/hardening_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace cairn::testing {

namespace {

// Blocking socket to 127.0.0.1:port with send/receive timeouts, so that no
// call of a test can hang forever.
Result<int> ConnectLoopback(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return MakeError(ErrorCode::kIo, "socket() failed; raise the fd limit");
  }
  timeval tv{.tv_sec = 10, .tv_usec = 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address),
                sizeof address) != 0) {
    ::close(fd);
    return MakeError(ErrorCode::kUnavailable,
                     "connect to 127.0.0.1:" + std::to_string(port) +
                         " failed; is cairnd running?");
  }
  return fd;
}

bool PollIn(int fd, std::chrono::milliseconds timeout) {
  pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
  return ::poll(&p, 1, static_cast<int>(timeout.count())) > 0;
}

}  // namespace

// ---- TcpConnection ---------------------------------------------------------

Result<std::unique_ptr<TcpConnection>> TcpConnection::Open(std::uint16_t port) {
  auto fd = ConnectLoopback(port);
  if (!fd) return tl::unexpected(fd.error());
  return std::unique_ptr<TcpConnection>(new TcpConnection(*fd));
}

TcpConnection::~TcpConnection() {
  if (fd_ >= 0) ::close(fd_);
}

bool TcpConnection::Send(std::string_view bytes) {
  return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
         static_cast<ssize_t>(bytes.size());
}

bool TcpConnection::ClosedByPeer(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buffer[4096];
  for (;;) {
    // Poll at least once, even with a zero timeout.
    const auto left =
        std::max(std::chrono::milliseconds(0),
                 std::chrono::duration_cast<std::chrono::milliseconds>(
                     deadline - std::chrono::steady_clock::now()));
    if (!PollIn(fd_, left)) return false;
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n <= 0) return true;  // EOF or reset; bytes (an alert) read on
  }
}

// ---- RawTlsConnection ------------------------------------------------------

struct RawTlsConnection::Impl {
  int fd = -1;
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  ~Impl() {
    if (ssl != nullptr) SSL_free(ssl);
    if (ctx != nullptr) SSL_CTX_free(ctx);
    if (fd >= 0) ::close(fd);
  }
};

Result<std::unique_ptr<RawTlsConnection>> RawTlsConnection::Open(
    const RunningHub& hub, const std::string& who) {
  auto fd = ConnectLoopback(hub.Port());
  if (!fd) return tl::unexpected(fd.error());
  std::unique_ptr<RawTlsConnection> connection(new RawTlsConnection());
  connection->impl_ = std::make_unique<Impl>();
  Impl& impl = *connection->impl_;
  impl.fd = *fd;
  impl.ctx = SSL_CTX_new(TLS_client_method());
  if (impl.ctx == nullptr ||
      SSL_CTX_load_verify_locations(impl.ctx, hub.Pki().CaCert().c_str(),
                                    nullptr) != 1 ||
      SSL_CTX_use_certificate_chain_file(impl.ctx,
                                         hub.Pki().Cert(who).c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(impl.ctx, hub.Pki().Key(who).c_str(),
                                  SSL_FILETYPE_PEM) != 1) {
    return MakeError(ErrorCode::kCrypto,
                     "loading the PKI files for " + who +
                         " failed; regenerate the test PKI");
  }
  SSL_CTX_set_verify(impl.ctx, SSL_VERIFY_PEER, nullptr);
  impl.ssl = SSL_new(impl.ctx);
  SSL_set_fd(impl.ssl, impl.fd);
  SSL_set_tlsext_host_name(impl.ssl, "localhost");
  if (SSL_connect(impl.ssl) != 1) {
    ERR_clear_error();
    return MakeError(ErrorCode::kUnavailable,
                     "TLS handshake with cairnd failed for " + who);
  }
  return connection;
}

RawTlsConnection::~RawTlsConnection() = default;

bool RawTlsConnection::Write(std::string_view bytes) {
  while (!bytes.empty()) {
    const int n =
        SSL_write(impl_->ssl, bytes.data(), static_cast<int>(bytes.size()));
    if (n <= 0) {
      ERR_clear_error();
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool RawTlsConnection::Readable(std::chrono::milliseconds timeout) {
  return SSL_pending(impl_->ssl) > 0 || PollIn(impl_->fd, timeout);
}

std::string RawTlsConnection::ReadUntilClosed(
    std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string out;
  char buffer[16384];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !Readable(left)) break;
    const int n = SSL_read(impl_->ssl, buffer, sizeof buffer);
    if (n <= 0) {
      ERR_clear_error();
      break;
    }
    out.append(buffer, static_cast<std::size_t>(n));
  }
  return out;
}

std::string RawTlsConnection::ReadResponse(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string out;
  char buffer[16384];
  for (;;) {
    const auto end = out.find("\r\n\r\n");
    if (end != std::string::npos) {
      std::size_t length = 0;
      std::istringstream lines(out.substr(0, end));
      for (std::string line; std::getline(lines, line);) {
        if (line.size() > 15 &&
            strncasecmp(line.c_str(), "content-length:", 15) == 0) {
          length = std::strtoull(line.c_str() + 15, nullptr, 10);
        }
      }
      if (out.size() >= end + 4 + length) break;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !Readable(left)) break;
    const int n = SSL_read(impl_->ssl, buffer, sizeof buffer);
    if (n <= 0) {
      ERR_clear_error();
      break;
    }
    out.append(buffer, static_cast<std::size_t>(n));
  }
  return out;
}

// ---- Parsing and readings --------------------------------------------------

int StatusOf(const std::string& raw) {
  const auto at = raw.find("HTTP/1.");
  if (at == std::string::npos || raw.size() < at + 12) return 0;
  return std::atoi(raw.c_str() + at + 9);
}

std::string BodyOf(const std::string& raw) {
  const auto end = raw.find("\r\n\r\n");
  return end == std::string::npos ? std::string() : raw.substr(end + 4);
}

void IgnoreSigpipe() { std::signal(SIGPIPE, SIG_IGN); }

std::int64_t RssKib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atoll(line.c_str() + 6);
  }
  return 0;
}

Result<std::uint16_t> MetricsPort(const RunningHub& hub) {
  auto entries = WaitForPortFile(hub.Scratch().File("ports"),
                                 std::chrono::milliseconds(5000));
  if (!entries) return tl::unexpected(entries.error());
  for (const auto& entry : *entries) {
    if (entry.kind == "metrics") return entry.port;
  }
  return MakeError(ErrorCode::kNotFound,
                   "cairnd's port file has no metrics listener; set [metrics] "
                   "loopback_listen");
}

std::optional<double> ScrapeGauge(std::uint16_t metrics_port,
                                  const std::string& name) {
  const CommandResult scrape = RunCommand(
      {"curl", "-sS", "--max-time", "10",
       "http://127.0.0.1:" + std::to_string(metrics_port) + "/metrics"},
      std::chrono::seconds(15));
  if (scrape.exit_code != 0) return std::nullopt;
  std::istringstream lines(scrape.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(name + " ", 0) == 0) {
      return std::strtod(line.c_str() + name.size() + 1, nullptr);
    }
  }
  return std::nullopt;
}

double MillisSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now() - start)
      .count();
}

}  // namespace cairn::testing
