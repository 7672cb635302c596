#include "cairn/encoding.h"

#include <catch2/catch.hpp>

namespace cairn {
namespace {

Bytes B(std::string_view s) { return Bytes(s.begin(), s.end()); }

TEST_CASE("hex round-trips and is lowercase") {
  const Bytes bytes = {0x00, 0x01, 0xab, 0xff};
  CHECK(HexEncode(bytes) == "0001abff");
  auto back = HexDecode("0001ABff");
  REQUIRE(back.has_value());
  CHECK(*back == bytes);
  CHECK(HexEncode({}).empty());
}

TEST_CASE("hex decoding rejects bad input") {
  struct Case {
    std::string_view text;
    bool lowercase_only;
  };
  const Case cases[] = {{"abc", false}, {"zz", false},  {"0g", false},
                        {" 00", false}, {"00 ", false}, {"AB", true},
                        {"0x00", false}};
  for (const auto& c : cases) {
    CAPTURE(c.text, c.lowercase_only);
    auto r = HexDecode(c.text, c.lowercase_only);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == ErrorCode::kInvalidArgument);
  }
}

TEST_CASE("base64 matches RFC 4648 section 10 test vectors") {
  const std::pair<std::string_view, std::string_view> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    CAPTURE(plain);
    CHECK(Base64Encode(B(plain)) == encoded);
    auto back = Base64Decode(encoded);
    REQUIRE(back.has_value());
    CHECK(*back == B(plain));
  }
}

TEST_CASE("base64 decoding rejects bad input") {
  for (std::string_view bad :
       {"Zg", "Zm9v!", "Zm 9v", "Zg==Zg==", "====", "Zm9vYg=", "Zm9v\n"}) {
    CAPTURE(bad);
    CHECK_FALSE(Base64Decode(bad).has_value());
  }
}

}  // namespace
}  // namespace cairn
