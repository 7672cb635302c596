// The hub's TLS server context: mutual TLS with the policy of the protocol.
#ifndef CAIRN_SERVER_TRANSPORT_TLS_CONTEXT_H_
#define CAIRN_SERVER_TRANSPORT_TLS_CONTEXT_H_

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <openssl/ssl.h>

#include "cairn/result.h"
#include "transport/asio.h"
#include "transport/server_config.h"

namespace cairn::server {

// How far ahead the hub warns (at start-up and on every reload) that its
// certificate or a client CA is about to expire.
inline constexpr std::chrono::days kTlsExpiryWarning{30};

// One certificate of the hub's TLS files, as the log and the metrics show it.
struct CertificateValidity {
  std::string subject;  // RFC 2253
  std::chrono::sys_seconds not_after;
};

// The dates of the files a server context was built from.
struct ServerTlsFiles {
  CertificateValidity server;  // the hub's own (first) certificate
  // Every certificate of the client CA bundle, in the trust store's order.
  std::vector<CertificateValidity> client_cas;
  // One sentence per certificate that ends within kTlsExpiryWarning, or
  // (a CA beside valid ones) has already ended or not begun: for the log.
  std::vector<std::string> warnings;

  // The end of the client CA that expires first.
  // REQUIRES: !client_cas.empty() (MakeServerTlsContext ensures it).
  std::chrono::sys_seconds EarliestClientCaNotAfter() const;
};

struct ServerTls {
  std::shared_ptr<ssl::context> context;
  ServerTlsFiles files;
};

// Builds a server context from the files in `config`: TLS 1.3 only (or 1.2
// with ECDHE+AEAD suites when allow_tls12), no compression, no
// renegotiation, a client certificate REQUIRED, chaining to config.ca_file,
// inside its validity period and carrying the clientAuth extended key usage;
// anything else fails the handshake. The files are read now: a later change
// on disk needs a new context (HubServer does that on SIGHUP).
//
// Refused as of `now`: a hub certificate that has expired (every client
// would refuse it), and a CA bundle none of whose certificates is valid
// (every member, the operator included, would be refused).
Result<ServerTls> MakeServerTlsContext(
    const TlsConfig& config, std::chrono::system_clock::time_point now =
                                 std::chrono::system_clock::now());

// A client certificate that failed verification in a handshake, as the
// verify callback saw it. (After a failed handshake OpenSSL need not keep
// the peer certificate, nor say which check failed, so this is the time
// to look.)
struct RefusedClientCertificate {
  // OpenSSL's verify result in words ("certificate has expired"), with the
  // chain depth when it is not about the client's own certificate.
  std::string reason;
  // Of the client's own (leaf) certificate: SHA-256 of its DER as 64
  // lowercase hex, and its subject CN (empty if it has none).
  std::string fingerprint;
  std::string common_name;
};

// Told when a connection's client certificate fails verification. Called
// on the thread running the handshake, inside OpenSSL and before the
// refusal is sent to the client; an exception it throws is swallowed
// there (none may cross OpenSSL's C frames).
class ClientCertificateWatcher {
 public:
  virtual void Refused(const RefusedClientCertificate& certificate) = 0;

 protected:
  ~ClientCertificateWatcher() = default;
};

// Makes `watcher` hear of `ssl`'s refused client certificate (the context's
// verify callback looks for it). `watcher` must outlive the handshake; a
// connection without one is refused all the same.
void WatchClientCertificate(SSL* ssl, ClientCertificateWatcher* watcher);

// SHA-256 of the peer certificate's DER encoding as 64 lowercase hex; empty
// if the peer sent no certificate.
std::string PeerCertificateFingerprint(SSL* ssl);

// When the peer certificate's validity ends; nullopt if there is none or
// its date cannot be read.
std::optional<std::chrono::sys_seconds> PeerCertificateNotAfter(SSL* ssl);

// The peer certificate's subject in RFC 2253 form ("CN=alpha,O=Cairn Dev");
// empty if none.
std::string PeerCertificateSubject(SSL* ssl);

}  // namespace cairn::server

#endif  // CAIRN_SERVER_TRANSPORT_TLS_CONTEXT_H_
