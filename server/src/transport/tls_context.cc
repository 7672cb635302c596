#include "transport/tls_context.h"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <span>

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cairn/asn1_time.h"
#include "cairn/encoding.h"
#include "cairn/timestamp.h"

namespace cairn::server {
namespace {

constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// Distinguishes this application's sessions in OpenSSL's session cache;
// without it, resuming a session that carried a client certificate fails.
constexpr unsigned char kSessionIdContext[] = "cairn-hub";

std::string OpenSslErrors() {
  std::string out;
  while (unsigned long code = ERR_get_error()) {
    std::array<char, 256> buffer{};
    ERR_error_string_n(code, buffer.data(), buffer.size());
    out += out.empty() ? "" : "; ";
    out += buffer.data();
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

// The ex_data slot of an SSL that holds its ClientCertificateWatcher.
int WatcherIndex() {
  static const int index =
      SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

std::string Sha256Hex(X509* cert) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (X509_digest(cert, EVP_sha256(), digest.data(), &length) != 1) return {};
  return HexEncode(std::span<const std::uint8_t>(digest.data(), length));
}

std::string CommonName(X509* cert) {
  X509_NAME* name = X509_get_subject_name(cert);
  const int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (index < 0) return {};
  unsigned char* utf8 = nullptr;
  const int length = ASN1_STRING_to_UTF8(
      &utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index)));
  if (length < 0) return {};
  std::string cn(reinterpret_cast<const char*>(utf8),
                 static_cast<std::size_t>(length));
  OPENSSL_free(utf8);
  return cn;
}

// Runs for each certificate of the client's chain. A certificate that
// passed costs one branch; a failure is described to the connection's
// watcher (before the alert goes out) and fails the handshake as it would
// without this callback.
int VerifyClientCertificate(int preverify_ok, X509_STORE_CTX* store) {
  if (preverify_ok == 1) return 1;
  auto* ssl = static_cast<SSL*>(
      X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* watcher = ssl == nullptr ? nullptr
                                 : static_cast<ClientCertificateWatcher*>(
                                       SSL_get_ex_data(ssl, WatcherIndex()));
  if (watcher == nullptr) return 0;
  // Nothing may throw through OpenSSL's C frames; a description that
  // cannot be made (out of memory) is not worth more than the refusal.
  try {
    RefusedClientCertificate refused;
    const int error = X509_STORE_CTX_get_error(store);
    refused.reason = X509_verify_cert_error_string(error);
    if (const int depth = X509_STORE_CTX_get_error_depth(store); depth > 0) {
      X509* at = X509_STORE_CTX_get_current_cert(store);
      refused.reason +=
          fmt::format(" (the certificate at chain depth {}{})", depth,
                      at == nullptr ? std::string() : ", CN " + CommonName(at));
    }
    if (X509* leaf = X509_STORE_CTX_get0_cert(store); leaf != nullptr) {
      refused.fingerprint = Sha256Hex(leaf);
      refused.common_name = CommonName(leaf);
    }
    watcher->Refused(refused);
  } catch (...) {  // NOLINT(bugprone-empty-catch): see above
  }
  return 0;
}

tl::unexpected<Error> TlsError(std::string_view what, std::string_view file,
                               std::string_view detail) {
  return MakeError(ErrorCode::kInvalidArgument,
                   fmt::format("{} '{}': {}; check the [tls] section of the "
                               "configuration and the file's contents",
                               what, file, detail));
}

std::string SubjectOf(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) return {};
  X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string subject(data, size > 0 ? static_cast<std::size_t>(size) : 0);
  BIO_free(bio);
  return subject;
}

// "12 days", "5 hours", "40 minutes": how long until `end`.
std::string TimeLeft(std::chrono::sys_seconds now,
                     std::chrono::sys_seconds end) {
  const auto left = end - now;
  if (const auto days = std::chrono::floor<std::chrono::days>(left);
      days.count() > 0) {
    return fmt::format("{} day{}", days.count(), days.count() == 1 ? "" : "s");
  }
  if (const auto hours = std::chrono::floor<std::chrono::hours>(left);
      hours.count() > 0) {
    return fmt::format("{} hour{}", hours.count(),
                       hours.count() == 1 ? "" : "s");
  }
  return fmt::format("{} minutes",
                     std::chrono::floor<std::chrono::minutes>(left).count());
}

constexpr char kRotationSection[] =
    "operator guide section 1, 'Certificate expiry and CA rotation'";

// The dates of the hub certificate and of every client CA already loaded
// into `ctx`: refuses what cannot work (see MakeServerTlsContext) and
// collects warnings for what soon will not.
Result<ServerTlsFiles> CheckCertificateDates(
    SSL_CTX* ctx, const TlsConfig& config,
    std::chrono::system_clock::time_point now_point) {
  const auto now = std::chrono::floor<std::chrono::seconds>(now_point);
  ServerTlsFiles files;

  X509* leaf = SSL_CTX_get0_certificate(ctx);
  if (leaf == nullptr) {
    return TlsError("no certificate in the hub certificate chain",
                    config.cert_file, OpenSslErrors());
  }
  const auto leaf_not_after = Asn1TimeToSysSeconds(X509_get0_notAfter(leaf));
  if (!leaf_not_after) {
    return TlsError(
        "cannot read the end of validity (notAfter) of the hub "
        "certificate",
        config.cert_file, OpenSslErrors());
  }
  files.server = {SubjectOf(leaf), *leaf_not_after};
  if (*leaf_not_after < now) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("the hub certificate '{}' ({}) expired at {}: every "
                    "client would refuse the hub; install a renewed "
                    "certificate for the same key (or a new key and "
                    "certificate), then start cairnd or send it SIGHUP ({})",
                    config.cert_file, files.server.subject,
                    FormatTimestamp(*leaf_not_after), kRotationSection));
  }
  if (*leaf_not_after - now < kTlsExpiryWarning) {
    files.warnings.push_back(fmt::format(
        "the hub certificate '{}' ({}) expires at {}, in {}: clients "
        "refuse the hub from then on; install a renewed certificate and "
        "send cairnd SIGHUP before then ({})",
        config.cert_file, files.server.subject,
        FormatTimestamp(*leaf_not_after), TimeLeft(now, *leaf_not_after),
        kRotationSection));
  }
  if (const auto not_before = Asn1TimeToSysSeconds(X509_get0_notBefore(leaf));
      not_before && *not_before > now) {
    files.warnings.push_back(fmt::format(
        "the hub certificate '{}' ({}) is not valid before {}: clients "
        "refuse the hub until then (or the hub's clock is wrong)",
        config.cert_file, files.server.subject, FormatTimestamp(*not_before)));
  }

  STACK_OF(X509)* cas = X509_STORE_get1_all_certs(SSL_CTX_get_cert_store(ctx));
  if (cas == nullptr) {
    return TlsError("cannot list the certificates of the client CA bundle",
                    config.ca_file, OpenSslErrors());
  }
  std::vector<std::string> invalid;  // why each CA is not valid now
  std::size_t valid = 0;
  for (int i = 0; i < sk_X509_num(cas); ++i) {
    X509* ca = sk_X509_value(cas, i);
    std::string subject = SubjectOf(ca);
    const auto not_before = Asn1TimeToSysSeconds(X509_get0_notBefore(ca));
    const auto not_after = Asn1TimeToSysSeconds(X509_get0_notAfter(ca));
    if (!not_before || !not_after) {
      invalid.push_back(subject + " has unreadable validity dates");
      files.warnings.push_back(
          fmt::format("the client CA '{}' in '{}' has validity dates that "
                      "cannot be read; it verifies no member certificate",
                      subject, config.ca_file));
      continue;
    }
    files.client_cas.push_back({subject, *not_after});
    if (*not_after < now) {
      invalid.push_back(fmt::format("{} expired at {}", subject,
                                    FormatTimestamp(*not_after)));
      files.warnings.push_back(fmt::format(
          "the client CA '{}' in '{}' expired at {} and verifies no member "
          "certificate any more; remove it from the bundle",
          subject, config.ca_file, FormatTimestamp(*not_after)));
    } else if (*not_before > now) {
      invalid.push_back(fmt::format("{} is not valid before {}", subject,
                                    FormatTimestamp(*not_before)));
      files.warnings.push_back(fmt::format(
          "the client CA '{}' in '{}' is not valid before {}: certificates "
          "it issued are refused until then",
          subject, config.ca_file, FormatTimestamp(*not_before)));
    } else {
      ++valid;
      if (*not_after - now < kTlsExpiryWarning) {
        files.warnings.push_back(fmt::format(
            "the client CA '{}' in '{}' expires at {}, in {}: every member "
            "certificate it issued is refused from then on; bundle a new CA "
            "with it and reissue the member certificates before then ({})",
            subject, config.ca_file, FormatTimestamp(*not_after),
            TimeLeft(now, *not_after), kRotationSection));
      }
    }
  }
  sk_X509_pop_free(cas, X509_free);
  if (valid == 0) {
    std::string why;
    for (const std::string& reason : invalid) {
      why += why.empty() ? "" : "; ";
      why += reason;
    }
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("no certificate in the client CA bundle '{}' is valid "
                    "now ({}): the hub would refuse every member, the "
                    "operator included; put the current CA in this file "
                    "(during a CA rotation, the old and the new CA) ({})",
                    config.ca_file, why.empty() ? "it holds none" : why,
                    kRotationSection));
  }
  return files;
}

}  // namespace

std::chrono::sys_seconds ServerTlsFiles::EarliestClientCaNotAfter() const {
  return std::min_element(
             client_cas.begin(), client_cas.end(),
             [](const CertificateValidity& a, const CertificateValidity& b) {
               return a.not_after < b.not_after;
             })
      ->not_after;
}

Result<ServerTls> MakeServerTlsContext(
    const TlsConfig& config, std::chrono::system_clock::time_point now) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* ctx = context->native_handle();
  ERR_clear_error();

  SSL_CTX_set_min_proto_version(
      ctx, config.allow_tls12 ? TLS1_2_VERSION : TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE |
                               SSL_OP_NO_TICKET);
  if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1) {
    return MakeError(
        ErrorCode::kInternal,
        "OpenSSL rejected the TLS 1.2 cipher list: " + OpenSslErrors());
  }

  if (SSL_CTX_use_certificate_chain_file(ctx, config.cert_file.c_str()) != 1) {
    return TlsError("cannot load the hub certificate chain", config.cert_file,
                    OpenSslErrors());
  }
  // A TLS key that other users of the machine can read lets them
  // impersonate the hub. Group read stays allowed: installing the key
  // root-owned with the hub's group (0640, as the operator guide does, or
  // Debian's ssl-cert group) keeps the hub from changing its own key.
  if (struct stat st{};
      ::stat(config.key_file.c_str(), &st) == 0 && (st.st_mode & 027) != 0) {
    return MakeError(
        ErrorCode::kPermissionDenied,
        fmt::format("the hub TLS private key '{}' has mode {:04o}: users "
                    "outside its group can read it, or its group can change "
                    "it; run `chmod 640 {}` (owner root or the hub's user, "
                    "group the hub's), and consider replacing the key",
                    config.key_file, st.st_mode & 07777, config.key_file));
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, config.key_file.c_str(),
                                  SSL_FILETYPE_PEM) != 1) {
    return TlsError("cannot load the hub private key", config.key_file,
                    OpenSslErrors());
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return TlsError("the private key does not match the certificate",
                    config.key_file, OpenSslErrors());
  }
  if (SSL_CTX_load_verify_locations(ctx, config.ca_file.c_str(), nullptr) !=
      1) {
    return TlsError("cannot load the client CA bundle", config.ca_file,
                    OpenSslErrors());
  }
  auto files = CheckCertificateDates(ctx, config, now);
  if (!files) return tl::unexpected(files.error());
  // Tell clients which CAs we accept, so curl picks the right certificate.
  if (STACK_OF(X509_NAME)* names =
          SSL_load_client_CA_file(config.ca_file.c_str())) {
    SSL_CTX_set_client_CA_list(ctx, names);
  }

  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                     VerifyClientCertificate);
  // A certificate for TLS servers (serverAuth EKU only) must not
  // authenticate a client.
  if (SSL_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT) != 1) {
    return MakeError(
        ErrorCode::kInternal,
        "cannot require the clientAuth purpose: " + OpenSslErrors());
  }
  SSL_CTX_set_verify_depth(ctx, 4);
  SSL_CTX_set_session_id_context(ctx, kSessionIdContext,
                                 sizeof(kSessionIdContext) - 1);
  // No resumption: a resumed session skips the certificate check, so a
  // certificate that has expired since (or a CA bundle reloaded by SIGHUP
  // without its issuer) would keep getting in. SSL_OP_NO_TICKET alone
  // still leaves TLS 1.3's stateful tickets and the session cache.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx, 0);
  return ServerTls{std::move(context), std::move(*files)};
}

void WatchClientCertificate(SSL* ssl, ClientCertificateWatcher* watcher) {
  SSL_set_ex_data(ssl, WatcherIndex(), watcher);
}

std::string PeerCertificateFingerprint(SSL* ssl) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr) return {};
  return Sha256Hex(cert);
}

std::optional<std::chrono::sys_seconds> PeerCertificateNotAfter(SSL* ssl) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr) return std::nullopt;
  return Asn1TimeToSysSeconds(X509_get0_notAfter(cert));
}

std::string PeerCertificateSubject(SSL* ssl) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr) return {};
  return SubjectOf(cert);
}

}  // namespace cairn::server
