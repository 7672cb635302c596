// GET /v1/audit/checkpoints through the router, the wire codec of its body,
// and the caller's certificate fingerprint reaching the audit log.
#include <catch2/catch.hpp>

#include "api_test_util.h"
#include "audit_test_util.h"
#include "cairn/encoding.h"
#include "cairn/wire/audit.h"
#include "store_test_util.h"

namespace cairn::server {
namespace {

using apitest::ApiFixture;
using apitest::kAlphaFp;
using apitest::kBetaFp;
using apitest::Response;

// Checkpoint rows as the writer stores them (signatures are not checked
// by the endpoint: members keep them and verify offline).
void InsertCheckpoints(const std::string& db, int count) {
  for (int i = 1; i <= count; ++i) {
    testing::ExecSql(
        db,
        "INSERT INTO audit_checkpoints (seq, head_hash, at, key_id,"
        " signature) VALUES (" +
            std::to_string(i * 1000) + ", randomblob(32), " +
            std::to_string(apitest::kNow + i) +
            ", 'hk_0123456789abcdef', randomblob(64))");
  }
}

TEST_CASE("audit checkpoints: any member pages through them") {
  ApiFixture f;
  InsertCheckpoints(f.db_path(), 3);
  Response all = f.Get("/v1/audit/checkpoints", kAlphaFp);
  REQUIRE(all.status == 200);
  auto body = wire::DecodeAuditCheckpointsResponse(all.body);
  REQUIRE(body.has_value());
  REQUIRE(body->checkpoints.size() == 3);
  CHECK(body->checkpoints[0].seq == 1000);
  CHECK(body->checkpoints[2].seq == 3000);
  CHECK(body->checkpoints[1].key_id == "hk_0123456789abcdef");
  CHECK(body->cursor == "3000");
  CHECK_FALSE(body->more);

  Response first = f.Get("/v1/audit/checkpoints?limit=2", kBetaFp);
  auto page = wire::DecodeAuditCheckpointsResponse(first.body);
  REQUIRE(page.has_value());
  CHECK(page->checkpoints.size() == 2);
  CHECK(page->more);
  Response rest = f.Get("/v1/audit/checkpoints?after=" + page->cursor, kBetaFp);
  auto tail = wire::DecodeAuditCheckpointsResponse(rest.body);
  REQUIRE(tail.has_value());
  REQUIRE(tail->checkpoints.size() == 1);
  CHECK(tail->checkpoints[0].seq == 3000);

  const std::string path = f.dir() + "/checkpoints.json";
  REQUIRE(apitest::WriteFile(path, all.body));
  std::string output;
  CHECK(apitest::ValidateAgainstSchemas(
            {{"audit-checkpoints-response", {path}}}, &output) == 0);
  INFO(output);
}

TEST_CASE("audit checkpoints: bad paging parameters are refused") {
  struct Case {
    const char* query;
    const char* field;
  };
  const Case cases[] = {
      {"?after=abc", "after"},
      {"?after=-1", "after"},
      {"?limit=0", "limit"},
      {"?limit=10001", "limit"},
      {"?after=1&after=2", "after"},
      {"?colour=red", "colour"},
      {"?after=9223372036854775808", "after"},
  };
  ApiFixture f;
  InsertCheckpoints(f.db_path(), 2);
  const apitest::StoreSnapshot before = apitest::TakeSnapshot(f);
  for (const Case& c : cases) {
    CAPTURE(c.query);
    Response r =
        f.Get(std::string("/v1/audit/checkpoints") + c.query, kAlphaFp);
    CHECK(r.status == 400);
    CHECK(r.ErrorCode() == "invalid_argument");
    CHECK(r.ErrorBody().field == c.field);
    CHECK_FALSE(r.ErrorBody().message.empty());
    // Nothing stored, not even an audit entry (a blocking command queues
    // behind any audit append, so one would have committed by now).
    REQUIRE(f.store().CheckpointIfDueAndWait().has_value());
    const apitest::StoreSnapshot after = apitest::TakeSnapshot(f);
    INFO("before:\n"
         << apitest::Describe(before) << "\nafter:\n"
         << apitest::Describe(after));
    CHECK(apitest::SameData(after, before));
    CHECK(after.rows == before.rows);  // with the audit tables
  }
}

TEST_CASE("the audit log records the caller's certificate fingerprint") {
  ApiFixture f;
  Response r = f.Post("/v1/query", apitest::QueryBody({123456}), kAlphaFp);
  REQUIRE(r.status == 200);
  REQUIRE(f.store().CheckpointIfDueAndWait().has_value());
  const auto rows = testing::ReadAuditLog(f.db_path());
  REQUIRE_FALSE(rows.empty());
  CHECK(rows.back().action == "query");
  CHECK(rows.back().actor == "alpha");
  CHECK(rows.back().fingerprint == kAlphaFp);
  CHECK(rows.back().request_id == r.Header("X-Request-Id"));
  CHECK(rows.back().details == "{\"tokens\":1,\"matches\":[]}");
}

TEST_CASE("the checkpoints body round-trips and rejects malformed fields") {
  wire::AuditCheckpointsResponse body;
  wire::AuditCheckpoint c;
  c.seq = 42;
  c.head_hash.fill(0xab);
  c.at = std::chrono::sys_seconds{std::chrono::seconds{apitest::kNow}};
  c.key_id = "hk_1";
  c.signature.fill(7);
  body.checkpoints = {c};
  body.cursor = "42";
  body.more = true;
  auto decoded = wire::DecodeAuditCheckpointsResponse(wire::Encode(body));
  REQUIRE(decoded.has_value());
  CHECK(*decoded == body);

  const std::string good_hash(64, 'a');
  const std::string good_sig = Base64Encode(std::vector<std::uint8_t>(64, 1));
  auto json = [&](const std::string& hash, const std::string& sig) {
    return "{\"checkpoints\":[{\"seq\":1,\"head_hash\":\"" + hash +
           "\",\"at\":\"2026-11-23T14:00:00Z\",\"key_id\":\"k\","
           "\"signature\":\"" +
           sig + "\"}],\"cursor\":\"1\",\"more\":false}";
  };
  REQUIRE(wire::DecodeAuditCheckpointsResponse(json(good_hash, good_sig)));
  struct Case {
    const char* name;
    std::string hash, sig, field;
  };
  const Case cases[] = {
      {"uppercase hash", std::string(64, 'A'), good_sig, "head_hash"},
      {"short hash", std::string(62, 'a'), good_sig, "head_hash"},
      {"short signature", good_hash,
       Base64Encode(std::vector<std::uint8_t>(63, 1)), "signature"},
      {"not base64", good_hash, std::string(88, '!'), "signature"},
  };
  for (const Case& k : cases) {
    CAPTURE(k.name);
    auto bad = wire::DecodeAuditCheckpointsResponse(json(k.hash, k.sig));
    REQUIRE_FALSE(bad.has_value());
    CHECK(bad.error().code == ErrorCode::kInvalidArgument);
    CHECK(bad.error().field.find(k.field) != std::string::npos);
  }
}

}  // namespace
}  // namespace cairn::server
