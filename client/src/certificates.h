// Certificate helpers (internal): fingerprints and public-key pins.
#ifndef CAIRN_CLIENT_SRC_CERTIFICATES_H_
#define CAIRN_CLIENT_SRC_CERTIFICATES_H_

#include <string>
#include <string_view>

#include <openssl/x509.h>

#include "cairn/result.h"

namespace cairn::client_internal {

// SHA-256 of the DER of the first certificate in a PEM file, 64 lowercase
// hex (what the hub calls the fingerprint).
Result<std::string> CertificateFingerprint(const std::string& pem_file);

// SHA-256 of the certificate's SubjectPublicKeyInfo DER, 64 lowercase hex.
std::string PublicKeyPin(X509* certificate);

// "abcd..." -> "AB:CD:...", the form operators see in most tools.
std::string ColonHex(std::string_view hex);

// Canonical pin: lowercase, colons and spaces removed; error unless 64 hex.
Result<std::string> CanonicalPin(std::string_view pin);

}  // namespace cairn::client_internal

#endif  // CAIRN_CLIENT_SRC_CERTIFICATES_H_
