// CertificateNames on certificates made here with chosen subjectAltNames.
#include "cairn/certificate_names.h"

#include <memory>
#include <string>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <catch2/catch.hpp>

namespace cairn {
namespace {

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;

// A self-signed certificate with `alt_names` (OpenSSL's configuration
// syntax, e.g. "DNS:a.example, IP:10.0.0.5"; "" for no extension).
X509Ptr CertificateFor(const std::string& alt_names) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"),
                                                          &EVP_PKEY_free);
  REQUIRE(key);
  X509Ptr cert(X509_new(), &X509_free);
  REQUIRE(cert);
  REQUIRE(X509_set_version(cert.get(), X509_VERSION_3) == 1);
  REQUIRE(X509_set_pubkey(cert.get(), key.get()) == 1);
  if (!alt_names.empty()) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(
        nullptr, nullptr, NID_subject_alt_name, alt_names.c_str());
    REQUIRE(ext != nullptr);
    REQUIRE(X509_add_ext(cert.get(), ext, -1) == 1);
    X509_EXTENSION_free(ext);
  }
  REQUIRE(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0);
  return cert;
}

TEST_CASE("CertificateNames lists DNS names and IP addresses in order") {
  struct Case {
    const char* alt_names;
    const char* expected;
  };
  const Case cases[] = {
      {"DNS:hub.example.org, IP:192.0.2.7",
       "DNS:hub.example.org, IP:192.0.2.7"},
      {"IP:::1, DNS:localhost, IP:127.0.0.1",
       "IP:::1, DNS:localhost, IP:127.0.0.1"},
      {"IP:2001:db8::5", "IP:2001:db8::5"},
      // Other kinds are left out; none left is "none".
      {"email:ops@example.org, DNS:a.example, URI:https://b.example",
       "DNS:a.example"},
      {"email:ops@example.org", "none"},
      {"", "none"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.alt_names);
    CHECK(CertificateNames(CertificateFor(c.alt_names).get()) == c.expected);
  }
}

}  // namespace
}  // namespace cairn
