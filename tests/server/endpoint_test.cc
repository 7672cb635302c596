// The route table (server/src/api/endpoint.cc): every endpoint matches its
// path and method, names and roles are stable, and path parameters admit
// nothing that could traverse.
#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "server/src/api/endpoint.h"

namespace cairn::server {
namespace {

const std::string kMatch = "m_0123456789abcdef0123456789abcdef";
const std::string kFp(64, 'a');

struct RouteCase {
  Method method;
  std::string path;
  Endpoint endpoint;
  std::string param1;
  std::string param2;
  std::string name;
  std::optional<Role> role;
};

const RouteCase kRoutes[] = {
    {Method::kGet, "/healthz", Endpoint::kHealthz, "", "", "healthz",
     std::nullopt},
    {Method::kGet, "/metrics", Endpoint::kMetrics, "", "", "metrics",
     Role::kOperator},
    {Method::kGet, "/v1/me", Endpoint::kMe, "", "", "me", std::nullopt},
    {Method::kPost, "/v1/signals", Endpoint::kSubmitSignals, "", "", "submit",
     Role::kMember},
    {Method::kPost, "/v1/signals/retract", Endpoint::kRetractSignals, "", "",
     "retract", Role::kMember},
    {Method::kPost, "/v1/query", Endpoint::kQuery, "", "", "query",
     Role::kMember},
    {Method::kPost, "/v1/matches/" + kMatch + "/disposition",
     Endpoint::kDisposition, kMatch, "", "disposition", Role::kMember},
    {Method::kGet, "/v1/feed", Endpoint::kFeed, "", "", "feed", Role::kMember},
    {Method::kGet, "/v1/notifications", Endpoint::kNotifications, "", "",
     "notifications", Role::kMember},
    {Method::kGet, "/v1/admin/members", Endpoint::kAdminListMembers, "", "",
     "admin_list_members", Role::kOperator},
    {Method::kPost, "/v1/admin/members", Endpoint::kAdminCreateMember, "", "",
     "admin_create_member", Role::kOperator},
    {Method::kGet, "/v1/admin/members/alpha", Endpoint::kAdminGetMember,
     "alpha", "", "admin_get_member", Role::kOperator},
    {Method::kPost, "/v1/admin/members/alpha/suspend",
     Endpoint::kAdminSuspendMember, "alpha", "", "admin_suspend_member",
     Role::kOperator},
    {Method::kPost, "/v1/admin/members/alpha/resume",
     Endpoint::kAdminResumeMember, "alpha", "", "admin_resume_member",
     Role::kOperator},
    {Method::kPost, "/v1/admin/members/alpha/fingerprints",
     Endpoint::kAdminAddFingerprint, "alpha", "", "admin_add_fingerprint",
     Role::kOperator},
    {Method::kPost, "/v1/admin/members/alpha/fingerprints/" + kFp + "/revoke",
     Endpoint::kAdminRevokeFingerprint, "alpha", kFp,
     "admin_revoke_fingerprint", Role::kOperator},
    {Method::kPut, "/v1/admin/members/alpha/roles", Endpoint::kAdminSetRoles,
     "alpha", "", "admin_set_roles", Role::kOperator},
    {Method::kPost, "/v1/oprf/evaluate", Endpoint::kOprfEvaluate, "", "",
     "oprf_evaluate", Role::kMember},
    {Method::kGet, "/v1/reports/summary", Endpoint::kReportsSummary, "", "",
     "reports_summary", std::nullopt},
    {Method::kGet, "/v1/reports/matches", Endpoint::kReportsMatches, "", "",
     "reports_matches", std::nullopt},
    {Method::kGet, "/v1/audit/checkpoints", Endpoint::kAuditCheckpoints, "", "",
     "audit_checkpoints", std::nullopt},
    {Method::kPost, "/v1/admin/keys/rotate", Endpoint::kAdminRotateKeys, "", "",
     "admin_rotate_keys", Role::kOperator},
    {Method::kGet, "/v1/admin/kinds", Endpoint::kAdminListKinds, "", "",
     "admin_list_kinds", Role::kOperator},
    {Method::kPost, "/v1/admin/kinds", Endpoint::kAdminRegisterKind, "", "",
     "admin_register_kind", Role::kOperator},
};

TEST_CASE("MatchRoute reaches every endpoint with its parameters",
          "[endpoint]") {
  std::set<Endpoint> seen;
  for (const auto& c : kRoutes) {
    CAPTURE(c.path);
    const Route r = MatchRoute(c.method, c.path);
    CHECK(r.endpoint == c.endpoint);
    CHECK_FALSE(r.wrong_method);
    CHECK(r.allowed_method.empty());
    CHECK(r.param1 == c.param1);
    CHECK(r.param2 == c.param2);
    CHECK(EndpointName(c.endpoint) == c.name);
    CHECK(RequiredRole(c.endpoint) == c.role);
    seen.insert(r.endpoint);
  }
  // The table above covers every endpoint but kUnknown.
  CHECK(seen.size() == kEndpointCount - 1);
  CHECK(EndpointName(Endpoint::kUnknown) == "unknown");
}

TEST_CASE("Endpoint names are distinct", "[endpoint]") {
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < kEndpointCount; ++i) {
    names.insert(EndpointName(static_cast<Endpoint>(i)));
  }
  CHECK(names.size() == kEndpointCount);
}

TEST_CASE("MatchRoute reports the accepted methods of a known path",
          "[endpoint]") {
  struct Case {
    Method method;
    std::string path;
    std::string allowed;
  };
  const Case cases[] = {
      {Method::kPost, "/healthz", "GET"},
      {Method::kPost, "/v1/me", "GET"},
      {Method::kGet, "/v1/signals", "POST"},
      {Method::kPut, "/v1/query", "POST"},
      {Method::kOther, "/v1/feed", "GET"},
      {Method::kGet, "/v1/matches/" + kMatch + "/disposition", "POST"},
      {Method::kPost, "/v1/admin/members/alpha/roles", "PUT"},
      // Two endpoints share this path: Allow lists both.
      {Method::kPut, "/v1/admin/members", "GET, POST"},
      {Method::kOther, "/v1/admin/members", "GET, POST"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.path, c.allowed);
    const Route r = MatchRoute(c.method, c.path);
    CHECK(r.endpoint == Endpoint::kUnknown);
    CHECK(r.wrong_method);
    CHECK(r.allowed_method == c.allowed);
  }
}

TEST_CASE("MatchRoute rejects traversal and malformed parameters",
          "[endpoint]") {
  const std::string long_id(65, 'a');
  const std::string ok_long_id(64, 'a');
  const std::string paths[] = {
      "",
      "/",
      "/v1",
      "/v1/",
      "/v1/me/",
      "/v1//me",
      "//v1/me",
      "/V1/ME",
      "/v1/me/../me",
      "/v1/admin/members/../members",
      "/v1/admin/members/..",
      "/v1/admin/members/%2e%2e",
      "/v1/admin/members/%2E%2E/suspend",
      "/v1/admin/members/alpha%2fbeta",
      "/v1/admin/members/alpha%2Fsuspend",
      "/v1/admin/members/alpha/",
      "/v1/admin/members/alpha/../beta/suspend",
      "/v1/admin/members/alpha.beta",
      "/v1/admin/members/" + long_id,
      "/v1/admin/members/" + long_id + "/suspend",
      "/v1/admin/members/alpha/fingerprints/" + std::string(65, 'a') +
          "/revoke",
      "/v1/admin/members/alpha/fingerprints//revoke",
      "/v1/matches//disposition",
      "/v1/matches/../disposition",
      "/v1/matches/%2e%2e/disposition",
      "/v1/matches/m_1/x/disposition",
      "/v1/matches/m_1%00/disposition",
      "/v1/matches/m\\1/disposition",
      "/v1/feed?after=1",  // MatchRoute expects the query string removed
      std::string("/v1/signals\0", 12),
  };
  for (const auto& path : paths) {
    CAPTURE(path);
    for (Method m :
         {Method::kGet, Method::kPost, Method::kPut, Method::kOther}) {
      const Route r = MatchRoute(m, path);
      CHECK(r.endpoint == Endpoint::kUnknown);
      CHECK_FALSE(r.wrong_method);
    }
  }
  // The bound is inclusive: 64 characters still match.
  CHECK(MatchRoute(Method::kGet, "/v1/admin/members/" + ok_long_id).endpoint ==
        Endpoint::kAdminGetMember);
}

}  // namespace
}  // namespace cairn::server
