// Signal and match identifiers: shape, uniqueness, and time order.
#include "server/src/store/record_ids.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <set>
#include <string>

namespace cairn::server::store_internal {
namespace {

bool IsLowerHex(std::string_view s) {
  return s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

TEST_CASE("ids are the prefix and 32 lowercase hex characters, all distinct") {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    const std::string id = NewId("s_");
    REQUIRE(id.size() == 34);
    REQUIRE(id.rfind("s_", 0) == 0);
    REQUIRE(IsLowerHex(std::string_view(id).substr(2)));
    seen.insert(id);
  }
  CHECK(seen.size() == 10000);
}

TEST_CASE("time-ordered ids sort by time and differ within a millisecond") {
  const auto t0 = std::chrono::system_clock::time_point(
      std::chrono::milliseconds(1'764'000'000'000));
  const std::string a = NewTimeOrderedId("m_", t0);
  const std::string b = NewTimeOrderedId("m_", t0);
  const std::string later =
      NewTimeOrderedId("m_", t0 + std::chrono::milliseconds(1));
  REQUIRE(a.size() == 34);
  CHECK(IsLowerHex(std::string_view(a).substr(2)));
  // The first six bytes are the milliseconds: 1764000000000 = 0x019ab697e800
  CHECK(a.substr(2, 12) == "019ab697e800");
  CHECK(a.substr(2, 12) == b.substr(2, 12));
  CHECK(a != b);  // the random part
  CHECK(a < later);
  CHECK(b < later);
}

}  // namespace
}  // namespace cairn::server::store_internal
