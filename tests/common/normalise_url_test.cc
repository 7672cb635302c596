// Table tests of the url rule of profile n1 (docs/token-scheme.md).
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
    {"http://example.com", "http://example.com/"},
    {"HTTP://EXAMPLE.COM/", "http://example.com/"},
    {"https://Example.COM:443/a/%7euser?q=1#top",
     "https://example.com/a/~user?q=1"},
    // Default ports go, others stay (in decimal without leading zeros).
    {"http://example.com:80/", "http://example.com/"},
    {"http://example.com:0080/", "http://example.com/"},
    {"http://example.com:/x", "http://example.com/x"},
    {"http://example.com:8080/x", "http://example.com:8080/x"},
    {"https://example.com:80/", "https://example.com:80/"},
    // Percent-encoding: unreserved decoded, the rest uppercase hex.
    {"https://example.com/%7Ejane", "https://example.com/~jane"},
    {"https://example.com/%41%42%43%2d%5f%2E", "https://example.com/ABC-_."},
    {"https://example.com/a%2fb", "https://example.com/a%2Fb"},
    {"https://example.com/a%3ab", "https://example.com/a%3Ab"},
    {"https://example.com/a%c3%a9", "https://example.com/a%C3%A9"},
    {"https://example.com/caf\u00e9", "https://example.com/caf%C3%A9"},
    {"https://example.com/a\\b", "https://example.com/a%5Cb"},
    {"https://example.com/\"q\"", "https://example.com/%22q%22"},
    {"https://example.com/path;p=1?x=[1]",
     "https://example.com/path;p=1?x=%5B1%5D"},
    {"https://example.com/p?q=a%20b&r=%7e#f",
     "https://example.com/p?q=a%20b&r=~"},
    // Dot segments (RFC 3986 section 5.2.4), also when percent-encoded.
    {"https://example.com/a/./b/../c", "https://example.com/a/c"},
    {"https://example.com/a/b/..", "https://example.com/a/"},
    {"https://example.com/../a", "https://example.com/a"},
    {"https://example.com/%2e%2e/a", "https://example.com/a"},
    // Empty path, empty query and fragments.
    {"https://example.com?q=1", "https://example.com/?q=1"},
    {"https://example.com/?", "https://example.com/"},
    {"https://example.com/#frag", "https://example.com/"},
    {"https://example.com/p?#f", "https://example.com/p"},
    // Path and query keep their case.
    {"https://example.com/CaSe/Path?Q=V", "https://example.com/CaSe/Path?Q=V"},
    // IDN hosts, mixed case, fullwidth, ideographic full stop, trailing dot.
    {"https://B\u00dcCHER.example/Path", "https://xn--bcher-kva.example/Path"},
    {"https://b\u00fccher.example/", "https://xn--bcher-kva.example/"},
    {"https://xn--BCHER-kva.example/", "https://xn--bcher-kva.example/"},
    {"https://\u4f8b\u3048.\u30c6\u30b9\u30c8/",
     "https://xn--r8jz45g.xn--zckzah/"},
    {"https://\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com/",
     "https://example.com/"},
    {"https://example\u3002com/", "https://example.com/"},
    {"https://example.com./", "https://example.com/"},
    {"https://ex\u00adample.com/", "https://example.com/"},
    // IP literals; IPv6 in RFC 5952 form.
    {"http://192.168.0.1/", "http://192.168.0.1/"},
    {"https://[2001:DB8::1]/", "https://[2001:db8::1]/"},
    {"https://[2001:0db8:0000:0000:0000:0000:0000:0001]:8443/x",
     "https://[2001:db8::1]:8443/x"},
    // Whitespace and invisible characters around the URL.
    {"\u00a0https://example.com/\u3000", "https://example.com/"},
    {"\ufeffhttps://example.com/\u200b", "https://example.com/"},
    {"\t\u2003https://example.com/x\r\n", "https://example.com/x"},
};

TEST_CASE("url normalisation table") {
  for (const Case& c : kValid) {
    CAPTURE(c.raw);
    auto got = NormaliseUrl(c.raw);
    INFO((got ? std::string() : got.error().ToString()));
    REQUIRE(got.has_value());
    CHECK(*got == c.want);
    auto again = NormaliseUrl(*got);
    REQUIRE(again.has_value());
    CHECK(*again == *got);
    auto via_kind = Normalise("url", c.raw);
    REQUIRE(via_kind.has_value());
    CHECK(*via_kind == c.want);
  }
}

struct Bad {
  std::string raw;
  std::string_view message;
};

TEST_CASE("url normalisation rejects other schemes and malformed URLs") {
  const Bad cases[] = {
      {"", "is empty"},
      {"\u00a0\u200b", "is empty"},
      {"ftp://example.com/",
       "scheme (the part before the first ':') is not supported"},
      {"javascript:alert(1)",
       "scheme (the part before the first ':') is not supported"},
      {"mailto:jane@example.com",
       "scheme (the part before the first ':') is not supported"},
      {"file:///etc/passwd",
       "scheme (the part before the first ':') is not supported"},
      {"example.com", "has no scheme"},
      {"//example.com/", "has no scheme"},
      {"http:/example.com", "has no host"},
      {"https://", "has no host"},
      {"https:///path", "has no host"},
      {"https://:443/", "has no host"},
      {"https://user:pass@example.com/", "user information"},
      {"https://user@example.com/", "user information"},
      {"https://example.com:99999/", "not a number from 1 to 65535"},
      {"https://example.com:0/", "not a number from 1 to 65535"},
      {"https://example.com:ab/", "not a number from 1 to 65535"},
      {"https://example.com:-1/", "not a number from 1 to 65535"},
      {"https://exa mple.com/", "whitespace or a control character"},
      {"https://example.com/a b", "whitespace or a control character"},
      {"https://example.com/a\tb", "whitespace or a control character"},
      {"https://example.com/a\u3000b", "whitespace or a control character"},
      {"https://example.com/\x01", "whitespace or a control character"},
      {"https://example.com/%zz", "path has a '%' not followed"},
      {"https://example.com/%4", "path has a '%' not followed"},
      {"https://example.com/?q=%", "query has a '%' not followed"},
      {"https://[2001:db8::1/", "has no ']'"},
      {"https://[2001:db8::1]x/", "not a port"},
      {"https://[fe80::1%25eth0]/", "zone identifier"},
      {"https://[zz::1]/", "not a valid IPv6 address"},
      {"https://exa_mple.com/", "not a valid domain name"},
      {"https://-example.com/", "not a valid domain name"},
      {"https://example..com/", "empty label"},
      {"https://%65xample.com/", "percent-encoding"},
      {"https://example.com/\xff", "not valid UTF-8"},
  };
  for (const Bad& c : cases) {
    CAPTURE(c.raw);
    auto got = NormaliseUrl(c.raw);
    REQUIRE_FALSE(got.has_value());
    CHECK(got.error().code == ErrorCode::kInvalidArgument);
    CHECK_THAT(got.error().message, Catch::Contains(std::string(c.message)));
  }
}

TEST_CASE("custom kinds: trim and NFC, and unknown kinds are refused") {
  NormaliseOptions options;
  options.custom_kinds = {"steam_id"};
  struct CustomCase {
    std::string_view raw;
    std::string_view want;
  };
  const CustomCase cases[] = {
      {"  76561197960287930\u00a0", "76561197960287930"},
      {"\ufeffA\u030a\u3000", "\u00c5"},
      {"MiXeD Case kept", "MiXeD Case kept"},
  };
  for (const CustomCase& c : cases) {
    CAPTURE(c.raw);
    auto got = Normalise("steam_id", c.raw, options);
    REQUIRE(got.has_value());
    CHECK(*got == c.want);
  }
  auto empty = Normalise("steam_id", " \u200b ", options);
  REQUIRE_FALSE(empty.has_value());
  CHECK_THAT(empty.error().message, Catch::Contains("is empty"));
  auto control = Normalise("steam_id", "a\x01z", options);
  REQUIRE_FALSE(control.has_value());
  CHECK_THAT(control.error().message, Catch::Contains("control character"));
  auto unknown = Normalise("steam_id", "76561197960287930");
  REQUIRE_FALSE(unknown.has_value());
  CHECK_THAT(unknown.error().message,
             Catch::Contains("unknown identifier kind 'steam_id'"));
}

}  // namespace
}  // namespace cairn
