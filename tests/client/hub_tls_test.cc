// The SDK and the `cairn` CLI against a real cairnd whose certificate is
// not issued for the host in the hub URL: the error names the host, the
// names the certificate holds and what to do, and the connection is still
// refused.
#include <chrono>
#include <filesystem>
#include <memory>

#include <catch2/catch.hpp>

#include "cairn/client.h"
#include "cairn/token.h"
#include "support/running_hub.h"

namespace cairn {
namespace {

using testing::CommandResult;
using testing::RunCommand;
using testing::RunningHub;
using testing::TempPki;

constexpr auto kTimeout = std::chrono::seconds(60);

// A hub restarted with a production-style certificate signed by the test
// PKI's CA: a DNS name and an address that are not loopback's, so that
// https://127.0.0.1:PORT reaches it under a name it is not issued for.
RunningHub& OtherNameHub() {
  static std::unique_ptr<RunningHub> hub = [] {
    auto started = RunningHub::Start();
    if (!started) FAIL("cannot start cairnd: " << started.error().ToString());
    RunningHub& h = **started;
    const TempPki& pki = h.Pki();
    const std::string base = pki.dir() + "/other-name";
    const CommandResult key = RunCommand(
        {"openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:P-256", "-nodes", "-keyout", base + ".key", "-subj",
         "/CN=hub.example.org", "-out", base + ".csr"},
        kTimeout);
    if (key.exit_code != 0) FAIL("openssl req: " << key.err);
    if (!testing::WriteFile(base + ".ext",
                            "basicConstraints=CA:FALSE\n"
                            "keyUsage=critical,digitalSignature\n"
                            "extendedKeyUsage=serverAuth\n"
                            "subjectAltName=DNS:hub.example.org,"
                            "IP:192.0.2.7\n")) {
      FAIL("cannot write " << base << ".ext");
    }
    const CommandResult cert = RunCommand(
        {"openssl", "x509", "-req", "-in", base + ".csr", "-CA", pki.CaCert(),
         "-CAkey", pki.dir() + "/ca.key", "-CAcreateserial", "-days", "30",
         "-sha256", "-extfile", base + ".ext", "-out", base + ".crt"},
        kTimeout);
    if (cert.exit_code != 0) FAIL("openssl x509: " << cert.err);
    auto stopped = h.Stop();
    if (!stopped || *stopped != 0) FAIL("cairnd did not stop cleanly");
    const auto overwrite = std::filesystem::copy_options::overwrite_existing;
    std::filesystem::copy_file(base + ".crt", pki.ServerCert(), overwrite);
    std::filesystem::copy_file(base + ".key", pki.ServerKey(), overwrite);
    if (auto restarted = h.Restart(); !restarted) {
      FAIL("cannot restart cairnd: " << restarted.error().ToString());
    }
    return std::move(*started);
  }();
  return *hub;
}

ClientOptions OptionsFor(const RunningHub& hub) {
  ClientOptions options;
  options.hub_url = hub.Url();
  options.cert_file = hub.Pki().Cert("alpha");
  options.key_file = hub.Pki().Key("alpha");
  options.ca_file = hub.Pki().CaCert();
  options.consortium_key = ConsortiumKey::Generate();
  options.retry.initial_backoff = std::chrono::milliseconds(10);
  return options;
}

TEST_CASE(
    "hub tls: a hub certificate issued for another host is a permission "
    "error naming the host and the certificate's names") {
  RunningHub& hub = OtherNameHub();
  const auto options = OptionsFor(hub);
  auto client = MakeClient(options);
  REQUIRE(client);
  auto me = client->Me();
  REQUIRE_FALSE(me);
  CAPTURE(me.error().message);
  CHECK(me.error().code == ErrorCode::kPermissionDenied);
  CHECK_THAT(me.error().message,
             Catch::StartsWith("the hub's certificate is not valid for host "
                               "'127.0.0.1', the host in the hub URL " +
                               options.hub_url));
  CHECK_THAT(me.error().message,
             Catch::Contains("(it is for: DNS:hub.example.org, IP:192.0.2.7)"));
  CHECK_THAT(me.error().message, Catch::Contains("check the hub URL"));
  CHECK_THAT(me.error().message,
             Catch::Contains("ask the hub operator for a certificate that "
                             "names this host"));
  // The CA did sign it: the message must not send the user to ca_file.
  CHECK_THAT(me.error().message, !Catch::Contains("ca_file"));
}

TEST_CASE(
    "hub tls: a hub certificate another CA signed keeps the CA hint, not "
    "the host name one") {
  RunningHub& hub = OtherNameHub();
  auto options = OptionsFor(hub);
  options.ca_file = hub.Pki().dir() + "/other-ca.crt";
  options.retry.max_attempts = 1;
  auto client = MakeClient(options);
  REQUIRE(client);
  auto me = client->Me();
  REQUIRE_FALSE(me);
  CAPTURE(me.error().message);
  CHECK(me.error().code == ErrorCode::kPermissionDenied);
  CHECK_THAT(me.error().message,
             Catch::Contains("failed: the hub's certificate was refused ("));
  CHECK_THAT(me.error().message,
             Catch::Contains("check that ca_file (" + options.ca_file +
                             ") is the CA that signed the hub's certificate"));
  CHECK_THAT(me.error().message, !Catch::Contains("not valid for host"));
  // The hub's certificate is at fault, not the member's own.
  CHECK_THAT(me.error().message, !Catch::Contains("cert_file"));
}

TEST_CASE("hub tls: cairn names a hub certificate issued for another host") {
  RunningHub& hub = OtherNameHub();
  const std::string key_file = hub.Scratch().File("consortium.key");
  REQUIRE(WriteNewConsortiumKey(key_file));
  const CommandResult r =
      hub.Cairn("alpha", {"me", "--consortium-key", key_file});
  CAPTURE(r.out, r.err);
  CHECK(r.exit_code == 1);  // the hub was reached and not accepted
  CHECK_THAT(r.err, Catch::Contains("permission_denied: the hub's certificate "
                                    "is not valid for host '127.0.0.1'"));
  CHECK_THAT(r.err, Catch::Contains("DNS:hub.example.org"));
}

}  // namespace
}  // namespace cairn
