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

// The manual clock of the TimeOrderedIds tests (a plain function pointer
// cannot capture).
std::chrono::system_clock::time_point fake_now;
std::chrono::system_clock::time_point FakeNow() { return fake_now; }

std::string TimeHex(const std::string& id) { return id.substr(2, 12); }

TEST_CASE("TimeOrderedIds keep milliseconds and never go back in time") {
  const auto t0 = std::chrono::system_clock::time_point(
      std::chrono::milliseconds(1'764'000'000'000));
  TimeOrderedIds ids(&FakeNow);
  fake_now = t0 + std::chrono::milliseconds(1234);
  const std::string first = ids.Next("m_");
  CHECK(TimeHex(first) == "019ab697ecd2");  // 1764000001234: not floored
  // The clock steps back (NTP): ids keep the last time, so they still sort
  // after every earlier id's time and the index keeps growing at its edge.
  fake_now = t0;
  const std::string stepped_back = ids.Next("m_");
  CHECK(TimeHex(stepped_back) == TimeHex(first));
  CHECK(stepped_back != first);
  fake_now = t0 + std::chrono::milliseconds(1235);
  CHECK(TimeHex(ids.Next("m_")) == "019ab697ecd3");
}

TEST_CASE("TimeOrderedIds on the real clock carry its current milliseconds") {
  TimeOrderedIds ids;
  const auto before = std::chrono::floor<std::chrono::milliseconds>(
      std::chrono::system_clock::now());
  std::string last;
  for (int i = 0; i < 10000; ++i) {
    std::string id = ids.Next("m_");
    REQUIRE(TimeHex(id) >= TimeHex(last.empty() ? id : last));
    last = std::move(id);
  }
  const auto after = std::chrono::system_clock::now();
  const auto ms = std::stoull(TimeHex(last), nullptr, 16);
  CHECK(ms >= static_cast<std::uint64_t>(before.time_since_epoch().count()));
  CHECK(ms <= static_cast<std::uint64_t>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(
                      after.time_since_epoch())
                      .count()));
}

}  // namespace
}  // namespace cairn::server::store_internal
