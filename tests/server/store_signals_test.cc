// Submissions and retractions.
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "server/src/store/submit_records.h"
#include "store_test_util.h"

namespace cairn::server {
namespace {

using namespace std::chrono_literals;
using testing::KeyOf;
using testing::QueryInt64;
using testing::QueryTokens;
using testing::Signal;
using testing::StoreFixture;
using testing::SubmitOne;

SubmitItemResult SubmitResult(Store& s, const std::string& member,
                              SignalSubmission item) {
  auto r = SubmitOne(s, member, std::move(item));
  REQUIRE(r.has_value());
  REQUIRE(r->results.size() == 1);
  return r->results[0];
}

TEST_CASE("submit creates, then reports duplicates and updates") {
  StoreFixture f;
  Store& s = f.store();
  auto created = SubmitResult(s, "alpha", Signal(1));
  CHECK(created.status == SubmitStatus::kCreated);
  CHECK(created.signal_id.size() == 34);
  CHECK(created.signal_id.rfind("s_", 0) == 0);

  auto duplicate = SubmitResult(s, "alpha", Signal(1));
  CHECK(duplicate.status == SubmitStatus::kDuplicate);
  CHECK(duplicate.signal_id == created.signal_id);

  auto updated = SubmitResult(
      s, "alpha", Signal(1, Category::kGrooming, Severity::kCritical));
  CHECK(updated.status == SubmitStatus::kUpdated);
  CHECK(updated.signal_id == created.signal_id);

  // Another category on the same token is a separate signal.
  auto other = SubmitResult(s, "alpha", Signal(1, Category::kSextortion));
  CHECK(other.status == SubmitStatus::kCreated);
  CHECK(other.signal_id != created.signal_id);

  // Another member's signal on the same token is separate too.
  auto beta = SubmitResult(s, "beta", Signal(1));
  CHECK(beta.status == SubmitStatus::kCreated);

  CHECK(s.Stats().index_signals == 3);
  CHECK(s.Stats().index_keys == 1);
  auto q = QueryTokens(s, "gamma", {1});
  REQUIRE(q.has_value());
  REQUIRE(q->matches.size() == 1);
  CHECK(q->matches[0].max_severity == Severity::kCritical);
}

TEST_CASE(
    "a resend after the signal lapsed, before the expiry sweep, is a new "
    "signal that matches") {
  StoreFixture f;
  Store& s = f.store();
  auto item = Signal(4);
  item.expires_at = f.clock.Now() + 2s;
  auto first = SubmitResult(s, "beta", item);
  REQUIRE(first.status == SubmitStatus::kCreated);
  f.clock.Advance(3s);  // lapsed; no sweep has run
  for (const bool with_change : {false, true}) {
    CAPTURE(with_change);
    auto resend = Signal(4, Category::kGrooming,
                         with_change ? Severity::kCritical : Severity::kLow);
    auto again = SubmitResult(s, "beta", resend);
    CHECK(again.status ==
          (with_change ? SubmitStatus::kUpdated : SubmitStatus::kCreated));
    CHECK(again.signal_id != first.signal_id);
  }
  auto q = QueryTokens(s, "alpha", {4});
  REQUIRE(q.has_value());
  REQUIRE(q->matches.size() == 1);
  CHECK(q->matches[0].max_severity == Severity::kCritical);
  // The lapsed one left as the sweep would have made it leave.
  auto feed = s.Feed("gamma", 0, 100);
  REQUIRE(feed.has_value());
  std::vector<FeedEventType> types;
  for (const auto& e : feed->events) types.push_back(e.type);
  CHECK(types == std::vector<FeedEventType>{
                     FeedEventType::kAdded, FeedEventType::kExpired,
                     FeedEventType::kAdded, FeedEventType::kAdded});
  CHECK(s.ExpireDueAndWait()->expired == 0);
  CHECK(s.Stats().index_signals == 1);
}

TEST_CASE("a refused resend of a lapsed signal leaves the lapsed one alone") {
  StoreFixture f;
  f.ReopenWith([](SqliteStoreOptions& o) {
    o.default_retention = std::chrono::seconds(60);
  });
  Store& s = f.store();
  auto item = Signal(6);
  item.expires_at = f.clock.Now() + 2s;
  REQUIRE(SubmitResult(s, "beta", item).status == SubmitStatus::kCreated);
  f.clock.Advance(3s);
  // As a new signal it would expire (default retention) before its ban.
  auto resend = Signal(6);
  resend.banned_at = f.clock.Now() + 120s;
  auto refused = SubmitResult(s, "beta", resend);
  CHECK(refused.status == SubmitStatus::kError);
  CHECK(refused.error.field == "signals[0].banned_at");
  auto feed = s.Feed("gamma", 0, 100);
  REQUIRE(feed.has_value());
  CHECK(feed->events.size() == 1);            // only the first 'added'
  CHECK(s.ExpireDueAndWait()->expired == 1);  // still the sweep's to expire
}

TEST_CASE("an update may not move banned_at past the expiry it keeps") {
  StoreFixture f;
  Store& s = f.store();
  auto item = Signal(5);
  item.expires_at = f.clock.Now() + 60s;
  REQUIRE(SubmitResult(s, "alpha", item).status == SubmitStatus::kCreated);
  // Within the allowed clock skew, after the kept expiry.
  auto later = Signal(5);
  later.banned_at = f.clock.Now() + 120s;
  auto refused = SubmitResult(s, "alpha", later);
  CHECK(refused.status == SubmitStatus::kError);
  CHECK(refused.error.field == "signals[0].expires_at");
  CHECK_THAT(refused.error.message, Catch::Contains("current expiry"));
  // With an expiry of its own it is an ordinary update.
  later.expires_at = f.clock.Now() + std::chrono::hours(1);
  CHECK(SubmitResult(s, "alpha", later).status == SubmitStatus::kUpdated);
}

TEST_CASE(
    "a changed ref or expiry is an update, a resend without expiry is "
    "a duplicate") {
  StoreFixture f;
  Store& s = f.store();
  auto item = Signal(2);
  item.ref = "case-1";
  REQUIRE(SubmitResult(s, "alpha", item).status == SubmitStatus::kCreated);
  f.clock.Advance(10s);
  CHECK(SubmitResult(s, "alpha", item).status == SubmitStatus::kDuplicate);
  item.ref = "case-2";
  CHECK(SubmitResult(s, "alpha", item).status == SubmitStatus::kUpdated);
  item.expires_at = f.clock.Now() + std::chrono::days(30);
  CHECK(SubmitResult(s, "alpha", item).status == SubmitStatus::kUpdated);
  CHECK(SubmitResult(s, "alpha", item).status == SubmitStatus::kDuplicate);
}

TEST_CASE(
    "a large batch is written whole and in order, with a signal sent twice "
    "in it") {
  // 150 new signals cross every size of the writer's multi-row INSERTs
  // (64, 16, 4, 1); the repeats of token 200 must read the row written for
  // its first occurrence in the same command.
  StoreFixture f;
  Store& s = f.store();
  SubmitCommand c;
  c.member_id = "alpha";
  for (int i = 0; i < 150; ++i) c.items.push_back(Signal(200 + i));
  c.items.push_back(Signal(200));
  c.items.push_back(Signal(200, Category::kGrooming, Severity::kCritical));
  auto r = s.SubmitAndWait(c);
  REQUIRE(r.has_value());
  REQUIRE(r->results.size() == 152);
  for (int i = 0; i < 150; ++i) {
    CAPTURE(i);
    CHECK(r->results[i].status == SubmitStatus::kCreated);
  }
  CHECK(r->results[150].status == SubmitStatus::kDuplicate);
  CHECK(r->results[150].signal_id == r->results[0].signal_id);
  CHECK(r->results[151].status == SubmitStatus::kUpdated);
  CHECK(r->results[151].signal_id == r->results[0].signal_id);

  // From the database, not the in-memory index: reopen and look.
  f.Reopen();
  Store& reopened = f.store();
  CHECK(reopened.Stats().index_signals == 150);
  std::vector<int> tokens;
  for (int i = 0; i < 150; ++i) tokens.push_back(200 + i);
  auto q = QueryTokens(reopened, "gamma", tokens);
  REQUIRE(q.has_value());
  REQUIRE(q->matches.size() == 150);
  CHECK(q->matches[0].max_severity == Severity::kCritical);
  CHECK(q->matches[1].max_severity == Signal(201).severity);

  // The feed lists each signal once as added, in submission order, then the
  // update of the first one again.
  auto feed = reopened.Feed("beta", 0, 1000);
  REQUIRE(feed.has_value());
  REQUIRE(feed->events.size() == 151);
  for (int i = 0; i < 150; ++i) {
    CAPTURE(i);
    CHECK(feed->events[i].signal_id == r->results[i].signal_id);
    CHECK(feed->events[i].type == FeedEventType::kAdded);
  }
  CHECK(feed->events[150].signal_id == r->results[0].signal_id);
  CHECK(feed->events[150].severity == Severity::kCritical);
}

TEST_CASE("per-item errors leave the other items of the batch alone") {
  StoreFixture f;
  Store& s = f.store();
  const auto now = f.clock.Now();
  struct Case {
    const char* name;
    std::function<void(SignalSubmission&)> edit;
    const char* field;
  };
  const Case cases[] = {
      {"unregistered kind", [](auto& i) { i.key.kind = "game_id"; }, "kind"},
      {"scheme not accepted",
       [](auto& i) { i.key.scheme = TokenScheme::kVoprfV1; }, "scheme"},
      {"expires_at in the past", [&](auto& i) { i.expires_at = now - 1s; },
       "expires_at"},
      {"expires_at now", [&](auto& i) { i.expires_at = now; }, "expires_at"},
      {"expires_at before banned_at",
       [&](auto& i) {
         i.banned_at = now;
         i.expires_at = now + 1s;
         i.banned_at = now + 2s;
       },
       "expires_at"},
      {"banned_at far in the future",
       [&](auto& i) { i.banned_at = now + std::chrono::hours(1); },
       "banned_at"},
  };
  SubmitCommand c;
  c.member_id = "alpha";
  c.items.push_back(Signal(100));  // valid, index 0
  for (std::size_t i = 0; i < std::size(cases); ++i) {
    auto item = Signal(static_cast<int>(101 + i));
    cases[i].edit(item);
    c.items.push_back(item);
  }
  auto r = s.SubmitAndWait(c);
  REQUIRE(r.has_value());
  REQUIRE(r->results.size() == std::size(cases) + 1);
  CHECK(r->results[0].status == SubmitStatus::kCreated);
  for (std::size_t i = 0; i < std::size(cases); ++i) {
    CAPTURE(cases[i].name);
    const auto& result = r->results[i + 1];
    CHECK(result.index == i + 1);
    CHECK(result.status == SubmitStatus::kError);
    CHECK(result.error.code == ErrorCode::kInvalidArgument);
    CHECK(result.error.field ==
          "signals[" + std::to_string(i + 1) + "]." + cases[i].field);
    CHECK_FALSE(result.error.message.empty());
  }
  CHECK(s.Stats().index_signals == 1);
}

TEST_CASE(
    "expires_at is capped at the maximum retention and defaults to "
    "the default retention") {
  StoreFixture f;
  Store& s = f.store();
  auto far = Signal(5);
  far.expires_at = f.clock.Now() + std::chrono::days(5000);
  REQUIRE(SubmitResult(s, "alpha", far).status == SubmitStatus::kCreated);
  REQUIRE(SubmitResult(s, "alpha", Signal(6)).status == SubmitStatus::kCreated);
  auto feed = s.Feed("beta", 0, 10);
  REQUIRE(feed.has_value());
  REQUIRE(feed->events.size() == 2);
  for (const auto& e : feed->events) {
    CHECK(e.expires_at == f.clock.Now() + std::chrono::days(730));
  }
}

TEST_CASE("a feed or notification cursor past the newest event is refused") {
  StoreFixture f;
  Store& s = f.store();
  REQUIRE(SubmitResult(s, "alpha", Signal(1)).status == SubmitStatus::kCreated);
  REQUIRE(SubmitResult(s, "alpha", Signal(2)).status == SubmitStatus::kCreated);
  auto all = s.Feed("beta", 0, 10);
  REQUIRE(all.has_value());
  REQUIRE(all->events.size() == 2);
  const std::uint64_t head = all->cursor;

  // At the head: nothing new, for a member who saw the events and for
  // alpha, who never sees its own.
  for (const char* member : {"beta", "alpha"}) {
    CAPTURE(member);
    auto at_head = s.Feed(member, head, 10);
    REQUIRE(at_head.has_value());
    CHECK(at_head->events.empty());
    CHECK(at_head->cursor == head);
  }
  // Past it: a cursor this database never issued (say, from before a
  // restore of an older backup) would otherwise skip the next events.
  auto past = s.Feed("beta", head + 1, 10);
  REQUIRE_FALSE(past.has_value());
  CHECK(past.error().code == ErrorCode::kInvalidArgument);
  CHECK(past.error().field == "after");
  CHECK_THAT(past.error().message,
             Catch::Contains("past the newest feed event (" +
                             std::to_string(head) + ")"));

  CHECK(s.Notifications("beta", 0, 10).has_value());
  // In the member's own numbering ("m1") and in the hub-wide one older
  // cairnds handed out ("1").
  for (const StreamCursor& after :
       {StreamCursor::PerMember(1), StreamCursor(1)}) {
    auto notification_past = s.Notifications("beta", after, 10);
    REQUIRE_FALSE(notification_past.has_value());
    CHECK(notification_past.error().field == "after");
    CHECK_THAT(notification_past.error().message,
               Catch::Contains("cursor " + FormatStreamCursor(after) +
                               " is past your newest notification") &&
                   Catch::Contains("after=0"));
  }
}

void RetractToken(Store& s, const std::string& member, int token) {
  RetractCommand c;
  c.member_id = member;
  c.items.resize(1);
  c.items[0].key = KeyOf(token);
  c.items[0].reason = RetractReason::kAppealUpheld;
  REQUIRE(s.RetractAndWait(c).has_value());
}

using Own = std::vector<std::uint64_t>;

// The seqs of all of `member`'s notifications after `after`, paged by
// `limit`, and the cursor it ends with.
std::pair<Own, StreamCursor> ReadAllNotifications(Store& s,
                                                  const std::string& member,
                                                  StreamCursor after,
                                                  std::size_t limit) {
  Own seqs;
  for (int pages = 0;; ++pages) {
    REQUIRE(pages < 100);
    auto page = s.Notifications(member, after, limit);
    REQUIRE(page.has_value());
    for (const auto& n : page->notifications) seqs.push_back(n.seq);
    after = page->next();
    if (!page->more) break;
  }
  return {seqs, after};
}

// Every notification also takes the next seq of one hub-wide sequence: a
// seq, cursor or refusal that followed it would let a member count how
// often others matched a token whose retraction it sees in the feed.
TEST_CASE(
    "a member's notification cursor and refusals tell nothing of other "
    "members' notifications") {
  StoreFixture f;
  Store& s = f.store();
  REQUIRE(SubmitResult(s, "alpha", Signal(1)).status == SubmitStatus::kCreated);
  REQUIRE(SubmitResult(s, "alpha", Signal(2)).status == SubmitStatus::kCreated);
  auto before = s.Notifications("gamma", 0, 10);
  REQUIRE(before.has_value());
  CHECK(before->cursor == 0);
  CHECK(FormatStreamCursor(before->next()) == "m0");
  for (int i = 0; i < 5; ++i) {
    REQUIRE(QueryTokens(s, "beta", {1})->matches.size() == 1);
  }
  RetractToken(s, "alpha", 1);  // beta: 1..5

  // gamma's view is the same as before.
  auto page = s.Notifications("gamma", before->next(), 10);
  REQUIRE(page.has_value());
  CHECK(page->notifications.empty());
  CHECK(page->next() == StreamCursor::PerMember(0));
  CHECK_FALSE(page->more);
  // And a cursor past its head is refused without naming the hub's.
  for (std::uint64_t after : {1, 4, 5, 6, 99}) {
    CAPTURE(after);
    auto past = s.Notifications("gamma", StreamCursor::PerMember(after), 10);
    REQUIRE_FALSE(past.has_value());
    CHECK(past.error().code == ErrorCode::kInvalidArgument);
    CHECK(past.error().field == "after");
    CAPTURE(past.error().message);
    CHECK_THAT(past.error().message,
               Catch::Contains("past your newest notification") &&
                   !Catch::Contains("(5)") && !Catch::Contains("event ("));
  }

  // beta pages through its own; its cursor stops at its newest.
  auto [seqs, beta] = ReadAllNotifications(s, "beta", 0, 2);
  CHECK(seqs == Own{1, 2, 3, 4, 5});
  CHECK(beta == StreamCursor::PerMember(5));
  // gamma's notification moves neither beta's cursor nor its limit.
  REQUIRE(QueryTokens(s, "gamma", {2})->matches.size() == 1);
  RetractToken(s, "alpha", 2);
  auto caught_up = s.Notifications("beta", beta, 10);
  REQUIRE(caught_up.has_value());
  CHECK(caught_up->notifications.empty());
  CHECK(caught_up->next() == StreamCursor::PerMember(5));
  CHECK_FALSE(s.Notifications("beta", StreamCursor::PerMember(6), 10));
  auto gamma = s.Notifications("gamma", before->next(), 10);
  REQUIRE(gamma.has_value());
  REQUIRE(gamma->notifications.size() == 1);
  CHECK(gamma->notifications[0].seq == 1);
  CHECK(gamma->next() == StreamCursor::PerMember(1));
}

// The seqs a member sees are its own count: 1, 2, 3... A retraction writes
// one notification per match in one commit, and numbers from the hub-wide
// sequence would step over the other members' (how often they matched the
// token), which a member that matched it too (or a submitter colluding
// with it) could read from the gaps.
TEST_CASE(
    "a member's notifications are numbered 1, 2, 3... whatever other "
    "members' notifications come between them") {
  // queriers: who queries token 1 (and then 2) in turn before alpha
  // retracts both.
  const auto run = [](const std::vector<std::string>& queriers) {
    StoreFixture f;
    Store& s = f.store();
    REQUIRE(SubmitResult(s, "alpha", Signal(1)).status ==
            SubmitStatus::kCreated);
    REQUIRE(SubmitResult(s, "alpha", Signal(2)).status ==
            SubmitStatus::kCreated);
    for (int token : {1, 2}) {
      for (const auto& member : queriers) {
        REQUIRE(QueryTokens(s, member, {token})->matches.size() == 1);
      }
    }
    RetractToken(s, "alpha", 1);
    RetractToken(s, "alpha", 2);
    std::map<std::string, std::pair<Own, std::string>> seen;
    for (const std::string member : {"beta", "gamma"}) {
      for (std::size_t limit : {1, 2, 10}) {
        auto [seqs, cursor] = ReadAllNotifications(s, member, 0, limit);
        seen[member + "/" + std::to_string(limit)] = {
            seqs, FormatStreamCursor(cursor)};
      }
    }
    return seen;
  };
  const auto alone = run({"beta"});
  CHECK(alone.at("beta/1") == std::pair<Own, std::string>{Own{1, 2}, "m2"});
  CHECK(alone.at("gamma/10") == std::pair<Own, std::string>{Own{}, "m0"});
  // gamma matches both tokens three times, between beta's matches: beta's
  // numbers and cursors are those it got alone.
  const auto together = run({"gamma", "beta", "gamma", "gamma"});
  for (std::size_t limit : {1, 2, 10}) {
    CAPTURE(limit);
    const std::string l = "/" + std::to_string(limit);
    CHECK(together.at("beta" + l) == alone.at("beta" + l));
    CHECK(together.at("gamma" + l) ==
          std::pair<Own, std::string>{Own{1, 2, 3, 4, 5, 6}, "m6"});
  }
}

// Older cairnds handed out cursors in the hub-wide numbering: the seq of
// the member's newest notification, or (before per-member cursors) the
// hub-wide head. Such a cursor, a plain number, is judged as it was (up to
// the head when the database moved to per-member numbering) and read from
// where it lies among the member's own notifications; the page's cursor is
// in the member's own numbering.
TEST_CASE(
    "notification cursors handed out before cursors were per member keep "
    "working") {
  StoreFixture f;
  REQUIRE(SubmitResult(f.store(), "alpha", Signal(1)).status ==
          SubmitStatus::kCreated);
  REQUIRE(SubmitResult(f.store(), "alpha", Signal(2)).status ==
          SubmitStatus::kCreated);
  for (int i = 0; i < 5; ++i) {
    REQUIRE(QueryTokens(f.store(), "beta", {1})->matches.size() == 1);
  }
  RetractToken(f.store(), "alpha", 1);  // beta: hub-wide seqs 1..5
  const auto db = f.dir.path() / "hub.db";
  f.store_ptr().reset();
  testing::NotificationsToSchema11(db);
  f.Reopen();
  Store& s = f.store();
  CHECK(QueryInt64(db,
                   "SELECT seq FROM seq_floors WHERE stream = "
                   "'notifications_legacy'") == 5);

  // gamma, with no notifications, held the hub-wide head: it is not
  // refused, and is handed its own (empty) position.
  for (std::uint64_t old : {3, 5}) {
    CAPTURE(old);
    auto page = s.Notifications("gamma", old, 10);
    REQUIRE(page.has_value());
    CHECK(page->notifications.empty());
    CHECK(page->next() == StreamCursor::PerMember(0));
    CHECK_FALSE(page->more);
  }
  auto refused = s.Notifications("gamma", 6, 10);
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().code == ErrorCode::kInvalidArgument);
  CHECK_THAT(refused.error().message,
             Catch::Contains("cursor 6 is past your newest notification") &&
                 Catch::Contains("after=0"));
  // beta's old cursor between its notifications pages as before.
  auto rest = s.Notifications("beta", 3, 10);
  REQUIRE(rest.has_value());
  REQUIRE(rest->notifications.size() == 2);
  CHECK(rest->notifications[0].seq == 4);
  CHECK(rest->next() == StreamCursor::PerMember(5));

  // gamma's next notifications follow its old cursor, numbered as its
  // first, though beta's came between them.
  REQUIRE(QueryTokens(s, "gamma", {2})->matches.size() == 1);
  REQUIRE(QueryTokens(s, "beta", {2})->matches.size() == 1);
  REQUIRE(QueryTokens(s, "gamma", {2})->matches.size() == 1);
  RetractToken(s, "alpha", 2);  // hub-wide: gamma 6, beta 7, gamma 8
  for (std::uint64_t old : {0, 5}) {
    CAPTURE(old);
    auto next = s.Notifications("gamma", old, 10);
    REQUIRE(next.has_value());
    REQUIRE(next->notifications.size() == 2);
    CHECK(next->notifications[0].seq == 1);
    CHECK(next->notifications[1].seq == 2);
    CHECK(next->next() == StreamCursor::PerMember(2));
  }
  // beta's old cursor at its newest hub-wide seq of the time (5): only the
  // notification after it, in its own numbering.
  auto beta = s.Notifications("beta", 5, 10);
  REQUIRE(beta.has_value());
  REQUIRE(beta->notifications.size() == 1);
  CHECK(beta->notifications[0].seq == 6);
  CHECK(beta->next() == StreamCursor::PerMember(6));
  // No hub-wide seq issued since is taken: which are would tell beta the
  // hub-wide seq of its newest notification (7), and with it how many
  // gamma got before it.
  for (std::uint64_t probe : {6, 7, 8}) {
    CAPTURE(probe);
    auto p = s.Notifications("beta", probe, 10);
    REQUIRE_FALSE(p.has_value());
    CHECK(p.error().code == ErrorCode::kInvalidArgument);
  }
  // The record is made once: a restart does not raise it to the new head.
  f.Reopen();
  CHECK(QueryInt64(db,
                   "SELECT seq FROM seq_floors WHERE stream = "
                   "'notifications_legacy'") == 5);
  CHECK_FALSE(f.store().Notifications("gamma", 6, 10).has_value());
  CHECK(f.store().Notifications("beta", 5, 10).has_value());
}

// Schema 12 numbers each member's notifications on their own; those an
// older cairnd wrote are numbered in seq order per member, and the cursors
// it handed out (hub-wide seqs) keep working.
TEST_CASE(
    "a schema 11 database's notifications are numbered per member, and its "
    "cursors still read from where they were") {
  StoreFixture f;
  REQUIRE(SubmitResult(f.store(), "alpha", Signal(1)).status ==
          SubmitStatus::kCreated);
  for (const char* member : {"beta", "gamma", "beta", "gamma", "gamma"}) {
    REQUIRE(QueryTokens(f.store(), member, {1})->matches.size() == 1);
  }
  RetractToken(f.store(), "alpha", 1);
  // hub-wide: beta 1, 3; gamma 2, 4, 5.
  const auto db = f.dir.path() / "hub.db";
  f.store_ptr().reset();
  testing::NotificationsToSchema11(db);
  f.Reopen();
  Store& s = f.store();
  CHECK(QueryInt64(db, "PRAGMA user_version") == SqliteSchemaVersion());
  // Each row's number counts the member's rows up to it.
  CHECK(QueryInt64(db,
                   "SELECT count(*) FROM notifications n WHERE member_seq ="
                   " (SELECT count(*) FROM notifications o WHERE o.member ="
                   " n.member AND o.seq <= n.seq)") == 5);
  struct Case {
    const char* member;
    Own own;
  } const cases[] = {{"beta", {1, 2}}, {"gamma", {1, 2, 3}}};
  for (const Case& c : cases) {
    CAPTURE(c.member);
    auto [seqs, cursor] = ReadAllNotifications(s, c.member, 0, 1);
    CHECK(seqs == c.own);
    CHECK(cursor == StreamCursor::PerMember(c.own.size()));
  }
  // Old cursors, hub-wide seqs: what follows them, in the member's own
  // numbering.
  struct Old {
    const char* member;
    std::uint64_t after;
    Own own;
    std::uint64_t cursor;
  } const olds[] = {
      {"beta", 1, {2}, 2},        {"beta", 2, {2}, 2},
      {"beta", 3, {}, 2},         {"beta", 5, {}, 2},
      {"gamma", 1, {1, 2, 3}, 3}, {"gamma", 2, {2, 3}, 3},
      {"gamma", 3, {2, 3}, 3},    {"gamma", 4, {3}, 3},
      {"gamma", 5, {}, 3},
  };
  for (const Old& o : olds) {
    CAPTURE(o.member, o.after);
    auto [seqs, cursor] = ReadAllNotifications(s, o.member, o.after, 10);
    CHECK(seqs == o.own);
    CHECK(cursor == StreamCursor::PerMember(o.cursor));
  }
  CHECK_FALSE(s.Notifications("beta", 6, 10).has_value());
}

TEST_CASE("custom kinds are accepted once registered") {
  StoreFixture f;
  Store& s = f.store();
  auto item = Signal(7);
  item.key.kind = "game_id";
  CHECK(SubmitResult(s, "alpha", item).status == SubmitStatus::kError);
  RegisterKindCommand k;
  k.kind = "game_id";
  REQUIRE(s.RegisterKindAndWait(k).has_value());
  CHECK(SubmitResult(s, "alpha", item).status == SubmitStatus::kCreated);
}

TEST_CASE(
    "an idempotency key replays the first results and changes "
    "nothing") {
  StoreFixture f;
  Store& s = f.store();
  SubmitCommand c;
  c.member_id = "alpha";
  c.idempotency_key = "batch-1";
  c.items = {Signal(10), Signal(11)};
  c.items[1].key.kind = "nope";
  auto first = s.SubmitAndWait(c);
  REQUIRE(first.has_value());
  CHECK_FALSE(first->replayed);
  const auto feed_before = s.Feed("beta", 0, 100)->events.size();

  f.clock.Advance(std::chrono::hours(23));
  auto again = s.SubmitAndWait(c);
  REQUIRE(again.has_value());
  CHECK(again->replayed);
  REQUIRE(again->results.size() == 2);
  CHECK(again->results[0].status == SubmitStatus::kCreated);
  CHECK(again->results[0].signal_id == first->results[0].signal_id);
  CHECK(again->results[1].status == SubmitStatus::kError);
  CHECK(again->results[1].error.field == first->results[1].error.field);
  CHECK(again->results[1].error.message == first->results[1].error.message);
  CHECK(s.Feed("beta", 0, 100)->events.size() == feed_before);

  // Same key, other body: refused.
  SubmitCommand other = c;
  other.items.pop_back();
  auto conflict = s.SubmitAndWait(other);
  REQUIRE_FALSE(conflict.has_value());
  CHECK(conflict.error().code == ErrorCode::kConflict);

  // Another member may use the same key.
  SubmitCommand beta = c;
  beta.member_id = "beta";
  auto beta_result = s.SubmitAndWait(beta);
  REQUIRE(beta_result.has_value());
  CHECK_FALSE(beta_result->replayed);

  // After the window the key is fresh again (the signal is a duplicate).
  f.clock.Advance(std::chrono::hours(2));
  auto late = s.SubmitAndWait(c);
  REQUIRE(late.has_value());
  CHECK_FALSE(late->replayed);
  CHECK(late->results[0].status == SubmitStatus::kDuplicate);
}

TEST_CASE(
    "idempotency records of schema 5 (tab-separated lines) still replay "
    "after the upgrade, and new ones are JSON") {
  StoreFixture f;
  SubmitCommand c;
  c.member_id = "alpha";
  c.idempotency_key = "batch-1";
  c.items = {Signal(10), Signal(11), Signal(12)};
  c.items[1].key.kind = "nope";
  auto first = f.store().SubmitAndWait(c);
  REQUIRE(first.has_value());
  REQUIRE(first->results.size() == 3);
  REQUIRE(first->results[1].status == SubmitStatus::kError);
  f.store_ptr().reset();

  // The record as schema 5 wrote it: index, status, signal_id, error code,
  // field, message, tab-separated, one line per item.
  const auto& r = first->results;
  const std::string tsv = "0\tcreated\t" + r[0].signal_id + "\t\t\t\n" +
                          "1\terror\t\tinvalid_argument\t" + r[1].error.field +
                          "\t" + r[1].error.message + "\n" + "2\tcreated\t" +
                          r[2].signal_id + "\t\t\t\n";
  const auto db = f.dir.path() / "hub.db";
  std::string quoted;
  for (char ch : tsv) {
    quoted += ch;
    if (ch == '\'') quoted += '\'';
  }
  testing::ExecSql(db, "UPDATE idempotency SET results = '" + quoted +
                           "'; DROP TABLE seq_floors;"
                           " DROP TABLE oprf_keys;"
                           " DROP INDEX audit_clock_steps;"
                           " DROP INDEX audit_queries;"
                           " DROP INDEX audit_purges;"
                           " ALTER TABLE dispositions DROP COLUMN notified_seq;"
                           " DROP INDEX notifications_by_member_seq;"
                           " ALTER TABLE notifications DROP COLUMN member_seq;"
                           " PRAGMA user_version = 5");

  f.Reopen();
  CHECK(testing::QueryInt64(db, "PRAGMA user_version") ==
        SqliteSchemaVersion());
  auto again = f.store().SubmitAndWait(c);
  REQUIRE(again.has_value());
  CHECK(again->replayed);
  REQUIRE(again->results.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CAPTURE(i);
    CHECK(again->results[i].index == i);
    CHECK(again->results[i].status == r[i].status);
    CHECK(again->results[i].signal_id == r[i].signal_id);
    CHECK(again->results[i].error.code == r[i].error.code);
    CHECK(again->results[i].error.field == r[i].error.field);
    CHECK(again->results[i].error.message == r[i].error.message);
  }
  // The old record is read as it is; a new one is written as JSON.
  CHECK(testing::QueryInt64(
            db, "SELECT count(*) FROM idempotency WHERE results LIKE '{%'") ==
        0);
  SubmitCommand next = c;
  next.idempotency_key = "batch-2";
  next.items = {Signal(13)};
  REQUIRE(f.store().SubmitAndWait(next).has_value());
  CHECK(testing::QueryInt64(
            db, "SELECT count(*) FROM idempotency WHERE results LIKE '{%'") ==
        1);
}

TEST_CASE(
    "idempotency records of schema 9 (a WITHOUT ROWID table) move to a "
    "rowid table and still replay") {
  StoreFixture f;
  SubmitCommand c;
  c.member_id = "alpha";
  c.idempotency_key = "batch-1";
  c.items = {Signal(10), Signal(11)};
  auto first = f.store().SubmitAndWait(c);
  REQUIRE(first.has_value());
  f.store_ptr().reset();
  const auto db = f.dir.path() / "hub.db";
  // The table as schema 2 made it, with the record in it.
  testing::ExecSql(db,
                   "CREATE TABLE idempotency_old ("
                   " member INTEGER NOT NULL, key TEXT NOT NULL,"
                   " digest BLOB NOT NULL, results TEXT NOT NULL,"
                   " created_at INTEGER NOT NULL,"
                   " PRIMARY KEY (member, key)) WITHOUT ROWID;"
                   " INSERT INTO idempotency_old SELECT member, key, digest,"
                   " results, created_at FROM idempotency;"
                   " DROP TABLE idempotency;"
                   " ALTER TABLE idempotency_old RENAME TO idempotency;"
                   " DROP INDEX audit_queries;"
                   " DROP INDEX audit_purges;"
                   " DROP INDEX notifications_by_member_seq;"
                   " ALTER TABLE notifications DROP COLUMN member_seq;"
                   " PRAGMA user_version = 9");
  REQUIRE(testing::QueryInt64(db,
                              "SELECT count(*) FROM sqlite_master WHERE name"
                              " = 'idempotency' AND sql LIKE '%WITHOUT ROWID%'"
                              "") == 1);

  f.Reopen();
  CHECK(testing::QueryInt64(db, "PRAGMA user_version") ==
        SqliteSchemaVersion());
  CHECK(testing::QueryInt64(db,
                            "SELECT count(*) FROM sqlite_master WHERE name"
                            " = 'idempotency' AND sql LIKE '%WITHOUT ROWID%'"
                            "") == 0);
  CHECK(testing::QueryInt64(db, "SELECT count(*) FROM idempotency") == 1);
  auto again = f.store().SubmitAndWait(c);
  REQUIRE(again.has_value());
  CHECK(again->replayed);
  REQUIRE(again->results.size() == 2);
  CHECK(again->results[0].signal_id == first->results[0].signal_id);
  CHECK(again->results[1].signal_id == first->results[1].signal_id);
  // Another key is recorded beside it, not over it.
  SubmitCommand next = c;
  next.idempotency_key = "batch-2";
  next.items = {Signal(12)};
  REQUIRE(f.store().SubmitAndWait(next).has_value());
  CHECK(testing::QueryInt64(db, "SELECT count(*) FROM idempotency") == 2);
  f.store_ptr().reset();

  // The lookup goes through the (member, key) index: the key of a
  // WITHOUT ROWID row is its whole record, which for a 1,000-item batch
  // overflowed onto pages that every comparison read.
  const std::string plan =
      cairn::testing::QueryPlan(db, store_internal::kIdempotencyLookupSql);
  INFO(plan);
  CHECK_THAT(plan, Catch::Contains("USING INDEX") &&
                       Catch::Contains("member=? AND key=?"));
}

TEST_CASE("an unreadable idempotency record fails the retry, not the batch") {
  // A damaged record of either format.
  const std::string damaged =
      GENERATE(std::string(R"({"results":7})"), std::string("0\tcreated\n"),
               std::string("0\tcreated\ts_1\t\t\t"),
               std::string("x\tcreated\ts_1\t\t\t\n"),
               std::string("0\tmaybe\ts_1\t\t\t\n"));
  CAPTURE(damaged);
  StoreFixture f;
  SubmitCommand c;
  c.member_id = "alpha";
  c.idempotency_key = "batch-1";
  c.items = {Signal(10)};
  REQUIRE(f.store().SubmitAndWait(c).has_value());
  f.store_ptr().reset();
  testing::ExecSql(f.dir.path() / "hub.db",
                   "UPDATE idempotency SET results = '" + damaged + "'");
  f.Reopen();
  auto again = f.store().SubmitAndWait(c);
  REQUIRE_FALSE(again.has_value());
  CHECK(again.error().code == ErrorCode::kInternal);
  CHECK_THAT(again.error().message,
             Catch::Contains("Idempotency-Key") && Catch::Contains("new key"));
  // The store still commits other work.
  CHECK(SubmitResult(f.store(), "alpha", Signal(20)).status ==
        SubmitStatus::kCreated);
}

TEST_CASE("unknown members cannot submit") {
  StoreFixture f;
  auto r = SubmitOne(f.store(), "mallory", Signal(1));
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == ErrorCode::kPermissionDenied);
}

TEST_CASE(
    "a retraction of a token this hub cannot hold is an error naming the "
    "field, and changes nothing") {
  StoreFixture f;
  Store& s = f.store();
  const SubmitItemResult created = SubmitResult(s, "alpha", Signal(30));
  REQUIRE(created.status == SubmitStatus::kCreated);
  RetractCommand r;
  r.member_id = "alpha";
  r.items.resize(3);
  r.items[0].key = KeyOf(30);
  r.items[0].key->kind = "steam_id";  // never registered
  r.items[1].key = KeyOf(30);
  r.items[1].key->scheme = TokenScheme::kVoprfV1;  // not accepted here
  r.items[2].key = KeyOf(30);
  auto out = s.RetractAndWait(r);
  REQUIRE(out.has_value());
  REQUIRE(out->results.size() == 3);
  CHECK(out->results[0].status == RetractStatus::kError);
  CHECK(out->results[0].error.field == "retractions[0].kind");
  CHECK_THAT(out->results[0].error.message,
             Catch::Contains("'steam_id' is not registered"));
  CHECK(out->results[1].status == RetractStatus::kError);
  CHECK(out->results[1].error.field == "retractions[1].scheme");
  CHECK(out->results[2].status == RetractStatus::kRetracted);
  CHECK(s.Stats().index_signals == 0);
  // Items 0 and 1 wrote nothing: the one retraction row and the one
  // "retracted" event are item 2's, for the one signal.
  CHECK(testing::QueryInt64(f.dir.path() / "hub.db",
                            "SELECT count(*) FROM retractions") == 1);
  auto feed = s.Feed("beta", 0, 100);
  REQUIRE(feed.has_value());
  REQUIRE(feed->events.size() == 2);
  CHECK(feed->events[0].type == FeedEventType::kAdded);
  CHECK(feed->events[0].signal_id == created.signal_id);
  CHECK(feed->events[1].type == FeedEventType::kRetracted);
  CHECK(feed->events[1].signal_id == created.signal_id);
}

TEST_CASE("members retract only their own signals, by token or by ref") {
  StoreFixture f;
  Store& s = f.store();
  auto a1 = Signal(20);
  a1.ref = "ticket-9";
  auto a1_other = Signal(20, Category::kTrafficking);
  REQUIRE(SubmitResult(s, "alpha", a1).status == SubmitStatus::kCreated);
  REQUIRE(SubmitResult(s, "alpha", a1_other).status == SubmitStatus::kCreated);
  REQUIRE(SubmitResult(s, "alpha", Signal(21)).status ==
          SubmitStatus::kCreated);
  REQUIRE(SubmitResult(s, "beta", Signal(22)).status == SubmitStatus::kCreated);

  RetractCommand r;
  r.member_id = "alpha";
  r.items.resize(5);
  r.items[0].ref = "ticket-9";
  r.items[0].reason = RetractReason::kAppealUpheld;
  r.items[1].key = KeyOf(21);
  r.items[1].reason = RetractReason::kError;
  r.items[2].key = KeyOf(22);   // beta's: not found
  r.items[3].key = KeyOf(999);  // nobody's
  r.items[4].ref = "no-such-ref";
  auto out = s.RetractAndWait(r);
  REQUIRE(out.has_value());
  REQUIRE(out->results.size() == 5);
  CHECK(out->results[0].status == RetractStatus::kRetracted);
  CHECK(out->results[0].signal_ids.size() == 1);
  CHECK(out->results[1].status == RetractStatus::kRetracted);
  CHECK(out->results[2].status == RetractStatus::kNotFound);
  CHECK(out->results[2].signal_ids.empty());
  CHECK(out->results[3].status == RetractStatus::kNotFound);
  CHECK(out->results[4].status == RetractStatus::kNotFound);

  // Left: alpha's trafficking signal on 20 and beta's on 22.
  CHECK(s.Stats().index_signals == 2);
  auto q = QueryTokens(s, "gamma", {20, 21, 22});
  REQUIRE(q.has_value());
  REQUIRE(q->matches.size() == 2);
  CHECK(q->matches[0].categories ==
        std::vector<Category>{Category::kTrafficking});
  CHECK(q->matches[1].index == 2);

  // Retracting by token takes every category of the member's signals.
  RetractCommand all;
  all.member_id = "alpha";
  all.items.resize(1);
  all.items[0].key = KeyOf(20);
  auto second = s.RetractAndWait(all);
  REQUIRE(second.has_value());
  CHECK(second->results[0].status == RetractStatus::kRetracted);
  CHECK(s.Stats().index_signals == 1);

  // A retracted signal can be submitted again as a new signal.
  auto again = SubmitResult(s, "alpha", Signal(21));
  CHECK(again.status == SubmitStatus::kCreated);
  CHECK(again.signal_id != out->results[1].signal_ids[0]);
}

TEST_CASE(
    "voprf-v1 tokens of an epoch the hub holds no key for are refused and "
    "never match") {
  StoreFixture f;
  f.ReopenWith([](SqliteStoreOptions& o) {
    o.accepted_schemes = {TokenScheme::kHmacV1, TokenScheme::kVoprfV1};
    o.voprf_epochs = {2, 3};
  });
  Store& s = f.store();
  auto held = Signal(40);
  held.key.scheme = TokenScheme::kVoprfV1;
  held.key.epoch = 3;
  auto unknown = Signal(41);
  unknown.key.scheme = TokenScheme::kVoprfV1;
  unknown.key.epoch = 4;
  SubmitCommand c;
  c.member_id = "alpha";
  c.items = {held, unknown};
  auto r = s.SubmitAndWait(c);
  REQUIRE(r.has_value());
  REQUIRE(r->results.size() == 2);
  CHECK(r->results[0].status == SubmitStatus::kCreated);
  CHECK(r->results[1].status == SubmitStatus::kError);
  CHECK(r->results[1].error.field == "signals[1].epoch");
  CHECK(r->results[1].error.message.find("epoch 4") != std::string::npos);
  CHECK(s.Stats().index_signals == 1);

  // The held epoch matches; the same token under an epoch without a key
  // does not, even though its bytes are equal.
  QueryCommand q;
  q.member_id = "beta";
  q.items = {held.key, held.key};
  q.items[1].epoch = 4;
  auto out = s.QueryAndWait(q);
  REQUIRE(out.has_value());
  REQUIRE(out->matches.size() == 1);
  CHECK(out->matches[0].index == 0);
}

}  // namespace
}  // namespace cairn::server
