// Purges under readers: a feed or notification reader whose cursor lies
// below events a purge deleted is told so (kCursorExpired) instead of
// resuming past what it missed; a rebuild from 0 pages through to the end;
// and match reuse never hands out a match the purge deleted.
#include <map>
#include <optional>
#include <set>
#include <vector>

#include <catch2/catch.hpp>

#include "store_test_util.h"

namespace cairn::server {
namespace {

using std::chrono::days;
using testing::KeyOf;
using testing::QueryInt64;
using testing::QueryTokens;
using testing::Signal;
using testing::StoreFixture;
using testing::SubmitOne;
using testing::TokenOf;

// Distinct periods, so that each purge can be told apart.
void Retention(SqliteStoreOptions& o) {
  o.tombstone_period = days(30);
  o.notification_retention = days(45);
  o.match_retention = days(60);
}

void Create(Store& s, const std::string& member, int token) {
  auto r = SubmitOne(s, member, Signal(token));
  REQUIRE(r.has_value());
  REQUIRE(r->results.at(0).status == SubmitStatus::kCreated);
}

// An appeal upheld: the ban was wrong.
void Retract(Store& s, const std::string& member, int token) {
  RetractCommand c;
  c.member_id = member;
  c.items.resize(1);
  c.items[0].key = KeyOf(token);
  c.items[0].reason = RetractReason::kAppealUpheld;
  REQUIRE(s.RetractAndWait(c).has_value());
}

PurgeOutcome Purge(Store& s) {
  auto r = s.PurgeAndWait(PurgeCommand{});
  REQUIRE(r.has_value());
  return *r;
}

// The first token byte of each signal a mirror holds, by signal id.
using Mirror = std::map<std::string, int>;

void Apply(const FeedEvent& e, Mirror& mirror) {
  if (e.type == FeedEventType::kAdded) {
    mirror[e.signal_id] = e.key.token[0];
  } else {
    mirror.erase(e.signal_id);
  }
}

std::set<int> Tokens(const Mirror& mirror) {
  std::set<int> out;
  for (const auto& [id, token] : mirror) out.insert(token);
  return out;
}

int TokenByte(int n) { return TokenOf(n)[0]; }

TEST_CASE(
    "a feed reader further behind than the tombstone period is refused, not "
    "silently moved past a retraction") {
  StoreFixture f;
  f.ReopenWith(Retention);
  Store& s = f.store();
  Create(s, "alpha", 1);
  Create(s, "alpha", 2);
  Mirror beta;
  auto first = s.Feed("beta", 0, 100);
  REQUIRE(first.has_value());
  REQUIRE(first->events.size() == 2);
  for (const auto& e : first->events) Apply(e, beta);
  const std::uint64_t stale = first->cursor;
  REQUIRE(stale == 2);

  // alpha's ban of token 1 is overturned while beta's mirror is offline;
  // gamma's mirror sees it.
  Retract(s, "alpha", 1);
  auto gamma = s.Feed("gamma", 0, 100);
  REQUIRE(gamma.has_value());
  REQUIRE(gamma->events.size() == 3);
  const std::uint64_t up_to_date = gamma->cursor;

  f.clock.Advance(days(31));
  REQUIRE(Purge(s).feed_events == 2);  // token 1: added and retracted

  for (int restart = 0; restart < 2; ++restart) {
    CAPTURE(restart);
    if (restart == 1) f.Reopen();  // the floor is kept in the database
    auto refused = f.store().Feed("beta", stale, 100);
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().code == ErrorCode::kCursorExpired);
    CHECK(refused.error().field == "after");
    CHECK_THAT(refused.error().message,
               Catch::Contains("cursor 2 is older than the feed events this "
                               "hub still keeps"));
    CHECK_THAT(refused.error().message, Catch::Contains("tombstone_days"));
    CHECK_THAT(refused.error().message, Catch::Contains("after=0"));
  }
  // A reader that saw the retraction goes on.
  auto next = f.store().Feed("gamma", up_to_date, 100);
  REQUIRE(next.has_value());
  CHECK(next->events.empty());

  // Rebuilt from 0, beta's mirror holds what the hub still has.
  beta.clear();
  auto rebuilt = f.store().Feed("beta", 0, 100);
  REQUIRE(rebuilt.has_value());
  for (const auto& e : rebuilt->events) Apply(e, beta);
  CHECK(Tokens(beta) == std::set<int>{TokenByte(2)});
  CHECK_FALSE(rebuilt->more);
  CHECK(rebuilt->cursor == 3);  // the newest seq: past the purged events
  CHECK_FALSE(rebuilt->cursor_purges.has_value());
  auto after_rebuild = f.store().Feed("beta", rebuilt->next(), 100);
  REQUIRE(after_rebuild.has_value());
  CHECK(after_rebuild->events.empty());
}

TEST_CASE(
    "a rebuild from 0 pages through events below a purge, until a later "
    "purge deletes one after its cursor") {
  StoreFixture f;
  f.ReopenWith(Retention);
  Store& s = f.store();
  Create(s, "alpha", 1);   // seq 1
  Create(s, "alpha", 2);   // seq 2
  Create(s, "alpha", 3);   // seq 3
  Retract(s, "alpha", 1);  // seq 4
  f.clock.Advance(days(31));
  REQUIRE(Purge(s).feed_events == 2);  // seqs 1 and 4
  Create(s, "alpha", 4);               // seq 5

  // A cursor from before the purge, below it: refused.
  auto stale = s.Feed("beta", 2, 1);
  REQUIRE_FALSE(stale.has_value());
  CHECK(stale.error().code == ErrorCode::kCursorExpired);

  // The rebuild's own cursors below it are good, one page at a time.
  Mirror beta;
  auto p1 = s.Feed("beta", 0, 1);
  REQUIRE(p1.has_value());
  REQUIRE(p1->events.size() == 1);
  CHECK(p1->events[0].seq == 2);
  CHECK(p1->more);
  CHECK(p1->next() == StreamCursor(2, 1));
  Apply(p1->events[0], beta);
  auto p2 = s.Feed("beta", p1->next(), 1);
  REQUIRE(p2.has_value());
  REQUIRE(p2->events.size() == 1);
  CHECK(p2->events[0].seq == 3);
  CHECK(p2->next() == StreamCursor(3, 1));
  Apply(p2->events[0], beta);  // token 3 is in the mirror now

  // Token 3's ban is overturned and purged before the rebuild goes on: its
  // retraction, after the rebuild's cursor, is gone.
  Retract(s, "alpha", 3);  // seq 6
  f.clock.Advance(days(31));
  REQUIRE(Purge(s).feed_events == 2);
  auto p3 = s.Feed("beta", p2->next(), 1);
  REQUIRE_FALSE(p3.has_value());
  CHECK(p3.error().code == ErrorCode::kCursorExpired);
  CHECK_THAT(p3.error().message,
             Catch::Contains("start that read again from after=0"));

  // Again from 0, to the end.
  beta.clear();
  StreamCursor cursor;
  for (int pages = 0;; ++pages) {
    REQUIRE(pages < 10);
    auto page = s.Feed("beta", cursor, 1);
    REQUIRE(page.has_value());
    for (const auto& e : page->events) Apply(e, beta);
    cursor = page->next();
    if (!page->more) break;
  }
  CHECK(Tokens(beta) == std::set<int>{TokenByte(2), TokenByte(4)});
  CHECK(cursor == StreamCursor(6));

  // A cursor with a purge count this database never reached is not its;
  // the refusal quotes it as sent, and does not call it past the head.
  auto foreign = s.Feed("beta", StreamCursor(3, 7), 1);
  REQUIRE_FALSE(foreign.has_value());
  CHECK(foreign.error().code == ErrorCode::kInvalidArgument);
  CHECK(foreign.error().field == "after");
  CAPTURE(foreign.error().message);
  CHECK_THAT(foreign.error().message,
             Catch::Contains("cursor 3p7 was handed out after 7 purge(s) had "
                             "deleted feed events, but this hub's purges "
                             "have done so 2 time(s)") &&
                 Catch::Contains("restored from an older backup") &&
                 Catch::Contains("after=0") &&
                 !Catch::Contains("past the newest"));
  // Past the head: said so, with the cursor as sent.
  auto ahead = s.Feed("beta", StreamCursor(9, 1), 1);
  REQUIRE_FALSE(ahead.has_value());
  CHECK(ahead.error().code == ErrorCode::kInvalidArgument);
  CHECK_THAT(ahead.error().message,
             Catch::Contains("cursor 9p1 is past the newest feed event (6)"));
}

TEST_CASE(
    "a reader whose own signals are the newest keeps up, and their purge "
    "does not refuse it") {
  StoreFixture f;
  f.ReopenWith(Retention);
  Store& s = f.store();
  Create(s, "beta", 9);  // seq 1: the only event alpha's feed carries
  auto page = s.Feed("alpha", 0, 100);
  REQUIRE(page.has_value());
  REQUIRE(page->events.size() == 1);
  Create(s, "alpha", 1);   // seq 2
  Retract(s, "alpha", 1);  // seq 3
  page = s.Feed("alpha", page->next(), 100);
  REQUIRE(page.has_value());
  CHECK(page->events.empty());
  CHECK(page->cursor == 3);  // past its own events
  f.clock.Advance(days(31));
  REQUIRE(Purge(s).feed_events == 2);
  CHECK(s.Feed("alpha", page->next(), 100).has_value());
}

TEST_CASE(
    "a notification reader is refused when a purge deleted its own "
    "notifications after its cursor, and only then") {
  StoreFixture f;
  f.ReopenWith(Retention);
  Store& s = f.store();
  for (int token : {1, 2, 3}) Create(s, "alpha", token);
  REQUIRE(QueryTokens(s, "beta", {1, 2})->matches.size() == 2);
  REQUIRE(QueryTokens(s, "gamma", {1, 2, 3})->matches.size() == 3);
  // Each member's notifications are numbered on their own (hub-wide: beta
  // 1, 3; gamma 2, 4, 5).
  Retract(s, "alpha", 1);  // beta: 1, gamma: 1
  // Each member's cursor is its own newest notification's seq.
  StreamCursor beta = s.Notifications("beta", 0, 100)->next();
  const StreamCursor gamma = s.Notifications("gamma", 0, 100)->next();
  CHECK(beta == StreamCursor::PerMember(1));
  CHECK(gamma == StreamCursor::PerMember(1));
  Retract(s, "alpha", 2);  // beta: 2, gamma: 2
  auto seen = s.Notifications("beta", beta, 100);
  REQUIRE(seen.has_value());
  REQUIRE(seen->notifications.size() == 1);
  beta = seen->next();
  CHECK(beta == StreamCursor::PerMember(2));
  Retract(s, "alpha", 3);  // gamma only: 3

  f.clock.Advance(days(46));
  REQUIRE(Purge(s).notifications == 5);
  // beta had read all of its own: another member's purged notification
  // above beta's cursor does not concern it.
  auto ok = s.Notifications("beta", beta, 100);
  REQUIRE(ok.has_value());
  CHECK(ok->notifications.empty());
  // As if the database had moved to per-member numbering when the hub-wide
  // head was 5, so that the cursors an older cairnd handed out (hub-wide
  // seqs) are taken.
  f.store_ptr().reset();
  testing::ExecSql(f.dir.path() / "hub.db",
                   "UPDATE seq_floors SET seq = 5 WHERE stream ="
                   " 'notifications_legacy'");
  f.Reopen();
  Store& reopened = f.store();
  // gamma missed two of its own: with its cursor, and with the one an
  // older cairnd would have handed it (the hub-wide seq 2).
  for (const StreamCursor& after : {gamma, StreamCursor(2)}) {
    auto refused = reopened.Notifications("gamma", after, 100);
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().code == ErrorCode::kCursorExpired);
    CHECK(refused.error().field == "after");
    CHECK_THAT(refused.error().message,
               Catch::Contains("cursor " + FormatStreamCursor(after) +
                               " is older than the notification events "
                               "this hub still keeps"));
    CHECK_THAT(refused.error().message, Catch::Contains("after=0"));
  }
  auto again = reopened.Notifications("gamma", 0, 100);
  REQUIRE(again.has_value());
  CHECK(again->notifications.empty());
  CHECK(again->next() == StreamCursor::PerMember(3));
  CHECK(reopened.Notifications("gamma", again->next(), 100).has_value());
  // beta's old hub-wide cursor at its newest (3) is not refused either.
  CHECK(reopened.Notifications("beta", 3, 100).has_value());

  // A cursor below the head naming purges this hub never made is not its.
  auto foreign =
      reopened.Notifications("gamma", StreamCursor::PerMember(1, 4), 100);
  REQUIRE_FALSE(foreign.has_value());
  CHECK(foreign.error().code == ErrorCode::kInvalidArgument);
  CHECK(foreign.error().field == "after");
  CAPTURE(foreign.error().message);
  CHECK_THAT(foreign.error().message,
             Catch::Contains("cursor m1p4 was handed out after 4 purge(s) had "
                             "deleted notification events, but this hub's "
                             "purges have done so 1 time(s)") &&
                 Catch::Contains("after=0") &&
                 !Catch::Contains("past the newest"));
}

// Schema 12 numbers the notifications a purge left; cursors handed out
// before it (hub-wide seqs) are still judged against what purges deleted,
// before the upgrade and after it.
TEST_CASE(
    "cursors from before schema 12 are refused below notifications purged "
    "before or after the upgrade, and read on from above them") {
  StoreFixture f;
  f.ReopenWith(Retention);
  for (int token : {1, 2}) Create(f.store(), "alpha", token);
  for (const char* member : {"beta", "gamma", "beta"}) {
    REQUIRE(QueryTokens(f.store(), member, {1})->matches.size() == 1);
  }
  Retract(f.store(), "alpha", 1);  // day 0, hub-wide: beta 1, 3; gamma 2
  f.clock.Advance(days(46));
  REQUIRE(QueryTokens(f.store(), "gamma", {2})->matches.size() == 1);
  REQUIRE(QueryTokens(f.store(), "beta", {2})->matches.size() == 1);
  REQUIRE(Purge(f.store()).notifications == 3);  // those of day 0
  Retract(f.store(), "alpha", 2);  // day 46, hub-wide: gamma 4, beta 5
  const auto db = f.dir.path() / "hub.db";
  f.store_ptr().reset();
  testing::NotificationsToSchema11(db);
  f.Reopen();
  CHECK(QueryInt64(db,
                   "SELECT count(*) FROM notifications WHERE"
                   " member_seq = 1") == 2);

  struct Case {
    const char* member;
    StreamCursor after;
    // Refused with this code, or the seqs listed and the cursor.
    std::optional<ErrorCode> refused;
    std::vector<std::uint64_t> seqs;
    std::uint64_t cursor = 0;
  };
  const auto check = [&](const std::vector<Case>& cases) {
    for (const Case& c : cases) {
      CAPTURE(c.member, FormatStreamCursor(c.after));
      auto page = f.store().Notifications(c.member, c.after, 100);
      if (c.refused) {
        REQUIRE_FALSE(page.has_value());
        CHECK(page.error().code == *c.refused);
        CHECK_THAT(page.error().message, Catch::Contains("after=0"));
        continue;
      }
      REQUIRE(page.has_value());
      std::vector<std::uint64_t> seqs;
      for (const auto& n : page->notifications) seqs.push_back(n.seq);
      CHECK(seqs == c.seqs);
      CHECK(page->next() == StreamCursor::PerMember(c.cursor));
    }
  };
  const auto expired = ErrorCode::kCursorExpired;
  const auto not_ours = ErrorCode::kInvalidArgument;
  check({
      // The rows kept are each member's first.
      {"beta", 0, {}, {1}, 1},
      {"gamma", 0, {}, {1}, 1},
      // Below what the purge before the upgrade deleted: missed.
      {"beta", 1, expired, {}},
      {"beta", 2, expired, {}},
      {"gamma", 1, expired, {}},
      // At or above it: what came after, in the member's own numbering.
      {"beta", 3, {}, {1}, 1},
      {"beta", 4, {}, {1}, 1},
      {"gamma", 2, {}, {1}, 1},
      {"gamma", 4, {}, {}, 1},
      {"beta", 5, {}, {}, 1},
      // A rebuild cursor (below the purged ones, after that purge) too.
      {"beta", StreamCursor(1, 1), {}, {1}, 1},
      // Above the hub-wide head at the upgrade: never issued.
      {"beta", 6, not_ours, {}},
      {"beta", StreamCursor(3, 2), not_ours, {}},
      {"beta", StreamCursor::PerMember(2), not_ours, {}},
  });

  // A purge after the upgrade deletes the day-46 notifications.
  f.clock.Advance(days(46));
  REQUIRE(Purge(f.store()).notifications == 2);
  check({
      {"beta", 0, {}, {}, 1},
      {"beta", StreamCursor::PerMember(1), {}, {}, 1},
      {"beta", StreamCursor::PerMember(0, 2), {}, {}, 1},
      {"beta", 3, expired, {}},
      {"beta", 4, expired, {}},
      {"beta", 5, {}, {}, 1},
      {"gamma", 2, expired, {}},
      // A rebuild cursor from before the second purge: start again.
      {"gamma", StreamCursor(1, 1), expired, {}},
  });
  // beta's next notification is its second, though the purge deleted its
  // first: a number is never handed out twice.
  Create(f.store(), "alpha", 3);
  REQUIRE(QueryTokens(f.store(), "beta", {3})->matches.size() == 1);
  Retract(f.store(), "alpha", 3);
  check({
      {"beta", StreamCursor::PerMember(1), {}, {2}, 2},
      {"beta", 0, {}, {2}, 2},
      {"beta", 5, {}, {2}, 2},
  });
}

TEST_CASE(
    "a notification purged with its old match days after it was emitted is "
    "not skipped silently") {
  StoreFixture f;
  f.ReopenWith(Retention);
  Store& s = f.store();
  for (int token : {1, 2, 3}) Create(s, "alpha", token);
  REQUIRE(QueryTokens(s, "beta", {1, 3})->matches.size() == 2);  // day 0
  f.clock.Advance(days(1));
  Retract(s, "alpha", 3);  // day 1: seq 1
  f.clock.Advance(days(19));
  REQUIRE(QueryTokens(s, "beta", {2})->matches.size() == 1);  // day 20
  f.clock.Advance(days(38));
  const StreamCursor cursor = s.Notifications("beta", 0, 100)->next();
  REQUIRE(cursor == StreamCursor::PerMember(1));
  Retract(s, "alpha", 1);  // day 58: seq 2, about the match of day 0
  Retract(s, "alpha", 2);  // day 58: seq 3, about the match of day 20
  f.clock.Advance(days(3));
  // Day 61: the matches of day 0 go, with the notifications about them,
  // the one of day 58 too.
  const PurgeOutcome purged = Purge(s);
  REQUIRE(purged.matches == 2);
  REQUIRE(purged.notifications == 2);
  auto refused = s.Notifications("beta", cursor, 100);
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().code == ErrorCode::kCursorExpired);
  CHECK_THAT(refused.error().message, Catch::Contains("match_retention_days"));
  // From 0: the notification that is left.
  auto again = s.Notifications("beta", 0, 100);
  REQUIRE(again.has_value());
  REQUIRE(again->notifications.size() == 1);
  CHECK(again->notifications[0].seq == 3);
}

TEST_CASE("match reuse never hands out a match the purge deleted") {
  StoreFixture f;
  f.ReopenWith([](SqliteStoreOptions& o) {
    // Longer reuse than retention: cairnd's configuration refuses it, but a
    // tool setting the options directly must still be safe.
    o.match_reuse_window = days(7);
    o.match_retention = days(1);
  });
  Store& s = f.store();
  Create(s, "alpha", 1);
  auto q1 = QueryTokens(s, "beta", {1});
  REQUIRE(q1.has_value());
  REQUIRE(q1->matches.size() == 1);
  const std::string m1 = q1->matches[0].match_id;
  f.clock.Advance(days(2));
  REQUIRE(Purge(s).matches == 1);

  auto q2 = QueryTokens(s, "beta", {1});
  REQUIRE(q2.has_value());
  REQUIRE(q2->matches.size() == 1);
  const std::string m2 = q2->matches[0].match_id;
  CHECK(m2 != m1);
  const auto db = f.dir.path() / "hub.db";
  CHECK(QueryInt64(db, "SELECT count(*) FROM matches") == 1);
  // The match handed out can be disposed of, and hears of the retraction.
  DisposeCommand d;
  d.member_id = "beta";
  d.match_id = m2;
  CHECK(s.DisposeAndWait(d).has_value());
  Retract(s, "alpha", 1);
  auto n = s.Notifications("beta", 0, 100);
  REQUIRE(n.has_value());
  REQUIRE(n->notifications.size() == 1);
  CHECK(n->notifications[0].match_id == m2);
}

}  // namespace
}  // namespace cairn::server
