// StoreWrites: recording matches, members' dispositions of them, and the
// OPRF quota members use.
#include <algorithm>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "cairn/json_object.h"
#include "server/src/store/batch_statements.h"
#include "server/src/store/index_keys.h"
#include "server/src/store/store_errors.h"
#include "server/src/store/store_time.h"
#include "server/src/store/store_writes.h"
#include "server/src/store/submit_records.h"

namespace cairn::server::store_internal {

Result<QueryOutcome> StoreWrites::RecordMatches(
    BatchState& b, const CommandContext& ctx, std::string_view member_id,
    std::size_t queried,
    const std::vector<std::pair<std::size_t, TokenKey>>& hits,
    const std::vector<ReusedMatch>& reused, std::string_view idempotency_key,
    const Sha256Digest& digest) {
  auto dir = Members(b);
  if (!dir) return tl::unexpected(*b.fatal);
  auto standing =
      CheckStanding(*dir, member_id, ctx.fingerprint, Role::kMember);
  if (!standing) return tl::unexpected(standing.error());
  const std::uint32_t member = (*standing)->number;
  bool keep = !idempotency_key.empty();
  if (keep) {
    // A retry of a query whose answer was lost: the matches it recorded,
    // not new ones the member would hold twice (and be notified about).
    auto stored = IdempotencyRecord(b, member, idempotency_key, digest);
    if (!stored) {
      if (b.fatal || stored.error().code != ErrorCode::kConflict) {
        return tl::unexpected(stored.error());
      }
      // The key names another request of this member's (a submit, or a
      // query that matched other items). No 409: only a query with a new
      // hit reads its key, so a 409 would tell the member that one of its
      // tokens matches without a match being recorded. It is answered as
      // a new query, and the key keeps the other request's record.
      keep = false;
    } else if (*stored) {
      auto matches = DecodeQueryRecord(**stored);
      if (!matches) return tl::unexpected(matches.error());
      QueryOutcome replay;
      replay.queried = queried;
      replay.matches = std::move(*matches);
      replay.replayed = true;
      Audit(b, ctx, "query",
            QueryAuditDetails(queried, replay.matches, /*replayed=*/true));
      return replay;
    }
  }
  // Other members' live signals on `key` as of this point of the batch,
  // ascending by rowid. The query looked them up before the commands ahead
  // of it in the batch ran: looking again honours a retraction queued
  // before it, so every match it answers with has live signals.
  const auto support_of = [&](const IndexKey& key) {
    std::vector<IndexEntry> support;
    for (const IndexEntry& e : BatchLookup(b, key, b.now)) {
      if (e.member != member) support.push_back(e);
    }
    std::sort(support.begin(), support.end(),
              [](const IndexEntry& x, const IndexEntry& y) {
                return x.rowid < y.rowid;
              });
    return support;
  };
  QueryOutcome outcome;
  outcome.queried = queried;
  for (const auto& [index, token_key] : hits) {
    auto key = ToIndexKey(options_, *dir, token_key);
    if (!key) continue;
    auto support = support_of(*key);
    if (support.empty()) continue;
    auto m = NewMatch(b, *dir, member, index, token_key.kind, *key,
                      std::move(support));
    if (!m) return tl::unexpected(m.error());
    outcome.matches.push_back(std::move(*m));
  }
  for (const ReusedMatch& r : reused) {
    auto support = support_of(r.key);
    if (support == r.support) {
      outcome.matches.push_back(r.match);
      continue;
    }
    // Changed earlier in this batch (a retraction, an update, another
    // member's ban): the reused match would describe signals that are gone,
    // and its retraction notice may already be in this commit. A new hit.
    if (support.empty()) continue;
    auto m = NewMatch(b, *dir, member, r.match.index, dir->KindName(r.key.kind),
                      r.key, std::move(support));
    if (!m) return tl::unexpected(m.error());
    outcome.matches.push_back(std::move(*m));
  }
  if (!reused.empty()) {
    std::sort(outcome.matches.begin(), outcome.matches.end(),
              [](const MatchResult& x, const MatchResult& y) {
                return x.index < y.index;
              });
  }
  if (keep && !outcome.matches.empty() &&
      !KeepIdempotencyRecord(
          b, member, idempotency_key, digest,
          EncodeQueryRecord(ctx.request_id, queried, outcome.matches))) {
    return tl::unexpected(*b.fatal);
  }
  Audit(b, ctx, "query", QueryAuditDetails(queried, outcome.matches));
  return outcome;
}

Result<MatchResult> StoreWrites::NewMatch(BatchState& b, const Directory& dir,
                                          std::uint32_t member,
                                          std::size_t index,
                                          const std::string& kind,
                                          const IndexKey& key,
                                          std::vector<IndexEntry> support) {
  MatchResult m;
  m.index = index;
  m.match_id = match_ids_.Next("m_");
  m.kinds = {kind};
  std::set<Category> categories;
  std::set<std::uint32_t> platforms;
  std::set<std::string> attributed;
  std::int64_t first = std::numeric_limits<std::int64_t>::max();
  std::int64_t last = std::numeric_limits<std::int64_t>::min();
  Severity max_severity = Severity::kLow;
  for (const IndexEntry& e : support) {
    categories.insert(e.category);
    platforms.insert(e.member);
    if (e.attribution) attributed.insert(dir.MemberIdOf(e.member));
    first = std::min(first, e.banned_at);
    last = std::max(last, e.banned_at);
    max_severity = std::max(max_severity, e.severity);
  }
  m.categories.assign(categories.begin(), categories.end());
  m.platforms = static_cast<std::uint32_t>(platforms.size());
  m.attributed_to.assign(attributed.begin(), attributed.end());
  m.first_banned_at = FromUnix(first);
  m.last_banned_at = FromUnix(last);
  m.max_severity = max_severity;
  const std::int64_t match_row = NextRowid(
      b, b.next_match_rowid, "SELECT coalesce(max(id), 0) FROM matches");
  if (match_row < 0) return tl::unexpected(*b.fatal);
  b.matches.push_back({match_row, m.match_id, member});
  for (const IndexEntry& e : support) {
    b.match_signals.push_back({e.rowid, match_row});
  }
  if (record_reusable_) {
    b.reusable.push_back({member, key, std::move(support), m});
  }
  return m;
}

Result<DispositionRecord> StoreWrites::Dispose(BatchState& b,
                                               const DisposeCommand& c) {
  auto dir = Members(b);
  if (!dir) return tl::unexpected(*b.fatal);
  auto standing =
      CheckStanding(*dir, c.member_id, c.context.fingerprint, Role::kMember);
  if (!standing) return tl::unexpected(standing.error());
  const Directory::Member* me = *standing;
  std::int64_t match_row = 0;
  {
    std::optional<Statement> slot;
    Statement* s =
        Prep(b, slot, "SELECT id, member FROM matches WHERE match_id = ?1");
    if (s == nullptr) return tl::unexpected(*b.fatal);
    s->Bind(1, c.match_id);
    auto row = s->Step();
    if (!row) return tl::unexpected(b.Fail(row.error()));
    if (!*row || s->Int(1) != me->number) {
      return MakeError(ErrorCode::kNotFound,
                       "no match '" + c.match_id +
                           "' was made by your queries; use a match_id "
                           "from one of your query responses",
                       "match_id");
    }
    match_row = s->Int(0);
  }
  // notified_seq: the newest notification about this match when the
  // review was recorded, so that reports can tell whether a review came
  // after a retraction even within the same second.
  if (!Run(b,
           "INSERT INTO dispositions (match, member, outcome, note,"
           " recorded_at, notified_seq) VALUES (?1, ?2, ?3, ?4, ?5,"
           " (SELECT coalesce(max(seq), 0) FROM notifications"
           " WHERE match = ?1))",
           [&](Statement& s) {
             s.Bind(1, match_row)
                 .Bind(2, me->number)
                 .Bind(3, static_cast<std::int64_t>(c.outcome))
                 .Bind(4, c.note)
                 .Bind(5, b.now);
           })) {
    return tl::unexpected(*b.fatal);
  }
  Audit(b, c.context, "disposition",
        JsonObjectWriter()
            .Add("match_id", c.match_id)
            .Add("outcome", ToString(c.outcome))
            .Finish());
  return DispositionRecord{c.match_id, c.outcome, c.note, FromUnix(b.now)};
}

Status StoreWrites::RecordOprfUsage(BatchState& b, const OprfUsage& u) {
  auto dir = Members(b);
  if (!dir) return tl::unexpected(*b.fatal);
  const Directory::Member* me = dir->FindMember(u.member_id);
  if (me == nullptr) return UnknownMember(u.member_id);
  if (!Run(b, "DELETE FROM oprf_usage WHERE member = ?1 AND day < ?2",
           [&](Statement& s) { s.Bind(1, me->number).Bind(2, u.day); }) ||
      !Run(b,
           "INSERT INTO oprf_usage (member, day, elements)"
           " VALUES (?1, ?2, ?3) ON CONFLICT (member, day)"
           " DO UPDATE SET elements = elements + excluded.elements",
           [&](Statement& s) {
             s.Bind(1, me->number)
                 .Bind(2, u.day)
                 .Bind(3, static_cast<std::int64_t>(u.elements));
           })) {
    return tl::unexpected(*b.fatal);
  }
  return {};
}

}  // namespace cairn::server::store_internal
