#include "src/cli/batch_commands.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "cairn/json_object.h"
#include "cairn/timestamp.h"
#include "cairn/vocabulary.h"
#include "src/cli/command_support.h"

namespace cairn::cli {
namespace {

// The SDK prefixes per-item errors with "batch item N: " (N counts within the
// call); the CLI names file rows instead.
std::string WithoutBatchPrefix(const std::string& message) {
  constexpr std::string_view kPrefix = "batch item ";
  if (message.rfind(kPrefix, 0) != 0) return message;
  const auto colon = message.find(": ");
  return colon == std::string::npos ? message : message.substr(colon + 2);
}

// A call failed: the rows of the earlier calls are done (and printed).
int ReportStopped(const Error& error, std::size_t done_rows,
                  const RowSource& src, std::string_view if_unknown) {
  if (auto written = FlushOutput(); !written) {
    return FailOutput(written.error(), ResumeHint(src, done_rows));
  }
  return FailCall(error, if_unknown, ResumeHint(src, done_rows));
}

// After a call's rows are printed: the rows before `begin` are done; the
// call's own rows count as done only once their output is written.
int CheckWritten(std::size_t begin, const RowSource& src) {
  if (auto written = FlushOutput(); !written) {
    return FailOutput(written.error(), ResumeHint(src, begin));
  }
  return 0;
}

// A row has two timestamp columns; the parser's message names neither.
tl::unexpected<Error> ColumnError(std::string_view column,
                                  const std::string& value,
                                  const Error& error) {
  return MakeError(error.code,
                   fmt::format("{} '{}': {}", column, value, error.message));
}

// Checked before anything is sent: without the column every row would
// fail alike, or a CSV whose header is a JSON line would do nothing at all.
Status CheckColumns(const std::string& path, const InputFile& file,
                    std::span<const NeededColumn> needed) {
  if (file.rows.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("{} has no data rows; give a CSV header line "
                                 "and rows, or JSON lines",
                                 path));
  }
  for (const NeededColumn& column : needed) {
    std::string wanted = fmt::format("'{}'", column.name);
    if (!column.instead.empty()) {
      wanted += fmt::format(" or '{}'", column.instead);
    }
    const std::string fix = column.flag.empty()
                                ? "add it"
                                : fmt::format("add it or pass {}", column.flag);
    auto in_header = [&](std::string_view name) {
      return !name.empty() && std::find(file.header.begin(), file.header.end(),
                                        name) != file.header.end();
    };
    if (!file.header.empty()) {
      if (in_header(column.name) || in_header(column.instead)) continue;
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("{}: the header line has no {} column; {} "
                                   "(the columns are {})",
                                   path, wanted, fix, Join(file.header)));
    }
    for (const InputRow& row : file.rows) {
      if (row.fields.contains(column.name) ||
          (!column.instead.empty() && row.fields.contains(column.instead))) {
        continue;
      }
      return MakeError(
          ErrorCode::kInvalidArgument,
          fmt::format("{}:{}: no {} field; {}", path, row.line, wanted, fix));
    }
  }
  return {};
}

}  // namespace

std::string ResumeHint(const RowSource& src, std::size_t done_rows) {
  if (src.file.empty()) return {};
  // Rows are numbered from 1, so the rows done are 1..N and --skip N
  // resumes at row N + 1.
  const std::size_t done = src.skip + done_rows;
  if (done == 0) {
    return "; no rows are done yet: rerun the same command to start again";
  }
  const std::string which =
      done == 1 ? "row 1 is" : fmt::format("rows 1..{} are", done);
  return fmt::format("; {} done: rerun with --skip {} to resume", which, done);
}

Result<std::vector<InputRow>> RowSource::Rows(
    std::span<const NeededColumn> needed) const {
  std::vector<InputRow> rows;
  if (!file.empty()) {
    if (!values.empty() || !refs.empty()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "give either --file or VALUE arguments, not both");
    }
    auto read = ReadInputFile(file);
    if (!read) return tl::unexpected(read.error());
    if (auto s = CheckColumns(file, *read, needed); !s) {
      return tl::unexpected(s.error());
    }
    rows = std::move(read->rows);
    rows.erase(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(
                                                std::min(skip, rows.size())));
    return rows;
  }
  if (!values.empty() && kind.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--kind is required with VALUE arguments, e.g. "
                     "--kind email");
  }
  for (const auto& v : values) {
    InputRow row;
    row.line = rows.size() + 1;
    row.fields["kind"] = kind;
    row.fields["value"] = v;
    rows.push_back(std::move(row));
  }
  for (const auto& r : refs) {
    InputRow row;
    row.line = rows.size() + 1;
    row.fields["ref"] = r;
    rows.push_back(std::move(row));
  }
  if (rows.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "nothing to do: give VALUE arguments (with --kind) or "
                     "--file FILE");
  }
  return rows;
}

int RunQuery(const Client& client, const RowSource& src, bool json,
             const Settings& settings) {
  std::vector<NeededColumn> needed = {{"value", "", ""}};
  if (src.kind.empty()) needed.push_back({"kind", "--kind", ""});
  auto rows = src.Rows(needed);
  if (!rows) return Fail(rows.error(), LocalFileExit(rows.error()));
  if (!json) {
    std::printf("%-6s %-7s %-34s %-9s %-9s %s\n", "ROW", "KIND", "MATCH",
                "PLATFORMS", "SEVERITY", "CATEGORIES");
  }
  std::size_t matched = 0, failed = 0, queried = 0;
  auto progress = MakeProgress(rows->size());
  for (std::size_t begin = 0; begin < rows->size(); begin += kRowsPerCall) {
    const std::size_t end = std::min(rows->size(), begin + kRowsPerCall);
    std::vector<Identifier> ids;
    for (std::size_t i = begin; i < end; ++i) {
      const auto& row = (*rows)[i];
      ids.push_back(MakeIdentifier(row.Get("kind", src.kind), row.Get("value"),
                                   row.Get("region", settings.region)));
    }
    auto result = client.Query(ids);
    if (!result) return ReportStopped(result.error(), begin, src, kRepeatQuery);
    queried += result->queried;
    // Refused rows and matches, printed in row order; a refused row is a
    // line of the table or --json output too (status "error"), and goes to
    // stderr.
    std::vector<std::pair<std::size_t, std::string>> lines;
    for (const auto& f : result->failures) {
      ++failed;
      const std::size_t row = src.skip + begin + f.index + 1;
      const std::string message = WithoutBatchPrefix(f.error.message);
      std::fprintf(stderr, "cairn: row %zu: %s\n", row, message.c_str());
      if (json) {
        lines.emplace_back(row, JsonObjectWriter()
                                    .Add("row", static_cast<std::uint64_t>(row))
                                    .Add("status", "error")
                                    .Add("error", message)
                                    .Finish());
      } else {
        lines.emplace_back(
            row, fmt::format("{:<6} {:<7} {:<34} {}", row, ids[f.index].kind(),
                             "error", message));
      }
    }
    for (const auto& m : result->matches) {
      ++matched;
      const std::size_t row = src.skip + begin + m.index + 1;
      const auto& match = m.match;
      if (json) {
        lines.emplace_back(
            row,
            JsonObjectWriter()
                .Add("row", static_cast<std::uint64_t>(row))
                .Add("status", "match")
                .Add("kind", m.identifier.kind())
                .Add("value", m.identifier.value())
                .Add("match_id", match.match_id)
                .Add("kinds", match.kinds)
                .Add("categories", Names(match.categories))
                .Add("platforms", static_cast<std::uint64_t>(match.platforms))
                .Add("first_banned_at", FormatTimestamp(match.first_banned_at))
                .Add("last_banned_at", FormatTimestamp(match.last_banned_at))
                .Add("max_severity", std::string(ToString(match.max_severity)))
                .Add("attributed_to", match.attributed_to)
                .Finish());
      } else {
        lines.emplace_back(
            row, fmt::format("{:<6} {:<7} {:<34} {:<9} {:<9} {}", row,
                             m.identifier.kind(), match.match_id,
                             match.platforms, ToString(match.max_severity),
                             Join(Names(match.categories))));
      }
    }
    std::stable_sort(
        lines.begin(), lines.end(),
        [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [row, line] : lines) std::printf("%s\n", line.c_str());
    if (const int code = CheckWritten(begin, src); code != 0) return code;
    progress.Update(end);
  }
  std::fprintf(stderr, "cairn: queried %zu, %zu matched, %zu invalid\n",
               queried, matched, failed);
  return failed > 0 ? kExitRefused : 0;
}

Result<Ban> BanFromRow(const InputRow& row, const RowSource& src,
                       const SubmitDefaults& d, const Settings& settings) {
  Ban ban{MakeIdentifier(row.Get("kind", src.kind), row.Get("value"),
                         row.Get("region", settings.region)),
          Category::kOther,
          Severity::kMedium,
          {},
          {},
          false,
          {}};
  const std::string category = row.Get("category", d.category);
  const auto c = ParseCategory(category);
  if (!c) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        "category '" + category +
            "' is not one of grooming, "
            "sextortion, csam_sharing, csam_production, trafficking, other");
  }
  ban.category = *c;
  const std::string severity = row.Get("severity", d.severity);
  const auto s = ParseSeverity(severity);
  if (!s) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "severity '" + severity +
                         "' is not one of low, medium, "
                         "high, critical");
  }
  ban.severity = *s;
  const std::string banned_at = row.Get("banned_at", d.banned_at);
  if (banned_at.empty()) {
    ban.banned_at = std::chrono::floor<std::chrono::seconds>(
        std::chrono::system_clock::now());
  } else {
    auto t = ParseTimestamp(banned_at);
    if (!t) return ColumnError("banned_at", banned_at, t.error());
    ban.banned_at = *t;
  }
  if (const std::string expires = row.Get("expires_at", d.expires_at);
      !expires.empty()) {
    auto t = ParseTimestamp(expires);
    if (!t) return ColumnError("expires_at", expires, t.error());
    ban.expires_at = *t;
  }
  // A misspelt value must not quietly withhold (or reveal) the member's
  // name, so only these spellings are accepted.
  const std::string attribution =
      row.Get("attribution", d.attribution ? "true" : "false");
  if (attribution == "true" || attribution == "1" || attribution == "yes") {
    ban.attribution = true;
  } else if (attribution == "false" || attribution == "0" ||
             attribution == "no") {
    ban.attribution = false;
  } else {
    return MakeError(ErrorCode::kInvalidArgument,
                     "attribution '" + attribution +
                         "' is not one of true, false, yes, no, 1, 0");
  }
  if (std::string ref = row.Get("ref", d.ref); !ref.empty())
    ban.ref = std::move(ref);
  return ban;
}

int RunSubmit(const Client& client, const RowSource& src,
              const SubmitDefaults& defaults, bool json,
              const Settings& settings) {
  std::vector<NeededColumn> needed = {{"value", "", ""}};
  if (src.kind.empty()) needed.push_back({"kind", "--kind", ""});
  if (defaults.category.empty())
    needed.push_back({"category", "--category", ""});
  if (defaults.severity.empty())
    needed.push_back({"severity", "--severity", ""});
  auto rows = src.Rows(needed);
  if (!rows) return Fail(rows.error(), LocalFileExit(rows.error()));
  if (src.file.empty() &&
      (defaults.category.empty() || defaults.severity.empty())) {
    return Fail("--category and --severity are required with VALUE arguments",
                kExitUsage);
  }
  std::size_t counts[4] = {0, 0, 0, 0};  // by wire::SubmitStatus
  auto print = [&](std::size_t row, std::string_view status,
                   const std::string& detail) {
    if (json) {
      JsonObjectWriter line;
      line.Add("row", static_cast<std::uint64_t>(row)).Add("status", status);
      line.Add(status == "error" ? "error" : "signal_id", detail);
      std::printf("%s\n", line.Finish().c_str());
    } else {
      std::printf("%-6zu %-9s %s\n", row, std::string(status).c_str(),
                  detail.c_str());
    }
    if (status == "error") {
      std::fprintf(stderr, "cairn: row %zu: %s\n", row, detail.c_str());
    }
  };
  if (!json) std::printf("%-6s %-9s %s\n", "ROW", "STATUS", "SIGNAL");
  auto progress = MakeProgress(rows->size());
  for (std::size_t begin = 0; begin < rows->size(); begin += kRowsPerCall) {
    const std::size_t end = std::min(rows->size(), begin + kRowsPerCall);
    std::vector<Ban> bans;
    std::vector<std::size_t> origin;
    for (std::size_t i = begin; i < end; ++i) {
      const std::size_t row = src.skip + i + 1;
      auto ban = BanFromRow((*rows)[i], src, defaults, settings);
      if (!ban) {
        ++counts[static_cast<int>(wire::SubmitStatus::kError)];
        print(row, "error", ban.error().message);
        continue;
      }
      bans.push_back(std::move(*ban));
      origin.push_back(row);
    }
    auto outcome = client.Submit(bans);
    if (!outcome) {
      return ReportStopped(outcome.error(), begin, src, kRepeatSubmit);
    }
    for (const auto& item : outcome->items) {
      ++counts[static_cast<int>(item.status)];
      print(origin[item.index], wire::ToString(item.status),
            item.error ? WithoutBatchPrefix(item.error->message)
                       : item.signal_id);
    }
    if (const int code = CheckWritten(begin, src); code != 0) return code;
    progress.Update(end);
  }
  std::fprintf(stderr,
               "cairn: %zu created, %zu updated, %zu duplicate, %zu failed\n",
               counts[0], counts[1], counts[2], counts[3]);
  return counts[3] > 0 ? kExitRefused : 0;
}

int RunRetract(const Client& client, const RowSource& src,
               const std::string& default_reason, bool json,
               const Settings& settings) {
  // A row names its signal by ref, or by kind and value.
  std::vector<NeededColumn> needed = {{"value", "", "ref"}};
  if (src.kind.empty()) needed.push_back({"kind", "--kind", "ref"});
  auto rows = src.Rows(needed);
  if (!rows) return Fail(rows.error(), LocalFileExit(rows.error()));
  std::size_t retracted = 0, not_found = 0, failed = 0;
  // As in submit: a row refused here or by the SDK or hub is reported the
  // same way, in the table or --json output as well as on stderr.
  auto print_error = [&](std::size_t row, const std::string& message) {
    ++failed;
    if (json) {
      std::printf("%s\n", JsonObjectWriter()
                              .Add("row", static_cast<std::uint64_t>(row))
                              .Add("status", "error")
                              .Add("error", message)
                              .Finish()
                              .c_str());
    } else {
      std::printf("%-6zu %-10s %s\n", row, "error", message.c_str());
    }
    std::fprintf(stderr, "cairn: row %zu: %s\n", row, message.c_str());
  };
  if (!json) std::printf("%-6s %-10s %s\n", "ROW", "STATUS", "SIGNALS");
  auto progress = MakeProgress(rows->size());
  for (std::size_t begin = 0; begin < rows->size(); begin += kRowsPerCall) {
    const std::size_t end = std::min(rows->size(), begin + kRowsPerCall);
    std::vector<Retraction> retractions;
    std::vector<std::size_t> origin;
    for (std::size_t i = begin; i < end; ++i) {
      const auto& row = (*rows)[i];
      const std::size_t line = src.skip + i + 1;
      const std::string reason_text = row.Get("reason", default_reason);
      const auto reason = ParseRetractReason(reason_text);
      if (!reason) {
        print_error(line, "reason '" + reason_text +
                              "' is not one of appeal_upheld, error, "
                              "duplicate, other");
        continue;
      }
      if (const std::string ref = row.Get("ref"); !ref.empty()) {
        retractions.push_back(Retraction::ByRef(ref, *reason));
      } else {
        retractions.push_back(Retraction::Of(
            MakeIdentifier(row.Get("kind", src.kind), row.Get("value"),
                           row.Get("region", settings.region)),
            *reason));
      }
      origin.push_back(line);
    }
    auto outcome = client.Retract(retractions);
    if (!outcome) {
      return ReportStopped(outcome.error(), begin, src, kRepeatRetract);
    }
    for (const auto& item : outcome->items) {
      const std::size_t line = origin[item.index];
      if (item.error) {
        print_error(line, WithoutBatchPrefix(item.error->message));
        continue;
      }
      if (item.status == wire::RetractStatus::kRetracted) ++retracted;
      if (item.status == wire::RetractStatus::kNotFound) ++not_found;
      const std::string status(wire::ToString(item.status));
      if (json) {
        std::printf("%s\n", JsonObjectWriter()
                                .Add("row", static_cast<std::uint64_t>(line))
                                .Add("status", status)
                                .Add("signal_ids", item.signal_ids)
                                .Finish()
                                .c_str());
      } else {
        std::printf("%-6zu %-10s %s\n", line, status.c_str(),
                    Join(item.signal_ids).c_str());
      }
    }
    if (const int code = CheckWritten(begin, src); code != 0) return code;
    progress.Update(end);
  }
  std::fprintf(stderr, "cairn: %zu retracted, %zu not found, %zu failed\n",
               retracted, not_found, failed);
  return failed > 0 ? kExitRefused : 0;
}

}  // namespace cairn::cli
