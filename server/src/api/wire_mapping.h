// Conversions between the wire types (common/) and the store's records.
// Internal to server/src/api.
#ifndef CAIRN_SERVER_API_WIRE_MAPPING_H_
#define CAIRN_SERVER_API_WIRE_MAPPING_H_

#include <vector>

#include "cairn/wire.h"
#include "server/src/store/records.h"

namespace cairn::server {

TokenKey ToStoreKey(const wire::TokenKey& key);
wire::TokenKey ToWireKey(const TokenKey& key);
std::vector<Role> RolesOf(RoleSet set);
RoleSet RoleSetOf(const std::vector<Role>& roles);
wire::Member ToWireMember(const MemberRecord& record);
wire::ItemError ToItemError(const Error& error);

}  // namespace cairn::server

#endif  // CAIRN_SERVER_API_WIRE_MAPPING_H_
