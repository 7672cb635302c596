// The operator endpoints under /v1/admin: member registry management, used
// by cairnctl.
#include <algorithm>
#include <string>
#include <vector>

#include "cairn/wire.h"
#include "server/src/api/api_router.h"
#include "server/src/api/call.h"
#include "server/src/api/wire_mapping.h"

namespace cairn::server {

namespace {

void AnswerMember(const ApiRouter::CallPtr& call, int status,
                  Result<MemberRecord> record) {
  if (!record) return call->Fail(record.error());
  call->Finish(status, wire::Encode(ToWireMember(*record)));
}

// Every kind the hub accepts, built-in first in protocol order, then the
// registered ones by name.
void AnswerKinds(const ApiRouter::CallPtr& call, const Store& store) {
  wire::KindListResponse response;
  for (std::string_view builtin : kBuiltinKinds) {
    response.kinds.push_back({std::string(builtin), true});
  }
  std::vector<std::string> custom;
  for (auto& kind : store.ListKinds()) {
    const bool builtin = std::find(kBuiltinKinds.begin(), kBuiltinKinds.end(),
                                   kind) != kBuiltinKinds.end();
    if (!builtin) custom.push_back(std::move(kind));
  }
  std::sort(custom.begin(), custom.end());
  for (auto& kind : custom) response.kinds.push_back({std::move(kind), false});
  call->items = response.kinds.size();
  call->Finish(200, wire::Encode(response));
}

}  // namespace

void ApiRouter::HandleAdmin(const CallPtr& call) {
  const std::string_view body = call->request.body();
  const std::string& member_id = call->route.param1;
  const Endpoint endpoint = call->route.endpoint;
  call->items = 1;

  if (endpoint == Endpoint::kAdminListMembers) {
    wire::MemberListResponse response;
    for (const auto& record : store_.ListMembers()) {
      response.members.push_back(ToWireMember(record));
    }
    call->items = response.members.size();
    return call->Finish(200, wire::Encode(response));
  }
  if (endpoint == Endpoint::kAdminListKinds) {
    return AnswerKinds(call, store_);
  }
  if (endpoint == Endpoint::kAdminRegisterKind) {
    auto decoded = wire::DecodeRegisterKindRequest(body);
    if (!decoded) return call->Fail(decoded.error());
    RegisterKindCommand command;
    command.context = call->Context();
    command.kind = std::move(decoded->kind);
    return store_.RegisterKind(std::move(command),
                               [this, call](Status registered) {
                                 if (!registered) {
                                   return call->Fail(registered.error());
                                 }
                                 AnswerKinds(call, store_);
                               });
  }
  if (endpoint == Endpoint::kAdminCreateMember) {
    auto decoded = wire::DecodeCreateMemberRequest(body);
    if (!decoded) return call->Fail(decoded.error());
    CreateMemberCommand command;
    command.context = call->Context();
    command.member_id = std::move(decoded->member_id);
    command.name = std::move(decoded->name);
    command.roles = RoleSetOf(decoded->roles);
    command.fingerprints = std::move(decoded->fingerprints);
    return store_.CreateMember(std::move(command),
                               [call](Result<MemberRecord> record) {
                                 AnswerMember(call, 201, std::move(record));
                               });
  }

  // Everything below names an existing member in the path.
  if (!wire::IsWellFormedMemberId(member_id)) {
    return call->Fail(ErrorCode::kNotFound,
                      "no member '" + member_id +
                          "'; member ids match ^[a-z][a-z0-9-]{1,31}$",
                      "member_id");
  }
  if (endpoint == Endpoint::kAdminGetMember) {
    return AnswerMember(call, 200, store_.GetMember(member_id));
  }

  MemberChangeCommand command;
  command.context = call->Context();
  command.member_id = member_id;
  switch (endpoint) {
    case Endpoint::kAdminSuspendMember: {
      auto decoded = wire::DecodeSuspendMemberRequest(body);
      if (!decoded) return call->Fail(decoded.error());
      command.change = MemberChangeCommand::Change::kSuspend;
      command.reason = decoded->reason.value_or("");
      break;
    }
    case Endpoint::kAdminResumeMember: {
      auto decoded = wire::DecodeEmptyRequest(body);
      if (!decoded) return call->Fail(decoded.error());
      command.change = MemberChangeCommand::Change::kResume;
      break;
    }
    case Endpoint::kAdminAddFingerprint: {
      auto decoded = wire::DecodeAddFingerprintRequest(body);
      if (!decoded) return call->Fail(decoded.error());
      command.change = MemberChangeCommand::Change::kAddFingerprint;
      command.fingerprint = std::move(decoded->fingerprint);
      break;
    }
    case Endpoint::kAdminRevokeFingerprint: {
      auto decoded = wire::DecodeEmptyRequest(body);
      if (!decoded) return call->Fail(decoded.error());
      if (!wire::IsWellFormedFingerprint(call->route.param2)) {
        return call->Fail(ErrorCode::kNotFound,
                          "no such fingerprint; fingerprints are 64 "
                          "lowercase hex characters (SHA-256 of the "
                          "certificate's DER encoding)",
                          "fingerprint");
      }
      command.change = MemberChangeCommand::Change::kRevokeFingerprint;
      command.fingerprint = call->route.param2;
      break;
    }
    case Endpoint::kAdminSetRoles: {
      auto decoded = wire::DecodeSetRolesRequest(body);
      if (!decoded) return call->Fail(decoded.error());
      command.change = MemberChangeCommand::Change::kSetRoles;
      command.roles = RoleSetOf(decoded->roles);
      break;
    }
    default:
      return call->Fail(ErrorCode::kInternal, "unrouted admin endpoint (bug)");
  }
  store_.ChangeMember(std::move(command), [call](Result<MemberRecord> record) {
    AnswerMember(call, 200, std::move(record));
  });
}

}  // namespace cairn::server
