// HubServer: the hub's network front. Accepts mutually authenticated TLS
// connections on the configured addresses, reads HTTP/1.1 requests under the
// configured limits and timeouts, and hands each one with the peer's identity
// to a RequestHandler.
//
//   auto server = HubServer::Create(config.transport, handler);
//   if (!server) { ... server.error().message ... }
//   (*server)->Run();  // until SIGTERM/SIGINT or Stop()
#ifndef CAIRN_SERVER_TRANSPORT_HUB_SERVER_H_
#define CAIRN_SERVER_TRANSPORT_HUB_SERVER_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "cairn/result.h"
#include "http/request_handler.h"
#include "transport/connection_refusals.h"
#include "transport/handshake_failures.h"
#include "transport/server_config.h"

namespace cairn::server {

class HubServer {
 public:
  // Validates `config`, loads the TLS files (logging their dates as
  // ReloadTls does) and binds every listener (so the ports are known, and
  // written to config.port_file, when this returns).
  // Errors name the bad key or file and what to do. `handler` must outlive
  // the server.
  static Result<std::unique_ptr<HubServer>> Create(
      const TransportConfig& config, RequestHandler& handler);

  HubServer(const HubServer&) = delete;
  HubServer& operator=(const HubServer&) = delete;
  // REQUIRES: Run() is not executing (it has returned, or never ran).
  ~HubServer();

  // Serves on config.io_threads threads (the caller's included) until
  // stopped: by Stop(), or by SIGTERM/SIGINT when config.handle_signals (which
  // also makes SIGHUP reload the TLS files). A graceful stop closes the
  // listeners, lets in-flight requests finish for up to timeouts.drain, then
  // closes every connection and returns. Call at most once.
  void Run();

  // Begins a graceful stop; Run() returns when it is done. Thread-safe,
  // idempotent, may be called before Run().
  void Stop();

  // Re-reads the certificate, key and CA files into a new TLS context used
  // by connections accepted from now on; open connections keep theirs. On
  // error (also an expired hub certificate, or a CA bundle with no valid
  // CA: MakeServerTlsContext) the old context stays in use. Logs the hub
  // certificate's subject and end, and warns of certificates that expire
  // within kTlsExpiryWarning, as Create does. Thread-safe.
  Status ReloadTls();

  // When the TLS files in use stop working: the hub's certificate, and the
  // client CA that expires first.
  struct TlsExpiry {
    std::chrono::sys_seconds server_not_after;
    std::chrono::sys_seconds earliest_client_ca_not_after;
  };
  // Of the files loaded last (at Create or the last successful reload).
  // Thread-safe.
  TlsExpiry TlsCertificateExpiry() const;

  // The bound port of each config.listen_addresses entry, in order.
  std::vector<std::uint16_t> ListenPorts() const;
  // The bound port of the metrics listener, if one is configured.
  std::optional<std::uint16_t> MetricsPort() const;
  // Connections open now (for metrics and tests).
  std::size_t OpenConnections() const;
  // TLS handshakes that failed with `reason` since Create (for metrics and
  // tests). A refused client certificate is counted before the client is
  // told. Failures are also logged (see handshake_failures.h); the log's
  // summary of the ones its rate limit held back comes at the latest when
  // Run returns.
  std::uint64_t HandshakeFailures(HandshakeFailureReason reason) const;
  // Connections closed on accept (or right after their handshake) because
  // the budget named by `reason` was full, since Create (for metrics and
  // tests). Counted before the socket is closed. Also logged, under a rate
  // limit (see connection_refusals.h).
  std::uint64_t ConnectionsRefused(ConnectionRefusalReason reason) const;

 private:
  struct Impl;
  explicit HubServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn::server

#endif  // CAIRN_SERVER_TRANSPORT_HUB_SERVER_H_
