// A few seconds of cairn-bench against a real hub: proves it runs and
// reports; it is not a performance test (no timed assertions).
#include <algorithm>
#include <catch2/catch.hpp>
#include <regex>
#include <string>

#include "support/running_hub.h"

namespace cairn {
namespace {

using namespace std::chrono_literals;

TEST_CASE("bench: a short run of each mode reports throughput and latency") {
  testing::RunningHubOptions options;
  options.extra_toml =
      "[rate_limits]\nrequests_per_second = 1000000.0\n"
      "items_per_second = 1000000000.0\n";
  auto hub = testing::RunningHub::Start(options);
  REQUIRE(hub);
  const std::string bench =
      std::string(CAIRN_BINARY_DIR) + "/client/cairn-bench";
  // One second of each mode, except the one-token run at 1%, which is
  // bounded by count (3,000 requests, about 30 matching) so that its share
  // of matches is a property of the bench, not of how fast the machine is
  // (under ThreadSanitizer one second held fewer than 500 requests).
  struct Case {
    std::vector<std::string> args;
  } cases[] = {
      {{"--mode", "query", "--batch", "200", "--preload", "2000",
        "--match-rate", "0.5", "--preload-cert", (*hub)->Pki().Cert("beta"),
        "--preload-key", (*hub)->Pki().Key("beta"), "--duration", "1"}},
      {{"--mode", "query-single", "--duration", "1"}},
      // One token per request at 1%: the run must hold about 1% matching
      // requests, not none or one in 16 (cairn-bench's BodiesFor).
      {{"--mode", "query-single", "--preload", "2000", "--match-rate", "0.01",
        "--preload-cert", (*hub)->Pki().Cert("beta"), "--preload-key",
        (*hub)->Pki().Key("beta"), "--requests", "3000", "--duration", "60"}},
      {{"--mode", "submit", "--batch", "100", "--duration", "1"}},
  };
  int n = 0;
  for (const auto& c : cases) {
    CAPTURE(c.args);
    const std::string json =
        (*hub)->Scratch().File("bench" + std::to_string(n++) + ".json");
    std::vector<std::string> argv = {bench,
                                     "--connections",
                                     "2",
                                     "--json-out",
                                     json,
                                     "--hub",
                                     (*hub)->Url(),
                                     "--cert",
                                     (*hub)->Pki().Cert("alpha"),
                                     "--key",
                                     (*hub)->Pki().Key("alpha"),
                                     "--cacert",
                                     (*hub)->Pki().CaCert()};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    auto r = testing::RunCommand(argv, 120s);
    CAPTURE(r.err);  // cairn-bench says why it failed
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("latency ms: p50"));
    CHECK_THAT(r.out, Catch::Contains(", 0 errors"));
    // The client's own CPU over the run: a second of load costs some.
    std::smatch cpu;
    REQUIRE(std::regex_search(
        r.out, cpu,
        std::regex(
            R"(client cpu: ([0-9.]+) s \(([0-9.]+) cores\), ([0-9.]+) us per request)")));
    CHECK(std::stod(cpu[1].str()) > 0.0);
    CHECK(std::stod(cpu[3].str()) > 0.0);
    if (c.args[1] == "query") CHECK_THAT(r.out, !Catch::Contains(" 0 matches"));
    const bool counted =
        std::find(c.args.begin(), c.args.end(), "--requests") != c.args.end();
    if (counted) {
      std::smatch m;
      REQUIRE(std::regex_search(
          r.out, m, std::regex(R"(: (\d+) requests .*, (\d+) matches)")));
      const double requests = std::stod(m[1].str());
      const double matches = std::stod(m[2].str());
      CHECK(requests == 3000);
      CHECK(matches / requests > 0.002);
      CHECK(matches / requests < 0.025);
    }
    const std::string written = testing::ReadFileOrEmpty(json);
    CHECK_THAT(written, Catch::Contains("\"p99.9\""));
    CHECK_THAT(written, Catch::Contains("\"items_per_s\""));
    CHECK_THAT(written, Catch::Contains("\"client_cpu_us_per_request\""));
  }
}

}  // namespace
}  // namespace cairn
