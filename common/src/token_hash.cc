#include "cairn/token_hash.h"

#include <sodium.h>

#include <array>
#include <cstring>

namespace cairn {
namespace {

using Key = std::array<std::uint64_t, 6>;

const Key& HashKey() {
  static const Key key = [] {
    Key k{};
    // randombytes_buf initialises its source on first use and cannot fail.
    randombytes_buf(k.data(), sizeof k);
    k[5] |= 1;  // a zero multiplier would drop the tweak
    return k;
  }();
  return key;
}

}  // namespace

std::uint64_t TokenHash(const Token& token, std::uint64_t tweak) noexcept {
  std::array<std::uint64_t, 4> w;
  std::memcpy(w.data(), token.data(), sizeof w);
  const Key& k = HashKey();
  // NH over (w0, w1, w2, w3, tweak, 0): the sum of (a + ka)(b + kb) over
  // the pairs, mod 2^128, additions mod 2^64. For distinct inputs and a
  // random key, two values collide with probability at most 2^-64. The
  // tweak has a pair of its own, so no change to the token can cancel a
  // change to the tweak. Folding the 128-bit sum to 64 bits at most doubles
  // that probability.
  using U128 = unsigned __int128;
  const U128 sum = static_cast<U128>(w[0] + k[0]) * (w[1] + k[1]) +
                   static_cast<U128>(w[2] + k[2]) * (w[3] + k[3]) +
                   static_cast<U128>(tweak + k[4]) * k[5];
  std::uint64_t h =
      static_cast<std::uint64_t>(sum) ^ static_cast<std::uint64_t>(sum >> 64);
  // MurmurHash3's finaliser: a bijection, so collisions stay as rare as
  // NH's, but every bit of the result now depends on every bit of the fold.
  // Hash tables index by the low bits, which a product alone leaves poorly
  // mixed (a change high in a word reaches them only through the fold).
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

}  // namespace cairn
