// HubKeyring (server/src/keys/): creating, reopening and rotating keys on
// disk, refusing unsafe private key files, and receipts signed with it.
#include "server/src/keys/hub_keyring.h"

#include <sodium.h>
#include <sys/stat.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <mutex>
#include <thread>

#include <catch2/catch.hpp>

#include "cairn/receipt.h"
#include "cairn/timestamp.h"
#include "server/src/audit/audit_verify.h"
#include "server/src/keys/checkpoint_signer.h"
#include "server/src/keys/receipt_signer.h"
#include "server/src/store/audit_chain.h"
#include "server/src/store/store.h"
#include "support/catch_result.h"
#include "support/process.h"

namespace cairn::server {
namespace {

namespace fs = std::filesystem;

// A clock the test moves by hand.
struct ManualClock {
  std::shared_ptr<sys_seconds> now =
      std::make_shared<sys_seconds>(*ParseTimestamp("2026-11-23T10:00:00Z"));
  Clock AsClock() const {
    return [now = now] { return *now; };
  }
};

mode_t ModeOf(const fs::path& file) {
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

TEST_CASE("keyring: created when empty, reopened unchanged", "[keys]") {
  testing::TempDir tmp("cairn-keys");
  const fs::path dir = fs::path(tmp.path()) / "keys";
  ManualClock clock;

  CHECK(HubKeyring::Open(dir, false, clock.AsClock()).error().code ==
        ErrorCode::kNotFound);
  auto ring = HubKeyring::Open(dir, true, clock.AsClock());
  REQUIRE(ring);
  const auto keys = (*ring)->PublicKeys();
  REQUIRE(keys.size() == 1);
  const HubPublicKey& key = keys.front();
  CHECK(key.key_id.size() == 3 + 16);
  CHECK(key.key_id.rfind("hk_", 0) == 0);
  CHECK(key.valid_from == *clock.now);
  CHECK_FALSE(key.valid_until);
  CHECK(ModeOf(dir / (key.key_id + ".key")) == 0600);
  CHECK(ModeOf(dir) == 0700);

  auto again = HubKeyring::Open(dir, false, clock.AsClock());
  REQUIRE(again);
  CHECK((*again)->PublicKeys() == keys);
  auto offline = LoadHubPublicKeys(dir);
  REQUIRE(offline);
  CHECK(*offline == keys);

  // Signatures verify under the published key.
  const std::uint8_t message[] = {1, 2, 3};
  const HubSignature sig = (*again)->Sign(message);
  CHECK(sig.key_id == key.key_id);
  CHECK(crypto_sign_verify_detached(sig.signature.data(), message,
                                    sizeof message,
                                    key.public_key.data()) == 0);
}

TEST_CASE("keyring: rotation keeps old keys published with validity",
          "[keys]") {
  testing::TempDir tmp("cairn-keys");
  const fs::path dir = fs::path(tmp.path()) / "keys";
  ManualClock clock;
  auto ring = HubKeyring::Open(dir, true, clock.AsClock());
  REQUIRE(ring);
  const std::string first = (*ring)->PublicKeys().front().key_id;

  // A receipt signed before the rotation.
  const std::string body = R"({"queries":[]})";
  wire::Receipt old_receipt =
      SignReceipt(**ring, "alpha", "r_" + std::string(32, '1'), kQueryEndpoint,
                  Sha256Hex(body), ResultsDigest(std::vector<wire::Match>{}));
  CHECK(old_receipt.key_id == first);

  *clock.now += std::chrono::hours(24);
  auto rotated = (*ring)->Rotate();
  REQUIRE(rotated);
  CHECK(rotated->key_id != first);
  CHECK(rotated->valid_from == *clock.now);
  auto keys = (*ring)->PublicKeys();
  REQUIRE(keys.size() == 2);
  CHECK(keys[0].key_id == rotated->key_id);
  CHECK_FALSE(keys[0].valid_until);
  CHECK(keys[1].key_id == first);
  REQUIRE(keys[1].valid_until);
  CHECK(*keys[1].valid_until == *clock.now);

  // Reopened from disk: the same two keys, the new one current.
  auto reopened = HubKeyring::Open(dir, false, clock.AsClock());
  REQUIRE(reopened);
  CHECK((*reopened)->PublicKeys() == keys);
  CHECK((*reopened)->Sign(std::span<const std::uint8_t>{}).key_id ==
        rotated->key_id);

  // The old receipt still verifies against the published keys; a new one
  // names the new key.
  const auto wire_keys = ToWireKeys(keys);
  ReceiptExpectation expected;
  expected.endpoint = std::string(kQueryEndpoint);
  expected.request_id = old_receipt.request_id;
  expected.results_digest = ResultsDigest(std::vector<wire::Match>{});
  expected.member = "alpha";
  expected.request_digest = Sha256Hex(body);
  CHECK(VerifyReceipt(old_receipt, expected, wire_keys));
  wire::Receipt new_receipt =
      SignReceipt(**reopened, "alpha", old_receipt.request_id, kQueryEndpoint,
                  Sha256Hex(body), expected.results_digest);
  CHECK(new_receipt.key_id == rotated->key_id);
  CHECK(VerifyReceipt(new_receipt, expected, wire_keys));

  // A receipt dated after the old key's retirement but naming it is
  // refused.
  wire::Receipt late = old_receipt;
  late.at = *clock.now + std::chrono::seconds(1);
  CHECK_FALSE(VerifyReceipt(late, expected, wire_keys));
}

TEST_CASE("keyring: refuses unsafe or broken key files", "[keys][bad]") {
  struct Case {
    const char* name;
    std::function<void(const fs::path& dir, const std::string& key_id)> damage;
    ErrorCode code;
    const char* message;
  };
  const Case cases[] = {
      {"private key readable by others (0644)",
       [](const fs::path& dir, const std::string& id) {
         fs::permissions(dir / (id + ".key"),
                         fs::perms::owner_read | fs::perms::owner_write |
                             fs::perms::group_read | fs::perms::others_read);
       },
       ErrorCode::kPermissionDenied, "chmod 600"},
      {"private key writable by group (0620)",
       [](const fs::path& dir, const std::string& id) {
         fs::permissions(dir / (id + ".key"), fs::perms::owner_read |
                                                  fs::perms::owner_write |
                                                  fs::perms::group_write);
       },
       ErrorCode::kPermissionDenied, "chmod 600"},
      {"private key of another pair",
       [](const fs::path& dir, const std::string& id) {
         std::ofstream(dir / (id + ".key"), std::ios::trunc)
             << std::string(64, '7') << "\n";
       },
       ErrorCode::kInvalidArgument, "does not belong"},
      {"private key not hex",
       [](const fs::path& dir, const std::string& id) {
         std::ofstream(dir / (id + ".key"), std::ios::trunc) << "secret\n";
       },
       ErrorCode::kInvalidArgument, "not a hub private key"},
      {"public key file not TOML",
       [](const fs::path& dir, const std::string& id) {
         std::ofstream(dir / (id + ".pub"), std::ios::trunc) << "key_id = [";
       },
       ErrorCode::kInvalidArgument, "not valid TOML"},
      {"public key file renamed",
       [](const fs::path& dir, const std::string& id) {
         fs::rename(dir / (id + ".pub"), dir / "hk_0000000000000000.pub");
       },
       ErrorCode::kInvalidArgument, "file name must be the key id"},
      {"private key missing",
       [](const fs::path& dir, const std::string& id) {
         fs::remove(dir / (id + ".key"));
       },
       ErrorCode::kIo, "cannot stat"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    testing::TempDir tmp("cairn-keys");
    const fs::path dir = fs::path(tmp.path()) / "keys";
    ManualClock clock;
    auto ring = HubKeyring::Open(dir, true, clock.AsClock());
    REQUIRE(ring);
    const std::string id = (*ring)->PublicKeys().front().key_id;
    c.damage(dir, id);
    auto reopened = HubKeyring::Open(dir, true, clock.AsClock());
    REQUIRE_FALSE(reopened);
    CAPTURE(reopened.error().message);
    CHECK(reopened.error().code == c.code);
    CHECK(reopened.error().message.find(c.message) != std::string::npos);
  }
}

TEST_CASE("keyring: public keys load without private keys", "[keys]") {
  testing::TempDir tmp("cairn-keys");
  const fs::path dir = fs::path(tmp.path()) / "keys";
  ManualClock clock;
  auto ring = HubKeyring::Open(dir, true, clock.AsClock());
  REQUIRE(ring);
  REQUIRE((*ring)->Rotate());
  for (const auto& k : (*ring)->PublicKeys()) {
    fs::remove(dir / (k.key_id + ".key"));
  }
  auto keys = LoadHubPublicKeys(dir);
  REQUIRE(keys);
  CHECK(keys->size() == 2);
  CHECK(LoadHubPublicKeys(dir / "missing").error().code ==
        ErrorCode::kNotFound);
}

// The published key `key_id` among `keys`; fails the test if absent.
HubPublicKey KeyNamed(const std::vector<HubPublicKey>& keys,
                      const std::string& key_id) {
  for (const auto& k : keys) {
    if (k.key_id == key_id) return k;
  }
  FAIL("key " << key_id << " is not published");
  return {};
}

TEST_CASE(
    "keyring: a receipt signed while the key rotates is dated within the "
    "validity of the key that signed it",
    "[keys][rotate]") {
  testing::TempDir tmp("cairn-keys");
  const fs::path dir = fs::path(tmp.path()) / "keys";
  // The clock reads S until the receipt's signer reads it; that read moves
  // it to S+1, starts a rotation on another thread and waits until the
  // rotation has read the clock (S+1), bounded by 2 s. A signer that takes
  // its time outside the keyring's lock then gets S and chooses the key
  // the rotation made, valid only from S+1. One that takes it under the
  // lock keeps the rotation out until the key is chosen (the wait runs out
  // and proves nothing either way).
  struct Race {
    std::mutex mutex;
    std::condition_variable changed;
    sys_seconds now = *ParseTimestamp("2026-11-23T10:00:00Z");
    bool armed = false;
    bool rotating = false;
    bool rotation_read = false;
    std::function<void()> start_rotation;
  } race;
  Clock clock = [&race] {
    std::unique_lock lock(race.mutex);
    const sys_seconds now = race.now;
    if (!race.armed) {
      if (race.rotating) race.rotation_read = true;
      race.changed.notify_all();
      return now;
    }
    race.armed = false;
    race.rotating = true;
    race.now += std::chrono::seconds(1);
    lock.unlock();
    race.start_rotation();
    lock.lock();
    race.changed.wait_for(lock, std::chrono::seconds(2),
                          [&race] { return race.rotation_read; });
    return now;
  };
  auto ring = HubKeyring::Open(dir, true, clock);
  REQUIRE(ring);
  const std::string first = (*ring)->PublicKeys().front().key_id;
  std::thread rotation;
  Result<HubPublicKey> rotated = MakeError(ErrorCode::kInternal, "not run");
  race.start_rotation = [&] {
    rotation = std::thread([&] { rotated = (*ring)->Rotate(); });
  };
  {
    std::lock_guard lock(race.mutex);
    race.armed = true;
  }

  const std::string body = R"({"queries":[]})";
  const wire::Receipt receipt =
      SignReceipt(**ring, "alpha", "r_" + std::string(32, '2'), kQueryEndpoint,
                  Sha256Hex(body), ResultsDigest(std::vector<wire::Match>{}));
  rotation.join();
  REQUIRE(rotated);

  const auto keys = (*ring)->PublicKeys();
  REQUIRE(keys.size() == 2);
  const HubPublicKey signer = KeyNamed(keys, receipt.key_id);
  CAPTURE(FormatTimestamp(receipt.at), FormatTimestamp(signer.valid_from));
  CHECK(receipt.at >= signer.valid_from);
  CHECK((!signer.valid_until || receipt.at <= *signer.valid_until));
  ReceiptExpectation expected;
  expected.endpoint = std::string(kQueryEndpoint);
  expected.request_id = receipt.request_id;
  expected.results_digest = ResultsDigest(std::vector<wire::Match>{});
  expected.member = "alpha";
  expected.request_digest = Sha256Hex(body);
  const auto verified = VerifyReceipt(receipt, expected, ToWireKeys(keys));
  INFO((verified ? std::string("verified") : verified.error().message));
  CHECK(verified);
}

TEST_CASE(
    "keyring: a checkpoint signed after a rotation during its batch is dated "
    "within the validity of the key that signed it",
    "[keys][rotate]") {
  testing::TempDir tmp("cairn-keys");
  const fs::path dir = fs::path(tmp.path()) / "keys";
  ManualClock keys_clock;
  auto ring = HubKeyring::Open(dir, true, keys_clock.AsClock());
  REQUIRE(ring);
  // The store's batch takes its time at S; the rotation reads S+1 after
  // that, before the batch's checkpoint is signed.
  const sys_seconds batch_start = *keys_clock.now + std::chrono::seconds(10);
  SqliteStoreOptions options;
  options.db_path = fs::path(tmp.path()) / "hub.db";
  options.clock = [batch_start] { return batch_start; };
  options.checkpoint_signer = MakeCheckpointSigner(*ring);
  options.checkpoint_every_entries = 1;
  auto store = OpenSqliteStore(options);
  REQUIRE(store);
  *keys_clock.now = batch_start + std::chrono::seconds(1);
  REQUIRE((*ring)->Rotate());

  AuditEvent event;
  event.actor = "ops";
  event.action = "report.read";
  REQUIRE((*store)->RecordAuditAndWait(event));
  auto page = (*store)->AuditCheckpoints(0, 10);
  REQUIRE(page);
  REQUIRE(page->checkpoints.size() == 1);
  const AuditCheckpoint& c = page->checkpoints.front();
  const HubPublicKey signer = KeyNamed((*ring)->PublicKeys(), c.key_id);
  CAPTURE(FormatTimestamp(c.at), FormatTimestamp(signer.valid_from));
  CHECK(c.at >= signer.valid_from);
  CHECK((!signer.valid_until || c.at <= *signer.valid_until));
  // The signature covers the time stored.
  const auto message = EncodeCheckpointMessage(
      c.seq, c.head_hash, c.at.time_since_epoch().count(), c.key_id);
  CHECK(crypto_sign_verify_detached(c.signature.data(), message.data(),
                                    message.size(),
                                    signer.public_key.data()) == 0);
}

// A hub whose clock ran two hours ahead of the system clock (it followed a
// wrong forward step that was then undone), restarted with
// --clock-from-system: the hub's clock goes back, the keyring's must not.
constexpr std::chrono::hours kAhead{2};

wire::Receipt SignQueryReceipt(const HubKeyring& ring, char id) {
  return SignReceipt(ring, "alpha", "r_" + std::string(32, id), kQueryEndpoint,
                     Sha256Hex(R"({"queries":[]})"),
                     ResultsDigest(std::vector<wire::Match>{}));
}

// A failed CHECK of it prints the verifier's reason (support/catch_result.h).
Status VerifyQueryReceipt(const wire::Receipt& receipt,
                          const HubKeyring& ring) {
  ReceiptExpectation expected;
  expected.endpoint = std::string(kQueryEndpoint);
  expected.request_id = receipt.request_id;
  expected.results_digest = ResultsDigest(std::vector<wire::Match>{});
  expected.member = "alpha";
  expected.request_digest = Sha256Hex(R"({"queries":[]})");
  return VerifyReceipt(receipt, expected, ToWireKeys(ring.PublicKeys()));
}

TEST_CASE(
    "keyring: receipts signed after a restart with the clock set back "
    "verify, and so do those signed before it",
    "[keys][clock]") {
  testing::TempDir tmp("cairn-keys");
  const fs::path dir = fs::path(tmp.path()) / "keys";
  ManualClock clock;
  const sys_seconds system = *clock.now;
  *clock.now = system + kAhead;
  wire::Receipt saved;  // one a member kept from while the hub ran ahead
  sys_seconds saved_key_from{};
  {
    auto ring = HubKeyring::Open(dir, true, clock.AsClock());
    REQUIRE(ring);
    *clock.now += std::chrono::minutes(5);
    auto rotated = (*ring)->Rotate();  // an operator's rotation while ahead
    REQUIRE(rotated);
    saved_key_from = rotated->valid_from;
    *clock.now += std::chrono::minutes(1);
    saved = SignQueryReceipt(**ring, '2');
  }
  *clock.now = system + std::chrono::minutes(10);  // the system clock's time
  auto ring = HubKeyring::Open(dir, false, clock.AsClock());
  REQUIRE(ring);
  CHECK((*ring)->SigningFloor() == saved.at);

  const wire::Receipt receipt = SignQueryReceipt(**ring, '1');
  // Dated no earlier than what the key signed before, not by the clock.
  CHECK(receipt.at == saved.at);
  CHECK(VerifyQueryReceipt(receipt, **ring));

  // A rotation before the system clock catches up retires the key no
  // earlier than its last signature, so the saved receipt still verifies.
  *clock.now += std::chrono::minutes(5);
  auto rotated = (*ring)->Rotate();
  REQUIRE(rotated);
  const HubPublicKey retired = KeyNamed((*ring)->PublicKeys(), saved.key_id);
  REQUIRE(retired.valid_until);
  CHECK(retired.valid_from == saved_key_from);
  CHECK(*retired.valid_until >= retired.valid_from);
  CHECK(*retired.valid_until >= saved.at);
  CHECK(rotated->valid_from == *retired.valid_until);
  CHECK(VerifyQueryReceipt(saved, **ring));
  CHECK(VerifyQueryReceipt(receipt, **ring));

  // Once the clock passes the floor, signatures follow it again.
  *clock.now = system + kAhead + std::chrono::hours(1);
  CHECK(SignQueryReceipt(**ring, '3').at == *clock.now);
}

TEST_CASE(
    "keyring: signed-until covers every signature before the keyring closes "
    "and is exact after it",
    "[keys][clock]") {
  testing::TempDir tmp("cairn-keys");
  const fs::path dir = fs::path(tmp.path()) / "keys";
  ManualClock clock;
  const sys_seconds start = *clock.now;
  auto ring = HubKeyring::Open(dir, true, clock.AsClock());
  REQUIRE(ring);
  *clock.now += std::chrono::minutes(30);
  const sys_seconds signed_at = SignQueryReceipt(**ring, '1').at;
  REQUIRE(signed_at == start + std::chrono::minutes(30));
  {
    // What a run after a crash would find: covered, up to a minute late.
    *clock.now = start;
    auto crashed_view = HubKeyring::Open(dir, false, clock.AsClock());
    REQUIRE(crashed_view);
    CHECK((*crashed_view)->SigningFloor() >= signed_at);
    CHECK((*crashed_view)->SigningFloor() <=
          signed_at + std::chrono::seconds(60));
  }
  ring->reset();  // a clean stop
  *clock.now = start;
  auto reopened = HubKeyring::Open(dir, false, clock.AsClock());
  REQUIRE(reopened);
  CHECK((*reopened)->SigningFloor() == signed_at);

  SECTION("a damaged signed-until is refused with what to do") {
    reopened->reset();
    std::ofstream(dir / "signed-until") << "yesterday\n";
    auto refused = HubKeyring::Open(dir, false, clock.AsClock());
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == ErrorCode::kInvalidArgument);
    CHECK_THAT(refused.error().message,
               Catch::Contains("signed-until must hold one RFC 3339 time") &&
                   Catch::Contains("restore it from the keys backup"));
  }
}

TEST_CASE(
    "keyring: a file it writes is made anew, never written through a "
    "symbolic link or leftover at its temporary name",
    "[keys][bad]") {
  testing::TempDir tmp("cairn-keys");
  const fs::path dir = fs::path(tmp.path()) / "keys";
  const fs::path victim = fs::path(tmp.path()) / "victim";
  std::ofstream(victim) << "not the keyring's\n";
  ManualClock clock;
  auto ring = HubKeyring::Open(dir, true, clock.AsClock());
  REQUIRE(ring);
  struct Case {
    std::string name;
    std::function<void(const fs::path&)> plant;
  };
  const std::vector<Case> cases = {
      {"symlink to a file outside",
       [&](const fs::path& at) { fs::create_symlink(victim, at); }},
      {"dangling symlink",
       [&](const fs::path& at) {
         fs::create_symlink(fs::path(tmp.path()) / "new", at);
       }},
      {"leftover of a crash",
       [](const fs::path& at) { std::ofstream(at) << "half-written"; }},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    c.plant(dir / "signed-until.tmp");
    // Far enough ahead that signing records a new signed-until.
    *clock.now += std::chrono::minutes(30);
    const sys_seconds signed_at = SignQueryReceipt(**ring, '1').at;
    CHECK(fs::is_regular_file(fs::symlink_status(dir / "signed-until")));
    CHECK_FALSE(fs::exists(fs::symlink_status(dir / "signed-until.tmp")));
    std::ifstream in(victim);
    std::string text((std::istreambuf_iterator<char>(in)), {});
    CHECK(text == "not the keyring's\n");
    CHECK_FALSE(fs::exists(fs::path(tmp.path()) / "new"));
    auto view = HubKeyring::Open(dir, false, clock.AsClock());
    REQUIRE(view);
    CHECK((*view)->SigningFloor() >= signed_at);
  }
}

// The same restart seen by 'cairnctl audit verify': checkpoints the current
// key signed while the hub ran ahead must not lie after the valid_until a
// later rotation gives it.
TEST_CASE(
    "keyring: the audit log verifies after a restart with the clock set back "
    "and a rotation",
    "[keys][clock]") {
  testing::TempDir tmp("cairn-keys");
  const fs::path dir = fs::path(tmp.path()) / "keys";
  const fs::path db = fs::path(tmp.path()) / "hub.db";
  ManualClock clock;
  const sys_seconds system = *clock.now;
  *clock.now = system + kAhead;
  std::shared_ptr<HubKeyring> ring;
  auto open_store = [&] {
    SqliteStoreOptions options;
    options.db_path = db;
    options.clock = clock.AsClock();
    options.checkpoint_signer = MakeCheckpointSigner(ring);
    options.checkpoint_every_entries = 1;
    auto store = OpenSqliteStore(options);
    REQUIRE(store);
    return std::move(*store);
  };
  auto record = [](Store& store) {
    AuditEvent event;
    event.actor = "ops";
    event.action = "report.read";
    REQUIRE(store.RecordAuditAndWait(event));
  };
  ring = *HubKeyring::Open(dir, true, clock.AsClock());
  {
    auto store = open_store();
    record(*store);
    *clock.now += std::chrono::minutes(5);
    record(*store);
  }
  ring.reset();
  *clock.now = system + std::chrono::minutes(10);  // --clock-from-system
  ring = *HubKeyring::Open(dir, false, clock.AsClock());
  {
    auto store = open_store();
    *clock.now += std::chrono::minutes(5);
    REQUIRE(ring->Rotate());
    record(*store);
  }
  AuditKeys keys;
  for (const HubPublicKey& k : ring->PublicKeys()) {
    keys[k.key_id] = AuditKey{k.public_key, k.valid_from, k.valid_until};
  }
  auto report = VerifyAuditLog(db, keys);
  REQUIRE(report);
  INFO(report->problem);
  CHECK(report->intact);
  CHECK(report->checkpoints >= 3);
}

// A keys directory restored from a backup made before the hub ran ahead
// holds an older signed-until. cairnd raises the floor at start to the
// newest times its database recorded (the checkpoint, and the newest
// audit entry plus a second, since a receipt is signed after its entry);
// a rotation after --clock-from-system then still covers what was signed.
TEST_CASE(
    "a keyring restored from a backup, raised to the database's newest "
    "times, does not retire its key before receipts signed since",
    "[keys][clock]") {
  testing::TempDir tmp("cairn-keys");
  const fs::path dir = fs::path(tmp.path()) / "keys";
  const fs::path backup = fs::path(tmp.path()) / "keys-backup";
  ManualClock clock;
  const sys_seconds system = *clock.now;
  {
    auto ring = HubKeyring::Open(dir, true, clock.AsClock());
    REQUIRE(ring);
    (void)SignQueryReceipt(**ring, '0');
  }
  fs::copy(dir, backup, fs::copy_options::recursive);
  wire::Receipt saved;
  sys_seconds entry_at;
  {
    auto ring = HubKeyring::Open(dir, false, clock.AsClock());
    REQUIRE(ring);
    *clock.now = system + kAhead;           // a wrong forward step
    entry_at = *clock.now;                  // the query's audit entry
    *clock.now += std::chrono::seconds(1);  // its receipt, a second later
    saved = SignQueryReceipt(**ring, '2');  // a member keeps this one
  }
  // Disk lost: keys restored from the backup; the clock is right again.
  fs::remove_all(dir);
  fs::copy(backup, dir, fs::copy_options::recursive);
  *clock.now = system + std::chrono::minutes(10);
  auto ring = HubKeyring::Open(dir, false, clock.AsClock());
  REQUIRE(ring);
  CHECK((*ring)->SigningFloor() < saved.at);  // what the backup knows
  (*ring)->RaiseSigningFloor(entry_at + std::chrono::seconds(1));
  (*ring)->RaiseSigningFloor(system);  // never lowers it
  INFO("floor " << FormatTimestamp((*ring)->SigningFloor()) << ", saved at "
                << FormatTimestamp(saved.at));
  CHECK((*ring)->SigningFloor() >= saved.at);
  REQUIRE((*ring)->Rotate());
  CHECK(VerifyQueryReceipt(saved, **ring));
}

}  // namespace
}  // namespace cairn::server
