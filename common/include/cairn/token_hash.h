// A fast keyed hash of tokens for in-memory hash tables.
//
// Tokens reach the hub's tables from members, who choose them, so a hash of
// the token's own bytes would let one member submit or query a set of
// tokens that all land in one bucket and slow every lookup (hash flooding).
// TokenHash keys an NH universal hash (the 128-bit product sum behind UMAC)
// with a per-process random key: without the key, no set of tokens collides
// more often than chance. It is not a MAC and not stable across processes:
// never store it or send it.
#ifndef CAIRN_TOKEN_HASH_H_
#define CAIRN_TOKEN_HASH_H_

#include <cstdint>

#include "cairn/vocabulary.h"

namespace cairn {

// Hashes all 32 bytes of `token` and `tweak` (callers fold in what else
// tells two keys apart: kind, scheme, epoch). Thread-safe.
std::uint64_t TokenHash(const Token& token, std::uint64_t tweak) noexcept;

}  // namespace cairn

#endif  // CAIRN_TOKEN_HASH_H_
