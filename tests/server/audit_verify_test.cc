// The offline verifier against tampered copies of a real hub database:
// each kind of tampering is detected and the first bad entry named.
#include <sodium.h>

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

// Known answer for the checkpoint message and its signature, computed
// outside the hub from docs/protocol.md ("Checkpoints"):
//   LP("cairn-audit-checkpoint-v1") || U64(seq) || head_hash || U64(at) ||
//   LP(key_id)
// with seq 1000, head_hash a0 a1 ... bf, at 1767225600
// (2026-01-01T00:00:00Z) and key_id "hk_0123456789abcdef":
//   python3 -c 'import struct
//   LP = lambda s: struct.pack(">I", len(s)) + s
//   m = (LP(b"cairn-audit-checkpoint-v1") + struct.pack(">Q", 1000) +
//        bytes(range(0xa0, 0xc0)) + struct.pack(">Q", 1767225600) +
//        LP(b"hk_0123456789abcdef"))
//   print(m.hex()); open("msg.bin", "wb").write(m)'
// The signature is Ed25519 with seed 00 01 02 ... 1f, made twice, with the
// same result:
//   python3 -c 'import base64
//   from cryptography.hazmat.primitives.asymmetric.ed25519 import (
//       Ed25519PrivateKey)
//   k = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
//   print(base64.b64encode(k.sign(open("msg.bin", "rb").read())).decode())'
//   DER=302e020100300506032b657004220420
//   SEED=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
//   echo $DER$SEED | xxd -r -p > seed.der
//   openssl pkeyutl -sign -rawin -inkey seed.der -keyform DER -in msg.bin |
//     base64 -w0
constexpr const char* kCheckpointMessageHex =
    "00000019636169726e2d61756469742d636865636b706f696e742d7631"  // LP(domain)
    "00000000000003e8"                                            // seq 1000
    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
    "000000006955b900"                                 // at
    "00000013686b5f30313233343536373839616263646566";  // LP(key_id)
constexpr const char* kCheckpointSignature =
    "fMt/5dsprKlzqbig8rEKWyphlHFi6M2UUnJfz70p3Z/QzfAQupyhh0lJqo+fSJNfwxy3d9vT"
    "myJofRQGFxY8BQ==";
// The public key of seed 00 01 ... 1f (as in tests/common/receipt_test.cc).
constexpr const char* kSeedPublicKey =
    "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=";

TEST_CASE(
    "audit checkpoint messages and signatures match the protocol's "
    "encoding and Ed25519") {
  REQUIRE(sodium_init() >= 0);
  AuditHash head{};
  for (std::size_t i = 0; i < head.size(); ++i) {
    head[i] = static_cast<std::uint8_t>(0xa0 + i);
  }
  const std::vector<std::uint8_t> message =
      EncodeCheckpointMessage(1000, head, 1767225600, "hk_0123456789abcdef");
  CHECK(HexEncode(message) == kCheckpointMessageHex);

  std::array<std::uint8_t, crypto_sign_SEEDBYTES> seed{};
  for (std::size_t i = 0; i < seed.size(); ++i) {
    seed[i] = static_cast<std::uint8_t>(i);
  }
  std::array<std::uint8_t, crypto_sign_PUBLICKEYBYTES> pk{};
  std::array<std::uint8_t, crypto_sign_SECRETKEYBYTES> sk{};
  crypto_sign_seed_keypair(pk.data(), sk.data(), seed.data());
  CHECK(Base64Encode(pk) == kSeedPublicKey);
  // Signed as the hub's signer does (crypto_sign_detached over the message).
  std::array<std::uint8_t, crypto_sign_BYTES> signature{};
  crypto_sign_detached(signature.data(), nullptr, message.data(),
                       message.size(), sk.data());
  CHECK(Base64Encode(signature) == kCheckpointSignature);

  // And the published signature verifies over the published bytes, as a
  // member's verifier written from the protocol would check it.
  const auto expected_message = HexDecode(kCheckpointMessageHex);
  const auto expected_signature = Base64Decode(kCheckpointSignature);
  REQUIRE(expected_message.has_value());
  REQUIRE(expected_signature.has_value());
  REQUIRE(expected_signature->size() == crypto_sign_BYTES);
  CHECK(crypto_sign_verify_detached(expected_signature->data(),
                                    expected_message->data(),
                                    expected_message->size(), pk.data()) == 0);

  // A negative time is two's complement, as for entries; an empty key id
  // is a zero length (checked with the same Python, struct.pack(">q", -1)).
  const std::vector<std::uint8_t> negative =
      EncodeCheckpointMessage(1, AuditHash{}, -1, "");
  CHECK(HexEncode(negative) ==
        "00000019636169726e2d61756469742d636865636b706f696e742d7631"
        "0000000000000001" +
            std::string(64, '0') + "ffffffffffffffff" + "00000000");
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
    // The first entry no genuine checkpoint vouches for: after a forged or
    // mismatched checkpoint, the one after the last checkpoint that held
    // (checkpoints cover 5, 10, 15, 20).
    std::uint64_t bad_seq;
    const char* problem;        // a substring of the reported problem
    bool unverifiable = false;  // a key was missing, nothing failed a check
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
       0, true, 6, "checkpoint at 10: signature invalid"},
      {"re-sign a checkpoint's time",
       "UPDATE audit_checkpoints SET at = at + 1 WHERE seq = 15", 0, true, 11,
       "checkpoint at 15: signature invalid"},
      {"checkpoint signed by an unknown key",
       "UPDATE audit_checkpoints SET key_id = 'hk_forger' WHERE seq = 15", 0,
       true, 11,
       "checkpoint at 15: signed by key 'hk_forger', which is not among the "
       "keys given",
       true},
      {"no public keys given", "", 0, false, 1,
       "checkpoint at 5: signed by key 'hk_test', which is not among the "
       "keys given",
       true},
      // A broken chain needs no key to prove tampering.
      {"edit an entry, no public keys given",
       "UPDATE audit_log SET actor = 'gamma' WHERE seq = 13", 0, false, 13,
       "entry 13: hash does not match its contents"},
      {"rewrite history and recompute the chain",
       "UPDATE audit_log SET details = '{\"tokens\":0,\"matches\":[]}'"
       " WHERE seq = 3",
       3, true, 1,
       "checkpoint at 5: head hash does not match entry 5: an entry from 1 "
       "to 5 was rewritten"},
      {"rewrite between two checkpoints and recompute the chain",
       "UPDATE audit_log SET actor = 'gamma' WHERE seq = 13", 13, true, 11,
       "checkpoint at 15: head hash does not match entry 15: an entry from 11 "
       "to 15 was rewritten"},
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
    auto report =
        VerifyAuditLog(copy, c.with_keys ? key.PublicKeys() : AuditKeys{});
    REQUIRE(report.has_value());
    CAPTURE(report->problem);
    if (c.bad_seq == 0) {
      // Undetectable without a checkpoint the forger cannot make: the point
      // of members keeping checkpoints.
      CHECK(report->intact);
      continue;
    }
    CHECK_FALSE(report->intact);
    CHECK(report->unverifiable == c.unverifiable);
    CHECK(report->bad_seq == c.bad_seq);
    CHECK(report->problem.find(c.problem) != std::string::npos);
    CHECK(report->last_seq == c.bad_seq - 1);
    CHECK(report->entries == c.bad_seq - 1);
  }
}

// The hub's checkpoints as a member would have saved them from
// GET /v1/audit/checkpoints.
std::vector<wire::AuditCheckpoint> SavedCheckpoints(
    const std::filesystem::path& db_path) {
  auto db = Database::Open(db_path, false, true, std::chrono::seconds(5));
  REQUIRE(db.has_value());
  auto s = (*db)->Prepare(
      "SELECT seq, head_hash, at, key_id, signature FROM audit_checkpoints"
      " ORDER BY seq");
  REQUIRE(s.has_value());
  std::vector<wire::AuditCheckpoint> out;
  while (*s->Step()) {
    wire::AuditCheckpoint c;
    c.seq = static_cast<std::uint64_t>(s->Int(0));
    std::copy_n(s->Blob(1).begin(), c.head_hash.size(), c.head_hash.begin());
    c.at = wire::Timestamp{std::chrono::seconds{s->Int(2)}};
    c.key_id = s->Text(3);
    std::copy_n(s->Blob(4).begin(), c.signature.size(), c.signature.begin());
    out.push_back(std::move(c));
  }
  return out;
}

TEST_CASE(
    "checkpoints held outside the hub expose a rewrite whose hub "
    "checkpoints were deleted") {
  TempDir dir;
  TestSigningKey key;
  const auto original = MakeLog(dir, key);
  const auto held = SavedCheckpoints(original);
  REQUIRE(held.size() == 4);
  const auto copy = dir.path() / "copy.db";
  std::filesystem::copy_file(original, copy);
  ExecSql(copy, "UPDATE audit_log SET actor = 'gamma' WHERE seq = 13");
  Rechain(copy, 13);
  ExecSql(copy, "DELETE FROM audit_checkpoints");

  // The hub's own database alone cannot tell.
  auto alone = VerifyAuditLog(copy, key.PublicKeys());
  REQUIRE(alone.has_value());
  CHECK(alone->intact);
  // A member's saved checkpoints can.
  auto checked = VerifyAuditLog(copy, key.PublicKeys(), held);
  REQUIRE(checked.has_value());
  CAPTURE(checked->problem);
  CHECK_FALSE(checked->intact);
  CHECK_FALSE(checked->unverifiable);
  CHECK(checked->bad_seq == 11);
  CHECK(checked->problem.find("held checkpoint at 15: head hash does not "
                              "match") != std::string::npos);
  // And they agree with an untouched log.
  auto untouched = VerifyAuditLog(original, key.PublicKeys(), held);
  REQUIRE(untouched.has_value());
  CHECK(untouched->intact);
  CHECK(untouched->checkpoints == 8);
}

TEST_CASE(
    "a checkpoint signed after its key was retired is not "
    "genuine") {
  TempDir dir;
  TestSigningKey key;
  const auto db = MakeLog(dir, key);
  const auto held = SavedCheckpoints(db);
  REQUIRE(held.size() == 4);
  using std::chrono::seconds;
  const auto at = [&](std::size_t i) {
    return std::chrono::time_point_cast<seconds>(held[i].at);
  };
  struct Case {
    const char* name;
    std::optional<std::chrono::sys_seconds> from, until;
    std::uint64_t bad_seq;  // 0: intact
    const char* problem;
  };
  const Case cases[] = {
      {"within the period", at(0), at(3), 0, ""},
      // Retired after the checkpoint at 10: the one at 15 was signed later.
      {"retired before a checkpoint", std::nullopt, at(1), 11,
       "checkpoint at 15: signed at"},
      // A key made current while a checkpoint's batch ran signs a time just
      // before its valid_from: not a sign of forgery.
      {"signed before the key's valid_from", at(1), std::nullopt, 0, ""},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    AuditKeys keys = key.PublicKeys();
    keys.begin()->second.valid_from = c.from;
    keys.begin()->second.valid_until = c.until;
    auto report = VerifyAuditLog(db, keys);
    REQUIRE(report.has_value());
    CAPTURE(report->problem);
    if (c.bad_seq == 0) {
      CHECK(report->intact);
      continue;
    }
    CHECK_FALSE(report->intact);
    CHECK_FALSE(report->unverifiable);
    CHECK(report->bad_seq == c.bad_seq);
    CHECK(report->problem.find(c.problem) != std::string::npos);
    CHECK(report->problem.find("which was retired at") != std::string::npos);
  }
}

TEST_CASE("verify refuses what is not a hub database, saying what to do") {
  TempDir dir;
  auto missing = VerifyAuditLog(dir.path() / "nope.db", {});
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code == ErrorCode::kNotFound);
  CHECK(missing.error().message.find("--data") != std::string::npos);
}

TEST_CASE("a database older than the audit log has nothing to verify") {
  TempDir dir;
  const auto old = dir.path() / "schema2.db";
  {
    auto db =
        Database::Open(old, /*create=*/true, false, std::chrono::seconds(5));
    REQUIRE(db.has_value());
    REQUIRE(
        (*db)->Exec("CREATE TABLE members (id INTEGER PRIMARY KEY);"
                    " PRAGMA user_version = 2"));
  }
  auto report = VerifyAuditLog(old, {});
  REQUIRE(report.has_value());
  CHECK_FALSE(report->has_audit_log);
  CHECK(report->schema_version == 2);
  CHECK(report->intact);
  CHECK(report->entries == 0);
}

}  // namespace
}  // namespace cairn::server
