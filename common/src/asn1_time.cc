#include "cairn/asn1_time.h"

#include <ctime>

#include <openssl/asn1.h>

namespace cairn {

std::optional<std::chrono::sys_seconds> Asn1TimeToSysSeconds(
    const ASN1_TIME* time) {
  // ASN1_TIME_to_tm reads a null time as the current time.
  if (time == nullptr) return std::nullopt;
  std::tm tm{};
  if (ASN1_TIME_to_tm(time, &tm) != 1) return std::nullopt;
  // From the calendar fields rather than through timegm: no time_t (and so
  // no 2038 limit where it is 32 bits) and nothing outside the standard.
  using namespace std::chrono;
  const year_month_day date{year{tm.tm_year + 1900},
                            month{static_cast<unsigned>(tm.tm_mon + 1)},
                            day{static_cast<unsigned>(tm.tm_mday)}};
  return sys_days{date} + hours{tm.tm_hour} + minutes{tm.tm_min} +
         seconds{tm.tm_sec};
}

}  // namespace cairn
