// cairnd refuses to start on a database whose keys are missing or belong to
// another hub, instead of quietly making new ones: a new signing key leaves
// the database's checkpoints unverifiable by the hub's keys, and a new OPRF
// key makes every voprf-v1 signal stop matching. --allow-new-keys is the
// operator's explicit way past it when the keys are lost for good.
#include <filesystem>
#include <string>

#include <catch2/catch.hpp>

#include "tests/integration/integration_util.h"

namespace cairn::testing {
namespace {

namespace fs = std::filesystem;
constexpr auto kTimeout = std::chrono::seconds(30);

// cairnd on `hub`'s configuration, expected to refuse to start.
CommandResult StartRefused(const RunningHub& hub,
                           std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {RunningHub::CairndPath(), "-c",
                                   hub.ConfigPath()};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return RunCommand(argv, kTimeout);
}

bool HasFileEnding(const fs::path& dir, std::string_view suffix) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return false;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.size() >= suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return true;
    }
  }
  return false;
}

// Starts `h` again and checks that it serves.
void RestartServing(RunningHub& h) {
  REQUIRE(h.Restart());
  CHECK(h.Curl("alpha", "GET", "/v1/me").status == 200);
}

// A stopped hub with OPRF enabled whose database holds one active voprf-v1
// signal of epoch 1.
std::unique_ptr<RunningHub> StoppedHubWithVoprfSignal() {
  RunningHubOptions options;
  options.extra_toml = "[oprf]\nenabled = true\n";
  auto hub = RunningHub::Start(options);
  REQUIRE(hub);
  RunningHub& h = **hub;
  SignalSpec spec;
  spec.token = RandomTokenHex();
  std::string item = SignalJson(spec);
  item.pop_back();  // the closing brace
  item += R"(,"scheme":"voprf-v1","epoch":1})";
  REQUIRE(
      h.Curl("alpha", "POST", "/v1/signals", R"({"signals":[)" + item + "]}")
          .status == 200);
  REQUIRE(h.Stop());
  return std::move(*hub);
}

// What `cairnctl oprf rotate` makes with `where` (--data DIR or --key-dir
// DIR), failing the test when it fails.
void RotateOprf(const std::vector<std::string>& where) {
  std::vector<std::string> args = {"oprf", "rotate"};
  args.insert(args.end(), where.begin(), where.end());
  const CommandResult made = RunCairnctl(args, kTimeout);
  CAPTURE(made.out, made.err);
  REQUIRE(made.exit_code == 0);
}

TEST_CASE("cairnd refuses a database whose signing keys are missing") {
  RunningHubOptions options;
  options.extra_toml = "[audit]\ncheckpoint_every_entries = 1\n";
  auto hub = RunningHub::Start(options);
  REQUIRE(hub);
  RunningHub& h = **hub;
  // Registering the members wrote audit entries, each checkpointed.
  REQUIRE(h.Curl("alpha", "GET", "/v1/audit/checkpoints").body.find("key_id") !=
          std::string::npos);
  REQUIRE(h.Stop());
  const fs::path keys = fs::path(h.DataDir()) / "keys";
  const fs::path aside = fs::path(h.Scratch().File("keys-aside"));
  fs::rename(keys, aside);

  const CommandResult refused = StartRefused(h);
  CAPTURE(refused.out, refused.err);
  CHECK(refused.exit_code == 1);
  CHECK_THAT(refused.err, Catch::Contains("has no hub signing key, but the "
                                          "database holds"));
  CHECK_THAT(refused.err, Catch::Contains("--allow-new-keys"));
  CHECK_FALSE(HasFileEnding(keys, ".key"));

  SECTION("another hub's keys are refused too") {
    auto other = RunningHub::Start();
    REQUIRE(other);
    REQUIRE((*other)->Stop());
    fs::copy(fs::path((*other)->DataDir()) / "keys", keys);
    const CommandResult wrong = StartRefused(h);
    CAPTURE(wrong.err);
    CHECK(wrong.exit_code == 1);
    CHECK_THAT(wrong.err, Catch::Contains("which is not among the 1 keys"));
    fs::remove_all(keys);
  }
  SECTION("--allow-new-keys starts with a new key, and says so") {
    REQUIRE(h.RestartWith({"--allow-new-keys"}));
    CHECK(h.Curl("alpha", "GET", "/v1/me").status == 200);
    CHECK(HasFileEnding(keys, ".key"));
    REQUIRE(h.Stop());
    CHECK_THAT(cairn::testing::ReadFileOrEmpty(h.LogPath()),
               Catch::Contains("--allow-new-keys: going on although"));
    fs::remove_all(keys);
  }
  // With its own keys back, the hub starts as before.
  fs::rename(aside, keys);
  RestartServing(h);
}

TEST_CASE("cairnd refuses a database whose OPRF keys are missing") {
  const std::unique_ptr<RunningHub> hub = StoppedHubWithVoprfSignal();
  RunningHub& h = *hub;
  const fs::path oprf = fs::path(h.DataDir()) / "oprf";
  const fs::path aside = fs::path(h.Scratch().File("oprf-aside"));
  fs::rename(oprf, aside);

  const CommandResult refused = StartRefused(h);
  CAPTURE(refused.out, refused.err);
  CHECK(refused.exit_code == 1);
  CHECK_THAT(refused.err,
             Catch::Contains("has no key, but the database holds 1 active "
                             "voprf-v1 signals (newest epoch 1)"));
  CHECK_FALSE(HasFileEnding(oprf, ".key"));

  fs::rename(aside, oprf);
  RestartServing(h);

  // An epoch 1 made again (what an operator may do after the refusal
  // above) has the right number but another key: refused too, since the
  // database recorded the key its signals were made with.
  REQUIRE(h.Stop());
  fs::rename(oprf, aside);
  RotateOprf({"--data", h.DataDir()});
  REQUIRE(fs::exists(oprf / "epoch-1.key"));
  const CommandResult other = StartRefused(h);
  CAPTURE(other.out, other.err);
  CHECK(other.exit_code == 1);
  CHECK_THAT(other.err,
             Catch::Contains("the OPRF key of epoch 1 in " + oprf.string()) &&
                 Catch::Contains("is not the one this database recorded") &&
                 Catch::Contains("its 1 active voprf-v1 signals"));
  fs::remove_all(oprf);
  fs::rename(aside, oprf);
  RestartServing(h);
}

TEST_CASE(
    "cairnd removes the private key of a rotation cut short before it "
    "became current, and says so") {
  auto hub = RunningHub::Start();
  REQUIRE(hub);
  RunningHub& h = **hub;
  REQUIRE(h.Stop());
  // What a stop between a rotation's two steps leaves: a <key_id>.key
  // without its .pub (no keys.rotate entry names it here; key_rotation_test
  // covers the one that does).
  const fs::path orphan =
      fs::path(h.DataDir()) / "keys" / "hk_0123456789abcdef.key";
  REQUIRE(WriteFile(orphan.string(), std::string(64, '1') + "\n"));
  fs::permissions(orphan, fs::perms::owner_read | fs::perms::owner_write);
  RestartServing(h);
  CHECK_FALSE(fs::exists(orphan));
  REQUIRE(h.Stop());
  CHECK_THAT(ReadFileOrEmpty(h.LogPath()),
             Catch::Contains(orphan.string() + " had no .pub: a key rotation "
                                               "was cut short"));
}

TEST_CASE(
    "cairnd refuses another hub's OPRF directory whose epochs are all newer, "
    "and accepts its own after the old epochs were deleted") {
  const std::unique_ptr<RunningHub> hub = StoppedHubWithVoprfSignal();
  RunningHub& h = *hub;
  const fs::path oprf = fs::path(h.DataDir()) / "oprf";
  const fs::path aside = fs::path(h.Scratch().File("oprf-aside"));

  // Another hub's directory that has rotated past this hub's epochs: its
  // epoch 3 is newer than the signals' epoch 1, and it has no epoch 1 whose
  // key could be compared with the record.
  const fs::path foreign = fs::path(h.Scratch().File("foreign-oprf"));
  for (int i = 0; i < 3; ++i) RotateOprf({"--key-dir", foreign.string()});
  fs::remove(foreign / "epoch-1.key");
  fs::remove(foreign / "epoch-2.key");
  fs::rename(oprf, aside);
  fs::copy(foreign, oprf);
  const CommandResult refused = StartRefused(h);
  CAPTURE(refused.out, refused.err);
  CHECK(refused.exit_code == 1);
  CHECK_THAT(refused.err,
             Catch::Contains("1 active voprf-v1 signals of epoch 1") &&
                 Catch::Contains(oprf.string() + " holds epochs 3, none of "
                                                 "which this database "
                                                 "recorded") &&
                 Catch::Contains("--allow-new-keys"));
  fs::remove_all(oprf);
  fs::rename(aside, oprf);

  // The documented rotation: a new epoch, announced by a restart (which
  // records it), then the old epoch file deleted while signals of the old
  // epoch remain active.
  RotateOprf({"--data", h.DataDir()});
  REQUIRE(h.Restart());
  REQUIRE(h.Stop());
  REQUIRE(fs::remove(oprf / "epoch-1.key"));
  RestartServing(h);
}

TEST_CASE("a hub that cannot start makes no keys and says why in its log") {
  RunningHubOptions options;
  options.register_members = false;
  auto hub = RunningHub::Start(options);
  REQUIRE(hub);
  RunningHub& h = **hub;
  REQUIRE(h.Stop());
  // A data directory whose database has no checkpoints yet: cairnd would
  // make a first signing key there.
  const fs::path keys = fs::path(h.DataDir()) / "keys";
  fs::remove_all(keys);
  // The hub's TLS key is missing.
  const std::string tls_key = h.Pki().ServerKey();
  fs::rename(tls_key, tls_key + ".aside");
  const std::string log = h.Scratch().File("refused.log");

  const CommandResult refused = StartRefused(h, {"--log-file", log});
  CAPTURE(refused.out, refused.err);
  CHECK(refused.exit_code == 1);
  CHECK_THAT(refused.err, Catch::Contains(tls_key));
  CHECK_FALSE(HasFileEnding(keys, ".key"));
  // The reason is in the log file too, not only on stderr.
  CHECK_THAT(ReadFileOrEmpty(log),
             Catch::Contains("cannot start: ") && Catch::Contains(tls_key));

  fs::rename(tls_key + ".aside", tls_key);
  REQUIRE(h.Restart());
  CHECK(HasFileEnding(keys, ".key"));
}

}  // namespace
}  // namespace cairn::testing
