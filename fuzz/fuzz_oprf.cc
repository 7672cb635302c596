// Harness "oprf": decoding and validation of received OPRF values
// (cairn/oprf.h): elements, scalars and proofs as a hub or member gets them
// off the wire, and the protocol steps that consume them.
//
// Input: byte 0 picks the case, the rest feeds it. Checks, besides memory
// and UB errors: a forged proof never verifies; an honest batch always
// verifies and finalises to the same outputs as the element-wise path; a
// parsed value is exactly the bytes it was parsed from.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "cairn/oprf.h"
#include "cairn/result.h"
#include "fuzz/fuzz_util.h"

namespace {

namespace oprf = cairn::oprf;
using cairn::fuzz::Check;

const oprf::KeyPair& HubKey() {
  static const oprf::KeyPair* key = [] {
    std::array<std::uint8_t, oprf::kSeedSize> seed{};
    seed.fill(0x5a);
    auto derived = oprf::DeriveKeyPair(seed, oprf::AsBytes("cairn-fuzz"),
                                       oprf::Mode::kVoprf);
    Check(derived.has_value(), "DeriveKeyPair failed on a fixed seed");
    auto* pair = new oprf::KeyPair;
    pair->secret_key = derived->secret_key;
    pair->public_key = derived->public_key;
    return pair;
  }();
  return *key;
}

// An honest one-element transcript: the proof every forgery is compared to.
struct Honest {
  oprf::Element blinded{};
  oprf::Element evaluated{};
  oprf::Proof proof{};
};

const Honest& HonestTranscript() {
  static const Honest* honest = [] {
    auto blinded = oprf::Blind(oprf::AsBytes("fuzz input"), oprf::Mode::kVoprf);
    Check(blinded.has_value(), "Blind failed");
    const std::array<oprf::Element, 1> c{blinded->blinded_element};
    auto batch =
        oprf::BlindEvaluateBatch(HubKey().secret_key, HubKey().public_key, c);
    Check(batch.has_value(), "BlindEvaluateBatch failed on an honest element");
    auto* h = new Honest;
    h->blinded = c[0];
    h->evaluated = batch->evaluated_elements[0];
    h->proof = batch->proof;
    return h;
  }();
  return *honest;
}

void ParseCase(std::span<const std::uint8_t> in) {
  if (auto element = oprf::ParseElement(in)) {
    Check(in.size() == oprf::kElementSize, "element of the wrong size parsed");
    Check(std::equal(in.begin(), in.end(), element->begin()),
          "parsed element differs from its bytes");
    Check(oprf::ValidateElement(*element).has_value(),
          "ParseElement accepted what ValidateElement rejects");
    // A hub evaluates any valid element; the batch proof must verify.
    const std::array<oprf::Element, 1> c{*element};
    auto batch =
        oprf::BlindEvaluateBatch(HubKey().secret_key, HubKey().public_key, c);
    Check(batch.has_value(), "valid element refused by BlindEvaluateBatch");
    auto single = oprf::BlindEvaluate(HubKey().secret_key, *element);
    Check(single.has_value() && *single == batch->evaluated_elements[0],
          "BlindEvaluate and BlindEvaluateBatch disagree");
    Check(oprf::VerifyProof(oprf::Generator(), HubKey().public_key, c,
                            batch->evaluated_elements, batch->proof)
              .has_value(),
          "honest proof does not verify");
  }
  if (auto scalar = oprf::ParseScalar(in)) {
    Check(in.size() == oprf::kScalarSize, "scalar of the wrong size parsed");
    Check(oprf::ValidateScalar(*scalar).has_value(),
          "ParseScalar accepted what ValidateScalar rejects");
  }
}

void ForgedProof(std::span<const std::uint8_t> in) {
  const Honest& h = HonestTranscript();
  if (in.size() < oprf::kProofSize) return;
  auto proof = oprf::ParseProof(in.first(oprf::kProofSize));
  if (!proof) return;
  // Optionally a forged evaluated element too.
  oprf::Element evaluated = h.evaluated;
  if (in.size() >= oprf::kProofSize + oprf::kElementSize) {
    std::memcpy(evaluated.data(), in.data() + oprf::kProofSize,
                oprf::kElementSize);
  }
  const std::array<oprf::Element, 1> c{h.blinded};
  const std::array<oprf::Element, 1> d{evaluated};
  const auto verified =
      oprf::VerifyProof(oprf::Generator(), HubKey().public_key, c, d, *proof);
  if (*proof == h.proof && evaluated == h.evaluated) {
    Check(verified.has_value(), "the honest proof does not verify");
  } else {
    Check(!verified.has_value(), "a forged proof verified");
  }
}

void FinalizeCase(std::span<const std::uint8_t> in) {
  // blind (32) || evaluated element (32) || input
  if (in.size() < 64) return;
  oprf::Scalar blind{};
  oprf::Element evaluated{};
  std::memcpy(blind.data(), in.data(), 32);
  std::memcpy(evaluated.data(), in.data() + 32, 32);
  const auto input = in.subspan(64);
  auto out = oprf::Finalize(input, blind, evaluated, oprf::Mode::kOprf);
  if (out) {
    Check(oprf::ValidateScalar(blind).has_value(), "bad blind finalised");
    Check(oprf::ValidateElement(evaluated).has_value(),
          "bad element finalised");
  }
}

void RoundTrip(std::span<const std::uint8_t> input) {
  // The whole VOPRF flow on a fuzzed input: batch and element-wise paths
  // must agree.
  auto blinded = oprf::Blind(input, oprf::Mode::kVoprf);
  if (!blinded) return;
  const std::array<oprf::Element, 1> c{blinded->blinded_element};
  auto batch =
      oprf::BlindEvaluateBatch(HubKey().secret_key, HubKey().public_key, c);
  Check(batch.has_value(), "honest blinded element refused");
  const std::array<oprf::ByteView, 1> inputs{input};
  const std::array<oprf::Scalar, 1> blinds{blinded->blind};
  auto outputs =
      oprf::FinalizeBatch(inputs, blinds, c, batch->evaluated_elements,
                          batch->proof, HubKey().public_key);
  Check(outputs.has_value() && outputs->size() == 1,
        "FinalizeBatch failed on an honest batch");
  auto single = oprf::Finalize(
      input, blinded->blind, batch->evaluated_elements[0], oprf::Mode::kVoprf);
  Check(single.has_value() && *single == (*outputs)[0],
        "Finalize and FinalizeBatch disagree");
}

void ExpandCase(std::span<const std::uint8_t> in) {
  if (in.size() < 3) return;
  const std::size_t length = (std::size_t{in[0]} << 8 | in[1]) % 17000;
  const std::size_t dst_size = std::min<std::size_t>(in[2] * 2u, in.size() - 3);
  const auto dst = in.subspan(3, dst_size);
  const auto msg = in.subspan(3 + dst_size);
  auto out = oprf::ExpandMessageXmd(msg, dst, length);
  if (out) {
    Check(length >= 1 && length <= 16320, "length out of range accepted");
    Check(out->size() == length, "wrong output length");
  } else {
    Check(length < 1 || length > 16320, "valid length refused");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  if (size == 0) return 0;
  const std::span<const std::uint8_t> in(data + 1, size - 1);
  switch (data[0] % 5) {
    case 0:
      ParseCase(in);
      break;
    case 1:
      ForgedProof(in);
      break;
    case 2:
      FinalizeCase(in);
      break;
    case 3:
      RoundTrip(in);
      break;
    case 4:
      ExpandCase(in);
      break;
  }
  return 0;
}
