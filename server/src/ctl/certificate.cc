#include "server/src/ctl/certificate.h"

#include <cstdio>
#include <memory>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cairn/encoding.h"

namespace cairn::server {

Result<std::string> FingerprintOfPemFile(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"),
                                             &std::fclose);
  if (!file) {
    return MakeError(ErrorCode::kIo, "cannot open certificate file '" + path +
                                         "'; check the path and permissions");
  }
  std::unique_ptr<X509, void (*)(X509*)> cert(
      PEM_read_X509(file.get(), nullptr, nullptr, nullptr), &X509_free);
  if (!cert) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "'" + path +
                         "' holds no PEM certificate (expected a "
                         "'-----BEGIN CERTIFICATE-----' block)");
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (X509_digest(cert.get(), EVP_sha256(), digest, &length) != 1 ||
      length != 32) {
    return MakeError(
        ErrorCode::kCrypto,
        "could not compute the SHA-256 fingerprint of '" + path + "'");
  }
  return HexEncode(std::span<const std::uint8_t>(digest, length));
}

}  // namespace cairn::server
