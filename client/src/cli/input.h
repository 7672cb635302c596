// Rows for `cairn submit|query|retract --file`: CSV with a header line, or
// JSON lines (one object per line; chosen by a .jsonl/.ndjson extension or
// a first non-blank character '{'). Column/field names:
//   kind, value, region                        (query)
//   + category, severity, banned_at, expires_at, attribution, ref (submit)
//   kind, value | ref, reason                   (retract)
// Missing columns take the command-line defaults (--kind, --category, ...).
#ifndef CAIRN_CLIENT_SRC_CLI_INPUT_H_
#define CAIRN_CLIENT_SRC_CLI_INPUT_H_

#include <map>
#include <string>
#include <vector>

#include "cairn/result.h"

namespace cairn::cli {

// One input row as field name -> text; `line` is 1-based in the file.
struct InputRow {
  std::size_t line = 0;
  std::map<std::string, std::string, std::less<>> fields;

  // The field's value, or `fallback` when absent or empty.
  std::string Get(std::string_view name,
                  const std::string& fallback = {}) const;
};

struct InputFile {
  std::vector<std::string> header;  // CSV column names; empty for JSON lines
  std::vector<InputRow> rows;
};

// Reads the whole file. A leading UTF-8 byte order mark and CRLF line ends
// are accepted. Errors name the file and line.
Result<InputFile> ReadInputFile(const std::string& path);

// Splits one CSV record (RFC 4180 quoting, no embedded newlines). Blanks
// around a field are dropped, except inside quotes; after a closing quote
// only blanks may come before the comma.
Result<std::vector<std::string>> SplitCsvLine(std::string_view line);

}  // namespace cairn::cli

#endif  // CAIRN_CLIENT_SRC_CLI_INPUT_H_
