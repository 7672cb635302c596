// /v1/admin/...: operator endpoints for members, fingerprints and roles.
#ifndef CAIRN_WIRE_ADMIN_H_
#define CAIRN_WIRE_ADMIN_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/wire/types.h"

namespace cairn::wire {

enum class MemberStatus : std::uint8_t { kActive, kSuspended };
enum class FingerprintStatus : std::uint8_t { kActive, kRevoked };

std::string_view ToString(MemberStatus v);
std::string_view ToString(FingerprintStatus v);

struct MemberFingerprint {
  std::string fingerprint;  // 64 lowercase hex
  FingerprintStatus status = FingerprintStatus::kActive;
  Timestamp added_at{};
  std::optional<Timestamp> revoked_at;

  bool operator==(const MemberFingerprint&) const = default;
};

// The Member resource returned by every admin endpoint.
struct Member {
  std::string member_id;
  std::string name;
  std::vector<Role> roles;
  MemberStatus status = MemberStatus::kActive;
  Timestamp created_at{};
  std::optional<std::string> suspended_reason;
  std::vector<MemberFingerprint> fingerprints;

  bool operator==(const Member&) const = default;
};

struct MemberListResponse {
  std::vector<Member> members;

  bool operator==(const MemberListResponse&) const = default;
};

// POST /v1/admin/members
struct CreateMemberRequest {
  std::string member_id;                  // ^[a-z][a-z0-9-]{1,31}$
  std::string name;                       // 1..128 bytes, no control characters
  std::vector<Role> roles;                // 1..3 distinct roles
  std::vector<std::string> fingerprints;  // optional; 0..16, distinct

  bool operator==(const CreateMemberRequest&) const = default;
};

// POST /v1/admin/members/{id}/suspend
struct SuspendMemberRequest {
  std::optional<std::string> reason;  // 0..500 bytes

  bool operator==(const SuspendMemberRequest&) const = default;
};

// POST /v1/admin/members/{id}/fingerprints
struct AddFingerprintRequest {
  std::string fingerprint;

  bool operator==(const AddFingerprintRequest&) const = default;
};

// PUT /v1/admin/members/{id}/roles
struct SetRolesRequest {
  std::vector<Role> roles;  // 1..3 distinct roles

  bool operator==(const SetRolesRequest&) const = default;
};

// POST /v1/admin/kinds: registers a custom identifier kind (members then
// submit and query tokens of it; docs/token-scheme.md, "Custom kinds").
struct RegisterKindRequest {
  std::string kind;  // IsWellFormedKind

  bool operator==(const RegisterKindRequest&) const = default;
};

// One identifier kind the hub accepts.
struct KindInfo {
  std::string name;
  bool builtin = false;  // email, phone, handle, device, url

  bool operator==(const KindInfo&) const = default;
};

// GET /v1/admin/kinds, and the answer to POST /v1/admin/kinds: every kind
// the hub accepts, sorted by name.
struct KindListResponse {
  std::vector<KindInfo> kinds;

  bool operator==(const KindListResponse&) const = default;
};

// The body "{}" of POST .../resume and .../fingerprints/{fp}/revoke.
struct EmptyRequest {
  bool operator==(const EmptyRequest&) const = default;
};

std::string Encode(const Member& body);
Result<Member> DecodeMember(std::string_view json);
std::string Encode(const MemberListResponse& body);
Result<MemberListResponse> DecodeMemberListResponse(std::string_view json);

std::string Encode(const CreateMemberRequest& body);
Result<CreateMemberRequest> DecodeCreateMemberRequest(std::string_view json);
std::string Encode(const SuspendMemberRequest& body);
Result<SuspendMemberRequest> DecodeSuspendMemberRequest(std::string_view json);
std::string Encode(const AddFingerprintRequest& body);
Result<AddFingerprintRequest> DecodeAddFingerprintRequest(
    std::string_view json);
std::string Encode(const SetRolesRequest& body);
Result<SetRolesRequest> DecodeSetRolesRequest(std::string_view json);
// Accepts "{}" only (an empty body is the caller's business: the hub may
// treat a zero-length body as {}).
std::string Encode(const EmptyRequest& body);
Result<EmptyRequest> DecodeEmptyRequest(std::string_view json);
std::string Encode(const RegisterKindRequest& body);
Result<RegisterKindRequest> DecodeRegisterKindRequest(std::string_view json);
std::string Encode(const KindListResponse& body);
Result<KindListResponse> DecodeKindListResponse(std::string_view json);

}  // namespace cairn::wire

#endif  // CAIRN_WIRE_ADMIN_H_
