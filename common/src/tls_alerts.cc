#include "cairn/tls_alerts.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace cairn {

std::optional<std::string_view> RefusedCertificateReason(
    unsigned long openssl_error) {
  if (ERR_GET_LIB(openssl_error) != ERR_LIB_SSL) return std::nullopt;
  switch (ERR_GET_REASON(openssl_error)) {
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
      return "the hub received no client certificate";
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
      return "it is not signed by a CA the hub trusts";
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
      return "it has expired";
    case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
      return "it has been revoked";
    case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
      return "it is not usable for this purpose (it needs the clientAuth "
             "extended key usage)";
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
      return "the hub found it invalid (e.g. not yet valid)";
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
      return "the hub could not verify it";
    case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
      return "the hub denied it access";
    default:
      return std::nullopt;
  }
}

}  // namespace cairn
