// Reading a value or a column out of a hub database file in a test, on its
// own read-only connection. Every SQLite error fails the running test with
// SQLite's message, so a wrong table name or a locked file cannot pass as
// a 0 or an empty column.
#ifndef CAIRN_TESTS_SUPPORT_SQLITE_QUERY_H_
#define CAIRN_TESTS_SUPPORT_SQLITE_QUERY_H_

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace cairn::testing {

// The single integer `sql` selects. Fails the test unless it returns
// exactly one row whose first column is an INTEGER (a NULL, such as max()
// of no rows, fails too: wrap it in coalesce() where none is an answer).
std::int64_t QueryInt64(const std::filesystem::path& db_path,
                        const std::string& sql);

// The first column of every row `sql` returns, as text (NULL as "").
std::vector<std::string> SqlColumn(const std::filesystem::path& db_path,
                                   const std::string& sql);

// The plan SQLite chooses for `sql`: the detail column of each row of
// EXPLAIN QUERY PLAN, one per line ("SEARCH t USING INDEX i (a=?)").
std::string QueryPlan(const std::filesystem::path& db_path,
                      const std::string& sql);

}  // namespace cairn::testing

#endif  // CAIRN_TESTS_SUPPORT_SQLITE_QUERY_H_
