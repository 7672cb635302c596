// RFC 9497 OPRF and VOPRF protocol steps, DLEQ proofs and key derivation
// for ristretto255-SHA512.
#include <sodium.h>

#include <algorithm>
#include <array>
#include <string>
#include <utility>

#include "cairn/oprf.h"
#include "group_internal.h"

namespace cairn::oprf {
namespace {

using internal::Append;
using internal::AppendWithLength;
using internal::IsZero;
using internal::Multiply;

// Composite indices are I2OSP(i, 2) in the proof transcript.
constexpr std::size_t kMaxBatch = 65535;
constexpr std::size_t kMaxInput = 65535;

// Proofs exist only in VOPRF mode here (POPRF is not implemented).
constexpr Mode kProofMode = Mode::kVoprf;

void Wipe(std::span<std::uint8_t> bytes) {
  sodium_memzero(bytes.data(), bytes.size());
}

tl::unexpected<Error> ItemError(Error error, std::size_t index) {
  error.message = "item " + std::to_string(index) + ": " + error.message;
  error.index = index;
  return tl::unexpected<Error>(std::move(error));
}

Status ValidateBatchShape(std::size_t c_size, std::size_t d_size) {
  if (c_size != d_size) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "a proof covers pairs of elements, but got " +
                         std::to_string(c_size) + " inputs and " +
                         std::to_string(d_size) +
                         " evaluations; pass one evaluation per input");
  }
  if (c_size == 0 || c_size > kMaxBatch) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "a batch holds 1 to 65535 elements, got " +
                         std::to_string(c_size) + "; split or fill the batch");
  }
  return {};
}

Status ValidateElements(std::span<const Element> elements) {
  for (std::size_t i = 0; i < elements.size(); ++i) {
    if (auto status = ValidateElement(elements[i]); !status) {
      return ItemError(status.error(), i);
    }
  }
  return {};
}

struct Composites {
  Element m{};
  Element z{};
};

// ComputeComposites (RFC 9497 §2.2.1), or ComputeCompositesFast when the
// prover passes its key `k` (Z = k * M instead of a second sum).
// REQUIRES: inputs validated, c.size() == d.size() in [1, kMaxBatch].
Composites ComputeComposites(const Element& b, std::span<const Element> c,
                             std::span<const Element> d, const Scalar* k) {
  std::array<std::uint8_t, crypto_hash_sha512_BYTES> seed;
  {
    std::vector<std::uint8_t> transcript;
    AppendWithLength(transcript, b);
    AppendWithLength(transcript, internal::Dst("Seed-", kProofMode));
    crypto_hash_sha512(seed.data(), transcript.data(), transcript.size());
  }
  Composites out;  // both start as the identity
  std::vector<std::uint8_t> transcript;
  for (std::size_t i = 0; i < c.size(); ++i) {
    transcript.clear();
    AppendWithLength(transcript, seed);
    transcript.push_back(static_cast<std::uint8_t>(i >> 8));
    transcript.push_back(static_cast<std::uint8_t>(i & 0xff));
    AppendWithLength(transcript, c[i]);
    AppendWithLength(transcript, d[i]);
    Append(transcript, std::string_view("Composite"));
    const Scalar di = HashToScalar(transcript, kProofMode);
    out.m = internal::Add(Multiply(di, c[i]), out.m);
    if (k == nullptr) out.z = internal::Add(Multiply(di, d[i]), out.z);
  }
  if (k != nullptr) out.z = Multiply(*k, out.m);
  return out;
}

Scalar Challenge(const Element& b, const Composites& composites,
                 const Element& t2, const Element& t3) {
  std::vector<std::uint8_t> transcript;
  AppendWithLength(transcript, b);
  AppendWithLength(transcript, composites.m);
  AppendWithLength(transcript, composites.z);
  AppendWithLength(transcript, t2);
  AppendWithLength(transcript, t3);
  Append(transcript, std::string_view("Challenge"));
  return HashToScalar(transcript, kProofMode);
}

// GenerateProof on validated inputs.
Result<Proof> GenerateProofUnchecked(const Scalar& k, const Element& a,
                                     const Element& b,
                                     std::span<const Element> c,
                                     std::span<const Element> d,
                                     const std::optional<Scalar>& fixed_r) {
  Scalar r{};
  if (fixed_r) {
    r = *fixed_r;
    if (auto status = internal::ValidateNonZeroScalar(r, "the proof nonce r");
        !status) {
      Wipe(r);
      return tl::unexpected(status.error());
    }
  } else {
    internal::EnsureSodium();
    crypto_core_ristretto255_scalar_random(r.data());
  }
  const Composites composites = ComputeComposites(b, c, d, &k);
  const Element t2 = Multiply(r, a);
  const Element t3 = Multiply(r, composites.m);
  const Scalar challenge = Challenge(b, composites, t2, t3);

  Scalar ck{};
  Scalar s{};
  crypto_core_ristretto255_scalar_mul(ck.data(), challenge.data(), k.data());
  crypto_core_ristretto255_scalar_sub(s.data(), r.data(), ck.data());
  Proof proof;
  std::copy(challenge.begin(), challenge.end(), proof.begin());
  std::copy(s.begin(), s.end(), proof.begin() + kScalarSize);
  Wipe(r);
  Wipe(ck);
  return proof;
}

// Finalize on a validated blind and element.
Output FinalizeUnchecked(ByteView input, const Scalar& blind,
                         const Element& evaluated_element) {
  Scalar inverse{};
  crypto_core_ristretto255_scalar_invert(inverse.data(), blind.data());
  Element unblinded = Multiply(inverse, evaluated_element);
  std::vector<std::uint8_t> transcript;
  AppendWithLength(transcript, input);
  AppendWithLength(transcript, unblinded);
  Append(transcript, std::string_view("Finalize"));
  Output output;
  crypto_hash_sha512(output.data(), transcript.data(), transcript.size());
  Wipe(inverse);
  Wipe(unblinded);
  Wipe(transcript);
  return output;
}

Status ValidateInputSize(ByteView input) {
  if (input.size() > kMaxInput) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "an OPRF input is at most 65535 bytes, got " +
                         std::to_string(input.size()) +
                         "; normalise the identifier first");
  }
  return {};
}

}  // namespace

KeyPair::~KeyPair() { Wipe(secret_key); }

BlindResult::~BlindResult() { Wipe(blind); }

Result<KeyPair> DeriveKeyPair(std::span<const std::uint8_t, kSeedSize> seed,
                              ByteView info, Mode mode) {
  if (info.size() > 65535) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "key info is at most 65535 bytes, got " +
                         std::to_string(info.size()) + "; shorten it");
  }
  std::vector<std::uint8_t> derive_input;
  Append(derive_input, seed);
  AppendWithLength(derive_input, info);
  derive_input.push_back(0);  // the counter
  const auto dst = internal::Dst("DeriveKeyPair", mode);
  KeyPair pair;
  for (int counter = 0; counter <= 255; ++counter) {
    derive_input.back() = static_cast<std::uint8_t>(counter);
    pair.secret_key = HashToScalarWithDst(derive_input, dst);
    if (!IsZero(pair.secret_key)) break;
  }
  Wipe(derive_input);
  if (IsZero(pair.secret_key)) {
    return MakeError(ErrorCode::kCrypto,
                     "DeriveKeyPairError: 256 attempts gave a zero key; use "
                     "another seed");
  }
  pair.public_key = internal::MultiplyBase(pair.secret_key);
  return pair;
}

KeyPair GenerateKeyPair() {
  internal::EnsureSodium();
  KeyPair pair;
  crypto_core_ristretto255_scalar_random(pair.secret_key.data());
  pair.public_key = internal::MultiplyBase(pair.secret_key);
  return pair;
}

Result<Element> PublicKeyFromSecretKey(const Scalar& secret_key) {
  if (auto status = internal::ValidateNonZeroScalar(secret_key, "the key");
      !status) {
    return tl::unexpected(status.error());
  }
  return internal::MultiplyBase(secret_key);
}

Result<BlindResult> Blind(ByteView input, Mode mode,
                          const std::optional<Scalar>& fixed_blind) {
  if (auto status = ValidateInputSize(input); !status) {
    return tl::unexpected(status.error());
  }
  BlindResult result;
  if (fixed_blind) {
    result.blind = *fixed_blind;
    if (auto status =
            internal::ValidateNonZeroScalar(result.blind, "the blind");
        !status) {
      return tl::unexpected(status.error());
    }
  } else {
    internal::EnsureSodium();
    crypto_core_ristretto255_scalar_random(result.blind.data());
  }
  auto input_element = HashToGroup(input, mode);
  if (!input_element) return tl::unexpected(input_element.error());
  result.blinded_element = Multiply(result.blind, *input_element);
  Wipe(*input_element);
  return result;
}

Result<Element> BlindEvaluate(const Scalar& secret_key,
                              const Element& blinded_element) {
  if (auto status = internal::ValidateNonZeroScalar(secret_key, "the key");
      !status) {
    return tl::unexpected(status.error());
  }
  if (auto status = ValidateElement(blinded_element); !status) {
    return tl::unexpected(status.error());
  }
  return Multiply(secret_key, blinded_element);
}

Result<Output> Finalize(ByteView input, const Scalar& blind,
                        const Element& evaluated_element, Mode /*mode*/) {
  if (auto status = ValidateInputSize(input); !status) {
    return tl::unexpected(status.error());
  }
  if (auto status = internal::ValidateNonZeroScalar(blind, "the blind");
      !status) {
    return tl::unexpected(status.error());
  }
  if (auto status = ValidateElement(evaluated_element); !status) {
    return tl::unexpected(status.error());
  }
  return FinalizeUnchecked(input, blind, evaluated_element);
}

Result<Proof> GenerateProof(const Scalar& k, const Element& a, const Element& b,
                            std::span<const Element> c,
                            std::span<const Element> d,
                            const std::optional<Scalar>& fixed_r) {
  if (auto status = internal::ValidateNonZeroScalar(k, "the key"); !status) {
    return tl::unexpected(status.error());
  }
  for (const Element* element : {&a, &b}) {
    if (auto status = ValidateElement(*element); !status) {
      return tl::unexpected(status.error());
    }
  }
  if (auto status = ValidateBatchShape(c.size(), d.size()); !status) {
    return tl::unexpected(status.error());
  }
  if (auto status = ValidateElements(c); !status) {
    return tl::unexpected(status.error());
  }
  if (auto status = ValidateElements(d); !status) {
    return tl::unexpected(status.error());
  }
  return GenerateProofUnchecked(k, a, b, c, d, fixed_r);
}

Status VerifyProof(const Element& a, const Element& b,
                   std::span<const Element> c, std::span<const Element> d,
                   const Proof& proof) {
  for (const Element* element : {&a, &b}) {
    if (auto status = ValidateElement(*element); !status) return status;
  }
  if (auto status = ValidateBatchShape(c.size(), d.size()); !status) {
    return status;
  }
  if (auto status = ValidateElements(c); !status) return status;
  if (auto status = ValidateElements(d); !status) return status;
  auto parsed = ParseProof(proof);
  if (!parsed) return tl::unexpected(parsed.error());

  Scalar challenge;
  Scalar s;
  std::copy(proof.begin(), proof.begin() + kScalarSize, challenge.begin());
  std::copy(proof.begin() + kScalarSize, proof.end(), s.begin());

  const Composites composites = ComputeComposites(b, c, d, nullptr);
  const Element t2 = internal::Add(Multiply(s, a), Multiply(challenge, b));
  const Element t3 = internal::Add(Multiply(s, composites.m),
                                   Multiply(challenge, composites.z));
  const Scalar expected = Challenge(b, composites, t2, t3);
  if (crypto_verify_32(expected.data(), challenge.data()) != 0) {
    return MakeError(ErrorCode::kCrypto,
                     "the VOPRF proof does not verify: the hub did not "
                     "evaluate these elements with the key of the pinned "
                     "public key; do not use the results, check the hub's "
                     "announced key and key epoch");
  }
  return {};
}

Result<BatchEvaluation> BlindEvaluateBatch(
    const Scalar& secret_key, const Element& public_key,
    std::span<const Element> blinded_elements,
    const std::optional<Scalar>& fixed_r) {
  if (auto status = internal::ValidateNonZeroScalar(secret_key, "the key");
      !status) {
    return tl::unexpected(status.error());
  }
  if (auto status = ValidateElement(public_key); !status) {
    return tl::unexpected(status.error());
  }
  if (internal::MultiplyBase(secret_key) != public_key) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the public key is not sk * G for this secret key; pass "
                     "the key pair's own public key");
  }
  if (auto status =
          ValidateBatchShape(blinded_elements.size(), blinded_elements.size());
      !status) {
    return tl::unexpected(status.error());
  }
  if (auto status = ValidateElements(blinded_elements); !status) {
    return tl::unexpected(status.error());
  }
  BatchEvaluation result;
  result.evaluated_elements.reserve(blinded_elements.size());
  for (const Element& blinded : blinded_elements) {
    result.evaluated_elements.push_back(Multiply(secret_key, blinded));
  }
  auto proof = GenerateProofUnchecked(secret_key, Generator(), public_key,
                                      blinded_elements,
                                      result.evaluated_elements, fixed_r);
  if (!proof) return tl::unexpected(proof.error());
  result.proof = *proof;
  return result;
}

Result<std::vector<Output>> FinalizeBatch(
    std::span<const ByteView> inputs, std::span<const Scalar> blinds,
    std::span<const Element> blinded_elements,
    std::span<const Element> evaluated_elements, const Proof& proof,
    const Element& public_key) {
  const std::size_t n = inputs.size();
  if (blinds.size() != n || blinded_elements.size() != n ||
      evaluated_elements.size() != n) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        "FinalizeBatch needs one blind, blinded element and evaluated "
        "element per input, got " +
            std::to_string(n) + " inputs, " + std::to_string(blinds.size()) +
            " blinds, " + std::to_string(blinded_elements.size()) +
            " blinded and " + std::to_string(evaluated_elements.size()) +
            " evaluated elements; pass the hub's answer in request order");
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (auto status = ValidateInputSize(inputs[i]); !status) {
      return ItemError(status.error(), i);
    }
    if (auto status = internal::ValidateNonZeroScalar(blinds[i], "the blind");
        !status) {
      return ItemError(status.error(), i);
    }
  }
  if (auto status = VerifyProof(Generator(), public_key, blinded_elements,
                                evaluated_elements, proof);
      !status) {
    return tl::unexpected(status.error());
  }
  std::vector<Output> outputs;
  outputs.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    outputs.push_back(
        FinalizeUnchecked(inputs[i], blinds[i], evaluated_elements[i]));
  }
  return outputs;
}

}  // namespace cairn::oprf
