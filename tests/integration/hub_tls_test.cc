// Who gets in, against a real cairnd: the TLS handshake policy (openssl
// s_client and curl) and the hub's identity checks after it (unregistered,
// suspended and revoked certificates), including on a keep-alive
// connection opened before the change.
#include <filesystem>
#include <thread>

#include <catch2/catch.hpp>

#include "server/src/ctl/certificate.h"
#include "tests/integration/integration_util.h"

namespace cairn::testing {
namespace {

const char kGetMe[] =
    "GET /v1/me HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

CommandResult SClient(const RunningHub& hub, const std::string& name,
                      const std::vector<std::string>& extra) {
  std::vector<std::string> args = {
      "openssl",     "s_client",
      "-connect",    "127.0.0.1:" + std::to_string(hub.Port()),
      "-CAfile",     hub.Pki().CaCert(),
      "-servername", "localhost",
      "-ign_eof"};
  if (!name.empty()) {
    args.insert(args.end(),
                {"-cert", hub.Pki().Cert(name), "-key", hub.Pki().Key(name)});
  }
  args.insert(args.end(), extra.begin(), extra.end());
  return RunCommand(args, std::chrono::seconds(30), kGetMe);
}

struct RefusedCase {
  const char* name;  // PKI certificate; "" for none
  const char* why;
};

const RefusedCase kRefused[] = {
    {"", "no client certificate"},
    {"other-ca-client", "signed by a CA the hub does not trust"},
    {"expired", "validity ended"},
    {"not-yet-valid", "validity has not begun"},
    {"server-auth-only", "EKU serverAuth only, no clientAuth"},
};

TEST_CASE("cairnd refuses the handshake without a valid client certificate") {
  auto hub = RunningHub::Start({.register_members = false});
  REQUIRE(hub);
  for (const RefusedCase& c : kRefused) {
    CAPTURE(c.name, c.why);
    const CommandResult s_client = SClient(**hub, c.name, {});
    CAPTURE(s_client.out, s_client.err);
    CHECK_FALSE(s_client.timed_out);
    CHECK(s_client.out.find("HTTP/1.1") == std::string::npos);

    const CurlReply curl = (*hub)->Curl(c.name, "GET", "/v1/me");
    CAPTURE(curl.error);
    CHECK(curl.exit_code != 0);
    CHECK(curl.status == 0);
  }
  // Control: the operator (registered by cairnctl init) gets through both.
  const CommandResult good = SClient(**hub, "operator", {});
  CHECK(good.out.find("HTTP/1.1 200 OK") != std::string::npos);
  CHECK(good.out.find("TLSv1.3") != std::string::npos);
  CHECK((*hub)->Curl("operator", "GET", "/v1/me").status == 200);
}

TEST_CASE("cairnd refuses TLS 1.2 and TLS 1.1 with the default config") {
  auto hub = RunningHub::Start({.register_members = false});
  REQUIRE(hub);
  const CommandResult v12 = SClient(**hub, "operator", {"-tls1_2"});
  CAPTURE(v12.out, v12.err);
  CHECK(v12.out.find("HTTP/1.1") == std::string::npos);
  // OpenSSL 3's default security level would stop the client from even
  // offering TLS 1.1; lower it so that the hub is what refuses.
  const CommandResult v11 =
      SClient(**hub, "operator", {"-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"});
  CHECK(v11.out.find("HTTP/1.1") == std::string::npos);
  const CurlReply curl12 =
      (*hub)->Curl("operator", "GET", "/v1/me", {}, {"--tls-max", "1.2"});
  CHECK(curl12.status == 0);
  // Control: TLS 1.3 works.
  const CommandResult v13 = SClient(**hub, "operator", {"-tls1_3"});
  CHECK(v13.out.find("HTTP/1.1 200 OK") != std::string::npos);
}

TEST_CASE("a CA-signed but unregistered certificate gets 403 naming it") {
  auto hub = RunningHub::Start({.register_members = false});
  REQUIRE(hub);
  REQUIRE(IssueClientCert((*hub)->Pki(), "stranger", 30));
  auto fingerprint =
      server::FingerprintOfPemFile((*hub)->Pki().Cert("stranger"));
  REQUIRE(fingerprint);
  REQUIRE(fingerprint->size() == 64);
  // The PKI's own unregistered member certificate too.
  const std::pair<std::string, std::string> cases[] = {
      {"stranger", *fingerprint},
      {"alpha", (*hub)->Pki().Fingerprint("alpha")},
  };
  for (const auto& [name, fp] : cases) {
    CAPTURE(name);
    const CurlReply reply = (*hub)->Curl(name, "GET", "/v1/me");
    CHECK(reply.status == 403);
    CHECK(ErrorCodeOf(reply.body) == "permission_denied");
    CHECK(ErrorMessageOf(reply.body).find(fp) != std::string::npos);
    CHECK(reply.Header("Content-Type").find("application/json") == 0);
    // The access log names what the operator can trace a non-member by.
    CHECK_THAT(ReadFileOrEmpty((*hub)->LogPath()),
               Catch::Contains("member=- peer=127.0.0.1:") &&
                   Catch::Contains("fingerprint=" + fp + " endpoint=me"));
  }
}

TEST_CASE(
    "a certificate that expires during a keep-alive connection is refused from "
    "then on") {
  auto hub = RunningHub::Start();
  REQUIRE(hub);
  RunningHub& h = **hub;
  // Long enough for the registration and the first request on a loaded
  // machine; the test waits it out.
  const auto until =
      std::chrono::system_clock::now() + std::chrono::seconds(15);
  REQUIRE(IssueClientCertUntil(h.Pki(), "brief", until));
  const CommandResult added = h.Ctl({"member", "fingerprint", "add", "alpha",
                                     "--member-cert", h.Pki().Cert("brief")});
  CAPTURE(added.err);
  REQUIRE(added.exit_code == 0);
  auto connection = Connect(h, "brief");
  REQUIRE(connection);
  auto before = (*connection)->Send("GET", "/v1/me");
  REQUIRE(before);
  REQUIRE(before->status == 200);
  std::this_thread::sleep_until(until + std::chrono::seconds(1));
  // The same connection, after the certificate's end of validity.
  auto after = (*connection)->Send("GET", "/v1/me");
  REQUIRE(after);
  CHECK(after->status == 403);
  CHECK(ErrorCodeOf(after->body) == "permission_denied");
  CHECK_THAT(ErrorMessageOf(after->body),
             Catch::Contains("the client certificate expired at"));
  // And no resumed session gets past the handshake's date check either.
  CHECK(h.Curl("brief", "GET", "/v1/me").status == 0);
}

TEST_CASE("the hub never resumes a TLS session") {
  auto hub = RunningHub::Start();
  REQUIRE(hub);
  RunningHub& h = **hub;
  const std::string session = h.Scratch().File("session.pem");
  const CommandResult first = SClient(h, "alpha", {"-sess_out", session});
  CAPTURE(first.out);
  REQUIRE(first.out.find("HTTP/1.1 200") != std::string::npos);
  CHECK(first.out.find("New, TLSv1.3") != std::string::npos);
  // A hub that issued a session ticket would let the session be resumed
  // without the certificate checks; s_client saves the session file only
  // then.
  if (std::filesystem::exists(session)) {
    const CommandResult second = SClient(h, "alpha", {"-sess_in", session});
    CAPTURE(second.out);
    CHECK(second.out.find("Reused,") == std::string::npos);
  }
}

TEST_CASE("a caller refused anyway is answered without its body being kept") {
  RunningHubOptions options;
  // The body never comes: the hub used to wait this long for it and then
  // close without an answer. It now answers at once, then waits as long
  // for the body to throw it away.
  options.extra_toml = "[timeouts]\nbody_seconds = 3\n";
  auto hub = RunningHub::Start(options);
  REQUIRE(hub);
  RunningHub& h = **hub;
  REQUIRE(IssueClientCert(h.Pki(), "stranger", 30));
  auto header = [](const std::string& target, const std::string& type) {
    return "POST " + target +
           " HTTP/1.1\r\nHost: localhost\r\nContent-Type: " + type +
           "\r\nContent-Length: 4000000\r\n\r\n";
  };
  struct Case {
    const char* what;
    std::string name;
    std::string request;
    const char* status_line;
  };
  const Case cases[] = {
      {"unregistered certificate", "stranger",
       header("/v1/signals", "application/json"), "HTTP/1.1 403"},
      {"member without the operator role", "alpha",
       header("/v1/admin/members", "application/json"), "HTTP/1.1 403"},
      {"wrong content type", "alpha", header("/v1/signals", "text/plain"),
       "HTTP/1.1 415"},
      {"unknown endpoint", "alpha", header("/v1/nothing", "application/json"),
       "HTTP/1.1 404"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    const CommandResult r =
        RunCommand({"openssl", "s_client", "-connect",
                    "127.0.0.1:" + std::to_string(h.Port()), "-CAfile",
                    h.Pki().CaCert(), "-servername", "localhost", "-ign_eof",
                    "-cert", h.Pki().Cert(c.name), "-key", h.Pki().Key(c.name)},
                   std::chrono::seconds(30), c.request);
    CAPTURE(r.out);
    // The hub answered without the body and closed the connection (else
    // s_client, ignoring its stdin's end, would wait out the 30 s).
    CHECK_FALSE(r.timed_out);
    CHECK(r.out.find(c.status_line) != std::string::npos);
    CHECK(r.out.find("Connection: close") != std::string::npos);
  }
  // A client that sends its whole body gets the answer, not a reset: the
  // hub reads and discards what it will not use before closing.
  const std::string big(4000000 - 64, 'x');
  const CurlReply whole = h.Curl("stranger", "POST", "/v1/signals",
                                 R"({"signals":[],"pad":")" + big + "\"}");
  CAPTURE(whole.error);
  CHECK(whole.status == 403);
  CHECK(ErrorCodeOf(whole.body) == "permission_denied");
}

TEST_CASE(
    "suspension and revocation apply to the next request, even on an open "
    "keep-alive connection") {
  auto hub = RunningHub::Start();
  REQUIRE(hub);
  RunningHub& h = **hub;
  auto alpha = Connect(h, "alpha");
  REQUIRE(alpha);
  auto first = (*alpha)->Send("GET", "/v1/me");
  REQUIRE(first);
  REQUIRE(first->status == 200);

  const CommandResult suspend =
      h.Ctl({"member", "suspend", "alpha", "--reason", "under review"});
  CAPTURE(suspend.err);
  REQUIRE(suspend.exit_code == 0);

  // The same connection, opened before the suspension.
  auto second = (*alpha)->Send("GET", "/v1/me");
  REQUIRE(second);
  CHECK(second->status == 403);
  CHECK(ErrorCodeOf(second->body) == "permission_denied");
  CHECK(ErrorMessageOf(second->body).find("suspended") != std::string::npos);
  // A new connection too, and a different endpoint.
  CHECK(h.Curl("alpha", "POST", "/v1/query",
               QueryBody({{"email", RandomTokenHex()}}))
            .status == 403);
  // beta is unaffected.
  CHECK(h.Curl("beta", "GET", "/v1/me").status == 200);

  REQUIRE(h.Ctl({"member", "resume", "alpha"}).exit_code == 0);
  auto third = (*alpha)->Send("GET", "/v1/me");
  REQUIRE(third);
  CHECK(third->status == 200);

  // Revocation of beta's only fingerprint, while beta holds a connection.
  auto beta = Connect(h, "beta");
  REQUIRE(beta);
  auto before = (*beta)->Send("GET", "/v1/me");
  REQUIRE(before);
  REQUIRE(before->status == 200);
  const CommandResult revoke = h.Ctl(
      {"member", "fingerprint", "revoke", "beta", h.Pki().Fingerprint("beta")});
  CAPTURE(revoke.err);
  REQUIRE(revoke.exit_code == 0);
  auto after = (*beta)->Send("GET", "/v1/me");
  REQUIRE(after);
  CHECK(after->status == 403);
  CHECK(ErrorCodeOf(after->body) == "permission_denied");
  CHECK(h.Curl("beta", "GET", "/v1/me").status == 403);
  // alpha is unaffected.
  auto alpha_again = (*alpha)->Send("GET", "/v1/me");
  REQUIRE(alpha_again);
  CHECK(alpha_again->status == 200);
}

}  // namespace
}  // namespace cairn::testing
