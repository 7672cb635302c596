#include "server/src/store/stream_reads.h"

#include <algorithm>

#include "server/src/store/batch_statements.h"
#include "server/src/store/store_time.h"

namespace cairn::server::store_internal {
namespace {

// An empty page for a cursor past the stream's newest seq: the cursor was
// not issued by this database. Most likely it was restored from an older
// backup, and a reader that kept its cursor would silently skip every new
// event numbered up to it.
Status CheckCursorNotPastHead(Database& db, const char* head_sql,
                              std::uint64_t after, const char* stream) {
  if (after == 0) return {};
  auto stmt = db.Prepare(head_sql);
  if (!stmt) return tl::unexpected(stmt.error());
  auto row = stmt->Step();
  if (!row) return tl::unexpected(row.error());
  const auto head = *row ? static_cast<std::uint64_t>(stmt->Int(0)) : 0;
  if (after <= head) return {};
  return MakeError(
      ErrorCode::kInvalidArgument,
      "cursor " + std::to_string(after) + " is past the newest " + stream +
          " event (" + std::to_string(head) +
          "): the hub's data was restored from an older backup, or the "
          "cursor is another hub's; read again from after=0 and apply the "
          "events idempotently",
      "after");
}

}  // namespace

Result<AuditCheckpointPage> ReadAuditCheckpointPage(Database& db,
                                                    std::uint64_t after_seq,
                                                    std::size_t limit) {
  limit = std::clamp<std::size_t>(limit, 1, 10000);
  auto stmt = db.Prepare(
      "SELECT seq, head_hash, at, key_id, signature FROM audit_checkpoints"
      " WHERE seq > ?1 ORDER BY seq LIMIT ?2");
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->Bind(1, static_cast<std::int64_t>(after_seq))
      .Bind(2, static_cast<std::int64_t>(limit + 1));
  AuditCheckpointPage page;
  page.cursor = after_seq;
  while (true) {
    auto row = stmt->Step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) break;
    if (page.checkpoints.size() == limit) {
      page.more = true;
      break;
    }
    AuditCheckpoint c;
    c.seq = static_cast<std::uint64_t>(stmt->Int(0));
    auto hash = stmt->Blob(1);
    std::copy_n(hash.begin(), std::min(hash.size(), c.head_hash.size()),
                c.head_hash.begin());
    c.at = FromUnix(stmt->Int(2));
    c.key_id = stmt->Text(3);
    auto sig = stmt->Blob(4);
    std::copy_n(sig.begin(), std::min(sig.size(), c.signature.size()),
                c.signature.begin());
    page.cursor = c.seq;
    page.checkpoints.push_back(std::move(c));
  }
  return page;
}

Result<FeedPage> ReadFeedPage(Database& db, const Directory& dir,
                              std::uint32_t member, std::uint64_t after_seq,
                              std::size_t limit) {
  limit = std::clamp<std::size_t>(limit, 1, 10000);
  auto stmt = db.Prepare(
      "SELECT f.seq, f.type, f.at, s.signal_id, s.kind, s.scheme, s.epoch,"
      " s.token, s.category, s.severity, s.banned_at, s.expires_at"
      " FROM feed f JOIN signals s ON s.id = f.signal"
      " WHERE f.seq > ?1 AND f.member != ?2 ORDER BY f.seq LIMIT ?3");
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->Bind(1, static_cast<std::int64_t>(after_seq))
      .Bind(2, member)
      .Bind(3, static_cast<std::int64_t>(limit + 1));
  FeedPage page;
  page.cursor = after_seq;
  while (true) {
    auto row = stmt->Step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) break;
    if (page.events.size() == limit) {
      page.more = true;
      break;
    }
    FeedEvent e;
    e.seq = static_cast<std::uint64_t>(stmt->Int(0));
    e.type = static_cast<FeedEventType>(stmt->Int(1));
    e.at = FromUnix(stmt->Int(2));
    e.signal_id = stmt->Text(3);
    e.key.kind = dir.KindName(static_cast<std::uint16_t>(stmt->Int(4)));
    e.key.scheme = static_cast<TokenScheme>(stmt->Int(5));
    e.key.epoch = static_cast<std::uint32_t>(stmt->Int(6));
    auto token = stmt->Blob(7);
    std::copy_n(token.begin(), std::min(token.size(), e.key.token.size()),
                e.key.token.begin());
    e.category = static_cast<Category>(stmt->Int(8));
    e.severity = static_cast<Severity>(stmt->Int(9));
    e.banned_at = FromUnix(stmt->Int(10));
    e.expires_at = FromUnix(stmt->Int(11));
    page.cursor = e.seq;
    page.events.push_back(std::move(e));
  }
  if (page.events.empty()) {
    if (auto s = CheckCursorNotPastHead(db, kNextFeedSeqSql, after_seq, "feed");
        !s) {
      return tl::unexpected(s.error());
    }
  }
  return page;
}

Result<NotificationPage> ReadNotificationPage(Database& db,
                                              std::uint32_t member,
                                              std::uint64_t after_seq,
                                              std::size_t limit) {
  limit = std::clamp<std::size_t>(limit, 1, 10000);
  auto stmt = db.Prepare(
      "SELECT n.seq, m.match_id, n.type, n.reason, n.at, n.still_supported"
      " FROM notifications n JOIN matches m ON m.id = n.match"
      " WHERE n.member = ?1 AND n.seq > ?2 ORDER BY n.seq LIMIT ?3");
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->Bind(1, member)
      .Bind(2, static_cast<std::int64_t>(after_seq))
      .Bind(3, static_cast<std::int64_t>(limit + 1));
  NotificationPage page;
  page.cursor = after_seq;
  while (true) {
    auto row = stmt->Step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) break;
    if (page.notifications.size() == limit) {
      page.more = true;
      break;
    }
    Notification n;
    n.seq = static_cast<std::uint64_t>(stmt->Int(0));
    n.match_id = stmt->Text(1);
    n.type = static_cast<FeedEventType>(stmt->Int(2));
    if (!stmt->IsNull(3)) {
      n.reason = static_cast<RetractReason>(stmt->Int(3));
    }
    n.at = FromUnix(stmt->Int(4));
    n.still_supported = stmt->Int(5) != 0;
    page.cursor = n.seq;
    page.notifications.push_back(std::move(n));
  }
  if (page.notifications.empty()) {
    if (auto s = CheckCursorNotPastHead(db, kNextNotificationSeqSql, after_seq,
                                        "notification");
        !s) {
      return tl::unexpected(s.error());
    }
  }
  return page;
}

Result<std::vector<OprfUsage>> ReadOprfUsage(Database& db, const Directory& dir,
                                             std::int64_t day) {
  auto stmt = db.Prepare(
      "SELECT member, elements FROM oprf_usage WHERE day = ?1"
      " ORDER BY member");
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->Bind(1, day);
  std::vector<OprfUsage> out;
  while (true) {
    auto row = stmt->Step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) break;
    out.push_back(
        OprfUsage{dir.MemberIdOf(static_cast<std::uint32_t>(stmt->Int(0))), day,
                  static_cast<std::uint64_t>(stmt->Int(1))});
  }
  return out;
}

}  // namespace cairn::server::store_internal
