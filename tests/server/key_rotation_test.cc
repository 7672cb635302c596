// POST /v1/admin/keys/rotate against a real keyring and store: the
// keys.rotate audit entry commits before the new key is made current, and
// every failure answer says truthfully that the key was not rotated.
#include <filesystem>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "api_test_util.h"
#include "audit_test_util.h"
#include "server/src/keys/hub_keyring.h"

namespace cairn::server {
namespace {

namespace fs = std::filesystem;
using apitest::ApiFixture;
using apitest::FixtureOptions;
using apitest::kOperatorFp;

constexpr const char* kRotate = "/v1/admin/keys/rotate";

// The value of "key_id" in a keys.rotate entry's details.
std::string KeyIdIn(const std::string& details) {
  const std::string field = "\"key_id\":\"";
  const auto at = details.find(field);
  if (at == std::string::npos) return "";
  const auto start = at + field.size();
  return details.substr(start, details.find('"', start) - start);
}

// Acts on the batches that carry a successful keys.rotate entry.
class RotationHook : public AuditHook {
 public:
  Status Append(const AuditEvent& event) override {
    std::function<Status(const AuditEvent&)> act;
    std::function<Status(const AuditEvent&)> any;
    {
      std::lock_guard lock(mutex_);
      act = act_;
      any = any_;
    }
    if (any) {
      if (auto s = any(event); !s) return s;
    }
    if (event.action != "keys.rotate" || event.result != "ok") return {};
    return act ? act(event) : Status{};
  }
  void Set(std::function<Status(const AuditEvent&)> act) {
    std::lock_guard lock(mutex_);
    act_ = std::move(act);
  }
  // Acts on every batch, whatever its entries.
  void SetAny(std::function<Status(const AuditEvent&)> any) {
    std::lock_guard lock(mutex_);
    any_ = std::move(any);
  }

 private:
  std::mutex mutex_;
  std::function<Status(const AuditEvent&)> act_;
  std::function<Status(const AuditEvent&)> any_;
};

struct RotationFixture {
  RotationFixture() {
    auto ring = HubKeyring::Open(keys_dir(), true, nullptr);
    REQUIRE(ring);
    keyring = *ring;
    first = keyring->PublicKeys().front().key_id;
    FixtureOptions options;
    options.keyring = keyring;
    options.audit_hook = hook;
    api = std::make_unique<ApiFixture>(options);
  }
  fs::path keys_dir() const { return fs::path(tmp.path()) / "keys"; }
  std::set<std::string> KeyFiles() const {
    std::set<std::string> out;
    for (const auto& entry : fs::directory_iterator(keys_dir())) {
      out.insert(entry.path().filename().string());
    }
    return out;
  }
  std::vector<testing::AuditRow> RotateEntries() const {
    std::vector<testing::AuditRow> out;
    for (auto& row : testing::ReadAuditLog(api->db_path())) {
      if (row.action == "keys.rotate") out.push_back(std::move(row));
    }
    return out;
  }

  cairn::testing::TempDir tmp{"cairn-rotation"};
  std::shared_ptr<HubKeyring> keyring;
  std::string first;
  std::shared_ptr<RotationHook> hook = std::make_shared<RotationHook>();
  std::unique_ptr<ApiFixture> api;
};

TEST_CASE(
    "a rotation whose audit entry cannot commit leaves the old key current "
    "and says it was not rotated",
    "[keys][rotate]") {
  RotationFixture f;
  const auto files_before = f.KeyFiles();
  f.hook->Set([](const AuditEvent&) -> Status {
    return MakeError(ErrorCode::kUnavailable, "disk full (test veto)");
  });

  const auto refused = f.api->Post(kRotate, "{}", kOperatorFp);
  CAPTURE(refused.body);
  CHECK(refused.status == 503);
  CHECK(refused.ErrorCode() == "unavailable");
  CHECK_THAT(refused.ErrorBody().message,
             Catch::Contains("signing key was not rotated (" + f.first +
                             " is still current)") &&
                 Catch::Contains("audit entry could not be recorded") &&
                 Catch::Contains("disk full (test veto)"));
  // Nothing signs with a key the log does not know about, and the key that
  // was made is gone.
  const auto keys = f.keyring->PublicKeys();
  REQUIRE(keys.size() == 1);
  CHECK(keys.front().key_id == f.first);
  CHECK_FALSE(keys.front().valid_until);
  CHECK(f.KeyFiles() == files_before);
  CHECK(f.RotateEntries().empty());

  // Once the store commits again, a rotation goes through and is logged
  // with the key it replaced.
  f.hook->Set(nullptr);
  const auto rotated = f.api->Post(kRotate, "{}", kOperatorFp);
  CAPTURE(rotated.body);
  REQUIRE(rotated.status == 200);
  const auto after = f.keyring->PublicKeys();
  REQUIRE(after.size() == 2);
  CHECK(after[1].key_id == f.first);
  const auto entries = f.RotateEntries();
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].result == "ok");
  CHECK(entries[0].details == "{\"key_id\":\"" + after[0].key_id +
                                  "\",\"previous\":\"" + f.first + "\"}");
}

TEST_CASE(
    "a key that cannot be made current after its audit entry committed is "
    "logged as failed and never used",
    "[keys][rotate]") {
  RotationFixture f;
  const auto files_before = f.KeyFiles();
  std::string made;
  bool published_before_audit = false;
  // Inside the batch, before COMMIT: a directory where the new key's .pub
  // is to be renamed makes that rename fail (even for root).
  f.hook->Set([&](const AuditEvent& event) -> Status {
    made = KeyIdIn(event.details);
    std::error_code ec;
    fs::create_directory(f.keys_dir() / (made + ".pub"), ec);
    published_before_audit = static_cast<bool>(ec);
    return {};
  });

  const auto refused = f.api->Post(kRotate, "{}", kOperatorFp);
  CAPTURE(refused.body);
  REQUIRE_FALSE(made.empty());
  CHECK_FALSE(published_before_audit);
  CHECK(refused.status == 503);
  CHECK(refused.ErrorCode() == "unavailable");
  CHECK_THAT(
      refused.ErrorBody().message,
      Catch::Contains("signing key was not rotated (" + f.first +
                      " is still current)") &&
          Catch::Contains("the audit log records the rotation to " + made) &&
          Catch::Contains("a second keys.rotate entry records this "
                          "failure"));
  const auto keys = f.keyring->PublicKeys();
  REQUIRE(keys.size() == 1);
  CHECK(keys.front().key_id == f.first);
  CHECK(f.KeyFiles() == files_before);
  // The log says what happened: the rotation to `made`, then its failure.
  const auto entries = f.RotateEntries();
  REQUIRE(entries.size() == 2);
  const std::string details =
      "{\"key_id\":\"" + made + "\",\"previous\":\"" + f.first + "\"}";
  CHECK(entries[0].details == details);
  CHECK(entries[0].result == "ok");
  CHECK(entries[1].details == details);
  CHECK(entries[1].result == "io_error");
  // Reopened from disk, the old key is still the one in use.
  auto reopened = HubKeyring::Open(f.keys_dir(), false, nullptr);
  REQUIRE(reopened);
  CHECK((*reopened)->PublicKeys() == keys);
}

TEST_CASE(
    "a rotation asked for while another is being audited is refused, and "
    "the first logs the key it replaced",
    "[keys][rotate]") {
  RotationFixture f;
  std::promise<void> entered;
  std::promise<void> release;
  auto released = release.get_future().share();
  f.hook->Set([&entered, released](const AuditEvent&) -> Status {
    entered.set_value();
    released.wait();
    return {};
  });
  auto first = std::async(std::launch::async, [&f] {
    return f.api->Post(kRotate, "{}", kOperatorFp);
  });
  // Bounded: a hub that never audits the first rotation fails here.
  REQUIRE(entered.get_future().wait_for(std::chrono::seconds(10)) ==
          std::future_status::ready);
  f.hook->Set(nullptr);

  const auto second = f.api->Post(kRotate, "{}", kOperatorFp);
  release.set_value();
  const auto answered = first.get();
  CAPTURE(second.body, answered.body);
  CHECK(second.status == 409);
  CHECK(second.ErrorCode() == "conflict");
  CHECK_THAT(second.ErrorBody().message,
             Catch::Contains("another key rotation") &&
                 Catch::Contains("in progress"));
  REQUIRE(answered.status == 200);
  const auto keys = f.keyring->PublicKeys();
  REQUIRE(keys.size() == 2);
  CHECK(keys[1].key_id == f.first);
  const auto entries = f.RotateEntries();
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].details == "{\"key_id\":\"" + keys[0].key_id +
                                  "\",\"previous\":\"" + f.first + "\"}");
}

TEST_CASE(
    "a rotation whose operator is suspended after the router's check is "
    "refused where its audit entry would commit",
    "[keys][rotate]") {
  RotationFixture f;
  const auto files_before = f.KeyFiles();
  // A second operator, so that 'ops' may be suspended.
  CreateMemberCommand second;
  second.context.actor = "cairnctl";
  second.member_id = "ops2";
  second.name = "Second Operator";
  second.roles = RoleBit(Role::kOperator);
  second.fingerprints = {std::string(64, '9')};
  const auto created = f.api->store().CreateMemberAndWait(std::move(second));
  REQUIRE(created);
  // The writer is held inside a batch (a kind registration) while the
  // suspension queues behind it, so the router still sees 'ops' in good
  // standing when the rotation request arrives.
  std::promise<void> entered;
  std::promise<void> release;
  auto released = release.get_future().share();
  f.hook->SetAny([&entered, released](const AuditEvent& event) -> Status {
    if (event.action == "kind.register") {
      entered.set_value();
      released.wait();
    }
    return {};
  });
  auto held = std::async(std::launch::async, [&f] {
    RegisterKindCommand kind;
    kind.context.actor = "cairnctl";
    kind.kind = "gatekind";
    return f.api->store().RegisterKindAndWait(std::move(kind));
  });
  // Bounded: a store that never runs the batch fails here.
  REQUIRE(entered.get_future().wait_for(std::chrono::seconds(10)) ==
          std::future_status::ready);
  std::promise<Result<MemberRecord>> suspended;
  MemberChangeCommand suspend;
  suspend.context.actor = "cairnctl";
  suspend.member_id = "ops";
  suspend.change = MemberChangeCommand::Change::kSuspend;
  suspend.reason = "key misuse";
  f.api->store().ChangeMember(
      std::move(suspend),
      [&suspended](const Result<MemberRecord>& r) { suspended.set_value(r); });
  auto answer = std::async(std::launch::async, [&f] {
    return f.api->Post(kRotate, "{}", kOperatorFp);
  });
  // The new key's file exists once both of the router's checks passed (the
  // writer is still held, so neither could see the suspension).
  for (int i = 0; i < 1000 && f.KeyFiles().size() == files_before.size(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE(f.KeyFiles().size() == files_before.size() + 1);
  f.hook->SetAny(nullptr);
  release.set_value();
  REQUIRE(held.get());
  auto suspension = suspended.get_future();
  REQUIRE(suspension.wait_for(std::chrono::seconds(10)) ==
          std::future_status::ready);
  REQUIRE(suspension.get());

  const auto refused = answer.get();
  CAPTURE(refused.body);
  CHECK(refused.status == 403);
  CHECK(refused.ErrorCode() == "permission_denied");
  CHECK_THAT(refused.ErrorBody().message,
             Catch::Contains("member 'ops' is suspended (key misuse)") &&
                 Catch::Contains("the signing key was not rotated (" + f.first +
                                 " is still current)"));
  const auto keys = f.keyring->PublicKeys();
  REQUIRE(keys.size() == 1);
  CHECK(keys.front().key_id == f.first);
  CHECK(f.KeyFiles() == files_before);
  // Audited like the store's refused admin commands: the code, no details.
  const auto entries = f.RotateEntries();
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].result == "permission_denied");
  CHECK(entries[0].details == "{}");
  CHECK(entries[0].actor == "ops");
}

// The state a stop (crash, kill -9) between PrepareRotation and
// CommitRotation leaves, made directly: the new key's private file without
// its .pub and, when `logged`, the committed keys.rotate entry the handler
// writes before the switch. Returns the abandoned key's id.
std::string CutShortRotation(RotationFixture& f, bool logged) {
  auto prepared = f.keyring->PrepareRotation();
  REQUIRE(prepared);
  if (logged) {
    AuditEvent entry;
    entry.request_id = "r_0123456789abcdef0123456789abcdef";
    entry.actor = "ops";
    entry.fingerprint = kOperatorFp;
    entry.action = "keys.rotate";
    entry.details = "{\"key_id\":\"" + prepared->key_id + "\",\"previous\":\"" +
                    f.first + "\"}";
    const Status recorded = f.api->store().RecordAuditAndWait(std::move(entry));
    REQUIRE(recorded);
  }
  return prepared->key_id;
}

TEST_CASE(
    "a rotation cut short after its audit entry committed is recorded as "
    "not done at the next start, and its unused key removed",
    "[keys][rotate]") {
  RotationFixture f;
  const auto files_before = f.KeyFiles();
  const std::string made = CutShortRotation(f, /*logged=*/true);
  REQUIRE(f.KeyFiles().contains(made + ".key"));
  const std::string details =
      "{\"key_id\":\"" + made + "\",\"previous\":\"" + f.first + "\"}";

  std::string said = "followed by one with result unavailable";
  SECTION("settled at the next start") {}
  SECTION("a start that recorded the failure stopped before removing the key") {
    said = "the audit log does not claim it became current";
    auto first_start = HubKeyring::Open(f.keys_dir(), false, nullptr);
    REQUIRE(first_start);
    AuditEvent failed;
    failed.actor = "hub";
    failed.action = "keys.rotate";
    failed.details = details;
    failed.result = "unavailable";
    const Status recorded =
        f.api->store().RecordAuditAndWait(std::move(failed));
    REQUIRE(recorded);
  }

  // The next start: the old key is current, the new one abandoned.
  auto restarted = HubKeyring::Open(f.keys_dir(), false, nullptr);
  REQUIRE(restarted);
  REQUIRE((*restarted)->PublicKeys().size() == 1);
  CHECK((*restarted)->PublicKeys().front().key_id == f.first);
  CHECK((*restarted)->AbandonedKeys() == std::vector<std::string>{made});
  auto settled =
      SettleAbandonedRotations(**restarted, f.api->store(), f.api->db_path());
  REQUIRE(settled);
  REQUIRE(settled->size() == 1);
  CHECK_THAT(settled->front(), Catch::Contains(made + ".key had no .pub") &&
                                   Catch::Contains(said));
  // The log says what happened: the rotation's entry, then one (and only
  // one, however often the hub restarts) that says it failed.
  const auto entries = f.RotateEntries();
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].details == details);
  CHECK(entries[0].result == "ok");
  CHECK(entries[1].details == details);
  CHECK(entries[1].result == "unavailable");
  CHECK(entries[1].actor == "hub");
  CHECK(f.KeyFiles() == files_before);

  auto again = HubKeyring::Open(f.keys_dir(), false, nullptr);
  REQUIRE(again);
  CHECK((*again)->AbandonedKeys().empty());
  auto nothing =
      SettleAbandonedRotations(**again, f.api->store(), f.api->db_path());
  REQUIRE(nothing);
  CHECK(nothing->empty());
  CHECK(f.RotateEntries().size() == 2);
}

TEST_CASE(
    "a rotation cut short before its audit entry committed leaves no entry "
    "and its key is removed",
    "[keys][rotate]") {
  RotationFixture f;
  const auto files_before = f.KeyFiles();
  // An earlier, completed rotation is the log's newest keys.rotate entry.
  REQUIRE(f.api->Post(kRotate, "{}", kOperatorFp).status == 200);
  const auto files_rotated = f.KeyFiles();
  REQUIRE(files_rotated.size() == files_before.size() + 2);
  f.first = f.keyring->PublicKeys().front().key_id;
  const std::string made = CutShortRotation(f, /*logged=*/false);

  auto restarted = HubKeyring::Open(f.keys_dir(), false, nullptr);
  REQUIRE(restarted);
  CHECK((*restarted)->PublicKeys().front().key_id == f.first);
  CHECK((*restarted)->AbandonedKeys() == std::vector<std::string>{made});
  auto settled =
      SettleAbandonedRotations(**restarted, f.api->store(), f.api->db_path());
  REQUIRE(settled);
  REQUIRE(settled->size() == 1);
  CHECK_THAT(settled->front(),
             Catch::Contains("the audit log does not claim it became current"));
  const auto entries = f.RotateEntries();
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].result == "ok");
  CHECK(f.KeyFiles() == files_rotated);
}

}  // namespace
}  // namespace cairn::server
