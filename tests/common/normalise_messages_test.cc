// The normalisers' error messages never repeat any part of the identifier
// they refuse (cairn/client.h: "Error messages name batch positions, never
// identifier values"): they end up in logs, terminals and support tickets.
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "cairn/normalise.h"

namespace cairn {
namespace {

struct Case {
  std::string kind;
  std::string raw;
  // Parts of `raw` that must not appear in the message (besides `raw`
  // itself, trimmed).
  std::vector<std::string> secret;
  // What the message must still say.
  std::string says;
  std::string region = "GB";
};

std::string Trimmed(const std::string& s) {
  const auto begin = s.find_first_not_of(' ');
  const auto end = s.find_last_not_of(' ');
  return begin == std::string::npos ? "" : s.substr(begin, end - begin + 1);
}

TEST_CASE("normaliser errors quote no part of the identifier") {
  const Case cases[] = {
      // handle: the service part, whether unknown or malformed.
      {"handle", "janedoe1987:snap", {"janedoe1987"}, "unknown handle service"},
      {"handle", "myspace:jane", {"myspace"}, "unknown handle service"},
      {"handle",
       "JaneDoe1987:snap",
       {"janedoe1987", "JaneDoe1987"},
       "unknown handle service"},
      {"handle", "jane doe:snap", {"jane doe"}, "handle service"},
      {"handle", "jane!doe:x", {"jane!doe"}, "handle service"},
      {"handle", "janedoe1987", {"janedoe1987"}, "has no service"},
      {"handle", "snapchat:jane doe", {"jane doe"}, "contains whitespace"},
      // url: the scheme, which may be a mistyped host or a user name.
      {"url",
       "janedoe1987://example.com/",
       {"janedoe1987"},
       "is not supported"},
      {"url",
       "javascript:alert(1)",
       {"javascript", "alert"},
       "is not supported"},
      {"url", "https:janedoe1987.example", {"janedoe1987"}, "no host"},
      {"url",
       "https://jane:secret@example.com/",
       {"jane", "secret"},
       "user information"},
      {"url", "https://exa_mple.com/", {"exa_mple"}, "not a valid domain"},
      {"url", "https://example.com/%zz", {"%zz"}, "'%' not followed"},
      // email
      {"email", "janedoe1987", {"janedoe1987"}, "has no '@'"},
      {"email", "jane@doe@example.com", {"jane", "doe@"}, "more than one '@'"},
      {"email",
       "jane@exa_mple.com",
       {"jane", "exa_mple"},
       "not a valid domain"},
      {"email",
       "janedoe1987@localhost",
       {"janedoe1987", "localhost"},
       "has no dot"},
      // phone: the country calling code the number carries, or the region
      // it names, is part of the number too.
      {"phone", "+44 20 7946 095", {"+44", "44 20", "GB"}, "not valid", "US"},
      {"phone", "+1 201 555 012", {"+1", "201", "US"}, "not valid", "GB"},
      {"phone", "+999 123 456", {"999"}, "unknown country calling code"},
      {"phone", "12", {}, "not valid for region GB"},
      // device
      {"device", "35209900176148", {"35209900176148"}, "14 digits"},
      {"device", "352099001761482", {"352099001761482"}, "check digit"},
      {"device", "uuid:janedoe1987", {"janedoe1987"}, "not a UUID"},
      {"device", "hex:abcdef", {"abcdef"}, "not a hex ID"},
      // custom
      {"steam_id", "jane\tdoe", {"jane", "doe"}, "control character"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.kind, c.raw);
    NormaliseOptions options;
    options.default_region = c.region;
    options.custom_kinds.insert("steam_id");
    auto normalised = Normalise(c.kind, c.raw, options);
    REQUIRE_FALSE(normalised);
    const std::string& message = normalised.error().message;
    CAPTURE(message);
    CHECK_THAT(message, Catch::Contains(c.says));
    CHECK_THAT(message, !Catch::Contains(Trimmed(c.raw)));
    for (const std::string& part : c.secret) {
      CHECK_THAT(message, !Catch::Contains(part));
    }
  }
}

TEST_CASE(
    "an unknown handle service points to the members' own setting, not the "
    "hub operator") {
  auto normalised = Normalise("handle", "janedoe1987:snap", {});
  REQUIRE_FALSE(normalised);
  const std::string& message = normalised.error().message;
  CAPTURE(message);
  CHECK_THAT(message, Catch::Contains("--handle-service"));
  CHECK_THAT(message, Catch::Contains("handle_services"));
  CHECK_THAT(message, Catch::Contains("extra_handle_services"));
  CHECK_THAT(message, Catch::Contains("consortium"));
  CHECK_THAT(message, Catch::Contains("docs/token-scheme.md"));
  CHECK_THAT(message, !Catch::Contains("operator"));
  // The built-in services are listed.
  CHECK_THAT(message, Catch::Contains("snapchat"));
}

}  // namespace
}  // namespace cairn
