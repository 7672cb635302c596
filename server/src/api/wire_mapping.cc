#include "server/src/api/wire_mapping.h"

namespace cairn::server {

TokenKey ToStoreKey(const wire::TokenKey& key) {
  return TokenKey{key.kind, key.scheme, key.epoch, key.token};
}

wire::TokenKey ToWireKey(const TokenKey& key) {
  return wire::TokenKey{key.kind, key.token, key.scheme, key.epoch};
}

std::vector<Role> RolesOf(RoleSet set) {
  std::vector<Role> roles;
  for (Role r : {Role::kMember, Role::kCompliance, Role::kOperator}) {
    if (HasRole(set, r)) roles.push_back(r);
  }
  return roles;
}

RoleSet RoleSetOf(const std::vector<Role>& roles) {
  RoleSet set = 0;
  for (Role r : roles) set |= RoleBit(r);
  return set;
}

wire::Member ToWireMember(const MemberRecord& record) {
  wire::Member m;
  m.member_id = record.member_id;
  m.name = record.name;
  m.roles = RolesOf(record.roles);
  m.status = record.suspended ? wire::MemberStatus::kSuspended
                              : wire::MemberStatus::kActive;
  m.created_at = record.created_at;
  if (record.suspended && !record.suspended_reason.empty()) {
    m.suspended_reason = record.suspended_reason;
  }
  for (const auto& fp : record.fingerprints) {
    m.fingerprints.push_back(
        wire::MemberFingerprint{fp.fingerprint,
                                fp.revoked ? wire::FingerprintStatus::kRevoked
                                           : wire::FingerprintStatus::kActive,
                                fp.added_at, fp.revoked_at});
  }
  return m;
}

wire::ItemError ToItemError(const Error& error) {
  return wire::ItemError{error.code, error.message, error.field};
}

}  // namespace cairn::server
