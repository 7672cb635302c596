// What a TLS alert from the hub says about the client's certificate, for
// the messages of the SDK and cairnctl, which must both tell a refused
// certificate (fix the certificate; no retry helps) from an outage.
#ifndef CAIRN_TLS_ALERTS_H_
#define CAIRN_TLS_ALERTS_H_

#include <optional>
#include <string_view>

namespace cairn {

// Why the hub refused the client's certificate, if `openssl_error` (an
// OpenSSL error code, e.g. the value of an asio ssl-category error) is a
// TLS alert the hub sends about it; nullopt for any other error. Under
// TLS 1.3 the client finishes its handshake before the hub has checked the
// certificate, so the alert arrives on the first read or write after it;
// under TLS 1.2 it ends the handshake. An unregistered or revoked
// certificate the hub's CA signed is not refused by alert: the hub answers
// it with a 403 naming its fingerprint.
std::optional<std::string_view> RefusedCertificateReason(
    unsigned long openssl_error);

}  // namespace cairn

#endif  // CAIRN_TLS_ALERTS_H_
