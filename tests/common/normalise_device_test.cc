// Table tests of the device rule of profile n1 (docs/token-scheme.md).
#include <string>

#include <catch2/catch.hpp>

#include "cairn/normalise.h"

namespace cairn {
namespace {

struct Case {
  std::string_view raw;
  std::string_view want;
};

constexpr std::string_view kUuid = "uuid:0f8fad5b-d9cb-469f-a165-70867728950e";

constexpr Case kValid[] = {
    // UUIDs / advertising IDs (IDFA, AAID): every common spelling.
    {"0f8fad5b-d9cb-469f-a165-70867728950e", kUuid},
    {"0F8FAD5B-D9CB-469F-A165-70867728950E", kUuid},
    {"{0f8fad5b-d9cb-469f-a165-70867728950e}", kUuid},
    {"{0F8FAD5B-D9CB-469F-A165-70867728950E}", kUuid},
    {"0f8fad5bd9cb469fa16570867728950e", kUuid},
    {"0F8FAD5BD9CB469FA16570867728950E", kUuid},
    {"urn:uuid:0F8FAD5B-D9CB-469F-A165-70867728950E", kUuid},
    {"uuid:0f8fad5b-d9cb-469f-a165-70867728950e", kUuid},
    {"UUID:{0F8FAD5B-D9CB-469F-A165-70867728950E}", kUuid},
    {"uuid:0f8fad5bd9cb469fa16570867728950e", kUuid},
    {"\u00a00f8fad5b-d9cb-469f-a165-70867728950e\u3000", kUuid},
    {"\ufeff\t0f8fad5b-d9cb-469f-a165-70867728950e\r\n", kUuid},
    {"\u2000\u2001\u2002\u20030f8fad5b-d9cb-469f-a165-70867728950e\u2004"
     "\u2005\u2006\u2007\u2008\u2009\u200a\u200b",
     kUuid},
    {"\uff10\uff26\uff18\uff26AD5B-D9CB-469F-A165-70867728950E", kUuid},
    {"6ba7b810-9dad-11d1-80b4-00c04fd430c8",
     "uuid:6ba7b810-9dad-11d1-80b4-00c04fd430c8"},
    // IMEIs with separators; the check digit is verified.
    {"490154203237518", "imei:490154203237518"},
    {"49-015420-323751-8", "imei:490154203237518"},
    {"49 015420 323751 8", "imei:490154203237518"},
    {"imei:490154203237518", "imei:490154203237518"},
    {"IMEI:49-015420-323751-8", "imei:490154203237518"},
    {"\uff14\uff19\uff10154203237518", "imei:490154203237518"},
    {"\u00a0490154203237518\u3000", "imei:490154203237518"},
    {"356938035643809", "imei:356938035643809"},
    // Hex IDs (Android ID: 16 digits; legacy 40-digit UDIDs; up to 64).
    {"3f2a9c41d07be865", "hex:3f2a9c41d07be865"},
    {"3F2A9C41D07BE865", "hex:3f2a9c41d07be865"},
    {"hex:3F2A9C41D07BE865", "hex:3f2a9c41d07be865"},
    {"9774D56D682E549D", "hex:9774d56d682e549d"},
    {"1234567890123456", "hex:1234567890123456"},
    {"\uff13\uff46\uff12a9c41d07be865", "hex:3f2a9c41d07be865"},
    {"3f2a9c41d07be8653f2a9c41d07be8653f2a9c41",
     "hex:3f2a9c41d07be8653f2a9c41d07be8653f2a9c41"},
    {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
     "hex:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
};

TEST_CASE("device normalisation table") {
  for (const Case& c : kValid) {
    CAPTURE(c.raw);
    auto got = NormaliseDevice(c.raw);
    INFO((got ? std::string() : got.error().ToString()));
    REQUIRE(got.has_value());
    CHECK(*got == c.want);
    auto again = NormaliseDevice(*got);
    REQUIRE(again.has_value());
    CHECK(*again == *got);
    auto via_kind = Normalise("device", c.raw);
    REQUIRE(via_kind.has_value());
    CHECK(*via_kind == c.want);
  }
}

struct Bad {
  std::string raw;
  std::string_view message;
};

TEST_CASE("device normalisation rejects bad and shared identifiers") {
  const Bad cases[] = {
      {"", "is empty"},
      {" \u00a0\u200b", "is empty"},
      {"490154203237519", "Luhn check failed"},
      {"49-015420-323751-9", "Luhn check failed"},
      {"353918057721472", "Luhn check failed"},
      {"49015420323751", "has 14 digits"},
      {"imei:4901542032375", "got 13 digits"},
      {"imei:0f8fad5b-d9cb-469f-a165-70867728950e", "only digits"},
      {"4901542032375181x", "unrecognised form"},
      {"0f8fad5b-d9cb-469f-a165-70867728950", "unrecognised form"},
      {"0f8fad5b-d9cb-469f-a165-70867728950g", "unrecognised form"},
      {"0f8fad5bd9cb-469f-a165-70867728950e", "unrecognised form"},
      {"{0f8fad5b-d9cb-469f-a165-70867728950e", "unrecognised form"},
      {"0f8fad5b d9cb 469f a165 70867728950e", "unrecognised form"},
      {"uuid:490154203237518", "not a UUID"},
      {"hex:0f8fad5bd9cb469fa16570867728950e", "not a hex ID"},
      {"3f2a9c41d07be86", "not a hex ID"},
      {"3f2a9c41d07be8653", "not a hex ID"},
      {std::string(66, 'a'), "not a hex ID"},
      {"aa:bb:cc:dd:ee:ff", "unrecognised form"},
      {"device-123", "unrecognised form"},
      {"\u00fcn\u00efcode", "non-ASCII"},
      {"00000000-0000-0000-0000-000000000000", "all zeros"},
      {"000000000000000", "all zeros"},
      {"0000000000000000", "all zeros"},
      {"ffffffff-ffff-ffff-ffff-ffffffffffff", "shared by many devices"},
      {"9774d56d682e549c", "shared by many devices"},
      {"9774D56D682E549C", "shared by many devices"},
      {"0f8fad5b\xff", "not valid UTF-8"},
  };
  for (const Bad& c : cases) {
    CAPTURE(c.raw);
    auto got = NormaliseDevice(c.raw);
    REQUIRE_FALSE(got.has_value());
    CHECK(got.error().code == ErrorCode::kInvalidArgument);
    CHECK_THAT(got.error().message, Catch::Contains(std::string(c.message)));
  }
}

}  // namespace
}  // namespace cairn
