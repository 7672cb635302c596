#include "server/src/api/sequence_cursor.h"

#include <charconv>
#include <cstdint>
#include <limits>

namespace cairn::server {
namespace {

bool ParseNumber(std::string_view text, std::uint64_t& value) {
  const auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), value);
  return !text.empty() && ec == std::errc{} &&
         end == text.data() + text.size() &&
         value <= static_cast<std::uint64_t>(
                      std::numeric_limits<std::int64_t>::max());
}

tl::unexpected<Error> NotACursor() {
  return MakeError(ErrorCode::kInvalidArgument,
                   "not a cursor this hub issued; pass the 'cursor' value "
                   "of the previous page unchanged",
                   "after");
}

}  // namespace

Result<std::uint64_t> ParseSequenceCursor(std::string_view cursor) {
  if (cursor.empty()) return std::uint64_t{0};
  std::uint64_t value = 0;
  if (!ParseNumber(cursor, value)) return NotACursor();
  return value;
}

Result<StreamCursor> ParseStreamCursor(std::string_view cursor) {
  const auto mark = cursor.find(kStreamCursorPurgesMark);
  if (mark == std::string_view::npos) {
    auto seq = ParseSequenceCursor(cursor);
    if (!seq) return tl::unexpected(seq.error());
    return StreamCursor(*seq);
  }
  std::uint64_t seq = 0;
  std::uint64_t purges = 0;
  if (!ParseNumber(cursor.substr(0, mark), seq) ||
      !ParseNumber(cursor.substr(mark + 1), purges)) {
    return NotACursor();
  }
  return StreamCursor(seq, purges);
}

Result<StreamCursor> ParseNotificationCursor(std::string_view cursor) {
  if (cursor.empty() || cursor.front() != kStreamCursorPerMemberMark) {
    return ParseStreamCursor(cursor);
  }
  cursor.remove_prefix(1);
  if (cursor.empty()) return NotACursor();
  auto parsed = ParseStreamCursor(cursor);
  if (!parsed) return tl::unexpected(parsed.error());
  parsed->per_member = true;
  return parsed;
}

}  // namespace cairn::server
