// The fake hub is what integrators test against; it must behave like the
// hub in the ways a pipeline depends on.
#include <catch2/catch.hpp>

#include "cairn/client.h"
#include "cairn/testing/fake_hub.h"

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

TEST_CASE("fake hub: injected failures reach the caller as errors") {
  Members m;
  m.hub->FailNext(503, 2);
  auto found = m.beta.Query({Identifier::Email("a@example.com")});
  // The fake connection has no retry layer: the caller sees the 503.
  REQUIRE_FALSE(found);
  CHECK(found.error().code == ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace cairn
