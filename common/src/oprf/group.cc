// ristretto255 encodings, validation and the suite's hash functions
// (RFC 9497 §4.1), on libsodium's crypto_core_ristretto255_*.
#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <string>

#include "cairn/oprf.h"
#include "group_internal.h"

namespace cairn::oprf {
namespace internal {

void EnsureSodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) std::abort();
}

bool IsZero(std::span<const std::uint8_t> bytes) {
  return sodium_is_zero(bytes.data(), bytes.size()) == 1;
}

Element Multiply(const Scalar& scalar, const Element& point) {
  Element out{};
  // Returns -1 (leaving `out` zero) when the product is the identity, which
  // is what we want to return, or when `point` does not decode, which the
  // callers exclude by validating first.
  if (crypto_scalarmult_ristretto255(out.data(), scalar.data(), point.data()) !=
      0) {
    out.fill(0);
  }
  return out;
}

Element MultiplyBase(const Scalar& scalar) {
  Element out{};
  if (crypto_scalarmult_ristretto255_base(out.data(), scalar.data()) != 0) {
    out.fill(0);
  }
  return out;
}

Element Add(const Element& p, const Element& q) {
  Element out{};
  crypto_core_ristretto255_add(out.data(), p.data(), q.data());
  return out;
}

void AppendWithLength(std::vector<std::uint8_t>& out, ByteView bytes) {
  out.push_back(static_cast<std::uint8_t>(bytes.size() >> 8));
  out.push_back(static_cast<std::uint8_t>(bytes.size() & 0xff));
  Append(out, bytes);
}

void Append(std::vector<std::uint8_t>& out, ByteView bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}

void Append(std::vector<std::uint8_t>& out, std::string_view text) {
  Append(out, AsBytes(text));
}

std::vector<std::uint8_t> Dst(std::string_view prefix, Mode mode) {
  std::vector<std::uint8_t> dst;
  Append(dst, prefix);
  Append(dst, ContextString(mode));
  return dst;
}

Status ValidateNonZeroScalar(const Scalar& scalar, std::string_view what) {
  if (auto status = ValidateScalar(scalar); !status) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string(what) + ": " + status.error().message);
  }
  if (IsZero(scalar)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     std::string(what) +
                         " is zero, which RFC 9497 forbids; use a random "
                         "non-zero scalar");
  }
  return {};
}

}  // namespace internal

using internal::Append;

std::vector<std::uint8_t> ContextString(Mode mode) {
  std::vector<std::uint8_t> context;
  Append(context, std::string_view("OPRFV1-"));
  context.push_back(static_cast<std::uint8_t>(mode));
  Append(context, std::string_view("-"));
  Append(context, kSuiteIdentifier);
  return context;
}

Result<Element> HashToGroup(ByteView input, Mode mode) {
  const auto dst = internal::Dst("HashToGroup-", mode);
  auto uniform =
      ExpandMessageXmd(input, dst, crypto_core_ristretto255_HASHBYTES);
  if (!uniform) return tl::unexpected(uniform.error());
  Element element{};
  crypto_core_ristretto255_from_hash(element.data(), uniform->data());
  sodium_memzero(uniform->data(), uniform->size());
  if (internal::IsZero(element)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the input hashes to the identity element, which RFC "
                     "9497 rejects (InvalidInputError); use another input");
  }
  return element;
}

Scalar HashToScalarWithDst(ByteView input, ByteView dst) {
  // 64 bytes always fit expand_message_xmd's range, so this cannot fail.
  auto uniform = ExpandMessageXmd(
      input, dst, crypto_core_ristretto255_NONREDUCEDSCALARBYTES);
  Scalar scalar{};
  crypto_core_ristretto255_scalar_reduce(scalar.data(), uniform->data());
  sodium_memzero(uniform->data(), uniform->size());
  return scalar;
}

Scalar HashToScalar(ByteView input, Mode mode) {
  return HashToScalarWithDst(input, internal::Dst("HashToScalar-", mode));
}

Status ValidateElement(const Element& element) {
  // is_valid_point accepts the all-zero identity encoding, which RFC 9497
  // §2.1 requires DeserializeElement to reject, so test it first.
  if (internal::IsZero(element)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the element is the identity (all zero bytes), which is "
                     "never a valid OPRF element; send the 32-byte output of "
                     "Blind or BlindEvaluate unchanged");
  }
  // libsodium 1.0.18 ignores the top bit when decoding (later releases
  // reject it); a set top bit means a value >= 2^255 > p, non-canonical.
  if ((element[31] & 0x80) != 0 ||
      crypto_core_ristretto255_is_valid_point(element.data()) != 1) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the element is not a canonical ristretto255 encoding; "
                     "send the 32-byte output of Blind or BlindEvaluate "
                     "unchanged");
  }
  return {};
}

Status ValidateScalar(const Scalar& scalar) {
  // Canonical iff reducing it modulo the group order leaves it unchanged.
  std::array<std::uint8_t, crypto_core_ristretto255_NONREDUCEDSCALARBYTES>
      wide{};
  std::copy(scalar.begin(), scalar.end(), wide.begin());
  Scalar reduced{};
  crypto_core_ristretto255_scalar_reduce(reduced.data(), wide.data());
  const bool canonical =
      sodium_memcmp(reduced.data(), scalar.data(), scalar.size()) == 0;
  sodium_memzero(wide.data(), wide.size());
  sodium_memzero(reduced.data(), reduced.size());
  if (!canonical) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the scalar is not canonical (not less than the "
                     "ristretto255 group order); encode scalars as 32 "
                     "little-endian bytes reduced modulo the order");
  }
  return {};
}

Result<Element> ParseElement(ByteView bytes) {
  if (bytes.size() != kElementSize) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "an element is exactly 32 bytes, got " +
                         std::to_string(bytes.size()) +
                         "; send the element unchanged");
  }
  Element element;
  std::copy(bytes.begin(), bytes.end(), element.begin());
  if (auto status = ValidateElement(element); !status) {
    return tl::unexpected(status.error());
  }
  return element;
}

Result<Scalar> ParseScalar(ByteView bytes) {
  if (bytes.size() != kScalarSize) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "a scalar is exactly 32 bytes, got " +
                         std::to_string(bytes.size()) +
                         "; send the scalar unchanged");
  }
  Scalar scalar;
  std::copy(bytes.begin(), bytes.end(), scalar.begin());
  if (auto status = ValidateScalar(scalar); !status) {
    return tl::unexpected(status.error());
  }
  return scalar;
}

Result<Proof> ParseProof(ByteView bytes) {
  if (bytes.size() != kProofSize) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "a proof is exactly 64 bytes (c || s), got " +
                         std::to_string(bytes.size()) +
                         "; send the proof unchanged");
  }
  for (std::size_t half = 0; half < 2; ++half) {
    auto scalar = ParseScalar(bytes.subspan(half * kScalarSize, kScalarSize));
    if (!scalar) {
      return MakeError(ErrorCode::kInvalidArgument,
                       std::string(half == 0 ? "proof c: " : "proof s: ") +
                           scalar.error().message);
    }
  }
  Proof proof;
  std::copy(bytes.begin(), bytes.end(), proof.begin());
  return proof;
}

const Element& Generator() {
  static const Element generator = [] {
    Scalar one{};
    one[0] = 1;
    return internal::MultiplyBase(one);
  }();
  return generator;
}

}  // namespace cairn::oprf
