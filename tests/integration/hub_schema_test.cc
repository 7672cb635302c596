// The contract, checked on real answers: every response body cairnd sends
// for every endpoint validates against its schema in schemas/json/ (with
// tests/schemas/validate_response.py, a real JSON Schema validator).
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include <fmt/format.h>

#include <catch2/catch.hpp>

#include "tests/integration/integration_util.h"

namespace cairn::testing {
namespace {

TEST_CASE("every real cairnd response body validates against its schema") {
  REQUIRE(std::filesystem::exists(ValidateResponseScript()));
  RunningHubOptions options;
  options.extra_args = {"--expiry-interval", "1"};
  auto hub = RunningHub::Start(options);
  REQUIRE(hub);
  RunningHub& h = **hub;

  std::map<std::string, std::vector<std::string>> bodies;  // schema -> bodies
  // Sends one request and files its body under `schema` after checking the
  // status and the request id header.
  auto collect = [&](const std::string& schema, int status,
                     const std::string& member, const std::string& method,
                     const std::string& path, const std::string& body = {},
                     const std::vector<std::string>& extra = {}) {
    CurlReply reply = h.Curl(member, method, path, body, extra);
    CAPTURE(schema, method, path, reply.body, reply.error);
    CHECK(reply.status == status);
    CHECK(reply.Header("X-Request-Id").rfind("r_", 0) == 0);
    bodies[schema].push_back(reply.body);
    return ParseJson(reply.body);
  };

  const std::string t1 = RandomTokenHex();
  const std::string t2 = RandomTokenHex();
  collect("health-response", 200, "alpha", "GET", "/healthz");
  collect("me-response", 200, "alpha", "GET", "/v1/me");
  collect("me-response", 200, "operator", "GET", "/v1/me");
  collect(
      "signals-response", 200, "alpha", "POST", "/v1/signals",
      SubmitBody({{.token = t1, .attribution = true, .ref = "case-1"},
                  {.kind = "phone",
                   .token = t2,
                   .category = "other",
                   .severity = "low",
                   .expires_at = TimestampFromNow(std::chrono::seconds(3))}}));
  // Duplicates, updates and a per-item error (an unregistered custom kind).
  collect("signals-response", 200, "alpha", "POST", "/v1/signals",
          SubmitBody({{.token = t1, .attribution = true, .ref = "case-1"},
                      {.kind = "custom_kind", .token = RandomTokenHex()}}));
  collect("signals-response", 200, "alpha", "POST", "/v1/signals",
          SubmitBody({{.token = t1, .severity = "critical"}}),
          {"-H", "Idempotency-Key: abc-123"});
  auto query = collect(
      "query-response", 200, "beta", "POST", "/v1/query",
      QueryBody({{"email", t1}, {"phone", t2}, {"email", RandomTokenHex()}}));
  collect("query-response", 200, "beta", "POST", "/v1/query",
          QueryBody({{"email", RandomTokenHex()}}));
  REQUIRE(query["matches"].Size() >= 1);
  const std::string match_id = query["matches"][0]["match_id"].GetString();
  collect("disposition-response", 200, "beta", "POST",
          "/v1/matches/" + match_id + "/disposition",
          R"({"outcome":"actioned","note":"account closed"})");
  collect("retract-response", 200, "alpha", "POST", "/v1/signals/retract",
          fmt::format(R"({{"retractions":[{{"kind":"email","token":"{}",)"
                      R"("reason":"appeal_upheld"}},)"
                      R"({{"ref":"no-such-ref","reason":"other"}}]}})",
                      t1));
  collect("feed-response", 200, "beta", "GET", "/v1/feed?limit=1");
  collect("feed-response", 200, "alpha", "GET", "/v1/feed");
  // Wait (bounded) for t2 to expire so the feed shows all three types.
  for (int i = 0; i < 40; ++i) {
    const CurlReply feed = h.Curl("beta", "GET", "/v1/feed");
    if (feed.body.find("\"expired\"") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  auto feed = collect("feed-response", 200, "beta", "GET", "/v1/feed");
  // added t1, added t2, added t1 again (its update), retracted t1, expired
  // t2; on a slow machine t2 may expire before t1 is retracted.
  std::multiset<std::string> types;
  for (const auto& e : feed["events"].GetArray()) {
    types.insert(e["type"].GetString());
  }
  CHECK(types == std::multiset<std::string>{"added", "added", "added",
                                            "retracted", "expired"});
  auto notes = collect("notifications-response", 200, "beta", "GET",
                       "/v1/notifications");
  CHECK(notes["notifications"].Size() >= 1);
  collect("notifications-response", 200, "alpha", "GET",
          "/v1/notifications?limit=5");

  // Admin.
  const std::string fp = RandomTokenHex();
  collect("member-list-response", 200, "operator", "GET", "/v1/admin/members");
  collect("member", 201, "operator", "POST", "/v1/admin/members",
          R"({"member_id":"delta","name":"Delta","roles":["member"]})");
  collect("member", 200, "operator", "GET", "/v1/admin/members/alpha");
  collect("member", 200, "operator", "POST", "/v1/admin/members/delta/suspend",
          R"({"reason":"review"})");
  collect("member", 200, "operator", "POST", "/v1/admin/members/delta/resume",
          "{}");
  collect("member", 200, "operator", "POST",
          "/v1/admin/members/delta/fingerprints",
          fmt::format(R"({{"fingerprint":"{}"}})", fp));
  collect("member", 200, "operator", "POST",
          "/v1/admin/members/delta/fingerprints/" + fp + "/revoke", "{}");
  collect("member", 200, "operator", "PUT", "/v1/admin/members/delta/roles",
          R"({"roles":["member","compliance"]})");

  // Errors, one per kind the hub sends.
  collect("error", 400, "alpha", "POST", "/v1/signals", "{not json");
  collect("error", 400, "alpha", "POST", "/v1/signals",
          R"({"signals":[{"kind":"email","token":"zz"}]})");
  collect("error", 400, "alpha", "GET", "/v1/feed?limit=0");
  collect("error", 403, "compliance", "POST", "/v1/query",
          QueryBody({{"email", t1}}));
  collect("error", 403, "alpha", "GET", "/v1/admin/members");
  collect("error", 404, "alpha", "GET", "/v1/nothing-here");
  collect("error", 404, "operator", "GET", "/v1/admin/members/nobody");
  collect("error", 404, "beta", "POST",
          "/v1/matches/m_00000000000000000000000000000000/disposition",
          R"({"outcome":"confirmed"})");
  collect("error", 405, "alpha", "DELETE", "/v1/signals");
  collect("error", 409, "operator", "POST", "/v1/admin/members",
          R"({"member_id":"delta","name":"Delta","roles":["member"]})");
  collect("error", 413, "alpha", "POST", "/v1/signals", "{}",
          {"-H", "Content-Length: 1000000000", "-H", "Expect:"});
  collect("error", 415, "alpha", "POST", "/v1/signals", "{}",
          {"-H", "Content-Type: text/plain"});
  collect("error", 431, "alpha", "GET", "/v1/me", "",
          {"-H", "X-Padding: " + std::string(20000, 'p')});

  // The Prometheus text is not JSON; check its shape instead.
  const CurlReply metrics = h.Curl("operator", "GET", "/metrics");
  CHECK(metrics.status == 200);
  CHECK(metrics.body.find("# TYPE") != std::string::npos);

  REQUIRE(bodies.size() == 11);
  for (const auto& [schema, list] : bodies) {
    CAPTURE(schema, list.size());
    const CommandResult validated = ValidateResponses(schema, list);
    CAPTURE(validated.out, validated.err);
    CHECK(validated.exit_code == 0);
  }

  // Control: the validator rejects a body that breaks the contract.
  const CommandResult bad = ValidateResponses(
      "me-response", {R"({"member_id":"Alpha!","roles":"member"})"});
  CHECK(bad.exit_code == 1);
}

}  // namespace
}  // namespace cairn::testing
