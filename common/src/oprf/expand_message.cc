// expand_message_xmd (RFC 9380 §5.3.1) over SHA-512. libsodium 1.0.18 has
// hash-to-group for ristretto255 but not this expander, so it lives here.
#include <sodium.h>

#include <algorithm>
#include <array>
#include <string>

#include "cairn/oprf.h"

namespace cairn::oprf {
namespace {

constexpr std::size_t kHashBytes = crypto_hash_sha512_BYTES;  // b_in_bytes
constexpr std::size_t kBlockBytes = 128;                      // s_in_bytes
constexpr std::size_t kMaxBlocks = 255;
constexpr std::string_view kOversizeDstPrefix = "H2C-OVERSIZE-DST-";

void Update(crypto_hash_sha512_state& state, ByteView bytes) {
  crypto_hash_sha512_update(&state, bytes.data(), bytes.size());
}

void UpdateByte(crypto_hash_sha512_state& state, std::uint8_t byte) {
  crypto_hash_sha512_update(&state, &byte, 1);
}

}  // namespace

Result<std::vector<std::uint8_t>> ExpandMessageXmd(ByteView message,
                                                   ByteView dst,
                                                   std::size_t length) {
  const std::size_t blocks = (length + kHashBytes - 1) / kHashBytes;
  if (length == 0 || blocks > kMaxBlocks) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "expand_message_xmd(SHA-512) can produce 1 to " +
                         std::to_string(kMaxBlocks * kHashBytes) +
                         " bytes, not " + std::to_string(length) +
                         "; request a length in that range");
  }

  // §5.3.3: a DST over 255 bytes is replaced by its hash.
  std::array<std::uint8_t, kHashBytes> hashed_dst{};
  if (dst.size() > 255) {
    crypto_hash_sha512_state state;
    crypto_hash_sha512_init(&state);
    Update(state, AsBytes(kOversizeDstPrefix));
    Update(state, dst);
    crypto_hash_sha512_final(&state, hashed_dst.data());
    dst = hashed_dst;
  }
  const auto dst_length = static_cast<std::uint8_t>(dst.size());

  // b_0 = H(Z_pad || msg || I2OSP(len_in_bytes, 2) || I2OSP(0, 1) || DST')
  std::array<std::uint8_t, kHashBytes> b0;
  {
    static constexpr std::array<std::uint8_t, kBlockBytes> kZeroPad{};
    crypto_hash_sha512_state state;
    crypto_hash_sha512_init(&state);
    Update(state, kZeroPad);
    Update(state, message);
    UpdateByte(state, static_cast<std::uint8_t>(length >> 8));
    UpdateByte(state, static_cast<std::uint8_t>(length & 0xff));
    UpdateByte(state, 0);
    Update(state, dst);
    UpdateByte(state, dst_length);
    crypto_hash_sha512_final(&state, b0.data());
  }

  // b_i = H((b_0 XOR b_(i-1)) || I2OSP(i, 1) || DST'), with b_1 using b_0.
  std::vector<std::uint8_t> out;
  out.reserve(blocks * kHashBytes);
  std::array<std::uint8_t, kHashBytes> previous{};
  for (std::size_t i = 1; i <= blocks; ++i) {
    std::array<std::uint8_t, kHashBytes> input = b0;
    if (i > 1) {
      for (std::size_t j = 0; j < kHashBytes; ++j) input[j] ^= previous[j];
    }
    crypto_hash_sha512_state state;
    crypto_hash_sha512_init(&state);
    Update(state, input);
    UpdateByte(state, static_cast<std::uint8_t>(i));
    Update(state, dst);
    UpdateByte(state, dst_length);
    crypto_hash_sha512_final(&state, previous.data());
    sodium_memzero(input.data(), input.size());
    out.insert(out.end(), previous.begin(), previous.end());
  }
  out.resize(length);
  // The message may be an identifier; leave no expansion of it behind.
  sodium_memzero(b0.data(), b0.size());
  sodium_memzero(previous.data(), previous.size());
  return out;
}

}  // namespace cairn::oprf
