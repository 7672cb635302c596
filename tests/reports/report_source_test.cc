// ReportSource over a store populated through the Store API with a manual
// clock: a known story gives exact figures.
#include <sqlite3.h>

#include <functional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "cairn/timestamp.h"
#include "server/src/reports/report_source.h"
#include "server/store_test_util.h"

namespace cairn::server {
namespace {

using namespace std::chrono_literals;
using testing::KeyOf;
using testing::kStart;
using testing::Signal;

constexpr std::int64_t kDay = 86400;
// Midnight (UTC) of the day the story starts: kStart is 14:00.
constexpr std::int64_t kDay0 = kStart - 14 * 3600;

sys_seconds At(std::int64_t unix) {
  return sys_seconds{std::chrono::seconds{unix}};
}

std::uint64_t CountOf(const wire::Counts& counts, std::string_view key) {
  for (const auto& [k, n] : counts) {
    if (k == key) return n;
  }
  return 0;
}

wire::ReportRequest Period(std::string member = {}) {
  wire::ReportRequest r;
  r.from = At(kDay0);
  r.to = At(kDay0 + 3 * kDay);
  r.member = std::move(member);
  return r;
}

// The story (times UTC, D0 = the first day):
//   D0 14:00 alpha submits tokens 1, 2 (grooming), 3 (sextortion);
//            beta submits 1 (grooming) and a phone token 4 (trafficking)
//   D1 14:00 gamma queries 1, 3, 5: matches on 1 (alpha+beta) and 3 (alpha)
//   D1 16:00 gamma: match on 1 confirmed
//   D2 14:00 beta queries 2, 3: matches on 2 and 3 (alpha each)
//   D2 18:00 beta: match on 2 false_positive
//   D2 19:00 alpha retracts 3 (appeal_upheld): gamma and beta are notified
//   D2 21:00 beta: match on 3 no_action (its re-review)
struct Story {
  testing::StoreFixture fixture;
  std::string gamma_match_1, gamma_match_3, beta_match_2, beta_match_3;

  Story() {
    Store& store = fixture.store();
    SubmitCommand alpha;
    alpha.member_id = "alpha";
    alpha.items = {Signal(1), Signal(2), Signal(3, Category::kSextortion)};
    REQUIRE(store.SubmitAndWait(alpha).has_value());
    SubmitCommand beta;
    beta.member_id = "beta";
    auto phone = Signal(4, Category::kTrafficking);
    phone.key = KeyOf(4, "phone");
    beta.items = {Signal(1), phone};
    REQUIRE(store.SubmitAndWait(beta).has_value());

    fixture.clock.Advance(24h);
    auto q1 = Query("gamma", {1, 3, 5});
    REQUIRE(q1.has_value());
    REQUIRE(q1->matches.size() == 2);
    gamma_match_1 = q1->matches[0].match_id;
    gamma_match_3 = q1->matches[1].match_id;
    fixture.clock.Advance(2h);
    Dispose("gamma", gamma_match_1, Outcome::kConfirmed);

    fixture.clock.Advance(22h);
    auto q2 = Query("beta", {2, 3});
    REQUIRE(q2.has_value());
    REQUIRE(q2->matches.size() == 2);
    beta_match_2 = q2->matches[0].match_id;
    beta_match_3 = q2->matches[1].match_id;
    fixture.clock.Advance(4h);
    Dispose("beta", beta_match_2, Outcome::kFalsePositive);

    fixture.clock.Advance(1h);
    RetractCommand retract;
    retract.member_id = "alpha";
    RetractionItem item;
    item.key = KeyOf(3);
    item.reason = RetractReason::kAppealUpheld;
    retract.items = {item};
    auto retracted = store.RetractAndWait(retract);
    REQUIRE(retracted.has_value());
    REQUIRE(retracted->results[0].status == RetractStatus::kRetracted);

    fixture.clock.Advance(2h);
    Dispose("beta", beta_match_3, Outcome::kNoAction);
  }

  // As the hub does: the caller is the audit log's actor.
  Result<QueryOutcome> Query(const std::string& member,
                             std::vector<int> tokens) {
    QueryCommand q;
    q.context.actor = member;
    q.member_id = member;
    for (int t : tokens) q.items.push_back(KeyOf(t));
    return fixture.store().QueryAndWait(std::move(q));
  }

  void Dispose(const std::string& member, const std::string& match,
               Outcome outcome) {
    DisposeCommand d;
    d.member_id = member;
    d.match_id = match;
    d.outcome = outcome;
    REQUIRE(fixture.store().DisposeAndWait(d).has_value());
  }

  std::shared_ptr<ReportSource> Source() {
    auto source = ReportSource::Open(fixture.dir.path() / "hub.db",
                                     fixture.clock.AsClock());
    REQUIRE(source.has_value());
    return *source;
  }
};

TEST_CASE("summary of all members has the story's exact figures") {
  Story story;
  auto summary = story.Source()->Summary(Period());
  REQUIRE(summary.has_value());
  const auto& s = *summary;
  CHECK(s.member.empty());
  CHECK(s.generated_at == At(kStart + 2 * kDay + 7 * 3600));

  CHECK(s.signals.submitted == 5);
  CHECK(CountOf(s.signals.by_category, "grooming") == 3);
  CHECK(CountOf(s.signals.by_category, "sextortion") == 1);
  CHECK(CountOf(s.signals.by_category, "trafficking") == 1);
  CHECK(s.signals.by_category.size() == 6);  // zeros listed too
  CHECK(CountOf(s.signals.by_kind, "email") == 4);
  CHECK(CountOf(s.signals.by_kind, "phone") == 1);
  CHECK(s.signals.active == 4);

  CHECK(s.retractions.total == 1);
  CHECK(CountOf(s.retractions.by_reason, "appeal_upheld") == 1);

  CHECK(s.queries.audit_log_available);
  CHECK(s.queries.requests == 2);
  CHECK(s.queries.tokens == 5);
  CHECK(s.queries.note.empty());

  CHECK(s.matches.total == 4);
  CHECK(s.matches.by_platforms == wire::Counts{{"1", 3}, {"2", 1}});

  CHECK(s.dispositions.reviewed == 3);
  CHECK(s.dispositions.unreviewed == 1);
  CHECK(CountOf(s.dispositions.by_outcome, "confirmed") == 1);
  CHECK(CountOf(s.dispositions.by_outcome, "false_positive") == 1);
  CHECK(CountOf(s.dispositions.by_outcome, "no_action") == 1);
  CHECK(CountOf(s.dispositions.by_outcome, "actioned") == 0);
  REQUIRE(s.dispositions.false_positive_rate.has_value());
  CHECK(*s.dispositions.false_positive_rate == Approx(1.0 / 3.0));
  // Waits of 2 h, 4 h and 7 h.
  CHECK(s.dispositions.median_seconds_to_disposition == 4 * 3600u);

  CHECK(s.pending_reviews.older_than_days == 7);
  CHECK(s.pending_reviews.count == 0);  // the open match is 31 hours old

  CHECK(s.rereviews.notified == 2);
  CHECK(s.rereviews.needed == 1);  // gamma has not looked again

  REQUIRE(s.daily.size() == 3);
  CHECK(s.daily[0].start == "2026-11-23");
  CHECK(s.daily[0].signals == 5);
  CHECK(s.daily[1].matches == 2);
  CHECK(s.daily[1].queries == 1);
  CHECK(s.daily[1].tokens_queried == 3);
  CHECK(s.daily[1].dispositions == 1);
  CHECK(s.daily[2].matches == 2);
  CHECK(s.daily[2].dispositions == 2);
  CHECK(s.daily[2].false_positives == 1);
  CHECK(s.daily[2].retractions == 1);
  // 2026-11-23 is a Monday: one week.
  REQUIRE(s.weekly.size() == 1);
  CHECK(s.weekly[0].start == "2026-11-23");
  CHECK(s.weekly[0].matches == 4);
  CHECK(s.weekly[0].signals == 5);
}

TEST_CASE("summary for one member counts only what that member did") {
  Story story;
  auto source = story.Source();
  auto beta = source->Summary(Period("beta"));
  REQUIRE(beta.has_value());
  CHECK(beta->member == "beta");
  CHECK(beta->signals.submitted == 2);
  CHECK(beta->signals.active == 2);
  CHECK(beta->retractions.total == 0);
  CHECK(beta->queries.requests == 1);
  CHECK(beta->queries.tokens == 2);
  CHECK(beta->matches.total == 2);
  CHECK(beta->matches.by_platforms == wire::Counts{{"1", 2}});
  CHECK(beta->dispositions.reviewed == 2);
  CHECK(beta->dispositions.false_positive_rate == 0.5);
  CHECK(beta->rereviews.notified == 1);
  CHECK(beta->rereviews.needed == 0);

  auto alpha = source->Summary(Period("alpha"));
  REQUIRE(alpha.has_value());
  CHECK(alpha->signals.submitted == 3);
  CHECK(alpha->retractions.total == 1);
  CHECK(alpha->matches.total == 0);
  CHECK_FALSE(alpha->dispositions.false_positive_rate.has_value());
  CHECK_FALSE(alpha->dispositions.median_seconds_to_disposition.has_value());
}

TEST_CASE(
    "a review and a retraction in the same second are told apart by their "
    "order") {
  // Both orders within one second of the clock: only a review recorded
  // before the retraction leaves a re-review to do.
  for (const bool review_first : {true, false}) {
    CAPTURE(review_first);
    Story story;
    Store& store = story.fixture.store();
    SubmitCommand alpha;
    alpha.member_id = "alpha";
    alpha.items = {Signal(9)};
    REQUIRE(store.SubmitAndWait(alpha).has_value());
    auto q = story.Query("beta", {9});
    REQUIRE(q.has_value());
    REQUIRE(q->matches.size() == 1);
    const std::string match = q->matches[0].match_id;
    RetractCommand retract;
    retract.member_id = "alpha";
    RetractionItem item;
    item.key = KeyOf(9);
    item.reason = RetractReason::kError;
    retract.items = {item};
    if (review_first) story.Dispose("beta", match, Outcome::kFalsePositive);
    REQUIRE(store.RetractAndWait(retract).has_value());
    if (!review_first) story.Dispose("beta", match, Outcome::kNoAction);

    auto summary = story.Source()->Summary(Period("beta"));
    REQUIRE(summary.has_value());
    // The story's own retraction of 3 (reviewed again) plus this one.
    CHECK(summary->rereviews.notified == 2);
    CHECK(summary->rereviews.needed == (review_first ? 1U : 0U));
  }
}

TEST_CASE("pending reviews count undisposed matches older than the limit") {
  Story story;
  auto source = story.Source();
  struct Case {
    std::uint32_t days;
    std::uint64_t count;
  };
  // The open match (gamma's on token 3) was made 31 hours before "now".
  const Case cases[] = {{0, 1}, {1, 1}, {2, 0}, {7, 0}};
  for (const auto& c : cases) {
    CAPTURE(c.days);
    auto r = Period();
    r.pending_days = c.days;
    auto s = source->Summary(r);
    REQUIRE(s.has_value());
    CHECK(s->pending_reviews.count == c.count);
    CHECK(s->pending_reviews.oldest.has_value() == (c.count > 0));
  }
}

TEST_CASE("periods select by time: from is included, to is not") {
  Story story;
  auto source = story.Source();
  struct Case {
    std::int64_t from, to;
    std::uint64_t signals, matches;
  };
  const Case cases[] = {
      {kDay0, kDay0 + kDay, 5, 0},
      {kDay0 + kDay, kDay0 + 2 * kDay, 0, 2},
      {kStart, kStart + 1, 5, 0},  // the submissions' second
      {kStart + 1, kStart + kDay, 0, 0},
      {kStart - 10 * kDay, kStart, 0, 0},  // ends just before them
  };
  for (const auto& c : cases) {
    CAPTURE(FormatTimestamp(At(c.from)), FormatTimestamp(At(c.to)));
    wire::ReportRequest r;
    r.from = At(c.from);
    r.to = At(c.to);
    auto s = source->Summary(r);
    REQUIRE(s.has_value());
    CHECK(s->signals.submitted == c.signals);
    CHECK(s->matches.total == c.matches);
  }
}

TEST_CASE("match list has every column and pages with a cursor") {
  Story story;
  auto source = story.Source();
  auto all = source->Matches(Period());
  REQUIRE(all.has_value());
  REQUIRE(all->matches.size() == 4);
  CHECK_FALSE(all->more);
  const auto& g1 = all->matches[0];
  CHECK(g1.match_id == story.gamma_match_1);
  CHECK(g1.member == "gamma");
  CHECK(g1.at == At(kStart + kDay));
  CHECK(g1.kinds == std::vector<std::string>{"email"});
  CHECK(g1.categories == std::vector<Category>{Category::kGrooming});
  CHECK(g1.platforms == 2);
  CHECK(g1.disposition == Outcome::kConfirmed);
  CHECK(g1.disposed_at == At(kStart + kDay + 2 * 3600));
  CHECK_FALSE(g1.retracted_since);
  const auto& g3 = all->matches[1];
  CHECK(g3.match_id == story.gamma_match_3);
  CHECK(g3.categories == std::vector<Category>{Category::kSextortion});
  CHECK_FALSE(g3.disposition.has_value());
  CHECK(g3.retracted_since);
  CHECK(all->matches[2].disposition == Outcome::kFalsePositive);
  CHECK(all->matches[3].retracted_since);
  CHECK(all->matches[3].disposition == Outcome::kNoAction);

  auto r = Period();
  r.limit = 3;
  auto first = source->Matches(r);
  REQUIRE(first.has_value());
  CHECK(first->matches.size() == 3);
  CHECK(first->more);
  r.after = first->cursor;
  auto second = source->Matches(r);
  REQUIRE(second.has_value());
  REQUIRE(second->matches.size() == 1);
  CHECK(second->matches[0].match_id == story.beta_match_3);
  CHECK_FALSE(second->more);

  auto mine = source->Matches(Period("gamma"));
  REQUIRE(mine.has_value());
  CHECK(mine->matches.size() == 2);
}

TEST_CASE("match figures are the same before and after signals settle") {
  // A match's supporting signals wait in match_signals_recent until they
  // settle into match_signals (server/src/store/recent_match_signals.h);
  // reports read both.
  const std::size_t settle_rows = GENERATE(std::size_t{65536}, 1);
  CAPTURE(settle_rows);
  testing::StoreFixture f;
  f.ReopenWith([settle_rows](SqliteStoreOptions& o) {
    o.match_settle_rows = settle_rows;
  });
  Store& store = f.store();
  SubmitCommand alpha;
  alpha.member_id = "alpha";
  auto phone = Signal(2, Category::kSextortion);
  phone.key = KeyOf(2, "phone");
  alpha.items = {Signal(1), phone};
  REQUIRE(store.SubmitAndWait(alpha).has_value());
  REQUIRE(testing::SubmitOne(store, "beta", Signal(1, Category::kTrafficking))
              .has_value());
  f.clock.Advance(1h);
  QueryCommand q;
  q.member_id = "gamma";
  q.items = {KeyOf(1), KeyOf(2, "phone")};
  REQUIRE(store.QueryAndWait(q)->matches.size() == 2);
  CHECK(testing::QueryInt64(f.dir.path() / "hub.db",
                            "SELECT count(*) FROM match_signals_recent") ==
        (settle_rows == 1 ? 0 : 3));

  auto source = ReportSource::Open(f.dir.path() / "hub.db", f.clock.AsClock());
  REQUIRE(source.has_value());
  auto summary = (*source)->Summary(Period());
  REQUIRE(summary.has_value());
  CHECK(summary->matches.total == 2);
  CHECK(summary->matches.by_platforms == wire::Counts{{"1", 1}, {"2", 1}});
  auto list = (*source)->Matches(Period());
  REQUIRE(list.has_value());
  REQUIRE(list->matches.size() == 2);
  CHECK(list->matches[0].platforms == 2);
  CHECK(list->matches[0].kinds == std::vector<std::string>{"email"});
  CHECK(list->matches[0].categories ==
        std::vector<Category>{Category::kGrooming, Category::kTrafficking});
  CHECK(list->matches[1].platforms == 1);
  CHECK(list->matches[1].kinds == std::vector<std::string>{"phone"});
  CHECK(list->matches[1].categories ==
        std::vector<Category>{Category::kSextortion});
}

TEST_CASE(
    "after a purge, reports of periods reaching back before its tombstone "
    "cut-off say their figures may be lower") {
  Story story;
  auto& f = story.fixture;
  const auto path = f.dir.path() / "hub.db";
  const std::int64_t cutoff = kDay0 + 2 * kDay + 21 * 3600;  // D2 21:00
  REQUIRE(f.clock.Now() == At(cutoff));
  {
    auto before = story.Source()->Summary(Period());
    REQUIRE(before.has_value());
    CHECK_FALSE(before->retention.purge_cutoff.has_value());
    CHECK(before->signals.submitted == 5);
    CHECK(before->retractions.total == 1);
    CHECK(before->matches.by_platforms == wire::Counts{{"1", 3}, {"2", 1}});
  }
  // As `cairnctl purge --tombstone-days 0`: token 3, retracted at D2 19:00,
  // goes with its retraction and the rows of the two matches made on it.
  f.ReopenWith([](SqliteStoreOptions& o) { o.tombstone_period = {}; });
  auto purged = f.store().PurgeAndWait(PurgeCommand{});
  REQUIRE(purged.has_value());
  REQUIRE(purged->signals == 1);

  auto source = story.Source();
  auto summary = source->Summary(Period());
  REQUIRE(summary.has_value());
  CHECK(summary->signals.submitted == 4);  // lower than first reported
  CHECK(summary->retractions.total == 0);
  CHECK(summary->matches.total == 4);
  CHECK(summary->matches.by_platforms == wire::Counts{{"1", 1}, {"2", 1}});
  REQUIRE(summary->retention.purge_cutoff.has_value());
  CHECK(*summary->retention.purge_cutoff == At(cutoff));
  CHECK_THAT(summary->retention.note,
             Catch::Contains(FormatTimestamp(At(cutoff))) &&
                 Catch::Contains("lower than when first reported"));
  auto list = source->Matches(Period());
  REQUIRE(list.has_value());
  CHECK(list->retention.purge_cutoff == summary->retention.purge_cutoff);
  CHECK_THAT(list->retention.note, Catch::Contains("kinds, categories"));

  // A period starting at the cut-off can have lost rows (the purge takes
  // what departed at or before it); one starting after it cannot.
  struct Case {
    std::int64_t from;
    bool warned;
  };
  for (const Case c :
       {Case{cutoff - kDay, true}, Case{cutoff, true}, Case{cutoff + 1, false},
        Case{kDay0 + 3 * kDay, false}}) {
    CAPTURE(c.from);
    wire::ReportRequest r;
    r.from = At(c.from);
    r.to = At(kDay0 + 5 * kDay);
    auto s = source->Summary(r);
    REQUIRE(s.has_value());
    CHECK(s->retention.purge_cutoff.has_value() == c.warned);
    CHECK(s->retention.note.empty() == !c.warned);
    auto m = source->Matches(r);
    REQUIRE(m.has_value());
    CHECK(m->retention.purge_cutoff == s->retention.purge_cutoff);
  }

  // A purge entry written before purges recorded their cut-off counts from
  // the entry's own time, the latest the cut-off can have been.
  f.clock.Advance(1h);
  f.store_ptr().reset();  // close the writer
  testing::ExecSql(path,
                   "UPDATE audit_log SET details = json_remove(details,"
                   " '$.tombstone_cutoff'), at = at + 600"
                   " WHERE action = 'purge'");
  auto legacy = ReportSource::Open(path, f.clock.AsClock());
  REQUIRE(legacy.has_value());
  auto old = (*legacy)->Summary(Period());
  REQUIRE(old.has_value());
  REQUIRE(old->retention.purge_cutoff.has_value());
  CHECK(*old->retention.purge_cutoff == At(cutoff + 600));
}

TEST_CASE(
    "after a purge of matches, dispositions or notifications (their own "
    "retention), reports of periods reaching back before its cut-off say "
    "their figures may be lower") {
  const std::int64_t now = kDay0 + 2 * kDay + 21 * 3600;  // D2 21:00
  struct Case {
    std::string name;
    std::function<void(SqliteStoreOptions&)> retention;
    std::int64_t cutoff;
    // The figure the purge lowers, before and after.
    std::function<std::uint64_t(const wire::ReportSummary&)> figure;
    std::uint64_t before, after;
    std::size_t listed_after;  // rows of the period's match list
  };
  const std::vector<Case> cases = {
      // gamma's two matches of D1 14:00 go, with its review and the
      // notification about one of them.
      {"matches", [](SqliteStoreOptions& o) { o.match_retention = 31h; },
       now - 31 * 3600,
       [](const wire::ReportSummary& s) { return s.matches.total; }, 4, 2, 2},
      // gamma's review of D1 16:00 goes: its match counts as unreviewed.
      {"dispositions",
       [](SqliteStoreOptions& o) { o.disposition_retention = 28h; },
       now - 28 * 3600,
       [](const wire::ReportSummary& s) { return s.dispositions.reviewed; }, 3,
       2, 4},
      // The two notifications of D2 19:00 go.
      {"notifications",
       [](SqliteStoreOptions& o) { o.notification_retention = 1h; }, now - 3600,
       [](const wire::ReportSummary& s) { return s.rereviews.notified; }, 2, 0,
       4},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    Story story;
    auto& f = story.fixture;
    REQUIRE(f.clock.Now() == At(now));
    {
      auto before = story.Source()->Summary(Period());
      REQUIRE(before.has_value());
      CHECK_FALSE(before->retention.purge_cutoff.has_value());
      CHECK(c.figure(*before) == c.before);
    }
    // As `cairnctl purge --match-retention-days ...`; the tombstone period
    // (30 days) reaches back before every signal: no signal goes.
    f.ReopenWith(c.retention);
    auto purged = f.store().PurgeAndWait(PurgeCommand{});
    REQUIRE(purged.has_value());
    REQUIRE(purged->signals == 0);
    REQUIRE(purged->Total() > 0);

    auto source = story.Source();
    auto summary = source->Summary(Period());
    REQUIRE(summary.has_value());
    CHECK(c.figure(*summary) == c.after);  // lower than first reported
    const auto& retention = summary->retention;
    REQUIRE(retention.purge_cutoff.has_value());
    CHECK(*retention.purge_cutoff == At(c.cutoff));
    CHECK(retention.match_cutoff == retention.purge_cutoff);
    CHECK_THAT(retention.note,
               Catch::Contains("the hub has purged the matches made, and the "
                               "dispositions and notifications recorded, at "
                               "or before " +
                               FormatTimestamp(At(c.cutoff))) &&
                   Catch::Contains("its match, disposition and re-review "
                                   "figures") &&
                   Catch::Contains("lower than when first reported") &&
                   !Catch::Contains("signals retracted or expired"));
    auto list = source->Matches(Period());
    REQUIRE(list.has_value());
    CHECK(list->matches.size() == c.listed_after);
    CHECK(list->retention.purge_cutoff == retention.purge_cutoff);
    CHECK(list->retention.match_cutoff == retention.match_cutoff);
    CHECK_THAT(list->retention.note,
               Catch::Contains("its list of matches and their dispositions"));

    // A period starting at the cut-off can have lost rows; one starting
    // after it cannot.
    struct Start {
      std::int64_t from;
      bool warned;
    };
    for (const Start start :
         {Start{c.cutoff - kDay, true}, Start{c.cutoff, true},
          Start{c.cutoff + 1, false}}) {
      CAPTURE(start.from);
      wire::ReportRequest r;
      r.from = At(start.from);
      r.to = At(kDay0 + 5 * kDay);
      auto s = source->Summary(r);
      REQUIRE(s.has_value());
      CHECK(s->retention.match_cutoff.has_value() == start.warned);
      CHECK(s->retention.note.empty() == !start.warned);
      auto m = source->Matches(r);
      REQUIRE(m.has_value());
      CHECK(m->retention.purge_cutoff == s->retention.purge_cutoff);
      CHECK(m->retention.match_cutoff == s->retention.match_cutoff);
    }
    if (c.name != "matches") continue;

    // Then the tombstone purge too (token 3, retracted at D2 19:00): the
    // note names both, purge_cutoff the newer (the tombstone one).
    f.clock.Advance(1h);
    f.ReopenWith([](SqliteStoreOptions& o) {
      o.match_retention = 31h;
      o.tombstone_period = {};
    });
    auto again = f.store().PurgeAndWait(PurgeCommand{});
    REQUIRE(again.has_value());
    REQUIRE(again->signals == 1);
    auto both = story.Source()->Summary(Period());
    REQUIRE(both.has_value());
    CHECK(both->retention.purge_cutoff == At(now + 3600));
    CHECK(both->retention.match_cutoff == At(now - 31 * 3600));
    CHECK_THAT(both->retention.note,
               Catch::StartsWith("the hub has purged the signals retracted or "
                                 "expired at or before " +
                                 FormatTimestamp(At(now + 3600))) &&
                   Catch::Contains(", and the matches made") &&
                   Catch::Contains("matches.by_platforms, and its match"));
    CHECK(both->retention.note.size() <= 1000);  // the schemas' limit

    // A purge entry written before purges recorded these cut-offs counts
    // from the entry's own time, the latest the cut-off can have been.
    f.store_ptr().reset();  // close the writer
    const auto path = f.dir.path() / "hub.db";
    testing::ExecSql(path,
                     "UPDATE audit_log SET details = json_remove(details,"
                     " '$.match_cutoff', '$.disposition_cutoff',"
                     " '$.notification_cutoff') WHERE action = 'purge'");
    auto legacy = ReportSource::Open(path, f.clock.AsClock());
    REQUIRE(legacy.has_value());
    auto old = (*legacy)->Summary(Period());
    REQUIRE(old.has_value());
    CHECK(old->retention.match_cutoff == At(now));
  }
}

TEST_CASE("unknown members and cursors are clear errors") {
  Story story;
  auto source = story.Source();
  auto unknown = source->Summary(Period("nobody"));
  REQUIRE_FALSE(unknown.has_value());
  CHECK(unknown.error().code == ErrorCode::kNotFound);
  CHECK(unknown.error().field == "member");
  auto r = Period();
  r.after = "not-a-number";
  auto bad = source->Matches(r);
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().code == ErrorCode::kInvalidArgument);
  CHECK(bad.error().field == "after");
}

TEST_CASE("a damaged category in the database fails the match list clearly") {
  Story story;
  const auto path = story.fixture.dir.path() / "hub.db";
  story.fixture.store_ptr().reset();  // close the writer
  // SQLite keeps what it is given: a category that is not a number.
  testing::ExecSql(path, "UPDATE signals SET category = 'grooming'");
  auto source = ReportSource::Open(path, story.fixture.clock.AsClock());
  REQUIRE(source.has_value());
  auto list = (*source)->Matches(Period());
  REQUIRE_FALSE(list.has_value());
  CHECK(list.error().code == ErrorCode::kInternal);
  CHECK_THAT(list.error().message,
             Catch::Contains("cannot read") && Catch::Contains("grooming"));
}

TEST_CASE("without an audit log, queries are zero and say why") {
  Story story;
  const auto path = story.fixture.dir.path() / "hub.db";
  story.fixture.store_ptr().reset();  // close the writer
  testing::ExecSql(path, "DROP TABLE audit_log");
  auto source = ReportSource::Open(path, story.fixture.clock.AsClock());
  REQUIRE(source.has_value());
  auto s = (*source)->Summary(Period());
  REQUIRE(s.has_value());
  CHECK_FALSE(s->queries.audit_log_available);
  CHECK(s->queries.requests == 0);
  CHECK(s->queries.note.find("audit log not available") == 0);
  CHECK(s->matches.total == 4);  // the rest is still there
}

// A summary's reads of the audit log go through schema 11's partial
// indexes: only the period's entries of one action, not every entry of the
// log (on a busy hub, millions of query entries).
TEST_CASE("a summary reads the audit log through its partial indexes") {
  testing::StoreFixture f;  // opens, so migrates to the newest schema
  f.store_ptr().reset();
  const auto path = f.dir.path() / "hub.db";
  const std::pair<const char*, const char*> cases[] = {
      {report_internal::kQueriesByDaySql,
       "INDEX audit_queries (at>? AND at<?)"},
      {report_internal::kNewestPurgeSql, "INDEX audit_purges (at>?)"},
  };
  for (const auto& [sql, index] : cases) {
    const std::string plan = cairn::testing::QueryPlan(path, sql);
    INFO(sql);
    INFO(plan);
    CHECK(plan.find(index) != std::string::npos);
    CHECK(plan.find("SCAN audit_log") == std::string::npos);
  }
}

TEST_CASE("a file that is not a hub database is refused") {
  testing::TempDir dir;
  const auto path = dir.path() / "other.db";
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "CREATE TABLE t (x)", nullptr, nullptr, nullptr) ==
          SQLITE_OK);
  sqlite3_close(db);
  auto source = ReportSource::Open(path);
  REQUIRE_FALSE(source.has_value());
  CHECK(source.error().message.find("not a Cairn hub database") !=
        std::string::npos);
  auto missing = ReportSource::Open(dir.path() / "missing.db");
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code == ErrorCode::kIo);
}

}  // namespace
}  // namespace cairn::server
