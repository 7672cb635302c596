// The member story against a real cairnd: submit, query and match,
// disposition, retraction with notification, feed mirror, role checks and
// expiry.
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <thread>

#include "tests/integration/integration_util.h"

namespace cairn::testing {
namespace {

using server::HubConnection;

// One JSON reply over a HubConnection, parsed.
struct JsonReply {
  int status = 0;
  std::string body;
  rapidjson::Document doc;
};

JsonReply Call(HubConnection& connection, std::string_view method,
               std::string_view target, std::string_view body = {}) {
  auto reply = connection.Send(method, target, body);
  REQUIRE(reply);
  JsonReply out;
  out.status = reply->status;
  out.body = reply->body;
  out.doc = ParseJson(out.body);
  REQUIRE_FALSE(out.doc.HasParseError());
  return out;
}

std::vector<std::string> Strings(const rapidjson::Value& array) {
  std::vector<std::string> out;
  for (const auto& v : array.GetArray()) out.emplace_back(v.GetString());
  return out;
}

// Signal ids (index order) of a 200 submit reply whose items were created.
std::vector<std::string> CreatedIds(const JsonReply& reply) {
  REQUIRE(reply.status == 200);
  std::vector<std::string> ids;
  for (const auto& r : reply.doc["results"].GetArray()) {
    REQUIRE(std::string(r["status"].GetString()) == "created");
    ids.emplace_back(r["signal_id"].GetString());
  }
  return ids;
}

// A feed mirror: signal_id -> token, paged with a small limit.
struct FeedMirror {
  std::map<std::string, std::string> signals;
  std::string cursor;
  std::set<std::string> expired;  // signal ids seen as "expired"

  // Pages until `more` is false. Bounded: at most 1000 pages.
  void CatchUp(HubConnection& connection) {
    for (int page = 0; page < 1000; ++page) {
      std::string target = "/v1/feed?limit=3";
      if (!cursor.empty()) target += "&after=" + cursor;
      JsonReply reply = Call(connection, "GET", target);
      REQUIRE(reply.status == 200);
      for (const auto& e : reply.doc["events"].GetArray()) {
        const std::string type = e["type"].GetString();
        const std::string id = e["signal_id"].GetString();
        if (type == "added") {
          signals[id] = e["token"].GetString();
        } else {
          REQUIRE((type == "retracted" || type == "expired"));
          signals.erase(id);
          if (type == "expired") expired.insert(id);
        }
      }
      REQUIRE(reply.doc["events"].Size() <= 3);
      cursor = reply.doc["cursor"].GetString();
      if (!reply.doc["more"].GetBool()) return;
    }
    FAIL("the feed never reported more == false within 1000 pages");
  }
};

// Registers a third member platform, gamma, with a certificate of its own.
void AddGamma(RunningHub& h) {
  REQUIRE(IssueClientCert(h.Pki(), "gamma", 30));
  const CommandResult added =
      h.Ctl({"member", "add", "gamma", "--name", "Gamma Chat", "--role",
             "member", "--member-cert", h.Pki().Cert("gamma")});
  REQUIRE(added.exit_code == 0);
}

TEST_CASE("members share, match, dispose, retract and mirror the feed") {
  auto hub = RunningHub::Start();
  REQUIRE(hub);
  RunningHub& h = **hub;
  // A third platform, so one match can stay supported after a retraction.
  AddGamma(h);

  auto alpha = Connect(h, "alpha");
  auto beta = Connect(h, "beta");
  auto gamma = Connect(h, "gamma");
  REQUIRE(alpha);
  REQUIRE(beta);
  REQUIRE(gamma);

  const std::string shared = RandomTokenHex();      // alpha and gamma
  const std::string alpha_only = RandomTokenHex();  // alpha alone
  const std::string kept = RandomTokenHex();        // alpha, never retracted
  const std::string beta_own = RandomTokenHex();    // beta's
  const std::string unknown = RandomTokenHex();     // nobody's

  // alpha: attribution on for `shared` only.
  JsonReply alpha_submit = Call(**alpha, "POST", "/v1/signals",
                                SubmitBody({{.kind = "email",
                                             .token = shared,
                                             .category = "grooming",
                                             .severity = "high",
                                             .attribution = true},
                                            {.kind = "email",
                                             .token = alpha_only,
                                             .category = "sextortion",
                                             .severity = "critical"},
                                            {.kind = "handle",
                                             .token = kept,
                                             .category = "other",
                                             .severity = "low"}}));
  const std::vector<std::string> alpha_ids = CreatedIds(alpha_submit);
  REQUIRE(alpha_ids.size() == 3);
  JsonReply gamma_submit = Call(**gamma, "POST", "/v1/signals",
                                SubmitBody({{.kind = "email",
                                             .token = shared,
                                             .category = "csam_sharing",
                                             .severity = "medium"}}));
  const std::vector<std::string> gamma_ids = CreatedIds(gamma_submit);
  JsonReply beta_submit =
      Call(**beta, "POST", "/v1/signals",
           SubmitBody({{.kind = "email", .token = beta_own}}));
  const std::vector<std::string> beta_ids = CreatedIds(beta_submit);

  // beta queries: shared (2 platforms), alpha_only (1), unknown (none).
  JsonReply query =
      Call(**beta, "POST", "/v1/query",
           QueryBody(
               {{"email", shared}, {"email", alpha_only}, {"email", unknown}}));
  REQUIRE(query.status == 200);
  CHECK(query.doc["queried"].GetInt() == 3);
  const auto& matches = query.doc["matches"];
  REQUIRE(matches.Size() == 2);
  std::map<int, const rapidjson::Value*> by_index;
  for (const auto& m : matches.GetArray()) by_index[m["index"].GetInt()] = &m;
  REQUIRE(by_index.count(0) == 1);
  REQUIRE(by_index.count(1) == 1);
  const rapidjson::Value& shared_match = *by_index[0];
  const rapidjson::Value& alone_match = *by_index[1];
  CHECK(shared_match["platforms"].GetInt() == 2);
  const auto categories = Strings(shared_match["categories"]);
  CHECK(std::set<std::string>(categories.begin(), categories.end()) ==
        std::set<std::string>{"grooming", "csam_sharing"});
  CHECK(categories.size() == 2);
  CHECK(std::string(shared_match["max_severity"].GetString()) == "high");
  REQUIRE(shared_match.HasMember("attributed_to"));
  CHECK(Strings(shared_match["attributed_to"]) ==
        std::vector<std::string>{"alpha"});
  CHECK(alone_match["platforms"].GetInt() == 1);
  CHECK(Strings(alone_match["categories"]) ==
        std::vector<std::string>{"sextortion"});
  CHECK((!alone_match.HasMember("attributed_to") ||
         alone_match["attributed_to"].Size() == 0));
  const std::string shared_match_id = shared_match["match_id"].GetString();
  const std::string alone_match_id = alone_match["match_id"].GetString();

  // beta records a disposition.
  JsonReply disposition =
      Call(**beta, "POST", "/v1/matches/" + alone_match_id + "/disposition",
           R"({"outcome":"confirmed","note":"reviewed by trust and safety"})");
  REQUIRE(disposition.status == 200);
  CHECK(std::string(disposition.doc["match_id"].GetString()) == alone_match_id);
  CHECK(std::string(disposition.doc["outcome"].GetString()) == "confirmed");
  // alpha cannot dispose of beta's match.
  JsonReply foreign =
      Call(**alpha, "POST", "/v1/matches/" + alone_match_id + "/disposition",
           R"({"outcome":"no_action"})");
  CHECK(foreign.status == 404);

  // alpha cannot retract beta's signal: a per-item not_found.
  JsonReply steal = Call(
      **alpha, "POST", "/v1/signals/retract",
      fmt::format(
          R"({{"retractions":[{{"kind":"email","token":"{}","reason":"error"}}]}})",
          beta_own));
  REQUIRE(steal.status == 200);
  CHECK(std::string(steal.doc["results"][0]["status"].GetString()) ==
        "not_found");
  JsonReply still_there =
      Call(**alpha, "POST", "/v1/query", QueryBody({{"email", beta_own}}));
  CHECK(still_there.doc["matches"].Size() == 1);

  // alpha retracts both of its email signals.
  JsonReply retract = Call(
      **alpha, "POST", "/v1/signals/retract",
      fmt::format(
          R"({{"retractions":[{{"kind":"email","token":"{}","reason":"appeal_upheld"}},)"
          R"({{"kind":"email","token":"{}","reason":"error"}}]}})",
          alpha_only, shared));
  REQUIRE(retract.status == 200);
  for (const auto& r : retract.doc["results"].GetArray()) {
    CHECK(std::string(r["status"].GetString()) == "retracted");
    CHECK(r["signal_ids"].Size() == 1);
  }

  // beta is notified once per affected match.
  JsonReply notes = Call(**beta, "GET", "/v1/notifications?limit=10");
  REQUIRE(notes.status == 200);
  std::map<std::string, bool> supported;
  for (const auto& n : notes.doc["notifications"].GetArray()) {
    CHECK(std::string(n["type"].GetString()) == "retracted");
    supported[n["match_id"].GetString()] = n["still_supported"].GetBool();
  }
  REQUIRE(supported.size() == 2);
  REQUIRE(supported.count(alone_match_id) == 1);
  REQUIRE(supported.count(shared_match_id) == 1);
  CHECK_FALSE(supported[alone_match_id]);
  CHECK(supported[shared_match_id]);  // gamma still backs it
  // And a fresh query agrees.
  JsonReply after = Call(**beta, "POST", "/v1/query",
                         QueryBody({{"email", shared}, {"email", alpha_only}}));
  REQUIRE(after.doc["matches"].Size() == 1);
  CHECK(after.doc["matches"][0]["index"].GetInt() == 0);
  CHECK(after.doc["matches"][0]["platforms"].GetInt() == 1);

  // beta's feed mirror converges to the others' active signals.
  FeedMirror mirror;
  mirror.CatchUp(**beta);
  const std::map<std::string, std::string> expected = {{alpha_ids[2], kept},
                                                       {gamma_ids[0], shared}};
  CHECK(mirror.signals == expected);
  CHECK(mirror.signals.count(beta_ids[0]) == 0);  // own signals not echoed
  // Caught up: another page is empty and the cursor stays.
  const std::string cursor = mirror.cursor;
  mirror.CatchUp(**beta);
  CHECK(mirror.cursor == cursor);
  CHECK(mirror.signals == expected);
}

TEST_CASE("compliance and operator roles cannot submit signals") {
  auto hub = RunningHub::Start();
  REQUIRE(hub);
  const std::string body = SubmitBody({{.token = RandomTokenHex()}});
  for (const std::string member : {"compliance", "operator"}) {
    CAPTURE(member);
    CurlReply reply = (*hub)->Curl(member, "POST", "/v1/signals", body);
    CHECK(reply.status == 403);
    CHECK(ErrorCodeOf(reply.body) == "permission_denied");
    const std::string message = ErrorMessageOf(reply.body);
    CHECK(message.find("'member' role") != std::string::npos);
    CHECK(message.find("'" + member + "'") != std::string::npos);
  }
  // Control: the same body from a member is accepted.
  CHECK((*hub)->Curl("alpha", "POST", "/v1/signals", body).status == 200);
}

TEST_CASE("a signal stops matching once its expires_at has passed") {
  RunningHubOptions options;
  options.extra_args = {"--expiry-interval", "1"};
  auto hub = RunningHub::Start(options);
  REQUIRE(hub);
  auto alpha = Connect(**hub, "alpha");
  auto beta = Connect(**hub, "beta");
  REQUIRE(alpha);
  REQUIRE(beta);
  const std::string token = RandomTokenHex();
  JsonReply submit = Call(
      **alpha, "POST", "/v1/signals",
      SubmitBody({{.token = token,
                   .expires_at = TimestampFromNow(std::chrono::seconds(4))}}));
  const std::vector<std::string> ids = CreatedIds(submit);
  REQUIRE(ids.size() == 1);

  JsonReply before =
      Call(**beta, "POST", "/v1/query", QueryBody({{"email", token}}));
  REQUIRE(before.doc["matches"].Size() == 1);
  const std::string match_id = before.doc["matches"][0]["match_id"].GetString();

  // Poll the feed (bounded: at most ~12 s) for the expiry event.
  FeedMirror mirror;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(12);
  while (mirror.expired.count(ids[0]) == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    mirror.CatchUp(**beta);
    if (mirror.expired.count(ids[0]) == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  }
  REQUIRE(mirror.expired.count(ids[0]) == 1);
  CHECK(mirror.signals.empty());

  JsonReply later =
      Call(**beta, "POST", "/v1/query", QueryBody({{"email", token}}));
  CHECK(later.doc["matches"].Size() == 0);
  JsonReply notes = Call(**beta, "GET", "/v1/notifications");
  REQUIRE(notes.doc["notifications"].Size() == 1);
  CHECK(std::string(notes.doc["notifications"][0]["type"].GetString()) ==
        "expired");
  CHECK(std::string(notes.doc["notifications"][0]["match_id"].GetString()) ==
        match_id);
  CHECK_FALSE(notes.doc["notifications"][0]["still_supported"].GetBool());
  // The match's signal waited in match_signals_recent; its expiry moved it
  // (docs/adr/0007-settled-match-signals.md), and the operator can see that.
  const CurlReply metrics = (*hub)->Curl("operator", "GET", "/metrics");
  CHECK(metrics.status == 200);
  CHECK(metrics.body.find("\ncairn_store_match_settles_total 1\n") !=
        std::string::npos);
  CHECK(metrics.body.find("\ncairn_store_match_settle_seconds_total ") !=
        std::string::npos);
}

TEST_CASE("with [store] match_reuse_seconds, a repeat query keeps its match") {
  RunningHubOptions options;
  options.store_toml = "match_reuse_seconds = 3600\n";
  auto hub = RunningHub::Start(options);
  REQUIRE(hub);
  auto alpha = Connect(**hub, "alpha");
  auto beta = Connect(**hub, "beta");
  REQUIRE(alpha);
  REQUIRE(beta);
  const std::string token = RandomTokenHex();
  REQUIRE(CreatedIds(Call(**alpha, "POST", "/v1/signals",
                          SubmitBody({{.token = token}})))
              .size() == 1);
  auto match_of = [&] {
    JsonReply r =
        Call(**beta, "POST", "/v1/query", QueryBody({{"email", token}}));
    REQUIRE(r.status == 200);
    REQUIRE(r.doc["matches"].Size() == 1);
    return std::string(r.doc["matches"][0]["match_id"].GetString());
  };
  const std::string first = match_of();
  CHECK(match_of() == first);
  CHECK(match_of() == first);
  // A second platform's ban of the same account is new: a new match.
  AddGamma(**hub);
  auto gamma = Connect(**hub, "gamma");
  REQUIRE(gamma);
  REQUIRE(CreatedIds(Call(**gamma, "POST", "/v1/signals",
                          SubmitBody({{.token = token}})))
              .size() == 1);
  const std::string second = match_of();
  CHECK(second != first);
  CHECK(match_of() == second);
}

}  // namespace
}  // namespace cairn::testing
