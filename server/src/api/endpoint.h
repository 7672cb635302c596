// The hub's endpoints as a closed set, for routing, metrics and logs.
#ifndef CAIRN_SERVER_API_ENDPOINT_H_
#define CAIRN_SERVER_API_ENDPOINT_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "cairn/vocabulary.h"

namespace cairn::server {

enum class Endpoint : std::uint8_t {
  kHealthz,
  kMetrics,
  kMe,
  kSubmitSignals,
  kRetractSignals,
  kQuery,
  kDisposition,
  kFeed,
  kNotifications,
  kAdminListMembers,
  kAdminCreateMember,
  kAdminGetMember,
  kAdminSuspendMember,
  kAdminResumeMember,
  kAdminAddFingerprint,
  kAdminRevokeFingerprint,
  kAdminSetRoles,
  kOprfEvaluate,
  kReportsSummary,
  kReportsMatches,
  kAuditCheckpoints,
  kAdminRotateKeys,
  kAdminListKinds,
  kAdminRegisterKind,
  kUnknown,  // no route matched; keep last
};
inline constexpr std::size_t kEndpointCount =
    static_cast<std::size_t>(Endpoint::kUnknown) + 1;

// Short stable name for logs and metric labels, e.g. "query".
std::string_view EndpointName(Endpoint e);

// The role an endpoint requires; nullopt for endpoints open to any
// authenticated peer (healthz).
std::optional<Role> RequiredRole(Endpoint e);

enum class Method : std::uint8_t { kGet, kPost, kPut, kOther };

struct Route {
  Endpoint endpoint = Endpoint::kUnknown;
  // Path parameters in order of appearance: member id, fingerprint, match id.
  std::string param1;
  std::string param2;
  // True if the path exists but not for this method (405).
  bool wrong_method = false;
  // Every method the path does accept, comma-separated ("GET, POST"), for
  // the Allow header on 405.
  std::string allowed_method;
};

// Matches a request target (path, query string already removed).
// Path parameters must be 1..64 characters of [A-Za-z0-9_-]; anything else
// (including "..", "%2e", "/") does not match and yields kUnknown, so no
// traversal can reach a handler.
Route MatchRoute(Method method, std::string_view path);

}  // namespace cairn::server

#endif  // CAIRN_SERVER_API_ENDPOINT_H_
