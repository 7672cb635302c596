// The hub's own certificate dates, against a real cairnd: what it refuses
// to start or reload with (an expired hub certificate, a client CA bundle
// with no valid CA), what it warns of (anything ending within 30 days),
// what it logs and exports as metrics, and a CA rotation with two CAs
// bundled.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>

#include "cairn/timestamp.h"
#include "tests/integration/integration_util.h"

namespace cairn::testing {
namespace {

using std::chrono::system_clock;

std::size_t Count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + needle.size())) {
    ++n;
  }
  return n;
}

std::size_t ReloadsLogged(const RunningHub& hub) {
  const std::string log = ReadFileOrEmpty(hub.LogPath());
  return Count(log, "TLS files reloaded") + Count(log, "TLS reload failed");
}

// Sends cairnd SIGHUP and waits (bounded) for the reload's outcome to be
// logged; returns the log.
std::string Reload(const RunningHub& hub) {
  const std::size_t before = ReloadsLogged(hub);
  REQUIRE(::kill(hub.Pid(), SIGHUP) == 0);
  for (int i = 0; i < 400 && ReloadsLogged(hub) == before; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  REQUIRE(ReloadsLogged(hub) == before + 1);
  return ReadFileOrEmpty(hub.LogPath());
}

// The line of `log` that contains `needle`, or "" if none does.
std::string LineWith(const std::string& log, const std::string& needle) {
  std::istringstream lines(log);
  std::string line;
  std::string found;
  while (std::getline(lines, line)) {
    if (line.find(needle) != std::string::npos) found = line;
  }
  return found;
}

// The value of the certificate expiry gauge with this label, from
// GET /metrics as `caller` (a certificate of the operator role); -1 if it
// is absent.
double ExpiryGauge(const RunningHub& hub, const std::string& certificate,
                   const std::string& caller = "operator") {
  const CurlReply reply = hub.Curl(caller, "GET", "/metrics");
  REQUIRE(reply.status == 200);
  const std::string series =
      "cairn_tls_certificate_expiry_timestamp_seconds{certificate=\"" +
      certificate + "\"} ";
  const auto at = reply.body.find("\n" + series);
  if (at == std::string::npos) return -1;
  return std::stod(reply.body.substr(at + 1 + series.size()));
}

double UnixSeconds(system_clock::time_point t) {
  return double(
      std::chrono::floor<std::chrono::seconds>(t).time_since_epoch().count());
}

std::string Rfc3339(system_clock::time_point t) {
  return FormatTimestamp(std::chrono::floor<std::chrono::seconds>(t));
}

void Copy(const std::string& from, const std::string& to) {
  std::filesystem::copy_file(from, to,
                             std::filesystem::copy_options::overwrite_existing);
}

// Points the hub's [tls] ca at a copy of the PKI's CA in the scratch
// directory and restarts it there, so that a test can change the bundle
// the hub trusts while curl and cairnctl keep verifying the hub with the
// PKI's CA. Returns the copy's path.
std::string UseLiveClientCa(RunningHub& hub) {
  std::string live = hub.Scratch().File("client-ca.crt");
  Copy(hub.Pki().CaCert(), live);
  std::string config = ReadFileOrEmpty(hub.ConfigPath());
  const std::string from = "ca = \"" + hub.Pki().CaCert() + "\"";
  const auto at = config.find(from);
  REQUIRE(at != std::string::npos);
  config.replace(at, from.size(), "ca = \"" + live + "\"");
  REQUIRE(WriteFile(hub.ConfigPath(), config));
  REQUIRE(hub.Restart());
  return live;
}

const auto kJan2020 =
    std::chrono::sys_days{std::chrono::year{2020} / std::chrono::January / 1};
const auto kJan2021 =
    std::chrono::sys_days{std::chrono::year{2021} / std::chrono::January / 1};

TEST_CASE("cairnd refuses to start with an expired hub certificate") {
  auto hub = RunningHub::Start({.register_members = false});
  REQUIRE(hub);
  RunningHub& h = **hub;
  REQUIRE(h.Stop() == 0);
  const TempPki& pki = h.Pki();
  REQUIRE(IssueCertBetween(pki, "hub-expired", CertKind::kServer, kJan2020,
                           kJan2021));
  Copy(pki.ServerCert(), pki.dir() + "/server-good.crt");
  Copy(pki.Cert("hub-expired"), pki.ServerCert());

  const Status started = h.Restart();
  REQUIRE_FALSE(started.has_value());
  CHECK_THAT(started.error().message,
             Catch::Contains("the hub certificate '" + pki.ServerCert() +
                             "' (O=Cairn Test,CN=hub-expired) expired at "
                             "2021-01-01T00:00:00Z"));
  CHECK_FALSE(h.Running());

  // Control: the same hub starts with a valid certificate.
  Copy(pki.dir() + "/server-good.crt", pki.ServerCert());
  REQUIRE(h.Restart());
  CHECK(h.Curl("operator", "GET", "/v1/me").status == 200);
}

TEST_CASE(
    "cairnd logs its certificate and warns of one that expires within 30 "
    "days, at start-up and on reload") {
  auto hub = RunningHub::Start({.register_members = false});
  REQUIRE(hub);
  RunningHub& h = **hub;
  const TempPki& pki = h.Pki();
  const std::string started = ReadFileOrEmpty(h.LogPath());
  CHECK_THAT(started,
             Catch::Contains("[info] hub certificate O=Cairn Dev,CN=server: "
                             "valid until 20"));
  // The development PKI's certificates last for years: nothing to warn of.
  CHECK(Count(started, "expires at") == 0);
  CHECK(ExpiryGauge(h, "server") > UnixSeconds(system_clock::now()));

  // The certificate an operator renewed too late: under two days left.
  const auto until = std::chrono::floor<std::chrono::seconds>(
      system_clock::now() + std::chrono::hours(47));
  REQUIRE(IssueCertBetween(pki, "hub-soon", CertKind::kServer,
                           system_clock::now() - std::chrono::minutes(1),
                           until));
  Copy(pki.Cert("hub-soon"), pki.ServerCert());
  const std::string reloaded = Reload(h);
  CHECK_THAT(reloaded, Catch::Contains("TLS files reloaded"));
  CHECK_THAT(reloaded,
             Catch::Contains("[info] hub certificate O=Cairn Test,CN=hub-soon: "
                             "valid until " +
                             Rfc3339(until)));
  const std::string warning = "[warning] the hub certificate '" +
                              pki.ServerCert() +
                              "' (O=Cairn Test,CN=hub-soon) expires at " +
                              Rfc3339(until) + ", in 1 day";
  CHECK(Count(reloaded, warning) == 1);
  CHECK(ExpiryGauge(h, "server") == UnixSeconds(until));
  // New connections get the new certificate, and it works.
  CHECK(h.Curl("operator", "GET", "/v1/me").status == 200);

  // A restart with it warns again.
  REQUIRE(h.Restart());
  CHECK(Count(ReadFileOrEmpty(h.LogPath()), warning) == 2);
}

TEST_CASE(
    "a client CA bundle with no valid CA is refused on reload and at "
    "start-up, and everyone keeps getting in") {
  auto hub = RunningHub::Start();
  REQUIRE(hub);
  RunningHub& h = **hub;
  const std::string live = UseLiveClientCa(h);
  const double ca_gauge = ExpiryGauge(h, "client_ca");
  CHECK(ca_gauge > UnixSeconds(system_clock::now()));

  // The same CA (same key and name), but its validity has ended.
  REQUIRE(IssueCertBetween(h.Pki(), "ca-expired", CertKind::kSameCa, kJan2020,
                           kJan2021));
  Copy(h.Pki().Cert("ca-expired"), live);
  const std::string log = Reload(h);
  const std::string failure = LineWith(log, "TLS reload failed");
  CHECK_THAT(failure,
             Catch::Contains("[error] TLS reload failed, keeping the previous "
                             "files: no certificate in the client CA "
                             "bundle '" +
                             live +
                             "' is valid now (CN=Cairn Dev Root CA,O=Cairn "
                             "Dev expired at 2021-01-01T00:00:00Z)"));
  CHECK(h.Curl("operator", "GET", "/v1/me").status == 200);
  CHECK(h.Curl("alpha", "GET", "/v1/me").status == 200);
  CHECK(ExpiryGauge(h, "client_ca") == ca_gauge);

  const Status restarted = h.Restart();
  REQUIRE_FALSE(restarted.has_value());
  CHECK_THAT(restarted.error().message,
             Catch::Contains("no certificate in the client CA bundle '" + live +
                             "' is valid now"));
}

TEST_CASE(
    "during a CA rotation the hub accepts members of both bundled CAs and "
    "warns of the one that expires first") {
  auto hub = RunningHub::Start();
  REQUIRE(hub);
  RunningHub& h = **hub;
  const TempPki& pki = h.Pki();
  const std::string live = UseLiveClientCa(h);
  // other-ca plays the new CA, other-ca-client an operator's certificate it
  // issued: the hub does not trust it yet.
  const CommandResult added =
      h.Ctl({"member", "add", "gamma", "--name", "Gamma", "--role", "operator",
             "--member-cert", pki.Cert("other-ca-client")});
  CAPTURE(added.err);
  REQUIRE(added.exit_code == 0);
  CHECK(h.Curl("other-ca-client", "GET", "/v1/me").status == 0);

  // The current CA has under ten days left: bundle the new one with it.
  const auto old_until = std::chrono::floor<std::chrono::seconds>(
      system_clock::now() + std::chrono::days(10) - std::chrono::hours(1));
  REQUIRE(IssueCertBetween(pki, "ca-soon", CertKind::kSameCa,
                           system_clock::now() - std::chrono::days(1),
                           old_until));
  REQUIRE(WriteFile(live, ReadFileOrEmpty(pki.dir() + "/other-ca.crt") +
                              ReadFileOrEmpty(pki.Cert("ca-soon"))));
  std::string log = Reload(h);
  CHECK_THAT(log, Catch::Contains("TLS files reloaded"));
  CHECK_THAT(LineWith(log, "[warning] the client CA"),
             Catch::Contains("the client CA 'CN=Cairn Dev Root CA,O=Cairn "
                             "Dev' in '" +
                             live + "' expires at " + Rfc3339(old_until) +
                             ", in 9 days"));
  CHECK(ExpiryGauge(h, "client_ca") == UnixSeconds(old_until));
  // Members of both CAs get in.
  CHECK(h.Curl("alpha", "GET", "/v1/me").status == 200);
  CHECK(h.Curl("operator", "GET", "/v1/me").status == 200);
  CHECK(h.Curl("other-ca-client", "GET", "/v1/me").status == 200);

  // The old CA has expired but is still in the bundle: accepted, with a
  // warning to remove it; its members no longer get in.
  REQUIRE(IssueCertBetween(pki, "ca-expired", CertKind::kSameCa, kJan2020,
                           kJan2021));
  REQUIRE(WriteFile(live, ReadFileOrEmpty(pki.dir() + "/other-ca.crt") +
                              ReadFileOrEmpty(pki.Cert("ca-expired"))));
  log = Reload(h);
  CHECK_THAT(log, Catch::Contains(
                      "[warning] the client CA 'CN=Cairn Dev Root CA,O=Cairn "
                      "Dev' in '" +
                      live +
                      "' expired at 2021-01-01T00:00:00Z and verifies no "
                      "member certificate any more; remove it from the "
                      "bundle"));
  CHECK(h.Curl("other-ca-client", "GET", "/v1/me").status == 200);
  CHECK(h.Curl("alpha", "GET", "/v1/me").status == 0);

  // The rotation's last step: the old CA removed.
  Copy(pki.dir() + "/other-ca.crt", live);
  const std::size_t warnings =
      Count(ReadFileOrEmpty(h.LogPath()), "[warning] the client CA");
  log = Reload(h);
  CHECK(Count(log, "[warning] the client CA") == warnings);
  // The operator's old-CA certificate is out too: ask as gamma.
  CHECK(ExpiryGauge(h, "client_ca", "other-ca-client") >
        UnixSeconds(old_until));
  CHECK(h.Curl("other-ca-client", "GET", "/v1/me").status == 200);
  CHECK(h.Curl("alpha", "GET", "/v1/me").status == 0);
}

}  // namespace
}  // namespace cairn::testing
