// A caller's standing (not suspended, certificate unrevoked, role held) is
// checked again by the store at the command's place in the commit order:
// the router's check runs before the body is read, and a suspension,
// revocation or role change may commit in between or earlier in the same
// batch. Also: a reused match is re-checked against the signals as the
// batch has them.
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "store_test_util.h"

namespace cairn::server {
namespace {

using testing::Fingerprint;
using testing::KeyOf;
using testing::QueryInt64;
using testing::QueryTokens;
using testing::Signal;
using testing::StoreFixture;
using testing::SubmitOne;

// Holds the writer inside the batch that appends an audit entry with action
// `action`, until Open(): commands queued meanwhile share the next batch.
class Gate final : public AuditHook {
 public:
  explicit Gate(std::string action) : action_(std::move(action)) {}
  Status Append(const AuditEvent& e) override {
    if (e.action != action_) return {};
    std::unique_lock lock(mutex_);
    entered_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
    return {};
  }
  void WaitEntered() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return entered_; });
  }
  void Open() {
    {
      std::lock_guard lock(mutex_);
      open_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::string action_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool entered_ = false;
  bool open_ = false;
};

// A store whose writer can be held in a batch: Hold() queues a kind
// registration and returns once the writer is inside its batch.
struct GatedFixture {
  explicit GatedFixture(
      const std::function<void(SqliteStoreOptions&)>& more = nullptr) {
    f.ReopenWith([gate = gate, more](SqliteStoreOptions& o) {
      o.audit_hook = gate;
      if (more) more(o);
    });
  }
  void Hold() {
    RegisterKindCommand k;
    k.kind = "gate_kind";
    f.store().RegisterKind(k, [this](const Status& s) { held.set_value(s); });
    gate->WaitEntered();
  }
  void Release() {
    gate->Open();
    REQUIRE(held.get_future().get().has_value());
  }

  std::shared_ptr<Gate> gate = std::make_shared<Gate>("kind.register");
  StoreFixture f;
  std::promise<Status> held;
};

template <typename T>
std::future<Result<T>> Later(
    const std::function<void(Store::Callback<T>)>& start) {
  auto promise = std::make_shared<std::promise<Result<T>>>();
  auto future = promise->get_future();
  start([promise](Result<T> r) { promise->set_value(std::move(r)); });
  return future;
}

CommandContext Ctx(const std::string& member, const std::string& fp) {
  return CommandContext{"r_" + member, member, fp};
}

MemberChangeCommand Change(const std::string& operator_fp,
                           const std::string& member,
                           MemberChangeCommand::Change change) {
  MemberChangeCommand c;
  c.context = Ctx("ops", operator_fp);
  c.member_id = member;
  c.change = change;
  return c;
}

MemberChangeCommand Suspend(const std::string& member) {
  auto c =
      Change(Fingerprint(1000), member, MemberChangeCommand::Change::kSuspend);
  c.reason = "abuse";
  return c;
}

SubmitCommand SubmitAs(const std::string& member, const std::string& fp,
                       int token) {
  SubmitCommand c;
  c.context = Ctx(member, fp);
  c.member_id = member;
  c.items = {Signal(token)};
  return c;
}

QueryCommand QueryAs(const std::string& member, const std::string& fp,
                     const std::vector<int>& tokens) {
  QueryCommand c;
  c.context = Ctx(member, fp);
  c.member_id = member;
  for (int t : tokens) c.items.push_back(KeyOf(t));
  return c;
}

RetractCommand RetractAs(const std::string& member, const std::string& fp,
                         int token) {
  RetractCommand c;
  c.context = Ctx(member, fp);
  c.member_id = member;
  c.items.resize(1);
  c.items[0].key = KeyOf(token);
  c.items[0].reason = RetractReason::kError;
  return c;
}

template <typename T>
void RequireRefused(const Result<T>& r, const std::string& message) {
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == ErrorCode::kPermissionDenied);
  CHECK_THAT(r.error().message, Catch::Contains(message));
}

// How many audit entries of `actor` after the newest member.change have
// `action` and `result`.
std::int64_t AuditAfterChange(const std::filesystem::path& db,
                              const std::string& actor,
                              const std::string& action,
                              const std::string& result) {
  return QueryInt64(db, "SELECT count(*) FROM audit_log WHERE actor = '" +
                            actor + "' AND action = '" + action +
                            "' AND result = '" + result +
                            "' AND seq > (SELECT max(seq) FROM audit_log"
                            " WHERE action = 'member.change')");
}

// Gives gamma a second certificate (Fingerprint(2000)) and revokes its
// first (Fingerprint('g')).
void RevokeGammasFirstCertificate(Store& s) {
  auto add = Change(Fingerprint(1000), "gamma",
                    MemberChangeCommand::Change::kAddFingerprint);
  add.fingerprint = Fingerprint(2000);
  REQUIRE(s.ChangeMemberAndWait(add).has_value());
  auto revoke = Change(Fingerprint(1000), "gamma",
                       MemberChangeCommand::Change::kRevokeFingerprint);
  revoke.fingerprint = Fingerprint('g');
  REQUIRE(s.ChangeMemberAndWait(revoke).has_value());
}

// beta's query of token 1, which must match exactly once: that match.
MatchResult BetasOnlyMatchOfToken1(Store& s) {
  auto q = QueryTokens(s, "beta", {1});
  REQUIRE(q.has_value());
  REQUIRE(q->matches.size() == 1);
  return q->matches[0];
}

// A gated store that hands out a match again for a day.
void ReuseMatchesForADay(SqliteStoreOptions& o) {
  o.match_reuse_window = std::chrono::hours(24);
}

// In one batch: alpha retracts its signal of token 1, and beta queries
// tokens 1 and 2, looked up before the retraction commits (so token 1 is a
// reuse hit where beta had a match for it). The retraction must succeed;
// returns the query's answer.
Result<QueryOutcome> RetractAndQueryInOneBatch(GatedFixture& g) {
  Store& s = g.f.store();
  g.Hold();
  auto retracted = Later<RetractOutcome>(
      [&](auto done) { s.Retract(RetractAs("alpha", "", 1), done); });
  auto query = Later<QueryOutcome>([&](auto done) {
    s.Query(QueryAs("beta", "", {1, 2}), done);
  });
  g.Release();
  REQUIRE(retracted.get().has_value());
  return query.get();
}

TEST_CASE(
    "after a suspension is acknowledged no write of the member commits, and "
    "each refusal is audited") {
  StoreFixture f;
  Store& s = f.store();
  const std::string fp = Fingerprint('b');
  REQUIRE(SubmitOne(s, "alpha", Signal(1)).has_value());
  REQUIRE(s.SubmitAndWait(SubmitAs("beta", fp, 3)).has_value());
  auto q = s.QueryAndWait(QueryAs("beta", fp, {1}));
  REQUIRE(q.has_value());
  REQUIRE(q->matches.size() == 1);
  const std::string match = q->matches[0].match_id;

  // beta's requests passed the router's check; the suspension commits and
  // is acknowledged before they reach the store.
  REQUIRE(s.ChangeMemberAndWait(Suspend("beta")).has_value());
  const std::string why = "member 'beta' is suspended (abuse); contact";
  RequireRefused(s.SubmitAndWait(SubmitAs("beta", fp, 4)), why);
  RequireRefused(s.RetractAndWait(RetractAs("beta", fp, 3)), why);
  RequireRefused(s.QueryAndWait(QueryAs("beta", fp, {1})), why);   // matches
  RequireRefused(s.QueryAndWait(QueryAs("beta", fp, {99})), why);  // none
  DisposeCommand d;
  d.context = Ctx("beta", fp);
  d.member_id = "beta";
  d.match_id = match;
  RequireRefused(s.DisposeAndWait(d), why);

  const auto db = f.dir.path() / "hub.db";
  CHECK(QueryInt64(db, "SELECT count(*) FROM signals WHERE status = 0") == 2);
  CHECK(QueryInt64(db, "SELECT count(*) FROM matches") == 1);
  CHECK(QueryInt64(db, "SELECT count(*) FROM dispositions") == 0);
  for (const char* action : {"submit", "retract", "disposition"}) {
    CAPTURE(action);
    CHECK(AuditAfterChange(db, "beta", action, "permission_denied") == 1);
    CHECK(AuditAfterChange(db, "beta", action, "ok") == 0);
  }
  CHECK(AuditAfterChange(db, "beta", "query", "permission_denied") == 2);
  CHECK(AuditAfterChange(db, "beta", "query", "ok") == 0);

  // The refusal is about standing: resumed, the same commands go through.
  REQUIRE(s.ChangeMemberAndWait(Change(Fingerprint(1000), "beta",
                                       MemberChangeCommand::Change::kResume))
              .has_value());
  CHECK(s.SubmitAndWait(SubmitAs("beta", fp, 4)).has_value());
  CHECK(s.DisposeAndWait(d).has_value());
}

TEST_CASE(
    "a revoked, unknown or another member's certificate cannot write, the "
    "member's other certificate can") {
  StoreFixture f;
  Store& s = f.store();
  RevokeGammasFirstCertificate(s);

  RequireRefused(s.SubmitAndWait(SubmitAs("gamma", Fingerprint('g'), 1)),
                 "(SHA-256 fingerprint " + Fingerprint('g') +
                     ") has been revoked by the hub operator");
  RequireRefused(s.QueryAndWait(QueryAs("gamma", Fingerprint('g'), {1})),
                 "has been revoked");
  RequireRefused(s.SubmitAndWait(SubmitAs("gamma", Fingerprint(3000), 1)),
                 "is not registered to any member of this hub");
  RequireRefused(s.SubmitAndWait(SubmitAs("gamma", Fingerprint('a'), 1)),
                 "is not registered to any member of this hub");
  CHECK(s.SubmitAndWait(SubmitAs("gamma", Fingerprint(2000), 1)).has_value());
  const auto db = f.dir.path() / "hub.db";
  CHECK(QueryInt64(db, "SELECT count(*) FROM signals") == 1);
}

TEST_CASE("a member that lost the member role can no longer write") {
  StoreFixture f;
  Store& s = f.store();
  auto roles =
      Change(Fingerprint(1000), "beta", MemberChangeCommand::Change::kSetRoles);
  roles.roles = RoleBit(Role::kCompliance);
  REQUIRE(s.ChangeMemberAndWait(roles).has_value());
  RequireRefused(
      s.SubmitAndWait(SubmitAs("beta", Fingerprint('b'), 1)),
      "this endpoint needs the 'member' role, which member 'beta' does not "
      "have");
  RequireRefused(s.QueryAndWait(QueryAs("beta", Fingerprint('b'), {1})),
                 "needs the 'member' role");
}

TEST_CASE(
    "a suspension, revocation or demotion earlier in the same commit refuses "
    "the member's later commands") {
  GatedFixture g;
  Store& s = g.f.store();
  REQUIRE(SubmitOne(s, "alpha", Signal(1)).has_value());
  const auto transactions = s.Stats().transactions;
  g.Hold();
  // One batch: each change first, then a command of its member.
  auto suspended = Later<MemberRecord>(
      [&](auto done) { s.ChangeMember(Suspend("beta"), done); });
  auto beta_submit = Later<SubmitOutcome>([&](auto done) {
    s.Submit(SubmitAs("beta", Fingerprint('b'), 7), done);
  });
  auto beta_query = Later<QueryOutcome>([&](auto done) {
    s.Query(QueryAs("beta", Fingerprint('b'), {1}), done);
  });
  auto revoke = Change(Fingerprint(1000), "gamma",
                       MemberChangeCommand::Change::kRevokeFingerprint);
  revoke.fingerprint = Fingerprint('g');
  auto revoked =
      Later<MemberRecord>([&](auto done) { s.ChangeMember(revoke, done); });
  auto gamma_retract = Later<RetractOutcome>([&](auto done) {
    s.Retract(RetractAs("gamma", Fingerprint('g'), 1), done);
  });
  auto roles = Change(Fingerprint(1000), "alpha",
                      MemberChangeCommand::Change::kSetRoles);
  roles.roles = RoleBit(Role::kCompliance);
  auto demoted =
      Later<MemberRecord>([&](auto done) { s.ChangeMember(roles, done); });
  auto alpha_submit = Later<SubmitOutcome>([&](auto done) {
    s.Submit(SubmitAs("alpha", Fingerprint('a'), 8), done);
  });
  g.Release();

  REQUIRE(suspended.get().has_value());
  REQUIRE(revoked.get().has_value());
  REQUIRE(demoted.get().has_value());
  RequireRefused(beta_submit.get(), "member 'beta' is suspended");
  RequireRefused(beta_query.get(), "member 'beta' is suspended");
  RequireRefused(gamma_retract.get(), "has been revoked");
  RequireRefused(alpha_submit.get(), "needs the 'member' role");
  CHECK(s.Stats().transactions == transactions + 2);  // the gate's and ours
  const auto db = g.f.dir.path() / "hub.db";
  CHECK(QueryInt64(db, "SELECT count(*) FROM signals") == 1);
  CHECK(QueryInt64(db, "SELECT count(*) FROM matches") == 0);
  CHECK(QueryInt64(db,
                   "SELECT count(*) FROM audit_log WHERE result = "
                   "'permission_denied' AND action IN ('submit', "
                   "'query', 'retract')") == 4);
}

TEST_CASE(
    "an operator demoted or suspended earlier in the same commit cannot make "
    "admin changes") {
  GatedFixture g;
  Store& s = g.f.store();
  CreateMemberCommand ops2;
  ops2.member_id = "ops-two";
  ops2.name = "Second operator";
  ops2.roles = RoleBit(Role::kOperator);
  ops2.fingerprints = {Fingerprint(4000)};
  REQUIRE(s.CreateMemberAndWait(ops2).has_value());
  const std::string fp2 = Fingerprint(4000);

  g.Hold();
  auto roles = Change(Fingerprint(1000), "ops-two",
                      MemberChangeCommand::Change::kSetRoles);
  roles.roles = RoleBit(Role::kMember);
  auto demoted =
      Later<MemberRecord>([&](auto done) { s.ChangeMember(roles, done); });
  auto by_ops2 = Change(fp2, "alpha", MemberChangeCommand::Change::kSuspend);
  by_ops2.context.actor = "ops-two";
  auto suspend =
      Later<MemberRecord>([&](auto done) { s.ChangeMember(by_ops2, done); });
  CreateMemberCommand create;
  create.context = Ctx("ops-two", fp2);
  create.member_id = "newco";
  create.name = "New Co";
  create.roles = RoleBit(Role::kMember);
  auto created =
      Later<MemberRecord>([&](auto done) { s.CreateMember(create, done); });
  RegisterKindCommand kind;
  kind.context = Ctx("ops-two", fp2);
  kind.kind = "steam_id";
  auto registered = Later<void>([&](auto done) { s.RegisterKind(kind, done); });
  g.Release();

  REQUIRE(demoted.get().has_value());
  const std::string why =
      "this endpoint needs the 'operator' role, which member 'ops-two' does "
      "not have";
  RequireRefused(suspend.get(), why);
  RequireRefused(created.get(), why);
  RequireRefused(registered.get(), why);
  CHECK_FALSE(s.GetMember("alpha")->suspended);
  CHECK_FALSE(s.GetMember("newco").has_value());
  CHECK_FALSE(s.IsKnownKind("steam_id"));

  // Acknowledged, the same holds across commits; an operator in good
  // standing (and offline tools, without a certificate) still can.
  RequireRefused(s.ChangeMemberAndWait(by_ops2), why);
  auto by_ops =
      Change(Fingerprint(1000), "alpha", MemberChangeCommand::Change::kSuspend);
  CHECK(s.ChangeMemberAndWait(by_ops).has_value());
  CreateMemberCommand offline = create;
  offline.context = CommandContext{"", "cairnctl", ""};
  CHECK(s.CreateMemberAndWait(offline).has_value());
}

TEST_CASE(
    "a suspended member, a revoked certificate or a member without the member "
    "role reads no feed and no notifications") {
  StoreFixture f;
  Store& s = f.store();
  const std::string fp = Fingerprint('b');
  REQUIRE(SubmitOne(s, "alpha", Signal(1)).has_value());
  auto feed = s.Feed("beta", fp, 0, 100);
  REQUIRE(feed.has_value());
  REQUIRE(feed->events.size() == 1);

  // beta's reads passed the router's check; the suspension is acknowledged
  // before they reach the store.
  REQUIRE(s.ChangeMemberAndWait(Suspend("beta")).has_value());
  const std::string why = "member 'beta' is suspended (abuse); contact";
  RequireRefused(s.Feed("beta", fp, 0, 100), why);
  RequireRefused(s.Notifications("beta", fp, 0, 100), why);
  RequireRefused(s.Feed("beta", 0, 100), why);  // no certificate: tools

  RevokeGammasFirstCertificate(s);
  RequireRefused(s.Feed("gamma", Fingerprint('g'), 0, 100),
                 "(SHA-256 fingerprint " + Fingerprint('g') +
                     ") has been revoked by the hub operator");
  RequireRefused(s.Notifications("gamma", Fingerprint('g'), 0, 100),
                 "has been revoked");
  RequireRefused(s.Feed("gamma", Fingerprint('a'), 0, 100),
                 "is not registered to any member of this hub");
  feed = s.Feed("gamma", Fingerprint(2000), 0, 100);
  REQUIRE(feed.has_value());
  CHECK(feed->events.size() == 1);

  auto roles = Change(Fingerprint(1000), "alpha",
                      MemberChangeCommand::Change::kSetRoles);
  roles.roles = RoleBit(Role::kCompliance);
  REQUIRE(s.ChangeMemberAndWait(roles).has_value());
  RequireRefused(s.Notifications("alpha", Fingerprint('a'), 0, 100),
                 "needs the 'member' role");

  // The refusal is about standing: resumed, beta reads again.
  REQUIRE(s.ChangeMemberAndWait(Change(Fingerprint(1000), "beta",
                                       MemberChangeCommand::Change::kResume))
              .has_value());
  CHECK(s.Feed("beta", fp, 0, 100).has_value());
  CHECK(s.Notifications("beta", fp, 0, 100).has_value());
}

TEST_CASE(
    "a suspension or revocation acknowledged while a feed or notification "
    "page is read withholds the page") {
  StoreFixture f;
  // Run once, on the reading thread, after the page is read.
  std::function<void()> during;
  f.ReopenWith([&during](SqliteStoreOptions& o) {
    o.stream_read_hook_for_testing = [&during] {
      if (during) std::exchange(during, nullptr)();
    };
  });
  Store& s = f.store();
  const std::string fp = Fingerprint('b');
  REQUIRE(SubmitOne(s, "alpha", Signal(1)).has_value());
  BetasOnlyMatchOfToken1(s);
  REQUIRE(s.RetractAndWait(RetractAs("alpha", "", 1)).has_value());

  // Another member's change, published meanwhile, leaves the page be.
  during = [&] {
    REQUIRE(s.ChangeMemberAndWait(Suspend("gamma")).has_value());
  };
  auto feed = s.Feed("beta", fp, 0, 100);
  REQUIRE(feed.has_value());
  CHECK(feed->events.size() == 2);  // alpha's submission and retraction
  CHECK_FALSE(during);

  const std::string why = "member 'beta' is suspended (abuse); contact";
  const auto resume =
      Change(Fingerprint(1000), "beta", MemberChangeCommand::Change::kResume);
  during = [&] { REQUIRE(s.ChangeMemberAndWait(Suspend("beta")).has_value()); };
  RequireRefused(s.Feed("beta", fp, 0, 100), why);
  CHECK_FALSE(during);
  REQUIRE(s.ChangeMemberAndWait(resume).has_value());

  during = [&] { REQUIRE(s.ChangeMemberAndWait(Suspend("beta")).has_value()); };
  RequireRefused(s.Notifications("beta", fp, 0, 100), why);
  CHECK_FALSE(during);
  REQUIRE(s.ChangeMemberAndWait(resume).has_value());

  auto revoke = Change(Fingerprint(1000), "beta",
                       MemberChangeCommand::Change::kRevokeFingerprint);
  revoke.fingerprint = fp;
  during = [&] { REQUIRE(s.ChangeMemberAndWait(revoke).has_value()); };
  RequireRefused(s.Notifications("beta", fp, 0, 100), "has been revoked");
  CHECK_FALSE(during);
}

TEST_CASE(
    "a reused match whose only signal was retracted earlier in the same "
    "commit is not answered") {
  GatedFixture g(ReuseMatchesForADay);
  Store& s = g.f.store();
  REQUIRE(SubmitOne(s, "alpha", Signal(1)).has_value());
  REQUIRE(SubmitOne(s, "alpha", Signal(2)).has_value());
  const std::string m1 = BetasOnlyMatchOfToken1(s).match_id;

  // Token 1 is a reuse hit, token 2 a new hit, so the query is recorded in
  // the retraction's batch.
  auto answer = RetractAndQueryInOneBatch(g);
  REQUIRE(answer.has_value());
  REQUIRE(answer->matches.size() == 1);
  CHECK(answer->matches[0].index == 1);
  CHECK(answer->matches[0].match_id != m1);
  auto n = s.Notifications("beta", 0, 100);
  REQUIRE(n.has_value());
  REQUIRE(n->notifications.size() == 1);
  CHECK(n->notifications[0].match_id == m1);
  CHECK_FALSE(n->notifications[0].still_supported);
  const auto db = g.f.dir.path() / "hub.db";
  CHECK(QueryInt64(db,
                   "SELECT count(*) FROM audit_log WHERE action = "
                   "'query' AND details LIKE '%" +
                       m1 + "%'") == 1);  // q1's entry only
}

TEST_CASE(
    "a reused match whose signals changed earlier in the same commit is "
    "recorded anew") {
  GatedFixture g(ReuseMatchesForADay);
  Store& s = g.f.store();
  REQUIRE(SubmitOne(s, "alpha", Signal(1)).has_value());
  REQUIRE(SubmitOne(s, "gamma", Signal(1)).has_value());
  REQUIRE(SubmitOne(s, "alpha", Signal(2)).has_value());
  const MatchResult first = BetasOnlyMatchOfToken1(s);
  const std::string m1 = first.match_id;
  REQUIRE(first.platforms == 2);

  auto answer = RetractAndQueryInOneBatch(g);
  REQUIRE(answer.has_value());
  REQUIRE(answer->matches.size() == 2);
  const MatchResult& m = answer->matches[0];
  CHECK(m.index == 0);
  CHECK(m.match_id != m1);
  CHECK(m.platforms == 1);  // gamma's signal only
  const auto db = g.f.dir.path() / "hub.db";
  CHECK(QueryInt64(db, "SELECT count(*) FROM matches") == 3);
  const std::string of_m =
      " r JOIN matches m ON m.id = r.match WHERE m.match_id = '" + m.match_id +
      "')";
  CHECK(QueryInt64(db, "SELECT (SELECT count(*) FROM match_signals_recent" +
                           of_m + " + (SELECT count(*) FROM match_signals" +
                           of_m) == 1);
  // The new match is the one handed out again.
  CHECK(BetasOnlyMatchOfToken1(s).match_id == m.match_id);
}

}  // namespace
}  // namespace cairn::server
