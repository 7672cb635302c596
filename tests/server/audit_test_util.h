// Shared helpers for the audit-log tests: a store with an Ed25519
// checkpoint signer, and direct reads of the audit tables.
#ifndef CAIRN_TESTS_SERVER_AUDIT_TEST_UTIL_H_
#define CAIRN_TESTS_SERVER_AUDIT_TEST_UTIL_H_

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "server/src/audit/audit_verify.h"
#include "server/src/store/store.h"

namespace cairn::server::testing {

// An Ed25519 key pair that signs checkpoints as `key_id`.
struct TestSigningKey {
  TestSigningKey(std::string id = "hk_test");
  std::string key_id;
  std::array<std::uint8_t, 32> public_key{};
  std::array<std::uint8_t, 64> secret_key{};

  // Dates checkpoints by `clock` (the store's, in these tests).
  CheckpointSigner Signer(Clock clock) const;
  AuditKeys PublicKeys() const;  // no validity bounds
};

struct AuditRow {
  std::uint64_t seq = 0;
  std::int64_t at = 0;
  std::string actor;
  std::string fingerprint;
  std::string request_id;
  std::string action;
  std::string details;
  std::string result;
};

// Every audit_log row, in seq order (read-only connection).
std::vector<AuditRow> ReadAuditLog(const std::filesystem::path& db);

}  // namespace cairn::server::testing

#endif  // CAIRN_TESTS_SERVER_AUDIT_TEST_UTIL_H_
