#include "server/src/ctl/cert_sign.h"

#include <sys/stat.h>

#include <array>
#include <ctime>
#include <memory>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cairn/encoding.h"

namespace cairn::server {
namespace {

template <auto Free>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
template <typename T, auto Free>
using Owned = std::unique_ptr<T, Deleter<Free>>;

using BioPtr = Owned<BIO, BIO_free_all>;
using X509Ptr = Owned<X509, X509_free>;
using ReqPtr = Owned<X509_REQ, X509_REQ_free>;
using KeyPtr = Owned<EVP_PKEY, EVP_PKEY_free>;
using BnPtr = Owned<BIGNUM, BN_free>;
using ExtPtr = Owned<X509_EXTENSION, X509_EXTENSION_free>;
using MdCtxPtr = Owned<EVP_MD_CTX, EVP_MD_CTX_free>;

constexpr int kMinDays = 1;
// The CA/Browser Forum's old ceiling; longer client certificates only
// postpone the rotation an operator should practise.
constexpr int kMaxDays = 825;

// The most recent OpenSSL error as text, for messages; clears the queue.
std::string OpenSslReason() {
  unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  if (code == 0) return "no detail from OpenSSL";
  std::array<char, 256> text{};
  ERR_error_string_n(code, text.data(), text.size());
  return text.data();
}

Result<BioPtr> OpenForReading(const std::string& path, const char* what,
                              const char* option) {
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) {
    ERR_clear_error();
    return MakeError(ErrorCode::kIo,
                     std::string("cannot open the ") + what + " '" + path +
                         "'; check the path and permissions",
                     option);
  }
  return bio;
}

std::string SubjectText(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(length));
}

// The subject's commonName as UTF-8; empty when the name has none.
std::string CommonName(const X509_NAME* name) {
  const int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (index < 0) return {};
  const ASN1_STRING* data =
      X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  const int length = ASN1_STRING_to_UTF8(&utf8, data);
  if (length < 0) return {};
  std::string out(reinterpret_cast<char*>(utf8),
                  static_cast<std::size_t>(length));
  OPENSSL_free(utf8);
  return out;
}

// Member keys the hub's TLS 1.3 stack accepts and that are strong enough.
Status CheckMemberKey(EVP_PKEY* key, const std::string& csr_file) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_EC:
    case EVP_PKEY_ED25519:
      return {};
    case EVP_PKEY_RSA:
      if (EVP_PKEY_get_bits(key) >= 2048) return {};
      return MakeError(ErrorCode::kInvalidArgument,
                       "the CSR '" + csr_file + "' has a " +
                           std::to_string(EVP_PKEY_get_bits(key)) +
                           "-bit RSA key; ask the member for a new CSR with "
                           "an EC P-256 key (or RSA of at least 2048 bits)",
                       "--csr");
    default:
      return MakeError(ErrorCode::kInvalidArgument,
                       "the CSR '" + csr_file +
                           "' has an unsupported key type; ask the member for "
                           "a new CSR with an EC P-256, Ed25519 or RSA key",
                       "--csr");
  }
}

Status AddExtension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return MakeError(ErrorCode::kCrypto,
                     std::string("could not add the extension '") +
                         OBJ_nid2sn(nid) + " = " + value + "' (" +
                         OpenSslReason() +
                         "); check that the CA certificate has a subject key "
                         "identifier");
  }
  return {};
}

std::chrono::sys_seconds ToSysSeconds(std::time_t t) {
  return std::chrono::sys_seconds{std::chrono::seconds{t}};
}

}  // namespace

Result<SignedCertificate> SignClientCsr(const CertSignRequest& request) {
  ERR_clear_error();
  SignedCertificate out;
  if (request.days < kMinDays || request.days > kMaxDays) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--days " + std::to_string(request.days) +
                         " is out of range; use 1 to " +
                         std::to_string(kMaxDays),
                     "--days");
  }

  // The CSR: must parse and carry a valid self-signature, which proves the
  // requester holds the private key of the public key we are certifying.
  auto csr_bio = OpenForReading(request.csr_file, "CSR file", "--csr");
  if (!csr_bio) return tl::unexpected(csr_bio.error());
  ReqPtr csr(PEM_read_bio_X509_REQ(csr_bio->get(), nullptr, nullptr, nullptr));
  if (!csr) {
    ERR_clear_error();
    return MakeError(ErrorCode::kInvalidArgument,
                     "'" + request.csr_file +
                         "' holds no PEM certificate signing request "
                         "(expected a '-----BEGIN CERTIFICATE REQUEST-----' "
                         "block); make one with 'openssl req -new'",
                     "--csr");
  }
  EVP_PKEY* member_key = X509_REQ_get0_pubkey(csr.get());
  if (member_key == nullptr || X509_REQ_verify(csr.get(), member_key) != 1) {
    ERR_clear_error();
    return MakeError(ErrorCode::kCrypto,
                     "the signature of the CSR '" + request.csr_file +
                         "' does not verify: it was altered or not made with "
                         "the key it contains; ask the member for a new CSR",
                     "--csr");
  }
  if (auto s = CheckMemberKey(member_key, request.csr_file); !s) {
    return tl::unexpected(s.error());
  }
  const X509_NAME* subject = X509_REQ_get_subject_name(csr.get());
  const std::string cn = CommonName(subject);
  if (cn != request.member_id) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the CSR's subject CN is '" + cn + "' but --member is '" +
                         request.member_id +
                         "'; check that this is the right member's CSR, or "
                         "ask the member for a CSR with CN=" +
                         request.member_id,
                     "--member");
  }
  out.subject = SubjectText(subject);

  // The CA certificate and key.
  auto ca_bio =
      OpenForReading(request.ca_cert_file, "CA certificate", "--ca-cert");
  if (!ca_bio) return tl::unexpected(ca_bio.error());
  X509Ptr ca(PEM_read_bio_X509(ca_bio->get(), nullptr, nullptr, nullptr));
  if (!ca) {
    ERR_clear_error();
    return MakeError(ErrorCode::kInvalidArgument,
                     "'" + request.ca_cert_file +
                         "' holds no PEM certificate; pass the CA's "
                         "certificate (the hub's tls.ca) with --ca-cert",
                     "--ca-cert");
  }
  if (X509_check_ca(ca.get()) < 1) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "'" + request.ca_cert_file +
                         "' is not a CA certificate (no basicConstraints "
                         "CA:TRUE); pass the CA the hub trusts with --ca-cert",
                     "--ca-cert");
  }
  struct stat key_stat {};
  if (::stat(request.ca_key_file.c_str(), &key_stat) == 0 &&
      (key_stat.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    out.warnings.push_back("the CA key '" + request.ca_key_file +
                           "' is readable by group or others; restrict it "
                           "with 'chmod 600' and keep it offline");
  }
  auto key_bio = OpenForReading(request.ca_key_file, "CA key", "--ca-key");
  if (!key_bio) return tl::unexpected(key_bio.error());
  // A passphrase-protected key makes OpenSSL prompt on the terminal.
  KeyPtr ca_key(
      PEM_read_bio_PrivateKey(key_bio->get(), nullptr, nullptr, nullptr));
  if (!ca_key) {
    ERR_clear_error();
    return MakeError(ErrorCode::kInvalidArgument,
                     "'" + request.ca_key_file +
                         "' holds no readable PEM private key (or the "
                         "passphrase was wrong); pass the CA's key with "
                         "--ca-key",
                     "--ca-key");
  }
  if (X509_check_private_key(ca.get(), ca_key.get()) != 1) {
    ERR_clear_error();
    return MakeError(ErrorCode::kInvalidArgument,
                     "the CA key '" + request.ca_key_file +
                         "' does not belong to the CA certificate '" +
                         request.ca_cert_file +
                         "'; pass the matching pair with --ca-cert and "
                         "--ca-key",
                     "--ca-key");
  }

  const std::time_t now = std::chrono::system_clock::to_time_t(request.now);
  const std::time_t until =
      now + static_cast<std::time_t>(request.days) * 24 * 60 * 60;
  if (ASN1_TIME_cmp_time_t(X509_get0_notBefore(ca.get()), now) > 0 ||
      ASN1_TIME_cmp_time_t(X509_get0_notAfter(ca.get()), now) < 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the CA certificate '" + request.ca_cert_file +
                         "' is not valid now; check the clock or renew the CA",
                     "--ca-cert");
  }
  if (ASN1_TIME_cmp_time_t(X509_get0_notAfter(ca.get()), until) < 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "a certificate valid for " + std::to_string(request.days) +
                         " days would outlive the CA certificate '" +
                         request.ca_cert_file +
                         "'; pass a smaller --days or renew the CA first",
                     "--days");
  }

  // The certificate.
  X509Ptr cert(X509_new());
  std::array<std::uint8_t, 16> serial{};
  if (!cert || RAND_bytes(serial.data(), serial.size()) != 1) {
    return MakeError(ErrorCode::kCrypto,
                     "could not create a certificate (" + OpenSslReason() +
                         "); check that OpenSSL's random source works");
  }
  // Positive (top bit clear) and of full length (a non-zero first byte), as
  // RFC 5280 wants serials to be.
  serial[0] = static_cast<std::uint8_t>((serial[0] & 0x7f) | 0x10);
  BnPtr serial_bn(BN_bin2bn(serial.data(), serial.size(), nullptr));
  if (!serial_bn || X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      BN_to_ASN1_INTEGER(serial_bn.get(), X509_get_serialNumber(cert.get())) ==
          nullptr ||
      X509_set_issuer_name(cert.get(), X509_get_subject_name(ca.get())) != 1 ||
      X509_set_subject_name(cert.get(), subject) != 1 ||
      X509_set_pubkey(cert.get(), member_key) != 1 ||
      ASN1_TIME_set(X509_getm_notBefore(cert.get()), now) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert.get()), until) == nullptr) {
    return MakeError(ErrorCode::kCrypto, "could not fill in the certificate (" +
                                             OpenSslReason() +
                                             "); this is a bug, report it");
  }
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, ca.get(), cert.get(), nullptr, nullptr, 0);
  const std::array<std::pair<int, const char*>, 5> extensions{{
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage, "critical,digitalSignature"},
      {NID_ext_key_usage, "clientAuth"},
      {NID_subject_key_identifier, "hash"},
      {NID_authority_key_identifier, "keyid:always"},
  }};
  for (const auto& [nid, value] : extensions) {
    if (auto s = AddExtension(cert.get(), &ctx, nid, value); !s) {
      return tl::unexpected(s.error());
    }
  }

  // Ed25519 and Ed448 sign the message itself; every other key type signs
  // its SHA-256 digest.
  const int ca_type = EVP_PKEY_get_base_id(ca_key.get());
  const EVP_MD* digest =
      (ca_type == EVP_PKEY_ED25519 || ca_type == EVP_PKEY_ED448) ? nullptr
                                                                 : EVP_sha256();
  MdCtxPtr md_ctx(EVP_MD_CTX_new());
  if (!md_ctx ||
      EVP_DigestSignInit(md_ctx.get(), nullptr, digest, nullptr,
                         ca_key.get()) != 1 ||
      X509_sign_ctx(cert.get(), md_ctx.get()) <= 0) {
    return MakeError(ErrorCode::kCrypto,
                     "could not sign the certificate with the CA key (" +
                         OpenSslReason() +
                         "); use an EC, Ed25519 or RSA CA key");
  }

  BioPtr pem(BIO_new(BIO_s_mem()));
  if (!pem || PEM_write_bio_X509(pem.get(), cert.get()) != 1) {
    return MakeError(ErrorCode::kCrypto, "could not encode the certificate (" +
                                             OpenSslReason() + ")");
  }
  char* data = nullptr;
  const long length = BIO_get_mem_data(pem.get(), &data);
  out.pem.assign(data, static_cast<std::size_t>(length));

  unsigned char fingerprint[EVP_MAX_MD_SIZE];
  unsigned int fingerprint_length = 0;
  if (X509_digest(cert.get(), EVP_sha256(), fingerprint, &fingerprint_length) !=
          1 ||
      fingerprint_length != 32) {
    return MakeError(ErrorCode::kCrypto,
                     "could not compute the certificate's fingerprint (" +
                         OpenSslReason() + ")");
  }
  out.fingerprint =
      HexEncode(std::span<const std::uint8_t>(fingerprint, fingerprint_length));
  out.serial_hex = HexEncode(std::span<const std::uint8_t>(serial));
  out.not_before = ToSysSeconds(now);
  out.not_after = ToSysSeconds(until);
  return out;
}

}  // namespace cairn::server
