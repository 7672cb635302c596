// The hub's TLS server context: mutual TLS with the policy of the protocol.
#ifndef CAIRN_SERVER_TRANSPORT_TLS_CONTEXT_H_
#define CAIRN_SERVER_TRANSPORT_TLS_CONTEXT_H_

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <openssl/ssl.h>

#include "cairn/result.h"
#include "transport/asio.h"
#include "transport/server_config.h"

namespace cairn::server {

// Builds a server context from the files in `config`: TLS 1.3 only (or 1.2
// with ECDHE+AEAD suites when allow_tls12), no compression, no
// renegotiation, a client certificate REQUIRED, chaining to config.ca_file,
// inside its validity period and carrying the clientAuth extended key usage;
// anything else fails the handshake. The files are read now: a later change
// on disk needs a new context (HubServer does that on SIGHUP).
Result<std::shared_ptr<ssl::context>> MakeServerTlsContext(
    const TlsConfig& config);

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
