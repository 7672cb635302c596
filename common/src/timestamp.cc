#include "cairn/timestamp.h"

#include <algorithm>

#include "wire/json.h"

namespace cairn {
namespace {

constexpr std::string_view kExpectedForm =
    "expected an RFC 3339 UTC timestamp with whole seconds like "
    "\"2026-11-23T14:00:00Z\"";

// Reads `count` ASCII digits at `pos`; -1 if any is not a digit.
int Digits(std::string_view s, std::size_t pos, std::size_t count) {
  int value = 0;
  for (std::size_t i = pos; i < pos + count; ++i) {
    if (s[i] < '0' || s[i] > '9') return -1;
    value = value * 10 + (s[i] - '0');
  }
  return value;
}

}  // namespace

Result<std::chrono::sys_seconds> ParseTimestamp(std::string_view text) {
  using namespace std::chrono;
  auto bad = [&](std::string_view why) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        std::string(kExpectedForm) + " (" + std::string(why) + ")");
  };
  // 0123456789012345678 9
  // YYYY-MM-DDTHH:MM:SSZ
  if (text.size() != 20) return bad("wrong length");
  if (text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' ||
      text[16] != ':' || text[19] != 'Z') {
    return bad("wrong separators; use '-', 'T', ':' and a final 'Z'");
  }
  const int y = Digits(text, 0, 4), mo = Digits(text, 5, 2),
            d = Digits(text, 8, 2), h = Digits(text, 11, 2),
            mi = Digits(text, 14, 2), s = Digits(text, 17, 2);
  if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || s < 0) {
    return bad("non-digit in a number field");
  }
  if (y < 1970) return bad("year before 1970");
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.month().ok()) return bad("month out of range");
  if (!ymd.ok()) return bad("day out of range for the month");
  if (h > 23) return bad("hour out of range");
  if (mi > 59) return bad("minute out of range");
  if (s > 59) return bad("second out of range; leap seconds are not used");
  return sys_days{ymd} + hours{h} + minutes{mi} + seconds{s};
}

std::string FormatTimestamp(std::chrono::sys_seconds t) {
  char buffer[20];
  wire::internal::FormatTimestampTo(t, buffer);
  return std::string(buffer, sizeof buffer);
}

namespace wire::internal {

void FormatTimestampTo(Timestamp t, char (&out)[20]) {
  using namespace std::chrono;
  t = std::clamp(t, kMinTimestamp, kMaxTimestamp);
  const sys_days day_point = floor<days>(t);
  const year_month_day ymd{day_point};
  const hh_mm_ss<seconds> hms{t - day_point};
  auto put = [&](std::size_t pos, unsigned value, std::size_t width) {
    for (std::size_t i = width; i-- > 0;) {
      out[pos + i] = static_cast<char>('0' + value % 10);
      value /= 10;
    }
  };
  put(0, static_cast<unsigned>(static_cast<int>(ymd.year())), 4);
  out[4] = '-';
  put(5, static_cast<unsigned>(ymd.month()), 2);
  out[7] = '-';
  put(8, static_cast<unsigned>(ymd.day()), 2);
  out[10] = 'T';
  put(11, static_cast<unsigned>(hms.hours().count()), 2);
  out[13] = ':';
  put(14, static_cast<unsigned>(hms.minutes().count()), 2);
  out[16] = ':';
  put(17, static_cast<unsigned>(hms.seconds().count()), 2);
  out[19] = 'Z';
}

}  // namespace wire::internal
}  // namespace cairn
