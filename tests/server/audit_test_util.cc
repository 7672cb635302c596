#include "audit_test_util.h"

#include <sodium.h>
#include <sqlite3.h>

#include <catch2/catch.hpp>

#include "server/src/store/sqlite_db.h"

namespace cairn::server::testing {

TestSigningKey::TestSigningKey(std::string id) : key_id(std::move(id)) {
  REQUIRE(sodium_init() >= 0);
  crypto_sign_keypair(public_key.data(), secret_key.data());
}

CheckpointSigner TestSigningKey::Signer(Clock clock) const {
  return [id = key_id, sk = secret_key,
          clock = std::move(clock)](const CheckpointMessageBuilder& build) {
    CheckpointSignature s;
    s.at = clock().time_since_epoch().count();
    const std::vector<std::uint8_t> message = build(id, s.at);
    s.key_id = id;
    crypto_sign_detached(s.signature.data(), nullptr, message.data(),
                         message.size(), sk.data());
    return s;
  };
}

AuditKeys TestSigningKey::PublicKeys() const {
  return {{key_id, AuditKey{public_key, std::nullopt, std::nullopt}}};
}

std::vector<AuditRow> ReadAuditLog(const std::filesystem::path& db_path) {
  auto db = Database::Open(db_path, false, true, std::chrono::seconds(5));
  REQUIRE(db.has_value());
  auto stmt = (*db)->Prepare(
      "SELECT seq, at, actor, fingerprint, request_id, action, details,"
      " result FROM audit_log ORDER BY seq");
  REQUIRE(stmt.has_value());
  std::vector<AuditRow> rows;
  while (true) {
    auto row = stmt->Step();
    REQUIRE(row.has_value());
    if (!*row) break;
    AuditRow r;
    r.seq = static_cast<std::uint64_t>(stmt->Int(0));
    r.at = stmt->Int(1);
    r.actor = stmt->Text(2);
    r.fingerprint = stmt->Text(3);
    r.request_id = stmt->Text(4);
    r.action = stmt->Text(5);
    r.details = stmt->Text(6);
    r.result = stmt->Text(7);
    rows.push_back(std::move(r));
  }
  return rows;
}

}  // namespace cairn::server::testing
