#include "cairn/hub_url.h"

#include <catch2/catch.hpp>

namespace cairn {
namespace {

TEST_CASE("hub URLs parse into host and port") {
  struct Case {
    std::string_view url;
    std::string_view host;
    std::string_view port;
  };
  const Case cases[] = {
      {"https://127.0.0.1:8443", "127.0.0.1", "8443"},
      {"https://hub.example.org", "hub.example.org", "443"},
      {"https://hub.example.org/", "hub.example.org", "443"},
      {"https://hub.example.org:9443/v1/me", "hub.example.org", "9443"},
      {"https://[::1]:8443", "::1", "8443"},
      {"https://[::1]", "::1", "443"},
      {"https://localhost:1", "localhost", "1"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.url);
    auto address = ParseHubUrl(c.url);
    REQUIRE(address.has_value());
    CHECK(address->host == c.host);
    CHECK(address->port == c.port);
  }
}

TEST_CASE("malformed hub URLs are refused with a reason") {
  struct Case {
    std::string_view url;
    std::string_view says;
  };
  const Case cases[] = {
      {"http://hub.example.org", "must start with https://"},
      {"hub.example.org:8443", "must start with https://"},
      {"", "must start with https://"},
      {"https://", "has no host"},
      {"https://:8443", "has no host"},
      {"https://[::1:8443", "unterminated IPv6"},
      {"https://hub:84x3", "not a number"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.url);
    auto address = ParseHubUrl(c.url);
    REQUIRE_FALSE(address.has_value());
    CHECK(address.error().code == ErrorCode::kInvalidArgument);
    CHECK_THAT(address.error().message, Catch::Contains(std::string(c.says)));
  }
}

}  // namespace
}  // namespace cairn
