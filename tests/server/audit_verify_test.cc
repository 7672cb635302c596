// The offline verifier against tampered copies of a real hub database:
// each kind of tampering is detected and the first bad entry named.
#include <catch2/catch.hpp>

#include "audit_test_util.h"
#include "cairn/encoding.h"
#include "server/src/audit/audit_verify.h"
#include "server/src/store/audit_chain.h"
#include "server/src/store/sqlite_db.h"
#include "store_test_util.h"

namespace cairn::server {
namespace {

using testing::ExecSql;
using testing::ManualClock;
using testing::TempDir;
using testing::TestSigningKey;

// 20 entries, checkpoints at 5, 10, 15 and 20, store closed (no WAL left).
std::filesystem::path MakeLog(const TempDir& dir, const TestSigningKey& key) {
  ManualClock clock;
  SqliteStoreOptions o;
  o.db_path = dir.path() / "original.db";
  o.clock = clock.AsClock();
  o.checkpoint_signer = key.Signer();
  o.checkpoint_every_entries = 5;
  auto store = OpenSqliteStore(o);
  REQUIRE(store.has_value());
  for (int i = 1; i <= 20; ++i) {
    AuditEvent e;
    e.request_id = "r_" + std::to_string(i);
    e.actor = i % 2 ? "alpha" : "beta";
    e.action = "query";
    e.details = "{\"tokens\":" + std::to_string(i) + ",\"matches\":[]}";
    REQUIRE((*store)->RecordAuditAndWait(e).has_value());
    clock.Advance(std::chrono::seconds(7));
  }
  return o.db_path;
}

// Recomputes every hash from entry `from` on, as a forger who knows the
// encoding would.
void Rechain(const std::filesystem::path& db_path, std::uint64_t from) {
  auto db = Database::Open(db_path, false, false, std::chrono::seconds(5));
  REQUIRE(db.has_value());
  auto read = (*db)->Prepare(
      "SELECT seq, at, actor, fingerprint, request_id, action, details, result,"
      " prev_hash FROM audit_log ORDER BY seq");
  REQUIRE(read.has_value());
  struct Row {
    std::uint64_t seq;
    std::int64_t at;
    std::string text[6];
  };
  std::vector<Row> rows;
  AuditHash prev{};
  while (*read->Step()) {
    Row r{static_cast<std::uint64_t>(read->Int(0)), read->Int(1), {}};
    for (int i = 0; i < 6; ++i) r.text[i] = read->Text(2 + i);
    rows.push_back(std::move(r));
  }
  for (const Row& r : rows) {
    AuditEntryFields f{r.seq,     r.at,      r.text[0], r.text[1], r.text[2],
                       r.text[3], r.text[4], r.text[5], prev};
    const AuditHash h = HashAuditEntry(f);
    if (r.seq >= from) {
      auto up = (*db)->Prepare(
          "UPDATE audit_log SET prev_hash = ?2, hash = ?3 WHERE seq = ?1");
      REQUIRE(up.has_value());
      up->Bind(1, static_cast<std::int64_t>(r.seq))
          .BindBlob(2, prev)
          .BindBlob(3, h);
      REQUIRE(up->Run().has_value());
    }
    prev = h;
  }
}

// Known answers computed outside the hub from docs/protocol.md ("Hash
// chain") with Python's hashlib: the encoding and the hash function are
// the documented ones, so verifiers written from the protocol agree.
TEST_CASE("audit entry hashes match the protocol's encoding and SHA-256") {
  AuditEntryFields first{
      1,
      1767225600,
      "alpha",
      "abababababababababababababababababababababababababababababababab",
      "r_1",
      "submit",
      R"({"items":1,"signal_ids":["s_01"]})",
      "ok",
      {}};
  const AuditHash h1 = HashAuditEntry(first);
  CHECK(HexEncode(h1) ==
        "79716e707b27aa33916b8374b5dce033bd47b5114ff128c0f1cae6e58942beb1");
  // A negative time (two's complement), non-ASCII text, a chained prev_hash.
  AuditEntryFields second{
      2,
      -1,
      "op",
      "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
      "r_2",
      "member.add",
      "{\"member\":\"beta\",\"name\":\"B\xc3\xaa"
      "ta\"}",
      "ok",
      h1};
  CHECK(HexEncode(HashAuditEntry(second)) ==
        "2193d05f14766cefd2138aca90fcf33aa4b658bb700e03a21741bbd703fdfd36");
}

TEST_CASE("an untouched log verifies, with its entries, checkpoints and span") {
  TempDir dir;
  TestSigningKey key;
  const auto db = MakeLog(dir, key);
  auto report = VerifyAuditLog(db, key.PublicKeys());
  REQUIRE(report.has_value());
  CHECK(report->intact);
  CHECK(report->entries == 20);
  CHECK(report->checkpoints == 4);
  CHECK(report->last_seq == 20);
  REQUIRE(report->first_at.has_value());
  REQUIRE(report->last_at.has_value());
  CHECK(*report->last_at - *report->first_at == std::chrono::seconds(19 * 7));
  CHECK(report->problem.empty());
}

TEST_CASE("tampering with a copy is detected and the first bad entry named") {
  struct Case {
    const char* name;
    std::string sql;             // run on the copy ("" = none)
    std::uint64_t rechain_from;  // 0: leave the hashes as they are
    bool with_keys;
    std::uint64_t bad_seq;
    const char* problem;  // a substring of the reported problem
  };
  const Case cases[] = {
      {"edit an entry's details",
       "UPDATE audit_log SET details = '{\"tokens\":0,\"matches\":[]}'"
       " WHERE seq = 7",
       0, true, 7, "entry 7: hash does not match its contents"},
      {"edit an entry's actor",
       "UPDATE audit_log SET actor = 'gamma' WHERE seq = 13", 0, true, 13,
       "entry 13: hash does not match its contents"},
      {"delete an entry", "DELETE FROM audit_log WHERE seq = 8", 0, true, 8,
       "entry 8 missing (gap after 7)"},
      {"delete the first entry", "DELETE FROM audit_log WHERE seq = 1", 0, true,
       1, "entry 1 missing"},
      {"swap two entries' contents (reorder)",
       "CREATE TEMP TABLE swap AS SELECT * FROM audit_log"
       " WHERE seq IN (11, 12);"
       " UPDATE audit_log SET"
       " (at, actor, fingerprint, request_id, action, details, result,"
       " prev_hash, hash) = (SELECT at, actor, fingerprint, request_id, action,"
       " details, result, prev_hash, hash FROM swap o WHERE o.seq ="
       " 23 - audit_log.seq) WHERE seq IN (11, 12)",
       0, true, 11, "entry 11: hash does not match its contents"},
      {"truncate the tail past a checkpoint",
       "DELETE FROM audit_log WHERE seq > 17", 0, true, 18,
       "checkpoint at 20: it covers entry 20 but the log ends at entry 17"},
      {"truncate the tail and its checkpoint too",
       "DELETE FROM audit_log WHERE seq > 17;"
       " DELETE FROM audit_checkpoints WHERE seq > 15",
       0, true, 0, ""},
      {"forge a checkpoint signature",
       "UPDATE audit_checkpoints SET signature = zeroblob(64) WHERE seq = 10",
       0, true, 10, "checkpoint at 10: signature invalid"},
      {"re-sign a checkpoint's time",
       "UPDATE audit_checkpoints SET at = at + 1 WHERE seq = 15", 0, true, 15,
       "checkpoint at 15: signature invalid"},
      {"checkpoint signed by an unknown key",
       "UPDATE audit_checkpoints SET key_id = 'hk_forger' WHERE seq = 15", 0,
       true, 15, "checkpoint at 15: signed by unknown key 'hk_forger'"},
      {"no public keys given", "", 0, false, 5,
       "checkpoint at 5: signed by unknown key 'hk_test'"},
      {"rewrite history and recompute the chain",
       "UPDATE audit_log SET details = '{\"tokens\":0,\"matches\":[]}'"
       " WHERE seq = 3",
       3, true, 5, "checkpoint at 5: head hash does not match entry 5"},
      {"rewrite after the last checkpoint and recompute the chain",
       "UPDATE audit_log SET actor = 'gamma' WHERE seq = 20;"
       " DELETE FROM audit_checkpoints WHERE seq = 20",
       20, true, 0, ""},
  };
  TempDir dir;
  TestSigningKey key;
  const auto original = MakeLog(dir, key);
  for (const Case& c : cases) {
    CAPTURE(c.name);
    const auto copy = dir.path() / "copy.db";
    std::filesystem::copy_file(
        original, copy, std::filesystem::copy_options::overwrite_existing);
    if (!c.sql.empty()) ExecSql(copy, c.sql);
    if (c.rechain_from > 0) Rechain(copy, c.rechain_from);
    auto report = VerifyAuditLog(
        copy, c.with_keys
                  ? key.PublicKeys()
                  : std::map<std::string, std::array<std::uint8_t, 32>>{});
    REQUIRE(report.has_value());
    CAPTURE(report->problem);
    if (c.bad_seq == 0) {
      // Undetectable without a checkpoint the forger cannot make: the point
      // of members keeping checkpoints.
      CHECK(report->intact);
      continue;
    }
    CHECK_FALSE(report->intact);
    CHECK(report->bad_seq == c.bad_seq);
    CHECK(report->problem.find(c.problem) != std::string::npos);
    CHECK(report->last_seq < c.bad_seq);
  }
}

TEST_CASE("verify refuses what is not a hub database, saying what to do") {
  TempDir dir;
  auto missing = VerifyAuditLog(dir.path() / "nope.db", {});
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code == ErrorCode::kNotFound);
  CHECK(missing.error().message.find("--data") != std::string::npos);
}

}  // namespace
}  // namespace cairn::server
