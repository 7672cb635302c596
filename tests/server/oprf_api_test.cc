// POST /v1/oprf/evaluate and the /v1/me "oprf" block, through the router
// with a real store; the hub's OPRF key files; the per-member daily quota.
#include <sqlite3.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "api_test_util.h"
#include "cairn/encoding.h"
#include "cairn/oprf.h"
#include "cairn/wire.h"
#include "server/src/oprf/oprf_evaluator.h"
#include "server/src/oprf/oprf_keyring.h"
#include "support/process.h"

namespace cairn::server::apitest {
namespace {

namespace fs = std::filesystem;

std::shared_ptr<const OprfKeyring> MustOpenKeys(const std::string& dir) {
  auto keys = OprfKeyring::Open(dir, /*create_if_empty=*/true);
  REQUIRE(keys);
  return *keys;
}

std::shared_ptr<OprfEvaluator> MakeEvaluator(
    std::shared_ptr<const OprfKeyring> keys, std::uint64_t quota = 1'000'000) {
  OprfEvaluatorOptions options;
  options.elements_per_member_per_day = quota;
  options.threads = 1;
  return std::make_shared<OprfEvaluator>(std::move(keys), options);
}

std::string ElementsBody(std::uint32_t epoch,
                         const std::vector<std::string>& base64) {
  std::string body = "{\"epoch\":" + std::to_string(epoch) + ",\"elements\":[";
  for (std::size_t i = 0; i < base64.size(); ++i) {
    if (i) body += ",";
    body += "\"" + base64[i] + "\"";
  }
  return body + "]}";
}

struct Blinded {
  std::vector<Token> inputs;
  std::vector<oprf::Scalar> blinds;
  std::vector<oprf::Element> elements;
  std::vector<std::string> base64;
};

Blinded BlindInputs(std::size_t n, std::uint8_t seed = 1) {
  Blinded b;
  for (std::size_t i = 0; i < n; ++i) {
    Token x{};
    x[0] = seed;
    x[1] = static_cast<std::uint8_t>(i);
    x[2] = static_cast<std::uint8_t>(i >> 8);
    auto r = oprf::Blind(x, oprf::Mode::kVoprf);
    REQUIRE(r);
    b.inputs.push_back(x);
    b.blinds.push_back(r->blind);
    b.elements.push_back(r->blinded_element);
    b.base64.push_back(Base64Encode(r->blinded_element));
  }
  return b;
}

// Rows of audit_log with `action` (read-only connection).
std::vector<std::string> AuditDetails(const std::string& db_path,
                                      const std::string& action) {
  std::vector<std::string> out;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) ==
      SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db,
                           "SELECT details FROM audit_log WHERE action = ?1 "
                           "ORDER BY seq",
                           -1, &stmt, nullptr) == SQLITE_OK) {
      sqlite3_bind_text(stmt, 1, action.c_str(), -1, SQLITE_TRANSIENT);
      while (sqlite3_step(stmt) == SQLITE_ROW) {
        out.emplace_back(
            reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
      }
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return out;
}

// (actor, details) of the audit_log rows with `action`, in order
// (read-only connection).
std::vector<std::pair<std::string, std::string>> AuditActorsAndDetails(
    const std::string& db_path, const std::string& action) {
  std::vector<std::pair<std::string, std::string>> out;
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY,
                          nullptr) == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db,
                             "SELECT actor, details FROM audit_log WHERE "
                             "action = ?1 ORDER BY seq",
                             -1, &stmt, nullptr) == SQLITE_OK);
  sqlite3_bind_text(stmt, 1, action.c_str(), -1, SQLITE_TRANSIENT);
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    out.emplace_back(
        reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)),
        reinterpret_cast<const char*>(sqlite3_column_text(stmt, 1)));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

// The handler answers before the audit entry commits: wait (bounded).
std::vector<std::string> AwaitAudit(const std::string& db_path,
                                    std::size_t count) {
  std::vector<std::string> rows;
  for (int i = 0; i < 500; ++i) {
    rows = AuditDetails(db_path, "oprf.evaluate");
    if (rows.size() >= count) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return rows;
}

TEST_CASE("oprf evaluate: batch answer verifies against /v1/me's key",
          "[oprf][api]") {
  cairn::testing::TempDir keys_dir("cairn-oprf-keys");
  auto keys = MustOpenKeys(keys_dir.File("oprf"));
  FixtureOptions options;
  options.oprf = MakeEvaluator(keys);
  ApiFixture fixture(options);

  const Response me_reply = fixture.Get("/v1/me", kAlphaFp);
  REQUIRE(me_reply.status == 200);
  auto me = wire::DecodeMeResponse(me_reply.body);
  REQUIRE(me);
  REQUIRE(me->oprf);
  CHECK(me->oprf->suite == "ristretto255-SHA512");
  CHECK(me->oprf->mode == "voprf");
  CHECK(me->oprf->epoch == 1);
  CHECK(me->oprf->public_key == keys->PublicKey(1));
  CHECK(me->oprf->elements_per_day == 1'000'000);

  const Blinded b = BlindInputs(5);
  const Response reply =
      fixture.Post("/v1/oprf/evaluate", ElementsBody(1, b.base64), kAlphaFp);
  REQUIRE(reply.status == 200);
  auto decoded = wire::DecodeOprfEvaluateResponse(reply.body);
  REQUIRE(decoded);
  CHECK(decoded->epoch == 1);
  REQUIRE(decoded->evaluated.size() == 5);
  std::vector<oprf::ByteView> views(b.inputs.begin(), b.inputs.end());
  auto outputs =
      oprf::FinalizeBatch(views, b.blinds, b.elements, decoded->evaluated,
                          decoded->proof, me->oprf->public_key);
  REQUIRE(outputs);
  CHECK((*outputs)[0] != (*outputs)[1]);

  // The same proof does not verify for a different key.
  auto other = oprf::GenerateKeyPair();
  CHECK_FALSE(oprf::FinalizeBatch(views, b.blinds, b.elements,
                                  decoded->evaluated, decoded->proof,
                                  other.public_key));

  // Audited with the count and epoch only.
  const auto rows = AwaitAudit(fixture.db_path(), 1);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0] == R"({"elements":5,"epoch":1})");
  for (const auto& e : b.base64) CHECK(rows[0].find(e) == std::string::npos);
}

TEST_CASE("oprf evaluate: disabled hub answers 404 and /v1/me has no oprf",
          "[oprf][api]") {
  ApiFixture fixture;
  const Blinded b = BlindInputs(1);
  const Response reply =
      fixture.Post("/v1/oprf/evaluate", ElementsBody(1, b.base64), kAlphaFp);
  CHECK(reply.status == 404);
  CHECK(reply.ErrorBody().message.find("voprf-v1") != std::string::npos);
  auto me = wire::DecodeMeResponse(fixture.Get("/v1/me", kAlphaFp).body);
  REQUIRE(me);
  CHECK_FALSE(me->oprf);
}

TEST_CASE("oprf evaluate: bad inputs are refused and change nothing",
          "[oprf][api]") {
  cairn::testing::TempDir keys_dir("cairn-oprf-keys");
  FixtureOptions options;
  options.oprf = MakeEvaluator(MustOpenKeys(keys_dir.File("oprf")), 20);
  ApiFixture fixture(options);

  const Blinded good = BlindInputs(3);
  const std::string identity = Base64Encode(oprf::Element{});
  oprf::Element top_bit = oprf::Generator();
  top_bit[31] |= 0x80;  // non-canonical: libsodium would ignore the bit
  oprf::Element all_ff;
  all_ff.fill(0xff);
  const std::string short_element =
      Base64Encode(std::span(good.elements[0]).first(31));
  std::vector<std::string> too_many(wire::kMaxOprfElements + 1, good.base64[0]);

  struct Case {
    std::string name;
    std::string body;
    int status;
    std::string code;
    std::string field;
    std::optional<std::size_t> index;
  };
  const std::vector<Case> cases = {
      {"not base64", ElementsBody(1, {good.base64[0], "@@not base64@@"}), 400,
       "invalid_argument", "elements[1]", 1},
      {"wrong length", ElementsBody(1, {short_element}), 400,
       "invalid_argument", "elements[0]", 0},
      {"identity", ElementsBody(1, {good.base64[0], good.base64[1], identity}),
       400, "invalid_argument", "elements[2]", 2},
      {"non-canonical top bit", ElementsBody(1, {Base64Encode(top_bit)}), 400,
       "invalid_argument", "elements[0]", 0},
      {"not a point", ElementsBody(1, {Base64Encode(all_ff)}), 400,
       "invalid_argument", "elements[0]", 0},
      {"too many", ElementsBody(1, too_many), 400, "invalid_argument",
       "elements", std::nullopt},
      {"empty", ElementsBody(1, {}), 400, "invalid_argument", "elements",
       std::nullopt},
      {"wrong epoch", ElementsBody(2, good.base64), 400, "invalid_argument",
       "epoch", std::nullopt},
      {"missing epoch", R"({"elements":[")" + good.base64[0] + "\"]}", 400,
       "invalid_argument", "epoch", std::nullopt},
      {"unknown field",
       R"({"epoch":1,"elements":[")" + good.base64[0] + R"("],"extra":1})", 400,
       "invalid_argument", "extra", std::nullopt},
      {"element not a string", R"({"epoch":1,"elements":[7]})", 400,
       "invalid_argument", "elements[0]", 0},
      {"not json", "{", 400, "invalid_argument", "", std::nullopt},
      // More than a whole day's quota (20): a 429 could never be got past.
      {"over the daily quota", ElementsBody(1, BlindInputs(21).base64), 400,
       "invalid_argument", "elements", std::nullopt},
  };
  const StoreSnapshot before = TakeSnapshot(fixture);
  for (const Case& c : cases) {
    CAPTURE(c.name);
    const Response reply = fixture.Post("/v1/oprf/evaluate", c.body, kAlphaFp);
    CHECK(reply.status == c.status);
    CHECK(reply.ErrorCode() == c.code);
    const Error error = reply.ErrorBody();
    if (!c.field.empty()) CHECK(error.field == c.field);
    if (c.index) CHECK(error.index == c.index);
    CHECK_FALSE(error.message.empty());
    CHECK(reply.body.find(good.base64[0]) == std::string::npos);
    const StoreSnapshot after = TakeSnapshot(fixture);
    CHECK(after == before);
  }

  SECTION("quota (20 a day): 429 with Retry-After, nothing audited") {
    // 20 fit; the 21st element of the day does not; beta has its own quota.
    const Blinded twenty = BlindInputs(20);
    CHECK(
        fixture
            .Post("/v1/oprf/evaluate", ElementsBody(1, twenty.base64), kAlphaFp)
            .status == 200);
    const Response next = fixture.Post(
        "/v1/oprf/evaluate", ElementsBody(1, {good.base64[0]}), kAlphaFp);
    CHECK(next.status == 429);
    CHECK(next.ErrorCode() == "rate_limited");
    const int retry_after = std::stoi(next.Header("Retry-After"));
    CHECK(retry_after >= 1);
    CHECK(retry_after <= 86400);
    CHECK(fixture
              .Post("/v1/oprf/evaluate", ElementsBody(1, {good.base64[0]}),
                    kBetaFp)
              .status == 200);
    // Wait for the entry that must come last (beta's), then for the writer
    // to drain (a blocking command queues behind audit appends, and each
    // handler appends before it answers): now an entry for the 429 would
    // be there too.
    for (int i = 0; i < 500; ++i) {
      const auto rows =
          AuditActorsAndDetails(fixture.db_path(), "oprf.evaluate");
      if (!rows.empty() && rows.back().first == "beta") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    REQUIRE(fixture.store().CheckpointIfDueAndWait().has_value());
    const std::vector<std::pair<std::string, std::string>> expected = {
        {"alpha", R"({"elements":20,"epoch":1})"},
        {"beta", R"({"elements":1,"epoch":1})"},
    };
    CHECK(AuditActorsAndDetails(fixture.db_path(), "oprf.evaluate") ==
          expected);
  }
}

// The hub decodes only the shape of the elements (base64 of 32 bytes) on the
// connection thread, checks the item rate and the daily quota, and only then
// validates the elements, on its OPRF workers: a request over its limits
// costs no curve arithmetic, so a batch of invalid points over the limits
// gets the limit's 429, not the invalid element's 400.
TEST_CASE(
    "oprf evaluate: over the item rate or the quota, invalid elements get the "
    "429, unvalidated",
    "[oprf][api]") {
  cairn::testing::TempDir keys_dir("cairn-oprf-keys");
  oprf::Element all_ff;
  all_ff.fill(0xff);
  oprf::Element top_bit = oprf::Generator();
  top_bit[31] |= 0x80;
  const std::vector<std::string> invalid = {
      Base64Encode(all_ff), Base64Encode(oprf::Element{}),
      Base64Encode(top_bit), Base64Encode(all_ff), Base64Encode(all_ff)};

  SECTION("daily quota used up") {
    FixtureOptions options;
    options.oprf = MakeEvaluator(MustOpenKeys(keys_dir.File("oprf")), 5);
    ApiFixture fixture(options);
    // Within the quota, the same batch is validated (on the workers): 400
    // on its first invalid element, and nothing of the quota is used.
    const Response admitted =
        fixture.Post("/v1/oprf/evaluate", ElementsBody(1, invalid), kAlphaFp);
    CHECK(admitted.status == 400);
    CHECK(admitted.ErrorBody().field == "elements[0]");
    CHECK(admitted.ErrorBody().index == std::optional<std::size_t>(0));
    CHECK_THAT(admitted.ErrorBody().message,
               Catch::Contains("not a valid blinded element"));
    REQUIRE(fixture
                .Post("/v1/oprf/evaluate",
                      ElementsBody(1, BlindInputs(5).base64), kAlphaFp)
                .status == 200);
    const Response refused =
        fixture.Post("/v1/oprf/evaluate", ElementsBody(1, invalid), kAlphaFp);
    CHECK(refused.status == 429);
    CHECK(refused.ErrorCode() == "rate_limited");
    CHECK_THAT(refused.ErrorBody().message,
               Catch::Contains("has used its daily OPRF quota"));
    CHECK(std::stoi(refused.Header("Retry-After")) >= 1);
  }

  SECTION("item rate exceeded") {
    FixtureOptions options;
    options.oprf = MakeEvaluator(MustOpenKeys(keys_dir.File("oprf")));
    options.rate_limits.items_per_second = 5;  // a burst of 10 items
    ApiFixture fixture(options);
    REQUIRE(fixture
                .Post("/v1/oprf/evaluate",
                      ElementsBody(1, BlindInputs(10).base64), kAlphaFp)
                .status == 200);
    const Response refused =
        fixture.Post("/v1/oprf/evaluate", ElementsBody(1, invalid), kAlphaFp);
    CHECK(refused.status == 429);
    CHECK(refused.ErrorCode() == "rate_limited");
    CHECK_THAT(refused.ErrorBody().message, Catch::Contains("item rate limit"));
  }
}

// The hub's shape-only decoder plus its validation on the workers refuse
// what the full decoder refuses, in the same words.
TEST_CASE("oprf evaluate request: shape decoding and validation split",
          "[oprf]") {
  oprf::Element all_ff;
  all_ff.fill(0xff);
  oprf::Element top_bit = oprf::Generator();
  top_bit[31] |= 0x80;
  const std::string good = BlindInputs(1).base64[0];
  const std::vector<std::vector<std::string>> bodies = {
      {good, Base64Encode(all_ff)},
      {Base64Encode(oprf::Element{})},
      {good, good, Base64Encode(top_bit)},
  };
  for (const auto& elements : bodies) {
    const std::string body = ElementsBody(1, elements);
    CAPTURE(body);
    const auto full = wire::DecodeOprfEvaluateRequest(body);
    REQUIRE_FALSE(full.has_value());
    const auto shape = wire::DecodeOprfEvaluateRequestShape(body);
    REQUIRE(shape.has_value());
    CHECK(shape->elements.size() == elements.size());
    const auto valid = wire::ValidateOprfEvaluateElements(shape->elements);
    REQUIRE_FALSE(valid.has_value());
    CHECK(valid.error().code == full.error().code);
    CHECK(valid.error().field == full.error().field);
    CHECK(valid.error().index == full.error().index);
    CHECK(valid.error().message == full.error().message);
  }
  const auto ok = wire::DecodeOprfEvaluateRequestShape(
      ElementsBody(1, BlindInputs(3).base64));
  REQUIRE(ok.has_value());
  CHECK(wire::ValidateOprfEvaluateElements(ok->elements).has_value());
}

TEST_CASE("oprf quota resets at midnight UTC", "[oprf]") {
  cairn::testing::TempDir keys_dir("cairn-oprf-keys");
  auto now = std::chrono::system_clock::time_point(
      std::chrono::seconds(kNow));  // 14:00 UTC
  OprfEvaluatorOptions options;
  options.elements_per_member_per_day = 10;
  options.clock = [&now] { return now; };
  OprfEvaluator evaluator(MustOpenKeys(keys_dir.File("oprf")), options);
  CHECK(evaluator.ChargeQuota("alpha", 10) == 0);
  CHECK(evaluator.ChargeQuota("alpha", 1) == 10 * 3600);
  CHECK(evaluator.ChargeQuota("beta", 1) == 0);
  CHECK(evaluator.ChargeQuota("beta", 11) == 10 * 3600);  // never fits
  now += std::chrono::hours(10);
  CHECK(evaluator.ChargeQuota("alpha", 10) == 0);
}

TEST_CASE("oprf quota: charges are reported and restored after a restart",
          "[oprf]") {
  cairn::testing::TempDir keys_dir("cairn-oprf-keys");
  auto now = std::chrono::system_clock::time_point(
      std::chrono::seconds(kNow));  // 14:00 UTC
  const std::int64_t today = kNow / 86400;
  struct Charge {
    std::string member;
    std::int64_t day;
    std::uint64_t elements;
  };
  std::vector<Charge> charges;
  OprfEvaluatorOptions options;
  options.elements_per_member_per_day = 10;
  options.clock = [&now] { return now; };
  options.on_charge = [&charges](const std::string& member, std::int64_t day,
                                 std::uint64_t elements) {
    charges.push_back({member, day, elements});
  };
  auto keys = MustOpenKeys(keys_dir.File("oprf"));
  {
    OprfEvaluator evaluator(keys, options);
    CHECK(evaluator.Today() == today);
    CHECK(evaluator.ChargeQuota("alpha", 6) == 0);
    CHECK(evaluator.ChargeQuota("alpha", 5) != 0);  // refused: not reported
    REQUIRE(charges.size() == 1);
    CHECK(charges[0].member == "alpha");
    CHECK(charges[0].day == today);
    CHECK(charges[0].elements == 6);
  }
  // A new evaluator (cairnd restarted) given what was recorded: alpha has 4
  // elements left today; a record of yesterday is ignored.
  OprfEvaluator restarted(keys, options);
  restarted.RestoreUsage("alpha", today, 6);
  restarted.RestoreUsage("beta", today - 1, 10);
  CHECK(restarted.ChargeQuota("alpha", 5) == 10 * 3600);
  CHECK(restarted.ChargeQuota("alpha", 4) == 0);
  CHECK(restarted.ChargeQuota("beta", 10) == 0);
}

TEST_CASE(
    "oprf quota: a reservation counts at once, is charged when committed and "
    "given back when released",
    "[oprf]") {
  cairn::testing::TempDir keys_dir("cairn-oprf-keys");
  auto now = std::chrono::system_clock::time_point(
      std::chrono::seconds(kNow));  // 14:00 UTC
  std::vector<std::uint64_t> charged;
  OprfEvaluatorOptions options;
  options.elements_per_member_per_day = 10;
  options.clock = [&now] { return now; };
  options.on_charge = [&charged](const std::string&, std::int64_t,
                                 std::uint64_t elements) {
    charged.push_back(elements);
  };
  OprfEvaluator evaluator(MustOpenKeys(keys_dir.File("oprf")), options);
  auto first = evaluator.ReserveQuota("alpha", 6);
  REQUIRE(first);
  CHECK(first->elements == 6);
  CHECK(charged.empty());
  auto second = evaluator.ReserveQuota("alpha", 5);  // 6 of 10 set aside
  REQUIRE_FALSE(second);
  CHECK(second.error() == 10 * 3600);
  evaluator.ReleaseQuota(*first);
  CHECK(charged.empty());
  auto third = evaluator.ReserveQuota("alpha", 10);
  REQUIRE(third);
  evaluator.CommitQuota(*third);
  CHECK(charged == std::vector<std::uint64_t>{10});
  CHECK(evaluator.ChargeQuota("alpha", 1) == 10 * 3600);

  // Released after midnight, yesterday's reservation frees none of today's.
  auto late = evaluator.ReserveQuota("beta", 10);
  REQUIRE(late);
  now += std::chrono::hours(10);
  CHECK(evaluator.ChargeQuota("beta", 4) == 0);
  evaluator.ReleaseQuota(*late);
  CHECK(evaluator.ChargeQuota("beta", 7) != 0);
  CHECK(evaluator.ChargeQuota("beta", 6) == 0);
}

// A request counts against the quota of the UTC day the hub admitted it
// on, even when its elements go out after midnight (operator guide, the
// [oprf] quota): the elements handed out within one UTC day can exceed the
// quota by those admitted, and still in evaluation, at the midnight before
// it, never by more than the previous day's unused quota.
TEST_CASE(
    "oprf quota: a request admitted before midnight UTC is charged to that "
    "day when its elements go out after midnight",
    "[oprf]") {
  cairn::testing::TempDir keys_dir("cairn-oprf-keys");
  const std::int64_t day = kNow / 86400;
  auto now = std::chrono::system_clock::time_point(
      std::chrono::seconds((day + 1) * 86400 - 1));  // 23:59:59 UTC
  std::vector<std::pair<std::int64_t, std::uint64_t>> charged;
  OprfEvaluatorOptions options;
  options.elements_per_member_per_day = 10;
  options.clock = [&now] { return now; };
  options.on_charge = [&charged](const std::string&, std::int64_t on,
                                 std::uint64_t elements) {
    charged.emplace_back(on, elements);
  };
  OprfEvaluator evaluator(MustOpenKeys(keys_dir.File("oprf")), options);
  REQUIRE(evaluator.ChargeQuota("alpha", 6) == 0);
  auto late = evaluator.ReserveQuota("alpha", 4);  // admitted at 23:59:59
  REQUIRE(late);
  CHECK(late->day == day);
  CHECK(evaluator.ChargeQuota("alpha", 1) == 1);  // the day's quota is used

  now += std::chrono::seconds(2);  // evaluated; handed out at 00:00:01
  evaluator.CommitQuota(*late);
  using Charges = std::vector<std::pair<std::int64_t, std::uint64_t>>;
  CHECK(charged == Charges{{day, 6}, {day, 4}});
  // The new day's quota is whole: 14 elements go out on day + 1, 10 of its
  // own and the 4 admitted at the end of the day before.
  CHECK(evaluator.Today() == day + 1);
  CHECK(evaluator.ChargeQuota("alpha", 10) == 0);
  CHECK(charged.back() == std::pair<std::int64_t, std::uint64_t>{day + 1, 10});
  CHECK(evaluator.ChargeQuota("alpha", 1) == 86400 - 1);
}

TEST_CASE(
    "oprf evaluate: a request the evaluator refuses while the hub shuts down "
    "costs no quota",
    "[oprf][api]") {
  cairn::testing::TempDir keys_dir("cairn-oprf-keys");
  std::vector<std::uint64_t> charged;
  OprfEvaluatorOptions evaluator_options;
  evaluator_options.elements_per_member_per_day = 5;
  evaluator_options.threads = 1;
  evaluator_options.on_charge = [&charged](const std::string&, std::int64_t,
                                           std::uint64_t elements) {
    charged.push_back(elements);
  };
  auto evaluator = std::make_shared<OprfEvaluator>(
      MustOpenKeys(keys_dir.File("oprf")), evaluator_options);
  FixtureOptions options;
  options.oprf = evaluator;
  ApiFixture fixture(options);

  evaluator->Shutdown();
  const Response reply = fixture.Post(
      "/v1/oprf/evaluate", ElementsBody(1, BlindInputs(5).base64), kAlphaFp);
  CHECK(reply.status == 503);
  CHECK_THAT(reply.ErrorBody().message, Catch::Contains("shutting down"));
  CHECK(charged.empty());
  // The whole day's quota is still there.
  CHECK(evaluator->ChargeQuota("alpha", 5) == 0);
}

TEST_CASE(
    "oprf evaluate: a suspension or revocation acknowledged after the router "
    "admitted the request withholds the elements and costs no quota",
    "[oprf][api]") {
  cairn::testing::TempDir keys_dir("cairn-oprf-keys");
  std::vector<std::uint64_t> charged;
  // Run once, by the handler, after the router's check and before the
  // evaluation (the quota reads the clock there).
  std::function<void()> admitted;
  OprfEvaluatorOptions evaluator_options;
  evaluator_options.elements_per_member_per_day = 5;
  evaluator_options.threads = 1;
  evaluator_options.clock = [&admitted] {
    if (admitted) std::exchange(admitted, nullptr)();
    return std::chrono::system_clock::time_point(std::chrono::seconds(kNow));
  };
  evaluator_options.on_charge = [&charged](const std::string&, std::int64_t,
                                           std::uint64_t elements) {
    charged.push_back(elements);
  };
  auto evaluator = std::make_shared<OprfEvaluator>(
      MustOpenKeys(keys_dir.File("oprf")), evaluator_options);
  FixtureOptions options;
  options.oprf = evaluator;
  ApiFixture fixture(options);
  Store& store = fixture.store();
  const std::string body = ElementsBody(1, BlindInputs(5).base64);

  MemberChangeCommand change;
  change.member_id = "alpha";
  SECTION("suspended") {
    change.change = MemberChangeCommand::Change::kSuspend;
    change.reason = "abuse";
    admitted = [&] { REQUIRE(store.ChangeMemberAndWait(change).has_value()); };
    const Response reply = fixture.Post("/v1/oprf/evaluate", body, kAlphaFp);
    CHECK_FALSE(admitted);
    CHECK(reply.status == 403);
    CHECK_THAT(reply.ErrorBody().message,
               Catch::Contains("member 'alpha' is suspended (abuse)"));
    CHECK(reply.body.find("evaluated") == std::string::npos);
    change.change = MemberChangeCommand::Change::kResume;
    REQUIRE(store.ChangeMemberAndWait(change).has_value());
  }
  SECTION("certificate revoked") {
    change.change = MemberChangeCommand::Change::kRevokeFingerprint;
    change.fingerprint = kAlphaFp;
    admitted = [&] { REQUIRE(store.ChangeMemberAndWait(change).has_value()); };
    const Response reply = fixture.Post("/v1/oprf/evaluate", body, kAlphaFp);
    CHECK_FALSE(admitted);
    CHECK(reply.status == 403);
    CHECK_THAT(reply.ErrorBody().message, Catch::Contains("has been revoked"));
    CHECK(reply.body.find("evaluated") == std::string::npos);
  }
  CHECK(charged.empty());
  // The whole day's quota is still there.
  CHECK(evaluator->ChargeQuota("alpha", 5) == 0);
}

TEST_CASE("oprf keys: epochs, rotation overlap, file permissions",
          "[oprf][keys]") {
  cairn::testing::TempDir root("cairn-oprf-keys");
  const std::string dir = root.File("oprf");

  SECTION("no key and create_if_empty = false") {
    auto keys = OprfKeyring::Open(dir, false);
    REQUIRE_FALSE(keys);
    CHECK(keys.error().code == ErrorCode::kNotFound);
    CHECK(keys.error().message.find("cairnctl oprf rotate") !=
          std::string::npos);
  }
  SECTION("created with mode 0600, rotation keeps old epochs") {
    auto first = MustOpenKeys(dir);
    CHECK(first->CurrentEpoch() == 1);
    struct stat st {};
    REQUIRE(::stat((dir + "/epoch-1.key").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    REQUIRE(CreateNextOprfEpoch(dir) == 2u);
    auto second = MustOpenKeys(dir);
    CHECK(second->CurrentEpoch() == 2);
    CHECK(second->Epochs() == (std::vector<std::uint32_t>{1, 2}));
    CHECK(second->PublicKey(1) == first->PublicKey(1));
    CHECK(second->PublicKey(2) != second->PublicKey(1));

    // Tokens of two epochs differ for the same input.
    const Blinded b = BlindInputs(1);
    auto e1 = second->Evaluate(1, b.elements);
    auto e2 = second->Evaluate(2, b.elements);
    REQUIRE(e1);
    REQUIRE(e2);
    CHECK(e1->evaluated_elements[0] != e2->evaluated_elements[0]);
    CHECK_FALSE(second->Evaluate(3, b.elements));
  }
  SECTION("bad key files are refused") {
    fs::create_directories(dir);
    struct BadFile {
      std::string name;
      std::string content;
      mode_t mode;
      ErrorCode code;
    };
    const std::string good_hex(63, '1');
    const std::vector<BadFile> files = {
        {"group readable", good_hex + "1\n", 0640,
         ErrorCode::kPermissionDenied},
        {"other readable", good_hex + "1\n", 0604,
         ErrorCode::kPermissionDenied},
        {"too short", "abcd\n", 0600, ErrorCode::kInvalidArgument},
        {"uppercase", std::string(64, 'A') + "\n", 0600,
         ErrorCode::kInvalidArgument},
        {"zero key", std::string(64, '0') + "\n", 0600,
         ErrorCode::kInvalidArgument},
        {"not canonical", std::string(64, 'f') + "\n", 0600,
         ErrorCode::kInvalidArgument},
    };
    for (const BadFile& f : files) {
      CAPTURE(f.name);
      const std::string path = dir + "/epoch-1.key";
      fs::remove(path);
      std::ofstream(path) << f.content;
      REQUIRE(::chmod(path.c_str(), f.mode) == 0);
      auto keys = OprfKeyring::Open(dir, true);
      REQUIRE_FALSE(keys);
      CHECK(keys.error().code == f.code);
      if (f.code == ErrorCode::kPermissionDenied) {
        CHECK(keys.error().message.find("chmod 600") != std::string::npos);
      }
    }
  }
}

}  // namespace
}  // namespace cairn::server::apitest
