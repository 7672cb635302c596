// Times and statuses as the store's tables hold them.
#ifndef CAIRN_SERVER_STORE_STORE_TIME_H_
#define CAIRN_SERVER_STORE_STORE_TIME_H_

#include <chrono>
#include <cstdint>
#include <limits>

#include "server/src/store/records.h"

namespace cairn::server::store_internal {

// signals.status: 0 active (written as a literal in the SQL below, where
// the partial-index-friendly "status = 0" reads best), 1 retracted,
// 2 expired.
inline constexpr std::int64_t kStatusRetracted = 1;
inline constexpr std::int64_t kStatusExpired = 2;
inline constexpr std::int64_t kAnyTime =
    std::numeric_limits<std::int64_t>::min();

inline std::int64_t ToUnix(sys_seconds t) {
  return t.time_since_epoch().count();
}
inline sys_seconds FromUnix(std::int64_t s) {
  return sys_seconds{std::chrono::seconds{s}};
}

}  // namespace cairn::server::store_internal

#endif  // CAIRN_SERVER_STORE_STORE_TIME_H_
