// Asn1TimeToSysSeconds on the notAfter of certificates made here with
// fixed dates, in both encodings X.509 uses.
#include "cairn/asn1_time.h"

#include <memory>
#include <string>

#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <catch2/catch.hpp>

#include "cairn/timestamp.h"

namespace cairn {
namespace {

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using Asn1TimePtr = std::unique_ptr<ASN1_TIME, decltype(&ASN1_TIME_free)>;

// A self-signed certificate whose notAfter is `not_after`, encoded to DER
// and read back, so the time is checked as it comes out of a real
// certificate.
X509Ptr CertificateNotAfter(const ASN1_TIME* not_after) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"),
                                                          &EVP_PKEY_free);
  REQUIRE(key);
  X509Ptr cert(X509_new(), &X509_free);
  REQUIRE(cert);
  X509_NAME* name = X509_get_subject_name(cert.get());
  REQUIRE(X509_NAME_add_entry_by_txt(
              name, "CN", MBSTRING_ASC,
              reinterpret_cast<const unsigned char*>("asn1-time-test"), -1, -1,
              0) == 1);
  REQUIRE(X509_set_version(cert.get(), X509_VERSION_3) == 1);
  REQUIRE(ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1) == 1);
  REQUIRE(X509_set_issuer_name(cert.get(), name) == 1);
  REQUIRE(X509_set_pubkey(cert.get(), key.get()) == 1);
  REQUIRE(ASN1_TIME_set_string_X509(X509_getm_notBefore(cert.get()),
                                    "20200101000000Z") == 1);
  REQUIRE(X509_set1_notAfter(cert.get(), not_after) == 1);
  REQUIRE(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0);

  unsigned char* der = nullptr;
  const int length = i2d_X509(cert.get(), &der);
  REQUIRE(length > 0);
  const unsigned char* cursor = der;
  X509Ptr read(d2i_X509(nullptr, &cursor, length), &X509_free);
  OPENSSL_free(der);
  REQUIRE(read);
  return read;
}

// `text` in the encoding `set` writes: ASN1_TIME_set_string_X509 as RFC
// 5280 wants it in a certificate (UTCTime through 2049, GeneralizedTime
// from 2050), ASN1_GENERALIZEDTIME_set_string or ASN1_UTCTIME_set_string.
Asn1TimePtr TimeOf(int (*set)(ASN1_TIME*, const char*), const char* text) {
  Asn1TimePtr time(ASN1_TIME_new(), &ASN1_TIME_free);
  REQUIRE(time);
  REQUIRE(set(time.get(), text) == 1);
  return time;
}

Asn1TimePtr X509Time(const char* text) {
  return TimeOf(&ASN1_TIME_set_string_X509, text);
}
Asn1TimePtr GeneralizedTime(const char* text) {
  return TimeOf(&ASN1_GENERALIZEDTIME_set_string, text);
}
Asn1TimePtr UtcTime(const char* text) {
  return TimeOf(&ASN1_UTCTIME_set_string, text);
}

std::chrono::sys_seconds Seconds(long long s) {
  return std::chrono::sys_seconds{std::chrono::seconds{s}};
}

TEST_CASE("a certificate's notAfter in UTCTime reads as its instant") {
  const X509Ptr cert = CertificateNotAfter(X509Time("20300615120000Z").get());
  const ASN1_TIME* not_after = X509_get0_notAfter(cert.get());
  REQUIRE(ASN1_STRING_type(not_after) == V_ASN1_UTCTIME);
  const auto at = Asn1TimeToSysSeconds(not_after);
  REQUIRE(at);
  CHECK(*at == Seconds(1907755200));
  CHECK(FormatTimestamp(*at) == "2030-06-15T12:00:00Z");
}

TEST_CASE("notAfter dates past 2038 keep their year") {
  struct Case {
    const char* text;
    int type;
    long long seconds;
    const char* formatted;
  };
  // The first second a signed 32-bit time_t cannot hold; the last second
  // UTCTime can say; the first one that takes GeneralizedTime; and the
  // first second past an unsigned 32-bit time_t.
  const Case cases[] = {
      {"20380119031408Z", V_ASN1_UTCTIME, 2147483648LL, "2038-01-19T03:14:08Z"},
      {"20491231235959Z", V_ASN1_UTCTIME, 2524607999LL, "2049-12-31T23:59:59Z"},
      {"20500101000000Z", V_ASN1_GENERALIZEDTIME, 2524608000LL,
       "2050-01-01T00:00:00Z"},
      {"21060207062816Z", V_ASN1_GENERALIZEDTIME, 4294967296LL,
       "2106-02-07T06:28:16Z"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    const X509Ptr cert = CertificateNotAfter(X509Time(c.text).get());
    const ASN1_TIME* not_after = X509_get0_notAfter(cert.get());
    CHECK(ASN1_STRING_type(not_after) == c.type);
    const auto at = Asn1TimeToSysSeconds(not_after);
    REQUIRE(at);
    CHECK(*at == Seconds(c.seconds));
    CHECK(FormatTimestamp(*at) == c.formatted);
  }
}

TEST_CASE("GeneralizedTime and UTCTime of one instant read the same") {
  // RFC 5280 wants UTCTime before 2050, but certificates in the wild carry
  // GeneralizedTime there too.
  const X509Ptr generalized =
      CertificateNotAfter(GeneralizedTime("20300615120000Z").get());
  const X509Ptr utc = CertificateNotAfter(UtcTime("300615120000Z").get());
  REQUIRE(ASN1_STRING_type(X509_get0_notAfter(generalized.get())) ==
          V_ASN1_GENERALIZEDTIME);
  REQUIRE(ASN1_STRING_type(X509_get0_notAfter(utc.get())) == V_ASN1_UTCTIME);
  const auto from_generalized =
      Asn1TimeToSysSeconds(X509_get0_notAfter(generalized.get()));
  const auto from_utc = Asn1TimeToSysSeconds(X509_get0_notAfter(utc.get()));
  REQUIRE(from_generalized);
  REQUIRE(from_utc);
  CHECK(*from_generalized == Seconds(1907755200));
  CHECK(*from_utc == *from_generalized);
}

TEST_CASE("a UTCTime year from 50 to 99 is in the 1900s") {
  const auto at = Asn1TimeToSysSeconds(UtcTime("500101000000Z").get());
  REQUIRE(at);
  CHECK(*at == Seconds(-631152000));  // 1950-01-01T00:00:00Z
}

TEST_CASE("a missing or malformed ASN1_TIME reads as nullopt") {
  // ASN1_TIME_to_tm alone would answer the current time for a null time.
  CHECK_FALSE(Asn1TimeToSysSeconds(nullptr).has_value());
  const struct {
    int type;
    const char* text;
  } malformed[] = {{V_ASN1_UTCTIME, "not a time"},
                   {V_ASN1_GENERALIZEDTIME, "20301301000000Z"}};  // month 13
  for (const auto& m : malformed) {
    INFO(m.text);
    Asn1TimePtr time(ASN1_STRING_type_new(m.type), &ASN1_TIME_free);
    REQUIRE(time);
    REQUIRE(ASN1_STRING_set(time.get(), m.text, -1) == 1);
    CHECK_FALSE(Asn1TimeToSysSeconds(time.get()).has_value());
  }
}

}  // namespace
}  // namespace cairn
