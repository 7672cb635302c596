// Identifiers of signals ("s_...") and matches ("m_..."): a prefix and 32
// lowercase hex characters, unguessable (from the OS CSPRNG).
#ifndef CAIRN_SERVER_STORE_RECORD_IDS_H_
#define CAIRN_SERVER_STORE_RECORD_IDS_H_

#include <chrono>
#include <string>
#include <string_view>

namespace cairn::server::store_internal {

// prefix + 16 random bytes in hex.
std::string NewId(std::string_view prefix);

// prefix + 16 bytes in hex whose first six are the time in milliseconds,
// big-endian, and the other ten random (the layout of a UUIDv7). Ids made
// later sort later, so a UNIQUE index on them grows at its right edge: one
// page per commit, where random ids cost a random page read and write per
// row. Ten random bytes (80 bits) keep them unguessable.
std::string NewTimeOrderedId(std::string_view prefix,
                             std::chrono::system_clock::time_point now);

}  // namespace cairn::server::store_internal

#endif  // CAIRN_SERVER_STORE_RECORD_IDS_H_
