// The start-up checks that keep cairnd from making new keys for a database
// that depends on old ones (server/src/store/key_use.h).
#include "server/src/store/key_use.h"

#include <catch2/catch.hpp>

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

}  // namespace
}  // namespace cairn::server
