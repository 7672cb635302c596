// StoreWrites: signals expiring, and purges of what the retention
// periods no longer keep.
#include <sqlite3.h>

#include <algorithm>
#include <optional>
#include <string_view>
#include <vector>

#include "cairn/json_object.h"
#include "cairn/timestamp.h"
#include "server/src/store/batch_statements.h"
#include "server/src/store/index_keys.h"
#include "server/src/store/store_time.h"
#include "server/src/store/store_writes.h"

namespace cairn::server::store_internal {

std::optional<std::int64_t> StoreWrites::DeletionTime(
    const BatchState& b) const {
  if (!options_.deletion_clock) return b.now;
  const auto at = options_.deletion_clock();
  if (!at) return std::nullopt;
  return std::min(ToUnix(*at), b.now);
}

Result<ExpireOutcome> StoreWrites::Expire(BatchState& b, std::int64_t at) {
  std::vector<std::pair<Departure, std::uint32_t>> due;
  {
    std::optional<Statement> slot;
    Statement* s = Prep(b, slot,
                        "SELECT id, kind, scheme, epoch, token, member"
                        " FROM signals WHERE status = 0 AND expires_at <= ?1");
    if (s == nullptr) return tl::unexpected(*b.fatal);
    s->Bind(1, at);
    while (true) {
      auto row = s->Step();
      if (!row) return tl::unexpected(b.Fail(row.error()));
      if (!*row) break;
      Departure d;
      d.rowid = s->Int(0);
      d.key = ReadIndexKey(*s, 1);
      due.emplace_back(d, static_cast<std::uint32_t>(s->Int(5)));
    }
  }
  std::vector<Departure> departed;
  for (const auto& [d, member] : due) {
    if (!Depart(b, d, member, kStatusExpired, std::nullopt, {})) {
      return tl::unexpected(*b.fatal);
    }
    departed.push_back(d);
  }
  if (!NotifyMatches(b, departed, FeedEventType::kExpired, std::nullopt)) {
    return tl::unexpected(*b.fatal);
  }
  if (!departed.empty()) {
    Audit(b, HubContext(), "expire",
          JsonObjectWriter()
              .Add("signals", std::uint64_t{departed.size()})
              .Finish());
  }
  return ExpireOutcome{.expired = departed.size()};
}

// Runs `sql` with those of ?1..?5 it uses bound to the purge cutoffs
// (tombstone, match, disposition, notification, idempotency); returns the
// count it selects, or the number of rows it deleted.
std::optional<std::uint64_t> StoreWrites::PurgeStep(
    BatchState& b, const char* sql, const std::int64_t (&cut)[5], bool count) {
  std::optional<Statement> slot;
  Statement* st = Prep(b, slot, sql);
  if (st == nullptr) return std::nullopt;
  for (int i = 0; i < 5; ++i) {
    const char placeholder[] = {'?', static_cast<char>('1' + i)};
    if (std::string_view(sql).find(std::string_view(placeholder, 2)) !=
        std::string_view::npos) {
      st->Bind(i + 1, cut[i]);
    }
  }
  auto row = st->Step();
  if (!row) {
    b.Fail(row.error());
    return std::nullopt;
  }
  if (count) return static_cast<std::uint64_t>(st->Int(0));
  return static_cast<std::uint64_t>(sqlite3_changes(b.db.handle()));
}

Result<PurgeOutcome> StoreWrites::Purge(BatchState& b, const PurgeCommand& c,
                                        std::int64_t at) {
  const std::int64_t cut[5] = {at - options_.tombstone_period.count(),
                               at - options_.match_retention.count(),
                               at - options_.disposition_retention.count(),
                               at - options_.notification_retention.count(),
                               at - options_.idempotency_window.count()};
  PurgeOutcome out;
  out.dry_run = c.dry_run;
  struct Step {
    const char* count_sql;
    const char* delete_sql;  // nullptr: deleted by an earlier step
    std::uint64_t* total;
  };
  // Order matters for the deletes: rows that point at a signal or a match
  // go before it, so nothing is left dangling.
  const Step steps[] = {
      {"SELECT count(*) FROM feed WHERE signal IN (SELECT id FROM signals"
       " WHERE status != 0 AND updated_at <= ?1)",
       "DELETE FROM feed WHERE signal IN (SELECT id FROM signals"
       " WHERE status != 0 AND updated_at <= ?1)",
       &out.feed_events},
      {"SELECT 0",
       "DELETE FROM retractions WHERE signal IN (SELECT id FROM signals"
       " WHERE status != 0 AND updated_at <= ?1)",
       nullptr},
      {"SELECT 0",
       "DELETE FROM match_signals WHERE signal IN (SELECT id FROM signals"
       " WHERE status != 0 AND updated_at <= ?1)",
       nullptr},
      {"SELECT count(*) FROM signals WHERE status != 0 AND updated_at <= ?1",
       "DELETE FROM signals WHERE status != 0 AND updated_at <= ?1",
       &out.signals},
      {"SELECT count(*) FROM dispositions WHERE recorded_at <= ?3 OR match"
       " IN (SELECT id FROM matches WHERE created_at <= ?2)",
       "DELETE FROM dispositions WHERE recorded_at <= ?3 OR match"
       " IN (SELECT id FROM matches WHERE created_at <= ?2)",
       &out.dispositions},
      {"SELECT count(*) FROM notifications WHERE at <= ?4 OR match"
       " IN (SELECT id FROM matches WHERE created_at <= ?2)",
       "DELETE FROM notifications WHERE at <= ?4 OR match"
       " IN (SELECT id FROM matches WHERE created_at <= ?2)",
       &out.notifications},
      {"SELECT 0",
       "DELETE FROM match_signals WHERE match"
       " IN (SELECT id FROM matches WHERE created_at <= ?2)",
       nullptr},
      // A departed signal's rows were settled when it departed, but an
      // old match can still wait in match_signals_recent.
      {"SELECT 0",
       "DELETE FROM match_signals_recent WHERE match"
       " IN (SELECT id FROM matches WHERE created_at <= ?2)",
       nullptr},
      {"SELECT count(*) FROM matches WHERE created_at <= ?2",
       "DELETE FROM matches WHERE created_at <= ?2", &out.matches},
      {"SELECT count(*) FROM idempotency WHERE created_at <= ?5",
       "DELETE FROM idempotency WHERE created_at <= ?5", &out.idempotency_keys},
  };
  // Before the newest feed events or notifications can go, remember the
  // highest seq each stream has issued (see seq_floors).
  if (!c.dry_run) {
    for (const char* sql :
         {"INSERT INTO seq_floors (stream, seq) SELECT 'feed', m"
          " FROM (SELECT max(seq) AS m FROM feed) WHERE m IS NOT NULL"
          " ON CONFLICT (stream) DO UPDATE SET seq = max(seq, excluded.seq)",
          "INSERT INTO seq_floors (stream, seq) SELECT 'notifications', m"
          " FROM (SELECT max(seq) AS m FROM notifications) WHERE m IS NOT NULL"
          " ON CONFLICT (stream) DO UPDATE SET seq = max(seq, excluded.seq)"}) {
      if (!Run(b, sql, [](Statement&) {})) return tl::unexpected(*b.fatal);
    }
    // And what this purge deletes from each stream, so that a reader whose
    // cursor lies below it is told it missed events instead of silently
    // resuming past them (a mirror keeping a ban whose retraction went).
    // ?1 and ?2: the rows the steps below delete; ?3: the stream name.
    const bool recorded =
        Run(b,
            "INSERT INTO seq_floors (stream, seq) SELECT ?3, m FROM (SELECT"
            " max(seq) AS m FROM feed WHERE signal IN (SELECT id FROM"
            " signals WHERE status != 0 AND updated_at <= ?1))"
            " WHERE m IS NOT NULL"
            " ON CONFLICT (stream) DO UPDATE SET seq = max(seq, excluded.seq)",
            [&](Statement& st) {
              st.Bind(1, cut[0]).Bind(3, kFeedPurgedStream);
            }) &&
        Run(b,
            "INSERT INTO seq_floors (stream, seq) SELECT ?3, 1 FROM (SELECT"
            " 1 FROM feed WHERE signal IN (SELECT id FROM signals"
            " WHERE status != 0 AND updated_at <= ?1) LIMIT 1) WHERE true"
            " ON CONFLICT (stream) DO UPDATE SET seq = seq + 1",
            [&](Statement& st) {
              st.Bind(1, cut[0]).Bind(3, kFeedPurgesStream);
            }) &&
        Run(b,
            "INSERT INTO seq_floors (stream, seq) SELECT ?3 || member,"
            " max(seq) FROM notifications WHERE at <= ?1 OR match IN"
            " (SELECT id FROM matches WHERE created_at <= ?2) GROUP BY member"
            " ON CONFLICT (stream) DO UPDATE SET seq = max(seq, excluded.seq)",
            [&](Statement& st) {
              st.Bind(1, cut[3]).Bind(2, cut[1]).Bind(
                  3, kNotificationsPurgedStream);
            }) &&
        // The same in the member's own numbering, which the cursors this
        // cairnd hands out count in (the hub-wide floor above still judges
        // cursors older cairnds handed out).
        Run(b,
            "INSERT INTO seq_floors (stream, seq) SELECT ?3 || member,"
            " max(member_seq) FROM notifications WHERE at <= ?1 OR match IN"
            " (SELECT id FROM matches WHERE created_at <= ?2) GROUP BY member"
            " ON CONFLICT (stream) DO UPDATE SET seq = max(seq, excluded.seq)",
            [&](Statement& st) {
              st.Bind(1, cut[3]).Bind(2, cut[1]).Bind(
                  3, kNotificationsMemberPurgedStream);
            }) &&
        Run(b,
            "INSERT INTO seq_floors (stream, seq) SELECT ?3 || member, 1"
            " FROM notifications WHERE at <= ?1 OR match IN (SELECT id FROM"
            " matches WHERE created_at <= ?2) GROUP BY member"
            " ON CONFLICT (stream) DO UPDATE SET seq = seq + 1",
            [&](Statement& st) {
              st.Bind(1, cut[3]).Bind(2, cut[1]).Bind(
                  3, kNotificationsPurgesStream);
            });
    if (!recorded) return tl::unexpected(*b.fatal);
  }
  for (const Step& step : steps) {
    if (c.dry_run && step.total == nullptr) continue;
    auto n = PurgeStep(b, c.dry_run ? step.count_sql : step.delete_sql, cut,
                       c.dry_run);
    if (!n) return tl::unexpected(*b.fatal);
    if (step.total != nullptr) *step.total = *n;
  }
  if (!c.dry_run && (out.Total() > 0 || c.context.actor != "hub")) {
    Audit(b, c.context, "purge",
          JsonObjectWriter()
              .Add("signals", out.signals)
              .Add("feed_events", out.feed_events)
              .Add("matches", out.matches)
              .Add("dispositions", out.dispositions)
              .Add("notifications", out.notifications)
              .Add("idempotency_keys", out.idempotency_keys)
              // Retracted and expired signals that departed at or before
              // this time are gone: the reports read it to warn about
              // periods whose figures the purge lowered.
              .Add("tombstone_cutoff", FormatTimestamp(FromUnix(cut[0])))
              // And the matches made, dispositions recorded and
              // notifications sent at or before these (their retention
              // periods): the reports warn about those figures too.
              .Add("match_cutoff", FormatTimestamp(FromUnix(cut[1])))
              .Add("disposition_cutoff", FormatTimestamp(FromUnix(cut[2])))
              .Add("notification_cutoff", FormatTimestamp(FromUnix(cut[3])))
              .Finish());
  }
  return out;
}

}  // namespace cairn::server::store_internal
