#include "server/src/api/sequence_cursor.h"

#include <charconv>
#include <cstdint>
#include <limits>

namespace cairn::server {

Result<std::uint64_t> ParseSequenceCursor(std::string_view cursor) {
  if (cursor.empty()) return std::uint64_t{0};
  std::uint64_t value = 0;
  const auto [end, ec] =
      std::from_chars(cursor.data(), cursor.data() + cursor.size(), value);
  if (ec != std::errc{} || end != cursor.data() + cursor.size() ||
      value > static_cast<std::uint64_t>(
                  std::numeric_limits<std::int64_t>::max())) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "not a cursor this hub issued; pass the 'cursor' value "
                     "of the previous page unchanged",
                     "after");
  }
  return value;
}

}  // namespace cairn::server
