// The access log of a real cairnd under a burst of refused requests: each
// caller's 4xx lines are capped per window and summed up, the counts add
// up to what the callers were answered, error answers name their code,
// and 2xx lines are never held back. Requests the transport refuses
// before the API sees them (431, 413, malformed HTTP, an expired
// certificate, a certificate over its connection limit) get their line
// too, under the same cap, and are counted in cairn_requests_total.
#include <chrono>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
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
  // "4xx and 503" when a certificate's connection-limit 503s were held
  // back too.
  const std::regex summary_re(
      "\\] " + caller +
      ": ([0-9]+) more (?:4xx|503|4xx and 503) responses not logged "
      "\\(([^)]*)\\)");
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

// The X-Request-Id of the raw HTTP answer in `out`, or "".
std::string RequestIdOf(const std::string& out) {
  const std::string name = "X-Request-Id: ";
  const auto at = out.find(name);
  if (at == std::string::npos) return {};
  const auto end = out.find('\r', at);
  return out.substr(at + name.size(), end - at - name.size());
}

// Sends `request` as raw bytes over TLS with `member`'s certificate and
// returns what the hub answered (openssl s_client, until the hub closes).
std::string SendRaw(const RunningHub& hub, const std::string& member,
                    const std::string& request) {
  const CommandResult r = RunCommand(
      {"openssl", "s_client", "-connect",
       "127.0.0.1:" + std::to_string(hub.Port()), "-CAfile", hub.Pki().CaCert(),
       "-servername", "localhost", "-ign_eof", "-quiet", "-cert",
       hub.Pki().Cert(member), "-key", hub.Pki().Key(member)},
      std::chrono::seconds(30), request);
  CHECK_FALSE(r.timed_out);
  return r.out;
}

// The lines of `log` that contain `needle`.
std::vector<std::string> LinesWith(const std::string& log,
                                   const std::string& needle) {
  std::vector<std::string> found;
  std::istringstream lines(log);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.find(needle) != std::string::npos) found.push_back(line);
  }
  return found;
}

struct RefusedKind {
  const char* what;
  std::string request;  // raw HTTP
  int status;
  // What the access line says after its request id.
  std::string fields;
};

TEST_CASE(
    "each kind of request the transport refuses leaves one access-log line "
    "with its status and error code") {
  RunningHubOptions options;
  options.extra_toml =
      "[log]\nclient_error_lines_per_member = " + std::to_string(kCap) +
      "\nclient_error_window_seconds = 3600\n"
      "[limits]\nheader_bytes = 4096\nbody_bytes = 1000\n";
  auto hub = RunningHub::Start(options);
  REQUIRE(hub);
  RunningHub& h = **hub;

  // beta's second certificate expires during a keep-alive connection
  // opened now; the other kinds are sent while it runs out. Long enough
  // for the registration and the first request on a loaded machine.
  const auto until =
      std::chrono::system_clock::now() + std::chrono::seconds(15);
  REQUIRE(IssueClientCertUntil(h.Pki(), "brief", until));
  const CommandResult added = h.Ctl({"member", "fingerprint", "add", "beta",
                                     "--member-cert", h.Pki().Cert("brief")});
  CAPTURE(added.err);
  REQUIRE(added.exit_code == 0);
  auto brief = Connect(h, "brief");
  REQUIRE(brief);
  auto before = (*brief)->Send("GET", "/v1/me");
  REQUIRE(before);
  REQUIRE(before->status == 200);

  const RefusedKind kinds[] = {
      {"header over the limit (431)",
       "GET /v1/me HTTP/1.1\r\nHost: localhost\r\nX-Padding: " +
           std::string(5000, 'p') + "\r\n\r\n",
       431,
       "member=alpha endpoint=me status=431 error=headers_too_large items=0 "
       "latency_us="},
      {"Content-Length over the limit (413)",
       "POST /v1/signals HTTP/1.1\r\nHost: localhost\r\n"
       "Content-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n",
       413,
       "member=alpha endpoint=submit status=413 error=payload_too_large "
       "items=0 latency_us="},
      {"chunked body over the limit (413)",
       "POST /v1/signals HTTP/1.1\r\nHost: localhost\r\n"
       "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
       "3e8\r\n" +
           std::string(1000, 'a') + "\r\n1\r\nb\r\n0\r\n\r\n",
       413,
       "member=alpha endpoint=submit status=413 error=payload_too_large "
       "items=0 latency_us="},
      {"malformed header field (400)",
       "GET /v1/me HTTP/1.1\r\nHost localhost\r\n\r\n", 400,
       "member=alpha endpoint=me status=400 error=invalid_argument items=0 "
       "latency_us="},
      {"malformed chunk (400)",
       "POST /v1/query HTTP/1.1\r\nHost: localhost\r\n"
       "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
       "ZZ\r\nabc\r\n0\r\n\r\n",
       400,
       "member=alpha endpoint=query status=400 error=invalid_argument "
       "items=0 latency_us="},
      {"request line over the header limit (431)",
       "GET /" + std::string(5000, 'x') +
           " HTTP/1.1\r\nHost: localhost\r\n\r\n",
       431,
       "member=alpha endpoint=- status=431 error=headers_too_large items=0 "
       "latency_us="},
  };
  for (const RefusedKind& kind : kinds) {
    CAPTURE(kind.what);
    const std::string out = SendRaw(h, "alpha", kind.request);
    CAPTURE(out);
    REQUIRE(out.find("HTTP/1.1 " + std::to_string(kind.status)) !=
            std::string::npos);
    const std::string id = RequestIdOf(out);
    REQUIRE(id.rfind("r_", 0) == 0);
    // Written before the answer: there by now.
    const auto lines = LinesWith(ReadFileOrEmpty(h.LogPath()), id);
    CAPTURE(lines);
    REQUIRE(lines.size() == 1);
    CHECK_THAT(lines[0],
               Catch::Contains("[info] request_id=" + id + " " + kind.fields));
  }

  // The same connection, after the certificate's end of validity.
  std::this_thread::sleep_until(until + std::chrono::seconds(1));
  auto after = (*brief)->Send("GET", "/v1/me");
  REQUIRE(after);
  REQUIRE(after->status == 403);
  const auto expired = LinesWith(ReadFileOrEmpty(h.LogPath()), " status=403 ");
  CAPTURE(expired);
  REQUIRE(expired.size() == 1);
  CHECK_THAT(expired[0],
             Catch::Contains(" member=beta endpoint=me status=403 "
                             "error=permission_denied items=0 latency_us="));
}

TEST_CASE(
    "the 503 of a certificate over its connection limit leaves an "
    "access-log line") {
  RunningHubOptions options;
  options.extra_toml = "[limits]\nmax_connections_per_member = 1\n";
  auto hub = RunningHub::Start(options);
  REQUIRE(hub);
  RunningHub& h = **hub;
  // Answered, so the hub has counted this connection of alpha's.
  auto held = Connect(h, "alpha");
  REQUIRE(held);
  auto first = (*held)->Send("GET", "/v1/me");
  REQUIRE(first);
  REQUIRE(first->status == 200);

  const CurlReply second = h.Curl("alpha", "GET", "/v1/me");
  REQUIRE(second.status == 503);
  const std::string id = second.Header("X-Request-Id");
  REQUIRE(id.rfind("r_", 0) == 0);
  const auto lines = LinesWith(ReadFileOrEmpty(h.LogPath()), id);
  CAPTURE(lines);
  REQUIRE(lines.size() == 1);
  CHECK_THAT(lines[0],
             Catch::Contains("[info] request_id=" + id +
                             " member=alpha endpoint=me status=503 "
                             "error=unavailable items=0 latency_us="));
}

TEST_CASE(
    "a client reconnecting in a loop over its connection limit writes at "
    "most the cap of lines and one summary, and every refusal is counted") {
  RunningHubOptions options;
  options.extra_toml =
      "[limits]\nmax_connections_per_member = 1\n"
      "[log]\nclient_error_lines_per_member = " +
      std::to_string(kCap) + "\nclient_error_window_seconds = 3600\n";
  auto hub = RunningHub::Start(options);
  REQUIRE(hub);
  RunningHub& h = **hub;
  auto held = Connect(h, "alpha");
  REQUIRE(held);
  auto first = (*held)->Send("GET", "/v1/me");
  REQUIRE(first);
  REQUIRE(first->status == 200);

  constexpr int kRefused = kCap + 5;
  for (int i = 0; i < kRefused; ++i) {
    CAPTURE(i);
    REQUIRE(h.Curl("alpha", "GET", "/v1/me").status == 503);
  }
  // And one refusal of the transport's that is no request line at all.
  REQUIRE(SendRaw(h, "beta", "NOT HTTP\r\n\r\n").find("HTTP/1.1 400") !=
          std::string::npos);
  const CurlReply metrics = h.Curl("operator", "GET", "/metrics");
  REQUIRE(metrics.status == 200);
  CHECK_THAT(metrics.body,
             Catch::Contains("cairn_requests_total{endpoint=\"me\",status="
                             "\"503\"} " +
                             std::to_string(kRefused) + "\n"));
  CHECK_THAT(metrics.body,
             Catch::Contains(
                 "cairn_requests_total{endpoint=\"unknown\",status=\"400\"} "
                 "1\n"));

  auto stopped = h.Stop();
  REQUIRE(stopped);
  CHECK(*stopped == 0);
  const std::string log = ReadFileOrEmpty(h.LogPath());
  const CallerLog a = ReadCallerLog(log, "member=alpha", {" member=alpha "});
  CAPTURE(a.logged, a.summarised);
  CHECK(a.logged == std::map<int, int>{{200, 1}, {503, kCap}});
  CHECK(a.summarised == std::map<int, int>{{503, kRefused - kCap}});
  CHECK(a.summaries == 1);
}

TEST_CASE(
    "the transport's refusals count against a caller's cap of 4xx lines "
    "with the API's own") {
  RunningHubOptions options;
  options.extra_toml =
      "[log]\nclient_error_lines_per_member = " + std::to_string(kCap) +
      "\nclient_error_window_seconds = 3600\n";
  auto hub = RunningHub::Start(options);
  REQUIRE(hub);
  RunningHub& h = **hub;
  REQUIRE(IssueClientCert(h.Pki(), "stranger", 30));
  auto fingerprint = server::FingerprintOfPemFile(h.Pki().Cert("stranger"));
  REQUIRE(fingerprint);

  // A certificate that is no member's: 6 refusals of the API (403), then
  // 9 of the transport (malformed HTTP, 400), 15 in all.
  const std::map<int, int> api = Send(h, "stranger", 6, "GET", "/v1/me", "");
  REQUIRE(api == std::map<int, int>{{403, 6}});
  for (int i = 0; i < 9; ++i) {
    CAPTURE(i);
    REQUIRE(
        SendRaw(h, "stranger", "GET /v1/me HTTP/1.1\r\nHost localhost\r\n\r\n")
            .find("HTTP/1.1 400") != std::string::npos);
  }
  // And 12 of the transport for alpha, a member: capped as member=alpha.
  for (int i = 0; i < kCap + 2; ++i) {
    CAPTURE(i);
    REQUIRE(SendRaw(h, "alpha", "GET /v1/me HTTP/1.1\r\nHost localhost\r\n\r\n")
                .find("HTTP/1.1 400") != std::string::npos);
  }

  auto stopped = h.Stop();
  REQUIRE(stopped);
  CHECK(*stopped == 0);
  const std::string log = ReadFileOrEmpty(h.LogPath());

  const std::string caller = "member=- fingerprint=" + *fingerprint;
  const CallerLog s =
      ReadCallerLog(log, caller, {" member=- ", "fingerprint=" + *fingerprint});
  CAPTURE(s.logged, s.summarised);
  CHECK(s.logged == std::map<int, int>{{403, 6}, {400, kCap - 6}});
  CHECK(s.summarised == std::map<int, int>{{400, 15 - kCap}});
  CHECK(s.summaries == 1);
  REQUIRE(s.example.count(400) == 1);
  CHECK_THAT(s.example.at(400),
             Catch::Contains(" member=- peer=127.0.0.1:") &&
                 Catch::Contains("fingerprint=" + *fingerprint +
                                 " endpoint=me status=400 "
                                 "error=invalid_argument latency_us="));

  const CallerLog a = ReadCallerLog(log, "member=alpha", {" member=alpha "});
  CAPTURE(a.logged, a.summarised);
  CHECK(a.logged == std::map<int, int>{{400, kCap}});
  CHECK(a.summarised == std::map<int, int>{{400, 2}});
  CHECK(a.summaries == 1);
}

}  // namespace
}  // namespace cairn::testing
