// Table tests of the phone rule of profile n1 (docs/token-scheme.md). Every
// number below was checked against Debian 12's libphonenumber 8.12.57; the
// UK ones are Ofcom drama numbers, the US ones 555-01XX fictional numbers.
#include <string>

#include <catch2/catch.hpp>

#include "cairn/normalise.h"

namespace cairn {
namespace {

struct Case {
  std::string_view region;
  std::string_view raw;
  std::string_view want;
};

constexpr Case kValid[] = {
    {"GB", "020 7946 0958", "+442079460958"},
    {"GB", "+44 20 7946 0958", "+442079460958"},
    {"gb", "(020) 7946-0958", "+442079460958"},
    {"GB", "00 44 20 7946 0958", "+442079460958"},
    {"GB", "+44 (0)20 7946 0958", "+442079460958"},
    {"GB", "07911 123456", "+447911123456"},
    {"GB", "0161 496 0000", "+441614960000"},
    {"GB", "0113 496 0000", "+441134960000"},
    {"GB", "tel:+44-20-7946-0958", "+442079460958"},
    {"US", "201-555-0123", "+12015550123"},
    {"US", "(201) 555-0123", "+12015550123"},
    {"US", "+1 201 555 0123", "+12015550123"},
    {"US", "1-201-555-0123", "+12015550123"},
    {"US", "201.555.0123", "+12015550123"},
    {"US", "011 44 20 7946 0958", "+442079460958"},
    // The extension is not part of E.164 and is dropped.
    {"US", "+1 201 555 0123 ext. 45", "+12015550123"},
    {"US", "1-800-FLOWERS", "+18003569377"},
    {"CA", "613-555-0199", "+16135550199"},
    // Without a default region, international form is enough.
    {"", "+1 201-555-0123", "+12015550123"},
    {"", "+44 20 7946 0958", "+442079460958"},
    // A '+' number ignores the default region.
    {"DE", "+44 20 7946 0958", "+442079460958"},
    {"DE", "030 12345678", "+493012345678"},
    {"DE", "0151 23456789", "+4915123456789"},
    {"FR", "01 23 45 67 89", "+33123456789"},
    {"FR", "06 12 34 56 78", "+33612345678"},
    {"AU", "02 9876 5432", "+61298765432"},
    {"AU", "0412 345 678", "+61412345678"},
    {"JP", "03-1234-5678", "+81312345678"},
    {"JP", "090-1234-5678", "+819012345678"},
    {"IN", "098765 43210", "+919876543210"},
    {"BR", "(11) 91234-5678", "+5511912345678"},
    {"IE", "01 234 5678", "+35312345678"},
    {"ES", "912 345 678", "+34912345678"},
    {"IT", "06 1234 5678", "+390612345678"},
    {"NL", "020 123 4567", "+31201234567"},
    {"SE", "08 123 456 78", "+46812345678"},
    // Unicode traps: fullwidth digits, odd whitespace, zero-width spaces.
    {"GB",
     "\uff10\uff12\uff10 \uff17\uff19\uff14\uff16 \uff10\uff19\uff15"
     "\uff18",
     "+442079460958"},
    {"GB", "\u00a0020 7946 0958\u3000", "+442079460958"},
    {"GB", "\ufeff+442079460958\u200b", "+442079460958"},
    {"US", "\t201-555-0123\n", "+12015550123"},
    {"GB", "+44\u00a020\u00a07946\u00a00958", "+442079460958"},
    {"GB", "\u2002+44\u200920\u200a7946\u20070958\u2003", "+442079460958"},
};

TEST_CASE("phone normalisation table") {
  for (const Case& c : kValid) {
    CAPTURE(c.region, c.raw);
    auto got = NormalisePhone(c.raw, c.region);
    INFO((got ? std::string() : got.error().ToString()));
    REQUIRE(got.has_value());
    CHECK(*got == c.want);
    // E.164 output is a fixed point under any region.
    auto again = NormalisePhone(*got, "");
    REQUIRE(again.has_value());
    CHECK(*again == *got);
    NormaliseOptions options;
    options.default_region = std::string(c.region);
    auto via_kind = Normalise("phone", c.raw, options);
    REQUIRE(via_kind.has_value());
    CHECK(*via_kind == c.want);
  }
}

struct Bad {
  std::string_view region;
  std::string raw;
  std::string_view message;
};

TEST_CASE("phone normalisation rejects invalid numbers naming the region") {
  const Bad cases[] = {
      {"GB", "020 7946 095", "not valid for region GB"},
      {"GB", "12", "not valid for region GB"},
      {"GB", "07700 90012", "not valid for region GB"},
      {"GB", "+44 20 7946 09581", "not valid for region GB"},
      {"US", "555-0123", "not valid for region US"},
      {"US", "000-000-0000", "not valid for region US"},
      {"US", "+44 20 7946 095",
       "not valid for the country its +<country code>"},
      {"GB", "+1 201 555 012", "not valid for the country its +<country code>"},
      {"US", "abc", "not a phone number"},
      {"US", "+999 123 456", "unknown country calling code"},
      {"", "020 7946 0958", "no default region is set"},
      {"XX", "020 7946 0958", "default region 'XX' is not a known"},
      {"GBR", "020 7946 0958", "default region 'GBR' is not a known"},
      {"G1", "020 7946 0958", "not a known ISO 3166-1"},
      {"GB", std::string(40, '1'), "too long for region GB"},
      {"GB", "020 7946 0958 / 020 7946 0959", "too long for region GB"},
      {"GB", "", "is empty"},
      {"GB", " \u00a0\u3000", "is empty"},
      {"GB", "020 7946 \xff", "not valid UTF-8"},
  };
  for (const Bad& c : cases) {
    CAPTURE(c.region, c.raw);
    auto got = NormalisePhone(c.raw, c.region);
    REQUIRE_FALSE(got.has_value());
    CHECK(got.error().code == ErrorCode::kInvalidArgument);
    CHECK_THAT(got.error().message, Catch::Contains(std::string(c.message)));
    CHECK_THAT(got.error().message, !Catch::Contains("7946"));
  }
}

}  // namespace
}  // namespace cairn
