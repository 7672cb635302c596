#include "server/src/ctl/certificate.h"

#include <cstdio>
#include <ctime>
#include <memory>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cairn/asn1_time.h"
#include "cairn/encoding.h"
#include "cairn/timestamp.h"

namespace cairn::server {
namespace {

using X509Ptr = std::unique_ptr<X509, void (*)(X509*)>;

Result<X509Ptr> ReadPemCertificate(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"),
                                             &std::fclose);
  if (!file) {
    return MakeError(ErrorCode::kIo, "cannot open certificate file '" + path +
                                         "'; check the path and permissions");
  }
  X509Ptr cert(PEM_read_X509(file.get(), nullptr, nullptr, nullptr),
               &X509_free);
  if (!cert) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "'" + path +
                         "' holds no PEM certificate (expected a "
                         "'-----BEGIN CERTIFICATE-----' block)");
  }
  return cert;
}

Result<std::string> FingerprintOf(X509* cert, const std::string& path) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (X509_digest(cert, EVP_sha256(), digest, &length) != 1 || length != 32) {
    return MakeError(
        ErrorCode::kCrypto,
        "could not compute the SHA-256 fingerprint of '" + path + "'");
  }
  return HexEncode(std::span<const std::uint8_t>(digest, length));
}

}  // namespace

Result<std::string> FingerprintOfPemFile(const std::string& path) {
  auto cert = ReadPemCertificate(path);
  if (!cert) return tl::unexpected(cert.error());
  return FingerprintOf(cert->get(), path);
}

Result<std::string> MemberFingerprintOfPemFile(
    const std::string& path, std::chrono::system_clock::time_point now,
    CertificateUse use) {
  auto cert = ReadPemCertificate(path);
  if (!cert) return tl::unexpected(cert.error());
  // The first operator has no hub yet: cert sign can only issue its
  // certificate without registering it (init registers it).
  const std::string issue_another =
      use == CertificateUse::kFirstOperator
          ? "; the hub would refuse it at every handshake, so no hub was "
            "made: sign the operator's CSR with the hub's CA (tls.ca) as a "
            "client certificate, with the openssl commands of operator guide "
            "section 1 (a production PKI) or with 'cairnctl cert sign --csr "
            "operator.csr --ca-cert CA.pem --ca-key CA.key --member "
            "operator --out operator.pem --no-register' (no hub to register "
            "with yet: init registers it), then run init again with that "
            "--operator-cert"
          : "; the hub would refuse it at every handshake, so it was not "
            "registered: issue the member a client certificate from its CSR "
            "('cairnctl cert sign', operator guide section 1)";
  const std::time_t now_t = std::chrono::system_clock::to_time_t(now);
  const ASN1_TIME* not_after = X509_get0_notAfter(cert->get());
  if (ASN1_TIME_cmp_time_t(not_after, now_t) < 0) {
    const auto at = Asn1TimeToSysSeconds(not_after);
    const std::string when = at ? "at " + FormatTimestamp(*at) : "before now";
    return MakeError(
        ErrorCode::kInvalidArgument,
        "the certificate in '" + path + "' expired " + when + issue_another);
  }
  // What the hub's TLS stack checks of a client certificate: the
  // extendedKeyUsage (if any) allows clientAuth and the keyUsage (if any)
  // allows signing.
  if (X509_check_purpose(cert->get(), X509_PURPOSE_SSL_CLIENT, 0) != 1) {
    const std::uint32_t eku = X509_get_extended_key_usage(cert->get());
    const std::string why =
        (eku & XKU_SSL_CLIENT) == 0
            ? "its extendedKeyUsage lacks clientAuth; a server certificate "
              "such as the hub's own looks like this"
            : "its keyUsage does not allow digitalSignature";
    return MakeError(ErrorCode::kInvalidArgument,
                     "the certificate in '" + path +
                         "' is not a TLS client certificate (" + why + ")" +
                         issue_another);
  }
  return FingerprintOf(cert->get(), path);
}

}  // namespace cairn::server
