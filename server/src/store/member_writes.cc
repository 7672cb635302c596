// StoreWrites: members, their certificate fingerprints, and token kinds.
#include <algorithm>
#include <string>
#include <vector>

#include "cairn/json_object.h"
#include "server/src/store/batch_statements.h"
#include "server/src/store/store_errors.h"
#include "server/src/store/store_writes.h"

namespace cairn::server::store_internal {
namespace {

constexpr std::int64_t kOperatorBit = RoleBit(Role::kOperator);

std::vector<std::string> RoleNames(RoleSet roles) {
  std::vector<std::string> names;
  for (Role r : {Role::kMember, Role::kCompliance, Role::kOperator}) {
    if (roles & RoleBit(r)) names.emplace_back(ToString(r));
  }
  return names;
}

}  // namespace

Result<MemberRecord> StoreWrites::ReadMember(BatchState& b,
                                             std::string_view member_id) {
  // The directory published after commit is this one (read from the
  // transaction after the change), so the returned record matches it.
  auto dir = Members(b);
  if (!dir) return tl::unexpected(*b.fatal);
  const Directory::Member* m = dir->FindMember(member_id);
  if (m == nullptr) return MemberNotFound(member_id);
  return m->record;
}

// 0 if absent; -1 on SQL error (batch failed).
std::int64_t StoreWrites::MemberNumber(BatchState& b,
                                       std::string_view member_id) {
  return ScalarInt(b, "SELECT id FROM members WHERE member_id = ?1",
                   [&](Statement& s) { s.Bind(1, member_id); });
}

// 1 if member `number` is the hub's only active (not suspended) operator,
// else 0; -1 on SQL error.
std::int64_t StoreWrites::IsLastActiveOperator(BatchState& b,
                                               std::int64_t number) {
  return ScalarInt(
      b,
      "SELECT count(*) = 1 AND coalesce(sum(id = ?1), 0) = 1"
      " FROM members WHERE suspended = 0 AND (roles & ?2) != 0",
      [&](Statement& s) { s.Bind(1, number).Bind(2, kOperatorBit); });
}

// 1 if `fp` is the only unrevoked certificate of any active operator
// (revoking it would lock everyone out of /v1/admin), else 0; -1 on SQL
// error.
std::int64_t StoreWrites::IsLastOperatorCertificate(BatchState& b,
                                                    std::string_view fp) {
  return ScalarInt(
      b,
      "SELECT EXISTS (SELECT 1 FROM fingerprints f"
      "   JOIN members m ON m.id = f.member WHERE f.fingerprint = ?1"
      "   AND f.revoked = 0 AND m.suspended = 0 AND (m.roles & ?2) != 0)"
      " AND NOT EXISTS (SELECT 1 FROM fingerprints f"
      "   JOIN members m ON m.id = f.member WHERE f.fingerprint != ?1"
      "   AND f.revoked = 0 AND m.suspended = 0 AND (m.roles & ?2) != 0)",
      [&](Statement& s) { s.Bind(1, fp).Bind(2, kOperatorBit); });
}

// 0 if free, else the owning member number; -1 on SQL error.
std::int64_t StoreWrites::FingerprintOwner(BatchState& b, std::string_view fp) {
  return ScalarInt(b, "SELECT member FROM fingerprints WHERE fingerprint = ?1",
                   [&](Statement& s) { s.Bind(1, fp); });
}

Result<MemberRecord> StoreWrites::CreateMember(BatchState& b,
                                               const CreateMemberCommand& c) {
  if (auto s = OperatorStanding(b, c.context); !s) {
    return tl::unexpected(s.error());
  }
  const std::int64_t existing = MemberNumber(b, c.member_id);
  if (existing < 0) return tl::unexpected(*b.fatal);
  if (existing > 0) {
    return MakeError(ErrorCode::kConflict,
                     "member '" + c.member_id +
                         "' already exists; choose another id or change "
                         "the existing member",
                     "member_id");
  }
  for (std::size_t i = 0; i < c.fingerprints.size(); ++i) {
    const std::int64_t owner = FingerprintOwner(b, c.fingerprints[i]);
    if (owner < 0) return tl::unexpected(*b.fatal);
    const bool repeated =
        std::find(c.fingerprints.begin(), c.fingerprints.begin() + i,
                  c.fingerprints[i]) != c.fingerprints.begin() + i;
    if (owner > 0 || repeated) {
      return MakeError(ErrorCode::kConflict,
                       "fingerprint " + c.fingerprints[i] +
                           " is already registered; each certificate "
                           "belongs to one member",
                       "fingerprints[" + std::to_string(i) + "]");
    }
  }
  if (!Run(b,
           "INSERT INTO members (member_id, name, roles, created_at)"
           " VALUES (?1, ?2, ?3, ?4)",
           [&](Statement& s) {
             s.Bind(1, c.member_id)
                 .Bind(2, c.name)
                 .Bind(3, static_cast<std::int64_t>(c.roles))
                 .Bind(4, b.now);
           })) {
    return tl::unexpected(*b.fatal);
  }
  const std::int64_t number = b.db.LastInsertRowid();
  for (const auto& fp : c.fingerprints) {
    if (!InsertFingerprint(b, number, fp)) return tl::unexpected(*b.fatal);
  }
  b.ChangedDirectory();
  Audit(b, c.context, "member.create",
        JsonObjectWriter()
            .Add("member_id", c.member_id)
            .Add("name", c.name)
            .Add("roles", RoleNames(c.roles))
            .Add("fingerprints", c.fingerprints)
            .Finish());
  return ReadMember(b, c.member_id);
}

bool StoreWrites::InsertFingerprint(BatchState& b, std::int64_t member,
                                    const std::string& fp) {
  return Run(
      b,
      "INSERT INTO fingerprints (fingerprint, member, added_at)"
      " VALUES (?1, ?2, ?3)",
      [&](Statement& s) { s.Bind(1, fp).Bind(2, member).Bind(3, b.now); });
}

Result<MemberRecord> StoreWrites::ChangeMember(BatchState& b,
                                               const MemberChangeCommand& c) {
  using Change = MemberChangeCommand::Change;
  if (auto s = OperatorStanding(b, c.context); !s) {
    return tl::unexpected(s.error());
  }
  const std::int64_t number = MemberNumber(b, c.member_id);
  if (number < 0) return tl::unexpected(*b.fatal);
  if (number == 0) return MemberNotFound(c.member_id);
  // Nobody could administer the hub any more (members, certificates,
  // keys all go through an operator): refuse to suspend or demote the
  // last active operator.
  const bool removes_operator =
      c.change == Change::kSuspend ||
      (c.change == Change::kSetRoles && !HasRole(c.roles, Role::kOperator));
  if (removes_operator) {
    const std::int64_t last = IsLastActiveOperator(b, number);
    if (last < 0) return tl::unexpected(*b.fatal);
    if (last == 1) {
      return MakeError(
          ErrorCode::kConflict,
          "'" + c.member_id +
              "' is the hub's last active operator; suspending it or "
              "removing its operator role would leave nobody able to "
              "administer the hub. Give another member the operator "
              "role first",
          "member_id");
    }
  }
  bool ok = true;
  std::string action;
  JsonObjectWriter details;
  details.Add("member_id", c.member_id);
  switch (c.change) {
    case Change::kSuspend:
    case Change::kResume: {
      const bool suspend = c.change == Change::kSuspend;
      action = suspend ? "suspend" : "resume";
      details.Add("change", action);
      if (suspend) details.Add("reason", c.reason);
      ok = Run(b,
               "UPDATE members SET suspended = ?2, suspended_reason = ?3"
               " WHERE id = ?1",
               [&](Statement& s) {
                 s.Bind(1, number)
                     .Bind(2, std::int64_t{suspend ? 1 : 0})
                     .Bind(3, suspend ? std::string_view(c.reason)
                                      : std::string_view());
               });
      break;
    }
    case Change::kAddFingerprint: {
      action = "add_fingerprint";
      details.Add("change", action).Add("fingerprint", c.fingerprint);
      const std::int64_t owner = FingerprintOwner(b, c.fingerprint);
      if (owner < 0) return tl::unexpected(*b.fatal);
      if (owner > 0) {
        return MakeError(ErrorCode::kConflict,
                         "fingerprint " + c.fingerprint +
                             " is already registered (revoked fingerprints "
                             "cannot be reused); issue a new certificate",
                         "fingerprint");
      }
      ok = InsertFingerprint(b, number, c.fingerprint);
      break;
    }
    case Change::kRevokeFingerprint: {
      action = "revoke_fingerprint";
      details.Add("change", action).Add("fingerprint", c.fingerprint);
      const std::int64_t owner = FingerprintOwner(b, c.fingerprint);
      if (owner < 0) return tl::unexpected(*b.fatal);
      if (owner != number) {
        return MakeError(ErrorCode::kNotFound,
                         "member '" + c.member_id + "' has no fingerprint " +
                             c.fingerprint + "; see `cairnctl member show " +
                             c.member_id + "`",
                         "fingerprint");
      }
      // The same lock-out as above, reached by certificate: if no other
      // active operator certificate remains, nobody could reach /v1/admin
      // again (and a revoked fingerprint cannot be re-added).
      const std::int64_t last = IsLastOperatorCertificate(b, c.fingerprint);
      if (last < 0) return tl::unexpected(*b.fatal);
      if (last == 1) {
        return MakeError(
            ErrorCode::kConflict,
            "fingerprint " + c.fingerprint +
                " is the last certificate of an active operator; revoking it "
                "would leave nobody able to administer the hub. Add another "
                "operator certificate first (`cairnctl member fingerprint "
                "add`)",
            "fingerprint");
      }
      ok = Run(b,
               "UPDATE fingerprints SET revoked = 1,"
               " revoked_at = coalesce(revoked_at, ?2)"
               " WHERE fingerprint = ?1",
               [&](Statement& s) { s.Bind(1, c.fingerprint).Bind(2, b.now); });
      break;
    }
    case Change::kSetRoles:
      action = "set_roles";
      details.Add("change", action).Add("roles", RoleNames(c.roles));
      ok = Run(b, "UPDATE members SET roles = ?2 WHERE id = ?1",
               [&](Statement& s) {
                 s.Bind(1, number).Bind(2, static_cast<std::int64_t>(c.roles));
               });
      break;
  }
  if (!ok) return tl::unexpected(*b.fatal);
  b.ChangedDirectory();
  Audit(b, c.context, "member.change", details.Finish());
  return ReadMember(b, c.member_id);
}

Status StoreWrites::RegisterKind(BatchState& b, const RegisterKindCommand& c) {
  if (auto s = OperatorStanding(b, c.context); !s) return s;
  if (!IsWellFormedKind(c.kind)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "kind '" + c.kind +
                         "' is not a valid kind name; use 2-32 characters "
                         "of a-z, 0-9 and _, starting with a letter",
                     "kind");
  }
  if (!Run(b,
           "INSERT OR IGNORE INTO kinds (name, builtin, created_at)"
           " VALUES (?1, 0, ?2)",
           [&](Statement& s) { s.Bind(1, c.kind).Bind(2, b.now); })) {
    return tl::unexpected(*b.fatal);
  }
  b.ChangedDirectory();
  Audit(b, c.context, "kind.register",
        JsonObjectWriter().Add("kind", c.kind).Finish());
  return {};
}

}  // namespace cairn::server::store_internal
