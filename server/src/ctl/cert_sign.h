// Issuing member client certificates from CSRs with the OpenSSL 3 API: what
// `cairnctl cert sign` does before it registers the fingerprint.
#ifndef CAIRN_SERVER_CTL_CERT_SIGN_H_
#define CAIRN_SERVER_CTL_CERT_SIGN_H_

#include <chrono>
#include <string>
#include <vector>

#include "cairn/result.h"

namespace cairn::server {

struct CertSignRequest {
  // PEM certificate signing request made by the member with its own key.
  std::string csr_file;
  // PEM certificate of the issuing CA (the hub's tls.ca or an intermediate
  // under it) and its private key (EC, Ed25519 or RSA; PEM).
  std::string ca_cert_file;
  std::string ca_key_file;
  // The member the certificate is for. The CSR's subject CN must equal it:
  // a mismatch usually means the wrong CSR, so it is refused, not rewritten.
  std::string member_id;
  // Validity from now. Default: 365 days; 1..825 accepted.
  int days = 365;
  // Issuing time. Default: the system clock (tests inject a fixed time).
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
};

struct SignedCertificate {
  std::string pem;          // the new certificate, PEM
  std::string fingerprint;  // SHA-256 of its DER, 64 lowercase hex
  std::string serial_hex;   // 128-bit random serial, lowercase hex
  std::chrono::sys_seconds not_before;
  std::chrono::sys_seconds not_after;
  std::string subject;  // RFC 2253 text, e.g. "CN=alpha,O=Alpha Social"
  // Non-fatal remarks for the operator (e.g. a CA key readable by others).
  std::vector<std::string> warnings;
};

// Verifies the CSR's self-signature, the CA certificate (a CA, valid now and
// for the whole new validity), that the CA key belongs to it, and the CN;
// then issues a certificate with the CSR's subject and public key, a random
// 128-bit serial, basicConstraints CA:FALSE, keyUsage digitalSignature,
// extendedKeyUsage clientAuth and subject/authority key identifiers, signed
// with SHA-256 (Ed25519/Ed448 CA keys sign without a separate digest).
// Extensions requested in the CSR are ignored. Writes nothing. A refused
// input names its option in Error::field ("--csr", "--ca-cert", "--ca-key",
// "--member", "--days"): cairnctl exits 2 for those; an error without a
// field is OpenSSL failing. Thread-safe.
Result<SignedCertificate> SignClientCsr(const CertSignRequest& request);

}  // namespace cairn::server

#endif  // CAIRN_SERVER_CTL_CERT_SIGN_H_
