// Retention: Purge deletes (or with dry_run counts) what outlived the
// tombstone period and the match, disposition and notification retention,
// with an injected clock; purges are audited.
#include <catch2/catch.hpp>

#include "audit_test_util.h"
#include "cairn/timestamp.h"
#include "server/src/audit/audit_verify.h"
#include "store_test_util.h"

namespace cairn::server {
namespace {

using std::chrono::days;
using testing::KeyOf;
using testing::QueryInt64;
using testing::ReadAuditLog;
using testing::Signal;
using testing::StoreFixture;

// Distinct periods so each purge step can be told apart.
SqliteStoreOptions RetentionOptions(StoreFixture& f) {
  SqliteStoreOptions o = f.Options();
  o.tombstone_period = days(30);
  o.notification_retention = days(45);
  o.match_retention = days(60);
  o.disposition_retention = days(90);
  return o;
}

class RetentionFixture : public StoreFixture {
 public:
  RetentionFixture() {
    auto opened = OpenSqliteStore(RetentionOptions(*this));
    store_ptr().reset();
    REQUIRE(opened.has_value());
    store_ptr() = std::move(*opened);
  }
  PurgeOutcome Purge(bool dry_run, std::string actor = "hub") {
    PurgeCommand c;
    c.context.actor = std::move(actor);
    c.dry_run = dry_run;
    auto r = store().PurgeAndWait(c);
    REQUIRE(r.has_value());
    CHECK(r->dry_run == dry_run);
    return *r;
  }
  std::int64_t Count(const std::string& table) {
    return QueryInt64(dir.path() / "hub.db", "SELECT count(*) FROM " + table);
  }
};

std::vector<std::uint64_t> Counts(const PurgeOutcome& o) {
  return {o.signals,      o.feed_events,   o.matches,
          o.dispositions, o.notifications, o.idempotency_keys};
}

TEST_CASE("a purged match takes its rows in match_signals_recent along") {
  // A match nobody retracted keeps its supporting signals in
  // match_signals_recent until enough others arrive; its retention still
  // applies there.
  RetentionFixture f;
  Store& s = f.store();
  REQUIRE(testing::SubmitOne(s, "beta", Signal(3)).has_value());
  REQUIRE(testing::QueryTokens(s, "alpha", {3})->matches.size() == 1);
  CHECK(f.Count("match_signals_recent") == 1);
  f.clock.Advance(days(61));
  CHECK(f.Purge(/*dry_run=*/false).matches == 1);
  CHECK(f.Count("matches") == 0);
  CHECK(f.Count("match_signals_recent") == 0);
  CHECK(f.Count("match_signals") == 0);
  // The signal still matches, as a new match.
  CHECK(testing::QueryTokens(s, "alpha", {3})->matches.size() == 1);
  CHECK(f.Count("match_signals_recent") == 1);
}

TEST_CASE(
    "purge removes each kind of row after its own retention, and a "
    "dry run only counts") {
  RetentionFixture f;
  Store& s = f.store();
  // beta: token 1 (to be retracted), token 2 (expires in a day), token 3
  // (stays). alpha matches token 1 and disposes of the match.
  SubmitCommand submit;
  submit.member_id = "beta";
  submit.idempotency_key = "batch-1";
  SignalSubmission brief = Signal(2);
  brief.expires_at = f.clock.Now() + days(1);
  submit.items = {Signal(1), brief, Signal(3)};
  REQUIRE(s.SubmitAndWait(submit).has_value());
  auto q = testing::QueryTokens(s, "alpha", {1});
  REQUIRE(q->matches.size() == 1);
  const std::string match_id = q->matches[0].match_id;
  DisposeCommand d;
  d.member_id = "alpha";
  d.match_id = match_id;
  REQUIRE(s.DisposeAndWait(d).has_value());
  RetractCommand r;
  r.member_id = "beta";
  RetractionItem item;
  item.key = KeyOf(1);
  r.items = {item};
  REQUIRE(s.RetractAndWait(r).has_value());  // notifies alpha
  f.clock.Advance(days(2));
  REQUIRE(s.ExpireDueAndWait()->expired == 1);  // token 2, day 2

  struct Step {
    int day;                              // since the start
    std::vector<std::uint64_t> expected;  // Counts() order
  };
  // signals, feed events, matches, dispositions, notifications, idempotency
  const Step steps[] = {
      {10, {0, 0, 0, 0, 0, 1}},   // idempotency window (24 h) passed
      {31, {1, 2, 0, 0, 0, 0}},   // token 1: retracted day 0 + 30
      {33, {1, 2, 0, 0, 0, 0}},   // token 2: expired day 2 + 30
      {46, {0, 0, 0, 0, 1, 0}},   // notification: day 0 + 45
      {61, {0, 0, 1, 1, 0, 0}},   // match (and its disposition): day 0 + 60
      {120, {0, 0, 0, 0, 0, 0}},  // nothing left
  };
  int today = 2;
  for (const Step& step : steps) {
    CAPTURE(step.day);
    f.clock.Advance(days(step.day - today));
    today = step.day;
    CHECK(Counts(f.Purge(/*dry_run=*/true)) == step.expected);
    CHECK(Counts(f.Purge(/*dry_run=*/false)) == step.expected);
    CHECK(Counts(f.Purge(/*dry_run=*/true)) ==
          std::vector<std::uint64_t>(6, 0));
  }
  // The active signal, its feed event and the audit log stay.
  CHECK(f.Count("signals") == 1);
  CHECK(f.Count("feed") == 1);
  CHECK(f.Count("match_signals") == 0);
  CHECK(f.Count("match_signals_recent") == 0);
  CHECK(f.Count("retractions") == 0);
  CHECK(s.Feed("gamma", 0, 100)->events.size() == 1);
  CHECK(testing::QueryTokens(s, "alpha", {3})->matches.size() == 1);
  d.match_id = match_id;
  auto gone = s.DisposeAndWait(d);
  REQUIRE_FALSE(gone.has_value());
  CHECK(gone.error().code == ErrorCode::kNotFound);

  // Only purges that deleted something are audited (the hub sweeps hourly).
  std::vector<std::string> purges;
  for (const auto& row : ReadAuditLog(f.dir.path() / "hub.db")) {
    if (row.action == "purge") purges.push_back(row.details);
  }
  REQUIRE(purges.size() == 5);
  // Day 31: each cut-off is the day less its retention period.
  const auto day = [](int n) {
    return "\"" +
           FormatTimestamp(sys_seconds{std::chrono::seconds{testing::kStart}} +
                           days(n)) +
           "\"";
  };
  CHECK(purges[1] ==
        "{\"signals\":1,\"feed_events\":2,\"matches\":0,\"dispositions\":0,"
        "\"notifications\":0,\"idempotency_keys\":0,"
        "\"tombstone_cutoff\":" +
            day(31 - 30) + ",\"match_cutoff\":" + day(31 - 60) +
            ",\"disposition_cutoff\":" + day(31 - 90) +
            ",\"notification_cutoff\":" + day(31 - 45) + "}");
  CHECK(VerifyAuditLog(f.dir.path() / "hub.db", {})->intact);
}

TEST_CASE(
    "feed and notification seqs are never issued twice, even after a purge "
    "removed the newest ones") {
  RetentionFixture f;
  Store& s = f.store();
  // beta bans token 1, alpha matches it, beta retracts it: two feed events
  // and one notification, all of which the purge below removes.
  REQUIRE(testing::SubmitOne(s, "beta", Signal(1)).has_value());
  REQUIRE(testing::QueryTokens(s, "alpha", {1})->matches.size() == 1);
  RetractCommand r;
  r.member_id = "beta";
  RetractionItem item;
  item.key = KeyOf(1);
  r.items = {item};
  REQUIRE(s.RetractAndWait(r).has_value());
  auto feed = s.Feed("gamma", 0, 100);
  REQUIRE(feed.has_value());
  REQUIRE(feed->events.size() == 2);
  const std::uint64_t feed_cursor = feed->cursor;
  auto notes = s.Notifications("alpha", 0, 100);
  REQUIRE(notes.has_value());
  REQUIRE(notes->notifications.size() == 1);
  const StreamCursor notes_cursor = notes->next();

  f.clock.Advance(days(46));  // past the tombstone and notification periods
  const PurgeOutcome purged = f.Purge(/*dry_run=*/false);
  CHECK(purged.feed_events == 2);
  CHECK(purged.notifications == 1);
  CHECK(f.Count("feed") == 0);
  CHECK(f.Count("notifications") == 0);

  // A reader that was up to date sees what comes next, across a restart.
  f.Reopen();
  Store& reopened = f.store();
  REQUIRE(testing::SubmitOne(reopened, "beta", Signal(2)).has_value());
  auto next = reopened.Feed("gamma", feed_cursor, 100);
  REQUIRE(next.has_value());
  REQUIRE(next->events.size() == 1);
  CHECK(next->events[0].seq > feed_cursor);

  REQUIRE(testing::QueryTokens(reopened, "alpha", {2})->matches.size() == 1);
  item.key = KeyOf(2);
  r.items = {item};
  REQUIRE(reopened.RetractAndWait(r).has_value());
  auto next_notes = reopened.Notifications("alpha", notes_cursor, 100);
  REQUIRE(next_notes.has_value());
  REQUIRE(next_notes->notifications.size() == 1);
  CHECK(next_notes->notifications[0].seq > notes_cursor.seq);
}

TEST_CASE("an operator's purge is audited even when nothing was due") {
  RetentionFixture f;
  const auto before = ReadAuditLog(f.dir.path() / "hub.db").size();
  f.Purge(/*dry_run=*/true, "cairnctl");
  CHECK(ReadAuditLog(f.dir.path() / "hub.db").size() == before);
  f.Purge(/*dry_run=*/false, "cairnctl");
  const auto rows = ReadAuditLog(f.dir.path() / "hub.db");
  REQUIRE(rows.size() == before + 1);
  CHECK(rows.back().action == "purge");
  CHECK(rows.back().actor == "cairnctl");
}

TEST_CASE("a signal still active is never purged, however old") {
  RetentionFixture f;
  SignalSubmission old = Signal(5);
  REQUIRE(testing::SubmitOne(f.store(), "beta", old).has_value());
  f.clock.Advance(days(700));  // within the 730-day default retention
  CHECK(f.Purge(false).signals == 0);
  CHECK(testing::QueryTokens(f.store(), "alpha", {5})->matches.size() == 1);
}

}  // namespace
}  // namespace cairn::server
