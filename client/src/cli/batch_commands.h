// `cairn query`, `cairn submit` and `cairn retract`: rows from VALUE
// arguments or a CSV/JSON-lines file (src/cli/input.h), sent in calls of up
// to kRowsPerCall rows, one output line per row, a summary on stderr, and
// on failure the --skip that resumes after the rows already done.
#ifndef CAIRN_CLIENT_SRC_CLI_BATCH_COMMANDS_H_
#define CAIRN_CLIENT_SRC_CLI_BATCH_COMMANDS_H_

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/client.h"
#include "cairn/result.h"
#include "src/cli/input.h"
#include "src/cli/settings.h"

namespace cairn::cli {

// Rows per SDK call: a file's progress and its resume point move in steps
// of this many rows.
inline constexpr std::size_t kRowsPerCall = 10000;

// A column that every row of a --file needs, unless the row has the column
// `instead`; only listed when no flag gives a default.
struct NeededColumn {
  std::string_view name;
  std::string_view flag;     // the flag that could give a default, or ""
  std::string_view instead;  // a column that makes this one unneeded, or ""
};

// Rows from --file or from VALUE arguments (with --kind) and --ref.
struct RowSource {
  std::string file;
  std::string kind;
  std::vector<std::string> values;
  std::vector<std::string> refs;
  std::size_t skip = 0;  // rows of --file already done

  // The rows to send, numbered from 1 in the file or argument order.
  // Fails when both or neither of --file and VALUE are given, or VALUE
  // without --kind, or the file cannot be read (kIo) or parsed, has no rows,
  // or lacks a `needed` column (in its CSV header or in a JSON line).
  Result<std::vector<InputRow>> Rows(
      std::span<const NeededColumn> needed = {}) const;
};

// What a run stopped by a failed call tells the user about the rows of
// --file already done (the --skip value that resumes), after `done_rows`
// rows of this run; "" without --file.
std::string ResumeHint(const RowSource& source, std::size_t done_rows);

// Defaults for submit rows that lack a column.
struct SubmitDefaults {
  std::string category;
  std::string severity;
  std::string banned_at;   // empty: now
  std::string expires_at;  // empty: the hub's default
  bool attribution = false;
  std::string ref;
};

// The ban a submit row describes, or what is wrong with the row.
Result<Ban> BanFromRow(const InputRow& row, const RowSource& source,
                       const SubmitDefaults& defaults,
                       const Settings& settings);

// Each returns the exit code: 0, or kExitRefused when any row failed, or
// the code of the error that stopped the run.
int RunQuery(const Client& client, const RowSource& source, bool json,
             const Settings& settings);
int RunSubmit(const Client& client, const RowSource& source,
              const SubmitDefaults& defaults, bool json,
              const Settings& settings);
int RunRetract(const Client& client, const RowSource& source,
               const std::string& default_reason, bool json,
               const Settings& settings);

}  // namespace cairn::cli

#endif  // CAIRN_CLIENT_SRC_CLI_BATCH_COMMANDS_H_
