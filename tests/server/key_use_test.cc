// The start-up checks that keep cairnd from making new keys for a database
// that depends on old ones (server/src/store/key_use.h).
#include "server/src/store/key_use.h"

#include <catch2/catch.hpp>

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

  // Without [oprf] the hub runs no OPRF check, so the scan is skipped.
  auto skipped = ReadKeyUse(db, /*voprf_signals=*/false);
  REQUIRE(skipped.has_value());
  CHECK(skipped->active_voprf_signals == 0);
  CHECK(skipped->newest_voprf_epoch == 0);
  CHECK(skipped->checkpoints == use->checkpoints);
}

}  // namespace
}  // namespace cairn::server
