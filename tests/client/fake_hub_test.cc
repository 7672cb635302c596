// The fake hub is what integrators test against; it must behave like the
// hub in the ways a pipeline depends on.
#include <set>

#include <catch2/catch.hpp>

#include "cairn/client.h"
#include "cairn/testing/fake_hub.h"
#include "cairn/wire.h"
#include "tests/client/recording_connection.h"

namespace cairn {
namespace {

using testing::FakeHub;

struct Members {
  std::shared_ptr<FakeHub> hub = std::make_shared<FakeHub>();
  ConsortiumKey key = ConsortiumKey::Generate();
  Client alpha = Make("alpha");
  Client beta = Make("beta");

  Client Make(const std::string& member) {
    ClientOptions options;
    options.consortium_key = key;
    options.retry.initial_backoff = std::chrono::milliseconds(1);
    return *MakeClient(options, hub->ConnectionFor(member));
  }
};

Ban BanOf(Identifier id, std::string ref = {}) {
  Ban ban{std::move(id),
          Category::kSextortion,
          Severity::kCritical,
          std::chrono::sys_seconds{std::chrono::seconds{1700000000}},
          std::nullopt,
          true,
          std::nullopt};
  if (!ref.empty()) ban.ref = ref;
  return ban;
}

TEST_CASE("fake hub: a ban by one member matches another member's query") {
  Members m;
  auto submitted = m.alpha.Submit({BanOf(Identifier::Email("x@example.com"))});
  REQUIRE(submitted);
  CHECK(submitted->items[0].status == wire::SubmitStatus::kCreated);
  CHECK(m.hub->ActiveSignals() == 1);

  auto found = m.beta.Query(
      {Identifier::Email("y@example.com"), Identifier::Email("X@Example.com")});
  REQUIRE(found);
  REQUIRE(found->matches.size() == 1);
  CHECK(found->matches[0].index == 1);
  CHECK(found->matches[0].match.platforms == 1);
  CHECK(found->matches[0].match.attributed_to ==
        std::vector<std::string>{"alpha"});

  auto disposed =
      m.beta.Dispose(found->matches[0].match.match_id, Outcome::kActioned);
  REQUIRE(disposed);
  CHECK(disposed->outcome == Outcome::kActioned);
  // Another member cannot dispose beta's match.
  auto foreign =
      m.alpha.Dispose(found->matches[0].match.match_id, Outcome::kActioned);
  REQUIRE_FALSE(foreign);
  CHECK(foreign.error().code == ErrorCode::kNotFound);
}

TEST_CASE(
    "fake hub: resubmitting is a duplicate, retracting notifies matchers") {
  Members m;
  const auto id = Identifier::Phone("+442079460958");
  REQUIRE(m.alpha.Submit({BanOf(id, "case-1")}));
  auto again = m.alpha.Submit({BanOf(id, "case-1")});
  REQUIRE(again);
  CHECK(again->items[0].status == wire::SubmitStatus::kDuplicate);

  auto found = m.beta.Query({id});
  REQUIRE(found);
  REQUIRE(found->matches.size() == 1);

  auto retracted = m.alpha.Retract(
      {Retraction::ByRef("case-1", RetractReason::kAppealUpheld)});
  REQUIRE(retracted);
  CHECK(retracted->items[0].status == wire::RetractStatus::kRetracted);
  CHECK(m.hub->ActiveSignals() == 0);

  std::vector<wire::Notification> notes;
  for (auto& n : m.beta.Notifications()) {
    REQUIRE(n);
    notes.push_back(*n);
  }
  REQUIRE(notes.size() == 1);
  CHECK(notes[0].match_id == found->matches[0].match.match_id);
  CHECK(notes[0].reason == RetractReason::kAppealUpheld);
  CHECK_FALSE(notes[0].still_supported);

  // The feed shows the addition and the retraction, resumably.
  auto feed = m.beta.Feed({}, 1);
  std::vector<FeedEventType> types;
  for (auto& e : feed) {
    REQUIRE(e);
    types.push_back(e->type);
  }
  CHECK(types == std::vector<FeedEventType>{FeedEventType::kAdded,
                                            FeedEventType::kRetracted});
  // Alpha's feed does not carry alpha's own signals.
  int own = 0;
  for (auto& e : m.alpha.Feed()) {
    REQUIRE(e);
    ++own;
  }
  CHECK(own == 0);
  int more = 0;
  for (auto& e : m.beta.Feed(feed.cursor())) {
    (void)e;
    ++more;
  }
  CHECK(more == 0);
}

wire::Timestamp Now() {
  return std::chrono::floor<std::chrono::seconds>(
      std::chrono::system_clock::now());
}

Ban BanAt(Identifier id, Category category, Severity severity,
          wire::Timestamp banned_at) {
  Ban ban{std::move(id), category, severity,    banned_at,
          std::nullopt,  false,    std::nullopt};
  return ban;
}

TEST_CASE(
    "fake hub: refuses per item what the hub refuses, with the hub's "
    "fields and messages") {
  Members m;
  const auto now = Now();
  const auto id = Identifier::Email("clock@example.com");
  Ban future = BanAt(id, Category::kGrooming, Severity::kHigh,
                     now + std::chrono::hours(48));
  Ban skewed = BanAt(Identifier::Email("skew@example.com"), Category::kGrooming,
                     Severity::kHigh, now + std::chrono::minutes(4));
  Ban lapsed =
      BanAt(Identifier::Email("lapsed@example.com"), Category::kGrooming,
            Severity::kHigh, now - std::chrono::hours(72));
  lapsed.expires_at = now - std::chrono::hours(1);
  Ban inverted =
      BanAt(Identifier::Email("inverted@example.com"), Category::kGrooming,
            Severity::kHigh, now - std::chrono::hours(2));
  inverted.expires_at = now - std::chrono::hours(3);
  Ban custom =
      BanAt(Identifier::Custom("steam_id", "76561197960287930"),
            Category::kGrooming, Severity::kHigh, now - std::chrono::hours(1));
  auto submitted = m.alpha.Submit({future, skewed, lapsed, inverted, custom});
  REQUIRE(submitted);
  const auto& items = submitted->items;
  REQUIRE(items.size() == 5);
  CHECK(items[0].status == wire::SubmitStatus::kError);
  REQUIRE(items[0].error);
  CHECK(items[0].error->code == ErrorCode::kInvalidArgument);
  CHECK(items[0].error->field == "signals[0].banned_at");
  CHECK_THAT(items[0].error->message,
             Catch::Contains("banned_at lies in the future"));
  // Within the hub's clock skew (5 minutes): accepted.
  CHECK(items[1].status == wire::SubmitStatus::kCreated);
  CHECK(items[2].status == wire::SubmitStatus::kError);
  REQUIRE(items[2].error);
  CHECK(items[2].error->field == "signals[2].expires_at");
  CHECK_THAT(items[2].error->message,
             Catch::Contains("expires_at is not in the future"));
  CHECK(items[3].status == wire::SubmitStatus::kError);
  REQUIRE(items[3].error);
  CHECK(items[3].error->field == "signals[3].expires_at");
  CHECK(items[4].status == wire::SubmitStatus::kError);
  REQUIRE(items[4].error);
  CHECK(items[4].error->field == "signals[4].kind");
  CHECK_THAT(items[4].error->message,
             Catch::Contains("kind 'steam_id' is not registered on this hub"));
  CHECK(m.hub->ActiveSignals() == 1);

  // Retracting by a key of an unregistered kind is an error too, not
  // "not found".
  auto retracted = m.alpha.Retract(
      {Retraction::Of(custom.identifier, RetractReason::kError)});
  REQUIRE(retracted);
  CHECK(retracted->items[0].status == wire::RetractStatus::kError);
  REQUIRE(retracted->items[0].error);
  CHECK(retracted->items[0].error->field == "retractions[0].kind");

  // Once registered, the kind is accepted; a malformed name is refused.
  REQUIRE(m.hub->RegisterKind("steam_id"));
  auto bad = m.hub->RegisterKind("Steam ID");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == ErrorCode::kInvalidArgument);
  auto again = m.alpha.Submit({custom});
  REQUIRE(again);
  CHECK(again->items[0].status == wire::SubmitStatus::kCreated);
  auto found = m.beta.Query({custom.identifier});
  REQUIRE(found);
  CHECK(found->matches.size() == 1);
}

TEST_CASE(
    "fake hub: a second category is a second signal, and every query a new "
    "match") {
  Members m;
  const auto now = Now();
  const auto id = Identifier::Email("two@example.com");
  auto first = m.alpha.Submit({BanAt(id, Category::kGrooming, Severity::kHigh,
                                     now - std::chrono::hours(2))});
  auto second =
      m.alpha.Submit({BanAt(id, Category::kSextortion, Severity::kCritical,
                            now - std::chrono::hours(1))});
  REQUIRE(first);
  REQUIRE(second);
  CHECK(first->items[0].status == wire::SubmitStatus::kCreated);
  CHECK(second->items[0].status == wire::SubmitStatus::kCreated);
  CHECK(first->items[0].signal_id != second->items[0].signal_id);
  CHECK(m.hub->ActiveSignals() == 2);
  // Resending without expires_at keeps the expiry: a duplicate.
  auto resent = m.alpha.Submit({BanAt(id, Category::kGrooming, Severity::kHigh,
                                      now - std::chrono::hours(2))});
  REQUIRE(resent);
  CHECK(resent->items[0].status == wire::SubmitStatus::kDuplicate);
  CHECK(resent->items[0].signal_id == first->items[0].signal_id);

  auto q1 = m.beta.Query({id});
  auto q2 = m.beta.Query({id});
  REQUIRE(q1);
  REQUIRE(q2);
  REQUIRE(q1->matches.size() == 1);
  REQUIRE(q2->matches.size() == 1);
  const auto& match = q1->matches[0].match;
  CHECK(match.categories ==
        std::vector<Category>{Category::kGrooming, Category::kSextortion});
  CHECK(match.max_severity == Severity::kCritical);
  CHECK(match.platforms == 1);
  CHECK(q1->matches[0].match.match_id != q2->matches[0].match.match_id);

  // Retracting the identifier retracts both signals; each match is
  // notified once.
  auto retracted =
      m.alpha.Retract({Retraction::Of(id, RetractReason::kAppealUpheld)});
  REQUIRE(retracted);
  CHECK(retracted->items[0].signal_ids.size() == 2);
  std::set<std::string> notified;
  for (auto& n : m.beta.Notifications()) {
    REQUIRE(n);
    CHECK_FALSE(n->still_supported);
    notified.insert(n->match_id);
  }
  CHECK(notified == std::set<std::string>{q1->matches[0].match.match_id,
                                          q2->matches[0].match.match_id});
  int events = 0;
  for (auto& e : m.beta.Feed()) {
    REQUIRE(e);
    ++events;
  }
  CHECK(events == 4);  // two added, two retracted
}

TEST_CASE(
    "fake hub: injected failures are retried as the hub's would be, with "
    "the code the client gives that status") {
  Members m;
  const auto id = Identifier::Email("a@example.com");
  // Two 503s: absorbed by the default policy (4 attempts) for a read.
  m.hub->FailNext(503, 2);
  CHECK(m.beta.Me());
  // Four: the last attempt's error reaches the caller.
  m.hub->FailNext(503, 4);
  auto unavailable = m.beta.Me();
  REQUIRE_FALSE(unavailable);
  CHECK(unavailable.error().code == ErrorCode::kUnavailable);
  CHECK(m.beta.Me());  // all four were used
  // A query is resent after a 503 like a read: it carries an
  // Idempotency-Key, so a hub that recorded its matches answers the resend
  // with them.
  m.hub->FailNext(503, 2);
  CHECK(m.beta.Query({id}));
  // 429s are retried after Retry-After; when they outlast the policy the
  // message says how many attempts were made.
  m.hub->FailNext(429, 3);
  CHECK(m.beta.Query({id}));
  m.hub->FailNext(429, 4);
  auto limited = m.beta.Query({id});
  REQUIRE_FALSE(limited);
  CHECK(limited.error().code == ErrorCode::kRateLimited);
  CHECK_THAT(limited.error().message, Catch::Contains("4 attempts in all"));
  // A 500 is the hub's internal error, and not retried.
  m.hub->FailNext(500, 1);
  auto internal = m.beta.Query({id});
  REQUIRE_FALSE(internal);
  CHECK(internal.error().code == ErrorCode::kInternal);
  CHECK(m.beta.Query({id}));
  // A retraction that may have reached the hub is not resent.
  m.hub->FailNext(503, 1);
  auto retracted = m.alpha.Retract({Retraction::Of(id, RetractReason::kError)});
  REQUIRE_FALSE(retracted);
  CHECK(retracted.error().code == ErrorCode::kUnavailable);
}

TEST_CASE(
    "fake hub: an injected failure gives the error a real hub, or a proxy "
    "in front of it, would give") {
  constexpr const char* kInjected = "injected failure (FakeHub::FailNext)";
  auto hub_body = [&](ErrorCode code) {
    return wire::EncodeErrorBody(Error{code, kInjected, "", std::nullopt});
  };
  const std::string proxy_body = "<html><body>Bad Gateway</body></html>";
  struct Case {
    int status;
    // What the hub (a status it sends) or a proxy (one it never sends)
    // answers.
    HttpReply real;
    ErrorCode code;
  };
  const Case cases[] = {
      {500, {500, hub_body(ErrorCode::kInternal), {}}, ErrorCode::kInternal},
      {503,
       {503, hub_body(ErrorCode::kUnavailable), {}},
       ErrorCode::kUnavailable},
      {429,
       {429, hub_body(ErrorCode::kRateLimited), {{"Retry-After", "0"}}},
       ErrorCode::kRateLimited},
      {404, {404, hub_body(ErrorCode::kNotFound), {}}, ErrorCode::kNotFound},
      // A proxy's: the request may have been carried out.
      {502, {502, proxy_body, {}}, ErrorCode::kIo},
      {504, {504, proxy_body, {}}, ErrorCode::kIo},
      {501, {501, proxy_body, {}}, ErrorCode::kIo},
      {505, {505, proxy_body, {}}, ErrorCode::kIo},
      {418, {418, proxy_body, {}}, ErrorCode::kInternal},
  };
  for (const auto& c : cases) {
    CAPTURE(c.status);
    ClientOptions options;
    options.consortium_key = ConsortiumKey::Generate();
    options.retry.max_attempts = 1;
    auto hub = std::make_shared<FakeHub>();
    auto fake = MakeClient(options, hub->ConnectionFor("alpha"));
    REQUIRE(fake);
    auto real = MakeClient(
        options,
        std::make_shared<testing::RecordingConnection>(
            [&](const HttpRequest&) -> Result<HttpReply> { return c.real; }));
    REQUIRE(real);
    hub->FailNext(c.status);
    auto from_fake = fake->Me();
    auto from_real = real->Me();
    REQUIRE_FALSE(from_fake);
    REQUIRE_FALSE(from_real);
    CHECK(from_real.error().code == c.code);
    CHECK(from_fake.error().code == from_real.error().code);
    CHECK(from_fake.error().message == from_real.error().message);
  }
}

}  // namespace
}  // namespace cairn
