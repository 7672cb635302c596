// GET /v1/me: the caller's identity, roles, limits, the hub's keys and the
// protocol features the hub supports.
#ifndef CAIRN_WIRE_ME_H_
#define CAIRN_WIRE_ME_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/wire/oprf.h"
#include "cairn/wire/types.h"

namespace cairn::wire {

struct MemberLimits {
  std::uint32_t max_batch = kMaxBatch;
  std::uint64_t max_body_bytes = 4194304;
  std::uint32_t requests_per_second = 200;
  std::uint32_t items_per_second = 200000;

  bool operator==(const MemberLimits&) const = default;
};

// A hub signing key (receipts, audit checkpoints).
struct HubKey {
  std::string key_id;
  std::string algorithm = "ed25519";
  std::string public_key;  // standard base64
  Timestamp valid_from{};
  std::optional<Timestamp> valid_until;

  bool operator==(const HubKey&) const = default;
};

// A feature name in MeResponse::features: the hub honours a query's
// Idempotency-Key (answers a resent POST /v1/query with the matches it
// recorded for the first attempt). cairnd from store schema 10 on.
inline constexpr std::string_view kFeatureQueryIdempotency =
    "query-idempotency";
// Most features a hub may announce, and the longest name (1..64 bytes).
inline constexpr std::size_t kMaxFeatures = 256;
inline constexpr std::size_t kMaxFeatureBytes = 64;

struct MeResponse {
  std::string member_id;
  std::string name;
  std::vector<Role> roles;
  std::string fingerprint;  // 64 lowercase hex of the caller's certificate
  MemberLimits limits;
  std::vector<TokenScheme> token_schemes;
  std::vector<HubKey> hub_keys;
  // Present when the hub evaluates voprf-v1 (its current key epoch).
  std::optional<OprfInfo> oprf;
  // Protocol features the hub supports beyond the base protocol, by name
  // (kFeatureQueryIdempotency, ...). Absent on the wire (older hubs): none.
  // A client ignores names it does not know.
  std::vector<std::string> features;

  // Whether `features` names `feature`.
  bool Supports(std::string_view feature) const;

  bool operator==(const MeResponse&) const = default;
};

std::string Encode(const MeResponse& body);
Result<MeResponse> DecodeMeResponse(std::string_view json);

}  // namespace cairn::wire

#endif  // CAIRN_WIRE_ME_H_
