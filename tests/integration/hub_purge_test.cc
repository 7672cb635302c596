// Retention purges as members meet them, against a real cairnd: a feed
// mirror further behind than the hub's tombstone period is refused (410
// cursor_expired) instead of silently missing a retraction, and rebuilds
// from after=0; `cairn feed` says what to do. And cairnd refuses a match
// reuse window that outlives the match retention.
#include <catch2/catch.hpp>

#include "tests/integration/integration_util.h"

namespace cairn::testing {
namespace {

constexpr std::chrono::seconds kTimeout{60};

CommandResult Cairnctl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {RunningHub::CairnctlPath()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, kTimeout);
}

// `cairn` as `member`, without any configuration file or environment.
CommandResult Cairn(const RunningHub& h, const std::string& member,
                    const std::vector<std::string>& args) {
  std::vector<std::string> argv = {
      "env",
      "-u",
      "CAIRN_HUB",
      "-u",
      "CAIRN_CERT",
      "-u",
      "CAIRN_KEY",
      "-u",
      "CAIRN_CACERT",
      "-u",
      "CAIRN_CONSORTIUM_KEY",
      "CAIRN_CONFIG=",
      std::string(CAIRN_BINARY_DIR) + "/client/cairn"};
  argv.insert(argv.end(), args.begin(), args.end());
  for (const std::string& a :
       {std::string("--hub"), h.Url(), std::string("--cert"),
        h.Pki().Cert(member), std::string("--key"), h.Pki().Key(member),
        std::string("--cacert"), h.Pki().CaCert()}) {
    argv.push_back(a);
  }
  return RunCommand(argv, kTimeout);
}

std::string RetractBody(const std::string& token) {
  return R"({"retractions":[{"kind":"email","token":")" + token +
         R"(","reason":"appeal_upheld"}]})";
}

TEST_CASE(
    "a feed mirror further behind than tombstone_days is refused, and "
    "rebuilds from after=0") {
  RunningHubOptions options;
  options.store_toml = "tombstone_days = 0\n";
  // No purge by cairnd itself during the test: cairnctl runs the one purge.
  options.extra_args = {"--expiry-interval", "3600"};
  auto hub = RunningHub::Start(options);
  REQUIRE(hub);
  RunningHub& h = **hub;
  const std::string overturned = RandomTokenHex();
  const std::string kept = RandomTokenHex();
  SignalSpec a;
  a.token = overturned;
  SignalSpec b;
  b.token = kept;
  REQUIRE(h.Curl("alpha", "POST", "/v1/signals", SubmitBody({a, b})).status ==
          200);

  // beta's mirror takes both bans, then goes offline.
  CurlReply first = h.Curl("beta", "GET", "/v1/feed");
  REQUIRE(first.status == 200);
  auto page = ParseJson(first.body);
  REQUIRE_FALSE(page.HasParseError());
  REQUIRE(page["events"].Size() == 2);
  const std::string stale = page["cursor"].GetString();

  // The first ban is overturned on appeal; the hub purges it.
  CurlReply retracted =
      h.Curl("alpha", "POST", "/v1/signals/retract", RetractBody(overturned));
  INFO(retracted.body);
  REQUIRE(retracted.status == 200);
  REQUIRE(h.Stop());
  const CommandResult purge =
      Cairnctl({"purge", "--config", h.ConfigPath(), "--json"});
  INFO(purge.out << purge.err);
  REQUIRE(purge.exit_code == 0);
  auto counts = ParseJson(purge.out);
  REQUIRE_FALSE(counts.HasParseError());
  CHECK(counts["feed_events"].GetUint64() == 2);
  REQUIRE(h.Restart());

  // beta's mirror comes back: its cursor is refused, not answered with an
  // empty page that would leave the overturned ban in place.
  CurlReply refused = h.Curl("beta", "GET", "/v1/feed?after=" + stale);
  INFO(refused.body);
  CHECK(refused.status == 410);
  CHECK(ErrorCodeOf(refused.body) == "cursor_expired");
  CHECK_THAT(ErrorMessageOf(refused.body),
             Catch::Contains("tombstone_days") && Catch::Contains("after=0"));
  CHECK(ValidateResponses("error", {refused.body}).exit_code == 0);

  // The CLI says to rebuild, not to resume where it cannot.
  const CommandResult cli = Cairn(h, "beta", {"feed", "--after", stale});
  INFO(cli.out << cli.err);
  CHECK(cli.exit_code == 1);
  CHECK_THAT(cli.err, Catch::Contains("cursor " + stale + " has expired") &&
                          Catch::Contains("without --after") &&
                          Catch::Contains("cursor_expired"));
  CHECK(cli.err.find("resume with --after") == std::string::npos);

  // Rebuilt from after=0: the ban that stands, not the overturned one.
  CurlReply rebuilt = h.Curl("beta", "GET", "/v1/feed?after=0");
  REQUIRE(rebuilt.status == 200);
  CHECK(ValidateResponses("feed-response", {rebuilt.body}).exit_code == 0);
  auto events = ParseJson(rebuilt.body);
  REQUIRE_FALSE(events.HasParseError());
  REQUIRE(events["events"].Size() == 1);
  CHECK(std::string(events["events"][0]["token"].GetString()) == kept);
  CHECK_FALSE(events["more"].GetBool());
  const std::string cursor = events["cursor"].GetString();
  CurlReply next = h.Curl("beta", "GET", "/v1/feed?after=" + cursor);
  INFO(next.body);
  REQUIRE(next.status == 200);
  CHECK(ParseJson(next.body)["events"].Size() == 0);
}

TEST_CASE(
    "cairnd refuses a match reuse window as long as the match retention") {
  RunningHubOptions options;
  options.store_toml =
      "match_reuse_seconds = 86400\nmatch_retention_days = 1\n";
  options.register_members = false;
  auto hub = RunningHub::Start(options);
  REQUIRE_FALSE(hub);
  CHECK_THAT(hub.error().message,
             Catch::Contains("store.match_reuse_seconds (86400) is not "
                             "shorter than store.match_retention_days"));
}

}  // namespace
}  // namespace cairn::testing
