// The access log of a real cairnd under a burst of refused requests: each
// caller's 4xx lines are capped per window and summed up, the counts add
// up to what the callers were answered, error answers name their code,
// and 2xx lines are never held back.
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "server/src/ctl/certificate.h"
#include "tests/integration/integration_util.h"

namespace cairn::testing {
namespace {

constexpr int kCap = 10;

// Statuses answered to `member` for `n` requests; a connection the hub
// closed is opened again.
std::map<int, int> Send(const RunningHub& hub, const std::string& member, int n,
                        const std::string& method, const std::string& path,
                        const std::string& body) {
  std::map<int, int> statuses;
  auto connection = Connect(hub, member);
  REQUIRE(connection);
  for (int i = 0; i < n; ++i) {
    auto reply = (*connection)->Send(method, path, body);
    if (!reply) {
      connection = Connect(hub, member);
      REQUIRE(connection);
      reply = (*connection)->Send(method, path, body);
    }
    REQUIRE(reply);
    ++statuses[reply->status];
  }
  return statuses;
}

struct CallerLog {
  std::map<int, int> logged;           // access lines by status
  std::map<int, int> summarised;       // summary counts by status
  int summaries = 0;                   // summary lines
  std::map<int, std::string> example;  // one access line per status
};

// The access lines that contain every one of `needles`, and the summary
// lines of `caller` ("member=alpha" or "member=- fingerprint=..."), in
// `log`.
CallerLog ReadCallerLog(const std::string& log, const std::string& caller,
                        const std::vector<std::string>& needles) {
  CallerLog out;
  const std::regex status_re(" status=([0-9]+)");
  const std::regex summary_re(
      "\\] " + caller +
      ": ([0-9]+) more 4xx responses not logged \\(([^)]*)\\)");
  const std::regex count_re("([0-9]+): ([0-9]+)");
  std::istringstream lines(log);
  std::string line;
  std::smatch m;
  while (std::getline(lines, line)) {
    if (std::regex_search(line, m, summary_re)) {
      ++out.summaries;
      const int total = std::stoi(m[1]);
      int sum = 0;
      const std::string counts = m[2];
      for (std::sregex_iterator it(counts.begin(), counts.end(), count_re), end;
           it != end; ++it) {
        out.summarised[std::stoi((*it)[1])] += std::stoi((*it)[2]);
        sum += std::stoi((*it)[2]);
      }
      CHECK(sum == total);
      continue;
    }
    bool mine = line.find("request_id=") != std::string::npos;
    for (const std::string& needle : needles) {
      mine = mine && line.find(needle) != std::string::npos;
    }
    if (mine && std::regex_search(line, m, status_re)) {
      const int status = std::stoi(m[1]);
      ++out.logged[status];
      out.example.emplace(status, line);
    }
  }
  return out;
}

TEST_CASE(
    "a burst of refused requests is logged up to the cap per caller, then "
    "summed up, and 2xx lines are all kept") {
  RunningHubOptions options;
  // One window for the whole test: the cap is then exact. The request
  // bucket holds 50, so the burst gets 400s and then 429s.
  options.extra_toml =
      "[log]\nclient_error_lines_per_member = " + std::to_string(kCap) +
      "\nclient_error_window_seconds = 3600\n"
      "[rate_limits]\nrequests_per_second = 1\nburst_seconds = 50\n";
  auto hub = RunningHub::Start(options);
  REQUIRE(hub);
  RunningHub& h = **hub;
  REQUIRE(IssueClientCert(h.Pki(), "stranger", 30));

  // alpha: 300 malformed submissions over keep-alive connections.
  const std::map<int, int> alpha =
      Send(h, "alpha", 300, "POST", "/v1/signals", "{");
  CAPTURE(alpha);
  REQUIRE(alpha.count(400) == 1);
  REQUIRE(alpha.count(429) == 1);
  REQUIRE(alpha.at(400) + alpha.at(429) == 300);
  // A certificate the hub does not know: 403s, capped per certificate.
  const std::map<int, int> stranger =
      Send(h, "stranger", 25, "GET", "/v1/me", "");
  REQUIRE(stranger == std::map<int, int>{{403, 25}});
  // beta's successes are never held back.
  const std::map<int, int> beta = Send(h, "beta", 30, "GET", "/v1/me", "");
  REQUIRE(beta == std::map<int, int>{{200, 30}});

  // A clean stop writes the summaries of windows still open.
  auto stopped = h.Stop();
  REQUIRE(stopped);
  CHECK(*stopped == 0);
  const std::string log = ReadFileOrEmpty(h.LogPath());

  const CallerLog a = ReadCallerLog(log, "member=alpha", {" member=alpha "});
  CAPTURE(a.logged, a.summarised);
  int alpha_lines = 0;
  for (const auto& [status, n] : a.logged) alpha_lines += n;
  CHECK(alpha_lines == kCap);
  CHECK(a.summaries == 1);
  for (const int status : {400, 429}) {
    const int logged = a.logged.count(status) ? a.logged.at(status) : 0;
    const int summarised =
        a.summarised.count(status) ? a.summarised.at(status) : 0;
    CHECK(logged + summarised == alpha.at(status));
  }
  // The first answers were 400s: those are the ones logged, with the code.
  REQUIRE(a.example.count(400) == 1);
  CHECK_THAT(a.example.at(400), Catch::Contains("endpoint=submit status=400 "
                                                "error=invalid_argument "
                                                "items=0"));

  auto fingerprint = server::FingerprintOfPemFile(h.Pki().Cert("stranger"));
  REQUIRE(fingerprint);
  const std::string stranger_caller = "member=- fingerprint=" + *fingerprint;
  const CallerLog s = ReadCallerLog(
      log, stranger_caller, {" member=- ", "fingerprint=" + *fingerprint});
  CHECK(s.logged == std::map<int, int>{{403, kCap}});
  CHECK(s.summarised == std::map<int, int>{{403, 25 - kCap}});
  CHECK(s.summaries == 1);
  REQUIRE(s.example.count(403) == 1);
  CHECK_THAT(s.example.at(403),
             Catch::Contains("status=403 error=permission_denied"));

  const CallerLog b = ReadCallerLog(log, "member=beta", {" member=beta "});
  CHECK(b.logged == std::map<int, int>{{200, 30}});
  CHECK(b.summaries == 0);
  REQUIRE(b.example.count(200) == 1);
  CHECK(b.example.at(200).find("error=") == std::string::npos);
}

}  // namespace
}  // namespace cairn::testing
