// The start-up checks that keep cairnd from making new keys for a database
// that depends on old ones (server/src/store/key_use.h).
#include "server/src/store/key_use.h"

#include <catch2/catch.hpp>

#include "cairn/encoding.h"
#include "cairn/timestamp.h"
#include "store_test_util.h"

namespace cairn::server {
namespace {

using Catch::Contains;

TEST_CASE("key checks pass a database that depends on no key") {
  const KeyUse none;
  CHECK(MayCreateSigningKey(none, "/k").has_value());
  CHECK(SigningKeysCoverDatabase(none, {}, "/k").has_value());
  CHECK(MayCreateOprfKey(none, "/o").has_value());
  CHECK(OprfKeysCoverDatabase(none, 0, "/o").has_value());
}

TEST_CASE("key checks refuse keys that do not cover the database") {
  KeyUse use;
  use.checkpoints = 12;
  use.newest_checkpoint_key = "hk_0123456789abcdef";
  use.active_voprf_signals = 3;
  use.newest_voprf_epoch = 2;

  auto no_signing = MayCreateSigningKey(use, "/k");
  REQUIRE_FALSE(no_signing.has_value());
  CHECK(no_signing.error().code == ErrorCode::kConflict);
  CHECK_THAT(no_signing.error().message,
             Contains("holds 12 audit checkpoints (the newest signed by "
                      "hk_0123456789abcdef)"));
  CHECK_THAT(no_signing.error().message, Contains("--allow-new-keys"));

  CHECK(SigningKeysCoverDatabase(use, {"hk_old", "hk_0123456789abcdef"}, "/k")
            .has_value());
  auto other = SigningKeysCoverDatabase(use, {"hk_other"}, "/k");
  REQUIRE_FALSE(other.has_value());
  CHECK_THAT(other.error().message, Contains("not among the 1 keys in /k"));

  auto no_oprf = MayCreateOprfKey(use, "/o");
  REQUIRE_FALSE(no_oprf.has_value());
  CHECK_THAT(no_oprf.error().message,
             Contains("3 active voprf-v1 signals (newest epoch 2)"));

  CHECK(OprfKeysCoverDatabase(use, 2, "/o").has_value());
  CHECK(OprfKeysCoverDatabase(use, 3, "/o").has_value());
  auto older = OprfKeysCoverDatabase(use, 1, "/o");
  REQUIRE_FALSE(older.has_value());
  CHECK_THAT(older.error().message,
             Contains("signals of epoch 2, but the newest key in /o is epoch "
                      "1"));
}

TEST_CASE("ReadKeyUse counts active voprf-v1 signals, and only when asked") {
  testing::StoreFixture f;
  f.ReopenWith([](SqliteStoreOptions& o) {
    o.accepted_schemes = {TokenScheme::kHmacV1, TokenScheme::kVoprfV1};
  });
  SubmitCommand c;
  c.member_id = "alpha";
  c.items.push_back(testing::Signal(1));  // hmac-v1: needs no OPRF key
  for (const std::uint32_t epoch : {1U, 2U, 3U}) {
    auto item = testing::Signal(10 + static_cast<int>(epoch));
    item.key.scheme = TokenScheme::kVoprfV1;
    item.key.epoch = epoch;
    c.items.push_back(item);
  }
  auto submitted = f.store().SubmitAndWait(c);
  REQUIRE(submitted.has_value());
  for (const auto& r : submitted->results) {
    REQUIRE(r.status == SubmitStatus::kCreated);
  }
  f.store_ptr().reset();
  const auto db = f.dir.path() / "hub.db";
  // A retracted signal no longer needs its epoch's key.
  testing::ExecSql(db, "UPDATE signals SET status = 1 WHERE epoch = 3");

  auto use = ReadKeyUse(db, /*voprf_signals=*/true);
  REQUIRE(use.has_value());
  CHECK(use->active_voprf_signals == 2);
  CHECK(use->newest_voprf_epoch == 2);
  CHECK(use->active_voprf_by_epoch ==
        std::map<std::uint32_t, std::int64_t>{{1, 1}, {2, 1}});
  CHECK(use->recorded_oprf_keys.empty());

  // Without [oprf] the hub runs no OPRF check, so the scan is skipped.
  auto skipped = ReadKeyUse(db, /*voprf_signals=*/false);
  REQUIRE(skipped.has_value());
  CHECK(skipped->active_voprf_signals == 0);
  CHECK(skipped->newest_voprf_epoch == 0);
  CHECK(skipped->checkpoints == use->checkpoints);
}

// One submission (so the log has an entry), then the store closed: the
// database file ReadKeyUse reads at start-up.
std::filesystem::path SubmitOneAndClose(testing::StoreFixture& f) {
  SubmitCommand c;
  c.member_id = "alpha";
  c.items.push_back(testing::Signal(1));
  REQUIRE(f.store().SubmitAndWait(c).has_value());
  f.store_ptr().reset();
  return f.dir.path() / "hub.db";
}

TEST_CASE("ReadKeyUse reads the time of the newest audit entry") {
  testing::StoreFixture f;
  const auto db = SubmitOneAndClose(f);
  // The newest entry by seq, not the largest time: 2031-01-01 on the last
  // entry, a later time on an earlier one.
  testing::ExecSql(db,
                   "UPDATE audit_log SET at = 1924992000 WHERE seq = "
                   "(SELECT max(seq) FROM audit_log)");
  testing::ExecSql(db,
                   "UPDATE audit_log SET at = 1956528000 WHERE seq = "
                   "(SELECT min(seq) FROM audit_log)");
  auto use = ReadKeyUse(db, /*voprf_signals=*/false);
  REQUIRE(use.has_value());
  REQUIRE(use->newest_audit_at.has_value());
  CHECK(use->newest_audit_at->time_since_epoch().count() == 1924992000);
}

TEST_CASE("ReadKeyUse reads the key and time of the newest checkpoint") {
  testing::StoreFixture f;
  const auto db = SubmitOneAndClose(f);
  {
    auto none = ReadKeyUse(db, /*voprf_signals=*/false);
    REQUIRE(none.has_value());
    CHECK(none->newest_checkpoint_key.empty());
    CHECK_FALSE(none->newest_checkpoint_at.has_value());
  }
  // The newest by seq: its time is what the keyring signed last (the
  // keyring's time never goes back), even where an older row says later.
  testing::ExecSql(db,
                   "INSERT INTO audit_checkpoints (seq, head_hash, at, key_id,"
                   " signature) VALUES (1, x'00', 1956528000, 'hk_old', x'00'),"
                   " (2, x'00', 1924992000, 'hk_new', x'00')");
  auto use = ReadKeyUse(db, /*voprf_signals=*/false);
  REQUIRE(use.has_value());
  CHECK(use->checkpoints == 2);
  CHECK(use->newest_checkpoint_key == "hk_new");
  REQUIRE(use->newest_checkpoint_at.has_value());
  CHECK(use->newest_checkpoint_at->time_since_epoch().count() == 1924992000);
}

TEST_CASE(
    "ReadKeyUse reads the newest recorded deletion hold within the hold of "
    "the newest entry") {
  testing::StoreFixture f;
  auto record = [&f](const std::string& details) {
    AuditEvent e;
    e.actor = "hub";
    e.action = "hub.clock_step";
    e.details = details;
    REQUIRE(f.store().RecordAuditAndWait(e).has_value());
  };
  record(
      "{\"direction\":\"forward\",\"step_seconds\":600,\"system_time\":"
      "\"2031-01-01T00:00:00Z\",\"hold_until\":\"2031-01-01T01:00:00Z\"}");
  record(
      "{\"direction\":\"forward\",\"step_seconds\":700,\"system_time\":"
      "\"2031-01-01T00:10:00Z\",\"hold_until\":\"2031-01-01T01:10:00Z\"}");
  // A backward step holds nothing: the forward one before it stands.
  record(
      "{\"direction\":\"backward\",\"step_seconds\":90,\"system_time\":"
      "\"2031-01-01T00:11:00Z\"}");
  const auto db = SubmitOneAndClose(f);
  const std::int64_t t0 = 1924992000;  // 2031-01-01T00:00:00Z
  auto date = [&db](const char* action, std::int64_t at) {
    testing::ExecSql(db, "UPDATE audit_log SET at = " + std::to_string(at) +
                             " WHERE action = '" + action + "'");
  };
  date("hub.clock_step", t0);
  date("submit", t0 + 3600);
  auto use = ReadKeyUse(db, /*voprf_signals=*/false);
  REQUIRE(use.has_value());
  REQUIRE(use->recorded_hold_until.has_value());
  CHECK(FormatTimestamp(*use->recorded_hold_until) == "2031-01-01T01:10:00Z");
  CHECK(use->recorded_hold_seq ==
        static_cast<std::uint64_t>(
            testing::QueryInt64(db,
                                "SELECT seq FROM audit_log WHERE details LIKE "
                                "'%\"step_seconds\":700%'")));

  // More than the hold before the newest entry: that hold is over.
  date("submit", t0 + 3601);
  use = ReadKeyUse(db, /*voprf_signals=*/false);
  REQUIRE(use.has_value());
  CHECK_FALSE(use->recorded_hold_until.has_value());
}

TEST_CASE(
    "ReadKeyUse finds recorded holds through the partial index, not by "
    "reading the log") {
  testing::StoreFixture f;  // opens, so migrates to the newest schema
  f.store_ptr().reset();
  const std::string details =
      cairn::testing::QueryPlan(f.dir.path() / "hub.db", kRecordedHoldQuery);
  INFO(details);
  CHECK_THAT(details, Contains("INDEX audit_clock_steps"));
  CHECK_THAT(details, !Contains("TEMP B-TREE"));  // no sort of the log
}

oprf::Element KeyOf(std::uint8_t fill) {
  oprf::Element e;
  e.fill(fill);
  return e;
}

TEST_CASE("ReadKeyUse reads the OPRF public keys the store recorded") {
  testing::StoreFixture f;
  f.ReopenWith([](SqliteStoreOptions& o) {
    o.voprf_epochs = {1, 2};
    o.voprf_public_keys = {{1, KeyOf(1)}, {2, KeyOf(2)}};
  });
  f.store_ptr().reset();
  auto use = ReadKeyUse(f.dir.path() / "hub.db", /*voprf_signals=*/true);
  REQUIRE(use.has_value());
  CHECK(use->recorded_oprf_keys ==
        std::map<std::uint32_t, oprf::Element>{{1, KeyOf(1)}, {2, KeyOf(2)}});
}

TEST_CASE("OPRF keys must be the ones recorded for the epochs signals use") {
  const std::filesystem::path dir = "/var/lib/cairn/oprf";
  KeyUse use;
  use.active_voprf_signals = 5;
  use.newest_voprf_epoch = 2;
  use.active_voprf_by_epoch = {{1, 3}, {2, 2}};
  use.recorded_oprf_keys = {{1, KeyOf(1)}, {2, KeyOf(2)}, {3, KeyOf(3)}};
  constexpr const char* kChanged = "is not the one this database recorded";
  constexpr const char* kForeign = "none of which this database recorded";
  struct Case {
    const char* name;
    std::map<std::uint32_t, oprf::Element> found;
    const char* refusal;  // nullptr: accepted
  };
  const Case cases[] = {
      {"the recorded keys", {{1, KeyOf(1)}, {2, KeyOf(2)}}, nullptr},
      {"a new epoch next to them", {{2, KeyOf(2)}, {4, KeyOf(4)}}, nullptr},
      // A rotation to epoch 3, announced by a restart (which recorded it),
      // then the old epoch files deleted: the signals of epochs 1 and 2
      // stay until they expire or are retracted.
      {"the old epoch files deleted after a rotation",
       {{3, KeyOf(3)}},
       nullptr},
      {"the same, with a newer epoch not yet announced",
       {{3, KeyOf(3)}, {4, KeyOf(4)}},
       nullptr},
      // Finding 5(b): the record of an epoch without active signals is
      // what members' cached tokens of that epoch were made with.
      {"an epoch no active signal uses differs",
       {{2, KeyOf(2)}, {3, KeyOf(9)}},
       kChanged},
      {"epoch 2 made again", {{1, KeyOf(1)}, {2, KeyOf(7)}}, kChanged},
      {"another hub's epoch 1", {{1, KeyOf(8)}}, kChanged},
      // Finding 5(a): every epoch newer than the signals', none recorded
      // (OprfKeysCoverDatabase lets it through: 5 >= 2).
      {"another hub's newer epochs", {{4, KeyOf(4)}, {5, KeyOf(5)}}, kForeign},
      {"the old epoch files deleted before the new epoch was announced",
       {{4, KeyOf(4)}},
       kForeign},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    const Status s = OprfKeysMatchRecord(use, c.found, dir);
    CHECK(s.has_value() == (c.refusal == nullptr));
    if (c.refusal != nullptr && !s) {
      CHECK(s.error().code == ErrorCode::kConflict);
      CHECK_THAT(s.error().message,
                 Catch::Contains(c.refusal) && Catch::Contains(dir.string()) &&
                     Catch::Contains("restore the OPRF directory") &&
                     Catch::Contains("--allow-new-keys"));
    }
  }
  // The message names the epoch, both keys, and what depends on it.
  const Status unused = OprfKeysMatchRecord(use, {{3, KeyOf(9)}}, dir);
  REQUIRE_FALSE(unused.has_value());
  CHECK_THAT(
      unused.error().message,
      Contains("the OPRF key of epoch 3 in " + dir.string() + " (public key " +
               HexEncode(KeyOf(9)) + ")") &&
          Contains("recorded for that epoch (" + HexEncode(KeyOf(3)) + ")") &&
          Contains("cache"));
  const Status two =
      OprfKeysMatchRecord(use, {{1, KeyOf(8)}, {2, KeyOf(8)}}, dir);
  REQUIRE_FALSE(two.has_value());
  CHECK_THAT(two.error().message,
             Contains("its 3 active voprf-v1 signals of that epoch") &&
                 Contains("the keys of epochs 2 differ from the record too"));
  const Status foreign =
      OprfKeysMatchRecord(use, {{4, KeyOf(4)}, {5, KeyOf(5)}}, dir);
  REQUIRE_FALSE(foreign.has_value());
  CHECK_THAT(foreign.error().message,
             Contains("2 active voprf-v1 signals of epoch 2") &&
                 Contains("holds epochs 4, 5"));

  // Without active signals a foreign directory loses nothing that matches.
  KeyUse idle = use;
  idle.active_voprf_signals = 0;
  idle.newest_voprf_epoch = 0;
  idle.active_voprf_by_epoch.clear();
  CHECK(OprfKeysMatchRecord(idle, {{4, KeyOf(4)}}, dir).has_value());
  // A database from before the record (schema < 8) has nothing to compare.
  use.recorded_oprf_keys.clear();
  CHECK(OprfKeysMatchRecord(use, {{1, KeyOf(8)}}, dir).has_value());
  CHECK(OprfKeysMatchRecord(use, {{4, KeyOf(4)}}, dir).has_value());
}

TEST_CASE("the store replaces a recorded OPRF key only when told to") {
  testing::StoreFixture f;
  f.ReopenWith([](SqliteStoreOptions& o) {
    o.voprf_epochs = {1, 2};
    o.voprf_public_keys = {{1, KeyOf(1)}, {2, KeyOf(2)}};
  });
  f.store_ptr().reset();
  const auto db = f.dir.path() / "hub.db";

  f.customise = [](SqliteStoreOptions& o) {
    o.voprf_epochs = {1, 2, 3};
    o.voprf_public_keys = {{1, KeyOf(1)}, {2, KeyOf(7)}, {3, KeyOf(3)}};
  };
  auto refused = OpenSqliteStore(f.Options());
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().code == ErrorCode::kConflict);
  CHECK_THAT(refused.error().message,
             Contains("the OPRF key of epoch 2 (" + HexEncode(KeyOf(7)) +
                      ") is not the one") &&
                 Contains("(" + HexEncode(KeyOf(2)) + ")") &&
                 Contains("--allow-new-keys"));
  auto unchanged = ReadKeyUse(db, /*voprf_signals=*/true);
  REQUIRE(unchanged.has_value());
  // Nothing of the refused open was recorded, not even the new epoch 3.
  CHECK(unchanged->recorded_oprf_keys ==
        std::map<std::uint32_t, oprf::Element>{{1, KeyOf(1)}, {2, KeyOf(2)}});

  f.customise = [](SqliteStoreOptions& o) {
    o.voprf_epochs = {1, 2, 3};
    o.voprf_public_keys = {{1, KeyOf(1)}, {2, KeyOf(7)}, {3, KeyOf(3)}};
    o.replace_recorded_oprf_keys = true;
  };
  auto replaced = OpenSqliteStore(f.Options());
  REQUIRE(replaced.has_value());
  replaced->reset();
  auto after = ReadKeyUse(db, /*voprf_signals=*/true);
  REQUIRE(after.has_value());
  CHECK(after->recorded_oprf_keys ==
        std::map<std::uint32_t, oprf::Element>{
            {1, KeyOf(1)}, {2, KeyOf(7)}, {3, KeyOf(3)}});
}

}  // namespace
}  // namespace cairn::server
