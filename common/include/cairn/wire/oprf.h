// POST /v1/oprf/evaluate (token scheme voprf-v1) and the "oprf" block of
// GET /v1/me. Elements, keys and proofs travel as standard padded base64
// of their RFC 9497 encodings (docs/token-scheme.md, "Scheme voprf-v1").
#ifndef CAIRN_WIRE_OPRF_H_
#define CAIRN_WIRE_OPRF_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/oprf.h"
#include "cairn/wire/types.h"

namespace cairn::wire {

// Blinded elements per evaluate request.
inline constexpr std::size_t kMaxOprfElements = 10000;

// What /v1/me announces when the hub evaluates voprf-v1:
//   {"suite":"ristretto255-SHA512","mode":"voprf","epoch":N,
//    "public_key":"<base64>","elements_per_day":N}
struct OprfInfo {
  std::string suite = std::string(oprf::kSuiteIdentifier);
  std::string mode = "voprf";
  std::uint32_t epoch = 0;
  oprf::Element public_key{};
  // The member's daily evaluation quota; 0 when the hub did not say.
  std::uint64_t elements_per_day = 0;

  bool operator==(const OprfInfo&) const = default;
};

struct OprfEvaluateRequest {
  std::uint32_t epoch = 0;
  // 1..kMaxOprfElements blinded elements. The decoder rejects encodings
  // that are not 32 bytes, non-canonical, or the identity, naming
  // "elements[i]" and setting Error::index = i.
  std::vector<oprf::Element> elements;

  bool operator==(const OprfEvaluateRequest&) const = default;
};

struct OprfEvaluateResponse {
  std::uint32_t epoch = 0;
  std::vector<oprf::Element> evaluated;  // one per element, in order
  oprf::Proof proof{};                   // one DLEQ proof for the batch

  bool operator==(const OprfEvaluateResponse&) const = default;
};

std::string Encode(const OprfEvaluateRequest& body);
Result<OprfEvaluateRequest> DecodeOprfEvaluateRequest(std::string_view json);
// DecodeOprfEvaluateRequest without validating the elements as ristretto255
// encodings: it checks only that each is base64 of 32 bytes, so its cost is
// linear in the body's bytes with no curve arithmetic. The hub decodes with
// it, so that a request it refuses for the member's rate limit or quota
// costs no element validation; it validates (ValidateOprfEvaluateElements)
// on its OPRF workers.
Result<OprfEvaluateRequest> DecodeOprfEvaluateRequestShape(
    std::string_view json);
// The element check of DecodeOprfEvaluateRequest: OK, or the same error it
// gives for the first invalid element (field "elements[i]", index i).
Status ValidateOprfEvaluateElements(std::span<const oprf::Element> elements);

std::string Encode(const OprfEvaluateResponse& body);
// Checks shapes only (32-byte elements, 64-byte proof); the caller verifies
// the proof, which also rejects invalid evaluated elements.
Result<OprfEvaluateResponse> DecodeOprfEvaluateResponse(std::string_view json);

}  // namespace cairn::wire

#endif  // CAIRN_WIRE_OPRF_H_
