// ApiRouter driven in-process: routing, authentication, roles, content
// type, rate limits, the happy paths of every endpoint, and every kind of
// response body checked against schemas/json/ with a real validator.
#include <spdlog/spdlog.h>
#include <catch2/catch.hpp>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "api_test_util.h"
#include "cairn/wire.h"
#include "support/log_capture.h"

namespace cairn::server::apitest {
namespace {

const std::string kMatchId = "m_0123456789abcdef0123456789abcdef";

bool HasRequestId(const Response& r) {
  return wire::IsWellFormedRequestId(r.Header("X-Request-Id"));
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// One request of every endpoint, valid in shape, for table-driven checks.
struct EndpointRequest {
  const char* name;
  http::verb method;
  std::string target;
  std::string body;
};

std::vector<EndpointRequest> AllEndpoints() {
  return {
      {"healthz", http::verb::get, "/healthz", ""},
      {"metrics", http::verb::get, "/metrics", ""},
      {"me", http::verb::get, "/v1/me", ""},
      {"submit", http::verb::post, "/v1/signals", SubmitBody({500})},
      {"retract", http::verb::post, "/v1/signals/retract",
       R"({"retractions":[{"ref":"nothing","reason":"error"}]})"},
      {"query", http::verb::post, "/v1/query", QueryBody({501})},
      {"disposition", http::verb::post,
       "/v1/matches/" + kMatchId + "/disposition",
       R"({"outcome":"confirmed"})"},
      {"feed", http::verb::get, "/v1/feed", ""},
      {"notifications", http::verb::get, "/v1/notifications", ""},
      {"admin_list_members", http::verb::get, "/v1/admin/members", ""},
      {"admin_create_member", http::verb::post, "/v1/admin/members",
       R"({"member_id":"newco","name":"New Co","roles":["member"]})"},
      {"admin_get_member", http::verb::get, "/v1/admin/members/beta", ""},
      {"admin_suspend_member", http::verb::post,
       "/v1/admin/members/nobody/suspend", R"({"reason":"x"})"},
      {"admin_resume_member", http::verb::post,
       "/v1/admin/members/nobody/resume", "{}"},
      {"admin_add_fingerprint", http::verb::post,
       "/v1/admin/members/nobody/fingerprints",
       R"({"fingerprint":")" + std::string(64, '9') + "\"}"},
      {"admin_revoke_fingerprint", http::verb::post,
       "/v1/admin/members/nobody/fingerprints/" + std::string(64, '9') +
           "/revoke",
       "{}"},
      {"admin_set_roles", http::verb::put, "/v1/admin/members/nobody/roles",
       R"({"roles":["member"]})"},
      {"oprf_evaluate", http::verb::post, "/v1/oprf/evaluate",
       R"({"epoch":1,"elements":[]})"},
      {"reports_summary", http::verb::get,
       "/v1/reports/summary?from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z",
       ""},
      {"reports_matches", http::verb::get,
       "/v1/reports/matches?from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z",
       ""},
      {"audit_checkpoints", http::verb::get, "/v1/audit/checkpoints", ""},
      {"admin_rotate_keys", http::verb::post, "/v1/admin/keys/rotate", "{}"},
      {"admin_list_kinds", http::verb::get, "/v1/admin/kinds", ""},
      {"admin_register_kind", http::verb::post, "/v1/admin/kinds",
       R"({"kind":"game_id"})"},
  };
}

Headers JsonHeaders() { return {{"Content-Type", "application/json"}}; }

Response Send(ApiFixture& f, const EndpointRequest& e,
              const std::string& fingerprint) {
  return f.Call(e.method, e.target, e.body, fingerprint,
                e.body.empty() ? Headers{} : JsonHeaders());
}

// ---------------------------------------------------------------------------
// Routing

TEST_CASE("every endpoint is reachable with the right role", "[api][route]") {
  ApiFixture f;
  struct Expect {
    const char* name;
    const std::string& fingerprint;
    int status;
  };
  // Member endpoints as alpha, admin endpoints as the operator. Admin
  // changes name a missing member: reaching the handler means 404 from the
  // store ("no member"), not the router's "no such endpoint".
  const Expect expects[] = {
      {"healthz", kAlphaFp, 200},
      {"metrics", kOperatorFp, 200},
      {"me", kAlphaFp, 200},
      {"submit", kAlphaFp, 200},
      {"retract", kAlphaFp, 200},
      {"query", kAlphaFp, 200},
      {"disposition", kAlphaFp, 404},
      {"feed", kAlphaFp, 200},
      {"notifications", kAlphaFp, 200},
      {"admin_list_members", kOperatorFp, 200},
      {"admin_create_member", kOperatorFp, 201},
      {"admin_get_member", kOperatorFp, 200},
      {"admin_suspend_member", kOperatorFp, 404},
      {"admin_resume_member", kOperatorFp, 404},
      {"admin_add_fingerprint", kOperatorFp, 404},
      {"admin_revoke_fingerprint", kOperatorFp, 404},
      {"admin_set_roles", kOperatorFp, 404},
      // This fixture enables neither voprf-v1, reports nor a keyring: the
      // handler answers that the feature is off, which is still a 404 from
      // the handler, not the router's.
      {"oprf_evaluate", kAlphaFp, 404},
      {"reports_summary", kAlphaFp, 404},
      {"reports_matches", kAlphaFp, 404},
      {"audit_checkpoints", kAlphaFp, 200},
      {"admin_rotate_keys", kOperatorFp, 404},
      {"admin_list_kinds", kOperatorFp, 200},
      {"admin_register_kind", kOperatorFp, 200},
  };
  const auto endpoints = AllEndpoints();
  REQUIRE(std::size(expects) == endpoints.size());
  REQUIRE(endpoints.size() == kEndpointCount - 1);
  for (std::size_t i = 0; i < endpoints.size(); ++i) {
    const auto& e = endpoints[i];
    CAPTURE(e.name, e.target);
    REQUIRE(std::string(expects[i].name) == e.name);
    const Response r = Send(f, e, expects[i].fingerprint);
    CHECK(r.status == expects[i].status);
    CHECK(HasRequestId(r));
    if (r.status == 404) {
      CHECK_FALSE(Contains(r.ErrorBody().message, "no such endpoint"));
    }
  }
}

TEST_CASE("unknown paths get a JSON 404", "[api][route]") {
  ApiFixture f;
  for (const char* target : {"/", "/v2/me", "/v1/mee", "/v1/admin",
                             "/robots.txt", "/v1/signals/retract/x"}) {
    CAPTURE(target);
    const Response r = f.Get(target, kAlphaFp);
    CHECK(r.status == 404);
    CHECK(r.Header("Content-Type") == "application/json");
    CHECK(r.ErrorCode() == "not_found");
    CHECK(Contains(r.ErrorBody().message, "docs/protocol.md"));
    CHECK(HasRequestId(r));
  }
}

TEST_CASE("a wrong method gets 405 with an Allow header", "[api][route]") {
  ApiFixture f;
  struct Case {
    http::verb method;
    std::string target;
    std::string allow;
  };
  const Case cases[] = {
      {http::verb::post, "/v1/me", "GET"},
      {http::verb::get, "/v1/signals", "POST"},
      {http::verb::delete_, "/v1/signals", "POST"},
      {http::verb::put, "/v1/query", "POST"},
      {http::verb::post, "/v1/feed", "GET"},
      {http::verb::post, "/healthz", "GET"},
      {http::verb::patch, "/v1/admin/members/alpha/roles", "PUT"},
      {http::verb::delete_, "/v1/admin/members", "GET, POST"},
      {http::verb::get, "/v1/matches/" + kMatchId + "/disposition", "POST"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.target, c.allow);
    const auto before = TakeSnapshot(f);
    const Response r =
        f.Call(c.method, c.target, "{}", kAlphaFp, JsonHeaders());
    CHECK(r.status == 405);
    CHECK(r.Header("Allow") == c.allow);
    CHECK(r.ErrorCode() == "method_not_allowed");
    CHECK(Contains(r.ErrorBody().message, c.allow));
    CHECK(SameData(TakeSnapshot(f), before));
  }
}

TEST_CASE("path traversal never reaches a handler", "[api][route]") {
  ApiFixture f;
  struct Case {
    http::verb method;
    std::string target;
  };
  const Case cases[] = {
      {http::verb::get, "/v1/admin/members/../members"},
      {http::verb::get, "/v1/admin/members/.."},
      {http::verb::get, "/v1/admin/members/%2e%2e"},
      {http::verb::get, "/v1/admin/members/%2E%2E%2Fmembers"},
      {http::verb::get, "/v1/admin/members/alpha%2fbeta"},
      {http::verb::get, "/v1/admin/members/alpha/"},
      {http::verb::get, "/v1/admin/members/" + std::string(65, 'a')},
      {http::verb::get, "/v1/admin/members/alpha/..?x=1"},
      {http::verb::get, "/v1/admin/members/al%3Fpha"},
      {http::verb::get, "/v1/admin/members/alpha%00"},
      {http::verb::post, "/v1/admin/members/../../suspend"},
      {http::verb::post, "/v1/admin/members/beta/../alpha/suspend"},
      {http::verb::post, "/v1/admin/members/%2e%2e/resume"},
      {http::verb::post, "/v1/admin/members/alpha/fingerprints/../revoke"},
      {http::verb::post, "/v1/admin/members/alpha/fingerprints/%2e%2e%2f" +
                             std::string(64, 'a') + "/revoke"},
      {http::verb::put, "/v1/admin/members/alpha/../beta/roles"},
      {http::verb::post, "/v1/matches/../disposition"},
      {http::verb::post, "/v1/matches/%2e%2e/disposition"},
      {http::verb::post, "/v1/matches/m_1%2f..%2f/disposition"},
      {http::verb::post, "/v1/matches/m_1/../m_2/disposition"},
      {http::verb::post,
       "/v1/matches/" + std::string(65, 'm') + "/disposition"},
      {http::verb::post, "/v1/matches/?x=1/disposition"},
      {http::verb::get, "/v1/../v1/me"},
      {http::verb::get, "/v1/./me"},
      {http::verb::get, "/./healthz"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.target);
    const auto before = TakeSnapshot(f);
    const Response r = f.Call(c.method, c.target, R"({"reason":"x"})",
                              kOperatorFp, JsonHeaders());
    CHECK(r.status == 404);
    CHECK(r.ErrorCode() == "not_found");
    // The router's answer, not a handler's "no member"/"no match".
    CHECK(Contains(r.ErrorBody().message, "no such endpoint"));
    CHECK(SameData(TakeSnapshot(f), before));
  }
}

TEST_CASE("the query string never becomes a path parameter", "[api][route]") {
  ApiFixture f;
  const Response r = f.Get("/v1/admin/members/alpha?id=beta", kOperatorFp);
  REQUIRE(r.status == 200);
  auto member = wire::DecodeMember(r.body);
  REQUIRE(member);
  CHECK(member->member_id == "alpha");
}

// ---------------------------------------------------------------------------
// Authentication and roles

TEST_CASE("an unknown fingerprint is refused, naming it", "[api][auth]") {
  ApiFixture f;
  for (const auto& e : AllEndpoints()) {
    if (std::string(e.name) == "healthz") continue;
    CAPTURE(e.name);
    const auto before = TakeSnapshot(f);
    const Response r = Send(f, e, kUnknownFp);
    CHECK(r.status == 403);
    CHECK(r.ErrorCode() == "permission_denied");
    const auto message = r.ErrorBody().message;
    CHECK(Contains(message, kUnknownFp));
    CHECK(Contains(message, "operator"));
    CHECK(HasRequestId(r));
    CHECK(SameData(TakeSnapshot(f), before));
  }
}

TEST_CASE(
    "an answer to a certificate that is no active member's ends the "
    "connection, except /healthz",
    "[api][auth]") {
  ApiFixture f;
  struct Case {
    const char* what;
    std::string fingerprint;
    std::string target;
    int status;
    bool closes;
  };
  const Case cases[] = {
      {"unregistered", kUnknownFp, "/v1/me", 403, true},
      {"unregistered, unknown endpoint", kUnknownFp, "/v1/nothing", 404, true},
      {"unregistered, operator endpoint", kUnknownFp, "/metrics", 403, true},
      {"revoked", kAlphaRevokedFp, "/v1/me", 403, true},
      {"suspended", kSuspendedFp, "/v1/me", 403, true},
      // What the design lets any certificate the CA signed do.
      {"unregistered, liveness probe", kUnknownFp, "/healthz", 200, false},
      {"revoked, liveness probe", kAlphaRevokedFp, "/healthz", 200, false},
      // An active member's refusals keep the connection.
      {"member without the role", kAlphaFp, "/v1/admin/members", 403, false},
      {"member, unknown endpoint", kAlphaFp, "/v1/nothing", 404, false},
      {"member", kAlphaFp, "/v1/me", 200, false},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    const Response r = f.Get(c.target, c.fingerprint);
    CHECK(r.status == c.status);
    CHECK((r.Header("Connection") == "close") == c.closes);
  }
  // Refused before its body was read: the transport closes it anyway.
  const Response skipped =
      f.CallSkippedBody(http::verb::post, "/v1/signals", kUnknownFp,
                        {{"Content-Type", "application/json"}});
  CHECK(skipped.status == 403);
  CHECK(skipped.Header("Connection") == "close");
}

TEST_CASE("a revoked fingerprint is refused", "[api][auth]") {
  ApiFixture f;
  const Response r = f.Get("/v1/me", kAlphaRevokedFp);
  CHECK(r.status == 403);
  CHECK(r.ErrorCode() == "permission_denied");
  CHECK(Contains(r.ErrorBody().message, kAlphaRevokedFp));
  // Not "ask the operator to register it": a revoked fingerprint cannot be
  // registered again.
  CHECK(Contains(r.ErrorBody().message, "has been revoked"));
  CHECK_FALSE(Contains(r.ErrorBody().message, "not registered"));
  // The member's other fingerprint still works.
  CHECK(f.Get("/v1/me", kAlphaFp).status == 200);
}

TEST_CASE("a suspended member is refused, naming the member", "[api][auth]") {
  ApiFixture f;
  const auto before = TakeSnapshot(f);
  const Response r = f.Post("/v1/signals", SubmitBody({1}), kSuspendedFp);
  CHECK(r.status == 403);
  CHECK(r.ErrorCode() == "permission_denied");
  CHECK(Contains(r.ErrorBody().message, "'gamma' is suspended"));
  CHECK(Contains(r.ErrorBody().message, "under review"));
  CHECK(SameData(TakeSnapshot(f), before));
}

TEST_CASE("suspension and revocation take effect on the very next request",
          "[api][auth]") {
  ApiFixture f;
  REQUIRE(f.Get("/v1/me", kBetaFp).status == 200);

  Response r = f.Post("/v1/admin/members/beta/suspend",
                      R"({"reason":"abuse report"})", kOperatorFp);
  REQUIRE(r.status == 200);
  auto member = wire::DecodeMember(r.body);
  REQUIRE(member);
  CHECK(member->status == wire::MemberStatus::kSuspended);
  CHECK(member->suspended_reason == "abuse report");

  r = f.Post("/v1/query", QueryBody({1}), kBetaFp);
  CHECK(r.status == 403);
  CHECK(Contains(r.ErrorBody().message, "'beta' is suspended"));

  REQUIRE(f.Post("/v1/admin/members/beta/resume", "{}", kOperatorFp).status ==
          200);
  CHECK(f.Post("/v1/query", QueryBody({1}), kBetaFp).status == 200);

  r = f.Post("/v1/admin/members/beta/fingerprints/" + kBetaFp + "/revoke", "{}",
             kOperatorFp);
  REQUIRE(r.status == 200);
  r = f.Get("/v1/me", kBetaFp);
  CHECK(r.status == 403);
  CHECK(Contains(r.ErrorBody().message, kBetaFp));
  CHECK(Contains(r.ErrorBody().message, "has been revoked"));

  // A new fingerprint works at once.
  const std::string fresh(64, '7');
  REQUIRE(f.Post("/v1/admin/members/beta/fingerprints",
                 R"({"fingerprint":")" + fresh + "\"}", kOperatorFp)
              .status == 200);
  CHECK(f.Get("/v1/me", fresh).status == 200);
}

TEST_CASE(
    "a certificate revoked while its feed or notifications page is read gets "
    "403 and no page",
    "[api][auth]") {
  // Run once, on the reading thread, after the page is read.
  std::function<void()> during;
  FixtureOptions options;
  options.stream_read_hook = [&during] {
    if (during) std::exchange(during, nullptr)();
  };
  ApiFixture f(options);
  const std::string feed_fp(64, '7');
  const std::string notes_fp(64, '8');
  for (const std::string& fp : {feed_fp, notes_fp}) {
    MemberChangeCommand add;
    add.member_id = "beta";
    add.change = MemberChangeCommand::Change::kAddFingerprint;
    add.fingerprint = fp;
    REQUIRE(f.store().ChangeMemberAndWait(add).has_value());
  }
  const auto revoke_during = [&](const std::string& fp) {
    during = [&f, fp] {
      MemberChangeCommand revoke;
      revoke.member_id = "beta";
      revoke.change = MemberChangeCommand::Change::kRevokeFingerprint;
      revoke.fingerprint = fp;
      REQUIRE(f.store().ChangeMemberAndWait(revoke).has_value());
    };
  };

  revoke_during(feed_fp);
  Response r = f.Get("/v1/feed", feed_fp);
  CHECK_FALSE(during);
  CHECK(r.status == 403);
  CHECK(Contains(r.ErrorBody().message, feed_fp));
  CHECK(Contains(r.ErrorBody().message, "has been revoked"));
  CHECK_FALSE(Contains(r.body, "events"));

  revoke_during(notes_fp);
  r = f.Get("/v1/notifications", notes_fp);
  CHECK_FALSE(during);
  CHECK(r.status == 403);
  CHECK(Contains(r.ErrorBody().message, "has been revoked"));
  CHECK_FALSE(Contains(r.body, "notifications"));

  // beta's other certificate still reads.
  CHECK(f.Get("/v1/feed", kBetaFp).status == 200);
  CHECK(f.Get("/v1/notifications", kBetaFp).status == 200);
}

TEST_CASE(
    "a request whose body was skipped as refused is never served, even if "
    "the caller was resumed in between",
    "[api][auth]") {
  ApiFixture f;
  // What the transport asks before reading a large body.
  CHECK(f.WantsBody(http::verb::post, "/v1/signals", kAlphaFp));
  CHECK_FALSE(f.WantsBody(http::verb::post, "/v1/signals", kSuspendedFp));
  CHECK_FALSE(f.WantsBody(http::verb::post, "/v1/signals", kUnknownFp));
  CHECK_FALSE(f.WantsBody(http::verb::post, "/v1/signals", kAlphaFp,
                          {{"Content-Type", "text/plain"}}));

  // Still refused when the body is skipped: the same answer Handle gives.
  Response r = f.CallSkippedBody(http::verb::post, "/v1/signals", kSuspendedFp);
  CHECK(r.status == 403);
  CHECK(Contains(r.ErrorBody().message, "'gamma' is suspended"));

  // The operator resumes gamma between WantsBody and the answer: the body
  // is gone, so the request must not reach the submit handler (which
  // would answer 400 for an empty body), and gamma is told to resend.
  REQUIRE(f.Post("/v1/admin/members/gamma/resume", "{}", kOperatorFp).status ==
          200);
  const auto before = TakeSnapshot(f);
  for (const char* target :
       {"/v1/signals", "/v1/query", "/v1/signals/retract"}) {
    CAPTURE(target);
    r = f.CallSkippedBody(http::verb::post, target, kSuspendedFp);
    CHECK(r.status == 503);
    CHECK(r.ErrorCode() == "unavailable");
    CHECK(Contains(r.ErrorBody().message, "send the request again"));
  }
  CHECK(TakeSnapshot(f) == before);
  // And gamma's next request is served as usual.
  CHECK(f.Post("/v1/query", QueryBody({1}), kSuspendedFp).status == 200);
}

TEST_CASE("roles: every endpoint refuses members without its role",
          "[api][auth]") {
  ApiFixture f;
  struct Caller {
    const char* member;
    const std::string& fingerprint;
    RoleSet roles;
  };
  const Caller callers[] = {
      {"alpha", kAlphaFp, RoleBit(Role::kMember)},
      {"comply", kComplianceFp, RoleBit(Role::kCompliance)},
      {"ops", kOperatorFp, RoleBit(Role::kOperator)},
  };
  int refusals = 0;
  for (const auto& caller : callers) {
    for (const auto& e : AllEndpoints()) {
      const auto role =
          RequiredRole(MatchRoute(e.method == http::verb::get    ? Method::kGet
                                  : e.method == http::verb::post ? Method::kPost
                                                                 : Method::kPut,
                                  e.target.substr(0, e.target.find('?')))
                           .endpoint);
      if (!role || HasRole(caller.roles, *role)) continue;
      CAPTURE(caller.member, e.name);
      const auto before = TakeSnapshot(f);
      const Response r = Send(f, e, caller.fingerprint);
      CHECK(r.status == 403);
      CHECK(r.ErrorCode() == "permission_denied");
      const auto message = r.ErrorBody().message;
      CHECK(Contains(message,
                     "needs the '" + std::string(ToString(*role)) + "' role"));
      CHECK(Contains(message, std::string("'") + caller.member + "'"));
      CHECK(SameData(TakeSnapshot(f), before));
      ++refusals;
    }
  }
  // alpha: metrics + 11 admin; comply: 7 member + metrics + 11 admin;
  // ops: 7 member endpoints (reports and audit checkpoints take any role).
  CHECK(refusals == 12 + 19 + 7);
}

TEST_CASE(
    "healthz reports an unresolved step of the clock without a 503, which "
    "would take the hub out of a load balancer for the hold's hour",
    "[api]") {
  bool stepped = true;
  FixtureOptions options;
  options.clock_stepped = [&stepped] { return stepped; };
  ApiFixture f(std::move(options));
  Response r = f.Get("/healthz", kAlphaFp);
  CHECK(r.status == 200);
  CHECK(r.body == R"({"status":"ok","store":"writable","clock":"stepped"})");
  stepped = false;
  r = f.Get("/healthz", kAlphaFp);
  CHECK(r.status == 200);
  CHECK(r.body == R"({"status":"ok","store":"writable","clock":"ok"})");
}

TEST_CASE("healthz and me are open to every authenticated peer",
          "[api][auth]") {
  ApiFixture f;
  for (const auto* fp :
       {&kAlphaFp, &kComplianceFp, &kOperatorFp, &kUnknownFp, &kSuspendedFp}) {
    CAPTURE(*fp);
    const Response r = f.Get("/healthz", *fp);
    CHECK(r.status == 200);
    auto health = wire::DecodeHealthResponse(r.body);
    REQUIRE(health);
    CHECK(health->ok);
    CHECK(health->store_writable);
  }
  for (const auto* fp : {&kAlphaFp, &kComplianceFp, &kOperatorFp}) {
    CAPTURE(*fp);
    CHECK(f.Get("/v1/me", *fp).status == 200);
  }
}

TEST_CASE(
    "healthz names database files taken from under the hub, and does not "
    "call the store unwritable while its commits succeed",
    "[api]") {
  ApiFixture f;
  REQUIRE(f.Get("/healthz", kAlphaFp).body ==
          R"({"status":"ok","store":"writable","clock":"ok"})");
  REQUIRE(std::filesystem::remove(f.db_path() + "-wal"));
  REQUIRE_FALSE(f.store().CheckFiles().has_value());
  // A commit still goes through.
  CHECK(f.Post("/v1/signals", SubmitBody({7}), kAlphaFp).status == 200);
  const Response r = f.Get("/healthz", kAlphaFp);
  CHECK(r.status == 503);
  CHECK(
      r.body ==
      R"({"status":"degraded","store":"writable","store_files":"deleted_or_replaced","clock":"ok"})");
}

// ---------------------------------------------------------------------------
// Content type

TEST_CASE("POST and PUT bodies must be declared as JSON", "[api][media]") {
  ApiFixture f;
  struct Case {
    std::string content_type;  // "" = no header
    int status;
  };
  const Case cases[] = {
      {"", 415},
      {"text/plain", 415},
      {"application/x-www-form-urlencoded", 415},
      {"application/jsonx", 415},
      {"application/json-seq", 415},
      {"json", 415},
      {"application/json", 200},
      {"application/json; charset=utf-8", 200},
      {"Application/JSON;charset=UTF-8", 200},
  };
  std::uint64_t token = 1000;
  for (const auto& c : cases) {
    CAPTURE(c.content_type);
    Headers headers;
    if (!c.content_type.empty()) {
      headers.emplace_back("Content-Type", c.content_type);
    }
    const auto before = TakeSnapshot(f);
    const Response r = f.Call(http::verb::post, "/v1/signals",
                              SubmitBody({++token}), kAlphaFp, headers);
    CHECK(r.status == c.status);
    if (c.status == 415) {
      CHECK(r.ErrorCode() == "unsupported_media_type");
      CHECK(Contains(r.ErrorBody().message, "application/json"));
      CHECK(SameData(TakeSnapshot(f), before));
    }
    const Response put =
        f.Call(http::verb::put, "/v1/admin/members/alpha/roles",
               R"({"roles":["member"]})", kOperatorFp, headers);
    CHECK(put.status == c.status);
  }
}

// ---------------------------------------------------------------------------
// Rate limits

TEST_CASE("the request rate limit answers 429 with Retry-After",
          "[api][rate]") {
  FixtureOptions options;
  options.rate_limits.requests_per_second = 1;
  options.rate_limits.items_per_second = 0;
  options.rate_limits.burst_seconds = 3;
  ApiFixture f(options);
  for (int i = 0; i < 3; ++i) {
    CAPTURE(i);
    REQUIRE(f.Get("/v1/me", kAlphaFp).status == 200);
  }
  const auto before = TakeSnapshot(f);
  Response r = f.Post("/v1/signals", SubmitBody({1}), kAlphaFp);
  CHECK(r.status == 429);
  CHECK(r.ErrorCode() == "rate_limited");
  CHECK(Contains(r.ErrorBody().message, "'alpha'"));
  const std::string retry_after = r.Header("Retry-After");
  REQUIRE_FALSE(retry_after.empty());
  const int seconds = std::stoi(retry_after);
  CHECK(seconds >= 1);
  CHECK(HasRequestId(r));
  CHECK(SameData(TakeSnapshot(f), before));

  // Other members have their own buckets.
  CHECK(f.Get("/v1/me", kBetaFp).status == 200);
  // Still limited until the clock moves.
  CHECK(f.Get("/v1/me", kAlphaFp).status == 429);
  f.AdvanceSteady(std::chrono::seconds(seconds));
  r = f.Post("/v1/signals", SubmitBody({1}), kAlphaFp);
  CHECK(r.status == 200);
  CHECK(r.Header("Retry-After").empty());

  const std::string metrics = f.metrics().Render();
  CHECK(Contains(metrics, "cairn_rate_limited_total 2"));
}

TEST_CASE("malformed batch bodies count against the request rate limit",
          "[api][rate]") {
  FixtureOptions options;
  options.rate_limits.requests_per_second = 1;
  options.rate_limits.items_per_second = 0;
  options.rate_limits.burst_seconds = 4;
  ApiFixture f(options);
  // One malformed body per batch endpoint: each is refused, and each costs
  // a request, so the fifth request of any kind is over the limit.
  for (const char* target :
       {"/v1/signals", "/v1/signals/retract", "/v1/query", "/v1/query"}) {
    CAPTURE(target);
    CHECK(f.Post(target, "{not json", kAlphaFp).status == 400);
  }
  const Response r = f.Post("/v1/query", "{not json", kAlphaFp);
  CHECK(r.status == 429);
  CHECK(f.Get("/v1/me", kAlphaFp).status == 429);
}

TEST_CASE("the item rate limit counts batch items", "[api][rate]") {
  FixtureOptions options;
  options.rate_limits.requests_per_second = 0;
  options.rate_limits.items_per_second = 100;
  options.rate_limits.burst_seconds = 1;
  ApiFixture f(options);
  std::vector<std::uint64_t> sixty;
  for (std::uint64_t i = 0; i < 60; ++i) sixty.push_back(7000 + i);

  CHECK(f.Post("/v1/query", QueryBody(sixty), kBetaFp).status == 200);
  const auto before = TakeSnapshot(f);
  Response r = f.Post("/v1/query", QueryBody(sixty), kBetaFp);
  CHECK(r.status == 429);
  CHECK(r.ErrorCode() == "rate_limited");
  CHECK(std::stoi(r.Header("Retry-After")) >= 1);
  // Requests without items still pass: the request limit is off.
  CHECK(f.Get("/v1/me", kBetaFp).status == 200);
  CHECK(SameData(TakeSnapshot(f), before));

  f.AdvanceSteady(std::chrono::seconds(std::stoi(r.Header("Retry-After"))));
  CHECK(f.Post("/v1/query", QueryBody(sixty), kBetaFp).status == 200);

  // A batch bigger than the whole bucket passes once the bucket is full.
  f.AdvanceSteady(std::chrono::seconds(5));
  std::vector<std::uint64_t> big;
  for (std::uint64_t i = 0; i < 250; ++i) big.push_back(9000 + i);
  CHECK(f.Post("/v1/query", QueryBody(big), kBetaFp).status == 200);
  r = f.Post("/v1/query", QueryBody({1}), kBetaFp);
  CHECK(r.status == 429);
  CHECK(std::stoi(r.Header("Retry-After")) >= 2);
}

// ---------------------------------------------------------------------------
// Happy paths

TEST_CASE("/v1/me describes the caller", "[api][happy]") {
  ApiFixture f;
  const Response r = f.Get("/v1/me", kAlphaFp);
  REQUIRE(r.status == 200);
  CHECK(HasRequestId(r));
  CHECK(r.Header("Cache-Control") == "no-store");
  auto me = wire::DecodeMeResponse(r.body);
  REQUIRE(me);
  CHECK(me->member_id == "alpha");
  CHECK(me->name == "Alpha Social");
  CHECK(me->roles == std::vector<Role>{Role::kMember});
  CHECK(me->fingerprint == kAlphaFp);
  CHECK(me->limits.max_batch == 10000);
  CHECK(me->limits.max_body_bytes == 4194304);
  CHECK(me->limits.requests_per_second == 200);
  CHECK(me->limits.items_per_second == 200000);
  CHECK(me->token_schemes == std::vector<TokenScheme>{TokenScheme::kHmacV1});
  CHECK(me->hub_keys.empty());
}

TEST_CASE(
    "/v1/me announces the hub's features (query-idempotency), as its schema "
    "describes",
    "[api][happy][schema]") {
  ApiFixture f;
  const Response r = f.Get("/v1/me", kAlphaFp);
  REQUIRE(r.status == 200);
  auto me = wire::DecodeMeResponse(r.body);
  REQUIRE(me);
  // The hub keeps a query's Idempotency-Key (schema 10 on), so clients may
  // resend a query whose answer was lost.
  CHECK(me->features ==
        std::vector<std::string>{std::string(wire::kFeatureQueryIdempotency)});
  CHECK(me->Supports(wire::kFeatureQueryIdempotency));
  CHECK_FALSE(me->Supports("no-such-feature"));
  CHECK(Contains(r.body, R"("features":["query-idempotency"])"));

  // The body validates, and the schema does check "features": a body whose
  // entry is not a feature name fails.
  const std::string good = f.dir() + "/me-features.json";
  REQUIRE(WriteFile(good, r.body));
  std::string broken_body = r.body;
  const auto at = broken_body.find(R"("query-idempotency")");
  REQUIRE(at != std::string::npos);
  broken_body.replace(at, 19, "7");
  const std::string broken = f.dir() + "/me-features-broken.json";
  REQUIRE(WriteFile(broken, broken_body));
  std::string output;
  CHECK(ValidateAgainstSchemas(
            {{"me-response", {good}}, {"me-response", {broken}}}, &output) ==
        1);
  INFO(output);
  CHECK(Contains(output, "1 files checked against me-response, 0 failures"));
  CHECK(Contains(output, "FAIL " + broken + " (me-response)"));
}

TEST_CASE("submit: created, duplicate, updated", "[api][happy]") {
  ApiFixture f;
  Response r = f.Post("/v1/signals", SubmitBody({1, 2}), kAlphaFp);
  REQUIRE(r.status == 200);
  auto first = wire::DecodeSubmitSignalsResponse(r.body);
  REQUIRE(first);
  CHECK(first->request_id == r.Header("X-Request-Id"));
  REQUIRE(first->results.size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    CHECK(first->results[i].index == i);
    CHECK(first->results[i].status == wire::SubmitStatus::kCreated);
    CHECK(wire::IsWellFormedSignalId(first->results[i].signal_id));
  }
  CHECK(first->results[0].signal_id != first->results[1].signal_id);
  CHECK(f.store().Stats().index_signals == 2);

  r = f.Post("/v1/signals", SubmitBody({1}), kAlphaFp);
  auto again = wire::DecodeSubmitSignalsResponse(r.body);
  REQUIRE(again);
  REQUIRE(again->results.size() == 1);
  CHECK(again->results[0].status == wire::SubmitStatus::kDuplicate);
  CHECK(again->results[0].signal_id == first->results[0].signal_id);

  std::string critical = SubmitBody({1});
  const auto at = critical.find("\"high\"");
  REQUIRE(at != std::string::npos);
  critical.replace(at, 6, "\"critical\"");
  r = f.Post("/v1/signals", critical, kAlphaFp);
  auto updated = wire::DecodeSubmitSignalsResponse(r.body);
  REQUIRE(updated);
  CHECK(updated->results[0].status == wire::SubmitStatus::kUpdated);
  CHECK(updated->results[0].signal_id == first->results[0].signal_id);
  CHECK(f.store().Stats().index_signals == 2);
  CHECK(Contains(f.metrics().Render(), "cairn_signals_submitted_total 4"));
}

TEST_CASE("submit: an unregistered custom kind is a per-item error",
          "[api][happy]") {
  ApiFixture f;
  const std::string body = R"({"signals":[)" + SignalJson(1) + "," +
                           SignalJson(2, "", "gamertag") + "]}";
  const Response r = f.Post("/v1/signals", body, kAlphaFp);
  REQUIRE(r.status == 200);
  auto decoded = wire::DecodeSubmitSignalsResponse(r.body);
  REQUIRE(decoded);
  REQUIRE(decoded->results.size() == 2);
  CHECK(decoded->results[0].status == wire::SubmitStatus::kCreated);
  CHECK(decoded->results[1].status == wire::SubmitStatus::kError);
  CHECK(decoded->results[1].signal_id.empty());
  REQUIRE(decoded->results[1].error);
  CHECK_FALSE(decoded->results[1].error->message.empty());
}

TEST_CASE("submit: Idempotency-Key replays the same results", "[api][happy]") {
  ApiFixture f;
  const Headers key = {{"Idempotency-Key", "batch-2026-11-23#1"}};
  Response r = f.Post("/v1/signals", SubmitBody({10, 11}), kAlphaFp, key);
  REQUIRE(r.status == 200);
  auto first = wire::DecodeSubmitSignalsResponse(r.body);
  REQUIRE(first);
  const auto after_first = TakeSnapshot(f);

  r = f.Post("/v1/signals", SubmitBody({10, 11}), kAlphaFp, key);
  REQUIRE(r.status == 200);
  auto replay = wire::DecodeSubmitSignalsResponse(r.body);
  REQUIRE(replay);
  CHECK(replay->results == first->results);  // "created" again, same ids
  CHECK(replay->request_id != first->request_id);
  CHECK(TakeSnapshot(f).index_signals == after_first.index_signals);

  // The same key with another body is a conflict.
  r = f.Post("/v1/signals", SubmitBody({12}), kAlphaFp, key);
  CHECK(r.status == 409);
  CHECK(r.ErrorCode() == "conflict");

  // Without the key the same body is a duplicate.
  r = f.Post("/v1/signals", SubmitBody({10, 11}), kAlphaFp);
  auto plain = wire::DecodeSubmitSignalsResponse(r.body);
  REQUIRE(plain);
  CHECK(plain->results[0].status == wire::SubmitStatus::kDuplicate);
}

TEST_CASE("submit: a malformed Idempotency-Key is refused", "[api][happy]") {
  ApiFixture f;
  for (const std::string& bad :
       {std::string("has space"), std::string(129, 'k'),
        std::string("tab\there"), std::string("caf\xc3\xa9")}) {
    CAPTURE(bad);
    const auto before = TakeSnapshot(f);
    const Response r = f.Post("/v1/signals", SubmitBody({1}), kAlphaFp,
                              {{"Idempotency-Key", bad}});
    CHECK(r.status == 400);
    CHECK(r.ErrorCode() == "invalid_argument");
    CHECK(r.ErrorBody().field == "Idempotency-Key");
    CHECK(SameData(TakeSnapshot(f), before));
  }
  CHECK(f.Post("/v1/signals", SubmitBody({1}), kAlphaFp,
               {{"Idempotency-Key", std::string(128, 'k')}})
            .status == 200);
}

// Alpha and delta ban tokens; beta queries. Returns the fixture ready.
struct MatchWorld {
  ApiFixture f;
  static inline const std::string kDeltaFp = std::string(64, '8');
  MatchWorld() {
    const auto created =
        f.Post("/v1/admin/members",
               R"({"member_id":"delta","name":"Delta","roles":["member"],)"
               R"("fingerprints":[")" +
                   kDeltaFp + "\"]}",
               kOperatorFp);
    REQUIRE(created.status == 201);
    // alpha: 1 (attributed, with a ref), 2 (anonymous), 3; delta: 3.
    const std::string alpha_body =
        R"({"signals":[)" +
        SignalJson(1, R"(,"attribution":true,"ref":"case-1")") + "," +
        SignalJson(2) + "," + SignalJson(3, "", "email", "sextortion") + "]}";
    REQUIRE(f.Post("/v1/signals", alpha_body, kAlphaFp).status == 200);
    REQUIRE(f.Post("/v1/signals", SubmitBody({3}), kDeltaFp).status == 200);
  }
};

TEST_CASE("query: matches, attribution only when opted in", "[api][happy]") {
  MatchWorld w;
  const Response r = w.f.Post("/v1/query", QueryBody({1, 99, 2, 3}), kBetaFp);
  REQUIRE(r.status == 200);
  auto q = wire::DecodeQueryResponse(r.body);
  REQUIRE(q);
  CHECK(q->request_id == r.Header("X-Request-Id"));
  CHECK(q->queried == 4);
  REQUIRE(q->matches.size() == 3);
  CHECK(q->matches[0].index == 0);
  CHECK(q->matches[0].attributed_to == std::vector<std::string>{"alpha"});
  CHECK(q->matches[0].platforms == 1);
  CHECK(q->matches[0].kinds == std::vector<std::string>{"email"});
  CHECK(q->matches[0].max_severity == Severity::kHigh);
  CHECK(q->matches[1].index == 2);
  CHECK(q->matches[1].attributed_to.empty());
  CHECK(q->matches[2].index == 3);
  CHECK(q->matches[2].platforms == 2);
  CHECK(q->matches[2].categories ==
        std::vector<Category>{Category::kGrooming, Category::kSextortion});
  for (const auto& m : q->matches) CHECK(wire::IsWellFormedMatchId(m.match_id));
  CHECK_FALSE(Contains(r.body, "\"attributed_to\":[]"));
  CHECK_FALSE(Contains(r.body, "case-1"));  // refs stay private
}

TEST_CASE("query: a member's own signals never match", "[api][happy]") {
  MatchWorld w;
  const Response r = w.f.Post("/v1/query", QueryBody({1, 2}), kAlphaFp);
  REQUIRE(r.status == 200);
  auto q = wire::DecodeQueryResponse(r.body);
  REQUIRE(q);
  CHECK(q->queried == 2);
  CHECK(q->matches.empty());
  // Token 3 is also delta's: alpha sees delta's support only.
  auto three = wire::DecodeQueryResponse(
      w.f.Post("/v1/query", QueryBody({3}), kAlphaFp).body);
  REQUIRE(three);
  REQUIRE(three->matches.size() == 1);
  CHECK(three->matches[0].platforms == 1);
}

TEST_CASE(
    "query: an Idempotency-Key replays the matches recorded instead of "
    "recording new ones",
    "[api][happy]") {
  MatchWorld w;
  const Headers key = {{"Idempotency-Key", "lookup-2026-12-07#1"}};
  Response r = w.f.Post("/v1/query", QueryBody({1, 99, 3}), kBetaFp, key);
  REQUIRE(r.status == 200);
  auto first = wire::DecodeQueryResponse(r.body);
  REQUIRE(first);
  REQUIRE(first->matches.size() == 2);
  const auto after_first = TakeSnapshot(w.f);

  // The retry of a query whose answer was lost: the same matches, no new
  // ones (a member would otherwise hold matches it never saw, and be
  // notified about them).
  r = w.f.Post("/v1/query", QueryBody({1, 99, 3}), kBetaFp, key);
  REQUIRE(r.status == 200);
  auto replay = wire::DecodeQueryResponse(r.body);
  REQUIRE(replay);
  CHECK(replay->matches == first->matches);
  CHECK(replay->queried == 3);
  CHECK(replay->request_id != first->request_id);
  CHECK(TakeSnapshot(w.f).rows.at("matches") == after_first.rows.at("matches"));
  CHECK(TakeSnapshot(w.f).rows.at("idempotency") ==
        after_first.rows.at("idempotency"));

  // The same key with other tokens is a new query, not a 409: only a query
  // with a match reads its key, so a 409 would tell the member that one of
  // its tokens matches without a match being recorded.
  r = w.f.Post("/v1/query", QueryBody({1, 2}), kBetaFp, key);
  REQUIRE(r.status == 200);
  auto other = wire::DecodeQueryResponse(r.body);
  REQUIRE(other);
  REQUIRE(other->matches.size() == 2);
  CHECK(other->matches[0].match_id != first->matches[0].match_id);
  CHECK(TakeSnapshot(w.f).rows.at("matches") ==
        after_first.rows.at("matches") + 2);
  CHECK(TakeSnapshot(w.f).rows.at("idempotency") ==
        after_first.rows.at("idempotency"));

  // Without the key the same query records new matches.
  r = w.f.Post("/v1/query", QueryBody({1, 99, 3}), kBetaFp);
  auto plain = wire::DecodeQueryResponse(r.body);
  REQUIRE(plain);
  REQUIRE(plain->matches.size() == 2);
  CHECK(plain->matches[0].match_id != first->matches[0].match_id);

  // Keys are per member: delta's query with beta's key is its own.
  r = w.f.Post("/v1/query", QueryBody({1}), MatchWorld::kDeltaFp, key);
  REQUIRE(r.status == 200);
  auto delta = wire::DecodeQueryResponse(r.body);
  REQUIRE(delta);
  REQUIRE(delta->matches.size() == 1);
  CHECK(delta->matches[0].match_id != first->matches[0].match_id);

  // A key a submit used is not a query's: a query with it is answered
  // alike whether it matches or not (200 either way), records its matches,
  // and leaves the submit's replay intact.
  const Headers submit_key = {{"Idempotency-Key", "batch-7"}};
  Response submitted =
      w.f.Post("/v1/signals", SubmitBody({7}), kAlphaFp, submit_key);
  REQUIRE(submitted.status == 200);
  Response matching =
      w.f.Post("/v1/query", QueryBody({3}), kAlphaFp, submit_key);
  CHECK(matching.status == 200);
  auto matched = wire::DecodeQueryResponse(matching.body);
  REQUIRE(matched);
  CHECK(matched->matches.size() == 1);
  CHECK(w.f.Post("/v1/query", QueryBody({98}), kAlphaFp, submit_key).status ==
        200);
  Response resubmitted =
      w.f.Post("/v1/signals", SubmitBody({7}), kAlphaFp, submit_key);
  REQUIRE(resubmitted.status == 200);
  auto first_results = wire::DecodeSubmitSignalsResponse(submitted.body);
  auto replayed_results = wire::DecodeSubmitSignalsResponse(resubmitted.body);
  REQUIRE(first_results);
  REQUIRE(replayed_results);
  CHECK(replayed_results->results == first_results->results);
}

TEST_CASE("query: a malformed Idempotency-Key is refused", "[api][happy]") {
  MatchWorld w;
  for (const std::string& bad :
       {std::string("has space"), std::string(129, 'k'),
        std::string("tab\there"), std::string("caf\xc3\xa9")}) {
    CAPTURE(bad);
    const auto before = TakeSnapshot(w.f);
    const Response r = w.f.Post("/v1/query", QueryBody({1}), kBetaFp,
                                {{"Idempotency-Key", bad}});
    CHECK(r.status == 400);
    CHECK(r.ErrorCode() == "invalid_argument");
    CHECK(r.ErrorBody().field == "Idempotency-Key");
    CHECK(SameData(TakeSnapshot(w.f), before));
  }
}

TEST_CASE("retract: own signals by key or ref, others' are not_found",
          "[api][happy]") {
  MatchWorld w;
  // Beta cannot retract alpha's signal.
  Response r = w.f.Post("/v1/signals/retract",
                        R"({"retractions":[{"kind":"email","token":")" +
                            HexToken(2) + R"(","reason":"error"}]})",
                        kBetaFp);
  REQUIRE(r.status == 200);
  auto other = wire::DecodeRetractResponse(r.body);
  REQUIRE(other);
  REQUIRE(other->results.size() == 1);
  CHECK(other->results[0].status == wire::RetractStatus::kNotFound);
  CHECK(w.f.store().Stats().index_signals == 4);

  r = w.f.Post("/v1/signals/retract",
               R"({"retractions":[{"kind":"email","token":")" + HexToken(2) +
                   R"(","reason":"appeal_upheld"},)"
                   R"({"ref":"case-1","reason":"error"},)"
                   R"({"ref":"no-such-ref","reason":"other"}]})",
               kAlphaFp);
  REQUIRE(r.status == 200);
  auto own = wire::DecodeRetractResponse(r.body);
  REQUIRE(own);
  CHECK(own->request_id == r.Header("X-Request-Id"));
  REQUIRE(own->results.size() == 3);
  CHECK(own->results[0].status == wire::RetractStatus::kRetracted);
  CHECK(own->results[0].signal_ids.size() == 1);
  CHECK(own->results[1].status == wire::RetractStatus::kRetracted);
  CHECK(own->results[2].status == wire::RetractStatus::kNotFound);
  CHECK(w.f.store().Stats().index_signals == 2);
  CHECK(Contains(w.f.metrics().Render(), "cairn_signals_retracted_total 2"));
}

TEST_CASE("disposition: only the member that made the match", "[api][happy]") {
  MatchWorld w;
  auto q = wire::DecodeQueryResponse(
      w.f.Post("/v1/query", QueryBody({1}), kBetaFp).body);
  REQUIRE(q);
  REQUIRE(q->matches.size() == 1);
  const std::string target =
      "/v1/matches/" + q->matches[0].match_id + "/disposition";

  const auto before = TakeSnapshot(w.f);
  Response r = w.f.Post(target, R"({"outcome":"confirmed"})", kAlphaFp);
  CHECK(r.status == 404);
  CHECK(r.ErrorCode() == "not_found");
  CHECK(SameData(TakeSnapshot(w.f), before));

  r = w.f.Post(target, R"({"outcome":"actioned","note":"account closed"})",
               kBetaFp);
  REQUIRE(r.status == 200);
  auto d = wire::DecodeDispositionResponse(r.body);
  REQUIRE(d);
  CHECK(d->request_id == r.Header("X-Request-Id"));
  CHECK(d->match_id == q->matches[0].match_id);
  CHECK(d->outcome == Outcome::kActioned);
  CHECK(d->recorded_at == sys_seconds{std::chrono::seconds{kNow}});
}

TEST_CASE("notifications after a retraction say whether support remains",
          "[api][happy]") {
  MatchWorld w;
  auto q = wire::DecodeQueryResponse(
      w.f.Post("/v1/query", QueryBody({1, 3}), kBetaFp).body);
  REQUIRE(q);
  REQUIRE(q->matches.size() == 2);
  Response r = w.f.Get("/v1/notifications", kBetaFp);
  REQUIRE(r.status == 200);
  auto empty = wire::DecodeNotificationsResponse(r.body);
  REQUIRE(empty);
  CHECK(empty->notifications.empty());
  CHECK_FALSE(empty->more);

  REQUIRE(w.f.Post("/v1/signals/retract",
                   R"({"retractions":[{"ref":"case-1","reason":"error"},)"
                   R"({"kind":"email","token":")" +
                       HexToken(3) + R"(","reason":"appeal_upheld"}]})",
                   kAlphaFp)
              .status == 200);
  r = w.f.Get("/v1/notifications", kBetaFp);
  REQUIRE(r.status == 200);
  auto n = wire::DecodeNotificationsResponse(r.body);
  REQUIRE(n);
  REQUIRE(n->notifications.size() == 2);
  for (const auto& note : n->notifications) {
    CAPTURE(note.match_id);
    CHECK(note.type == FeedEventType::kRetracted);
    if (note.match_id == q->matches[0].match_id) {
      CHECK(note.reason == RetractReason::kError);
      CHECK_FALSE(note.still_supported);
    } else {
      CHECK(note.match_id == q->matches[1].match_id);
      CHECK(note.reason == RetractReason::kAppealUpheld);
      CHECK(note.still_supported);  // delta still bans token 3
    }
  }
  // Numbered as beta's own: 1, 2, and a cursor in that numbering.
  CHECK(n->notifications[0].seq == 1);
  CHECK(n->notifications[1].seq == 2);
  CHECK(n->cursor == "m2");
  // Paging on: nothing after the cursor.
  r = w.f.Get("/v1/notifications?after=" + n->cursor, kBetaFp);
  auto rest = wire::DecodeNotificationsResponse(r.body);
  REQUIRE(rest);
  CHECK(rest->notifications.empty());
  CHECK(rest->cursor == n->cursor);
  // Alpha made no matches: nothing for alpha, and a cursor that beta's
  // notifications did not move (it would count them).
  auto alpha = wire::DecodeNotificationsResponse(
      w.f.Get("/v1/notifications", kAlphaFp).body);
  REQUIRE(alpha);
  CHECK(alpha->notifications.empty());
  CHECK(alpha->cursor == "m0");
  CHECK_FALSE(alpha->more);
  // Nor does the refusal of a cursor past alpha's own head name the hub's.
  r = w.f.Get("/v1/notifications?after=" + n->cursor, kAlphaFp);
  CHECK(r.status == 400);
  CHECK(r.ErrorBody().field == "after");
  CAPTURE(r.ErrorBody().message);
  CHECK_THAT(r.ErrorBody().message,
             Catch::Contains("past your newest notification") &&
                 !Catch::Contains("(" + n->cursor + ")"));
}

TEST_CASE("feed: pages with cursor, more and limit", "[api][happy]") {
  MatchWorld w;
  // Beta sees alpha's three and delta's one signal.
  Response r = w.f.Get("/v1/feed", kBetaFp);
  REQUIRE(r.status == 200);
  auto all = wire::DecodeFeedResponse(r.body);
  REQUIRE(all);
  REQUIRE(all->events.size() == 4);
  CHECK_FALSE(all->more);
  for (const auto& e : all->events) {
    CHECK(e.type == FeedEventType::kAdded);
    CHECK(wire::IsWellFormedSignalId(e.signal_id));
  }
  CHECK_FALSE(Contains(r.body, "case-1"));  // refs stay private
  // Alpha does not see its own signals.
  auto alpha = wire::DecodeFeedResponse(w.f.Get("/v1/feed", kAlphaFp).body);
  REQUIRE(alpha);
  CHECK(alpha->events.size() == 1);

  std::vector<wire::FeedEvent> paged;
  std::string cursor;
  int pages = 0;
  bool more = true;
  while (more && pages < 10) {
    const std::string target =
        "/v1/feed?limit=3" + (cursor.empty() ? "" : "&after=" + cursor);
    auto page = wire::DecodeFeedResponse(w.f.Get(target, kBetaFp).body);
    REQUIRE(page);
    CHECK(page->events.size() <= 3);
    paged.insert(paged.end(), page->events.begin(), page->events.end());
    cursor = page->cursor;
    more = page->more;
    ++pages;
  }
  CHECK(pages == 2);
  CHECK(paged == all->events);
  CHECK(cursor == all->cursor);

  auto one =
      wire::DecodeFeedResponse(w.f.Get("/v1/feed?limit=1", kBetaFp).body);
  REQUIRE(one);
  CHECK(one->events.size() == 1);
  CHECK(one->more);
  CHECK(one->cursor == std::to_string(one->events[0].seq));

  // A retraction appears as a new event after the cursor.
  REQUIRE(w.f.Post("/v1/signals/retract",
                   R"({"retractions":[{"ref":"case-1","reason":"error"}]})",
                   kAlphaFp)
              .status == 200);
  auto next = wire::DecodeFeedResponse(
      w.f.Get("/v1/feed?after=" + all->cursor, kBetaFp).body);
  REQUIRE(next);
  REQUIRE(next->events.size() == 1);
  CHECK(next->events[0].type == FeedEventType::kRetracted);
  CHECK(next->events[0].key.token == all->events[0].key.token);
}

TEST_CASE("admin: create, get, list, set roles", "[api][happy]") {
  ApiFixture f;
  Response r = f.Post("/v1/admin/members",
                      R"({"member_id":"epsilon","name":"Epsilon",)"
                      R"("roles":["member","compliance"],"fingerprints":[")" +
                          std::string(64, '6') + "\"]}",
                      kOperatorFp);
  REQUIRE(r.status == 201);
  auto created = wire::DecodeMember(r.body);
  REQUIRE(created);
  CHECK(created->member_id == "epsilon");
  CHECK(created->status == wire::MemberStatus::kActive);
  REQUIRE(created->fingerprints.size() == 1);
  CHECK(created->fingerprints[0].status == wire::FingerprintStatus::kActive);

  r = f.Post("/v1/admin/members",
             R"({"member_id":"epsilon","name":"Again","roles":["member"]})",
             kOperatorFp);
  CHECK(r.status == 409);
  CHECK(r.ErrorCode() == "conflict");

  r = f.Put("/v1/admin/members/epsilon/roles", R"({"roles":["operator"]})",
            kOperatorFp);
  REQUIRE(r.status == 200);
  auto changed = wire::DecodeMember(r.body);
  REQUIRE(changed);
  CHECK(changed->roles == std::vector<Role>{Role::kOperator});
  // The new role applies at once.
  CHECK(f.Get("/v1/admin/members", std::string(64, '6')).status == 200);

  auto list = wire::DecodeMemberListResponse(
      f.Get("/v1/admin/members", kOperatorFp).body);
  REQUIRE(list);
  std::vector<std::string> ids;
  for (const auto& m : list->members) ids.push_back(m.member_id);
  CHECK(ids == std::vector<std::string>{"alpha", "beta", "comply", "epsilon",
                                        "gamma", "ops"});

  r = f.Get("/v1/admin/members/nobody", kOperatorFp);
  CHECK(r.status == 404);
  CHECK(r.ErrorCode() == "not_found");
}

TEST_CASE("metrics count requests by endpoint and status", "[api][happy]") {
  ApiFixture f;
  REQUIRE(f.Get("/v1/me", kAlphaFp).status == 200);
  REQUIRE(f.Get("/nope", kAlphaFp).status == 404);
  REQUIRE(f.Post("/v1/query", QueryBody({1}), kAlphaFp).status == 200);
  const Response r = f.Get("/metrics", kOperatorFp);
  REQUIRE(r.status == 200);
  CHECK(Contains(r.Header("Content-Type"), "text/plain"));
  CHECK(HasRequestId(r));
  CHECK(Contains(r.body, "cairn_requests_total"));
  CHECK(Contains(r.body, "endpoint=\"me\""));
  CHECK(Contains(r.body, "endpoint=\"query\""));
  CHECK(Contains(r.body, "cairn_tokens_queried_total 1"));
}

TEST_CASE("WAL checkpoint totals are exported as counters that catch up",
          "[api][happy]") {
  HubMetrics metrics;
  double ok = 3, failed = 1;
  GaugeSources sources;
  sources.wal_checkpoints = [&] { return ok; };
  sources.failed_wal_checkpoints = [&] { return failed; };
  metrics.SetGaugeSources(std::move(sources));
  std::string text = metrics.Render();
  CHECK(Contains(text, "cairn_store_wal_checkpoints_total{result=\"ok\"} 3"));
  CHECK(
      Contains(text, "cairn_store_wal_checkpoints_total{result=\"failed\"} 1"));
  // A second scrape adds only what happened since, never twice.
  CHECK(Contains(metrics.Render(),
                 "cairn_store_wal_checkpoints_total{result=\"ok\"} 3"));
  ok = 5;
  text = metrics.Render();
  CHECK(Contains(text, "cairn_store_wal_checkpoints_total{result=\"ok\"} 5"));
  CHECK(
      Contains(text, "cairn_store_wal_checkpoints_total{result=\"failed\"} 1"));
}

TEST_CASE("refused connections are exported as counters by reason",
          "[api][happy]") {
  HubMetrics metrics;
  ConnectionRefusalTotals refused{.max_connections = 1,
                                  .max_handshakes = 2,
                                  .max_handshakes_per_address = 30,
                                  .metrics_listener = 0};
  GaugeSources sources;
  sources.connection_refusals = [&] { return refused; };
  metrics.SetGaugeSources(std::move(sources));
  std::string text = metrics.Render();
  const std::string name = "cairn_connections_refused_total{reason=";
  CHECK(Contains(text, name + "\"max_connections\"} 1"));
  CHECK(Contains(text, name + "\"max_handshakes\"} 2"));
  CHECK(Contains(text, name + "\"max_handshakes_per_address\"} 30"));
  CHECK(Contains(text, name + "\"metrics_listener\"} 0"));
  refused.max_handshakes_per_address = 45;
  text = metrics.Render();
  CHECK(Contains(text, name + "\"max_handshakes_per_address\"} 45"));
  CHECK(Contains(text, name + "\"max_connections\"} 1"));
}

TEST_CASE("clock steps are exported as counters with an unresolved gauge",
          "[api][happy]") {
  HubMetrics metrics;
  ClockStepTotals steps{.forward = 1, .backward = 0, .unresolved = true};
  GaugeSources sources;
  sources.clock_steps = [&] { return steps; };
  metrics.SetGaugeSources(std::move(sources));
  std::string text = metrics.Render();
  CHECK(Contains(text, "cairn_clock_steps_total{direction=\"forward\"} 1"));
  CHECK(Contains(text, "cairn_clock_steps_total{direction=\"backward\"} 0"));
  CHECK(Contains(text, "cairn_clock_step_unresolved 1"));
  steps = {.forward = 1, .backward = 2, .unresolved = false};
  text = metrics.Render();
  CHECK(Contains(text, "cairn_clock_steps_total{direction=\"forward\"} 1"));
  CHECK(Contains(text, "cairn_clock_steps_total{direction=\"backward\"} 2"));
  CHECK(Contains(text, "cairn_clock_step_unresolved 0"));
}

TEST_CASE("match settles are exported as counters that catch up",
          "[api][happy]") {
  HubMetrics metrics;
  double settles = 2, seconds = 0.25;
  GaugeSources sources;
  sources.match_settles = [&] { return settles; };
  sources.match_settle_seconds = [&] { return seconds; };
  metrics.SetGaugeSources(std::move(sources));
  std::string text = metrics.Render();
  CHECK(Contains(text, "cairn_store_match_settles_total 2"));
  CHECK(Contains(text, "cairn_store_match_settle_seconds_total 0.25"));
  settles = 3;
  seconds = 0.375;
  text = metrics.Render();
  CHECK(Contains(text, "cairn_store_match_settles_total 3"));
  CHECK(Contains(text, "cairn_store_match_settle_seconds_total 0.375"));
}

TEST_CASE(
    "failed TLS handshakes are exported as a counter by reason that catches "
    "up",
    "[api][happy]") {
  HubMetrics metrics;
  TlsHandshakeFailureTotals totals{
      .certificate = 2, .timeout = 1, .closed = 4, .other = 3};
  GaugeSources sources;
  sources.tls_handshake_failures = [&] { return totals; };
  metrics.SetGaugeSources(std::move(sources));
  std::string text = metrics.Render();
  const std::string name = "cairn_tls_handshake_failures_total";
  CHECK(Contains(text, name + "{reason=\"certificate\"} 2\n"));
  CHECK(Contains(text, name + "{reason=\"timeout\"} 1\n"));
  CHECK(Contains(text, name + "{reason=\"closed\"} 4\n"));
  CHECK(Contains(text, name + "{reason=\"other\"} 3\n"));
  totals.certificate = 5;
  text = metrics.Render();
  CHECK(Contains(text, name + "{reason=\"certificate\"} 5\n"));
  CHECK(Contains(text, name + "{reason=\"other\"} 3\n"));
}

TEST_CASE("failed store commits are exported as a counter that catches up",
          "[api][happy]") {
  HubMetrics metrics;
  double failed = 0;
  GaugeSources sources;
  sources.failed_commits = [&] { return failed; };
  metrics.SetGaugeSources(std::move(sources));
  CHECK(Contains(metrics.Render(), "\ncairn_store_failed_commits_total 0\n"));
  failed = 1077;
  CHECK(
      Contains(metrics.Render(), "\ncairn_store_failed_commits_total 1077\n"));
}

TEST_CASE("the loopback metrics listener (no certificate) gets /metrics only",
          "[api][auth]") {
  ApiFixture f;
  // The transport passes an empty fingerprint only from the plain-HTTP
  // loopback listener, which forwards nothing but GET /metrics.
  const Response metrics = f.Get("/metrics", "");
  CHECK(metrics.status == 200);
  CHECK(Contains(metrics.body, "cairn_requests_total"));
  for (const char* target : {"/v1/me", "/v1/feed", "/v1/admin/members"}) {
    CAPTURE(target);
    const Response r = f.Get(target, "");
    CHECK(r.status == 401);
    CHECK(r.ErrorCode() == "unauthenticated");
  }
  CHECK(f.Post("/v1/query", QueryBody({1}), "").status == 401);
}

TEST_CASE("every response carries a fresh X-Request-Id", "[api][happy]") {
  ApiFixture f;
  std::set<std::string> ids;
  const Response responses[] = {
      f.Get("/healthz", kUnknownFp),
      f.Get("/v1/me", kAlphaFp),
      f.Get("/v1/me", kUnknownFp),
      f.Get("/nope", kAlphaFp),
      f.Call(http::verb::delete_, "/v1/me", "", kAlphaFp),
      f.Post("/v1/query", "{", kAlphaFp),
      f.Post("/v1/query", QueryBody({1}), kAlphaFp, {{"Content-Type", "x"}}),
      f.Post("/v1/signals", SubmitBody({1}), kAlphaFp),
      f.Get("/metrics", kOperatorFp),
  };
  for (const auto& r : responses) {
    CAPTURE(r.status, r.body);
    CHECK(HasRequestId(r));
    ids.insert(r.Header("X-Request-Id"));
  }
  CHECK(ids.size() == std::size(responses));
}

// ---------------------------------------------------------------------------
// Response bodies against the JSON Schemas

TEST_CASE("every kind of response body validates against its schema",
          "[api][schema]") {
  MatchWorld w;
  ApiFixture& f = w.f;
  std::map<std::string, std::vector<std::string>> files;  // schema -> files
  int n = 0;
  auto keep = [&](const std::string& schema, const Response& r,
                  int expected_status) {
    CAPTURE(schema, r.body);
    REQUIRE(r.status == expected_status);
    const std::string path = f.dir() + "/body-" + std::to_string(++n) + ".json";
    REQUIRE(WriteFile(path, r.body));
    files[schema].push_back(path);
  };

  keep("me-response", f.Get("/v1/me", kAlphaFp), 200);
  keep("me-response", f.Get("/v1/me", kOperatorFp), 200);
  keep("health-response", f.Get("/healthz", kBetaFp), 200);
  keep("signals-response",
       f.Post("/v1/signals",
              R"({"signals":[)" + SignalJson(40) + "," +
                  SignalJson(41, "", "gamertag") + "]}",
              kBetaFp),
       200);
  keep("signals-response", f.Post("/v1/signals", SubmitBody({40}), kBetaFp),
       200);
  const Response query = f.Post("/v1/query", QueryBody({1, 2, 3}), kBetaFp);
  keep("query-response", query, 200);
  keep("query-response", f.Post("/v1/query", QueryBody({77}), kBetaFp), 200);
  auto q = wire::DecodeQueryResponse(query.body);
  REQUIRE(q);
  REQUIRE(q->matches.size() == 3);
  keep(
      "disposition-response",
      f.Post("/v1/matches/" + q->matches[0].match_id + "/disposition",
             R"({"outcome":"false_positive","note":"same name, other person"})",
             kBetaFp),
      200);
  keep(
      "retract-response",
      f.Post("/v1/signals/retract",
             R"({"retractions":[{"ref":"case-1","reason":"error"},)"
             R"({"kind":"email","token":")" +
                 HexToken(3) +
                 R"(","reason":"duplicate"},{"ref":"nope","reason":"other"}]})",
             kAlphaFp),
      200);
  keep("feed-response", f.Get("/v1/feed", kBetaFp), 200);
  keep("feed-response", f.Get("/v1/feed?limit=1", kBetaFp), 200);
  keep("notifications-response", f.Get("/v1/notifications", kBetaFp), 200);
  keep("notifications-response", f.Get("/v1/notifications", kAlphaFp), 200);
  keep("member-list-response", f.Get("/v1/admin/members", kOperatorFp), 200);
  keep("kind-list-response", f.Get("/v1/admin/kinds", kOperatorFp), 200);
  keep("kind-list-response",
       f.Post("/v1/admin/kinds", R"({"kind":"steam_id"})", kOperatorFp), 200);
  keep("member", f.Get("/v1/admin/members/alpha", kOperatorFp), 200);
  keep("member", f.Get("/v1/admin/members/gamma", kOperatorFp), 200);
  keep("member",
       f.Post("/v1/admin/members",
              R"({"member_id":"zeta","name":"Zeta","roles":["compliance"]})",
              kOperatorFp),
       201);
  keep("member",
       f.Post("/v1/admin/members/zeta/suspend", R"({"reason":"audit"})",
              kOperatorFp),
       200);
  keep(
      "member",
      f.Post("/v1/admin/members/zeta/fingerprints",
             R"({"fingerprint":")" + std::string(64, '5') + "\"}", kOperatorFp),
      200);
  keep("member",
       f.Post("/v1/admin/members/zeta/fingerprints/" + std::string(64, '5') +
                  "/revoke",
              "{}", kOperatorFp),
       200);
  keep("member",
       f.Put("/v1/admin/members/zeta/roles", R"({"roles":["member"]})",
             kOperatorFp),
       200);
  keep("member", f.Post("/v1/admin/members/zeta/resume", "{}", kOperatorFp),
       200);
  keep("error", f.Get("/nope", kAlphaFp), 404);
  keep("error", f.Post("/v1/signals", SubmitBody({1, 1}), kAlphaFp), 400);
  keep("error", f.Get("/v1/me", kUnknownFp), 403);
  keep("error", f.Post("/v1/query", "[]", kAlphaFp), 400);
  keep("error", f.Call(http::verb::put, "/v1/me", "", kAlphaFp), 405);
  keep("error", f.Post("/v1/query", "{}", kAlphaFp, {{"Content-Type", "a/b"}}),
       415);

  // The validator must see feed events and notifications, not just [].
  auto feed = wire::DecodeFeedResponse(
      cairn::testing::ReadFileOrEmpty(files["feed-response"][0]));
  REQUIRE(feed);
  CHECK(feed->events.size() >= 4);
  auto notes = wire::DecodeNotificationsResponse(
      cairn::testing::ReadFileOrEmpty(files["notifications-response"][0]));
  REQUIRE(notes);
  CHECK(notes->notifications.size() == 2);
  REQUIRE(files.size() == 12);
  std::vector<std::pair<std::string, std::vector<std::string>>> groups(
      files.begin(), files.end());
  std::string output;
  CHECK(ValidateAgainstSchemas(groups, &output) == 0);
  INFO(output);
  for (const auto& [schema, paths] : files) {
    CAPTURE(schema);
    CHECK(Contains(output, std::to_string(paths.size()) +
                               " files checked against " + schema +
                               ", 0 failures"));
  }
}

TEST_CASE("the schema check rejects a broken body", "[api][schema]") {
  ApiFixture f;
  const Response me = f.Get("/v1/me", kAlphaFp);
  REQUIRE(me.status == 200);
  const std::string good = f.dir() + "/me.json";
  REQUIRE(WriteFile(good, me.body));

  std::string broken_body = me.body;
  const auto at = broken_body.find("\"member_id\":\"alpha\"");
  REQUIRE(at != std::string::npos);
  broken_body.replace(at, 19, "\"member_id\":\"ALPHA!\"");
  const std::string broken = f.dir() + "/broken.json";
  REQUIRE(WriteFile(broken, broken_body));
  std::string output;
  CHECK(ValidateAgainstSchemas({{"me-response", {good}},
                                {"me-response", {broken}},
                                {"feed-response", {good}}},
                               &output) == 1);
  INFO(output);
  // The good body passes; the broken one and a body of the wrong kind fail.
  CHECK(Contains(output, "1 files checked against me-response, 0 failures"));
  CHECK(Contains(output, "FAIL " + broken + " (me-response)"));
  CHECK(Contains(output, "1 files checked against me-response, 1 failures"));
  CHECK(Contains(output, "FAIL " + good + " (feed-response)"));
  // An unknown schema name is a usage error.
  CHECK(ValidateAgainstSchemas({{"no-such-schema", {good}}}) == 2);
}

TEST_CASE("operators register custom kinds, which members can then use",
          "[api][admin]") {
  ApiFixture f;
  const std::string steam =
      R"({"signals":[)" + SignalJson(41, "", "steam_id") + "]}";
  Response r = f.Post("/v1/signals", steam, kAlphaFp);
  REQUIRE(r.status == 200);
  CHECK(Contains(r.body, "'steam_id' is not registered"));

  // Refused registrations: each a 400 on "kind" (or 403), nothing stored.
  struct Case {
    const char* name;
    const char* body;
    std::string fp;
    int status;
    const char* field;
  };
  const Case cases[] = {
      {"uppercase", R"({"kind":"Steam"})", kOperatorFp, 400, "kind"},
      {"too short", R"({"kind":"s"})", kOperatorFp, 400, "kind"},
      {"dash", R"({"kind":"steam-id"})", kOperatorFp, 400, "kind"},
      {"not a string", R"({"kind":7})", kOperatorFp, 400, "kind"},
      {"missing", R"({})", kOperatorFp, 400, "kind"},
      {"extra field", R"({"kind":"steam_id","builtin":false})", kOperatorFp,
       400, "builtin"},
      {"a member, not an operator", R"({"kind":"steam_id"})", kAlphaFp, 403,
       ""},
  };
  const StoreSnapshot before = TakeSnapshot(f);
  for (const Case& c : cases) {
    CAPTURE(c.name);
    const Response refused = f.Post("/v1/admin/kinds", c.body, c.fp);
    CHECK(refused.status == c.status);
    if (c.status == 400) CHECK(refused.ErrorBody().field == c.field);
    CHECK(TakeSnapshot(f) == before);
  }

  r = f.Post("/v1/admin/kinds", R"({"kind":"steam_id"})", kOperatorFp);
  REQUIRE(r.status == 200);
  auto kinds = wire::DecodeKindListResponse(r.body);
  REQUIRE(kinds);
  REQUIRE(kinds->kinds.size() == 6);
  CHECK(kinds->kinds[0] == wire::KindInfo{"email", true});
  CHECK(kinds->kinds[5] == wire::KindInfo{"steam_id", false});
  // Again: nothing new, same answer; GET lists the same.
  CHECK(f.Post("/v1/admin/kinds", R"({"kind":"steam_id"})", kOperatorFp).body ==
        r.body);
  CHECK(f.Get("/v1/admin/kinds", kOperatorFp).body == r.body);

  r = f.Post("/v1/signals", steam, kAlphaFp);
  REQUIRE(r.status == 200);
  CHECK(Contains(r.body, R"("status":"created")"));
  r = f.Post(
      "/v1/query",
      R"({"queries":[{"kind":"steam_id","token":")" + HexToken(41) + R"("}]})",
      kBetaFp);
  REQUIRE(r.status == 200);
  CHECK(Contains(r.body, R"("match_id")"));
}

using cairn::testing::LogCapture;

PeerIdentity Peer(std::string fingerprint, std::string remote_address) {
  PeerIdentity peer;
  peer.fingerprint = std::move(fingerprint);
  peer.remote_address = std::move(remote_address);
  return peer;
}

RefusedRequest Refused(std::string method, std::string target, int status,
                       ErrorCode error, std::string request_id) {
  return RefusedRequest{.method = std::move(method),
                        .target = std::move(target),
                        .status = status,
                        .error = error,
                        .request_id = std::move(request_id),
                        .latency = std::chrono::microseconds(1500)};
}

TEST_CASE(
    "a refusal of the transport gets the router's access line, naming the "
    "member and the endpoint",
    "[api][log]") {
  LogCapture log;
  ApiFixture f;
  const PeerIdentity alpha = Peer(kAlphaFp, "127.0.0.1:4000");
  const PeerIdentity gamma = Peer(kSuspendedFp, "127.0.0.1:4001");
  const PeerIdentity stranger = Peer(kUnknownFp, "127.0.0.1:4002");
  const PeerIdentity plain = Peer("", "127.0.0.1:4003");
  struct Case {
    RefusedRequest refused;
    const PeerIdentity* peer;
    std::string line;  // what follows "request_id=<id> "
  };
  const Case cases[] = {
      {Refused("POST", "/v1/signals?x=1", 413, ErrorCode::kPayloadTooLarge,
               "r_1"),
       &alpha,
       "member=alpha endpoint=submit status=413 error=payload_too_large "
       "items=0 latency_us=1500"},
      // A suspended member is still named, as on the router's own lines.
      {Refused("GET", "/v1/me", 503, ErrorCode::kUnavailable, "r_2"), &gamma,
       "member=gamma endpoint=me status=503 error=unavailable items=0 "
       "latency_us=1500"},
      {Refused("", "", 400, ErrorCode::kInvalidArgument, "r_3"), &stranger,
       "member=- peer=127.0.0.1:4002 fingerprint=" + kUnknownFp +
           " endpoint=- status=400 error=invalid_argument latency_us=1500"},
      {Refused("GET", "/nowhere", 431, ErrorCode::kHeadersTooLarge, "r_4"),
       &alpha,
       "member=alpha endpoint=unknown status=431 error=headers_too_large "
       "items=0 latency_us=1500"},
      {Refused("GET", "/v1/me", 404, ErrorCode::kNotFound, "r_5"), &plain,
       "member=- peer=127.0.0.1:4003 fingerprint=- endpoint=me status=404 "
       "error=not_found latency_us=1500"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.refused.request_id);
    f.router().LogRefused(c.refused, *c.peer);
    const auto lines = log.Lines("request_id=" + c.refused.request_id + " ");
    REQUIRE(lines.size() == 1);
    // The whole line: nothing after the latency.
    CHECK_THAT(lines[0], Catch::EndsWith(" latency_us=1500"));
    CHECK_THAT(lines[0], Catch::Contains("[info] request_id=" +
                                         c.refused.request_id + " " + c.line));
  }
}

TEST_CASE(
    "a caller's 4xx refusals of the transport and of the router share one "
    "cap",
    "[api][log]") {
  LogCapture log;
  ApiFixture f;  // 20 lines per caller per 10 s; its clock stands still
  for (int i = 0; i < 12; ++i) {
    REQUIRE(f.Get("/v1/me", kUnknownFp).status == 403);
  }
  const PeerIdentity stranger = Peer(kUnknownFp, "127.0.0.1:4002");
  for (int i = 0; i < 12; ++i) {
    f.router().LogRefused(Refused("", "", 400, ErrorCode::kInvalidArgument,
                                  "r_" + std::to_string(i)),
                          stranger);
  }
  CHECK(log.Lines(" status=403 ").size() == 12);
  CHECK(log.Lines(" status=400 ").size() == 8);
  // A 5xx refusal is never held back.
  f.router().LogRefused(
      Refused("GET", "/v1/me", 503, ErrorCode::kUnavailable, "r_503"),
      stranger);
  CHECK(log.Lines(" status=503 ").size() == 1);
}

// The value of the cairn_requests_total series for `endpoint` and `status`
// in `metrics` (the text exposition), or -1 if there is no such series.
double RequestsTotal(const std::string& metrics, const std::string& endpoint,
                     const std::string& status) {
  const std::string series = "cairn_requests_total{endpoint=\"" + endpoint +
                             "\",status=\"" + status + "\"} ";
  const auto at = metrics.find(series);
  if (at == std::string::npos) return -1;
  return std::stod(metrics.substr(at + series.size()));
}

TEST_CASE(
    "a refusal of the transport is counted in cairn_requests_total like the "
    "router's answers, an unread request line as endpoint unknown",
    "[api][metrics]") {
  ApiFixture f;
  const PeerIdentity alpha = Peer(kAlphaFp, "127.0.0.1:4000");
  const PeerIdentity stranger = Peer(kUnknownFp, "127.0.0.1:4002");
  f.router().LogRefused(Refused("POST", "/v1/signals?x=1", 413,
                                ErrorCode::kPayloadTooLarge, "r_1"),
                        alpha);
  f.router().LogRefused(
      Refused("POST", "/v1/signals", 413, ErrorCode::kPayloadTooLarge, "r_2"),
      stranger);
  f.router().LogRefused(
      Refused("", "", 400, ErrorCode::kInvalidArgument, "r_3"), stranger);
  f.router().LogRefused(
      Refused("", "", 431, ErrorCode::kHeadersTooLarge, "r_4"), alpha);
  RefusedRequest over_limit =
      Refused("GET", "/v1/me", 503, ErrorCode::kUnavailable, "r_5");
  over_limit.caller_caused = true;
  f.router().LogRefused(over_limit, alpha);
  f.router().LogRefused(
      Refused("GET", "/v1/query", 500, ErrorCode::kInternal, "r_6"), alpha);
  // And one answer of the router's own, for the same series as r_3.
  REQUIRE(f.Get("/nope", kAlphaFp).status == 404);

  const std::string metrics = f.metrics().Render();
  CAPTURE(metrics);
  CHECK(RequestsTotal(metrics, "submit", "413") == 2);
  CHECK(RequestsTotal(metrics, "unknown", "400") == 1);
  CHECK(RequestsTotal(metrics, "unknown", "431") == 1);
  CHECK(RequestsTotal(metrics, "unknown", "404") == 1);
  CHECK(RequestsTotal(metrics, "me", "503") == 1);
  // /v1/query is POST only: a GET of it is no endpoint.
  CHECK(RequestsTotal(metrics, "unknown", "500") == 1);
  CHECK(RequestsTotal(metrics, "query", "500") == 0);
}

TEST_CASE(
    "a member's answers for unknown paths name it, and share its cap with "
    "the transport's refusals",
    "[api][log]") {
  LogCapture log;
  ApiFixture f;  // 20 lines per caller per 10 s; its clock stands still
  const PeerIdentity alpha = Peer(kAlphaFp, "127.0.0.1:4000");
  for (int i = 0; i < 12; ++i) {
    REQUIRE(f.Get("/nowhere", kAlphaFp).status == 404);
  }
  for (int i = 0; i < 12; ++i) {
    f.router().LogRefused(
        Refused("GET", "/nowhere", 431, ErrorCode::kHeadersTooLarge,
                "r_" + std::to_string(i)),
        alpha);
  }
  const auto not_found = log.Lines(" status=404 ");
  REQUIRE(not_found.size() == 12);
  CHECK_THAT(not_found[0], Catch::Contains(" member=alpha endpoint=unknown "
                                           "status=404 error=not_found "));
  CHECK(log.Lines(" status=431 ").size() == 8);
  // A certificate that is no member's is its own caller on both.
  for (int i = 0; i < 12; ++i) {
    REQUIRE(f.Get("/nowhere", kUnknownFp).status == 404);
  }
  const PeerIdentity stranger = Peer(kUnknownFp, "127.0.0.1:4002");
  for (int i = 0; i < 12; ++i) {
    f.router().LogRefused(
        Refused("GET", "/nowhere", 431, ErrorCode::kHeadersTooLarge,
                "r_s" + std::to_string(i)),
        stranger);
  }
  CHECK(log.Lines(" member=- ").size() == 20);
  CHECK(log.Lines(" member=- peer=127.0.0.1:4002 ").size() == 8);
}

TEST_CASE(
    "the 503s of a certificate over its connection limit are capped with "
    "the caller's 4xx lines, and summed up",
    "[api][log]") {
  LogCapture log;
  ApiFixture f;  // 20 lines per caller per 10 s; its clock stands still
  const PeerIdentity alpha = Peer(kAlphaFp, "127.0.0.1:4000");
  for (int i = 0; i < 30; ++i) {
    RefusedRequest refused =
        Refused("GET", "/v1/me", 503, ErrorCode::kUnavailable,
                "r_" + std::to_string(i));
    refused.caller_caused = true;
    f.router().LogRefused(refused, alpha);
  }
  CHECK(log.Lines(" member=alpha endpoint=me status=503 ").size() == 20);
  // The router's own 503s (a failure of the hub) are still all logged.
  f.router().LogRefused(
      Refused("GET", "/v1/me", 503, ErrorCode::kUnavailable, "r_hub"), alpha);
  CHECK(log.Lines("request_id=r_hub ").size() == 1);
  f.router().FinishReads();  // writes the summaries of open windows
  const auto summaries = log.Lines("more 4xx");
  CHECK(summaries.empty());
  const auto summary = log.Lines(
      "member=alpha: 10 more 503 responses not "
      "logged (503: 10)");
  CHECK(summary.size() == 1);
}

}  // namespace
}  // namespace cairn::server::apitest
