// The closed vocabularies of the protocol: categories, severities, reasons,
// outcomes, roles, token schemes. Each enum has a wire name (lowercase
// snake_case, as in schemas/) and a parser; unknown names parse to nullopt.
#ifndef CAIRN_VOCABULARY_H_
#define CAIRN_VOCABULARY_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace cairn {

// A token: the 32-byte output of the derivation in docs/token-scheme.md.
using Token = std::array<std::uint8_t, 32>;

enum class Category : std::uint8_t {
  kGrooming,
  kSextortion,
  kCsamSharing,
  kCsamProduction,
  kTrafficking,
  kOther,
};

// Ordered: a larger value is more severe.
enum class Severity : std::uint8_t { kLow = 1, kMedium, kHigh, kCritical };

enum class RetractReason : std::uint8_t {
  kAppealUpheld,
  kError,
  kDuplicate,
  kOther,
};

// The result of a platform's human review of a match.
enum class Outcome : std::uint8_t {
  kConfirmed,
  kActioned,
  kNoAction,
  kFalsePositive,
};

enum class Role : std::uint8_t { kMember, kCompliance, kOperator };

// A set of roles as a bit mask: bit (1 << Role).
using RoleSet = std::uint8_t;
constexpr RoleSet RoleBit(Role r) {
  return static_cast<RoleSet>(1u << static_cast<unsigned>(r));
}
constexpr bool HasRole(RoleSet set, Role r) { return (set & RoleBit(r)) != 0; }

enum class TokenScheme : std::uint8_t { kHmacV1, kVoprfV1 };

enum class FeedEventType : std::uint8_t { kAdded, kRetracted, kExpired };

std::string_view ToString(Category v);
std::string_view ToString(Severity v);
std::string_view ToString(RetractReason v);
std::string_view ToString(Outcome v);
std::string_view ToString(Role v);
std::string_view ToString(TokenScheme v);
std::string_view ToString(FeedEventType v);

std::optional<Category> ParseCategory(std::string_view s);
std::optional<Severity> ParseSeverity(std::string_view s);
std::optional<RetractReason> ParseRetractReason(std::string_view s);
std::optional<Outcome> ParseOutcome(std::string_view s);
std::optional<Role> ParseRole(std::string_view s);
std::optional<TokenScheme> ParseTokenScheme(std::string_view s);
std::optional<FeedEventType> ParseFeedEventType(std::string_view s);

// The built-in identifier kinds; operators may register more.
constexpr std::array<std::string_view, 5> kBuiltinKinds = {
    "email", "phone", "handle", "device", "url"};

// True if `kind` has the shape of a kind name: ^[a-z][a-z0-9_]{1,31}$.
bool IsWellFormedKind(std::string_view kind);

}  // namespace cairn

#endif  // CAIRN_VOCABULARY_H_
