// The offline verifier against tampered copies of a real hub database:
// each kind of tampering is detected and the first bad entry named.
#include <sodium.h>

#include <future>

#include <catch2/catch.hpp>

#include "audit_test_util.h"
#include "cairn/encoding.h"
#include "server/src/audit/audit_restore.h"
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
  o.checkpoint_signer = key.Signer(clock.AsClock());
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

TEST_CASE(
    "verify says where signed coverage ends and how far the chain alone "
    "checked out") {
  TempDir dir;
  TestSigningKey key;
  const auto original = MakeLog(dir, key);  // checkpoints at 5, 10, 15, 20

  auto whole = VerifyAuditLog(original, key.PublicKeys());
  REQUIRE(whole.has_value());
  CHECK(whole->signed_seq == 20);
  CHECK(whole->signed_at.has_value());
  CHECK(whole->hub_checkpoints == 4);
  CHECK(whole->held_checkpoints == 0);
  CHECK(whole->chain_last_seq == 20);

  // Removing the unsigned tail with its checkpoint cannot be detected, but
  // the report says which entries no signature covers.
  const auto copy = dir.path() / "copy.db";
  std::filesystem::copy_file(original, copy);
  ExecSql(copy,
          "DELETE FROM audit_log WHERE seq > 17;"
          " DELETE FROM audit_checkpoints WHERE seq > 15");
  auto cut = VerifyAuditLog(copy, key.PublicKeys());
  REQUIRE(cut.has_value());
  CHECK(cut->intact);
  CHECK(cut->last_seq == 17);
  CHECK(cut->signed_seq == 15);
  CHECK(cut->hub_checkpoints == 3);

  // Without keys nothing is vouched for, but the chain itself was checked.
  auto no_keys = VerifyAuditLog(original, AuditKeys{});
  REQUIRE(no_keys.has_value());
  CHECK(no_keys->unverifiable);
  CHECK(no_keys->entries == 0);
  CHECK(no_keys->signed_seq == 0);
  CHECK(no_keys->chain_last_seq == 20);
  CHECK(no_keys->chain_entries == 20);
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
  CHECK(untouched->hub_checkpoints == 4);
  CHECK(untouched->held_checkpoints == 4);
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

// A hub whose clock was stepped forward signs a checkpoint dated ahead;
// restarted with --clock-from-system, it dates what follows by the system
// clock, earlier. Times going back are what a corrected clock does: the
// chain and the checkpoints are intact, and the report says where the
// times went back. Nor is the checkpoint dated ahead taken for one its key
// signed after its retirement: the log's keys.rotate entry, which the hub
// writes before it switches keys, comes after it.
TEST_CASE(
    "a log whose times go back after a corrected forward step of the clock "
    "verifies, also across a later key rotation") {
  using namespace std::chrono_literals;
  TempDir dir;
  const TestSigningKey old_key("hk_old");
  const TestSigningKey new_key("hk_new");
  ManualClock clock;
  const TestSigningKey* signing = &old_key;
  SqliteStoreOptions o;
  o.db_path = dir.path() / "hub.db";
  o.clock = clock.AsClock();
  o.checkpoint_signer = [&](const CheckpointMessageBuilder& build) {
    return signing->Signer(clock.AsClock())(build);
  };
  o.checkpoint_every_entries = 5;
  auto store = OpenSqliteStore(o);
  REQUIRE(store.has_value());
  int n = 0;
  auto record = [&](const std::string& action, const std::string& details) {
    AuditEvent e;
    e.request_id = "r_" + std::to_string(++n);
    e.actor = "alpha";
    e.action = action;
    e.details = details;
    REQUIRE((*store)->RecordAuditAndWait(e).has_value());
    clock.Advance(7s);
  };
  auto queries = [&](int count) {
    for (int i = 0; i < count; ++i) {
      record("query", R"({"tokens":1,"matches":[]})");
    }
  };
  queries(5);           // checkpoint at 5
  clock.Advance(24h);   // a wrong forward step
  queries(5);           // checkpoint at 10, dated a day ahead
  clock.Advance(-24h);  // corrected; cairnd --clock-from-system
  queries(5);           // checkpoint at 15, dated before the one at 10
  const auto retired = clock.Now();
  record("keys.rotate", R"({"key_id":"hk_new","previous":"hk_old"})");
  signing = &new_key;
  queries(4);  // checkpoint at 20, by the new key

  AuditKeys keys = {
      {"hk_old", AuditKey{old_key.public_key, std::nullopt, retired}},
      {"hk_new", AuditKey{new_key.public_key, retired, std::nullopt}}};
  const auto ahead =
      sys_seconds{std::chrono::seconds{testing::kStart}} + 24h + 5 * 7s;
  {
    auto report = VerifyAuditLog(o.db_path, keys);
    REQUIRE(report.has_value());
    CAPTURE(report->problem);
    CHECK(report->intact);
    CHECK(report->entries == 20);
    CHECK(report->checkpoints == 4);
    CHECK(report->signed_seq == 20);
    // Where the times went back, and the latest time the log holds.
    CHECK(report->first_backward_seq == 11);
    REQUIRE(report->latest_at.has_value());
    CHECK(*report->latest_at == ahead + 4 * 7s);
    REQUIRE(report->last_at.has_value());
    CHECK(*report->last_at < *report->latest_at);
  }

  // The old key signing after its keys.rotate entry, dated after its
  // retirement, is still not genuine.
  signing = &old_key;
  clock.Advance(1h);
  queries(5);  // checkpoint at 25, by the retired key
  auto report = VerifyAuditLog(o.db_path, keys);
  REQUIRE(report.has_value());
  CAPTURE(report->problem);
  CHECK_FALSE(report->intact);
  CHECK_FALSE(report->unverifiable);
  CHECK(report->bad_seq == 21);
  CHECK_THAT(report->problem, Catch::Contains("checkpoint at 25: signed at") &&
                                  Catch::Contains("which was retired at"));
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

// A copy of `original` as a backup taken when its log ended at entry
// `backup_last` would be: later entries and their checkpoints are absent.
std::filesystem::path BackupAt(const TempDir& dir,
                               const std::filesystem::path& original,
                               std::uint64_t backup_last,
                               const std::string& name = "restored.db") {
  auto copy = dir.path() / name;
  std::filesystem::copy_file(original, copy,
                             std::filesystem::copy_options::overwrite_existing);
  const std::string after = std::to_string(backup_last);
  ExecSql(copy, "DELETE FROM audit_log WHERE seq > " + after +
                    "; DELETE FROM audit_checkpoints WHERE seq > " + after);
  return copy;
}

// Opens the store on `db_path` with `key` and lets it checkpoint, as
// cairnd does when it starts.
void SignNow(const std::filesystem::path& db_path, const TestSigningKey& key) {
  ManualClock clock;
  SqliteStoreOptions o;
  o.db_path = db_path;
  o.clock = clock.AsClock();
  o.checkpoint_signer = key.Signer(clock.AsClock());
  auto store = OpenSqliteStore(o);
  REQUIRE(store.has_value());
  REQUIRE((*store)->CheckpointIfDueAndWait().has_value());
}

// Appends an entry with a correct hash chained to the last one, as anyone
// who knows the encoding could: only its place and details can give it
// away.
void AppendForged(const std::filesystem::path& db_path, std::uint64_t seq,
                  const std::string& action, const std::string& details) {
  auto head = ReadAuditHead(db_path);
  REQUIRE(head.has_value());
  REQUIRE(head->has_value());
  auto db = Database::Open(db_path, false, false, std::chrono::seconds(5));
  REQUIRE(db.has_value());
  AuditEntryFields f;
  f.seq = seq;
  f.at = (*head)->at + 1;
  f.actor = "cairnctl";
  f.action = action;
  f.details = details;
  f.result = "ok";
  f.prev_hash = (*head)->hash;
  const AuditHash hash = HashAuditEntry(f);
  auto insert = (*db)->Prepare(
      "INSERT INTO audit_log (seq, at, actor, fingerprint, request_id,"
      " action, details, result, prev_hash, hash)"
      " VALUES (?1, ?2, ?3, '', '', ?4, ?5, 'ok', ?6, ?7)");
  REQUIRE(insert.has_value());
  insert->Bind(1, static_cast<std::int64_t>(seq))
      .Bind(2, f.at)
      .Bind(3, f.actor)
      .Bind(4, f.action)
      .Bind(5, f.details)
      .BindBlob(6, f.prev_hash)
      .BindBlob(7, hash);
  REQUIRE(insert->Run().has_value());
}

TEST_CASE(
    "a restore entry discloses the entries it discarded, and held "
    "checkpoints over them are not called tampering") {
  TempDir dir;
  TestSigningKey key;
  const auto original = MakeLog(dir, key);  // 20 entries, checkpoints 5..20
  const auto held = SavedCheckpoints(original);
  REQUIRE(held.size() == 4);
  auto replaced_head = ReadAuditHead(original);
  REQUIRE(replaced_head.has_value());
  REQUIRE(replaced_head->has_value());
  CHECK((*replaced_head)->seq == 20);

  // Restore a backup whose log ended at entry 10 (and its checkpoint) over
  // the original.
  const auto restored = BackupAt(dir, original, 10);
  auto entry = AppendRestoreEntry(restored, "cairn-backup.db",
                                  "cairn.db.replaced-20261207T104713Z",
                                  **replaced_head, testing::kStart + 1000);
  REQUIRE(entry.has_value());
  // No seq is used twice: the entry comes after both logs' last entries.
  CHECK(entry->seq == 21);
  CHECK(entry->declared.backup_last.seq == 10);
  const auto rows = testing::ReadAuditLog(restored);
  REQUIRE(rows.size() == 11);
  CHECK(rows.back().seq == 21);
  CHECK(rows.back().action == "hub.restore");
  CHECK(rows.back().actor == "cairnctl");
  auto parsed = ParseRestoreDetails(rows.back().details);
  REQUIRE(parsed.has_value());
  CHECK(parsed->backup == "cairn-backup.db");
  CHECK(parsed->backup_last.seq == 10);
  REQUIRE(parsed->replaced.has_value());
  CHECK(*parsed->replaced == "cairn.db.replaced-20261207T104713Z");
  REQUIRE(parsed->replaced_last.has_value());
  CHECK(parsed->replaced_last->seq == 20);
  CHECK(parsed->replaced_last->hash == (*replaced_head)->hash);

  // The restore entry is not signed yet: cairnctl has no key, so its
  // declaration is not trusted, and the missing entries cannot be
  // verified (not tampering, not intact).
  auto alone = VerifyAuditLog(restored, key.PublicKeys());
  REQUIRE(alone.has_value());
  CAPTURE(alone->problem);
  CHECK_FALSE(alone->intact);
  CHECK(alone->unverifiable);
  CHECK(alone->unsigned_restore_seq == 21);
  CHECK(alone->bad_seq == 11);
  CHECK(alone->problem ==
        "entries 11 to 20 missing; the restore entry at seq 21 declaring them "
        "discarded is not yet signed by any checkpoint, and until one covers "
        "it the declaration is only as trustworthy as the database file "
        "(start cairnd: it signs a restore entry when it opens the log, then "
        "verify again)");
  CHECK(alone->entries == 10);
  CHECK(alone->last_seq == 10);
  CHECK(alone->chain_last_seq == 21);
  CHECK(alone->restores.empty());
  CHECK(alone->signed_seq == 10);

  // Held checkpoints at 5 and 10 still match; those at 15 and 20 are over
  // the gap the unsigned entry declares: named, not explained away.
  auto with_held = VerifyAuditLog(restored, key.PublicKeys(), held);
  REQUIRE(with_held.has_value());
  CAPTURE(with_held->problem);
  CHECK_FALSE(with_held->intact);
  CHECK(with_held->unverifiable);
  CHECK(with_held->unsigned_restore_seq == 21);
  CHECK(with_held->hub_checkpoints == 2);
  CHECK(with_held->held_checkpoints == 2);
  CHECK(with_held->discarded_checkpoints.empty());
  CHECK(with_held->problem.find("verify again); held checkpoints at 15, 20 "
                                "cover entries in that gap") !=
        std::string::npos);

  // A held checkpoint at or below the backup's last entry must still
  // match: a rewrite before the restore is found as before.
  {
    const auto rewritten = dir.path() / "rewritten.db";
    std::filesystem::copy_file(restored, rewritten);
    ExecSql(rewritten, "UPDATE audit_log SET actor = 'gamma' WHERE seq = 8");
    Rechain(rewritten, 8);
    ExecSql(rewritten, "DELETE FROM audit_checkpoints");
    auto report = VerifyAuditLog(rewritten, key.PublicKeys(), held);
    REQUIRE(report.has_value());
    CAPTURE(report->problem);
    CHECK_FALSE(report->intact);
    CHECK(report->bad_seq == 6);
    CHECK(report->problem.find("held checkpoint at 10: head hash does not "
                               "match") != std::string::npos);
  }

  // A held checkpoint in the gap whose signature is not genuine is still
  // reported.
  {
    auto forged = held;
    forged[2].signature[0] ^= 1;
    auto report = VerifyAuditLog(restored, key.PublicKeys(), forged);
    REQUIRE(report.has_value());
    CHECK_FALSE(report->intact);
    CHECK(report->problem.find("held checkpoint at 15: signature invalid") !=
          std::string::npos);
  }

  // The hub's own checkpoints come with the backup: one inside the gap was
  // added afterwards.
  {
    const auto added = dir.path() / "added.db";
    std::filesystem::copy_file(restored, added);
    ExecSql(added, "ATTACH '" + original.string() +
                       "' AS o; INSERT INTO audit_checkpoints SELECT * FROM"
                       " o.audit_checkpoints WHERE seq = 15");
    auto report = VerifyAuditLog(added, key.PublicKeys());
    REQUIRE(report.has_value());
    CAPTURE(report->problem);
    CHECK_FALSE(report->intact);
    CHECK(report->problem.find("checkpoint at 15: it covers entry 15, which "
                               "the restore at seq 21") != std::string::npos);
  }

  // The hub opens the restored log: it signs the restore entry at its
  // first commit (AuditWriter::Load), and continues after it.
  ManualClock clock;
  clock.Advance(std::chrono::minutes(1));
  {
    SqliteStoreOptions o;
    o.db_path = restored;
    o.clock = clock.AsClock();
    o.checkpoint_signer = key.Signer(clock.AsClock());
    o.checkpoint_every_entries = 1000;
    o.checkpoint_interval = std::chrono::hours(1);
    auto store = OpenSqliteStore(o);
    REQUIRE(store.has_value());
    std::promise<void> done;
    (*store)->CheckpointIfDue([&done](const Status&) { done.set_value(); });
    done.get_future().wait();
    AuditEvent e;
    e.actor = "alpha";
    e.action = "query";
    e.details = "{\"tokens\":1,\"matches\":[]}";
    REQUIRE((*store)->RecordAuditAndWait(e).has_value());
  }
  const auto after = testing::ReadAuditLog(restored);
  REQUIRE(after.size() == 12);
  CHECK(after.back().seq == 22);
  CHECK(testing::QueryInt64(restored,
                            "SELECT count(*) FROM audit_checkpoints WHERE "
                            "seq = 21") == 1);

  // Signed, the restore is disclosed: intact.
  auto signed_alone = VerifyAuditLog(restored, key.PublicKeys());
  REQUIRE(signed_alone.has_value());
  CAPTURE(signed_alone->problem);
  CHECK(signed_alone->intact);
  CHECK(signed_alone->entries == 12);
  CHECK(signed_alone->last_seq == 22);
  CHECK(signed_alone->signed_seq == 21);
  REQUIRE(signed_alone->restores.size() == 1);
  CHECK(signed_alone->restores[0].seq == 21);
  CHECK(signed_alone->restores[0].backup == "cairn-backup.db");
  CHECK(signed_alone->restores[0].backup_last_seq == 10);
  CHECK(signed_alone->restores[0].replaced_last_seq ==
        std::optional<std::uint64_t>(20));
  CHECK(signed_alone->restores[0].discarded_from == 11);
  CHECK(signed_alone->restores[0].discarded_to == 20);

  // Held checkpoints at 15 and 20 describe discarded entries: disclosed,
  // not tampering.
  auto continued = VerifyAuditLog(restored, key.PublicKeys(), held);
  REQUIRE(continued.has_value());
  CAPTURE(continued->problem);
  CHECK(continued->intact);
  CHECK(continued->last_seq == 22);
  CHECK(continued->signed_seq == 21);
  CHECK(continued->hub_checkpoints == 3);
  CHECK(continued->held_checkpoints == 2);
  REQUIRE(continued->discarded_checkpoints.size() == 2);
  CHECK(continued->discarded_checkpoints[0].seq == 15);
  CHECK(continued->discarded_checkpoints[1].seq == 20);
  CHECK(continued->discarded_checkpoints[0].restore_seq == 21);
}

TEST_CASE(
    "a restore entry forged by someone without the hub's keys does not "
    "explain away deleted entries or held checkpoints") {
  TempDir dir;
  TestSigningKey key;
  const auto original = MakeLog(dir, key);  // 20 entries, checkpoints 5..20
  const auto held = SavedCheckpoints(original);
  auto real_head = ReadAuditHead(original);
  REQUIRE(real_head.has_value());
  // With write access to the database only: delete entries 11..20 and the
  // hub's checkpoints after 10, then append a restore entry declaring the
  // backup at 10 (its real hash) and a replaced database at 20.
  const auto forged = dir.path() / "forged.db";
  std::filesystem::copy_file(original, forged);
  ExecSql(forged,
          "DELETE FROM audit_log WHERE seq > 10;"
          " DELETE FROM audit_checkpoints WHERE seq > 10");
  auto entry = AppendRestoreEntry(forged, "cairn-backup.db", "cairn.db.old",
                                  **real_head, testing::kStart + 500);
  REQUIRE(entry.has_value());
  REQUIRE(entry->seq == 21);

  for (const bool with_held : {false, true}) {
    CAPTURE(with_held);
    auto report = with_held ? VerifyAuditLog(forged, key.PublicKeys(), held)
                            : VerifyAuditLog(forged, key.PublicKeys());
    REQUIRE(report.has_value());
    CAPTURE(report->problem);
    CHECK_FALSE(report->intact);
    CHECK(report->unverifiable);
    CHECK(report->unsigned_restore_seq == 21);
    CHECK(report->bad_seq == 11);
    CHECK(report->last_seq == 10);
    CHECK(report->signed_seq == 10);
    CHECK(report->restores.empty());
    CHECK(report->discarded_checkpoints.empty());
    CHECK(report->problem.find("entries 11 to 20 missing; the restore entry "
                               "at seq 21 declaring them discarded is not "
                               "yet signed by any checkpoint") !=
          std::string::npos);
    CHECK((report->problem.find("held checkpoints at 15, 20") !=
           std::string::npos) == with_held);
  }
}

TEST_CASE("a restore of a backup with an empty log, or into an empty log") {
  TempDir dir;
  TestSigningKey key;
  const auto original = MakeLog(dir, key);
  const auto held = SavedCheckpoints(original);
  auto replaced_head = ReadAuditHead(original);
  REQUIRE(replaced_head.has_value());

  SECTION("an empty backup log over 20 entries starts at 21") {
    const auto restored = BackupAt(dir, original, 0);
    auto entry = AppendRestoreEntry(restored, "b.db", "r.db", **replaced_head,
                                    testing::kStart);
    REQUIRE(entry.has_value());
    CHECK(entry->seq == 21);
    auto unsigned_report = VerifyAuditLog(restored, key.PublicKeys(), held);
    REQUIRE(unsigned_report.has_value());
    CHECK_FALSE(unsigned_report->intact);
    CHECK(unsigned_report->unsigned_restore_seq == 21);
    CHECK(unsigned_report->problem.find("entries 1 to 20 missing") == 0);
    CHECK(unsigned_report->entries == 0);
    CHECK(unsigned_report->discarded_checkpoints.empty());
    SignNow(restored, key);
    auto report = VerifyAuditLog(restored, key.PublicKeys(), held);
    REQUIRE(report.has_value());
    CAPTURE(report->problem);
    CHECK(report->intact);
    CHECK(report->entries == 1);
    CHECK(report->discarded_checkpoints.size() == 4);
    REQUIRE(report->restores.size() == 1);
    CHECK(report->restores[0].discarded_from == 1);
  }
  SECTION("a restore into an empty data directory continues the backup") {
    const auto restored = BackupAt(dir, original, 12);
    auto entry = AppendRestoreEntry(restored, "b.db", std::nullopt,
                                    std::nullopt, testing::kStart);
    REQUIRE(entry.has_value());
    CHECK(entry->seq == 13);
    // No gap: nothing depends on the unsigned declaration.
    auto report = VerifyAuditLog(restored, key.PublicKeys());
    REQUIRE(report.has_value());
    CAPTURE(report->problem);
    CHECK(report->intact);
    CHECK(report->signed_seq == 10);
    REQUIRE(report->restores.size() == 1);
    CHECK_FALSE(report->restores[0].replaced_last_seq.has_value());
    CHECK(report->restores[0].discarded_to <
          report->restores[0].discarded_from);
  }
  SECTION("a backup older than the audit log gets the audit tables") {
    const auto old = dir.path() / "schema2.db";
    {
      auto db = Database::Open(old, true, false, std::chrono::seconds(5));
      REQUIRE(db.has_value());
      REQUIRE(MigrateSchema(**db, 2).has_value());
    }
    auto entry = AppendRestoreEntry(old, "b.db", "r.db", **replaced_head,
                                    testing::kStart);
    REQUIRE(entry.has_value());
    CHECK(entry->seq == 21);
    auto unsigned_report = VerifyAuditLog(old, key.PublicKeys());
    REQUIRE(unsigned_report.has_value());
    CHECK(unsigned_report->has_audit_log);
    CHECK_FALSE(unsigned_report->intact);
    CHECK(unsigned_report->unsigned_restore_seq == 21);
    SignNow(old, key);
    auto report = VerifyAuditLog(old, key.PublicKeys());
    REQUIRE(report.has_value());
    CAPTURE(report->problem);
    CHECK(report->has_audit_log);
    CHECK(report->intact);
    CHECK(report->last_seq == 21);
  }
}

TEST_CASE(
    "a gap no restore entry declares is still deleted entries, and a "
    "restore entry that declares the wrong seqs is rejected") {
  TempDir dir;
  TestSigningKey key;
  const auto original = MakeLog(dir, key);
  auto replaced_head = ReadAuditHead(original);
  REQUIRE(replaced_head.has_value());
  auto declare = [&](std::uint64_t backup_last, std::uint64_t replaced_last) {
    RestoreDeclaration d;
    d.backup = "b.db";
    d.backup_last.seq = backup_last;
    d.replaced_last = AuditHead{replaced_last, (*replaced_head)->hash, 0};
    return d;
  };
  struct Case {
    const char* name;
    std::uint64_t seq;    // of the entry appended after entry 12
    const char* action;   // its action
    std::string details;  // its details
    std::uint64_t bad_seq;
    const char* problem;
  };
  const auto restore_at_12 = [&](std::uint64_t b, std::uint64_t r) {
    auto d = declare(b, r);
    // The hash of entry 12 as the backup holds it.
    auto head = ReadAuditHead(BackupAt(dir, original, 12, "head.db"));
    REQUIRE(head.has_value());
    d.backup_last = **head;
    d.backup_last.seq = b;
    return EncodeRestoreDetails(d);
  };
  const Case cases[] = {
      {"entries deleted, the next one renumbered and rechained", 21, "query",
       "{\"tokens\":1,\"matches\":[]}", 13, "entry 13 missing (gap after 12)"},
      {"a restore entry declaring a larger replaced log", 21, "hub.restore",
       restore_at_12(12, 25), 13,
       "entry 13 missing (gap after 12); entry 21 is a restore entry, but it "
       "declares the backup at seq 12 and the replaced database at seq 25, "
       "not the backup at seq 12 and the replaced database at seq 20"},
      {"a restore entry declaring another backup head", 21, "hub.restore",
       restore_at_12(10, 20), 13,
       "entry 21 is a restore entry, but it declares the backup at seq 10"},
      {"a restore entry whose details are not a declaration", 21, "hub.restore",
       "{}", 13,
       "entry 21 is a restore entry, but its details are not a restore "
       "declaration"},
      {"a restore entry with no gap that declares one", 13, "hub.restore",
       restore_at_12(12, 20), 13,
       "entry 13: a restore entry that declares the backup at seq 12 and the "
       "replaced database at seq 20, which does not match its place"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    const auto copy = BackupAt(dir, original, 12, "copy.db");
    AppendForged(copy, c.seq, c.action, c.details);
    auto report = VerifyAuditLog(copy, key.PublicKeys());
    REQUIRE(report.has_value());
    CAPTURE(report->problem);
    CHECK_FALSE(report->intact);
    CHECK_FALSE(report->unverifiable);
    CHECK(report->bad_seq == c.bad_seq);
    CHECK(report->problem.find(c.problem) != std::string::npos);
    CHECK(report->last_seq == 12);
    CHECK(report->entries == 12);
    CHECK(report->restores.empty());
  }
}

}  // namespace
}  // namespace cairn::server
