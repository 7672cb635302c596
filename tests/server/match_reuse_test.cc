// MatchReuseCache on its own: what counts as the same match, and its bound.
#include "server/src/store/match_reuse.h"

#include <catch2/catch.hpp>
#include <vector>

namespace cairn::server {
namespace {

IndexKey KeyNumber(int n) {
  IndexKey k;
  k.kind = 1;
  k.token[0] = static_cast<std::uint8_t>(n);
  k.token[1] = static_cast<std::uint8_t>(n >> 8);
  return k;
}

IndexEntry Entry(std::int64_t rowid, Severity severity = Severity::kHigh) {
  IndexEntry e;
  e.rowid = rowid;
  e.member = 7;
  e.severity = severity;
  e.banned_at = 1000;
  e.expires_at = 5000;
  return e;
}

MatchResult Match(const char* id) {
  MatchResult m;
  m.match_id = id;
  m.index = 99;
  return m;
}

TEST_CASE("a match is reused only for the same member, key and signals") {
  MatchReuseCache cache(100);
  const std::vector<IndexEntry> support = {Entry(1), Entry(2)};
  cache.Insert(3, KeyNumber(1), support, 500, Match("m_a"));

  auto found = cache.Find(3, KeyNumber(1), support, 400, 5);
  REQUIRE(found.has_value());
  CHECK(found->match_id == "m_a");
  CHECK(found->index == 5);  // the position in the new query

  struct Case {
    const char* name;
    std::uint32_t member;
    IndexKey key;
    std::vector<IndexEntry> support;
    std::int64_t not_before;
  };
  const Case misses[] = {
      {"another member", 4, KeyNumber(1), support, 400},
      {"another token", 3, KeyNumber(2), support, 400},
      {"a signal fewer", 3, KeyNumber(1), {Entry(1)}, 400},
      {"a signal more", 3, KeyNumber(1), {Entry(1), Entry(2), Entry(3)}, 400},
      {"a signal updated",
       3,
       KeyNumber(1),
       {Entry(1), Entry(2, Severity::kCritical)},
       400},
      {"recorded before the window", 3, KeyNumber(1), support, 501},
  };
  for (const Case& c : misses) {
    CAPTURE(c.name);
    CHECK_FALSE(cache.Find(c.member, c.key, c.support, c.not_before, 0));
  }
}

TEST_CASE("the cache holds at most its bound and drops the oldest first") {
  MatchReuseCache cache(100);
  const std::vector<IndexEntry> support = {Entry(1)};
  for (int i = 0; i < 1000; ++i) {
    cache.Insert(1, KeyNumber(i), support, 0, Match("m_x"));
    REQUIRE(cache.size() <= 100);
  }
  CHECK(cache.Find(1, KeyNumber(999), support, 0, 0).has_value());
  CHECK(cache.Find(1, KeyNumber(950), support, 0, 0).has_value());
  CHECK_FALSE(cache.Find(1, KeyNumber(0), support, 0, 0).has_value());
  CHECK_FALSE(cache.Find(1, KeyNumber(800), support, 0, 0).has_value());
}

TEST_CASE("a newer match for the same key replaces the older one") {
  MatchReuseCache cache(4);
  const std::vector<IndexEntry> support = {Entry(1)};
  cache.Insert(1, KeyNumber(1), support, 10, Match("m_old"));
  cache.Insert(1, KeyNumber(2), support, 10, Match("m_other"));  // rotates
  cache.Insert(1, KeyNumber(1), support, 20, Match("m_new"));
  CHECK(cache.Find(1, KeyNumber(1), support, 0, 0)->match_id == "m_new");
}

TEST_CASE("a purge's eviction forgets the matches made up to its cutoff") {
  MatchReuseCache cache(4);  // two generations of two
  const std::vector<IndexEntry> support = {Entry(1)};
  cache.Insert(1, KeyNumber(1), support, 100, Match("m_1"));
  cache.Insert(1, KeyNumber(2), support, 200, Match("m_2"));  // rotates
  cache.Insert(1, KeyNumber(3), support, 300, Match("m_3"));
  REQUIRE(cache.size() == 3);
  cache.EvictCreatedAtOrBefore(200);
  CHECK(cache.size() == 1);
  CHECK_FALSE(cache.Find(1, KeyNumber(1), support, 0, 0).has_value());
  CHECK_FALSE(cache.Find(1, KeyNumber(2), support, 0, 0).has_value());
  CHECK(cache.Find(1, KeyNumber(3), support, 0, 0)->match_id == "m_3");
}

}  // namespace
}  // namespace cairn::server
