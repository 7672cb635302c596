// Identifiers of signals ("s_..."), matches ("m_...") and requests
// ("r_..."): a prefix and 32 lowercase hex characters, unguessable (from
// the OS CSPRNG, read 4 KiB at a time per thread).
#ifndef CAIRN_SERVER_STORE_RECORD_IDS_H_
#define CAIRN_SERVER_STORE_RECORD_IDS_H_

#include <chrono>
#include <string>
#include <string_view>

namespace cairn::server::store_internal {

// prefix + 16 random bytes in hex.
std::string NewId(std::string_view prefix);

// prefix + 16 bytes in hex whose first six are the time in milliseconds,
// big-endian, and the other ten random (the layout of a UUIDv7). Ten random
// bytes (80 bits) keep them unguessable.
std::string NewTimeOrderedId(std::string_view prefix,
                             std::chrono::system_clock::time_point now);

// Makes NewTimeOrderedId ids from a millisecond clock that never goes
// backwards, so a UNIQUE index on them grows at its right edge: a commit of
// 100-200 new ids writes about four index pages. The time must be the
// real clock's milliseconds, not the store's (whole seconds): with ids of
// one second sharing their time, each commit's ids scattered over all the
// index pages of that second, about 60 pages per 100 matches at 19,000
// matches/s (measured in the WAL, docs/performance.md). Not thread-safe:
// one per writer.
class TimeOrderedIds {
 public:
  using Now = std::chrono::system_clock::time_point (*)();

  explicit TimeOrderedIds(Now now = &std::chrono::system_clock::now)
      : now_(now) {}

  // An id whose time is max(now, the time of the last id made).
  std::string Next(std::string_view prefix);

 private:
  Now now_;
  std::chrono::system_clock::time_point last_{};
};

}  // namespace cairn::server::store_internal

#endif  // CAIRN_SERVER_STORE_RECORD_IDS_H_
