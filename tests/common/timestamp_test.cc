#include "cairn/timestamp.h"

#include <catch2/catch.hpp>

namespace cairn {
namespace {

TEST_CASE("valid timestamps parse and format back identically") {
  struct {
    const char* text;
    std::int64_t epoch_seconds;
  } cases[] = {
      {"1970-01-01T00:00:00Z", 0},
      {"1970-01-01T00:00:01Z", 1},
      {"2000-02-29T12:00:00Z", 951825600},
      {"2024-02-29T23:59:59Z", 1709251199},
      {"2026-11-23T14:00:00Z", 1795442400},
      {"2038-01-19T03:14:08Z", 2147483648},
      {"1999-12-31T23:59:59Z", 946684799},
      {"9999-12-31T23:59:59Z", 253402300799},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    auto t = ParseTimestamp(c.text);
    REQUIRE(t);
    CHECK(t->time_since_epoch().count() == c.epoch_seconds);
    CHECK(FormatTimestamp(*t) == c.text);
  }
}

TEST_CASE("invalid timestamps are rejected with the expected form") {
  const char* bad[] = {
      "",
      "2026-11-23",
      "2026-11-23T14:00:00",
      "2026-11-23T14:00:00z",
      "2026-11-23t14:00:00Z",
      "2026-11-23 14:00:00Z",
      "2026-11-23T14:00:00.5Z",
      "2026-11-23T14:00:00+00:00",
      "2026-13-01T00:00:00Z",
      "2026-00-01T00:00:00Z",
      "2026-01-00T00:00:00Z",
      "2026-01-32T00:00:00Z",
      "2026-04-31T00:00:00Z",
      "2026-02-29T00:00:00Z",  // not a leap year
      "1900-02-29T00:00:00Z",  // also before 1970
      "2100-02-29T00:00:00Z",  // century, not a leap year
      "2026-01-01T24:00:00Z",
      "2026-01-01T00:60:00Z",
      "2026-01-01T00:00:60Z",  // no leap seconds
      "1969-12-31T23:59:59Z",
      "+2026-01-01T00:00:00Z",
      "2026-1-01T00:00:00Z",
      "2026-01-01T0a:00:00Z",
      " 2026-01-01T00:00:00Z",
      "20260101T000000Z",
  };
  for (const char* text : bad) {
    CAPTURE(text);
    auto t = ParseTimestamp(text);
    REQUIRE_FALSE(t);
    CHECK(t.error().code == ErrorCode::kInvalidArgument);
    CHECK(t.error().message.find("2026-11-23T14:00:00Z") != std::string::npos);
  }
}

TEST_CASE("formatting clamps to the representable range") {
  CHECK(FormatTimestamp(kMaxTimestamp + std::chrono::seconds{10}) ==
        "9999-12-31T23:59:59Z");
  CHECK(FormatTimestamp(kMinTimestamp - std::chrono::seconds{10}) ==
        "1970-01-01T00:00:00Z");
}

}  // namespace
}  // namespace cairn
