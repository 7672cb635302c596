#include "server/src/store/member_directory.h"

#include <algorithm>

#include "server/src/store/standing.h"
#include "server/src/store/store_errors.h"
#include "server/src/store/store_time.h"

namespace cairn::server::store_internal {

Result<Directory> LoadDirectory(Database& db) {
  Directory dir;
  {
    auto stmt = db.Prepare(
        "SELECT id, member_id, name, roles, suspended, suspended_reason,"
        " created_at FROM members");
    if (!stmt) return tl::unexpected(stmt.error());
    while (true) {
      auto row = stmt->Step();
      if (!row) return tl::unexpected(row.error());
      if (!*row) break;
      Directory::Member m;
      m.number = static_cast<std::uint32_t>(stmt->Int(0));
      m.record.member_id = stmt->Text(1);
      m.record.name = stmt->Text(2);
      m.record.roles = static_cast<RoleSet>(stmt->Int(3));
      m.record.suspended = stmt->Int(4) != 0;
      m.record.suspended_reason = stmt->Text(5);
      m.record.created_at = FromUnix(stmt->Int(6));
      dir.by_number[m.number] = m.record.member_id;
      dir.members.emplace(m.record.member_id, std::move(m));
    }
  }
  {
    auto stmt = db.Prepare(
        "SELECT fingerprint, member, revoked, added_at, revoked_at"
        " FROM fingerprints ORDER BY added_at, rowid");
    if (!stmt) return tl::unexpected(stmt.error());
    while (true) {
      auto row = stmt->Step();
      if (!row) return tl::unexpected(row.error());
      if (!*row) break;
      FingerprintRecord fp;
      fp.fingerprint = stmt->Text(0);
      const std::string id =
          dir.by_number[static_cast<std::uint32_t>(stmt->Int(1))];
      fp.revoked = stmt->Int(2) != 0;
      fp.added_at = FromUnix(stmt->Int(3));
      if (!stmt->IsNull(4)) fp.revoked_at = FromUnix(stmt->Int(4));
      auto it = dir.members.find(id);
      if (it == dir.members.end()) continue;
      if (fp.revoked) {
        dir.revoked_fps.insert(fp.fingerprint);
      } else {
        dir.active_fps[fp.fingerprint] = id;
      }
      it->second.record.fingerprints.push_back(std::move(fp));
    }
  }
  {
    auto stmt = db.Prepare("SELECT id, name FROM kinds");
    if (!stmt) return tl::unexpected(stmt.error());
    while (true) {
      auto row = stmt->Step();
      if (!row) return tl::unexpected(row.error());
      if (!*row) break;
      const auto id = static_cast<std::uint16_t>(stmt->Int(0));
      dir.kind_ids[stmt->Text(1)] = id;
      dir.kind_names[id] = stmt->Text(1);
    }
  }
  return dir;
}

Result<const Directory::Member*> CheckStanding(const Directory& dir,
                                               std::string_view member_id,
                                               std::string_view fingerprint,
                                               Role role) {
  const Directory::Member* me = dir.FindMember(member_id);
  if (me == nullptr) return UnknownMember(member_id);
  // Then in the router's order, so that a caller refused for two reasons
  // hears the same one from both. The member's own few certificates are
  // scanned rather than the hub's hashed: no 64-character hash per query.
  if (!fingerprint.empty()) {
    const auto& fps = me->record.fingerprints;
    const auto fp =
        std::find_if(fps.begin(), fps.end(), [&](const FingerprintRecord& r) {
          return r.fingerprint == fingerprint;
        });
    if (fp == fps.end() || fp->revoked) {
      return MakeError(ErrorCode::kPermissionDenied,
                       dir.revoked_fps.contains(fingerprint)
                           ? RevokedCertificateMessage(fingerprint)
                           : UnregisteredCertificateMessage(fingerprint));
    }
  }
  if (me->record.suspended) {
    return MakeError(
        ErrorCode::kPermissionDenied,
        SuspendedMemberMessage(member_id, me->record.suspended_reason));
  }
  if (!HasRole(me->record.roles, role)) {
    return MakeError(ErrorCode::kPermissionDenied,
                     MissingRoleMessage(role, member_id));
  }
  return me;
}

}  // namespace cairn::server::store_internal
