#include "server/src/store/stream_reads.h"

#include <algorithm>

#include "server/src/store/batch_statements.h"
#include "server/src/store/store_time.h"

namespace cairn::server::store_internal {
namespace {

// One snapshot of the database for a whole page: the events, the stream's
// head and what purges deleted must agree, or a purge committed between
// two of the reads could delete an event above the cursor handed out
// without the check seeing it.
class ReadTransaction {
 public:
  explicit ReadTransaction(Database& db) : db_(db) {}
  ReadTransaction(const ReadTransaction&) = delete;
  ReadTransaction& operator=(const ReadTransaction&) = delete;
  ~ReadTransaction() {
    if (db_.InTransaction()) (void)db_.Exec("COMMIT");
  }
  Status Begin() { return db_.Exec("BEGIN"); }

 private:
  Database& db_;
};

// A stream as a reader's cursor is judged against it (see StreamCursor and
// kFeedPurgedStream).
struct StreamState {
  std::uint64_t head = 0;    // the newest seq issued (to the reader)
  std::uint64_t purged = 0;  // the highest seq a purge deleted
  std::uint64_t purges = 0;  // purges that deleted any of the stream's rows
  // The highest cursor taken: `head`, or for a notification cursor older
  // cairnds handed out, kNotificationsLegacyStream.
  std::uint64_t taken = 0;
  // Refusal of a cursor above `taken`, after "cursor C is past ".
  std::string past;
};

const char* const kFloorSql = "SELECT seq FROM seq_floors WHERE stream = ?1";

// The first column of `sql`'s row, with ?1 bound to `bind` (if any); 0 for
// no row or NULL.
template <typename... Bind>
Result<std::uint64_t> ReadCount(Database& db, const char* sql,
                                const Bind&... bind) {
  auto stmt = db.Prepare(sql);
  if (!stmt) return tl::unexpected(stmt.error());
  (stmt->Bind(1, bind), ...);
  auto row = stmt->Step();
  if (!row) return tl::unexpected(row.error());
  return *row ? static_cast<std::uint64_t>(stmt->Int(0)) : 0;
}

Result<StreamState> ReadStreamState(Database& db, const char* head_sql,
                                    const std::string& purged_stream,
                                    const std::string& purges_stream) {
  StreamState st;
  auto head = ReadCount(db, head_sql);
  if (!head) return tl::unexpected(head.error());
  auto purged = ReadCount(db, kFloorSql, purged_stream);
  if (!purged) return tl::unexpected(purged.error());
  auto purges = ReadCount(db, kFloorSql, purges_stream);
  if (!purges) return tl::unexpected(purges.error());
  st.head = *head;
  st.purged = *purged;
  st.purges = *purges;
  st.taken = st.head;
  return st;
}

// A member's notifications as a cursor in its own numbering (member_seq,
// the seq it sees) is judged against them: nothing in them depends on
// other members' notifications. Each notification also takes the next seq
// of one hub-wide sequence; numbers from that one, between two of a
// member's notifications or as its head, would count the other members'
// notifications, and so how often they matched a token whose retraction
// the member sees in the feed. The head is the member's newest
// notification, purged ones included (a purge records the highest
// member_seq it deleted of each member's).
Result<StreamState> ReadNotificationState(Database& db, std::uint32_t member) {
  const std::string number = std::to_string(member);
  StreamState st;
  auto head = ReadCount(
      db, "SELECT max(member_seq) FROM notifications WHERE member = ?1",
      member);
  if (!head) return tl::unexpected(head.error());
  auto purged =
      ReadCount(db, kFloorSql, kNotificationsMemberPurgedStream + number);
  if (!purged) return tl::unexpected(purged.error());
  auto purges = ReadCount(db, kFloorSql, kNotificationsPurgesStream + number);
  if (!purges) return tl::unexpected(purges.error());
  st.head = std::max(*head, *purged);
  st.purged = *purged;
  st.purges = *purges;
  st.taken = st.head;
  st.past = "your newest notification";
  return st;
}

// The same in the hub-wide numbering, for a cursor an older cairnd handed
// out (a plain number): up to schema 11 the seqs a member saw were
// hub-wide, and its cursor was the seq of its newest notification (or,
// before per-member cursors, the hub-wide head). Such a cursor is taken up
// to the hub-wide head when the database moved to schema 12
// (kNotificationsLegacyStream), never up to a seq issued since: which of
// those are taken would tell the member the hub-wide seq of its newest
// notification, and so count the other members' notifications before it.
// The purge floor is the highest hub-wide seq a purge deleted of the
// member's.
Result<StreamState> ReadHubWideNotificationState(Database& db,
                                                 std::uint32_t member) {
  const std::string number = std::to_string(member);
  StreamState st;
  auto purged = ReadCount(db, kFloorSql, kNotificationsPurgedStream + number);
  if (!purged) return tl::unexpected(purged.error());
  auto purges = ReadCount(db, kFloorSql, kNotificationsPurgesStream + number);
  if (!purges) return tl::unexpected(purges.error());
  auto legacy = ReadCount(db, kFloorSql, kNotificationsLegacyStream);
  if (!legacy) return tl::unexpected(legacy.error());
  st.head = *legacy;
  st.purged = *purged;
  st.purges = *purges;
  st.taken = *legacy;
  // The refusal names no number: the legacy seq is hub-wide.
  st.past = "your newest notification";
  return st;
}

// Where a hub-wide cursor (already checked against
// ReadHubWideNotificationState) lies in the member's own numbering: just
// below its first notification numbered above it, or its head if there is
// none. Both numberings grow together, so the notifications after one are
// those after the other; those a purge deleted below the cursor the
// reader had already passed (or the check refused it).
Result<std::uint64_t> MemberPosition(Database& db, std::uint32_t member,
                                     std::uint64_t hub_seq,
                                     const StreamState& own) {
  auto stmt = db.Prepare(
      "SELECT member_seq FROM notifications WHERE member = ?1 AND seq > ?2"
      " ORDER BY seq LIMIT 1");
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->Bind(1, member).Bind(2, static_cast<std::int64_t>(hub_seq));
  auto row = stmt->Step();
  if (!row) return tl::unexpected(row.error());
  if (!*row) return own.head;
  return static_cast<std::uint64_t>(stmt->Int(0)) - 1;
}

// Refuses a cursor the reader cannot safely resume from: past the newest
// seq, or naming more purges than this database made (either way not
// issued by it: most likely it was restored from an older backup, and a
// reader that kept its cursor would silently skip every new event
// numbered up to it, or miss what later purges delete), or below events a
// purge deleted after the cursor was issued (the reader would never see
// them: a mirror would keep a signal whose retraction was purged).
// `expired` says what was purged and what to do. The messages quote the
// cursor as the reader sent it.
Status CheckCursor(const StreamState& st, const StreamCursor& after,
                   const char* stream, const std::string& expired) {
  const std::string cursor = FormatStreamCursor(after);
  static const char* const kNotOurs =
      ": the hub's data was restored from an older backup, or the cursor is "
      "another hub's; read again from after=0 and apply the events "
      "idempotently";
  if (after.seq > st.taken) {
    const std::string past =
        st.past.empty() ? "the newest " + std::string(stream) + " event (" +
                              std::to_string(st.head) + ")"
                        : st.past;
    return MakeError(ErrorCode::kInvalidArgument,
                     "cursor " + cursor + " is past " + past + kNotOurs,
                     "after");
  }
  // Within the stream, but counting purges this database never made.
  if (after.purges.has_value() && *after.purges > st.purges) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "cursor " + cursor + " was handed out after " +
                         std::to_string(*after.purges) +
                         " purge(s) had deleted " + stream +
                         " events, but this hub's purges have done so " +
                         std::to_string(st.purges) + " time(s)" + kNotOurs,
                     "after");
  }
  if (after.seq == 0 || after.seq >= st.purged) return {};
  if (!after.purges.has_value()) {
    return MakeError(ErrorCode::kCursorExpired,
                     "cursor " + cursor + " is older than the " + stream +
                         " events this hub still keeps: " + expired,
                     "after");
  }
  if (*after.purges < st.purges) {
    return MakeError(ErrorCode::kCursorExpired,
                     "cursor " + cursor +
                         " was handed out while reading from the start, and "
                         "a purge has deleted " +
                         stream +
                         " events after it since; start that read again "
                         "from after=0",
                     "after");
  }
  return {};
}

// Finishes a page's `cursor` (its last item's seq, or the cursor it was
// read after if it has none): once the reader is caught up, the stream's
// head (for notifications, the member's own: ReadNotificationState), so that
// the cursor of a reader whose own events (which it never sees) are the newest
// still moves on, and stays above what later purges delete. Below events purged
// before it (a read from the start), it carries the purge count it is good for.
void FinishCursor(const StreamState& st, bool more, std::uint64_t& cursor,
                  std::optional<std::uint64_t>& cursor_purges) {
  if (!more) cursor = std::max(cursor, st.head);
  if (cursor < st.purged) cursor_purges = st.purges;
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
                              std::uint32_t member, const StreamCursor& after,
                              std::size_t limit) {
  limit = std::clamp<std::size_t>(limit, 1, 10000);
  ReadTransaction transaction(db);
  if (auto s = transaction.Begin(); !s) return tl::unexpected(s.error());
  auto state = ReadStreamState(db, kNextFeedSeqSql, kFeedPurgedStream,
                               kFeedPurgesStream);
  if (!state) return tl::unexpected(state.error());
  if (auto s = CheckCursor(
          *state, after, "feed",
          "the hub purged feed events after it (a retracted or expired "
          "signal goes with its events [store] tombstone_days after it "
          "left the active set), so a reader resuming there would miss "
          "retractions and expiries. Rebuild the mirror: clear it and read "
          "the feed again from after=0, which holds every signal the hub "
          "still keeps");
      !s) {
    return tl::unexpected(s.error());
  }
  const std::uint64_t after_seq = after.seq;
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
  FinishCursor(*state, page.more, page.cursor, page.cursor_purges);
  return page;
}

Result<NotificationPage> ReadNotificationPage(Database& db,
                                              std::uint32_t member,
                                              const StreamCursor& after,
                                              std::size_t limit) {
  limit = std::clamp<std::size_t>(limit, 1, 10000);
  ReadTransaction transaction(db);
  if (auto s = transaction.Begin(); !s) return tl::unexpected(s.error());
  auto state = ReadNotificationState(db, member);
  if (!state) return tl::unexpected(state.error());
  static const std::string kExpired =
      "the hub purged some of your notifications after it (they go "
      "with their match [store] match_retention_days after it was made, "
      "or notification_retention_days after they were emitted), so you "
      "missed them. Read again from after=0 and re-review what is "
      "still listed; for the matches you acted on earlier, query their "
      "identifiers again to learn whether any signal still supports "
      "them";
  StreamCursor own = after;
  if (!after.per_member && after.seq > 0) {
    // A cursor in the hub-wide numbering an older cairnd handed out: judged
    // as it would have been, then read from where it lies in the member's
    // own numbering, which the page's cursor continues in.
    auto hub_wide = ReadHubWideNotificationState(db, member);
    if (!hub_wide) return tl::unexpected(hub_wide.error());
    if (auto s = CheckCursor(*hub_wide, after, "notification", kExpired); !s) {
      return tl::unexpected(s.error());
    }
    auto position = MemberPosition(db, member, after.seq, *state);
    if (!position) return tl::unexpected(position.error());
    own.seq = *position;
    own.per_member = true;
  } else if (auto s = CheckCursor(*state, after, "notification", kExpired);
             !s) {
    return tl::unexpected(s.error());
  }
  const std::uint64_t after_seq = own.seq;
  auto stmt = db.Prepare(
      "SELECT n.member_seq, m.match_id, n.type, n.reason, n.at,"
      " n.still_supported FROM notifications n JOIN matches m"
      " ON m.id = n.match WHERE n.member = ?1 AND n.member_seq > ?2"
      " ORDER BY n.member_seq LIMIT ?3");
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
  FinishCursor(*state, page.more, page.cursor, page.cursor_purges);
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
