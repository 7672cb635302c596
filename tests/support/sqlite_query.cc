#include "support/sqlite_query.h"

#include <sqlite3.h>

#include <memory>

#include <catch2/catch.hpp>

namespace cairn::testing {
namespace {

struct CloseDb {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
struct FinalizeStmt {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using DbPtr = std::unique_ptr<sqlite3, CloseDb>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, FinalizeStmt>;

// Both owned, so a failed REQUIRE (which throws) closes them.
struct Query {
  DbPtr db;
  StmtPtr stmt;

  // The next row: true for a row, false after the last; an error fails.
  bool Step() {
    const int rc = sqlite3_step(stmt.get());
    if (rc == SQLITE_ROW) return true;
    INFO(sqlite3_errmsg(db.get()));
    REQUIRE(rc == SQLITE_DONE);
    return false;
  }
};

Query Prepare(const std::filesystem::path& db_path, const std::string& sql) {
  INFO("database " << db_path.string() << ", SQL: " << sql);
  Query q;
  sqlite3* db = nullptr;
  const int open =
      sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  q.db.reset(db);  // sqlite3_open_v2 may hand back a handle even on failure
  {
    INFO((db != nullptr ? sqlite3_errmsg(db) : "out of memory"));
    REQUIRE(open == SQLITE_OK);
  }
  sqlite3_stmt* stmt = nullptr;
  const int prepare = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr);
  q.stmt.reset(stmt);
  INFO(sqlite3_errmsg(db));
  REQUIRE(prepare == SQLITE_OK);
  REQUIRE(stmt != nullptr);  // SQL that is only whitespace or a comment
  return q;
}

}  // namespace

std::int64_t QueryInt64(const std::filesystem::path& db_path,
                        const std::string& sql) {
  Query q = Prepare(db_path, sql);
  INFO("database " << db_path.string() << ", SQL: " << sql);
  REQUIRE(q.Step());
  REQUIRE(sqlite3_column_type(q.stmt.get(), 0) == SQLITE_INTEGER);
  const std::int64_t value = sqlite3_column_int64(q.stmt.get(), 0);
  REQUIRE_FALSE(q.Step());
  return value;
}

std::vector<std::string> SqlColumn(const std::filesystem::path& db_path,
                                   const std::string& sql) {
  Query q = Prepare(db_path, sql);
  INFO("database " << db_path.string() << ", SQL: " << sql);
  std::vector<std::string> column;
  while (q.Step()) {
    const auto* text = sqlite3_column_text(q.stmt.get(), 0);
    column.emplace_back(text != nullptr ? reinterpret_cast<const char*>(text)
                                        : "");
  }
  return column;
}

std::string QueryPlan(const std::filesystem::path& db_path,
                      const std::string& sql) {
  Query q = Prepare(db_path, "EXPLAIN QUERY PLAN " + sql);
  INFO("database " << db_path.string() << ", SQL: " << sql);
  std::string plan;
  while (q.Step()) {
    const auto* text = sqlite3_column_text(q.stmt.get(), 3);
    if (text != nullptr) plan += reinterpret_cast<const char*>(text);
    plan += '\n';
  }
  return plan;
}

}  // namespace cairn::testing
