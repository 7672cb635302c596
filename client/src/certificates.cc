#include "src/certificates.h"

#include <arpa/inet.h>

#include <cctype>
#include <cstdio>
#include <memory>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "cairn/encoding.h"
#include "cairn/wire/types.h"

namespace cairn::client_internal {
namespace {

std::string Sha256Hex(const unsigned char* data, std::size_t size) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data, size, digest, &length, EVP_sha256(), nullptr);
  return HexEncode(std::span<const std::uint8_t>(digest, length));
}

}  // namespace

Result<std::string> CertificateFingerprint(const std::string& pem_file) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(
      std::fopen(pem_file.c_str(), "r"), &std::fclose);
  if (!file) {
    return MakeError(ErrorCode::kIo, "cannot open the client certificate '" +
                                         pem_file +
                                         "'; check ClientOptions::cert_file");
  }
  std::unique_ptr<X509, void (*)(X509*)> cert(
      PEM_read_X509(file.get(), nullptr, nullptr, nullptr), &X509_free);
  if (!cert) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "'" + pem_file +
                         "' holds no PEM certificate; pass the "
                         "member's client certificate");
  }
  unsigned char* der = nullptr;
  const int size = i2d_X509(cert.get(), &der);
  if (size <= 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "cannot encode the certificate in '" + pem_file + "'");
  }
  std::string hex = Sha256Hex(der, static_cast<std::size_t>(size));
  OPENSSL_free(der);
  return hex;
}

std::string PublicKeyPin(X509* certificate) {
  unsigned char* der = nullptr;
  const int size = i2d_PUBKEY(X509_get0_pubkey(certificate), &der);
  if (size <= 0) return {};
  std::string hex = Sha256Hex(der, static_cast<std::size_t>(size));
  OPENSSL_free(der);
  return hex;
}

std::string ColonHex(std::string_view hex) {
  std::string out;
  out.reserve(hex.size() * 3 / 2);
  for (std::size_t i = 0; i < hex.size(); ++i) {
    if (i > 0 && i % 2 == 0) out += ':';
    out += static_cast<char>(std::toupper(static_cast<unsigned char>(hex[i])));
  }
  return out;
}

Result<std::string> CanonicalPin(std::string_view pin) {
  std::string out;
  for (char c : pin) {
    if (c == ':' || c == ' ') continue;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (!wire::IsLowerHex(out, 64)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "hub_pin must be the SHA-256 of the hub certificate's "
                     "public key as 64 hex characters, e.g. from `openssl "
                     "x509 -in hub.crt -pubkey -noout | openssl pkey -pubin "
                     "-outform der | sha256sum`");
  }
  return out;
}

}  // namespace cairn::client_internal
