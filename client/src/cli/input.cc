#include "src/cli/input.h"

#include <fstream>

#include <fmt/format.h>
#include <simdjson.h>

namespace cairn::cli {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.substr(s.size() - suffix.size()) == suffix;
}

Result<InputRow> ParseJsonLine(simdjson::ondemand::parser& parser,
                               const std::string& path, std::size_t line_no,
                               const std::string& line) {
  InputRow row;
  row.line = line_no;
  auto fail = [&](std::string_view what) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("{}:{}: {}; each line must be a JSON object "
                                 "of strings, numbers or booleans",
                                 path, line_no, what));
  };
  simdjson::padded_string padded(line);
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc)) return fail("not JSON");
  simdjson::ondemand::object object;
  if (doc.get_object().get(object)) return fail("not a JSON object");
  for (auto field : object) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return fail("bad key");
    simdjson::ondemand::value value;
    if (field.value().get(value)) return fail("bad value");
    simdjson::ondemand::json_type type;
    if (value.type().get(type)) return fail("bad value");
    std::string text;
    switch (type) {
      case simdjson::ondemand::json_type::string: {
        std::string_view s;
        if (value.get_string().get(s)) return fail("bad string");
        text = s;
        break;
      }
      case simdjson::ondemand::json_type::boolean: {
        bool b = false;
        if (value.get_bool().get(b)) return fail("bad boolean");
        text = b ? "true" : "false";
        break;
      }
      case simdjson::ondemand::json_type::number: {
        text = Trim(value.raw_json_token());
        break;
      }
      case simdjson::ondemand::json_type::null:
        continue;
      default:
        return fail(fmt::format("field '{}' is an array or object", key));
    }
    row.fields[std::string(key)] = std::move(text);
  }
  return row;
}

}  // namespace

std::string InputRow::Get(std::string_view name,
                          const std::string& fallback) const {
  const auto it = fields.find(name);
  return it == fields.end() || it->second.empty() ? fallback : it->second;
}

Result<std::vector<std::string>> SplitCsvLine(std::string_view line) {
  std::vector<std::string> out;
  std::string current;
  bool quoted = false;
  bool was_quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < line.size() && line[i + 1] == '"') {
          current += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        current += c;
      }
    } else if (c == '"' && Trim(current).empty()) {
      current.clear();
      quoted = was_quoted = true;
    } else if (c == ',') {
      out.push_back(was_quoted ? current : std::string(Trim(current)));
      current.clear();
      was_quoted = false;
    } else {
      current += c;
    }
  }
  if (quoted) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "unterminated quoted field; close the quote (write \"\" "
                     "for a literal quote)");
  }
  out.push_back(was_quoted ? current : std::string(Trim(current)));
  return out;
}

Result<std::vector<InputRow>> ReadInputFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return MakeError(ErrorCode::kIo,
                     "cannot open input file '" + path + "'; check the path");
  }
  std::vector<InputRow> rows;
  std::string line;
  std::size_t line_no = 0;
  std::optional<bool> json;
  if (EndsWith(path, ".jsonl") || EndsWith(path, ".ndjson")) json = true;
  std::vector<std::string> header;
  simdjson::ondemand::parser parser;
  while (std::getline(in, line)) {
    ++line_no;
    if (Trim(line).empty()) continue;
    if (!json) json = Trim(line).front() == '{';
    if (*json) {
      auto row = ParseJsonLine(parser, path, line_no, line);
      if (!row) return tl::unexpected(row.error());
      rows.push_back(std::move(*row));
      continue;
    }
    auto cells = SplitCsvLine(line);
    if (!cells) {
      return MakeError(
          ErrorCode::kInvalidArgument,
          fmt::format("{}:{}: {}", path, line_no, cells.error().message));
    }
    if (header.empty()) {
      header = std::move(*cells);
      continue;
    }
    if (cells->size() != header.size()) {
      return MakeError(
          ErrorCode::kInvalidArgument,
          fmt::format("{}:{}: {} fields, but the header line has "
                      "{}; quote values that contain commas",
                      path, line_no, cells->size(), header.size()));
    }
    InputRow row;
    row.line = line_no;
    for (std::size_t i = 0; i < header.size(); ++i) {
      row.fields[header[i]] = std::move((*cells)[i]);
    }
    rows.push_back(std::move(row));
  }
  if (in.bad()) {
    return MakeError(ErrorCode::kIo, "reading '" + path + "' failed");
  }
  return rows;
}

}  // namespace cairn::cli
