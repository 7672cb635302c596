// Client over a recording connection: what goes on the wire, batching,
// mapping of results back to the caller's identifiers, and error messages.
#include <algorithm>
#include <array>
#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include <catch2/catch.hpp>

#include "cairn/client.h"
#include "cairn/encoding.h"
#include "tests/client/recording_connection.h"

namespace cairn {
namespace {

using testing::RecordingConnection;
using testing::Reply;

ConsortiumKey TestKey() {
  std::array<std::uint8_t, 32> bytes{};
  for (std::size_t i = 0; i < bytes.size(); ++i)
    bytes[i] = static_cast<std::uint8_t>(i);
  return ConsortiumKey(bytes);
}

ClientOptions TestOptions() {
  ClientOptions options;
  options.consortium_key = TestKey();
  options.default_region = "GB";
  // Retries of failures the tests script stay quick.
  options.retry.initial_backoff = std::chrono::milliseconds(10);
  return options;
}

std::string RequestId() { return "r_" + std::string(32, 'a'); }
std::string MatchId(int n) {
  std::string hex = std::to_string(n);
  return "m_" + std::string(32 - hex.size(), '0') + hex;
}

// A hub that answers every query with a match for each item whose token's
// first byte is even, and every submit with "created"; its /v1/me announces
// `max_batch` and `max_body_bytes`, and the feature query-idempotency
// unless `query_keys` is false (a hub before store schema 10).
HttpReply FakeAnswer(const HttpRequest& request,
                     std::size_t max_batch = wire::kMaxBatch,
                     std::uint64_t max_body_bytes = 4194304,
                     bool query_keys = true) {
  if (request.method == "GET" && request.target == "/v1/me") {
    wire::MeResponse me;
    me.member_id = "alpha";
    me.name = "Alpha";
    me.roles = {Role::kMember};
    me.fingerprint = std::string(64, 'a');
    me.limits.max_batch = static_cast<std::uint32_t>(max_batch);
    me.limits.max_body_bytes = max_body_bytes;
    if (query_keys) {
      me.features = {std::string(wire::kFeatureQueryIdempotency), "future"};
    }
    return Reply(200, wire::Encode(me));
  }
  if (request.target == "/v1/query") {
    auto body = wire::DecodeQueryRequest(request.body);
    REQUIRE(body);
    wire::QueryResponse response;
    response.request_id = RequestId();
    response.queried = body->queries.size();
    for (std::size_t i = 0; i < body->queries.size(); ++i) {
      if (body->queries[i].token[0] % 2 != 0) continue;
      wire::Match match;
      match.index = i;
      match.match_id = MatchId(static_cast<int>(i));
      match.kinds = {body->queries[i].kind};
      match.categories = {Category::kGrooming};
      match.platforms = 1;
      match.max_severity = Severity::kHigh;
      response.matches.push_back(match);
    }
    return Reply(200, wire::Encode(response));
  }
  if (request.target == "/v1/signals") {
    auto body = wire::DecodeSubmitSignalsRequest(request.body);
    REQUIRE(body);
    wire::SubmitSignalsResponse response;
    response.request_id = RequestId();
    for (std::size_t i = 0; i < body->signals.size(); ++i) {
      response.results.push_back(
          {i, wire::SubmitStatus::kCreated, "s_" + std::string(32, 'b'), {}});
    }
    return Reply(200, wire::Encode(response));
  }
  if (request.target == "/v1/signals/retract") {
    auto body = wire::DecodeRetractRequest(request.body);
    REQUIRE(body);
    wire::RetractResponse response;
    response.request_id = RequestId();
    for (std::size_t i = 0; i < body->retractions.size(); ++i) {
      response.results.push_back({i, wire::RetractStatus::kNotFound, {}, {}});
    }
    return Reply(200, wire::Encode(response));
  }
  return Reply(404, R"({"error":{"code":"not_found","message":"no route"}})");
}

struct Fixture {
  std::shared_ptr<RecordingConnection> connection =
      std::make_shared<RecordingConnection>(
          [](const HttpRequest& r) -> Result<HttpReply> {
            return FakeAnswer(r);
          });
  Client client = *MakeClient(TestOptions(), connection);

  // What the client sent, less its GET /v1/me (asked once, for the hub's
  // batch limit).
  std::vector<HttpRequest> Sent() const {
    std::vector<HttpRequest> out;
    for (auto& r : connection->requests()) {
      if (r.target != "/v1/me") out.push_back(std::move(r));
    }
    return out;
  }
};

TEST_CASE("raw identifiers never appear in any request target or body") {
  Fixture f;
  const std::vector<std::string> secrets = {
      "Jane.Doe+tag@GoogleMail.com",
      "janedoe",
      "020 7946 0958",
      "7946",
      "jane_groomer",
      "0f8fad5b-d9cb-469f-a165-70867728950e",
      "example.org/profile/secret-person",
      "steam-secret-42"};
  const std::vector<Identifier> ids = {
      Identifier::Email(secrets[0]),
      Identifier::Phone(secrets[2], "GB"),
      Identifier::Handle("discord", secrets[4]),
      Identifier::Device(secrets[5]),
      Identifier::Url("https://" + secrets[6]),
      Identifier::Custom("steam_id", secrets[7]),
  };
  REQUIRE(f.client.Query(ids));
  std::vector<Ban> bans;
  for (const auto& id : ids) {
    bans.push_back(
        Ban{id, Category::kGrooming, Severity::kHigh,
            std::chrono::sys_seconds{std::chrono::seconds{1700000000}},
            std::nullopt, false, std::nullopt});
  }
  REQUIRE(f.client.Submit(bans));
  std::vector<Retraction> retractions;
  for (const auto& id : ids) {
    retractions.push_back(Retraction::Of(id, RetractReason::kError));
  }
  REQUIRE(f.client.Retract(retractions));

  const auto requests = f.Sent();
  REQUIRE(requests.size() == 3);
  for (const auto& request : requests) {
    for (const auto& secret : secrets) {
      CAPTURE(request.target, secret);
      CHECK(request.body.find(secret) == std::string::npos);
      CHECK(request.target.find(secret) == std::string::npos);
      for (const auto& [name, value] : request.headers) {
        CHECK(value.find(secret) == std::string::npos);
      }
    }
    // Normalised forms must not leak either.
    CHECK(request.body.find("janedoe@gmail.com") == std::string::npos);
    CHECK(request.body.find("+442079460958") == std::string::npos);
    CHECK(request.body.find("@") == std::string::npos);
  }
}

TEST_CASE(
    "a client allowed to hold no consortium key reads, and refuses to "
    "tokenise") {
  auto connection = std::make_shared<RecordingConnection>(
      [](const HttpRequest& r) -> Result<HttpReply> { return FakeAnswer(r); });
  ClientOptions options;
  // By default a missing key fails at once, naming the option.
  auto strict = MakeClient(options, connection);
  REQUIRE_FALSE(strict);
  CHECK(strict.error().field == "consortium_key_file");

  options.require_consortium_key = false;
  auto reader = MakeClient(options, connection);
  REQUIRE(reader);
  auto me = reader->Me();
  REQUIRE(me);
  CHECK(me->member_id == "alpha");
  // Retracting by ref sends no identifier.
  auto by_ref =
      reader->Retract({Retraction::ByRef("case-1", RetractReason::kError)});
  REQUIRE(by_ref);
  CHECK(by_ref->items.size() == 1);
  const std::size_t sent = connection->requests().size();
  for (auto result : {reader->Query({Identifier::Email("a@example.com")})
                          .map([](const QueryOutcome&) { return 0; }),
                      reader->Tokenise(Identifier::Email("a@example.com"))
                          .map([](const wire::TokenKey&) { return 0; })}) {
    REQUIRE_FALSE(result);
    CHECK(result.error().code == ErrorCode::kInvalidArgument);
    CHECK_THAT(result.error().message, Catch::Contains("no consortium key"));
  }
  CHECK(connection->requests().size() == sent);  // nothing was sent
}

TEST_CASE("the wire carries the token Tokenise() computes") {
  Fixture f;
  auto id = Identifier::Email("someone@example.com");
  auto key = f.client.Tokenise(id);
  REQUIRE(key);
  CHECK(*key ==
        wire::TokenKey{"email",
                       *Tokenise(TestKey(), "email", "someone@example.com"),
                       TokenScheme::kHmacV1, 0});
  REQUIRE(f.client.Query({id}));
  const auto body = f.Sent().at(0).body;
  CHECK(body.find(HexEncode(key->token)) != std::string::npos);
}

TEST_CASE(
    "a connection that keeps the query requests it was sent does not keep "
    "the client alive") {
  // A query request carries the client's check of whether the hub honours
  // its Idempotency-Key (HttpRequest::may_resend); a recording connection,
  // like a test double of an integrator's, keeps every request.
  std::weak_ptr<RecordingConnection> kept;
  {
    Fixture f;
    kept = f.connection;
    REQUIRE(f.client.Query({Identifier::Email("someone@example.com")}));
    REQUIRE_FALSE(f.Sent().empty());
    CHECK(static_cast<bool>(f.Sent().front().may_resend));
  }
  CHECK(kept.expired());
}

TEST_CASE("25,000 queries are split into three requests and mapped back") {
  Fixture f;
  std::vector<Identifier> ids;
  for (int i = 0; i < 25000; ++i) {
    ids.push_back(
        Identifier::Email("user" + std::to_string(i) + "@example.com"));
  }
  auto result = f.client.Query(ids);
  REQUIRE(result);
  const auto requests = f.Sent();
  REQUIRE(requests.size() == 3);
  std::vector<std::size_t> sizes;
  for (const auto& r : requests) {
    sizes.push_back(wire::DecodeQueryRequest(r.body)->queries.size());
  }
  CHECK(sizes == std::vector<std::size_t>{10000, 10000, 5000});
  CHECK(result->queried == 25000);
  CHECK(result->request_ids.size() == 3);
  // Every identifier with an even first token byte matched, at its index.
  std::size_t expected = 0;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if ((*f.client.Tokenise(ids[i])).token[0] % 2 == 0) ++expected;
  }
  REQUIRE(result->matches.size() == expected);
  for (const auto& m : result->matches) {
    REQUIRE(m.index < ids.size());
    CHECK(m.identifier == ids[m.index]);
    CHECK(m.match.index == m.index);
    CHECK(f.client.Tokenise(ids[m.index])->token[0] % 2 == 0);
  }
}

TEST_CASE(
    "25,000 submits become three requests, each with its own idempotency key") {
  Fixture f;
  std::vector<Ban> bans;
  for (int i = 0; i < 25000; ++i) {
    bans.push_back(
        Ban{Identifier::Email("u" + std::to_string(i) + "@example.com"),
            Category::kSextortion, Severity::kCritical,
            std::chrono::sys_seconds{std::chrono::seconds{1700000000}},
            std::nullopt, false, std::nullopt});
  }
  auto outcome = f.client.Submit(bans);
  REQUIRE(outcome);
  CHECK(outcome->failed() == 0);
  CHECK(outcome->items.size() == 25000);
  CHECK(outcome->items[24999].status == wire::SubmitStatus::kCreated);
  const auto requests = f.Sent();
  REQUIRE(requests.size() == 3);
  std::set<std::string> keys;
  for (const auto& r : requests) {
    CHECK(r.idempotent);
    REQUIRE(r.headers.size() == 1);
    CHECK(r.headers[0].first == "Idempotency-Key");
    CHECK(wire::IsWellFormedIdempotencyKey(r.headers[0].second));
    keys.insert(r.headers[0].second);
  }
  CHECK(keys.size() == 3);
}

TEST_CASE(
    "per-item normalisation failures are item results, not call failures") {
  Fixture f;
  std::vector<Identifier> ids = {Identifier::Email("ok@example.com"),
                                 Identifier::Phone("12", "GB"),
                                 Identifier::Email("not an email"),
                                 Identifier::Handle("nosuchservice", "x"),
                                 Identifier::Email("OK@example.com")};
  auto result = f.client.Query(ids);
  REQUIRE(result);
  REQUIRE(result->failures.size() == 3);
  CHECK(result->failures[0].index == 1);
  CHECK(result->failures[0].error.message.rfind(
            "batch item 1: phone number not valid for region GB", 0) == 0);
  CHECK(result->failures[1].index == 2);
  CHECK(result->failures[2].index == 3);
  for (const auto& failure : result->failures) {
    CHECK(failure.error.index == failure.index);
    CHECK(failure.error.code == ErrorCode::kInvalidArgument);
  }
  // The two spellings of one address are sent once and both counted.
  const auto body = wire::DecodeQueryRequest(f.Sent().at(0).body);
  REQUIRE(body);
  CHECK(body->queries.size() == 1);
  CHECK(result->queried == 2);
}

TEST_CASE("submit reports duplicates and bad items per item") {
  Fixture f;
  const auto t = std::chrono::sys_seconds{std::chrono::seconds{1700000000}};
  std::vector<Ban> bans = {
      {Identifier::Email("a@example.com"),
       Category::kGrooming,
       Severity::kHigh,
       t,
       {},
       false,
       {}},
      {Identifier::Phone("12"),
       Category::kGrooming,
       Severity::kHigh,
       t,
       {},
       false,
       {}},
      {Identifier::Email("A@example.com"),
       Category::kGrooming,
       Severity::kHigh,
       t,
       {},
       false,
       {}},
      {Identifier::Email("b@example.com"),
       Category::kGrooming,
       Severity::kHigh,
       t,
       {},
       false,
       std::string(129, 'x')},
  };
  auto outcome = f.client.Submit(bans);
  REQUIRE(outcome);
  REQUIRE(outcome->items.size() == 4);
  CHECK(outcome->items[0].status == wire::SubmitStatus::kCreated);
  CHECK(outcome->items[1].status == wire::SubmitStatus::kError);
  CHECK(outcome->items[2].status == wire::SubmitStatus::kError);
  CHECK(outcome->items[2].error->message.find(
            "same identifier and category as batch item 0") !=
        std::string::npos);
  CHECK(outcome->items[3].status == wire::SubmitStatus::kError);
  CHECK(outcome->failed() == 3);
  CHECK(wire::DecodeSubmitSignalsRequest(f.Sent().at(0).body)->signals.size() ==
        1);
}

TEST_CASE(
    "submit sends one identifier under two categories and refuses only the "
    "same category twice") {
  Fixture f;
  const auto t = std::chrono::sys_seconds{std::chrono::seconds{1700000000}};
  auto ban = [&](const char* email, Category category) {
    return Ban{
        Identifier::Email(email), category, Severity::kHigh, t, {}, false, {}};
  };
  const std::vector<Ban> bans = {
      ban("dup@example.com", Category::kGrooming),
      ban("dup@example.com", Category::kSextortion),
      ban("DUP@example.com", Category::kGrooming),
  };
  auto outcome = f.client.Submit(bans);
  REQUIRE(outcome);
  REQUIRE(outcome->items.size() == 3);
  CHECK(outcome->items[0].status == wire::SubmitStatus::kCreated);
  CHECK(outcome->items[1].status == wire::SubmitStatus::kCreated);
  CHECK(outcome->items[2].status == wire::SubmitStatus::kError);
  REQUIRE(outcome->items[2].error);
  CHECK_THAT(outcome->items[2].error->message,
             Catch::Contains("same identifier and category as batch item 0"));
  // What was sent passes the hub's own duplicate check.
  const auto sent = wire::DecodeSubmitSignalsRequest(f.Sent().at(0).body);
  REQUIRE(sent);
  REQUIRE(sent->signals.size() == 2);
  CHECK(sent->signals[0].category == Category::kGrooming);
  CHECK(sent->signals[1].category == Category::kSextortion);
}

TEST_CASE(
    "items missing from the hub's submit and retract answers are errors, "
    "not successes") {
  // The fake answers every item but the second of each request.
  auto connection = std::make_shared<RecordingConnection>(
      [](const HttpRequest& r) -> Result<HttpReply> {
        auto reply = FakeAnswer(r);
        if (r.target == "/v1/signals") {
          auto response = wire::DecodeSubmitSignalsResponse(reply.body);
          REQUIRE(response);
          response->results.erase(response->results.begin() + 1);
          reply.body = wire::Encode(*response);
        } else if (r.target == "/v1/signals/retract") {
          auto response = wire::DecodeRetractResponse(reply.body);
          REQUIRE(response);
          response->results.erase(response->results.begin() + 1);
          reply.body = wire::Encode(*response);
        }
        return reply;
      });
  auto client = MakeClient(TestOptions(), connection);
  REQUIRE(client);
  const auto t = std::chrono::sys_seconds{std::chrono::seconds{1700000000}};
  std::vector<Ban> bans;
  std::vector<Retraction> retractions;
  for (int i = 0; i < 3; ++i) {
    const auto id = Identifier::Email("m" + std::to_string(i) + "@example.com");
    bans.push_back(
        Ban{id, Category::kGrooming, Severity::kHigh, t, {}, false, {}});
    retractions.push_back(Retraction::Of(id, RetractReason::kError));
  }

  auto submitted = client->Submit(bans);
  REQUIRE(submitted);
  REQUIRE(submitted->items.size() == 3);
  CHECK(submitted->items[0].status == wire::SubmitStatus::kCreated);
  CHECK(submitted->items[1].status == wire::SubmitStatus::kError);
  CHECK(submitted->items[1].signal_id.empty());
  REQUIRE(submitted->items[1].error);
  CHECK(submitted->items[1].error->index == 1u);
  CHECK_THAT(submitted->items[1].error->message,
             Catch::StartsWith("batch item 1: the hub's answer to request " +
                               RequestId() + " did not include this item"));
  CHECK_THAT(submitted->items[1].error->message,
             Catch::Contains("submit it again"));
  CHECK(submitted->items[2].status == wire::SubmitStatus::kCreated);
  CHECK(submitted->failed() == 1);

  auto retracted = client->Retract(retractions);
  REQUIRE(retracted);
  REQUIRE(retracted->items.size() == 3);
  CHECK(retracted->items[0].status == wire::RetractStatus::kNotFound);
  CHECK(retracted->items[1].status == wire::RetractStatus::kError);
  REQUIRE(retracted->items[1].error);
  CHECK_THAT(retracted->items[1].error->message,
             Catch::Contains("did not include this item"));
  CHECK(retracted->items[2].status == wire::RetractStatus::kNotFound);
  CHECK(retracted->failed() == 1);
}

TEST_CASE("retract and dispose are marked not idempotent") {
  Fixture f;
  REQUIRE(
      f.client.Retract({Retraction::ByRef("case-1", RetractReason::kError)}));
  (void)f.client.Dispose(MatchId(1), Outcome::kConfirmed);
  const auto requests = f.Sent();
  REQUIRE(requests.size() == 2);
  CHECK_FALSE(requests[0].idempotent);
  CHECK_FALSE(requests[1].idempotent);
  CHECK(requests[1].target == "/v1/matches/" + MatchId(1) + "/disposition");
}

std::string HeaderOf(const HttpRequest& request, std::string_view name) {
  for (const auto& [key, value] : request.headers) {
    if (key == name) return value;
  }
  return {};
}

TEST_CASE(
    "a query whose answer may have been lost is resent with the same "
    "Idempotency-Key, and each query request has a key of its own") {
  // Without a key, each resend of a query that matches records new
  // match_ids the caller never sees (match reuse is off by default); with
  // one, the hub answers the resend with the matches it recorded.
  struct Case {
    const char* name;
    Result<HttpReply> first;
    bool resent;
  } cases[] = {
      {"lost reply",
       MakeError(ErrorCode::kIo,
                 "reading the hub's reply failed: end of stream; the "
                 "request may or may not have been processed"),
       true},
      {"timeout", MakeError(ErrorCode::kIo, "the hub did not answer"), true},
      {"502", Reply(502, "<html>bad gateway</html>"), true},
      {"503",
       Reply(
           503,
           R"({"error":{"code":"unavailable","message":"the hub shut down before answering"}})"),
       true},
      {"504", Reply(504, ""), true},
      {"400",
       Reply(400, R"({"error":{"code":"invalid_argument","message":"bad"}})"),
       false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    int queries = 0;
    auto connection = std::make_shared<RecordingConnection>(
        [&](const HttpRequest& request) -> Result<HttpReply> {
          if (request.target == "/v1/query" && ++queries == 1) return c.first;
          return FakeAnswer(request);
        });
    auto client = MakeClient(TestOptions(), connection);
    REQUIRE(client);
    // Even first byte: the fake hub answers with a match.
    auto result = client->Query({Identifier::Email("a@example.com")});
    std::vector<HttpRequest> sent;
    for (const auto& r : connection->requests()) {
      if (r.target == "/v1/query") sent.push_back(r);
    }
    REQUIRE(sent.size() == (c.resent ? 2u : 1u));
    CHECK(result.has_value() == c.resent);
    const std::string key = HeaderOf(sent[0], "Idempotency-Key");
    CHECK(key.size() > 8);
    for (const auto& r : sent) {
      CHECK(r.idempotent);
      CHECK(HeaderOf(r, "Idempotency-Key") == key);
    }
  }
  // Two queries are two requests with two keys.
  auto connection = std::make_shared<RecordingConnection>(
      [](const HttpRequest& request) { return FakeAnswer(request); });
  auto client = MakeClient(TestOptions(), connection);
  REQUIRE(client);
  REQUIRE(client->Query({Identifier::Email("a@example.com")}));
  REQUIRE(client->Query({Identifier::Email("a@example.com")}));
  std::vector<std::string> keys;
  for (const auto& r : connection->requests()) {
    if (r.target == "/v1/query") keys.push_back(HeaderOf(r, "Idempotency-Key"));
  }
  REQUIRE(keys.size() == 2);
  CHECK(keys[0] != keys[1]);
}

std::vector<std::string> Targets(const RecordingConnection& connection) {
  std::vector<std::string> out;
  for (const auto& r : connection.requests()) out.push_back(r.target);
  return out;
}

std::size_t CountOf(const RecordingConnection& connection,
                    std::string_view target) {
  const auto targets = Targets(connection);
  return static_cast<std::size_t>(
      std::count(targets.begin(), targets.end(), target));
}

// TestOptions without receipt checks: an answer without a receipt makes
// a client ask GET /v1/me once (does the hub sign?), after the answer.
// Off, every GET /v1/me a test sees is one a query's resend asked.
ClientOptions UnsignedOptions() {
  ClientOptions options = TestOptions();
  options.verify_receipts = false;
  return options;
}

Result<HttpReply> LostReply() {
  return MakeError(ErrorCode::kIo,
                   "reading the hub's reply failed: end of stream; the "
                   "request may or may not have been processed");
}

TEST_CASE(
    "a query's first attempt asks the hub nothing more: only a resend first "
    "learns from GET /v1/me that the hub honours the Idempotency-Key") {
  int queries = 0;
  auto connection = std::make_shared<RecordingConnection>(
      [&](const HttpRequest& request) -> Result<HttpReply> {
        if (request.target == "/v1/query" && ++queries == 1) {
          return LostReply();
        }
        return FakeAnswer(request);
      });
  auto client = MakeClient(TestOptions(), connection);
  REQUIRE(client);
  auto result = client->Query({Identifier::Email("a@example.com")});
  REQUIRE(result);
  CHECK(result->queried == 1);
  // The lost reply, then the hub's features, then the resend, with the
  // first attempt's key.
  REQUIRE(Targets(*connection) ==
          std::vector<std::string>{"/v1/query", "/v1/me", "/v1/query"});
  const auto sent = connection->requests();
  CHECK(HeaderOf(sent[0], "Idempotency-Key") ==
        HeaderOf(sent[2], "Idempotency-Key"));
  // A later query that succeeds at once is one request.
  REQUIRE(client->Query({Identifier::Email("b@example.com")}));
  CHECK(Targets(*connection).size() == 4);

  // A fresh client's first query is the query alone.
  auto fresh = std::make_shared<RecordingConnection>(
      [](const HttpRequest& request) { return FakeAnswer(request); });
  auto other = MakeClient(UnsignedOptions(), fresh);
  REQUIRE(other);
  REQUIRE(other->Query({Identifier::Email("a@example.com")}));
  CHECK(Targets(*fresh) == std::vector<std::string>{"/v1/query"});
}

TEST_CASE(
    "against a hub that does not announce query-idempotency, a query that "
    "may have reached it is not resent, and the error says why") {
  struct Case {
    const char* name;
    Result<HttpReply> first;
    ErrorCode code;
    const char* says;  // the attempt's own error
  } cases[] = {
      {"lost reply", LostReply(), ErrorCode::kIo, "may or may not have been"},
      {"timeout", MakeError(ErrorCode::kIo, "the hub did not answer"),
       ErrorCode::kIo, "the hub did not answer"},
      {"502", Reply(502, "<html>bad gateway</html>"), ErrorCode::kIo,
       "HTTP 502"},
      {"503",
       Reply(
           503,
           R"({"error":{"code":"unavailable","message":"the hub shut down before answering"}})"),
       ErrorCode::kUnavailable, "the hub shut down before answering"},
      {"504", Reply(504, ""), ErrorCode::kIo, "HTTP 504"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    int queries = 0;
    auto connection = std::make_shared<RecordingConnection>(
        [&](const HttpRequest& request) -> Result<HttpReply> {
          if (request.target == "/v1/query" && ++queries == 1) return c.first;
          return FakeAnswer(request, wire::kMaxBatch, 4194304, false);
        });
    auto client = MakeClient(TestOptions(), connection);
    REQUIRE(client);
    auto result = client->Query({Identifier::Email("a@example.com")});
    REQUIRE_FALSE(result);
    CHECK(Targets(*connection) ==
          std::vector<std::string>{"/v1/query", "/v1/me"});
    CHECK(result.error().code == c.code);
    CHECK_THAT(result.error().message, Catch::Contains(c.says));
    CHECK_THAT(result.error().message,
               Catch::Contains("not resent: the hub does not announce the "
                               "feature \"query-idempotency\" in GET /v1/me"));
    CHECK_THAT(result.error().message,
               Catch::Contains("query again if you need the answer"));
  }
  // What cannot have reached the hub is sent again without asking.
  int calls = 0;
  auto connection = std::make_shared<RecordingConnection>(
      [&](const HttpRequest& request) -> Result<HttpReply> {
        if (++calls == 1) return MakeError(ErrorCode::kUnavailable, "refused");
        return FakeAnswer(request, wire::kMaxBatch, 4194304, false);
      });
  auto client = MakeClient(UnsignedOptions(), connection);
  REQUIRE(client);
  REQUIRE(client->Query({Identifier::Email("a@example.com")}));
  CHECK(Targets(*connection) ==
        std::vector<std::string>{"/v1/query", "/v1/query"});
}

TEST_CASE(
    "whether the hub honours query keys is asked once per Client, shared "
    "by its copies across threads, or taken from the caller's Me()") {
  for (const bool query_keys : {true, false}) {
    CAPTURE(query_keys);
    // Each query's first attempt loses its reply.
    std::mutex mutex;
    std::set<std::string> seen;
    auto connection = std::make_shared<RecordingConnection>(
        [&](const HttpRequest& request) -> Result<HttpReply> {
          if (request.target == "/v1/query") {
            std::lock_guard lock(mutex);
            if (seen.insert(HeaderOf(request, "Idempotency-Key")).second) {
              return LostReply();
            }
          }
          return FakeAnswer(request, wire::kMaxBatch, 4194304, query_keys);
        });
    auto client = MakeClient(TestOptions(), connection);
    REQUIRE(client);
    constexpr int kThreads = 4;
    constexpr int kQueries = 5;
    std::atomic<int> answered{0};
    std::atomic<int> failed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([copy = *client, &answered, &failed] {
        for (int q = 0; q < kQueries; ++q) {
          auto result = copy.Query({Identifier::Email("a@example.com")});
          if (result) {
            ++answered;
          } else if (result.error().code == ErrorCode::kIo) {
            ++failed;
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    CHECK(CountOf(*connection, "/v1/me") == 1);
    if (query_keys) {
      CHECK(answered == kThreads * kQueries);
      CHECK(CountOf(*connection, "/v1/query") == 2 * kThreads * kQueries);
    } else {
      CHECK(failed == kThreads * kQueries);
      CHECK(CountOf(*connection, "/v1/query") == kThreads * kQueries);
    }

    // A client whose caller asked Me() asks nothing more.
    seen.clear();
    auto asked = std::make_shared<RecordingConnection>(
        [&](const HttpRequest& request) -> Result<HttpReply> {
          if (request.target == "/v1/query" &&
              seen.insert(HeaderOf(request, "Idempotency-Key")).second) {
            return LostReply();
          }
          return FakeAnswer(request, wire::kMaxBatch, 4194304, query_keys);
        });
    auto other = MakeClient(TestOptions(), asked);
    REQUIRE(other);
    auto me = other->Me();
    REQUIRE(me);
    CHECK(me->Supports(wire::kFeatureQueryIdempotency) == query_keys);
    auto result = other->Query({Identifier::Email("a@example.com")});
    CHECK(result.has_value() == query_keys);
    CHECK(Targets(*asked) ==
          (query_keys
               ? std::vector<std::string>{"/v1/me", "/v1/query", "/v1/query"}
               : std::vector<std::string>{"/v1/me", "/v1/query"}));
  }
}

TEST_CASE(
    "a query is not resent when GET /v1/me fails, and the hub is asked "
    "again next time") {
  int me_calls = 0;
  std::set<std::string> seen;
  auto connection = std::make_shared<
      RecordingConnection>([&](const HttpRequest& request)
                               -> Result<HttpReply> {
    if (request.target == "/v1/me" && ++me_calls == 1) {
      return Reply(
          500,
          R"({"error":{"code":"internal","message":"database is locked"}})");
    }
    if (request.target == "/v1/query" &&
        seen.insert(HeaderOf(request, "Idempotency-Key")).second) {
      return LostReply();
    }
    return FakeAnswer(request);
  });
  auto client = MakeClient(TestOptions(), connection);
  REQUIRE(client);
  auto result = client->Query({Identifier::Email("a@example.com")});
  REQUIRE_FALSE(result);
  CHECK(result.error().code == ErrorCode::kIo);
  CHECK_THAT(result.error().message,
             Catch::Contains("not resent: whether the hub honours a query's "
                             "Idempotency-Key could not be learned (GET "
                             "/v1/me failed: database is locked"));
  CHECK(Targets(*connection) ==
        std::vector<std::string>{"/v1/query", "/v1/me"});
  // The failure is not kept: the next lost reply asks again, and resends.
  REQUIRE(client->Query({Identifier::Email("a@example.com")}));
  CHECK(Targets(*connection) == std::vector<std::string>{"/v1/query", "/v1/me",
                                                         "/v1/query", "/v1/me",
                                                         "/v1/query"});
}

TEST_CASE("a query that did not reach the hub is sent again") {
  int calls = 0;
  auto connection = std::make_shared<RecordingConnection>(
      [&](const HttpRequest&) -> Result<HttpReply> {
        if (++calls == 1) {
          return MakeError(ErrorCode::kUnavailable, "cannot connect");
        }
        return Reply(429,
                     R"({"error":{"code":"rate_limited","message":"slow"}})",
                     {{"Retry-After", "0"}});
      });
  auto options = TestOptions();
  options.retry.max_attempts = 3;
  auto client = MakeClient(options, connection);
  REQUIRE(client);
  auto result = client->Query({Identifier::Email("a@example.com")});
  REQUIRE_FALSE(result);
  // connect failure, then 429 twice: none of them reached the hub's store.
  CHECK(connection->requests().size() == 3);
  CHECK(result.error().code == ErrorCode::kRateLimited);
  CHECK_THAT(result.error().message, Catch::Contains("retried, 3 attempts"));
}

TEST_CASE(
    "a 429 asking for longer than max_retry_after fails at once and names "
    "the hub's Retry-After") {
  auto connection = std::make_shared<
      RecordingConnection>([&](const HttpRequest&) -> Result<HttpReply> {
    return Reply(
        429,
        R"({"error":{"code":"rate_limited","message":"the daily OPRF quota is used up"}})",
        {{"Retry-After", "5193"}});
  });
  auto client = MakeClient(TestOptions(), connection);
  REQUIRE(client);
  const auto start = std::chrono::steady_clock::now();
  auto me = client->Me();
  REQUIRE_FALSE(me);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
  CHECK(connection->requests().size() == 1);
  CHECK(me.error().code == ErrorCode::kRateLimited);
  CHECK_THAT(me.error().message,
             Catch::Contains("the daily OPRF quota is used up; Retry-After: "
                             "5193 s, longer than this client waits "
                             "(RetryPolicy::max_retry_after, 30 s)"));
  CHECK_THAT(me.error().message, Catch::Contains("call again after"));
}

TEST_CASE("dispose rejects malformed match ids without a request") {
  Fixture f;
  for (const char* bad :
       {"", "m_", "m_XYZ", "x_00000000000000000000000000000001",
        "m_0000000000000000000000000000000/../x"}) {
    CAPTURE(bad);
    auto r = f.client.Dispose(bad, Outcome::kConfirmed);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::kInvalidArgument);
  }
  CHECK(f.Sent().empty());
}

TEST_CASE("hub errors become actionable errors") {
  struct Case {
    int status;
    std::string body;
    ErrorCode code;
    std::string contains;
  } cases[] = {
      {403,
       R"({"error":{"code":"permission_denied","message":"the client certificate (SHA-256 fingerprint abcd) is not registered to any member of this hub; ask the hub operator to register it"}})",
       ErrorCode::kPermissionDenied,
       "the hub rejected this client certificate (fingerprint unknown): is it "
       "registered with the hub operator?"},
      {429, R"({"error":{"code":"rate_limited","message":"slow down"}})",
       ErrorCode::kRateLimited, "slow down; retried"},
      // From a proxy: the request may have been carried out (as for a
      // lost reply), whatever the body says.
      {502, "<html>bad gateway</html>", ErrorCode::kIo,
       "without a Cairn error body came instead of the hub's answer"},
      {504, R"({"error":{"code":"unavailable","message":"upstream timeout"}})",
       ErrorCode::kIo,
       "saying 'upstream timeout' came instead of the hub's answer, from a "
       "proxy in front of the hub"},
      {500, "", ErrorCode::kIo, "the request may or may not have been"},
      {503, "Service Unavailable", ErrorCode::kIo,
       "without a Cairn error body"},
      // The hub's own 5xx: its code and words.
      {503,
       R"({"error":{"code":"unavailable","message":"the store could not commit this request, nothing was changed"}})",
       ErrorCode::kUnavailable, "nothing was changed"},
      {500, R"({"error":{"code":"internal","message":"a bug"}})",
       ErrorCode::kInternal, "a bug"},
      {404, "<html>not found</html>", ErrorCode::kInternal,
       "is the URL a Cairn hub"},
      {400,
       R"({"error":{"code":"invalid_argument","message":"bad","field":"queries[0].kind"}})",
       ErrorCode::kInvalidArgument, "bad [request r_1]"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.status, c.body);
    auto connection = std::make_shared<RecordingConnection>(
        [&](const HttpRequest&) -> Result<HttpReply> {
          return Reply(c.status, c.body, {{"x-request-id", "r_1"}});
        });
    auto client = MakeClient(TestOptions(), connection);
    REQUIRE(client);
    auto me = client->Me();
    REQUIRE_FALSE(me);
    CHECK(me.error().code == c.code);
    CHECK_THAT(me.error().message, Catch::Contains(c.contains));
  }
}

TEST_CASE(
    "the feed range pages until the hub has no more and reports its cursor") {
  std::atomic<int> pages{0};
  auto connection = std::make_shared<RecordingConnection>(
      [&](const HttpRequest& r) -> Result<HttpReply> {
        const int page = pages++;
        wire::FeedResponse response;
        response.more = page < 2;
        response.cursor = std::to_string((page + 1) * 2);
        for (int i = 0; i < 2 && page < 3; ++i) {
          wire::FeedEvent e;
          e.seq = static_cast<std::uint64_t>(page * 2 + i + 1);
          e.signal_id = "s_" + std::string(32, 'c');
          e.key.kind = "email";
          response.events.push_back(e);
        }
        (void)r;
        return Reply(200, wire::Encode(response));
      });
  auto client = MakeClient(TestOptions(), connection);
  REQUIRE(client);
  auto feed = client->Feed("", 2);
  std::vector<std::uint64_t> seqs;
  for (auto& event : feed) {
    REQUIRE(event);
    seqs.push_back(event->seq);
    // Saved now, the cursor must not skip the event in hand: a caller that
    // fails to apply it and stops would never see it again.
    const std::string held = feed.cursor();
    CAPTURE(event->seq, held);
    CHECK((held.empty() ? 0 : std::stoull(held)) < event->seq);
  }
  CHECK(seqs == std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6});
  CHECK(feed.cursor() == "6");
  const auto requests = connection->requests();
  REQUIRE(requests.size() == 3);
  CHECK(requests[0].target == "/v1/feed?limit=2");
  CHECK(requests[1].target == "/v1/feed?after=2&limit=2");
  CHECK(requests[2].target == "/v1/feed?after=4&limit=2");

  // Resuming from the saved cursor asks for what follows it.
  auto resumed = client->Feed(feed.cursor(), 2);
  for (auto& event : resumed) (void)event;
  CHECK(connection->requests().back().target == "/v1/feed?after=6&limit=2");
}

TEST_CASE("a feed error ends the range as its last element") {
  auto connection = std::make_shared<RecordingConnection>(
      [](const HttpRequest&) -> Result<HttpReply> {
        return MakeError(ErrorCode::kUnavailable, "cannot connect");
      });
  auto client = MakeClient(TestOptions(), connection);
  REQUIRE(client);
  int n = 0;
  for (auto& event : client->Feed()) {
    ++n;
    REQUIRE_FALSE(event);
    CHECK(event.error().code == ErrorCode::kUnavailable);
  }
  CHECK(n == 1);
}

TEST_CASE("MakeClient needs a consortium key") {
  ClientOptions options;
  auto connection = std::make_shared<RecordingConnection>(
      [](const HttpRequest&) -> Result<HttpReply> { return Reply(200, "{}"); });
  auto client = MakeClient(options, connection);
  REQUIRE_FALSE(client);
  CHECK_THAT(client.error().message, Catch::Contains("cairn keygen"));
}

TEST_CASE(
    "batches are split at the hub's limit from /v1/me when it is below "
    "max_batch, and /v1/me is asked once") {
  auto connection = std::make_shared<RecordingConnection>(
      [](const HttpRequest& r) -> Result<HttpReply> {
        return FakeAnswer(r, 100);
      });
  auto client = MakeClient(TestOptions(), connection);
  REQUIRE(client);
  std::vector<Identifier> ids;
  std::vector<Ban> bans;
  for (int i = 0; i < 250; ++i) {
    ids.push_back(Identifier::Email("u" + std::to_string(i) + "@example.com"));
    bans.push_back(
        Ban{ids.back(), Category::kGrooming, Severity::kHigh,
            std::chrono::sys_seconds{std::chrono::seconds{1700000000}},
            std::nullopt, false, std::nullopt});
  }
  auto submitted = client->Submit(bans);
  REQUIRE(submitted);
  CHECK(submitted->failed() == 0);
  auto queried = client->Query(ids);
  REQUIRE(queried);
  CHECK(queried->queried == 250);
  std::vector<std::string> targets;
  std::vector<std::size_t> sizes;
  for (const auto& r : connection->requests()) {
    targets.push_back(r.target);
    if (r.target == "/v1/signals") {
      sizes.push_back(wire::DecodeSubmitSignalsRequest(r.body)->signals.size());
    } else if (r.target == "/v1/query") {
      sizes.push_back(wire::DecodeQueryRequest(r.body)->queries.size());
    }
  }
  CHECK(targets == std::vector<std::string>{
                       "/v1/me", "/v1/signals", "/v1/signals", "/v1/signals",
                       "/v1/query", "/v1/query", "/v1/query"});
  CHECK(sizes == std::vector<std::size_t>{100, 100, 50, 100, 100, 50});

  // ClientOptions::max_batch below the hub's limit wins.
  auto options = TestOptions();
  options.max_batch = 40;
  auto small = MakeClient(options, connection);
  REQUIRE(small);
  const auto before = connection->requests().size();
  REQUIRE(small->Query(ids));
  CHECK(connection->requests().size() - before == 1 + 7);  // /v1/me + 7
}

TEST_CASE(
    "requests are split further to keep each body within the hub's "
    "max_body_bytes") {
  auto connection = std::make_shared<RecordingConnection>(
      [](const HttpRequest& r) -> Result<HttpReply> {
        // The hub's answer to an oversized body.
        if (r.body.size() > 4194304) {
          return Reply(413, R"({"error":{"code":"payload_too_large",)"
                            R"("message":"body too large"}})");
        }
        return FakeAnswer(r);
      });
  auto client = MakeClient(TestOptions(), connection);
  REQUIRE(client);
  // 10,000 bans whose refs are all characters JSON escapes: about 4.5 MB,
  // over the default 4 MiB although within the item count limit.
  std::vector<Ban> bans;
  std::vector<Retraction> retractions;
  for (int i = 0; i < 10000; ++i) {
    std::string ref = std::to_string(i);
    ref.resize(wire::kMaxRefBytes, i % 2 == 0 ? '"' : '\\');
    bans.push_back(
        Ban{Identifier::Email("big" + std::to_string(i) + "@example.com"),
            Category::kGrooming, Severity::kHigh,
            std::chrono::sys_seconds{std::chrono::seconds{1700000000}},
            std::nullopt, false, ref});
    retractions.push_back(Retraction::ByRef(ref, RetractReason::kError));
  }
  auto submitted = client->Submit(bans);
  REQUIRE(submitted);
  CHECK(submitted->failed() == 0);
  std::size_t sent = 0;
  std::size_t requests = 0;
  for (const auto& r : connection->requests()) {
    if (r.target != "/v1/signals") continue;
    ++requests;
    CHECK(r.body.size() <= 4194304);
    auto body = wire::DecodeSubmitSignalsRequest(r.body);
    REQUIRE(body);
    // Each request carries the next items, in order.
    REQUIRE_FALSE(body->signals.empty());
    CHECK(body->signals.front().ref == bans[sent].ref);
    sent += body->signals.size();
  }
  CHECK(requests == 2);
  CHECK(sent == bans.size());
  CHECK(submitted->request_ids.size() == 2);

  // Retractions by such refs are held to the same limit (the refs are
  // unique: their leading digits differ).
  auto retracted = client->Retract(retractions);
  REQUIRE(retracted);
  CHECK(retracted->failed() == 0);
  for (const auto& r : connection->requests()) {
    if (r.target == "/v1/signals/retract") CHECK(r.body.size() <= 4194304);
  }

  // A lower announced limit splits further, still with every item sent.
  auto small_hub = std::make_shared<RecordingConnection>(
      [](const HttpRequest& r) -> Result<HttpReply> {
        return FakeAnswer(r, wire::kMaxBatch, 100000);
      });
  auto small = MakeClient(TestOptions(), small_hub);
  REQUIRE(small);
  auto split = small->Submit(bans);
  REQUIRE(split);
  CHECK(split->failed() == 0);
  std::size_t small_sent = 0;
  std::size_t small_requests = 0;
  for (const auto& r : small_hub->requests()) {
    if (r.target != "/v1/signals") continue;
    ++small_requests;
    CHECK(r.body.size() <= 100000);
    small_sent += wire::DecodeSubmitSignalsRequest(r.body)->signals.size();
  }
  CHECK(small_sent == bans.size());
  CHECK(small_requests > 40);
  CHECK(split->request_ids.size() == small_requests);
}

TEST_CASE(
    "a hub that cannot say its batch limit fails the call, sending "
    "nothing") {
  auto connection = std::make_shared<RecordingConnection>(
      [](const HttpRequest& r) -> Result<HttpReply> {
        if (r.target == "/v1/me") {
          return MakeError(ErrorCode::kUnavailable, "cannot connect");
        }
        return FakeAnswer(r);
      });
  auto client = MakeClient(TestOptions(), connection);
  REQUIRE(client);
  auto result = client->Query(
      {Identifier::Email("a@example.com"), Identifier::Email("b@example.com")});
  REQUIRE_FALSE(result);
  CHECK(result.error().code == ErrorCode::kUnavailable);
  CHECK_THAT(result.error().message, Catch::Contains("batch limit"));
  for (const auto& r : connection->requests()) CHECK(r.target == "/v1/me");
  // One identifier always fits: no /v1/me needed for the batch limit (with
  // receipts unchecked; checking them needs /v1/me, see the next test).
  auto options = TestOptions();
  options.verify_receipts = false;
  auto unchecked = MakeClient(options, connection);
  REQUIRE(unchecked);
  const auto before = connection->requests().size();
  REQUIRE(unchecked->Query({Identifier::Email("a@example.com")}));
  CHECK(connection->requests().size() - before == 1);
  CHECK(connection->requests().back().target == "/v1/query");
  // With receipts checked, an answer without one cannot be accepted while
  // the hub's keys are unknown.
  auto checked = client->Query({Identifier::Email("a@example.com")});
  REQUIRE_FALSE(checked);
  CHECK(checked.error().code == ErrorCode::kUnavailable);
  CHECK_THAT(checked.error().message, Catch::Contains("carries no receipt"));
}

TEST_CASE(
    "an answer without a receipt fails a one-item call when the hub "
    "publishes signing keys, even as the client's first call") {
  // A hub whose /v1/me publishes a signing key but whose answers carry no
  // receipt (FakeAnswer never adds one).
  std::atomic<bool> publishes{true};
  auto connection = std::make_shared<RecordingConnection>(
      [&publishes](const HttpRequest& r) -> Result<HttpReply> {
        if (r.target == "/v1/me") {
          auto me = wire::DecodeMeResponse(FakeAnswer(r).body);
          REQUIRE(me);
          if (publishes) {
            wire::HubKey key;
            key.key_id = "hk_0123456789abcdef";
            key.public_key = std::string(43, 'A') + "=";
            key.valid_from =
                std::chrono::sys_seconds{std::chrono::seconds{1700000000}};
            me->hub_keys.push_back(key);
          }
          return Reply(200, wire::Encode(*me));
        }
        return FakeAnswer(r);
      });
  const auto id = Identifier::Email("a@example.com");
  const Ban ban{id,
                Category::kGrooming,
                Severity::kHigh,
                std::chrono::sys_seconds{std::chrono::seconds{1700000000}},
                std::nullopt,
                false,
                std::nullopt};
  auto expect_refused = [](const auto& result) {
    REQUIRE_FALSE(result);
    CHECK(result.error().code == ErrorCode::kCrypto);
    CHECK_THAT(result.error().message,
               Catch::Contains("carries no receipt") &&
                   Catch::Contains("verify_receipts = false"));
  };
  // Each call is the first of a fresh client.
  expect_refused(MakeClient(TestOptions(), connection)->Query({id}));
  expect_refused(MakeClient(TestOptions(), connection)->Submit({ban}));
  expect_refused(MakeClient(TestOptions(), connection)
                     ->Retract({Retraction::Of(id, RetractReason::kError)}));
  // The client asked the hub for its keys before deciding.
  std::size_t me = 0;
  for (const auto& r : connection->requests()) me += r.target == "/v1/me";
  CHECK(me == 3);
  // Two items: the same answer.
  expect_refused(MakeClient(TestOptions(), connection)
                     ->Query({id, Identifier::Email("b@example.com")}));

  // Without verification, or from a hub that publishes no keys, an answer
  // without a receipt is accepted.
  auto options = TestOptions();
  options.verify_receipts = false;
  CHECK(MakeClient(options, connection)->Query({id}));
  publishes = false;
  CHECK(MakeClient(TestOptions(), connection)->Query({id}));
}

TEST_CASE(
    "errors of a split submit name the caller's item, not the position in "
    "the request") {
  // max_batch 10: 30 bans (less item 0, refused locally) go in three
  // requests. The hub refuses the ban whose ref is "bad" per item, and a
  // whole request when a ban's ref is "reject".
  auto hub = [](const std::string& marker) {
    return std::make_shared<RecordingConnection>([marker](const HttpRequest& r)
                                                     -> Result<HttpReply> {
      if (r.target != "/v1/signals") return FakeAnswer(r, 10);
      auto body = wire::DecodeSubmitSignalsRequest(r.body);
      REQUIRE(body);
      wire::SubmitSignalsResponse response;
      response.request_id = RequestId();
      for (std::size_t i = 0; i < body->signals.size(); ++i) {
        const std::string field = "signals[" + std::to_string(i) + "].ref";
        if (body->signals[i].ref == "reject") {
          return Reply(400, R"({"error":{"code":"invalid_argument",)"
                            R"("message":"refused","field":")" +
                                field + R"("}})");
        }
        wire::SubmitResult result{
            i, wire::SubmitStatus::kCreated, "s_" + std::string(32, 'b'), {}};
        if (body->signals[i].ref == marker) {
          result.status = wire::SubmitStatus::kError;
          result.signal_id.clear();
          result.error =
              wire::ItemError{ErrorCode::kInvalidArgument, "refused", field};
        }
        response.results.push_back(result);
      }
      return Reply(200, wire::Encode(response));
    });
  };
  std::vector<Ban> bans;
  for (int i = 0; i < 30; ++i) {
    bans.push_back(Ban{
        Identifier::Email(i == 0 ? "not an email"
                                 : "u" + std::to_string(i) + "@example.com"),
        Category::kGrooming, Severity::kHigh,
        std::chrono::sys_seconds{std::chrono::seconds{1700000000}},
        std::nullopt, false, "ref-" + std::to_string(i)});
  }
  bans[25].ref = "bad";
  auto per_item = MakeClient(TestOptions(), hub("bad"));
  REQUIRE(per_item);
  auto submitted = per_item->Submit(bans);
  REQUIRE(submitted);
  CHECK(submitted->request_ids.size() == 3);
  CHECK(submitted->failed() == 2);
  const auto& item = submitted->items[25];
  CHECK(item.status == wire::SubmitStatus::kError);
  REQUIRE(item.error);
  CHECK(item.error->index == 25);
  CHECK(item.error->field == "signals[25].ref");

  bans[25].ref = "reject";
  auto whole = MakeClient(TestOptions(), hub("bad"));
  REQUIRE(whole);
  auto refused = whole->Submit(bans);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().field == "signals[25].ref");
  CHECK(refused.error().index == 25);
  CHECK_THAT(refused.error().message, Catch::Contains("request 3 of 3"));
}

TEST_CASE(
    "refs and notes the hub would refuse are caught before sending: per item "
    "for refs, as the call's error for a note") {
  Fixture f;
  const auto t = std::chrono::sys_seconds{std::chrono::seconds{1700000000}};
  auto ban = [&](int i, std::string ref) {
    return Ban{Identifier::Email("r" + std::to_string(i) + "@example.com"),
               Category::kGrooming,
               Severity::kHigh,
               t,
               std::nullopt,
               false,
               std::move(ref)};
  };
  const std::vector<std::string> bad_refs = {
      std::string("case\x01"), "tab\there", "line\nbreak",
      "c1 \xc2\x85",           "del \x7f",  "not utf-8 \xff",
      std::string(129, 'x'),   ""};
  std::vector<Ban> bans = {ban(0, "good-ref")};
  std::vector<Retraction> retractions = {
      Retraction::ByRef("good-ref", RetractReason::kError)};
  for (std::size_t i = 0; i < bad_refs.size(); ++i) {
    bans.push_back(ban(static_cast<int>(i) + 1, bad_refs[i]));
    retractions.push_back(
        Retraction::ByRef(bad_refs[i], RetractReason::kError));
  }
  auto submitted = f.client.Submit(bans);
  REQUIRE(submitted);
  CHECK(submitted->items[0].status == wire::SubmitStatus::kCreated);
  auto retracted = f.client.Retract(retractions);
  REQUIRE(retracted);
  for (std::size_t i = 1; i < bans.size(); ++i) {
    CAPTURE(i);
    CHECK(submitted->items[i].status == wire::SubmitStatus::kError);
    REQUIRE(submitted->items[i].error);
    CHECK(submitted->items[i].error->code == ErrorCode::kInvalidArgument);
    CHECK(submitted->items[i].error->field == "ref");
    CHECK(retracted->items[i].status == wire::RetractStatus::kError);
    REQUIRE(retracted->items[i].error);
    CHECK(retracted->items[i].error->field == "ref");
  }
  CHECK_THAT(submitted->items[1].error->message,
             Catch::Contains("ref contains a control character; remove it"));
  CHECK_THAT(submitted->items[6].error->message, Catch::Contains("UTF-8"));
  // Only the good item went to the hub, each time.
  const auto sent = f.Sent();
  REQUIRE(sent.size() == 2);
  CHECK(wire::DecodeSubmitSignalsRequest(sent[0].body)->signals.size() == 1);
  CHECK(wire::DecodeRetractRequest(sent[1].body)->retractions.size() == 1);

  // A note: newlines and tabs are allowed, other control characters not.
  const std::size_t before = f.connection->requests().size();
  auto disposed =
      f.client.Dispose(MatchId(1), Outcome::kActioned, std::string("a\x07"));
  REQUIRE_FALSE(disposed);
  CHECK(disposed.error().code == ErrorCode::kInvalidArgument);
  CHECK(disposed.error().field == "note");
  CHECK_THAT(disposed.error().message,
             Catch::Contains("note contains a control character"));
  CHECK(f.connection->requests().size() == before);
  (void)f.client.Dispose(MatchId(1), Outcome::kActioned,
                         std::string("line one\nline\ttwo"));
  CHECK(f.connection->requests().size() == before + 1);
}

}  // namespace
}  // namespace cairn
