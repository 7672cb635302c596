// Queries, matches, dispositions, notifications, feed and expiry.
#include <algorithm>
#include <fstream>
#include <iterator>
#include <map>
#include <set>

#include <catch2/catch.hpp>
#include <future>
#include <thread>

#include "cairn/encoding.h"
#include "cairn/wire/types.h"
#include "store_test_util.h"

namespace cairn::server {
namespace {

using namespace std::chrono_literals;
using cairn::testing::SqlColumn;
using testing::KeyOf;
using testing::QueryInt64;
using testing::QueryTokens;
using testing::Signal;
using testing::StoreFixture;
using testing::SubmitOne;

void MustCreate(Store& s, const std::string& member, SignalSubmission item) {
  auto r = SubmitOne(s, member, std::move(item));
  REQUIRE(r.has_value());
  REQUIRE(r->results.at(0).status == SubmitStatus::kCreated);
}

RetractOutcome RetractToken(Store& s, const std::string& member, int token,
                            RetractReason reason) {
  RetractCommand c;
  c.member_id = member;
  c.items.resize(1);
  c.items[0].key = KeyOf(token);
  c.items[0].reason = reason;
  auto r = s.RetractAndWait(c);
  REQUIRE(r.has_value());
  return *r;
}

TEST_CASE("a query aggregates other members' signals and hides its own") {
  StoreFixture f;
  Store& s = f.store();
  const auto day = std::chrono::days(1);
  auto a = Signal(1, Category::kGrooming, Severity::kMedium);
  a.banned_at = f.clock.Now() - 10 * day;
  a.attribution = true;
  auto b = Signal(1, Category::kSextortion, Severity::kCritical);
  b.banned_at = f.clock.Now() - 2 * day;
  auto b2 = Signal(1, Category::kGrooming, Severity::kLow);
  b2.banned_at = f.clock.Now() - 5 * day;
  MustCreate(s, "alpha", a);
  MustCreate(s, "beta", b);
  MustCreate(s, "beta", b2);
  MustCreate(s, "gamma", Signal(2));

  auto q = QueryTokens(s, "gamma", {9, 1, 2});
  REQUIRE(q.has_value());
  CHECK(q->queried == 3);
  REQUIRE(q->matches.size() == 1);  // 2 is gamma's own
  const MatchResult& m = q->matches[0];
  CHECK(m.index == 1);
  CHECK(m.match_id.size() == 34);
  CHECK(m.match_id.rfind("m_", 0) == 0);
  CHECK(m.kinds == std::vector<std::string>{"email"});
  CHECK(m.categories ==
        std::vector<Category>{Category::kGrooming, Category::kSextortion});
  CHECK(m.platforms == 2);
  CHECK(m.first_banned_at == a.banned_at);
  CHECK(m.last_banned_at == b.banned_at);
  CHECK(m.max_severity == Severity::kCritical);
  CHECK(m.attributed_to == std::vector<std::string>{"alpha"});

  // alpha sees only beta's signals on token 1; no attribution.
  auto qa = QueryTokens(s, "alpha", {1});
  REQUIRE(qa.has_value());
  REQUIRE(qa->matches.size() == 1);
  CHECK(qa->matches[0].platforms == 1);
  CHECK(qa->matches[0].attributed_to.empty());

  // Same token under another kind does not match.
  QueryCommand other_kind;
  other_kind.member_id = "gamma";
  other_kind.items = {KeyOf(1, "phone")};
  CHECK(s.QueryAndWait(other_kind)->matches.empty());
}

// Match ids lead with the real clock's milliseconds even though the store's
// clock counts whole seconds (here it stands still): ids of one second would
// scatter each commit's inserts over that second's pages of the UNIQUE
// index on match_id (record_ids.h).
TEST_CASE("match ids follow the real clock in milliseconds, in order") {
  StoreFixture f;
  Store& s = f.store();
  MustCreate(s, "alpha", Signal(1));
  const auto before = std::chrono::floor<std::chrono::milliseconds>(
      std::chrono::system_clock::now());
  std::vector<std::string> times;
  const auto match_time = [&s, &times] {
    auto q = QueryTokens(s, "beta", {1});
    REQUIRE(q.has_value());
    REQUIRE(q->matches.size() == 1);
    times.push_back(q->matches[0].match_id.substr(2, 12));
  };
  const auto ms = [](const std::string& hex) {
    return static_cast<std::int64_t>(std::stoull(hex, nullptr, 16));
  };
  for (int i = 0; i < 40; ++i) match_time();
  // However fast those commits were, a match made once the real clock has
  // passed the last one's millisecond leads with a later one. (The wait is
  // bounded; the clock passes a millisecond long before the bound.)
  const auto now_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  for (int i = 0; i < 10000 && now_ms() <= ms(times.back()); ++i) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  REQUIRE(now_ms() > ms(times.back()));
  match_time();
  const auto after = std::chrono::system_clock::now();
  CHECK(std::is_sorted(times.begin(), times.end()));
  CHECK(ms(times.back()) > ms(times[times.size() - 2]));
  CHECK(std::set<std::string>(times.begin(), times.end()).size() > 1);
  CHECK(ms(times.front()) >= before.time_since_epoch().count());
  CHECK(ms(times.back()) <=
        std::chrono::duration_cast<std::chrono::milliseconds>(
            after.time_since_epoch())
            .count());
}

// beta's query of `tokens` (KeyOf each) with Idempotency-Key `key`.
Result<QueryOutcome> KeyedQuery(Store& s, std::string key,
                                const std::vector<int>& tokens) {
  QueryCommand q;
  q.member_id = "beta";
  q.idempotency_key = std::move(key);
  // Not the router's form: the record must not depend on it.
  q.context.request_id = "req-1";
  for (int t : tokens) q.items.push_back(KeyOf(t));
  return s.QueryAndWait(std::move(q));
}

// alpha's signals on tokens 1 and 2, and beta's keyed queries:
// keyed("k1", {1, 50, 2}).
struct KeyedQueries {
  StoreFixture f;
  KeyedQueries() {
    MustCreate(f.store(), "alpha", Signal(1));
    MustCreate(f.store(), "alpha", Signal(2));
  }
  Result<QueryOutcome> operator()(std::string key,
                                  const std::vector<int>& tokens) {
    return KeyedQuery(f.store(), std::move(key), tokens);
  }
};

TEST_CASE(
    "a query's Idempotency-Key keeps the matches it recorded, and only "
    "those, for its retry") {
  KeyedQueries keyed;
  StoreFixture& f = keyed.f;
  auto first = keyed("k1", {1, 50, 2});
  REQUIRE(first.has_value());
  CHECK_FALSE(first->replayed);
  REQUIRE(first->matches.size() == 2);
  const auto matches =
      QueryInt64(f.dir.path() / "hub.db", "SELECT count(*) FROM matches");

  auto again = keyed("k1", {1, 50, 2});
  REQUIRE(again.has_value());
  CHECK(again->replayed);
  CHECK(again->queried == 3);
  REQUIRE(again->matches.size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    CHECK(again->matches[i].index == first->matches[i].index);
    CHECK(again->matches[i].match_id == first->matches[i].match_id);
    CHECK(again->matches[i].categories == first->matches[i].categories);
    CHECK(again->matches[i].first_banned_at ==
          first->matches[i].first_banned_at);
  }
  CHECK(QueryInt64(f.dir.path() / "hub.db", "SELECT count(*) FROM matches") ==
        matches);

  // The same key with the items in another order is another query: not a
  // replay, and not a 409 either (that would tell the member its tokens
  // match without recording a match). New matches, and the key keeps the
  // first query's record.
  const auto record =
      SqlColumn(f.dir.path() / "hub.db",
                "SELECT hex(digest) || results FROM idempotency");
  auto reordered = keyed("k1", {2, 50, 1});
  REQUIRE(reordered.has_value());
  CHECK_FALSE(reordered->replayed);
  REQUIRE(reordered->matches.size() == 2);
  CHECK(reordered->matches[0].match_id != first->matches[0].match_id);
  CHECK(QueryInt64(f.dir.path() / "hub.db", "SELECT count(*) FROM matches") ==
        matches + 2);
  CHECK(SqlColumn(f.dir.path() / "hub.db",
                  "SELECT hex(digest) || results FROM idempotency") == record);
  auto still = keyed("k1", {1, 50, 2});
  REQUIRE(still.has_value());
  CHECK(still->replayed);
  CHECK(still->matches[0].match_id == first->matches[0].match_id);

  // A query that recorded no match keeps nothing: its key stays free.
  auto none = keyed("k2", {60});
  REQUIRE(none.has_value());
  CHECK(none->matches.empty());
  CHECK(QueryInt64(f.dir.path() / "hub.db",
                   "SELECT count(*) FROM idempotency") == 1);

  // After the window the key is fresh again: new matches.
  f.clock.Advance(std::chrono::hours(25));
  auto late = keyed("k1", {1, 50, 2});
  REQUIRE(late.has_value());
  CHECK_FALSE(late->replayed);
  REQUIRE(late->matches.size() == 2);
  CHECK(late->matches[0].match_id != first->matches[0].match_id);
}

TEST_CASE(
    "a query's idempotency record depends on its matched items only, never "
    "on the tokens that matched nothing") {
  KeyedQueries keyed;
  StoreFixture& f = keyed.f;
  // Kept for a day (and in backups): a digest that covered tokens 70 and 80
  // could be checked against guessed tokens.
  REQUIRE(keyed("k-a", {1, 70, 2}).has_value());
  REQUIRE(keyed("k-b", {1, 80, 2}).has_value());
  const auto digest = [&](const char* key) {
    return SqlColumn(f.dir.path() / "hub.db",
                     std::string("SELECT hex(digest) FROM idempotency WHERE "
                                 "key = '") +
                         key + "'");
  };
  REQUIRE(digest("k-a").size() == 1);
  CHECK(digest("k-a") == digest("k-b"));
  // What it does cover: the count, and each match's token and position.
  REQUIRE(keyed("k-c", {1, 70, 2, 71}).has_value());
  REQUIRE(keyed("k-d", {70, 1, 2}).has_value());
  REQUIRE(keyed("k-e", {1, 70, 1}).has_value());
  CHECK(digest("k-c") != digest("k-a"));
  CHECK(digest("k-d") != digest("k-a"));
  CHECK(digest("k-e") != digest("k-a"));
  // So a retry whose unmatched tokens differ is answered as the first was:
  // the same matches at the same positions.
  auto retry = keyed("k-a", {1, 99, 2});
  REQUIRE(retry.has_value());
  CHECK(retry->replayed);
}

TEST_CASE("queries without matches never reach the writer") {
  StoreFixture f;
  Store& s = f.store();
  MustCreate(s, "alpha", Signal(1));
  const auto before = s.Stats();
  bool ran_inline = false;
  QueryCommand q;
  q.member_id = "beta";
  for (int i = 100; i < 200; ++i) q.items.push_back(KeyOf(i));
  s.Query(q, [&](Result<QueryOutcome> r) {
    ran_inline = true;
    REQUIRE(r.has_value());
    CHECK(r->queried == 100);
    CHECK(r->matches.empty());
  });
  CHECK(ran_inline);  // answered on this thread, before returning
  CHECK(s.Stats().transactions == before.transactions);

  // Neither the database nor its WAL holds a non-matching token, while the
  // submitted one is found the same way (so the search itself works).
  std::string bytes;
  for (const char* name : {"hub.db", "hub.db-wal"}) {
    std::ifstream in(f.dir.path() / name, std::ios::binary);
    bytes.append(std::istreambuf_iterator<char>(in), {});
  }
  auto contains = [&](int token) {
    const Token t = testing::TokenOf(token);
    return bytes.find(std::string(t.begin(), t.end())) != std::string::npos;
  };
  CHECK(contains(1));
  for (int i = 100; i < 200; ++i) {
    CAPTURE(i);
    CHECK_FALSE(contains(i));
  }
}

TEST_CASE("signals stop matching at expires_at, before any sweep") {
  StoreFixture f;
  Store& s = f.store();
  auto item = Signal(3);
  item.expires_at = f.clock.Now() + 100s;
  MustCreate(s, "alpha", item);
  f.clock.Advance(99s);
  CHECK(QueryTokens(s, "beta", {3})->matches.size() == 1);
  f.clock.Advance(1s);
  CHECK(QueryTokens(s, "beta", {3})->matches.empty());
  CHECK(s.Stats().index_signals == 1);  // still there until the sweep

  auto swept = s.ExpireDueAndWait();
  REQUIRE(swept.has_value());
  CHECK(swept->expired == 1);
  CHECK(s.Stats().index_signals == 0);
  CHECK(s.ExpireDueAndWait()->expired == 0);
  auto feed = s.Feed("beta", 0, 10);
  REQUIRE(feed->events.size() == 2);
  CHECK(feed->events[1].type == FeedEventType::kExpired);
}

TEST_CASE("only the querying member can record a disposition") {
  StoreFixture f;
  Store& s = f.store();
  MustCreate(s, "alpha", Signal(4));
  auto q = QueryTokens(s, "beta", {4});
  REQUIRE(q->matches.size() == 1);
  const std::string match_id = q->matches[0].match_id;

  DisposeCommand d;
  d.member_id = "beta";
  d.match_id = match_id;
  d.outcome = Outcome::kConfirmed;
  d.note = "reviewed";
  auto ok = s.DisposeAndWait(d);
  REQUIRE(ok.has_value());
  CHECK(ok->match_id == match_id);
  CHECK(ok->outcome == Outcome::kConfirmed);
  CHECK(ok->recorded_at == f.clock.Now());
  d.outcome = Outcome::kActioned;  // a later decision is allowed
  CHECK(s.DisposeAndWait(d).has_value());

  struct Case {
    const char* member;
    std::string match_id;
  };
  const Case refused[] = {
      {"alpha", match_id},  // the submitter does not own the match
      {"gamma", match_id},
      {"beta", "m_00000000000000000000000000000000"},
  };
  for (const Case& c : refused) {
    CAPTURE(c.member, c.match_id);
    DisposeCommand bad = d;
    bad.member_id = c.member;
    bad.match_id = c.match_id;
    auto r = s.DisposeAndWait(bad);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == ErrorCode::kNotFound);
  }
}

TEST_CASE("every match of a large query is recorded with its signals") {
  // 90 matches, 91 supporting signals: the writer's multi-row INSERTs of
  // 64/16/4/1 rows all take part. Each recorded match must be disposable
  // and reached by the retraction of its signals, after a reopen: whether
  // the rows still wait in match_signals_recent (the default threshold),
  // were settled by the query's own transaction (50 < 91) or by every
  // transaction (1).
  const std::size_t settle_rows = GENERATE(std::size_t{65536}, 50, 1);
  CAPTURE(settle_rows);
  StoreFixture f;
  f.ReopenWith([settle_rows](SqliteStoreOptions& o) {
    o.match_settle_rows = settle_rows;
  });
  Store& s = f.store();
  SubmitCommand c;
  c.member_id = "alpha";
  std::vector<int> tokens;
  for (int t = 300; t < 390; ++t) {
    c.items.push_back(Signal(t));
    tokens.push_back(t);
  }
  REQUIRE(s.SubmitAndWait(c).has_value());
  MustCreate(s, "gamma", Signal(300));  // token 300 has two signals
  auto q = QueryTokens(s, "beta", tokens);
  REQUIRE(q.has_value());
  REQUIRE(q->matches.size() == 90);
  const auto db = f.dir.path() / "hub.db";
  CHECK(QueryInt64(db, "SELECT count(*) FROM match_signals_recent") ==
        (settle_rows > 91 ? 91 : 0));
  f.Reopen();
  Store& reopened = f.store();

  for (const std::size_t i :
       {std::size_t{0}, std::size_t{63}, std::size_t{64}, std::size_t{89}}) {
    CAPTURE(i);
    DisposeCommand d;
    d.member_id = "beta";
    d.match_id = q->matches[i].match_id;
    d.outcome = Outcome::kNoAction;
    CHECK(reopened.DisposeAndWait(d).has_value());
  }
  f.clock.Advance(60s);
  RetractToken(reopened, "alpha", 300, RetractReason::kError);
  RetractToken(reopened, "alpha", 389, RetractReason::kError);
  RetractToken(reopened, "gamma", 300, RetractReason::kError);
  CHECK(QueryInt64(db, "SELECT count(*) FROM match_signals_recent") == 0);
  CHECK(QueryInt64(db, "SELECT count(*) FROM match_signals") == 91);
  auto page = reopened.Notifications("beta", 0, 10);
  REQUIRE(page.has_value());
  REQUIRE(page->notifications.size() == 3);
  CHECK(page->notifications[0].match_id == q->matches[0].match_id);
  CHECK(page->notifications[0].still_supported);  // gamma's signal remains
  CHECK(page->notifications[1].match_id == q->matches[89].match_id);
  CHECK_FALSE(page->notifications[1].still_supported);
  CHECK(page->notifications[2].match_id == q->matches[0].match_id);
  CHECK_FALSE(page->notifications[2].still_supported);
}

TEST_CASE("new matches' signals wait in match_signals_recent, then settle") {
  // recent_match_signals.h: rows append to match_signals_recent and move to
  // the signal-keyed match_signals in bulk once there are enough of them,
  // or before a retraction of one of their signals needs them there.
  StoreFixture f;
  f.ReopenWith([](SqliteStoreOptions& o) { o.match_settle_rows = 10; });
  Store& s = f.store();
  SubmitCommand c;
  c.member_id = "alpha";
  for (int t = 1; t <= 30; ++t) c.items.push_back(Signal(t));
  REQUIRE(s.SubmitAndWait(c).has_value());
  const auto db = f.dir.path() / "hub.db";
  const auto recent = [&] {
    return QueryInt64(db, "SELECT count(*) FROM match_signals_recent");
  };
  const auto settled = [&] {
    return QueryInt64(db, "SELECT count(*) FROM match_signals");
  };

  REQUIRE(QueryTokens(s, "beta", {1, 2, 3, 4})->matches.size() == 4);
  CHECK(recent() == 4);
  CHECK(settled() == 0);
  // 4 + 8 reaches 10: this transaction settles all twelve.
  REQUIRE(QueryTokens(s, "beta", {5, 6, 7, 8, 9, 10, 11, 12})->matches.size() ==
          8);
  CHECK(recent() == 0);
  CHECK(settled() == 12);
  CHECK(s.Stats().match_settles == 1);
  auto q = QueryTokens(s, "beta", {13, 14});
  REQUIRE(q->matches.size() == 2);
  CHECK(recent() == 2);

  // The writer remembers them across a restart.
  f.Reopen();
  Store& reopened = f.store();
  f.clock.Advance(60s);
  // Token 20 has no match: nothing to move.
  RetractToken(reopened, "alpha", 20, RetractReason::kError);
  CHECK(recent() == 2);
  CHECK(reopened.Stats().match_settles == 0);
  CHECK(reopened.Notifications("beta", 0, 10)->notifications.empty());
  // Token 13's match waits in match_signals_recent: moved, then notified.
  RetractToken(reopened, "alpha", 13, RetractReason::kAppealUpheld);
  CHECK(recent() == 0);
  CHECK(settled() == 14);
  CHECK(reopened.Stats().match_settles == 1);
  CHECK(reopened.Stats().match_settle_seconds > 0);
  auto page = reopened.Notifications("beta", 0, 10);
  REQUIRE(page.has_value());
  REQUIRE(page->notifications.size() == 1);
  CHECK(page->notifications[0].match_id == q->matches[0].match_id);
  CHECK(page->notifications[0].reason == RetractReason::kAppealUpheld);
}

TEST_CASE("matches made before schema 4 are still found by retractions") {
  // A hub upgraded from schema 3 has its matches' signals in match_signals
  // and no match_signals_recent: the migration adds the table, and old and
  // new matches are both notified.
  StoreFixture f;
  MustCreate(f.store(), "alpha", Signal(7));
  MustCreate(f.store(), "alpha", Signal(8));
  auto old_match = QueryTokens(f.store(), "beta", {7});
  REQUIRE(old_match->matches.size() == 1);
  f.store_ptr().reset();
  const auto db = f.dir.path() / "hub.db";
  // As schema 3 left it.
  testing::ExecSql(db,
                   "INSERT INTO match_signals (signal, match)"
                   " SELECT signal, match FROM match_signals_recent;"
                   " DROP TABLE match_signals_recent;"
                   " DROP TABLE oprf_usage;"
                   " DROP TABLE seq_floors;"
                   " DROP TABLE oprf_keys;"
                   " DROP INDEX audit_clock_steps;"
                   " DROP INDEX audit_queries;"
                   " DROP INDEX audit_purges;"
                   " ALTER TABLE dispositions DROP COLUMN notified_seq;"
                   " DROP INDEX notifications_by_member_seq;"
                   " ALTER TABLE notifications DROP COLUMN member_seq;"
                   " PRAGMA user_version = 3");
  f.Reopen();
  Store& s = f.store();
  CHECK(QueryInt64(db, "PRAGMA user_version") == SqliteSchemaVersion());
  CHECK(QueryInt64(db, "SELECT count(*) FROM match_signals_recent") == 0);
  auto new_match = QueryTokens(s, "beta", {8});
  REQUIRE(new_match->matches.size() == 1);
  CHECK(QueryInt64(db, "SELECT count(*) FROM match_signals_recent") == 1);
  f.clock.Advance(60s);
  RetractToken(s, "alpha", 7, RetractReason::kError);
  RetractToken(s, "alpha", 8, RetractReason::kError);
  auto page = s.Notifications("beta", 0, 10);
  REQUIRE(page.has_value());
  REQUIRE(page->notifications.size() == 2);
  CHECK(page->notifications[0].match_id == old_match->matches[0].match_id);
  CHECK(page->notifications[1].match_id == new_match->matches[0].match_id);
}

// Queries `tokens` as `member` and returns the match ids, or "" for an item
// without a match; `inline_answer` says whether the store answered on the
// calling thread (no commit waited for).
std::vector<std::string> MatchIds(Store& s, const std::string& member,
                                  const std::vector<int>& tokens,
                                  bool* inline_answer = nullptr) {
  QueryCommand q;
  q.member_id = member;
  for (int t : tokens) q.items.push_back(KeyOf(t));
  std::promise<std::pair<std::thread::id, Result<QueryOutcome>>> answer;
  auto future = answer.get_future();
  s.Query(q, [&answer](Result<QueryOutcome> r) {
    answer.set_value({std::this_thread::get_id(), std::move(r)});
  });
  auto [thread, r] = future.get();
  if (inline_answer != nullptr) {
    *inline_answer = thread == std::this_thread::get_id();
  }
  REQUIRE(r.has_value());
  std::vector<std::string> ids(tokens.size());
  for (const auto& m : r->matches) ids.at(m.index) = m.match_id;
  return ids;
}

TEST_CASE("with match reuse, a repeat query gets the match it already has") {
  StoreFixture f;
  f.ReopenWith([](SqliteStoreOptions& o) {
    o.match_reuse_window = std::chrono::hours(1);
  });
  Store& s = f.store();
  MustCreate(s, "alpha", Signal(1));
  MustCreate(s, "alpha", Signal(2));
  const std::string m1 = MatchIds(s, "beta", {1})[0];
  REQUIRE_FALSE(m1.empty());

  SECTION("the same signals: the same match, answered without a commit") {
    const auto before = s.Stats().transactions;
    bool inline_answer = false;
    CHECK(MatchIds(s, "beta", {1}, &inline_answer)[0] == m1);
    CHECK(inline_answer);
    CHECK(s.Stats().transactions == before);
    // Mixed with a new match: both, in item order.
    const auto both = MatchIds(s, "beta", {2, 3, 1});
    CHECK_FALSE(both[0].empty());
    CHECK(both[0] != m1);
    CHECK(both[1].empty());
    CHECK(both[2] == m1);
    CHECK(MatchIds(s, "beta", {2})[0] == both[0]);
    // And the one match gets one notification when its signal goes.
    f.clock.Advance(60s);
    RetractToken(s, "alpha", 1, RetractReason::kError);
    auto page = s.Notifications("beta", 0, 10);
    REQUIRE(page.has_value());
    REQUIRE(page->notifications.size() == 1);
    CHECK(page->notifications[0].match_id == m1);
  }
  SECTION("another member gets a match of its own") {
    const std::string other = MatchIds(s, "gamma", {1})[0];
    CHECK_FALSE(other.empty());
    CHECK(other != m1);
  }
  SECTION("new support is a new match") {
    MustCreate(s, "gamma", Signal(1));  // a second platform bans them
    const std::string m2 = MatchIds(s, "beta", {1})[0];
    CHECK(m2 != m1);
    CHECK(MatchIds(s, "beta", {1})[0] == m2);
  }
  SECTION("an updated signal is a new match") {
    auto r = SubmitOne(s, "alpha",
                       Signal(1, Category::kGrooming, Severity::kCritical));
    REQUIRE(r.has_value());
    REQUIRE(r->results[0].status == SubmitStatus::kUpdated);
    CHECK(MatchIds(s, "beta", {1})[0] != m1);
  }
  SECTION("after the window, a new match") {
    f.clock.Advance(std::chrono::hours(1) + 1s);
    CHECK(MatchIds(s, "beta", {1})[0] != m1);
  }
  SECTION("after a restart, a new match (reuse is remembered in memory)") {
    f.Reopen();
    CHECK(MatchIds(f.store(), "beta", {1})[0] != m1);
  }
}

TEST_CASE("without match reuse, every matching query records a new match") {
  StoreFixture f;  // match_reuse_window defaults to 0
  Store& s = f.store();
  MustCreate(s, "alpha", Signal(1));
  const std::string m1 = MatchIds(s, "beta", {1})[0];
  bool inline_answer = true;
  const std::string m2 = MatchIds(s, "beta", {1}, &inline_answer)[0];
  CHECK_FALSE(m1.empty());
  CHECK_FALSE(m2.empty());
  CHECK(m1 != m2);
  CHECK_FALSE(inline_answer);  // it waited for its commit
}

TEST_CASE("retraction notifies matchers and says whether support remains") {
  StoreFixture f;
  Store& s = f.store();
  MustCreate(s, "alpha", Signal(5));
  MustCreate(s, "gamma", Signal(5));
  MustCreate(s, "alpha", Signal(6));
  auto q = QueryTokens(s, "beta", {5, 6});
  REQUIRE(q->matches.size() == 2);
  const std::string m5 = q->matches[0].match_id;
  const std::string m6 = q->matches[1].match_id;

  f.clock.Advance(60s);
  RetractToken(s, "alpha", 5, RetractReason::kAppealUpheld);
  RetractToken(s, "alpha", 6, RetractReason::kError);
  auto page = s.Notifications("beta", 0, 10);
  REQUIRE(page.has_value());
  REQUIRE(page->notifications.size() == 2);
  const Notification& n5 = page->notifications[0];
  CHECK(n5.match_id == m5);
  CHECK(n5.type == FeedEventType::kRetracted);
  CHECK(n5.reason == RetractReason::kAppealUpheld);
  CHECK(n5.still_supported);  // gamma still supports token 5
  CHECK(n5.at == f.clock.Now());
  const Notification& n6 = page->notifications[1];
  CHECK(n6.match_id == m6);
  CHECK(n6.reason == RetractReason::kError);
  CHECK_FALSE(n6.still_supported);
  CHECK(page->cursor == n6.seq);
  CHECK_FALSE(page->more);

  // Paging and other members' views.
  auto first = s.Notifications("beta", 0, 1);
  CHECK(first->notifications.size() == 1);
  CHECK(first->more);
  auto rest = s.Notifications("beta", first->next(), 10);
  CHECK(rest->notifications.size() == 1);
  CHECK(s.Notifications("alpha", 0, 10)->notifications.empty());

  // Expiry of gamma's remaining signal notifies too.
  f.clock.Advance(std::chrono::days(800));
  CHECK(s.ExpireDueAndWait()->expired == 1);
  auto after = s.Notifications("beta", page->next(), 10);
  REQUIRE(after->notifications.size() == 1);
  CHECK(after->notifications[0].match_id == m5);
  CHECK(after->notifications[0].type == FeedEventType::kExpired);
  CHECK_FALSE(after->notifications[0].reason.has_value());
  CHECK_FALSE(after->notifications[0].still_supported);
}

// A mirror as a member would keep one: signal_id -> event.
using Mirror = std::map<std::string, FeedEvent>;

void Follow(Store& s, const std::string& member, std::uint64_t* cursor,
            Mirror* mirror) {
  while (true) {
    auto page = s.Feed(member, *cursor, 3);
    REQUIRE(page.has_value());
    for (const FeedEvent& e : page->events) {
      if (e.type == FeedEventType::kAdded) {
        (*mirror)[e.signal_id] = e;
      } else {
        mirror->erase(e.signal_id);
      }
    }
    *cursor = page->cursor;
    if (!page->more) break;
  }
}

TEST_CASE("a feed mirror converges to the active set of other members") {
  StoreFixture f;
  Store& s = f.store();
  Mirror mirror;
  std::uint64_t cursor = 0;
  // Interleave changes with partial follows.
  for (int i = 0; i < 12; ++i) {
    MustCreate(s, i % 3 == 0 ? "beta" : "alpha", Signal(i));
    MustCreate(s, "gamma", Signal(i, Category::kOther));
    if (i % 4 == 0) Follow(s, "beta", &cursor, &mirror);
  }
  auto update = Signal(1, Category::kGrooming, Severity::kLow);
  REQUIRE(SubmitOne(s, "alpha", update)->results[0].status ==
          SubmitStatus::kUpdated);
  RetractToken(s, "alpha", 2, RetractReason::kDuplicate);
  RetractToken(s, "gamma", 5, RetractReason::kOther);
  auto short_lived = Signal(50);
  short_lived.expires_at = f.clock.Now() + 5s;
  MustCreate(s, "alpha", short_lived);
  Follow(s, "beta", &cursor, &mirror);
  f.clock.Advance(10s);
  REQUIRE(s.ExpireDueAndWait()->expired == 1);
  Follow(s, "beta", &cursor, &mirror);

  // Expected: every active signal of alpha and gamma, by token+category.
  std::multiset<std::string> expected;
  for (int i = 0; i < 12; ++i) {
    if (i % 3 != 0 && i != 2)
      expected.insert(HexEncode(testing::TokenOf(i)) + "/grooming");
    if (i != 5) expected.insert(HexEncode(testing::TokenOf(i)) + "/other");
  }
  std::multiset<std::string> mirrored;
  for (const auto& [id, e] : mirror) {
    mirrored.insert(HexEncode(e.key.token) + "/" +
                    std::string(ToString(e.category)));
    if (e.key.token == testing::TokenOf(1) &&
        e.category == Category::kGrooming) {
      CHECK(e.severity == Severity::kLow);  // the update arrived
    }
  }
  CHECK(mirrored == expected);
  // beta's own signals never appear in its feed.
  for (const auto& [id, e] : mirror) CHECK(e.key.kind == "email");
  CHECK(s.Feed("beta", cursor, 10)->events.empty());
}

TEST_CASE("unknown members get no feed or notifications") {
  StoreFixture f;
  CHECK(f.store().Feed("mallory", 0, 10).error().code ==
        ErrorCode::kPermissionDenied);
  CHECK(f.store().Notifications("mallory", 0, 10).error().code ==
        ErrorCode::kPermissionDenied);
}

TEST_CASE(
    "match ids are well formed, unguessable and their times sort in the "
    "order the matches were made") {
  StoreFixture f;
  Store& s = f.store();
  for (int t = 1; t <= 3; ++t) MustCreate(s, "alpha", Signal(t));
  // Per round, the smallest and largest time prefix of its ids.
  std::vector<std::pair<std::string, std::string>> rounds;
  std::set<std::string> all;
  for (int round = 0; round < 3; ++round) {
    auto q = QueryTokens(s, "beta", {1, 2, 3});
    REQUIRE(q.has_value());
    REQUIRE(q->matches.size() == 3);
    std::set<std::string> times;
    for (const auto& m : q->matches) {
      CHECK(wire::IsWellFormedMatchId(m.match_id));
      all.insert(m.match_id);
      times.insert(m.match_id.substr(2, 12));
    }
    rounds.emplace_back(*times.begin(), *times.rbegin());
  }
  // Ids made in the same millisecond differ in their random part.
  CHECK(all.size() == 9);
  for (std::size_t r = 1; r < rounds.size(); ++r) {
    CHECK(rounds[r - 1].second <= rounds[r].first);
  }
}

}  // namespace
}  // namespace cairn::server
