// RecentMatchSignals: what the writer remembers of match_signals_recent
// through a transaction (Pending) and after it commits, over a real
// database file with the current schema.
#include "server/src/store/recent_match_signals.h"

#include <catch2/catch.hpp>
#include <vector>

#include "store_test_util.h"

namespace cairn::server {
namespace {

using testing::QueryInt64;
using testing::TempDir;

struct Db {
  TempDir dir;
  std::unique_ptr<Database> db;
  Db() {
    auto opened =
        Database::Open(dir.path() / "hub.db", /*create=*/true,
                       /*read_only=*/false, std::chrono::milliseconds(1000));
    REQUIRE(opened.has_value());
    db = std::move(*opened);
    REQUIRE(MigrateSchema(*db).has_value());
  }
  void Exec(const std::string& sql) { REQUIRE(db->Exec(sql).has_value()); }
  std::int64_t Count(const std::string& table) {
    return QueryInt64(dir.path() / "hub.db", "SELECT count(*) FROM " + table);
  }
};

TEST_CASE(
    "Load reads the waiting rows, and Pending adds to them until Commit") {
  Db d;
  d.Exec(
      "INSERT INTO match_signals_recent (match, signal) VALUES"
      " (1, 10), (1, 11), (2, 10)");
  RecentMatchSignals recent;
  REQUIRE(recent.Load(*d.db).has_value());
  const std::vector<std::int64_t> s10{10}, s12{12}, s99{99}, both{99, 11};
  RecentMatchSignals::Pending none;
  CHECK(recent.Rows(none) == 3);
  CHECK(recent.MayHoldAny(s10, none));
  CHECK(recent.MayHoldAny(both, none));
  CHECK_FALSE(recent.MayHoldAny(s99, none));

  RecentMatchSignals::Pending p;
  p.added = {12, 12};
  CHECK(recent.Rows(p) == 5);
  CHECK(recent.MayHoldAny(s12, p));
  CHECK_FALSE(recent.MayHoldAny(s12, none));  // not committed
  recent.Commit(std::move(p));
  CHECK(recent.Rows(none) == 5);
  CHECK(recent.MayHoldAny(s12, none));
}

TEST_CASE("Settle moves every row, sorted, and forgets them at Commit") {
  Db d;
  d.Exec(
      "INSERT INTO match_signals_recent (match, signal) VALUES"
      " (1, 30), (1, 20), (2, 10)");
  RecentMatchSignals recent;
  REQUIRE(recent.Load(*d.db).has_value());
  d.Exec("BEGIN IMMEDIATE");
  RecentMatchSignals::Pending p;
  p.added = {30};  // rows inserted before the settle move with it
  REQUIRE(RecentMatchSignals::Settle(*d.db, p).has_value());
  CHECK(p.settled);
  CHECK(p.added.empty());
  const std::vector<std::int64_t> s30{30}, s40{40};
  CHECK_FALSE(recent.MayHoldAny(s30, p));
  CHECK(recent.Rows(p) == 0);
  p.added = {40};  // inserted after the settle: waits again
  CHECK(recent.MayHoldAny(s40, p));
  CHECK(recent.Rows(p) == 1);
  d.Exec("COMMIT");
  recent.Commit(std::move(p));
  CHECK(d.Count("match_signals_recent") == 0);
  CHECK(d.Count("match_signals") == 3);
  CHECK(QueryInt64(d.dir.path() / "hub.db",
                   "SELECT count(*) FROM match_signals WHERE"
                   " (signal, match) IN (VALUES (10, 2), (20, 1), (30, 1))") ==
        3);
  const RecentMatchSignals::Pending none;
  CHECK(recent.Rows(none) == 1);
  CHECK_FALSE(recent.MayHoldAny(s30, none));
  CHECK(recent.MayHoldAny(s40, none));
}

TEST_CASE("a rolled-back settle leaves the writer's memory as it was") {
  Db d;
  d.Exec("INSERT INTO match_signals_recent (match, signal) VALUES (1, 5)");
  RecentMatchSignals recent;
  REQUIRE(recent.Load(*d.db).has_value());
  d.Exec("BEGIN IMMEDIATE");
  RecentMatchSignals::Pending p;
  REQUIRE(RecentMatchSignals::Settle(*d.db, p).has_value());
  d.Exec("ROLLBACK");  // and Commit(p) is never called
  const std::vector<std::int64_t> s5{5};
  CHECK(recent.MayHoldAny(s5, RecentMatchSignals::Pending{}));
  CHECK(d.Count("match_signals_recent") == 1);
  CHECK(d.Count("match_signals") == 0);
}

}  // namespace
}  // namespace cairn::server
