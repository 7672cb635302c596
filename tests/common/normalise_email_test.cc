// Table tests of the email rule of profile n1 (docs/token-scheme.md).
#include <string>

#include <catch2/catch.hpp>

#include "cairn/normalise.h"

namespace cairn {
namespace {

struct Case {
  std::string_view raw;
  std::string_view want;
};

constexpr Case kValid[] = {
    {"jane.doe@example.com", "jane.doe@example.com"},
    {"Jane.Doe@Example.COM", "jane.doe@example.com"},
    // Leading and trailing whitespace of every Unicode kind.
    {"  jane@example.com  ", "jane@example.com"},
    {"\tjane@example.com\n", "jane@example.com"},
    {"\r\njane@example.com\r\n", "jane@example.com"},
    {"\u00a0jane@example.com\u3000", "jane@example.com"},
    {"\ufeffjane@example.com", "jane@example.com"},
    {"\u2000\u2001\u2002\u2003\u2004jane@example.com\u2005\u2006\u2007\u2008"
     "\u2009\u200a",
     "jane@example.com"},
    {"\u2028jane@example.com\u2029", "jane@example.com"},
    {"\u0085\u1680jane@example.com\u202f\u205f\u000b\u000c",
     "jane@example.com"},
    // Provider rules.
    {"Jane.Doe@gmail.com", "janedoe@gmail.com"},
    {"j.a.n.e.d.o.e+spam@gmail.com", "janedoe@gmail.com"},
    {"JANE.DOE+x+y@GoogleMail.com", "janedoe@gmail.com"},
    {"jane.doe@gmail.com.", "janedoe@gmail.com"},
    {"jane+news@outlook.com", "jane@outlook.com"},
    {"jane.doe+x@hotmail.com", "jane.doe@hotmail.com"},
    {"Jane.Doe+Shop@iCloud.com", "jane.doe@icloud.com"},
    {"jane.doe+x@example.com", "jane.doe+x@example.com"},
    {"jane.doe+x@yahoo.com", "jane.doe+x@yahoo.com"},
    {"jane-x@yahoo.com", "jane-x@yahoo.com"},
    // German sharp s: lowercase keeps it (no case folding for email).
    {"STRASSE@example.com", "strasse@example.com"},
    {"Stra\u00dfe@example.com", "stra\u00dfe@example.com"},
    // NFC composes; lowercase handles non-ASCII capitals.
    {"U\u0308SER@Example.com", "\u00fcser@example.com"},
    {"\u00dcSER@example.com", "\u00fcser@example.com"},
    // Turkish: root-locale lowercase, dotted capital I keeps its dot.
    {"\u0130brahim@example.com", "i\u0307brahim@example.com"},
    {"\u0131rmak@example.com", "\u0131rmak@example.com"},
    {"IRMAK@example.com", "irmak@example.com"},
    // Fullwidth: NFC leaves the local part (a different mailbox), IDNA maps
    // the domain.
    {"\uff2a\uff41\uff4e\uff45@example.com",
     "\uff4a\uff41\uff4e\uff45@example.com"},
    {"jane@\uff25\uff38\uff21\uff2d\uff30\uff2c\uff25.com", "jane@example.com"},
    // Zero-width and other default-ignorable code points vanish.
    {"ja\u200bne@example.com", "jane@example.com"},
    {"ja\u200dne@example.com", "jane@example.com"},
    {"j\u200cane\u2060@example.com", "jane@example.com"},
    // An invisible character between a letter and its accent: composed
    // once it is gone (precomposed \u00e9 and \u00fc).
    {"jane\u00ad\u0301@example.com", "jan\u00e9@example.com"},
    {"u\u200d\u0308ser@example.com", "\u00fcser@example.com"},
    {"jane@ex\u00adample.com", "jane@example.com"},
    // IDN domains, mixed case.
    {"user@B\u00dcCHER.example", "user@xn--bcher-kva.example"},
    {"user@b\u00fccher.example", "user@xn--bcher-kva.example"},
    {"user@xn--bcher-kva.example", "user@xn--bcher-kva.example"},
    {"user@stra\u00dfe.de", "user@xn--strae-oqa.de"},
    {"jane@\u4f8b\u3048.\u30c6\u30b9\u30c8", "jane@xn--r8jz45g.xn--zckzah"},
    {"\u7528\u6237@\u4f8b\u5b50.\u5e7f\u544a",
     "\u7528\u6237@xn--fsqu00a.xn--4rr70v"},
    {"jane@EXAMPLE\u3002com", "jane@example.com"},
    {"o'brien@example.ie", "o'brien@example.ie"},
    {"first_last@example.co.uk", "first_last@example.co.uk"},
};

TEST_CASE("email normalisation table") {
  for (const Case& c : kValid) {
    CAPTURE(c.raw);
    auto got = NormaliseEmail(c.raw);
    INFO((got ? std::string() : got.error().ToString()));
    REQUIRE(got.has_value());
    CHECK(*got == c.want);
    // The output is a fixed point: normalising twice changes nothing.
    auto again = NormaliseEmail(*got);
    REQUIRE(again.has_value());
    CHECK(*again == *got);
    // The dispatcher gives the same answer.
    auto via_kind = Normalise("email", c.raw);
    REQUIRE(via_kind.has_value());
    CHECK(*via_kind == c.want);
  }
}

struct Bad {
  std::string raw;
  std::string_view message;
};

TEST_CASE("email normalisation rejects what is not an address") {
  const Bad cases[] = {
      {"", "is empty"},
      {"   ", "is empty"},
      {"\u200b\u00a0", "is empty"},
      {"jane", "has no '@'"},
      {"jane.example.com", "has no '@'"},
      {"@example.com", "nothing before the '@'"},
      {"jane@", "nothing after the '@'"},
      {"jane@@example.com", "more than one '@'"},
      {"jane@x@example.com", "more than one '@'"},
      {"\"jane@x\"@example.com", "more than one '@'"},
      {"\"jane\"@example.com", "quoted local part"},
      {"\"jane.doe\"@example.com", "quoted local part"},
      {"ja ne@example.com", "whitespace inside"},
      {"jane@exa mple.com", "whitespace inside"},
      {"jane\u00a0doe@example.com", "whitespace inside"},
      {"jane\u3000doe@example.com", "whitespace inside"},
      {"jane\tdoe@example.com", "whitespace inside"},
      {"jane@example.com jane@example.org", "whitespace inside"},
      {"ja\x01ne@example.com", "control character"},
      {std::string("jane@exa\0mple.com", 17), "control character"},
      {"jane@localhost", "has no dot"},
      {"jane@[192.168.0.1]", "IP address literal"},
      {"jane@exa_mple.com", "not a valid domain name"},
      {"jane@-example.com", "starting with '-'"},
      {"jane@example..com", "empty label"},
      {"jane@" + std::string(64, 'a') + ".com", "longer than 63 bytes"},
      {"+tag@gmail.com", "empty local part"},
      {"...@gmail.com", "empty local part"},
      {std::string(65, 'a') + "@example.com", "longer than 64 bytes"},
      {std::string(64, 'a') + "@" + std::string(60, 'b') + "." +
           std::string(60, 'c') + "." + std::string(60, 'd') + "." +
           std::string(60, 'e') + ".com",
       "longer than 254 bytes"},
      {"jane@example.com\xff", "not valid UTF-8"},
      {"\xc3\x28@example.com", "not valid UTF-8"},
      {std::string(kMaxRawIdentifierBytes + 1, 'a'), "limited to 4096 bytes"},
  };
  for (const Bad& c : cases) {
    CAPTURE(c.raw);
    auto got = NormaliseEmail(c.raw);
    REQUIRE_FALSE(got.has_value());
    CHECK(got.error().code == ErrorCode::kInvalidArgument);
    CHECK_THAT(got.error().message, Catch::Contains(std::string(c.message)));
  }
}

TEST_CASE("email errors never repeat the address") {
  auto got = NormaliseEmail("secret.person@exa mple.com");
  REQUIRE_FALSE(got.has_value());
  CHECK_THAT(got.error().message,
             !Catch::Contains("secret") && !Catch::Contains("person"));
}

TEST_CASE("email provider table is consistent") {
  for (const EmailProviderRule& rule : EmailProviderRules()) {
    CAPTURE(rule.domain);
    // Every canonical domain maps to itself, so outputs are fixed points.
    bool canonical_listed = false;
    for (const EmailProviderRule& other : EmailProviderRules()) {
      if (other.domain == rule.canonical_domain) {
        canonical_listed = true;
        CHECK(other.canonical_domain == rule.canonical_domain);
        CHECK(other.drop_dots == rule.drop_dots);
        CHECK(other.strip_plus_tag == rule.strip_plus_tag);
      }
    }
    CHECK(canonical_listed);
    // Rows hold domains in their normalised (ASCII, lowercase) form.
    auto normalised = NormaliseEmail("x@" + std::string(rule.domain));
    REQUIRE(normalised.has_value());
    CHECK(*normalised == "x@" + std::string(rule.canonical_domain));
  }
}

}  // namespace
}  // namespace cairn
