// The tests' database readers (tests/support/sqlite_query.h): they return
// what the file holds, and anything else fails the calling test. The
// [!shouldfail] cases pass only if the helper fails the test: a helper
// that returned 0 or a short column there instead would fail them.
#include "support/sqlite_query.h"

#include <sqlite3.h>

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "support/process.h"

namespace cairn::testing {
namespace {

// A database file with t(x) holding 1, 2 and NULL.
class Db {
 public:
  Db() {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path().c_str(), &db) == SQLITE_OK);
    const int rc =
        sqlite3_exec(db,
                     "CREATE TABLE t(x); INSERT INTO t VALUES (1), (2), (NULL);"
                     "CREATE TABLE empty(x);",
                     nullptr, nullptr, nullptr);
    sqlite3_close(db);
    REQUIRE(rc == SQLITE_OK);
  }
  std::string path() const { return dir_.File("test.db"); }

 private:
  TempDir dir_{"cairn-sqlite-query"};
};

TEST_CASE("QueryInt64 and SqlColumn read what the database holds") {
  const Db db;
  CHECK(QueryInt64(db.path(), "SELECT count(*) FROM t") == 3);
  CHECK(QueryInt64(db.path(), "SELECT coalesce(max(x), 0) FROM empty") == 0);
  CHECK(SqlColumn(db.path(), "SELECT x FROM t ORDER BY rowid") ==
        std::vector<std::string>{"1", "2", ""});
  CHECK(SqlColumn(db.path(), "SELECT x FROM empty").empty());
}

TEST_CASE("QueryInt64 fails the test for a missing file", "[!shouldfail]") {
  const TempDir dir;
  QueryInt64(dir.File("none.db"), "SELECT 1");
}

TEST_CASE("QueryInt64 fails the test for a missing table", "[!shouldfail]") {
  const Db db;
  QueryInt64(db.path(), "SELECT count(*) FROM no_such_table");
}

TEST_CASE("QueryInt64 fails the test when no row comes back", "[!shouldfail]") {
  const Db db;
  QueryInt64(db.path(), "SELECT x FROM empty");
}

TEST_CASE("QueryInt64 fails the test for a NULL", "[!shouldfail]") {
  const Db db;
  QueryInt64(db.path(), "SELECT max(x) FROM empty");
}

TEST_CASE("QueryInt64 fails the test for text", "[!shouldfail]") {
  const Db db;
  QueryInt64(db.path(), "SELECT 'seven'");
}

TEST_CASE("QueryInt64 fails the test for a second row", "[!shouldfail]") {
  const Db db;
  QueryInt64(db.path(), "SELECT x FROM t WHERE x IS NOT NULL");
}

TEST_CASE("SqlColumn fails the test for a missing table", "[!shouldfail]") {
  const Db db;
  SqlColumn(db.path(), "SELECT x FROM no_such_table");
}

TEST_CASE("SqlColumn fails the test on an error after the first rows",
          "[!shouldfail]") {
  const Db db;
  // The third row overflows abs(): SQLite reports it from sqlite3_step.
  SqlColumn(db.path(),
            "SELECT abs(CASE WHEN x IS NULL THEN -9223372036854775807 - 1 "
            "ELSE x END) FROM t ORDER BY rowid");
}

}  // namespace
}  // namespace cairn::testing
