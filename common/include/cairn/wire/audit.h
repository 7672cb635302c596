// GET /v1/audit/checkpoints: the hub's signed audit-log checkpoints, which
// any member may fetch and keep as evidence against a later rewrite of the
// log (docs/protocol.md, "Audit log").
#ifndef CAIRN_WIRE_AUDIT_H_
#define CAIRN_WIRE_AUDIT_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/result.h"
#include "cairn/wire/types.h"

namespace cairn::wire {

struct AuditCheckpoint {
  std::uint64_t seq = 0;                     // last audit entry covered
  std::array<std::uint8_t, 32> head_hash{};  // "head_hash": 64 lowercase hex
  Timestamp at{};
  std::string key_id;                        // the hub key that signed
  std::array<std::uint8_t, 64> signature{};  // "signature": base64, Ed25519

  bool operator==(const AuditCheckpoint&) const = default;
};

struct AuditCheckpointsResponse {
  std::vector<AuditCheckpoint> checkpoints;  // oldest first
  std::string cursor;  // pass as ?after= for the next page
  bool more = false;

  bool operator==(const AuditCheckpointsResponse&) const = default;
};

std::string Encode(const AuditCheckpointsResponse& body);
// Lenient (unknown fields ignored); a head_hash that is not 64 lowercase hex
// or a signature that is not base64 of 64 bytes is kInvalidArgument.
Result<AuditCheckpointsResponse> DecodeAuditCheckpointsResponse(
    std::string_view json);

}  // namespace cairn::wire

#endif  // CAIRN_WIRE_AUDIT_H_
