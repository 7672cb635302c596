// The audit log's canonical byte encodings: the bytes each entry's hash and
// each checkpoint's signature cover (docs/protocol.md, "Audit log"). Shared
// by the store, which writes the chain, and the offline verifier, which
// recomputes it. Pure functions, thread-safe.
#ifndef CAIRN_SERVER_STORE_AUDIT_CHAIN_H_
#define CAIRN_SERVER_STORE_AUDIT_CHAIN_H_

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cairn::server {

using AuditHash = std::array<std::uint8_t, 32>;

// The hashed fields of one audit_log row.
struct AuditEntryFields {
  std::uint64_t seq = 0;
  std::int64_t at = 0;  // unix seconds
  std::string_view actor;
  std::string_view fingerprint;
  std::string_view request_id;
  std::string_view action;
  std::string_view details;
  std::string_view result;
  AuditHash prev_hash{};
};

// The canonical encoding: "cairn-audit-entry-v1" then each field in the
// order above; integers as 8 bytes big-endian, text as a 4-byte big-endian
// length then its bytes, prev_hash as its 32 raw bytes.
std::vector<std::uint8_t> EncodeAuditEntry(const AuditEntryFields& entry);

// SHA-256 (libsodium) of EncodeAuditEntry(entry).
AuditHash HashAuditEntry(const AuditEntryFields& entry);

// The bytes a checkpoint signature covers: "cairn-audit-checkpoint-v1",
// seq, head_hash, at, key_id, encoded as in EncodeAuditEntry.
std::vector<std::uint8_t> EncodeCheckpointMessage(std::uint64_t seq,
                                                  const AuditHash& head_hash,
                                                  std::int64_t at,
                                                  std::string_view key_id);

}  // namespace cairn::server

#endif  // CAIRN_SERVER_STORE_AUDIT_CHAIN_H_
