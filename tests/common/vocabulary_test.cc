#include "cairn/vocabulary.h"

#include <catch2/catch.hpp>

namespace cairn {
namespace {

TEST_CASE("vocabulary names round-trip") {
  for (auto c :
       {Category::kGrooming, Category::kSextortion, Category::kCsamSharing,
        Category::kCsamProduction, Category::kTrafficking, Category::kOther}) {
    REQUIRE(ParseCategory(ToString(c)) == c);
  }
  for (auto s : {Severity::kLow, Severity::kMedium, Severity::kHigh,
                 Severity::kCritical}) {
    REQUIRE(ParseSeverity(ToString(s)) == s);
  }
  for (auto r : {RetractReason::kAppealUpheld, RetractReason::kError,
                 RetractReason::kDuplicate, RetractReason::kOther}) {
    REQUIRE(ParseRetractReason(ToString(r)) == r);
  }
  for (auto o : {Outcome::kConfirmed, Outcome::kActioned, Outcome::kNoAction,
                 Outcome::kFalsePositive}) {
    REQUIRE(ParseOutcome(ToString(o)) == o);
  }
  for (auto r : {Role::kMember, Role::kCompliance, Role::kOperator}) {
    REQUIRE(ParseRole(ToString(r)) == r);
  }
  REQUIRE(ParseTokenScheme("hmac-v1") == TokenScheme::kHmacV1);
  REQUIRE(ParseFeedEventType("expired") == FeedEventType::kExpired);
}

TEST_CASE("unknown vocabulary names are rejected") {
  CHECK_FALSE(ParseCategory("Grooming").has_value());
  CHECK_FALSE(ParseCategory("").has_value());
  CHECK_FALSE(ParseSeverity("urgent").has_value());
  CHECK_FALSE(ParseOutcome("confirmed ").has_value());
  CHECK_FALSE(ParseRole("admin").has_value());
  CHECK_FALSE(ParseTokenScheme("hmac-v2").has_value());
}

TEST_CASE("severity is ordered") {
  CHECK(Severity::kLow < Severity::kMedium);
  CHECK(Severity::kHigh < Severity::kCritical);
}

TEST_CASE("role sets") {
  RoleSet set = RoleBit(Role::kMember) | RoleBit(Role::kOperator);
  CHECK(HasRole(set, Role::kMember));
  CHECK(HasRole(set, Role::kOperator));
  CHECK_FALSE(HasRole(set, Role::kCompliance));
}

TEST_CASE("kind names") {
  for (auto k : kBuiltinKinds) CHECK(IsWellFormedKind(k));
  CHECK(IsWellFormedKind("steam_id"));
  const char* bad[] = {"",
                       "e",
                       "Email",
                       "1abc",
                       "a-b",
                       "a b",
                       "abcdefghijklmnopqrstuvwxyz0123456"};
  for (auto k : bad) {
    CAPTURE(k);
    CHECK_FALSE(IsWellFormedKind(k));
  }
}

}  // namespace
}  // namespace cairn
