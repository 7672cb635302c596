// Mutual TLS at the hub's edge: who gets through the handshake, with real
// curl and openssl s_client against a HubServer on loopback.
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>

#include "transport_test_util.h"

namespace cairn::server::testing {
namespace {

TEST_CASE(
    "curl with a member certificate gets through and the handler sees "
    "its fingerprint") {
  auto pki = MakePki();
  EchoHandler handler;
  RunningServer server(TestTransportConfig(*pki), handler);

  const CommandResult result = Curl(*pki, "alpha", server.port(), "/v1/me");
  CAPTURE(result.err);
  REQUIRE(result.exit_code == 0);
  CHECK(result.out.find("status=200") != std::string::npos);
  const std::string alpha = pki->Fingerprint("alpha");
  REQUIRE(alpha.size() == 64);
  CHECK(result.out.find("fingerprint=" + alpha) != std::string::npos);
  CHECK(result.out.find("target=/v1/me") != std::string::npos);
  REQUIRE(handler.fingerprints() == std::vector<std::string>{alpha});
  CHECK(handler.subjects().at(0).find("CN=alpha") != std::string::npos);
}

TEST_CASE("each member certificate yields its own fingerprint") {
  auto pki = MakePki();
  EchoHandler handler;
  RunningServer server(TestTransportConfig(*pki), handler);
  for (const std::string name : {"beta", "compliance", "operator"}) {
    CAPTURE(name);
    const CommandResult result = Curl(*pki, name, server.port(), "/");
    REQUIRE(result.exit_code == 0);
    CHECK(result.out.find("fingerprint=" + pki->Fingerprint(name)) !=
          std::string::npos);
  }
  CHECK(handler.calls() == 3);
}

struct RefusedCase {
  const char* name;  // client certificate, "" for none
  const char* why;
};

const RefusedCase kRefused[] = {
    {"", "no client certificate"},
    {"other-ca-client", "signed by a CA the hub does not trust"},
    {"expired", "validity ended"},
    {"not-yet-valid", "validity has not begun"},
    {"server-auth-only", "EKU serverAuth only, no clientAuth"},
};

TEST_CASE(
    "the handshake refuses clients without a valid client "
    "certificate (curl)") {
  auto pki = MakePki();
  EchoHandler handler;
  RunningServer server(TestTransportConfig(*pki), handler);
  for (const RefusedCase& c : kRefused) {
    CAPTURE(c.name, c.why);
    const CommandResult result = Curl(*pki, c.name, server.port(), "/v1/me");
    CAPTURE(result.out, result.err);
    CHECK(result.exit_code != 0);
    CHECK(result.out.find("status=200") == std::string::npos);
  }
  // The control: a good certificate on the same server works.
  CHECK(Curl(*pki, "alpha", server.port(), "/").exit_code == 0);
  CHECK(handler.calls() == 1);
}

TEST_CASE(
    "the handshake refuses clients without a valid client "
    "certificate (openssl s_client)") {
  auto pki = MakePki();
  EchoHandler handler;
  RunningServer server(TestTransportConfig(*pki), handler);
  for (const RefusedCase& c : kRefused) {
    CAPTURE(c.name, c.why);
    const CommandResult result =
        SClient(*pki, c.name, server.port(), {}, kGetRequest);
    CAPTURE(result.out, result.err);
    CHECK_FALSE(result.timed_out);
    CHECK(result.out.find("HTTP/1.1") == std::string::npos);
  }
  CHECK(handler.calls() == 0);
  // Each refusal is counted once, as a certificate failure.
  using enum HandshakeFailureReason;
  CHECK(server.WaitForHandshakeFailures(kCertificate, std::size(kRefused)) ==
        std::size(kRefused));
  CHECK(server.server().HandshakeFailures(kOther) == 0);
  CHECK(server.server().HandshakeFailures(kTimeout) == 0);
  // The control: the same s_client call with a good certificate works.
  const CommandResult good =
      SClient(*pki, "alpha", server.port(), {}, kGetRequest);
  CAPTURE(good.err);
  CHECK(good.out.find("HTTP/1.1 200 OK") != std::string::npos);
  CHECK(good.out.find("TLSv1.3") != std::string::npos);
  CHECK(server.server().HandshakeFailures(kCertificate) == std::size(kRefused));
}

TEST_CASE(
    "TLS 1.2 is refused by default and accepted when configured, "
    "TLS 1.1 never") {
  auto pki = MakePki();
  EchoHandler handler;
  // OpenSSL 3's default security level would stop the client from even
  // offering TLS 1.1; lower it so that the server is what refuses.
  const std::vector<std::string> tls11 = {"-tls1_1", "-cipher",
                                          "DEFAULT@SECLEVEL=0"};
  {
    RunningServer server(TestTransportConfig(*pki), handler);
    const CommandResult v12 =
        SClient(*pki, "alpha", server.port(), {"-tls1_2"}, kGetRequest);
    CAPTURE(v12.out, v12.err);
    CHECK(v12.out.find("HTTP/1.1") == std::string::npos);
    const CommandResult v11 =
        SClient(*pki, "alpha", server.port(), tls11, kGetRequest);
    CHECK(v11.out.find("HTTP/1.1") == std::string::npos);
    CHECK(handler.calls() == 0);
    // Counted as neither a certificate nor a timeout.
    CHECK(server.WaitForHandshakeFailures(HandshakeFailureReason::kOther, 2) ==
          2);
    CHECK(server.server().HandshakeFailures(
              HandshakeFailureReason::kCertificate) == 0);
  }
  {
    TransportConfig config = TestTransportConfig(*pki);
    config.tls.allow_tls12 = true;
    RunningServer server(config, handler);
    const CommandResult v12 =
        SClient(*pki, "alpha", server.port(), {"-tls1_2"}, kGetRequest);
    CAPTURE(v12.out, v12.err);
    CHECK(v12.out.find("HTTP/1.1 200 OK") != std::string::npos);
    CHECK(v12.out.find("TLSv1.2") != std::string::npos);
    CHECK(v12.out.find("ECDHE-ECDSA-AES") != std::string::npos);
    // A TLS 1.2 suite without ECDHE+AEAD is refused.
    const CommandResult cbc = SClient(
        *pki, "alpha", server.port(),
        {"-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA256"}, kGetRequest);
    CHECK(cbc.out.find("HTTP/1.1") == std::string::npos);
    const CommandResult v11 =
        SClient(*pki, "alpha", server.port(), tls11, kGetRequest);
    CHECK(v11.out.find("HTTP/1.1") == std::string::npos);
    CHECK(handler.calls() == 1);
  }
}

TEST_CASE("ReloadTls switches new connections to the files' new contents") {
  auto old_pki = MakePki();
  auto new_pki = MakePki();
  // The server reads its files from a directory of its own, so that the
  // test can replace them as an operator would before SIGHUP.
  cairn::testing::TempDir live("cairn-live-tls");
  auto copy = [&](const std::string& from, const std::string& name) {
    std::filesystem::copy_file(
        from, live.File(name),
        std::filesystem::copy_options::overwrite_existing);
  };
  copy(old_pki->ServerCert(), "server.crt");
  copy(old_pki->ServerKey(), "server.key");
  copy(old_pki->CaCert(), "ca.crt");
  TransportConfig config = TestTransportConfig(*old_pki);
  config.tls.cert_file = live.File("server.crt");
  config.tls.key_file = live.File("server.key");
  config.tls.ca_file = live.File("ca.crt");
  EchoHandler handler;
  RunningServer server(config, handler);
  REQUIRE(Curl(*old_pki, "alpha", server.port(), "/").exit_code == 0);

  // A broken file fails the reload and keeps the old context.
  std::ofstream(live.File("ca.crt"), std::ios::trunc) << "not a certificate";
  const Status broken = server.server().ReloadTls();
  REQUIRE_FALSE(broken.has_value());
  CHECK(broken.error().message.find("ca.crt") != std::string::npos);
  CHECK(Curl(*old_pki, "alpha", server.port(), "/").exit_code == 0);

  copy(new_pki->ServerCert(), "server.crt");
  copy(new_pki->ServerKey(), "server.key");
  copy(new_pki->CaCert(), "ca.crt");
  REQUIRE(server.server().ReloadTls().has_value());
  CHECK(Curl(*old_pki, "alpha", server.port(), "/").exit_code != 0);
  const CommandResult fresh = Curl(*new_pki, "alpha", server.port(), "/");
  CHECK(fresh.exit_code == 0);
  CHECK(fresh.out.find(new_pki->Fingerprint("alpha")) != std::string::npos);
}

TEST_CASE("SIGHUP reloads the TLS files, and SIGTERM stops Run gracefully") {
  auto old_pki = MakePki();
  auto new_pki = MakePki();
  cairn::testing::TempDir live("cairn-live-tls");
  auto install = [&](const TempPki& pki) {
    for (const auto& [from, name] : {std::pair{pki.ServerCert(), "server.crt"},
                                     std::pair{pki.ServerKey(), "server.key"},
                                     std::pair{pki.CaCert(), "ca.crt"}}) {
      std::filesystem::copy_file(
          from, live.File(name),
          std::filesystem::copy_options::overwrite_existing);
    }
  };
  install(*old_pki);
  TransportConfig config = TestTransportConfig(*old_pki);
  config.tls.cert_file = live.File("server.crt");
  config.tls.key_file = live.File("server.key");
  config.tls.ca_file = live.File("ca.crt");
  config.handle_signals = true;
  EchoHandler handler;
  auto server = HubServer::Create(config, handler);
  REQUIRE(server.has_value());
  std::thread runner([&] { (*server)->Run(); });
  const std::uint16_t port = (*server)->ListenPorts().at(0);

  // A connection opened before the reload keeps working after it.
  auto args = CurlArgs(*old_pki, "alpha");
  args.insert(args.end(), {"--rate", "2/s", Url(port, "/1"), Url(port, "/2"),
                           Url(port, "/3"), Url(port, "/4"), Url(port, "/5")});
  cairn::testing::TempDir out;
  cairn::testing::ChildProcess::Options options;
  options.stdout_path = out.File("out");
  auto slow_client = cairn::testing::ChildProcess::Start(args, options);
  REQUIRE(slow_client.has_value());
  REQUIRE(handler.WaitForCalls(1));

  install(*new_pki);
  REQUIRE(::kill(::getpid(), SIGHUP) == 0);
  // The reload happens on an I/O thread; wait (bounded) for it to show.
  bool reloaded = false;
  for (int i = 0; i < 100 && !reloaded; ++i) {
    reloaded = Curl(*new_pki, "beta", port, "/").exit_code == 0;
  }
  CHECK(reloaded);
  CHECK(Curl(*old_pki, "beta", port, "/").exit_code != 0);

  const auto code = slow_client->Wait(std::chrono::seconds(30));
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  CHECK(cairn::testing::ReadFileOrEmpty(out.File("out")).find("target=/5") !=
        std::string::npos);

  REQUIRE(::kill(::getpid(), SIGTERM) == 0);
  runner.join();  // returns only because SIGTERM stopped the server
  CHECK((*server)->OpenConnections() == 0);
}

// A supervisor (or a test) that waits for the port file may send SIGTERM
// at once, before Run: the signal must be the server's by then, or its
// default action kills the process without a clean stop. Without that,
// this test process dies here.
TEST_CASE(
    "a SIGTERM sent once the port file is written, before Run, stops "
    "Run gracefully") {
  auto pki = MakePki();
  cairn::testing::TempDir dir("cairn-port-file");
  TransportConfig config = TestTransportConfig(*pki);
  config.handle_signals = true;
  config.port_file = dir.File("ports");
  EchoHandler handler;
  auto server = HubServer::Create(config, handler);
  REQUIRE(server.has_value());
  REQUIRE_FALSE(cairn::testing::ReadFileOrEmpty(dir.File("ports")).empty());
  REQUIRE(::kill(::getpid(), SIGTERM) == 0);
  std::thread runner([&] { (*server)->Run(); });
  runner.join();  // returns only because the queued SIGTERM stopped it
  CHECK((*server)->OpenConnections() == 0);
}

}  // namespace
}  // namespace cairn::server::testing
