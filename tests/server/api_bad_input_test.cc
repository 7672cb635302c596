// A bad-input table for every endpoint: each case gets the right 4xx, error
// code and field, and leaves the store exactly as it was (stats, members,
// feeds, notifications and the row count of every table).
#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

#include "api_test_util.h"
#include "cairn/wire.h"

namespace cairn::server::apitest {
namespace {

constexpr const char* kJson = "application/json";

struct BadCase {
  std::string name;
  http::verb method;
  std::string target;
  std::string body;
  int status;
  std::string code;
  // nullopt: not checked; "": must be absent.
  std::optional<std::string> field;
  std::optional<std::size_t> index = std::nullopt;
  std::string fingerprint = kAlphaFp;
  std::string content_type = kJson;  // "" = no Content-Type header
  // The store itself refuses the request: its empty transaction may count
  // in Stats(), but no data may change.
  bool store_decides = false;
};

std::string Batch(const std::string& key, std::size_t n,
                  const std::string& (*item)(std::size_t)) {
  std::string body = "{\"" + key + "\":[";
  for (std::size_t i = 0; i < n; ++i) {
    if (i) body += ",";
    body += item(i);
  }
  return body + "]}";
}

const std::string& SignalItem(std::size_t i) {
  static thread_local std::string s;
  s = SignalJson(100000 + i);
  return s;
}

const std::string& QueryItem(std::size_t i) {
  static thread_local std::string s;
  s = R"({"kind":"email","token":")" + HexToken(100000 + i) + "\"}";
  return s;
}

// A submit body with one signal whose field `name` is replaced by `json`
// (or removed when `json` is empty) and optional extra members.
std::string SignalWith(const std::string& name, const std::string& json,
                       const std::string& extra = "") {
  std::string fields[][2] = {
      {"kind", "\"email\""},
      {"token", "\"" + HexToken(42) + "\""},
      {"category", "\"grooming\""},
      {"severity", "\"high\""},
      {"banned_at", std::string("\"") + kBannedAt + "\""}};
  std::string body = R"({"signals":[{)";
  bool first = true;
  bool replaced = false;
  for (auto& [key, value] : fields) {
    std::string v = value;
    if (key == name) {
      replaced = true;
      if (json.empty()) continue;
      v = json;
    }
    if (!first) body += ",";
    first = false;
    body += "\"" + key + "\":" + v;
  }
  if (!replaced && !json.empty()) body += ",\"" + name + "\":" + json;
  return body + extra + "}]}";
}

std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

std::vector<BadCase> Cases(const std::string& betas_match) {
  using V = http::verb;
  const std::string hex62(62, 'a');
  const std::string hex66(66, 'a');
  const std::string upper = "AB" + std::string(62, 'a');
  const std::string nonhex = "zz" + std::string(62, 'a');
  const std::string unknown_match = "m_" + std::string(32, 'f');
  const std::string retract_key =
      R"({"kind":"email","token":")" + HexToken(1) + R"(","reason":"error"})";
  const std::string create =
      R"({"member_id":"newco","name":"New Co","roles":["member"])";
  std::vector<BadCase> c = {
      // ---- POST /v1/signals --------------------------------------------
      {"submit: not JSON", V::post, "/v1/signals", "{\"signals\":[", 400,
       "invalid_argument", std::nullopt},
      {"submit: empty body", V::post, "/v1/signals", "", 400,
       "invalid_argument", std::nullopt},
      {"submit: top-level array", V::post, "/v1/signals", "[]", 400,
       "invalid_argument", std::nullopt},
      {"submit: trailing garbage", V::post, "/v1/signals",
       SubmitBody({42}) + "x", 400, "invalid_argument", std::nullopt},
      {"submit: missing signals", V::post, "/v1/signals", "{}", 400,
       "invalid_argument", "signals"},
      {"submit: signals not an array", V::post, "/v1/signals",
       R"({"signals":{}})", 400, "invalid_argument", "signals"},
      {"submit: empty batch", V::post, "/v1/signals", R"({"signals":[]})", 400,
       "invalid_argument", "signals"},
      {"submit: batch of 10001", V::post, "/v1/signals",
       Batch("signals", 10001, SignalItem), 400, "invalid_argument", "signals"},
      {"submit: unknown top-level field", V::post, "/v1/signals",
       R"({"signals":[)" + SignalJson(42) + R"(],"dry_run":true})", 400,
       "invalid_argument", "dry_run"},
      {"submit: unknown item field", V::post, "/v1/signals",
       SignalWith("colour", "\"red\""), 400, "invalid_argument",
       "signals[0].colour", 0},
      {"submit: bad hex token", V::post, "/v1/signals",
       SignalWith("token", Quoted(nonhex)), 400, "invalid_argument",
       "signals[0].token", 0},
      {"submit: uppercase hex token", V::post, "/v1/signals",
       SignalWith("token", Quoted(upper)), 400, "invalid_argument",
       "signals[0].token", 0},
      {"submit: short token", V::post, "/v1/signals",
       SignalWith("token", Quoted(hex62)), 400, "invalid_argument",
       "signals[0].token", 0},
      {"submit: long token", V::post, "/v1/signals",
       SignalWith("token", Quoted(hex66)), 400, "invalid_argument",
       "signals[0].token", 0},
      {"submit: token is a number", V::post, "/v1/signals",
       SignalWith("token", "42"), 400, "invalid_argument", "signals[0].token",
       0},
      {"submit: malformed kind", V::post, "/v1/signals",
       SignalWith("kind", "\"E-mail\""), 400, "invalid_argument",
       "signals[0].kind", 0},
      {"submit: kind is null", V::post, "/v1/signals",
       SignalWith("kind", "null"), 400, "invalid_argument", "signals[0].kind",
       0},
      {"submit: unknown category", V::post, "/v1/signals",
       SignalWith("category", "\"spam\""), 400, "invalid_argument",
       "signals[0].category", 0},
      {"submit: unknown severity", V::post, "/v1/signals",
       SignalWith("severity", "\"extreme\""), 400, "invalid_argument",
       "signals[0].severity", 0},
      {"submit: severity as a number", V::post, "/v1/signals",
       SignalWith("severity", "3"), 400, "invalid_argument",
       "signals[0].severity", 0},
      {"submit: unknown scheme", V::post, "/v1/signals",
       SignalWith("scheme", "\"sha256\""), 400, "invalid_argument",
       "signals[0].scheme", 0},
      {"submit: negative epoch", V::post, "/v1/signals",
       SignalWith("epoch", "-1"), 400, "invalid_argument", "signals[0].epoch",
       0},
      {"submit: epoch as a string", V::post, "/v1/signals",
       SignalWith("epoch", "\"1\""), 400, "invalid_argument",
       "signals[0].epoch", 0},
      {"submit: timestamp with a space", V::post, "/v1/signals",
       SignalWith("banned_at", "\"2026-11-20 10:00:00Z\""), 400,
       "invalid_argument", "signals[0].banned_at", 0},
      {"submit: timestamp with an offset", V::post, "/v1/signals",
       SignalWith("banned_at", "\"2026-11-20T10:00:00+01:00\""), 400,
       "invalid_argument", "signals[0].banned_at", 0},
      {"submit: timestamp with fractions", V::post, "/v1/signals",
       SignalWith("banned_at", "\"2026-11-20T10:00:00.5Z\""), 400,
       "invalid_argument", "signals[0].banned_at", 0},
      {"submit: impossible date", V::post, "/v1/signals",
       SignalWith("banned_at", "\"2026-02-30T10:00:00Z\""), 400,
       "invalid_argument", "signals[0].banned_at", 0},
      {"submit: expires_at not a timestamp", V::post, "/v1/signals",
       SignalWith("expires_at", "\"next year\""), 400, "invalid_argument",
       "signals[0].expires_at", 0},
      {"submit: missing banned_at", V::post, "/v1/signals",
       SignalWith("banned_at", ""), 400, "invalid_argument",
       "signals[0].banned_at", 0},
      {"submit: attribution as a string", V::post, "/v1/signals",
       SignalWith("attribution", "\"yes\""), 400, "invalid_argument",
       "signals[0].attribution", 0},
      {"submit: ref too long", V::post, "/v1/signals",
       SignalWith("ref", Quoted(std::string(129, 'r'))), 400,
       "invalid_argument", "signals[0].ref", 0},
      {"submit: empty ref", V::post, "/v1/signals", SignalWith("ref", "\"\""),
       400, "invalid_argument", "signals[0].ref", 0},
      {"submit: ref with a control character", V::post, "/v1/signals",
       SignalWith("ref", "\"a\\u0007b\""), 400, "invalid_argument",
       "signals[0].ref", 0},
      {"submit: third item bad", V::post, "/v1/signals",
       R"({"signals":[)" + SignalJson(42) + "," + SignalJson(43) + "," +
           SignalJson(44).replace(SignalJson(44).find("high"), 4, "HIGH") +
           "]}",
       400, "invalid_argument", "signals[2].severity", 2},
      {"submit: duplicate items", V::post, "/v1/signals",
       SubmitBody({42, 43, 42}), 400, "invalid_argument", std::nullopt, 2},
      {"submit: no content type", V::post, "/v1/signals", SubmitBody({42}), 415,
       "unsupported_media_type", "", std::nullopt, kAlphaFp, ""},
      {"submit: text/plain", V::post, "/v1/signals", SubmitBody({42}), 415,
       "unsupported_media_type", "", std::nullopt, kAlphaFp, "text/plain"},
      {"submit: GET", V::get, "/v1/signals", "", 405, "method_not_allowed", ""},
      // ---- POST /v1/signals/retract ------------------------------------
      {"retract: not JSON", V::post, "/v1/signals/retract", "retract all", 400,
       "invalid_argument", std::nullopt},
      {"retract: empty batch", V::post, "/v1/signals/retract",
       R"({"retractions":[]})", 400, "invalid_argument", "retractions"},
      {"retract: both key and ref", V::post, "/v1/signals/retract",
       R"({"retractions":[{"kind":"email","token":")" + HexToken(1) +
           R"(","ref":"case-1","reason":"error"}]})",
       400, "invalid_argument", "retractions[0]", 0},
      {"retract: neither key nor ref", V::post, "/v1/signals/retract",
       R"({"retractions":[{"reason":"error"}]})", 400, "invalid_argument",
       "retractions[0]", 0},
      {"retract: unknown reason", V::post, "/v1/signals/retract",
       R"({"retractions":[{"ref":"case-1","reason":"because"}]})", 400,
       "invalid_argument", "retractions[0].reason", 0},
      {"retract: missing reason", V::post, "/v1/signals/retract",
       R"({"retractions":[{"ref":"case-1"}]})", 400, "invalid_argument",
       "retractions[0].reason", 0},
      {"retract: uppercase hex", V::post, "/v1/signals/retract",
       R"({"retractions":[{"kind":"email","token":")" + upper +
           R"(","reason":"error"}]})",
       400, "invalid_argument", "retractions[0].token", 0},
      {"retract: duplicate items", V::post, "/v1/signals/retract",
       R"({"retractions":[)" + retract_key + "," + retract_key + "]}", 400,
       "invalid_argument", std::nullopt, 1},
      {"retract: unknown field", V::post, "/v1/signals/retract",
       R"({"retractions":[{"ref":"case-1","reason":"error","all":true}]})", 400,
       "invalid_argument", "retractions[0].all", 0},
      // ---- POST /v1/query ----------------------------------------------
      {"query: not JSON", V::post, "/v1/query", "{'queries':[]}", 400,
       "invalid_argument", std::nullopt},
      {"query: queries is a string", V::post, "/v1/query",
       R"({"queries":"all"})", 400, "invalid_argument", "queries"},
      {"query: empty batch", V::post, "/v1/query", R"({"queries":[]})", 400,
       "invalid_argument", "queries"},
      {"query: batch of 10001", V::post, "/v1/query",
       Batch("queries", 10001, QueryItem), 400, "invalid_argument", "queries"},
      {"query: unknown item field", V::post, "/v1/query",
       R"({"queries":[{"kind":"email","token":")" + HexToken(1) +
           R"(","category":"grooming"}]})",
       400, "invalid_argument", "queries[0].category", 0},
      {"query: uppercase hex", V::post, "/v1/query",
       R"({"queries":[{"kind":"email","token":")" + upper + "\"}]}", 400,
       "invalid_argument", "queries[0].token", 0},
      {"query: short token", V::post, "/v1/query",
       R"({"queries":[{"kind":"email","token":")" + hex62 + "\"}]}", 400,
       "invalid_argument", "queries[0].token", 0},
      {"query: missing kind", V::post, "/v1/query",
       R"({"queries":[{"token":")" + HexToken(1) + "\"}]}", 400,
       "invalid_argument", "queries[0].kind", 0},
      {"query: duplicate items", V::post, "/v1/query", QueryBody({1, 2, 1}),
       400, "invalid_argument", std::nullopt, 2},
      {"query: nested too deep", V::post, "/v1/query",
       R"({"queries":[[{"kind":"email"}]]})", 400, "invalid_argument",
       "queries[0]", 0},
      {"query: wrong content type", V::post, "/v1/query", QueryBody({1}), 415,
       "unsupported_media_type", "", std::nullopt, kAlphaFp, "application/xml"},
      // ---- POST /v1/matches/{id}/disposition ---------------------------
      {"disposition: unknown outcome", V::post,
       "/v1/matches/" + unknown_match + "/disposition",
       R"({"outcome":"maybe"})", 400, "invalid_argument", "outcome"},
      {"disposition: missing outcome", V::post,
       "/v1/matches/" + unknown_match + "/disposition", R"({"note":"x"})", 400,
       "invalid_argument", "outcome"},
      {"disposition: note too long", V::post,
       "/v1/matches/" + unknown_match + "/disposition",
       R"({"outcome":"confirmed","note":")" + std::string(1001, 'n') + "\"}",
       400, "invalid_argument", "note"},
      {"disposition: unknown field", V::post,
       "/v1/matches/" + unknown_match + "/disposition",
       R"({"outcome":"confirmed","score":1})", 400, "invalid_argument",
       "score"},
      {"disposition: malformed match id", V::post,
       "/v1/matches/m_XYZ/disposition", R"({"outcome":"confirmed"})", 404,
       "not_found", "match_id"},
      {"disposition: traversal in match id", V::post,
       "/v1/matches/..%2fm_1/disposition", R"({"outcome":"confirmed"})", 404,
       "not_found", ""},
      {"disposition: nonexistent match", V::post,
       "/v1/matches/" + unknown_match + "/disposition",
       R"({"outcome":"confirmed"})", 404, "not_found", "match_id", std::nullopt,
       kAlphaFp, kJson, true},
      {"disposition: another member's match", V::post,
       "/v1/matches/" + betas_match + "/disposition",
       R"({"outcome":"confirmed"})", 404, "not_found", "match_id", std::nullopt,
       kAlphaFp, kJson, true},
      {"disposition: PUT", V::put,
       "/v1/matches/" + betas_match + "/disposition",
       R"({"outcome":"confirmed"})", 405, "method_not_allowed", ""},
      // ---- GET /v1/feed and /v1/notifications --------------------------
      {"feed: cursor not issued by the hub", V::get, "/v1/feed?after=abc", "",
       400, "invalid_argument", "after"},
      {"feed: negative cursor", V::get, "/v1/feed?after=-1", "", 400,
       "invalid_argument", "after"},
      {"feed: cursor too long", V::get,
       "/v1/feed?after=" + std::string(65, '1'), "", 400, "invalid_argument",
       "after"},
      // Past SQLite's signed 64-bit rowids: would wrap and restart the feed.
      {"feed: cursor above 2^63-1", V::get,
       "/v1/feed?after=9223372036854775808", "", 400, "invalid_argument",
       "after"},
      {"feed: cursor of 2^64-1", V::get, "/v1/feed?after=18446744073709551615",
       "", 400, "invalid_argument", "after"},
      {"notifications: cursor above 2^63-1", V::get,
       "/v1/notifications?after=9223372036854775808", "", 400,
       "invalid_argument", "after"},
      {"feed: cursor with a slash", V::get, "/v1/feed?after=1%2F2", "", 400,
       "invalid_argument", "after"},
      // The rebuild form "SEQpPURGES": both parts decimal, nothing else.
      {"feed: rebuild cursor without purges", V::get, "/v1/feed?after=1p", "",
       400, "invalid_argument", "after"},
      {"feed: rebuild cursor without seq", V::get, "/v1/feed?after=p1", "", 400,
       "invalid_argument", "after"},
      {"feed: rebuild cursor with two marks", V::get, "/v1/feed?after=1p1p1",
       "", 400, "invalid_argument", "after"},
      {"feed: rebuild cursor above 2^63-1", V::get,
       "/v1/feed?after=1p9223372036854775808", "", 400, "invalid_argument",
       "after"},
      // The member's own numbering, "mSEQ" or "mSEQpPURGES": notifications
      // only, with a decimal seq after the mark.
      {"feed: per-member cursor", V::get, "/v1/feed?after=m1", "", 400,
       "invalid_argument", "after"},
      {"notifications: per-member cursor without seq", V::get,
       "/v1/notifications?after=m", "", 400, "invalid_argument", "after"},
      {"notifications: per-member cursor with two marks", V::get,
       "/v1/notifications?after=mm1", "", 400, "invalid_argument", "after"},
      {"notifications: negative per-member cursor", V::get,
       "/v1/notifications?after=m-1", "", 400, "invalid_argument", "after"},
      {"notifications: per-member rebuild cursor without purges", V::get,
       "/v1/notifications?after=m1p", "", 400, "invalid_argument", "after"},
      {"notifications: per-member cursor above 2^63-1", V::get,
       "/v1/notifications?after=m9223372036854775808", "", 400,
       "invalid_argument", "after"},
      {"notifications: per-member cursor past the newest", V::get,
       "/v1/notifications?after=m1", "", 400, "invalid_argument", "after"},
      {"notifications: per-member rebuild cursor of purges not made", V::get,
       "/v1/notifications?after=m0p1", "", 400, "invalid_argument", "after"},
      // Well formed, but a purge count this hub never reached.
      {"notifications: rebuild cursor of purges not made", V::get,
       "/v1/notifications?after=0p1", "", 400, "invalid_argument", "after"},
      {"feed: limit 0", V::get, "/v1/feed?limit=0", "", 400, "invalid_argument",
       "limit"},
      {"feed: limit 10001", V::get, "/v1/feed?limit=10001", "", 400,
       "invalid_argument", "limit"},
      {"feed: limit not a number", V::get, "/v1/feed?limit=ten", "", 400,
       "invalid_argument", "limit"},
      {"feed: repeated limit", V::get, "/v1/feed?limit=1&limit=2", "", 400,
       "invalid_argument", "limit"},
      {"feed: unknown parameter", V::get, "/v1/feed?since=1", "", 400,
       "invalid_argument", "since"},
      {"feed: POST", V::post, "/v1/feed", "{}", 405, "method_not_allowed", ""},
      {"notifications: bad cursor", V::get, "/v1/notifications?after=x.y", "",
       400, "invalid_argument", "after"},
      {"notifications: negative limit", V::get, "/v1/notifications?limit=-5",
       "", 400, "invalid_argument", "limit"},
      {"notifications: huge limit", V::get,
       "/v1/notifications?limit=99999999999999999999", "", 400,
       "invalid_argument", "limit"},
      // ---- Admin -------------------------------------------------------
      {"admin create: bad member id", V::post, "/v1/admin/members",
       R"({"member_id":"New_Co","name":"New Co","roles":["member"]})", 400,
       "invalid_argument", "member_id", std::nullopt, kOperatorFp},
      {"admin create: member id too long", V::post, "/v1/admin/members",
       R"({"member_id":")" + std::string(33, 'n') +
           R"(","name":"N","roles":["member"]})",
       400, "invalid_argument", "member_id", std::nullopt, kOperatorFp},
      {"admin create: unknown role", V::post, "/v1/admin/members",
       R"({"member_id":"newco","name":"New Co","roles":["root"]})", 400,
       "invalid_argument", "roles[0]", std::nullopt, kOperatorFp},
      {"admin create: empty roles", V::post, "/v1/admin/members",
       R"({"member_id":"newco","name":"New Co","roles":[]})", 400,
       "invalid_argument", "roles", std::nullopt, kOperatorFp},
      {"admin create: missing name", V::post, "/v1/admin/members",
       R"({"member_id":"newco","roles":["member"]})", 400, "invalid_argument",
       "name", std::nullopt, kOperatorFp},
      {"admin create: bad fingerprint", V::post, "/v1/admin/members",
       create + R"(,"fingerprints":[")" + upper + "\"]}", 400,
       "invalid_argument", "fingerprints[0]", std::nullopt, kOperatorFp},
      {"admin create: fingerprint taken", V::post, "/v1/admin/members",
       create + R"(,"fingerprints":[")" + kBetaFp + "\"]}", 409, "conflict",
       "fingerprints[0]", std::nullopt, kOperatorFp, kJson, true},
      {"admin create: id taken", V::post, "/v1/admin/members",
       R"({"member_id":"beta","name":"Beta 2","roles":["member"]})", 409,
       "conflict", "member_id", std::nullopt, kOperatorFp, kJson, true},
      {"admin create: unknown field", V::post, "/v1/admin/members",
       create + R"(,"admin":true})", 400, "invalid_argument", "admin",
       std::nullopt, kOperatorFp},
      {"admin get: malformed member id", V::get, "/v1/admin/members/Alpha", "",
       404, "not_found", "member_id", std::nullopt, kOperatorFp},
      {"admin get: traversal", V::get, "/v1/admin/members/..%2f..%2fetc", "",
       404, "not_found", "", std::nullopt, kOperatorFp},
      {"admin suspend: unknown member", V::post,
       "/v1/admin/members/nobody/suspend", "{}", 404, "not_found", std::nullopt,
       std::nullopt, kOperatorFp, kJson, true},
      {"admin suspend: reason too long", V::post,
       "/v1/admin/members/beta/suspend",
       R"({"reason":")" + std::string(501, 'r') + "\"}", 400,
       "invalid_argument", "reason", std::nullopt, kOperatorFp},
      {"admin suspend: traversal", V::post,
       "/v1/admin/members/beta/../alpha/suspend", "{}", 404, "not_found", "",
       std::nullopt, kOperatorFp},
      {"admin resume: non-empty body", V::post,
       "/v1/admin/members/gamma/resume", R"({"force":true})", 400,
       "invalid_argument", "force", std::nullopt, kOperatorFp},
      {"admin add fingerprint: bad hex", V::post,
       "/v1/admin/members/beta/fingerprints",
       R"({"fingerprint":")" + nonhex + "\"}", 400, "invalid_argument",
       "fingerprint", std::nullopt, kOperatorFp},
      {"admin add fingerprint: another member's", V::post,
       "/v1/admin/members/beta/fingerprints",
       R"({"fingerprint":")" + kAlphaFp + "\"}", 409, "conflict", "fingerprint",
       std::nullopt, kOperatorFp, kJson, true},
      {"admin revoke: malformed fingerprint", V::post,
       "/v1/admin/members/beta/fingerprints/ABC/revoke", "{}", 404, "not_found",
       "fingerprint", std::nullopt, kOperatorFp},
      {"admin revoke: another member's fingerprint", V::post,
       "/v1/admin/members/beta/fingerprints/" + kAlphaFp + "/revoke", "{}", 404,
       "not_found", "fingerprint", std::nullopt, kOperatorFp, kJson, true},
      {"admin set roles: empty", V::put, "/v1/admin/members/beta/roles",
       R"({"roles":[]})", 400, "invalid_argument", "roles", std::nullopt,
       kOperatorFp},
      {"admin set roles: unknown role", V::put, "/v1/admin/members/beta/roles",
       R"({"roles":["member","admin"]})", 400, "invalid_argument", "roles[1]",
       std::nullopt, kOperatorFp},
      {"admin set roles: roles not an array", V::put,
       "/v1/admin/members/beta/roles", R"({"roles":"member"})", 400,
       "invalid_argument", "roles", std::nullopt, kOperatorFp},
      {"admin set roles: POST", V::post, "/v1/admin/members/beta/roles",
       R"({"roles":["member"]})", 405, "method_not_allowed", "", std::nullopt,
       kOperatorFp},
  };
  return c;
}

TEST_CASE("bad input: every endpoint refuses it and changes nothing",
          "[api][bad_input]") {
  ApiFixture f;
  // State for the cases to (not) change: signals of alpha and beta, and a
  // match of beta's that alpha must not be able to dispose of.
  REQUIRE(f.Post("/v1/signals",
                 R"({"signals":[)" + SignalJson(1, R"(,"ref":"case-1")") + "," +
                     SignalJson(2) + "]}",
                 kAlphaFp)
              .status == 200);
  REQUIRE(f.Post("/v1/signals", SubmitBody({5}), kBetaFp).status == 200);
  auto q = wire::DecodeQueryResponse(
      f.Post("/v1/query", QueryBody({1}), kBetaFp).body);
  REQUIRE(q);
  REQUIRE(q->matches.size() == 1);

  const auto cases = Cases(q->matches[0].match_id);
  CHECK(cases.size() >= 45);
  for (const auto& c : cases) {
    CAPTURE(c.name, c.target);
    Headers headers;
    if (!c.content_type.empty() &&
        (c.method == http::verb::post || c.method == http::verb::put)) {
      headers.emplace_back("Content-Type", c.content_type);
    }
    const auto before = TakeSnapshot(f);
    const Response r =
        f.Call(c.method, c.target, c.body, c.fingerprint, headers);
    CAPTURE(r.body.substr(0, 400));
    CHECK(r.status == c.status);
    CHECK(wire::IsWellFormedRequestId(r.Header("X-Request-Id")));
    const Error error = r.ErrorBody();
    CHECK(r.ErrorCode() == c.code);
    CHECK_FALSE(error.message.empty());
    if (c.field) CHECK(error.field == *c.field);
    if (c.index) CHECK(error.index == c.index);
    const auto after = TakeSnapshot(f);
    INFO("before:\n" << Describe(before) << "\nafter:\n" << Describe(after));
    if (c.store_decides) {
      CHECK(SameData(after, before));
    } else {
      CHECK(after == before);
    }
  }

  // The snapshot does see changes: a valid submit and a valid admin change.
  const auto before = TakeSnapshot(f);
  REQUIRE(f.Post("/v1/signals", SubmitBody({77}), kAlphaFp).status == 200);
  const auto after_submit = TakeSnapshot(f);
  CHECK_FALSE(SameData(after_submit, before));
  REQUIRE(f.Put("/v1/admin/members/beta/roles",
                R"({"roles":["member","compliance"]})", kOperatorFp)
              .status == 200);
  CHECK_FALSE(SameData(TakeSnapshot(f), after_submit));
}

}  // namespace
}  // namespace cairn::server::apitest
