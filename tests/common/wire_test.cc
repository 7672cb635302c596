#include "cairn/wire.h"

#include <catch2/catch.hpp>

#include <functional>
#include <optional>
#include <string>

namespace cairn::wire {
namespace {

const std::string kTok(64, 'a');
const std::string kTok2(64, 'b');

Timestamp ATime() { return *ParseTimestamp("2025-05-05T05:05:05Z"); }

// Wraps a decoder so that one table can mix body types.
template <typename T>
std::function<Status(std::string_view)> As(
    Result<T> (*decode)(std::string_view)) {
  return [decode](std::string_view json) -> Status {
    auto r = decode(json);
    if (!r) return tl::unexpected<Error>(r.error());
    return {};
  };
}

std::string Signal(const std::string& extra = "") {
  return R"({"kind":"email","token":")" + kTok +
         R"(","category":"grooming","severity":"high","banned_at":"2026-01-02T03:04:05Z")" +
         extra + "}";
}

std::string Repeat(const std::string& item, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    if (i) out += ',';
    out += item;
  }
  return out;
}

// n distinct query items.
std::string Queries(std::size_t n) {
  std::string out = R"({"queries":[)";
  char hex[65];
  for (std::size_t i = 0; i < n; ++i) {
    if (i) out += ',';
    std::snprintf(hex, sizeof hex, "%064zx", i);
    out += R"({"kind":"phone","token":")";
    out += hex;
    out += R"("})";
  }
  return out + "]}";
}

struct BadCase {
  const char* name;
  std::function<Status(std::string_view)> decode;
  std::string json;
  std::string field;
  std::optional<std::size_t> index;
};

TEST_CASE("bad request bodies fail with code, field path and index") {
  const auto sub = As(&DecodeSubmitSignalsRequest);
  const auto ret = As(&DecodeRetractRequest);
  const auto qry = As(&DecodeQueryRequest);
  const auto dis = As(&DecodeDispositionRequest);
  const auto cre = As(&DecodeCreateMemberRequest);
  const auto sus = As(&DecodeSuspendMemberRequest);
  const auto fpr = As(&DecodeAddFingerprintRequest);
  const auto rol = As(&DecodeSetRolesRequest);
  const auto emp = As(&DecodeEmptyRequest);
  const std::string q0 = R"({"kind":"email","token":")" + kTok + R"("})";
  const std::string q1 = R"({"kind":"email","token":")" + kTok2 + R"("})";
  std::string deep = R"({"queries":[{"kind":)";
  for (int i = 0; i < 200; ++i) deep += "[";
  for (int i = 0; i < 200; ++i) deep += "]";
  deep += R"(,"token":")" + kTok + R"("}]})";
  const BadCase cases[] = {
      {"not JSON", qry, "hello", "", {}},
      {"empty body", qry, "", "", {}},
      // Malformed JSON is reported where the parser notices it.
      {"truncated", qry, R"({"queries":[)" + q0, "queries[1]", 1},
      {"top level array", qry, "[]", "", {}},
      {"trailing garbage", qry, R"({"queries":[)" + q0 + "]} x", "", {}},
      {"unknown top field",
       qry,
       R"({"queries":[)" + q0 + R"(],"extra":1})",
       "extra",
       {}},
      {"missing queries", qry, "{}", "queries", {}},
      {"queries not array", qry, R"({"queries":{}})", "queries", {}},
      {"empty batch", qry, R"({"queries":[]})", "queries", {}},
      {"batch of 10001", qry, Queries(10001), "queries", {}},
      {"item not object", qry, R"({"queries":[)" + q0 + R"(,"x"]})",
       "queries[1]", 1},
      {"unknown item field", qry,
       R"({"queries":[)" + q0 + R"(,{"kind":"email","token":")" + kTok2 +
           R"(","Token":"x"}]})",
       "queries[1].Token", 1},
      {"uppercase hex", qry,
       R"({"queries":[{"kind":"email","token":")" + std::string(64, 'A') +
           R"("}]})",
       "queries[0].token", 0},
      {"non hex", qry,
       R"({"queries":[{"kind":"email","token":")" + std::string(64, 'g') +
           R"("}]})",
       "queries[0].token", 0},
      {"short token", qry,
       R"({"queries":[{"kind":"email","token":")" + std::string(62, 'a') +
           R"("}]})",
       "queries[0].token", 0},
      {"long token", qry,
       R"({"queries":[{"kind":"email","token":")" + std::string(66, 'a') +
           R"("}]})",
       "queries[0].token", 0},
      {"63 hex characters", qry,
       R"({"queries":[{"kind":"email","token":")" + std::string(63, 'a') +
           R"("}]})",
       "queries[0].token", 0},
      {"65 hex characters", qry,
       R"({"queries":[{"kind":"email","token":")" + std::string(65, 'a') +
           R"("}]})",
       "queries[0].token", 0},
      {"empty token", qry, R"({"queries":[{"kind":"email","token":""}]})",
       "queries[0].token", 0},
      {"escaped quote in token", qry,
       R"({"queries":[{"kind":"email","token":")" + std::string(62, 'a') +
           R"(\""}]})",
       "queries[0].token", 0},
      {"escape that unescapes to non-hex", qry,
       R"({"queries":[{"kind":"email","token":")" + std::string(63, 'a') +
           R"(\u0047"}]})",
       "queries[0].token", 0},
      {"token is number", qry, R"({"queries":[{"kind":"email","token":7}]})",
       "queries[0].token", 0},
      {"bad kind pattern", qry,
       R"({"queries":[{"kind":"E-mail","token":")" + kTok + R"("}]})",
       "queries[0].kind", 0},
      {"missing token", qry, R"({"queries":[)" + q0 + R"(,{"kind":"email"}]})",
       "queries[1].token", 1},
      {"unknown scheme", qry,
       R"({"queries":[{"kind":"email","token":")" + kTok +
           R"(","scheme":"hmac-v2"}]})",
       "queries[0].scheme", 0},
      {"negative epoch", qry,
       R"({"queries":[{"kind":"email","token":")" + kTok + R"(","epoch":-1}]})",
       "queries[0].epoch", 0},
      {"fractional epoch", qry,
       R"({"queries":[{"kind":"email","token":")" + kTok +
           R"(","epoch":1.5}]})",
       "queries[0].epoch", 0},
      {"duplicate query", qry,
       R"({"queries":[)" + q0 + "," + q1 + "," + q0 + "]}", "queries[2]", 2},
      {"duplicate key", qry,
       R"({"queries":[{"kind":"email","kind":"phone","token":")" + kTok +
           R"("}]})",
       "queries[0].kind", 0},
      {"deep nesting", qry, deep, "queries[0].kind", 0},
      {"unknown category", sub,
       R"({"signals":[)" +
           Signal().replace(Signal().find("grooming"), 8, "spam") + "]}",
       "signals[0].category", 0},
      {"unknown severity", sub,
       R"({"signals":[)" + Signal(R"(,"severity":"urgent")") + "]}",
       "signals[0].severity", 0},
      {"bad timestamp", sub,
       R"({"signals":[)" + Signal(R"(,"expires_at":"2026-02-30T00:00:00Z")") +
           "]}",
       "signals[0].expires_at", 0},
      {"timestamp with offset", sub,
       R"({"signals":[)" +
           Signal(R"(,"expires_at":"2026-02-03T00:00:00+01:00")") + "]}",
       "signals[0].expires_at", 0},
      {"ref too long", sub,
       R"({"signals":[)" +
           Signal(R"(,"ref":")" + std::string(129, 'r') + "\"") + "]}",
       "signals[0].ref", 0},
      {"empty ref", sub, R"({"signals":[)" + Signal(R"(,"ref":"")") + "]}",
       "signals[0].ref", 0},
      {"control char in ref", sub,
       R"({"signals":[)" + Signal(R"(,"ref":"a\u0007b")") + "]}",
       "signals[0].ref", 0},
      {"attribution not bool", sub,
       R"({"signals":[)" + Signal(R"(,"attribution":"yes")") + "]}",
       "signals[0].attribution", 0},
      {"missing banned_at", sub,
       R"({"signals":[{"kind":"email","token":")" + kTok +
           R"(","category":"grooming","severity":"high"}]})",
       "signals[0].banned_at", 0},
      {"duplicate signal", sub, R"({"signals":[)" + Repeat(Signal(), 2) + "]}",
       "signals[1]", 1},
      {"unknown reason", ret,
       R"({"retractions":[{"ref":"x","reason":"oops"}]})",
       "retractions[0].reason", 0},
      {"ref and token", ret,
       R"({"retractions":[{"ref":"x","kind":"email","token":")" + kTok +
           R"(","reason":"error"}]})",
       "retractions[0]", 0},
      {"neither ref nor token", ret, R"({"retractions":[{"reason":"error"}]})",
       "retractions[0]", 0},
      {"duplicate ref", ret,
       R"({"retractions":[{"ref":"x","reason":"error"},{"ref":"x","reason":"other"}]})",
       "retractions[1]", 1},
      {"unknown outcome", dis, R"({"outcome":"maybe"})", "outcome", {}},
      {"note too long",
       dis,
       R"({"outcome":"confirmed","note":")" + std::string(1001, 'n') + "\"}",
       "note",
       {}},
      {"bad member id",
       cre,
       R"({"member_id":"Alpha","name":"A","roles":["member"]})",
       "member_id",
       {}},
      {"unknown role",
       cre,
       R"({"member_id":"alpha","name":"A","roles":["admin"]})",
       "roles[0]",
       {}},
      {"duplicate role",
       rol,
       R"({"roles":["member","member"]})",
       "roles[1]",
       {}},
      {"empty roles", rol, R"({"roles":[]})", "roles", {}},
      {"bad fingerprint",
       fpr,
       R"({"fingerprint":")" + std::string(64, 'F') + "\"}",
       "fingerprint",
       {}},
      {"reason too long",
       sus,
       R"({"reason":")" + std::string(501, 'x') + "\"}",
       "reason",
       {}},
      {"non-empty empty body", emp, R"({"x":1})", "x", {}},
  };
  STATIC_REQUIRE(sizeof cases / sizeof cases[0] >= 30);
  for (const auto& c : cases) {
    CAPTURE(c.name, c.json.substr(0, 200));
    auto status = c.decode(c.json);
    REQUIRE_FALSE(status.has_value());
    CHECK(status.error().code == ErrorCode::kInvalidArgument);
    CHECK(status.error().field == c.field);
    CHECK(status.error().index == c.index);
    CHECK_FALSE(status.error().message.empty());
  }
}

TEST_CASE("token error message names the fix") {
  auto r = DecodeQueryRequest(R"({"queries":[{"kind":"email","token":"AB"}]})");
  REQUIRE_FALSE(r);
  CHECK(r.error().ToString() ==
        "invalid_argument: queries[0].token: expected 64 lowercase hex "
        "characters (a 32-byte token; uppercase hex is not accepted)");
}

TEST_CASE("query request decodes defaults and round-trips") {
  auto r = DecodeQueryRequest(R"({"queries":[{"kind":"email","token":")" +
                              kTok + R"("},{"kind":"steam_id","token":")" +
                              kTok + R"(","scheme":"voprf-v1","epoch":7}]})");
  REQUIRE(r);
  REQUIRE(r->queries.size() == 2);
  CHECK(r->queries[0].scheme == TokenScheme::kHmacV1);
  CHECK(r->queries[0].epoch == 0);
  CHECK(r->queries[0].token[0] == 0xaa);
  CHECK(r->queries[1].kind == "steam_id");
  CHECK(r->queries[1].scheme == TokenScheme::kVoprfV1);
  CHECK(r->queries[1].epoch == 7);
  auto again = DecodeQueryRequest(Encode(*r));
  REQUIRE(again);
  CHECK(*again == *r);
}

TEST_CASE("a token written with JSON escapes decodes like the plain one") {
  // "\u0030" is "0" and "\u0061" is "a": the same JSON string value.
  const std::string plain = "0a" + std::string(62, 'b');
  const std::string escaped = R"(\u0030\u0061)" + std::string(62, 'b');
  auto a = DecodeQueryRequest(R"({"queries":[{"kind":"email","token":")" +
                              plain + R"("}]})");
  auto b = DecodeQueryRequest(R"({"queries":[{"kind":"email","token":")" +
                              escaped + R"("}]})");
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->queries[0].token[0] == 0x0a);
  CHECK(a->queries[0].token[1] == 0xbb);
  CHECK(b->queries == a->queries);
}

TEST_CASE("every character at every position: only lowercase hex passes") {
  // The token decoder works 16 characters at a time; probe each lane with
  // every printable ASCII character and a two-byte UTF-8 character.
  std::vector<std::string> probes;
  for (int c = 0x20; c < 0x7f; ++c) {
    if (c != '"' && c != '\\') probes.emplace_back(1, static_cast<char>(c));
  }
  probes.emplace_back("\xc3\xa9");  // é: bytes >= 0x80
  for (std::size_t pos = 0; pos < 64; ++pos) {
    for (const auto& probe : probes) {
      std::string hex(64, '5');
      hex.replace(pos, 1, probe);
      const bool is_hex =
          probe.size() == 1 && ((probe[0] >= '0' && probe[0] <= '9') ||
                                (probe[0] >= 'a' && probe[0] <= 'f'));
      auto r = DecodeQueryRequest(R"({"queries":[{"kind":"email","token":")" +
                                  hex + R"("}]})");
      CAPTURE(pos, probe);
      REQUIRE(static_cast<bool>(r) == is_hex);
      if (is_hex) {
        const int nibble =
            probe[0] <= '9' ? probe[0] - '0' : probe[0] - 'a' + 10;
        const std::uint8_t byte = r->queries[0].token[pos / 2];
        CHECK((pos % 2 == 0 ? byte >> 4 : byte & 0x0f) == nibble);
        CHECK((pos % 2 == 0 ? byte & 0x0f : byte >> 4) == 5);
      }
    }
  }
}

TEST_CASE("10,000-item query decodes, and the fast path reuses the buffer") {
  const std::string body = Queries(kMaxBatch);
  QueryRequest out;
  REQUIRE(DecodeQueryRequestInto(body, body.size(), &out));
  CHECK(out.queries.size() == kMaxBatch);
  std::string padded = body;
  padded.append(kJsonPadding, ' ');
  REQUIRE(DecodeQueryRequestInto(std::string_view(padded.data(), body.size()),
                                 padded.size(), &out));
  CHECK(out.queries.size() == kMaxBatch);
  CHECK(out.queries[kMaxBatch - 1].token[31] == ((kMaxBatch - 1) & 0xff));
}

TEST_CASE("same token with another category is not a duplicate") {
  std::string other = Signal();
  other.replace(other.find("grooming"), 8, "sextortion");
  auto r = DecodeSubmitSignalsRequest(R"({"signals":[)" + Signal() + "," +
                                      other + "]}");
  REQUIRE(r);
  CHECK(r->signals.size() == 2);
}

TEST_CASE("submit request round-trips with every field") {
  SubmitSignalsRequest req;
  SignalItem& s = req.signals.emplace_back();
  s.key.kind = "handle";
  s.key.token.fill(0x5c);
  s.key.scheme = TokenScheme::kVoprfV1;
  s.key.epoch = 3;
  s.category = Category::kCsamProduction;
  s.severity = Severity::kCritical;
  s.banned_at = *ParseTimestamp("2024-02-29T23:59:59Z");
  s.expires_at = *ParseTimestamp("2030-01-01T00:00:00Z");
  s.attribution = true;
  s.ref = "case \"42\" \xc3\xa9";
  auto r = DecodeSubmitSignalsRequest(Encode(req));
  REQUIRE(r);
  CHECK(*r == req);
}

TEST_CASE("responses ignore unknown fields and round-trip") {
  QueryResponse resp;
  resp.request_id = "r_" + std::string(32, '1');
  resp.queried = 3;
  Match& m = resp.matches.emplace_back();
  m.index = 2;
  m.match_id = "m_" + std::string(32, '2');
  m.kinds = {"email"};
  m.categories = {Category::kGrooming, Category::kOther};
  m.platforms = 2;
  m.first_banned_at = *ParseTimestamp("2025-01-01T00:00:00Z");
  m.last_banned_at = *ParseTimestamp("2025-06-01T00:00:00Z");
  m.max_severity = Severity::kHigh;
  m.attributed_to = {"alpha"};
  Receipt receipt;
  receipt.key_id = "hk_0123456789abcdef";
  receipt.member = "alpha";
  receipt.request_id = resp.request_id;
  receipt.at = *ParseTimestamp("2026-11-23T14:00:00Z");
  receipt.endpoint = "/v1/query";
  receipt.request_digest = std::string(64, 'a');
  receipt.results_digest = std::string(64, 'b');
  receipt.signature = "c2ln";
  resp.receipt = receipt;
  std::string json = Encode(resp);
  auto r = DecodeQueryResponse(json);
  REQUIRE(r);
  CHECK(*r == resp);
  json.insert(1, R"("future":{"a":[1,{"b":2}]},)");
  r = DecodeQueryResponse(json);
  REQUIRE(r);
  CHECK(*r == resp);
}

TEST_CASE("batch responses carry per-item errors") {
  SubmitSignalsResponse resp;
  resp.request_id = "r_" + std::string(32, 'a');
  resp.results.push_back(
      {0, SubmitStatus::kCreated, "s_" + std::string(32, 'b'), std::nullopt});
  resp.results.push_back({1, SubmitStatus::kError, "",
                          ItemError{ErrorCode::kInvalidArgument,
                                    "kind not registered", "signals[1].kind"}});
  auto r = DecodeSubmitSignalsResponse(Encode(resp));
  REQUIRE(r);
  CHECK(*r == resp);

  RetractResponse rr;
  rr.request_id = resp.request_id;
  rr.results.push_back({0,
                        RetractStatus::kRetracted,
                        {"s_" + std::string(32, 'c')},
                        std::nullopt});
  rr.results.push_back({1, RetractStatus::kNotFound, {}, std::nullopt});
  auto r2 = DecodeRetractResponse(Encode(rr));
  REQUIRE(r2);
  CHECK(*r2 == rr);
}

TEST_CASE("submit results on their own round-trip and read strictly") {
  std::vector<SubmitResult> results;
  results.push_back(
      {0, SubmitStatus::kCreated, "s_" + std::string(32, 'b'), std::nullopt});
  results.push_back(
      {1, SubmitStatus::kError, "",
       ItemError{ErrorCode::kInvalidArgument,
                 "kind 'x\t\"y\"' is not registered", "signals[1].kind"}});
  results.push_back({2, SubmitStatus::kError, "",
                     ItemError{ErrorCode::kInvalidArgument, "no field", ""}});
  const std::string json = EncodeSubmitResults(results);
  CHECK(json.rfind("{\"results\":[{\"index\":0,", 0) == 0);
  auto back = DecodeSubmitResults(json);
  REQUIRE(back);
  CHECK(*back == results);
  auto empty = DecodeSubmitResults(EncodeSubmitResults({}));
  REQUIRE(empty);
  CHECK(empty->empty());

  // What the hub did not write is refused, each with an error.
  for (const char* bad : {
           "",
           "[]",
           "{}",
           R"({"results":7})",
           R"({"results":[],"request_id":"r_1"})",
           R"({"results":[{"index":0,"status":"created"}]})",
           R"({"results":[{"index":0,"status":"maybe","signal_id":"s_1"}]})",
           R"({"results":[]} trailing)",
       }) {
    CAPTURE(bad);
    auto r = DecodeSubmitResults(bad);
    CHECK_FALSE(r.has_value());
  }
}

TEST_CASE("page query strings") {
  auto p = ParsePageRequest("after=123&limit=50");
  REQUIRE(p);
  CHECK(p->after == "123");
  CHECK(p->limit == 50);
  auto d = ParsePageRequest("");
  REQUIRE(d);
  CHECK(d->limit == kDefaultPageLimit);
  CHECK(ParsePageRequest(EncodePageRequest(*p)).value() == *p);
  struct {
    const char* query;
    const char* field;
  } bad[] = {{"limit=0", "limit"},     {"limit=10001", "limit"},
             {"limit=abc", "limit"},   {"limit=", "limit"},
             {"after=a%20b", "after"}, {"after=1&after=2", "after"},
             {"cursor=1", "cursor"},   {"limit=1&limit=2", "limit"}};
  for (const auto& c : bad) {
    CAPTURE(c.query);
    auto r = ParsePageRequest(c.query);
    REQUIRE_FALSE(r);
    CHECK(r.error().field == c.field);
  }
}

TEST_CASE("feed and notifications round-trip") {
  FeedResponse feed;
  FeedEvent& e = feed.events.emplace_back();
  e.seq = 123;
  e.type = FeedEventType::kRetracted;
  e.signal_id = "s_0123456789abcdef0123456789abcdef";
  e.key.kind = "url";
  e.key.token.fill(1);
  e.category = Category::kTrafficking;
  e.severity = Severity::kLow;
  e.banned_at = *ParseTimestamp("2025-01-01T00:00:00Z");
  e.expires_at = *ParseTimestamp("2027-01-01T00:00:00Z");
  e.at = *ParseTimestamp("2025-03-01T00:00:00Z");
  feed.cursor = "123";
  feed.more = true;
  auto f = DecodeFeedResponse(Encode(feed));
  REQUIRE(f);
  CHECK(*f == feed);

  NotificationsResponse notes;
  notes.notifications.push_back({9, "m_" + std::string(32, 'f'),
                                 FeedEventType::kRetracted,
                                 RetractReason::kAppealUpheld, e.at, false});
  notes.cursor = "9";
  auto n = DecodeNotificationsResponse(Encode(notes));
  REQUIRE(n);
  CHECK(*n == notes);
}

TEST_CASE(
    "me: features round-trip, are absent when none, and unknown ones are "
    "kept, and a malformed list is refused on its field") {
  MeResponse me;
  me.member_id = "alpha";
  me.name = "Alpha Social";
  me.roles = {Role::kMember};
  me.fingerprint = std::string(64, '0');
  me.token_schemes = {TokenScheme::kHmacV1};
  // None: the field is left out, as hubs before it sent the body.
  CHECK(Encode(me).find("features") == std::string::npos);
  CHECK(DecodeMeResponse(Encode(me)).value().features.empty());
  me.features = {std::string(kFeatureQueryIdempotency), "from-the-future"};
  auto m = DecodeMeResponse(Encode(me));
  REQUIRE(m);
  CHECK(*m == me);
  CHECK(m->Supports(kFeatureQueryIdempotency));
  CHECK(m->Supports("from-the-future"));
  CHECK_FALSE(m->Supports("query"));

  const std::string base =
      R"({"member_id":"alpha","name":"A","roles":["member"],"fingerprint":")" +
      std::string(64, '0') +
      R"(","limits":{"max_batch":1,"max_body_bytes":1,"requests_per_second":1,"items_per_second":1},"token_schemes":["hmac-v1"])";
  std::string many = "[";
  for (std::size_t i = 0; i <= kMaxFeatures; ++i) {
    many += (i == 0 ? "\"f" : ",\"f") + std::to_string(i) + "\"";
  }
  many += "]";
  struct Case {
    const char* name;
    std::string features;
    const char* field;
  } cases[] = {
      {"not an array", R"("query-idempotency")", "features"},
      {"not a string", R"(["query-idempotency",7])", "features[1]"},
      {"empty name", R"([""])", "features[0]"},
      {"name too long", "[\"" + std::string(kMaxFeatureBytes + 1, 'a') + "\"]",
       "features[0]"},
      {"too many", many, "features"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    auto bad = DecodeMeResponse(base + R"(,"features":)" + c.features + "}");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().field == c.field);
  }
  // The longest name is accepted.
  auto longest = DecodeMeResponse(base + R"(,"features":[")" +
                                  std::string(kMaxFeatureBytes, 'a') + "\"]}");
  CHECK(longest.has_value());
}

TEST_CASE("me, health, disposition and admin bodies round-trip") {
  MeResponse me;
  me.member_id = "alpha";
  me.name = "Alpha Social";
  me.roles = {Role::kMember};
  me.fingerprint = std::string(64, '0');
  me.token_schemes = {TokenScheme::kHmacV1};
  me.hub_keys.push_back({"k1", "ed25519", "AAAA", ATime(), std::nullopt});
  auto m = DecodeMeResponse(Encode(me));
  REQUIRE(m);
  CHECK(*m == me);

  HealthResponse h{false, false, true};
  CHECK(Encode(h) ==
        R"({"status":"degraded","store":"unwritable","clock":"ok"})");
  CHECK(DecodeHealthResponse(Encode(h)).value() == h);
  HealthResponse lost{false, true, false};
  CHECK(
      Encode(lost) ==
      R"({"status":"degraded","store":"writable","store_files":"deleted_or_replaced","clock":"ok"})");
  CHECK(DecodeHealthResponse(Encode(lost)).value() == lost);
  auto bad = DecodeHealthResponse(
      R"({"status":"degraded","store":"writable","store_files":"intact"})");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().field == "store_files");
  // A clock step is reported while the hub stays "ok" (health.h says why).
  HealthResponse stepped;
  stepped.clock_ok = false;
  CHECK(Encode(stepped) ==
        R"({"status":"ok","store":"writable","clock":"stepped"})");
  CHECK(DecodeHealthResponse(Encode(stepped)).value() == stepped);
  // A hub from before "clock" existed.
  CHECK(DecodeHealthResponse(R"({"status":"ok","store":"writable"})")
            .value()
            .clock_ok);
  CHECK_FALSE(
      DecodeHealthResponse(R"({"status":"ok","store":"writable","clock":"x"})")
          .has_value());

  DispositionResponse d{"r_" + std::string(32, '0'),
                        "m_" + std::string(32, '1'), Outcome::kFalsePositive,
                        ATime()};
  CHECK(DecodeDispositionResponse(Encode(d)).value() == d);

  Member member{
      "beta",
      "Beta",
      {Role::kMember, Role::kCompliance},
      MemberStatus::kSuspended,
      ATime(),
      "abuse of the API",
      {{std::string(64, 'e'), FingerprintStatus::kRevoked, ATime(), ATime()}}};
  CHECK(DecodeMember(Encode(member)).value() == member);
  MemberListResponse list{{member, member}};
  CHECK(DecodeMemberListResponse(Encode(list)).value() == list);

  CreateMemberRequest create{
      "gamma-2", "Gamma", {Role::kOperator}, {std::string(64, '9')}};
  CHECK(DecodeCreateMemberRequest(Encode(create)).value() == create);
  CHECK(DecodeEmptyRequest("{}").has_value());
  CHECK(DecodeSuspendMemberRequest("{}").value().reason == std::nullopt);
}

}  // namespace
}  // namespace cairn::wire
