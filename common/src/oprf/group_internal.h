// Group operations shared by the OPRF sources. Not part of the public API.
#ifndef CAIRN_COMMON_SRC_OPRF_GROUP_INTERNAL_H_
#define CAIRN_COMMON_SRC_OPRF_GROUP_INTERNAL_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "cairn/oprf.h"

namespace cairn::oprf::internal {

// Aborts if libsodium cannot initialise: without it there is no safe
// randomness.
void EnsureSodium();

// The all-zero encoding, which is the identity element.
inline constexpr Element kIdentity{};

bool IsZero(std::span<const std::uint8_t> bytes);

// scalar * point, where point is valid or the identity. Unlike libsodium's
// crypto_scalarmult_ristretto255, an identity result is returned as the
// identity encoding: inside proofs it is a legitimate (if unlikely) value.
Element Multiply(const Scalar& scalar, const Element& point);

// scalar * G, identity included as above.
Element MultiplyBase(const Scalar& scalar);

// p + q, where both are valid or the identity.
Element Add(const Element& p, const Element& q);

// Appends I2OSP(len(bytes), 2) || bytes. REQUIRES: bytes.size() < 65536.
void AppendWithLength(std::vector<std::uint8_t>& out, ByteView bytes);

// Appends raw bytes.
void Append(std::vector<std::uint8_t>& out, ByteView bytes);
void Append(std::vector<std::uint8_t>& out, std::string_view text);

// The DST prefix || ContextString(mode).
std::vector<std::uint8_t> Dst(std::string_view prefix, Mode mode);

// Returns a non-zero canonical scalar or an error naming `what`.
Status ValidateNonZeroScalar(const Scalar& scalar, std::string_view what);

}  // namespace cairn::oprf::internal

#endif  // CAIRN_COMMON_SRC_OPRF_GROUP_INTERNAL_H_
