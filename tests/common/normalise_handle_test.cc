// Table tests of the handle rule of profile n1 (docs/token-scheme.md).
#include <algorithm>
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
    {"snapchat:jane", "snapchat:jane"},
    {"Snapchat:Jane", "snapchat:jane"},
    {"SNAPCHAT:@JANE", "snapchat:jane"},
    {"instagram:@jane.doe", "instagram:jane.doe"},
    {"x:@Jane", "x:jane"},
    {"discord:Jane#1234", "discord:jane#1234"},
    {"roblox:Jane_Doe99", "roblox:jane_doe99"},
    {"telegram:@JaneDoe", "telegram:janedoe"},
    {"mastodon:@jane@mastodon.social", "mastodon:jane@mastodon.social"},
    // Only one leading '@' is removed.
    {"snapchat:@@jane", "snapchat:@jane"},
    // Whitespace of every kind around the whole handle and around the name.
    {"  tiktok:jane_doe  ", "tiktok:jane_doe"},
    {"\ttiktok:jane\r\n", "tiktok:jane"},
    {"\u00a0twitch:jane\u3000", "twitch:jane"},
    {"\u2000\u2001\u2002\u2003\u2004\u2005twitch:jane\u2006\u2007\u2008\u2009"
     "\u200a",
     "twitch:jane"},
    {"\ufeffkik:jane\u2028\u2029", "kik:jane"},
    {"snapchat: @jane", "snapchat:jane"},
    {"snapchat :\u00a0jane", "snapchat:jane"},
    // Fullwidth letters, '＠' and service names.
    {"instagram:\uff2a\uff41\uff4e\uff45", "instagram:jane"},
    {"instagram:\uff20jane", "instagram:jane"},
    {"\uff53\uff4e\uff41\uff50\uff43\uff48\uff41\uff54:jane", "snapchat:jane"},
    // German sharp s: case folding gives "ss" (also capital sharp s).
    {"snapchat:stra\u00dfe", "snapchat:strasse"},
    {"snapchat:STRASSE", "snapchat:strasse"},
    {"snapchat:STRA\u1e9eE", "snapchat:strasse"},
    // Turkish: dotted capital I folds to i + combining dot; dotless i stays.
    {"snapchat:\u0130brahim", "snapchat:i\u0307brahim"},
    {"snapchat:\u0131rmak", "snapchat:\u0131rmak"},
    {"snapchat:IRMAK", "snapchat:irmak"},
    // Zero-width and other default-ignorable code points are removed.
    {"snapchat:ja\u200dne", "snapchat:jane"},
    {"snapchat:ja\u200cne", "snapchat:jane"},
    {"snapchat:ja\u200bne", "snapchat:jane"},
    {"snapchat:ja\ufeffne", "snapchat:jane"},
    {"snapchat:ja\u00adne", "snapchat:jane"},
    {"snapchat:ja\u2060ne", "snapchat:jane"},
    {"snapchat:\u200b@jane", "snapchat:jane"},
    // Compatibility forms: ligatures, mathematical letters, superscripts.
    {"snapchat:\ufb01sh", "snapchat:fish"},
    {"snapchat:\U0001d423\U0001d41a\U0001d427\U0001d41e", "snapchat:jane"},
    {"snapchat:jane\u00b2", "snapchat:jane2"},
    // One name, three spellings of Å.
    {"snapchat:\u00c5sa", "snapchat:\u00e5sa"},
    {"snapchat:A\u030asa", "snapchat:\u00e5sa"},
    {"snapchat:\u212bsa", "snapchat:\u00e5sa"},
    // Other scripts fold too; final sigma folds to sigma.
    {"snapchat:\u039f\u0394\u03a5\u03a3\u03a3\u0395\u03a5\u03a3",
     "snapchat:\u03bf\u03b4\u03c5\u03c3\u03c3\u03b5\u03c5\u03c3"},
    {"snapchat:\u03bf\u03b4\u03c5\u03c3\u03c3\u03b5\u03c5\u03c2",
     "snapchat:\u03bf\u03b4\u03c5\u03c3\u03c3\u03b5\u03c5\u03c3"},
    {"snapchat:\u0416\u0435\u043d\u044f", "snapchat:\u0436\u0435\u043d\u044f"},
};

TEST_CASE("handle normalisation table") {
  for (const Case& c : kValid) {
    CAPTURE(c.raw);
    auto got = NormaliseHandle(c.raw);
    INFO((got ? std::string() : got.error().ToString()));
    REQUIRE(got.has_value());
    CHECK(*got == c.want);
    auto via_kind = Normalise("handle", c.raw);
    REQUIRE(via_kind.has_value());
    CHECK(*via_kind == c.want);
  }
}

TEST_CASE("handle normalisation is idempotent except for a second '@'") {
  for (const Case& c : kValid) {
    if (c.want.find(":@") != std::string_view::npos) continue;
    CAPTURE(c.want);
    auto again = NormaliseHandle(c.want);
    REQUIRE(again.has_value());
    CHECK(*again == c.want);
  }
}

struct Bad {
  std::string raw;
  std::string_view message;
};

TEST_CASE("handle normalisation rejects bad handles") {
  const Bad cases[] = {
      {"", "has no service"},
      {"jane", "has no service"},
      {"@jane", "has no service"},
      {"snap\uff1ajane", "has no service"},
      {":jane", "empty service"},
      {" \u00a0:jane", "empty service"},
      {"myspace:jane", "unknown handle service (the part before ':')"},
      {"snap chat:jane", "is not a service name"},
      {"snapchat!:jane", "is not a service name"},
      {"snapchat:", "name is empty"},
      {"snapchat:@", "name is empty"},
      {"snapchat:\u200b\u200d", "name is empty"},
      {"snapchat:  ", "name is empty"},
      {"snapchat:ja ne", "contains whitespace"},
      {"snapchat:ja\u3000ne", "contains whitespace"},
      {"snapchat:ja\u00a0ne", "contains whitespace"},
      {"snapchat:ja\tne", "contains whitespace"},
      {"snapchat:@ jane", "contains whitespace"},
      {"snapchat:jane doe", "contains whitespace"},
      {"snapchat:ja\x01ne", "control character"},
      {"snapchat:ja\x7fne", "control character"},
      {"snapchat:" + std::string(257, 'a'), "longer than 256 bytes"},
      {"snapchat:ja\xffne", "not valid UTF-8"},
  };
  for (const Bad& c : cases) {
    CAPTURE(c.raw);
    auto got = NormaliseHandle(c.raw);
    REQUIRE_FALSE(got.has_value());
    CHECK(got.error().code == ErrorCode::kInvalidArgument);
    CHECK_THAT(got.error().message, Catch::Contains(std::string(c.message)));
  }
}

TEST_CASE("operators can register extra handle services") {
  const std::set<std::string, std::less<>> extra = {"myspace", "bebo"};
  auto got = NormaliseHandle("MySpace:@Tom", extra);
  REQUIRE(got.has_value());
  CHECK(*got == "myspace:tom");
  CHECK_FALSE(NormaliseHandle("myspace:tom").has_value());
  CHECK(IsKnownHandleService("bebo", extra));
  CHECK_FALSE(IsKnownHandleService("friendster", extra));

  NormaliseOptions options;
  options.extra_handle_services = extra;
  auto via_kind = Normalise("handle", "bebo:Tom", options);
  REQUIRE(via_kind.has_value());
  CHECK(*via_kind == "bebo:tom");
}

TEST_CASE("built-in handle services include the issue's list") {
  const auto services = BuiltinHandleServices();
  CHECK(std::is_sorted(services.begin(), services.end()));
  for (std::string_view s :
       {"snapchat", "instagram", "discord", "roblox", "tiktok", "x", "telegram",
        "facebook", "twitch", "reddit", "kik", "whatsapp"}) {
    CAPTURE(s);
    CHECK(IsKnownHandleService(s, {}));
  }
}

}  // namespace
}  // namespace cairn
