// Protocol timestamps: RFC 3339 in UTC with whole seconds and a literal 'Z',
// e.g. "2026-11-23T14:00:00Z". No other form (offsets, fractions, lowercase
// 't'/'z', leap seconds) is accepted, so every instant has exactly one
// spelling on the wire.
#ifndef CAIRN_TIMESTAMP_H_
#define CAIRN_TIMESTAMP_H_

#include <chrono>
#include <string>
#include <string_view>

#include "cairn/result.h"

namespace cairn {

// Earliest and latest instants the protocol can express (years 1970..9999).
inline constexpr std::chrono::sys_seconds kMinTimestamp{
    std::chrono::seconds{0}};
inline constexpr std::chrono::sys_seconds kMaxTimestamp{
    std::chrono::seconds{253402300799}};  // 9999-12-31T23:59:59Z

// Parses "YYYY-MM-DDTHH:MM:SSZ". Validates every field's range including
// the month's length in leap and common years. Errors are kInvalidArgument
// with a message that shows the expected form.
Result<std::chrono::sys_seconds> ParseTimestamp(std::string_view text);

// Formats `t` as "YYYY-MM-DDTHH:MM:SSZ".
// REQUIRES: kMinTimestamp <= t <= kMaxTimestamp (values outside are clamped).
std::string FormatTimestamp(std::chrono::sys_seconds t);

}  // namespace cairn

#endif  // CAIRN_TIMESTAMP_H_
