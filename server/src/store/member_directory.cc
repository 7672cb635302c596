#include "server/src/store/member_directory.h"

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

}  // namespace cairn::server::store_internal
