#include "server/src/api/endpoint.h"

#include <array>
#include <vector>

namespace cairn::server {
namespace {

struct EndpointInfo {
  Endpoint endpoint;
  std::string_view name;
  std::optional<Role> role;
  Method method;
  // Path pattern; "{}" stands for one path parameter.
  std::string_view pattern;
};

constexpr std::array<EndpointInfo, kEndpointCount - 1> kTable = {{
    {Endpoint::kHealthz, "healthz", std::nullopt, Method::kGet, "/healthz"},
    {Endpoint::kMetrics, "metrics", Role::kOperator, Method::kGet, "/metrics"},
    {Endpoint::kMe, "me", std::nullopt, Method::kGet, "/v1/me"},
    {Endpoint::kSubmitSignals, "submit", Role::kMember, Method::kPost,
     "/v1/signals"},
    {Endpoint::kRetractSignals, "retract", Role::kMember, Method::kPost,
     "/v1/signals/retract"},
    {Endpoint::kQuery, "query", Role::kMember, Method::kPost, "/v1/query"},
    {Endpoint::kDisposition, "disposition", Role::kMember, Method::kPost,
     "/v1/matches/{}/disposition"},
    {Endpoint::kFeed, "feed", Role::kMember, Method::kGet, "/v1/feed"},
    {Endpoint::kNotifications, "notifications", Role::kMember, Method::kGet,
     "/v1/notifications"},
    {Endpoint::kAdminListMembers, "admin_list_members", Role::kOperator,
     Method::kGet, "/v1/admin/members"},
    {Endpoint::kAdminCreateMember, "admin_create_member", Role::kOperator,
     Method::kPost, "/v1/admin/members"},
    {Endpoint::kAdminGetMember, "admin_get_member", Role::kOperator,
     Method::kGet, "/v1/admin/members/{}"},
    {Endpoint::kAdminSuspendMember, "admin_suspend_member", Role::kOperator,
     Method::kPost, "/v1/admin/members/{}/suspend"},
    {Endpoint::kAdminResumeMember, "admin_resume_member", Role::kOperator,
     Method::kPost, "/v1/admin/members/{}/resume"},
    {Endpoint::kAdminAddFingerprint, "admin_add_fingerprint", Role::kOperator,
     Method::kPost, "/v1/admin/members/{}/fingerprints"},
    {Endpoint::kAdminRevokeFingerprint, "admin_revoke_fingerprint",
     Role::kOperator, Method::kPost,
     "/v1/admin/members/{}/fingerprints/{}/revoke"},
    {Endpoint::kAdminSetRoles, "admin_set_roles", Role::kOperator, Method::kPut,
     "/v1/admin/members/{}/roles"},
    {Endpoint::kOprfEvaluate, "oprf_evaluate", Role::kMember, Method::kPost,
     "/v1/oprf/evaluate"},
    // Reports: compliance sees every member, a member only itself; the
    // handler enforces that split.
    {Endpoint::kReportsSummary, "reports_summary", std::nullopt, Method::kGet,
     "/v1/reports/summary"},
    {Endpoint::kReportsMatches, "reports_matches", std::nullopt, Method::kGet,
     "/v1/reports/matches"},
    {Endpoint::kAuditCheckpoints, "audit_checkpoints", std::nullopt,
     Method::kGet, "/v1/audit/checkpoints"},
    {Endpoint::kAdminRotateKeys, "admin_rotate_keys", Role::kOperator,
     Method::kPost, "/v1/admin/keys/rotate"},
    {Endpoint::kAdminListKinds, "admin_list_kinds", Role::kOperator,
     Method::kGet, "/v1/admin/kinds"},
    {Endpoint::kAdminRegisterKind, "admin_register_kind", Role::kOperator,
     Method::kPost, "/v1/admin/kinds"},
}};

std::string_view MethodName(Method m) {
  switch (m) {
    case Method::kGet:
      return "GET";
    case Method::kPost:
      return "POST";
    case Method::kPut:
      return "PUT";
    case Method::kOther:
      break;
  }
  return "";
}

bool IsParamChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '-';
}

// Matches `path` against `pattern`, collecting parameters.
bool MatchPattern(std::string_view pattern, std::string_view path,
                  std::vector<std::string_view>& params) {
  params.clear();
  std::size_t p = 0;
  std::size_t i = 0;
  while (p < pattern.size()) {
    if (pattern.compare(p, 2, "{}") == 0) {
      std::size_t start = i;
      while (i < path.size() && IsParamChar(path[i])) ++i;
      const std::size_t len = i - start;
      if (len == 0 || len > 64) return false;
      params.push_back(path.substr(start, len));
      p += 2;
    } else {
      if (i >= path.size() || path[i] != pattern[p]) return false;
      ++i;
      ++p;
    }
  }
  return i == path.size();
}

}  // namespace

std::string_view EndpointName(Endpoint e) {
  for (const auto& info : kTable) {
    if (info.endpoint == e) return info.name;
  }
  return "unknown";
}

std::optional<Role> RequiredRole(Endpoint e) {
  for (const auto& info : kTable) {
    if (info.endpoint == e) return info.role;
  }
  return std::nullopt;
}

Route MatchRoute(Method method, std::string_view path) {
  Route route;
  std::vector<std::string_view> params;
  for (const auto& info : kTable) {
    if (!MatchPattern(info.pattern, path, params)) continue;
    if (info.method != method) {
      route.wrong_method = true;
      if (!route.allowed_method.empty()) route.allowed_method += ", ";
      route.allowed_method += MethodName(info.method);
      continue;  // the same path may exist for another method
    }
    route.endpoint = info.endpoint;
    route.wrong_method = false;
    route.allowed_method.clear();
    if (!params.empty()) route.param1 = std::string(params[0]);
    if (params.size() > 1) route.param2 = std::string(params[1]);
    return route;
  }
  return route;
}

}  // namespace cairn::server
