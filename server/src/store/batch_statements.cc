#include "server/src/store/batch_statements.h"

#include <utility>

#include "server/src/store/store_time.h"

namespace cairn::server::store_internal {

Statement* Prep(BatchState& b, std::optional<Statement>& slot,
                const char* sql) {
  auto stmt = b.db.Prepare(sql);
  if (!stmt) {
    b.Fail(stmt.error());
    return nullptr;
  }
  slot.emplace(std::move(*stmt));
  return &*slot;
}

bool Run(BatchState& b, const char* sql,
         const std::function<void(Statement&)>& bind) {
  std::optional<Statement> slot;
  Statement* stmt = Prep(b, slot, sql);
  if (stmt == nullptr) return false;
  bind(*stmt);
  if (auto s = stmt->Run(); !s) {
    b.Fail(s.error());
    return false;
  }
  return true;
}

std::int64_t ScalarInt(BatchState& b, const char* sql,
                       const std::function<void(Statement&)>& bind) {
  std::optional<Statement> slot;
  Statement* s = Prep(b, slot, sql);
  if (s == nullptr) return -1;
  bind(*s);
  auto row = s->Step();
  if (!row) {
    b.Fail(row.error());
    return -1;
  }
  return *row ? s->Int(0) : 0;
}

std::int64_t NextRowid(BatchState& b, std::int64_t& next, const char* max_sql) {
  if (next == 0) {
    const std::int64_t last = ScalarInt(b, max_sql, [](Statement&) {});
    if (last < 0) return -1;
    next = last + 1;
  }
  return next++;
}

void Audit(BatchState& b, const CommandContext& ctx, std::string action,
           std::string details) {
  AuditEvent e;
  e.request_id = ctx.request_id;
  e.actor = ctx.actor;
  e.fingerprint = ctx.fingerprint;
  e.action = std::move(action);
  e.details = std::move(details);
  e.at = FromUnix(b.now);
  b.audit.push_back(std::move(e));
}

void AddFeedEvent(BatchState& b, FeedEventType type, std::int64_t rowid,
                  std::uint32_t member) {
  b.feed.push_back({type, rowid, member});
}

MultiRowSql MakeMultiRowSql(std::string_view head, std::size_t columns) {
  std::string group = "(?";
  for (std::size_t c = 1; c < columns; ++c) group += ",?";
  group += ")";
  MultiRowSql out;
  for (std::size_t k = 0; k < kMultiRows.size(); ++k) {
    out[k] = std::string(head);
    for (std::size_t i = 0; i < kMultiRows[k]; ++i) {
      if (i > 0) out[k] += ',';
      out[k] += group;
    }
  }
  return out;
}

const char* const kNextFeedSeqSql =
    "SELECT max(coalesce((SELECT max(seq) FROM feed), 0),"
    " coalesce((SELECT seq FROM seq_floors WHERE stream = 'feed'), 0))";
const char* const kNextNotificationSeqSql =
    "SELECT max(coalesce((SELECT max(seq) FROM notifications), 0),"
    " coalesce((SELECT seq FROM seq_floors WHERE stream = 'notifications'),"
    " 0))";

const char* const kLastMemberNotificationSeqSql =
    "SELECT max(coalesce((SELECT max(member_seq) FROM notifications"
    " WHERE member = ?1), 0), coalesce((SELECT seq FROM seq_floors"
    " WHERE stream = 'notifications_member_purged/' || ?1), 0))";

void FlushFeed(BatchState& b) {
  static const MultiRowSql kSql = MakeMultiRowSql(
      "INSERT INTO feed (seq, type, signal, member, at) VALUES ", 5);
  for (auto& row : b.feed) {
    row.seq = NextRowid(b, b.next_feed_seq, kNextFeedSeqSql);
    if (row.seq < 0) break;
  }
  InsertRows(b, kSql, b.feed, 5,
             [&](Statement& s, int p, const BatchState::FeedRow& row) {
               s.Bind(p, row.seq)
                   .Bind(p + 1, static_cast<std::int64_t>(row.type))
                   .Bind(p + 2, row.signal)
                   .Bind(p + 3, row.member)
                   .Bind(p + 4, b.now);
             });
  b.feed.clear();
}

void FlushSignals(BatchState& b) {
  static const MultiRowSql kSql = MakeMultiRowSql(
      "INSERT INTO signals (id, signal_id, kind, scheme, epoch, token,"
      " category, severity, banned_at, expires_at, attribution, member,"
      " ref, status, created_at, updated_at) VALUES ",
      16);
  InsertRows(b, kSql, b.signals, 16,
             [&](Statement& s, int p, const BatchState::SignalRow& row) {
               const IndexEntry& e = row.entry;
               // The rows outlive the statement (cleared after InsertRows).
               s.Bind(p, row.rowid)
                   .BindUnowned(p + 1, row.signal_id)
                   .Bind(p + 2, std::int64_t{row.key.kind})
                   .Bind(p + 3, static_cast<std::int64_t>(row.key.scheme))
                   .Bind(p + 4, std::int64_t{row.key.epoch})
                   .BindBlobUnowned(p + 5, row.key.token)
                   .Bind(p + 6, static_cast<std::int64_t>(e.category))
                   .Bind(p + 7, static_cast<std::int64_t>(e.severity))
                   .Bind(p + 8, e.banned_at)
                   .Bind(p + 9, e.expires_at)
                   .Bind(p + 10, std::int64_t{e.attribution ? 1 : 0})
                   .Bind(p + 11, e.member)
                   .Bind(p + 13, std::int64_t{0})
                   .Bind(p + 14, b.now)
                   .Bind(p + 15, b.now);
               if (row.ref.empty()) {
                 s.BindNull(p + 12);
               } else {
                 s.BindUnowned(p + 12, row.ref);
               }
             });
  b.signals.clear();
}

void FlushMatches(BatchState& b) {
  static const MultiRowSql kMatchSql = MakeMultiRowSql(
      "INSERT INTO matches (id, match_id, member, created_at) VALUES ", 4);
  // In match order, so these append (recent_match_signals.h).
  static const MultiRowSql kSignalSql = MakeMultiRowSql(
      "INSERT OR IGNORE INTO match_signals_recent (match, signal) VALUES ", 2);
  InsertRows(b, kMatchSql, b.matches, 4,
             [&](Statement& s, int p, const BatchState::MatchRow& row) {
               s.Bind(p, row.rowid)
                   .BindUnowned(p + 1, row.match_id)
                   .Bind(p + 2, row.member)
                   .Bind(p + 3, b.now);
             });
  InsertRows(b, kSignalSql, b.match_signals, 2,
             [](Statement& s, int p, const BatchState::MatchSignalRow& row) {
               s.Bind(p, row.match).Bind(p + 1, row.signal);
             });
  for (const BatchState::MatchSignalRow& row : b.match_signals) {
    b.recent.added.push_back(row.signal);
  }
  b.matches.clear();
  b.match_signals.clear();
}

}  // namespace cairn::server::store_internal
