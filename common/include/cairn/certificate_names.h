// The names a certificate is issued for, for error messages that must tell
// a wrong URL from a wrong certificate (the SDK and cairnctl both name
// them when a hub's certificate does not match the host they asked for).
#ifndef CAIRN_CERTIFICATE_NAMES_H_
#define CAIRN_CERTIFICATE_NAMES_H_

#include <string>

#include <openssl/types.h>

namespace cairn {

// The DNS names and IP addresses `certificate` is issued for (its
// subjectAltName entries, in order), e.g. "DNS:hub.example.org,
// IP:10.0.0.5"; "none" when it has no such entry. Other kinds of entry
// (e-mail, URI) are left out.
std::string CertificateNames(X509* certificate);

}  // namespace cairn

#endif  // CAIRN_CERTIFICATE_NAMES_H_
