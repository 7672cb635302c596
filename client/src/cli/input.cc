#include "src/cli/input.h"

#include <fstream>
#include <optional>
#include <string_view>

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

// A character for an error message; control bytes would be invisible.
std::string Shown(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte >= 0x20 && byte < 0x7f ? fmt::format("'{}'", c)
                                     : fmt::format("byte 0x{:02X}", byte);
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
  // kClosed: after a quoted field's closing quote, where only blanks may
  // come before the comma; anything else was almost certainly meant to be
  // inside the quotes, and keeping it would change the value unseen.
  enum class State { kPlain, kQuoted, kClosed } state = State::kPlain;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    switch (state) {
      case State::kQuoted:
        if (c != '"') {
          current += c;
        } else if (i + 1 < line.size() && line[i + 1] == '"') {
          current += '"';
          ++i;
        } else {
          state = State::kClosed;
        }
        break;
      case State::kClosed:
        if (c == ',') {
          out.push_back(std::move(current));
          current.clear();
          state = State::kPlain;
        } else if (c != ' ' && c != '\t') {
          return MakeError(
              ErrorCode::kInvalidArgument,
              fmt::format("{} after the closing quote of field {}; put the "
                          "whole field inside the quotes (write \"\" for a "
                          "literal quote)",
                          Shown(c), out.size() + 1));
        }
        break;
      case State::kPlain:
        if (c == '"' && Trim(current).empty()) {
          current.clear();
          state = State::kQuoted;
        } else if (c == ',') {
          out.emplace_back(Trim(current));
          current.clear();
        } else {
          current += c;
        }
        break;
    }
  }
  if (state == State::kQuoted) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "unterminated quoted field; close the quote (write \"\" "
                     "for a literal quote)");
  }
  if (state == State::kClosed) {
    out.push_back(std::move(current));
  } else {
    out.emplace_back(Trim(current));
  }
  return out;
}

Result<InputFile> ReadInputFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return MakeError(ErrorCode::kIo,
                     "cannot open input file '" + path + "'; check the path");
  }
  InputFile file;
  std::string line;
  std::size_t line_no = 0;
  std::optional<bool> json;
  if (EndsWith(path, ".jsonl") || EndsWith(path, ".ndjson")) json = true;
  simdjson::ondemand::parser parser;
  while (std::getline(in, line)) {
    ++line_no;
    // Spreadsheet exports often start with a byte order mark and end lines
    // with CRLF; neither belongs to the first header or the last field.
    constexpr std::string_view kBom = "\xEF\xBB\xBF";
    if (line_no == 1 && line.starts_with(kBom)) line.erase(0, kBom.size());
    if (line.ends_with('\r')) line.pop_back();
    if (Trim(line).empty()) continue;
    if (!json) json = Trim(line).front() == '{';
    if (*json) {
      auto row = ParseJsonLine(parser, path, line_no, line);
      if (!row) return tl::unexpected(row.error());
      file.rows.push_back(std::move(*row));
      continue;
    }
    auto cells = SplitCsvLine(line);
    if (!cells) {
      return MakeError(
          ErrorCode::kInvalidArgument,
          fmt::format("{}:{}: {}", path, line_no, cells.error().message));
    }
    if (file.header.empty()) {
      file.header = std::move(*cells);
      continue;
    }
    if (cells->size() != file.header.size()) {
      return MakeError(
          ErrorCode::kInvalidArgument,
          fmt::format("{}:{}: {} fields, but the header line has "
                      "{}; quote values that contain commas",
                      path, line_no, cells->size(), file.header.size()));
    }
    InputRow row;
    row.line = line_no;
    for (std::size_t i = 0; i < file.header.size(); ++i) {
      row.fields[file.header[i]] = std::move((*cells)[i]);
    }
    file.rows.push_back(std::move(row));
  }
  if (in.bad()) {
    return MakeError(ErrorCode::kIo, "reading '" + path + "' failed");
  }
  return file;
}

}  // namespace cairn::cli
