// The RFC 9497 oblivious pseudorandom function for the ristretto255-SHA512
// suite, in OPRF (mode 0x00) and VOPRF (mode 0x01) modes: the primitive under
// token scheme "voprf-v1" (docs/token-scheme.md).
//
//   client                                  server (holds sk, publishes pk)
//   Blind(input)      -- blinded_element -->
//                     <-- evaluated_element, proof -- BlindEvaluate[Batch]
//   Finalize[Batch](input, blind, evaluated_element [, proof, pk]) = output
//
// The server never sees `input`; the client cannot compute an output without
// the server. In VOPRF mode a DLEQ proof shows that the server used the key
// behind `pk`, so it cannot tag one member with a different key.
//
// Encodings are the RFC's: elements and scalars are 32 bytes (scalars
// little-endian), a proof is c || s (64 bytes), an output is 64 bytes.
// Every function validates its inputs as RFC 9497 §2.1 and §4 require and
// fails with kInvalidArgument on a malformed value and kCrypto when a proof
// does not verify. Secret intermediates are wiped before returning.
//
// Thread-safety: every function may be called concurrently.
#ifndef CAIRN_OPRF_H_
#define CAIRN_OPRF_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "cairn/result.h"

namespace cairn::oprf {

// The protocol variant; part of every domain-separation tag, so the two
// modes give unrelated outputs for the same key and input.
enum class Mode : std::uint8_t { kOprf = 0x00, kVoprf = 0x01 };

inline constexpr std::string_view kSuiteIdentifier = "ristretto255-SHA512";

inline constexpr std::size_t kElementSize = 32;
inline constexpr std::size_t kScalarSize = 32;
inline constexpr std::size_t kProofSize = 64;
inline constexpr std::size_t kOutputSize = 64;
inline constexpr std::size_t kSeedSize = 32;

using Element = std::array<std::uint8_t, kElementSize>;
using Scalar = std::array<std::uint8_t, kScalarSize>;
using Proof = std::array<std::uint8_t, kProofSize>;  // c || s
using Output = std::array<std::uint8_t, kOutputSize>;
using ByteView = std::span<const std::uint8_t>;

// The bytes of a string, for passing identifiers as inputs.
inline ByteView AsBytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

// A server key pair. The secret key is wiped when the object dies.
struct KeyPair {
  Scalar secret_key{};
  Element public_key{};
  ~KeyPair();
};

// The client's state between Blind and Finalize. `blind` is secret: whoever
// holds it and the blinded element can recover the input's group element.
// It is wiped when the object dies.
struct BlindResult {
  Scalar blind{};
  Element blinded_element{};
  ~BlindResult();
};

// A server's answer to a batch of blinded elements: one evaluated element
// per blinded element, in order, and one DLEQ proof covering all of them.
struct BatchEvaluation {
  std::vector<Element> evaluated_elements;
  Proof proof{};
};

// ---- Suite building blocks (RFC 9497 §4.1, RFC 9380 §5.3.1) ----

// "OPRFV1-" || I2OSP(mode, 1) || "-" || "ristretto255-SHA512".
std::vector<std::uint8_t> ContextString(Mode mode);

// expand_message_xmd with SHA-512 (RFC 9380 §5.3.1); a DST longer than 255
// bytes is first hashed as §5.3.3 prescribes.
// REQUIRES: 1 <= length <= 16320 (255 SHA-512 blocks); else kInvalidArgument.
Result<std::vector<std::uint8_t>> ExpandMessageXmd(ByteView message,
                                                   ByteView dst,
                                                   std::size_t length);

// Maps `input` to a group element with DST "HashToGroup-" || ContextString.
// Fails (kInvalidArgument) only if the result is the identity, which the
// RFC requires to be rejected and which no known input produces.
Result<Element> HashToGroup(ByteView input, Mode mode);

// Maps `input` to a scalar with DST "HashToScalar-" || ContextString.
Scalar HashToScalar(ByteView input, Mode mode);

// Maps `input` to a scalar with an explicit DST (DeriveKeyPair uses
// "DeriveKeyPair" || ContextString).
Scalar HashToScalarWithDst(ByteView input, ByteView dst);

// ---- Validation of received values (RFC 9497 §2.1) ----

// OK iff `element` is the canonical encoding of a ristretto255 element
// other than the identity.
Status ValidateElement(const Element& element);

// OK iff `scalar` is canonical (less than the group order). Zero is
// canonical; callers that need a non-zero scalar check that too.
Status ValidateScalar(const Scalar& scalar);

// Copies exactly 32 bytes into an Element and validates it.
Result<Element> ParseElement(ByteView bytes);

// Copies exactly 32 bytes into a Scalar and validates it.
Result<Scalar> ParseScalar(ByteView bytes);

// Copies exactly 64 bytes into a Proof and validates both scalars.
Result<Proof> ParseProof(ByteView bytes);

// ---- Keys (RFC 9497 §3.2) ----

// Deterministic key pair from a 32-byte seed and public `info`, as
// DeriveKeyPair in RFC 9497 §3.2.1. Fails (kCrypto) with the RFC's
// DeriveKeyPairError if 256 attempts all give a zero key (probability
// ~2^-2000), and (kInvalidArgument) if `info` exceeds 65535 bytes.
Result<KeyPair> DeriveKeyPair(std::span<const std::uint8_t, kSeedSize> seed,
                              ByteView info, Mode mode);

// A fresh random key pair (libsodium's CSPRNG).
KeyPair GenerateKeyPair();

// sk * G. Fails if `secret_key` is non-canonical or zero.
Result<Element> PublicKeyFromSecretKey(const Scalar& secret_key);

// ---- Protocol (RFC 9497 §3.3) ----

// Client step 1. Picks a random non-zero blind unless `fixed_blind` is
// given (known-answer tests only: a reused blind links requests).
// Fails if `fixed_blind` is zero or non-canonical, or if the input hashes
// to the identity (InvalidInputError).
Result<BlindResult> Blind(ByteView input, Mode mode,
                          const std::optional<Scalar>& fixed_blind = {});

// Server step, without a proof (OPRF mode, or the element-wise part of
// VOPRF): sk * blinded_element. Fails if the key is zero or non-canonical
// or the element is invalid (see ValidateElement).
Result<Element> BlindEvaluate(const Scalar& secret_key,
                              const Element& blinded_element);

// Client step 2 without proof verification: OPRF mode, or VOPRF after the
// caller ran VerifyProof. The output hash does not involve the context
// string, so `mode` does not change the result; it is taken so call sites
// state the mode that Blind used. Fails if `blind` is zero or non-canonical
// or `evaluated_element` is invalid.
Result<Output> Finalize(ByteView input, const Scalar& blind,
                        const Element& evaluated_element, Mode mode);

// ---- VOPRF proofs and batches (RFC 9497 §2.2, §3.3.2) ----

// Proves log_A(B) == log_C[i](D[i]) for all i, with ComputeCompositesFast
// (the prover knows k). In VOPRF, A = G, B = pk, C = blinded, D = evaluated.
// `fixed_r` is for known-answer tests only: reusing r reveals k.
// REQUIRES: C.size() == D.size() >= 1, k == log_A(B).
Result<Proof> GenerateProof(const Scalar& k, const Element& a, const Element& b,
                            std::span<const Element> c,
                            std::span<const Element> d,
                            const std::optional<Scalar>& fixed_r = {});

// Verifies a proof made by GenerateProof, with ComputeComposites. Fails
// with kCrypto if it does not verify, kInvalidArgument on malformed input.
// The challenge is compared in constant time.
Status VerifyProof(const Element& a, const Element& b,
                   std::span<const Element> c, std::span<const Element> d,
                   const Proof& proof);

// The generator G, i.e. A in VOPRF proofs.
const Element& Generator();

// VOPRF server step for a batch: evaluates every element under `secret_key`
// and proves all evaluations with one proof (cost: about two scalar
// multiplications per element plus a constant). `public_key` must be
// sk * G. A malformed element fails the whole batch; the Error's `index`
// names it. `fixed_r` as in GenerateProof.
Result<BatchEvaluation> BlindEvaluateBatch(
    const Scalar& secret_key, const Element& public_key,
    std::span<const Element> blinded_elements,
    const std::optional<Scalar>& fixed_r = {});

// VOPRF client step 2 for a batch: verifies `proof` against `public_key`
// over (blinded_elements, evaluated_elements), then finalises each input.
// All spans must have the same non-zero length and be in request order.
Result<std::vector<Output>> FinalizeBatch(
    std::span<const ByteView> inputs, std::span<const Scalar> blinds,
    std::span<const Element> blinded_elements,
    std::span<const Element> evaluated_elements, const Proof& proof,
    const Element& public_key);

}  // namespace cairn::oprf

#endif  // CAIRN_OPRF_H_
