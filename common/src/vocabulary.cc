#include "cairn/vocabulary.h"

#include <utility>

namespace cairn {
namespace {

// One table per enum keeps names and parsers in step by construction.
template <typename E, std::size_t N>
using Names = std::array<std::pair<E, std::string_view>, N>;

constexpr Names<Category, 6> kCategories = {{
    {Category::kGrooming, "grooming"},
    {Category::kSextortion, "sextortion"},
    {Category::kCsamSharing, "csam_sharing"},
    {Category::kCsamProduction, "csam_production"},
    {Category::kTrafficking, "trafficking"},
    {Category::kOther, "other"},
}};
constexpr Names<Severity, 4> kSeverities = {{
    {Severity::kLow, "low"},
    {Severity::kMedium, "medium"},
    {Severity::kHigh, "high"},
    {Severity::kCritical, "critical"},
}};
constexpr Names<RetractReason, 4> kReasons = {{
    {RetractReason::kAppealUpheld, "appeal_upheld"},
    {RetractReason::kError, "error"},
    {RetractReason::kDuplicate, "duplicate"},
    {RetractReason::kOther, "other"},
}};
constexpr Names<Outcome, 4> kOutcomes = {{
    {Outcome::kConfirmed, "confirmed"},
    {Outcome::kActioned, "actioned"},
    {Outcome::kNoAction, "no_action"},
    {Outcome::kFalsePositive, "false_positive"},
}};
constexpr Names<Role, 3> kRoles = {{
    {Role::kMember, "member"},
    {Role::kCompliance, "compliance"},
    {Role::kOperator, "operator"},
}};
constexpr Names<TokenScheme, 2> kSchemes = {{
    {TokenScheme::kHmacV1, "hmac-v1"},
    {TokenScheme::kVoprfV1, "voprf-v1"},
}};
constexpr Names<FeedEventType, 3> kFeedTypes = {{
    {FeedEventType::kAdded, "added"},
    {FeedEventType::kRetracted, "retracted"},
    {FeedEventType::kExpired, "expired"},
}};

template <typename E, std::size_t N>
std::string_view NameOf(const Names<E, N>& table, E value) {
  for (const auto& [v, name] : table) {
    if (v == value) return name;
  }
  return "unknown";
}

template <typename E, std::size_t N>
std::optional<E> Parse(const Names<E, N>& table, std::string_view s) {
  for (const auto& [v, name] : table) {
    if (name == s) return v;
  }
  return std::nullopt;
}

}  // namespace

std::string_view ToString(Category v) { return NameOf(kCategories, v); }
std::string_view ToString(Severity v) { return NameOf(kSeverities, v); }
std::string_view ToString(RetractReason v) { return NameOf(kReasons, v); }
std::string_view ToString(Outcome v) { return NameOf(kOutcomes, v); }
std::string_view ToString(Role v) { return NameOf(kRoles, v); }
std::string_view ToString(TokenScheme v) { return NameOf(kSchemes, v); }
std::string_view ToString(FeedEventType v) { return NameOf(kFeedTypes, v); }

std::optional<Category> ParseCategory(std::string_view s) {
  return Parse(kCategories, s);
}
std::optional<Severity> ParseSeverity(std::string_view s) {
  return Parse(kSeverities, s);
}
std::optional<RetractReason> ParseRetractReason(std::string_view s) {
  return Parse(kReasons, s);
}
std::optional<Outcome> ParseOutcome(std::string_view s) {
  return Parse(kOutcomes, s);
}
std::optional<Role> ParseRole(std::string_view s) { return Parse(kRoles, s); }
std::optional<TokenScheme> ParseTokenScheme(std::string_view s) {
  return Parse(kSchemes, s);
}
std::optional<FeedEventType> ParseFeedEventType(std::string_view s) {
  return Parse(kFeedTypes, s);
}

bool IsWellFormedKind(std::string_view kind) {
  if (kind.size() < 2 || kind.size() > 32) return false;
  if (kind[0] < 'a' || kind[0] > 'z') return false;
  for (char c : kind.substr(1)) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace cairn
