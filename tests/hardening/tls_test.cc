// The TLS policy of a real cairnd, asserted with openssl s_client. Extends
// tests/integration/hub_tls_test.cc (client certificates; TLS 1.2/1.1
// refused by default; TLS 1.3 accepted) with: TLS 1.0 refused; with
// allow_tls12 = true, only ECDHE + AEAD suites of TLS 1.2, still no TLS
// 1.1/1.0; no compression; no client-initiated renegotiation.
#include <catch2/catch.hpp>

#include "tests/integration/integration_util.h"

namespace cairn::testing {
namespace {

bool Served(const CommandResult& r) {
  return r.out.find("HTTP/1.1 200 OK") != std::string::npos;
}

struct PolicyCase {
  const char* what;
  std::vector<std::string> args;  // s_client protocol / cipher options
  bool served;
};

// OpenSSL 3's default security level stops the client from even offering
// TLS 1.0/1.1 or some legacy suites; SECLEVEL=0 makes the hub the one that
// refuses.
const char kLegacy[] = "DEFAULT@SECLEVEL=0";

TEST_CASE("default policy: TLS 1.3 only, whatever the client offers") {
  auto hub = RunningHub::Start({.register_members = false});
  REQUIRE(hub);
  const std::vector<PolicyCase> cases = {
      {"TLS 1.0", {"-tls1", "-cipher", kLegacy}, false},
      {"TLS 1.1", {"-tls1_1", "-cipher", kLegacy}, false},
      {"TLS 1.2 with an AEAD ECDHE suite",
       {"-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"},
       false},
      {"TLS 1.3 AES-128-GCM",
       {"-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256"},
       true},
      {"TLS 1.3 AES-256-GCM",
       {"-tls1_3", "-ciphersuites", "TLS_AES_256_GCM_SHA384"},
       true},
      {"TLS 1.3 ChaCha20-Poly1305",
       {"-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"},
       true},
  };
  for (const PolicyCase& c : cases) {
    CAPTURE(c.what);
    const CommandResult r = (*hub)->SClient("operator", c.args);
    CAPTURE(r.out, r.err);
    CHECK_FALSE(r.timed_out);
    CHECK(Served(r) == c.served);
    if (c.served) CHECK(r.out.find("Compression: NONE") != std::string::npos);
  }
}

TEST_CASE("allow_tls12: only ECDHE + AEAD suites, never TLS 1.1 or 1.0") {
  auto hub = RunningHub::Start({.extra_toml = "", .register_members = false});
  REQUIRE(hub);
  // The hub reads allow_tls12 from [tls]; the generated config already has
  // that section, so rewrite it with the key added and restart.
  std::string config = ReadFileOrEmpty((*hub)->ConfigPath());
  const auto tls = config.find("[tls]\n");
  REQUIRE(tls != std::string::npos);
  config.insert(tls + 6, "allow_tls12 = true\n");
  REQUIRE(WriteFile((*hub)->ConfigPath(), config));
  REQUIRE((*hub)->Restart());

  const std::vector<PolicyCase> cases = {
      {"TLS 1.0", {"-tls1", "-cipher", kLegacy}, false},
      {"TLS 1.1", {"-tls1_1", "-cipher", kLegacy}, false},
      {"TLS 1.2 ECDHE-ECDSA-AES128-GCM-SHA256",
       {"-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"},
       true},
      {"TLS 1.2 ECDHE-ECDSA-AES256-GCM-SHA384",
       {"-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384"},
       true},
      {"TLS 1.2 ECDHE-ECDSA-CHACHA20-POLY1305",
       {"-tls1_2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305"},
       true},
      {"TLS 1.2 CBC suite (not AEAD)",
       {"-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA256:@SECLEVEL=0"},
       false},
      {"TLS 1.2 CBC-SHA1 suite (not AEAD)",
       {"-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-SHA:@SECLEVEL=0"},
       false},
      {"TLS 1.2 static RSA key exchange (no forward secrecy)",
       {"-tls1_2", "-cipher", "AES128-GCM-SHA256:@SECLEVEL=0"},
       false},
      {"TLS 1.2 DHE without ECDHE",
       {"-tls1_2", "-cipher", "DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0"},
       false},
      {"TLS 1.2 NULL cipher",
       {"-tls1_2", "-cipher", "eNULL:@SECLEVEL=0"},
       false},
      {"TLS 1.3", {"-tls1_3"}, true},
  };
  for (const PolicyCase& c : cases) {
    CAPTURE(c.what);
    const CommandResult r = (*hub)->SClient("operator", c.args);
    CAPTURE(r.out, r.err);
    CHECK_FALSE(r.timed_out);
    CHECK(Served(r) == c.served);
    if (c.served) CHECK(r.out.find("Compression: NONE") != std::string::npos);
  }

  // Client-initiated renegotiation on TLS 1.2: s_client renegotiates when a
  // line reads "R". The hub refuses (SSL_OP_NO_RENEGOTIATION), so the
  // request that follows is never served on that connection.
  const CommandResult renegotiate =
      (*hub)->SClient("operator", {"-tls1_2", "-no_ign_eof"},
                      std::string("R\n") + kGetMeAndClose);
  CAPTURE(renegotiate.out, renegotiate.err);
  CHECK_FALSE(renegotiate.timed_out);
  CHECK(renegotiate.err.find("RENEGOTIATING") != std::string::npos);
  CHECK(renegotiate.err.find("no renegotiation") != std::string::npos);
  CHECK_FALSE(Served(renegotiate));
  // Control: the same connection without the renegotiation is served.
  CHECK(Served((*hub)->SClient("operator", {"-tls1_2"})));
}

}  // namespace
}  // namespace cairn::testing
