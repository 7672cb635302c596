// cairnctl cert sign against a running cairnd: a certificate issued from a
// member's CSR is registered and lets the member call the API with curl;
// refused inputs register nothing and write no certificate.
#include <filesystem>

#include <catch2/catch.hpp>

#include "tests/integration/integration_util.h"

namespace cairn::testing {
namespace {

constexpr auto kTimeout = std::chrono::seconds(30);

// NAME.key and NAME.csr in the PKI directory, subject CN=cn.
void MakeCsr(const TempPki& pki, const std::string& name,
             const std::string& cn) {
  const std::string base = pki.dir() + "/" + name;
  CommandResult key =
      RunCommand({"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                  "ec_paramgen_curve:P-256", "-out", base + ".key"},
                 kTimeout);
  REQUIRE(key.exit_code == 0);
  CommandResult csr =
      RunCommand({"openssl", "req", "-new", "-key", base + ".key", "-subj",
                  "/O=Gamma Games/CN=" + cn, "-out", base + ".csr"},
                 kTimeout);
  REQUIRE(csr.exit_code == 0);
}

// The fingerprints registered to `member`, via cairnctl member show --json.
std::vector<std::string> Fingerprints(const RunningHub& hub,
                                      const std::string& member) {
  const CommandResult show = hub.Ctl({"member", "show", member, "--json"});
  CAPTURE(show.out, show.err);
  REQUIRE(show.exit_code == 0);
  auto doc = ParseJson(show.out);
  REQUIRE_FALSE(doc.HasParseError());
  std::vector<std::string> out;
  for (const auto& fp : doc["fingerprints"].GetArray()) {
    out.emplace_back(fp["fingerprint"].GetString());
  }
  return out;
}

std::vector<std::string> SignArgs(const TempPki& pki, const std::string& csr,
                                  const std::string& member,
                                  const std::string& out) {
  return {"cert",      "sign",       "--csr",    csr,
          "--ca-cert", pki.CaCert(), "--ca-key", pki.dir() + "/ca.key",
          "--member",  member,       "--days",   "30",
          "--out",     out};
}

TEST_CASE("cert sign issues a registered certificate a member can use") {
  auto hub = RunningHub::Start();
  REQUIRE(hub);
  RunningHub& h = **hub;
  const TempPki& pki = h.Pki();
  // The member exists with some other certificate; cert sign adds one.
  REQUIRE(h.Ctl({"member", "add", "gamma", "--name", "Gamma Games", "--role",
                 "member", "--fingerprint", RandomTokenHex()})
              .exit_code == 0);
  MakeCsr(pki, "gamma", "gamma");
  // Before registration the CA-signed certificate alone is not enough.
  const std::string cert = pki.Cert("gamma");

  std::vector<std::string> args =
      SignArgs(pki, pki.dir() + "/gamma.csr", "gamma", cert);
  args.push_back("--json");
  const CommandResult sign = h.Ctl(args);
  CAPTURE(sign.out, sign.err);
  REQUIRE(sign.exit_code == 0);
  auto doc = ParseJson(sign.out);
  REQUIRE_FALSE(doc.HasParseError());
  const std::string fingerprint = doc["fingerprint"].GetString();
  CHECK(doc["registered"].GetBool());
  CHECK(std::string(doc["member_id"].GetString()) == "gamma");

  // openssl accepts it as a client certificate of the hub's CA.
  const CommandResult verify =
      RunCommand({"openssl", "verify", "-CAfile", pki.CaCert(), "-purpose",
                  "sslclient", cert},
                 kTimeout);
  CAPTURE(verify.out, verify.err);
  CHECK(verify.exit_code == 0);

  // The hub has it, and the member can call the API with it.
  const auto fps = Fingerprints(h, "gamma");
  CHECK(std::find(fps.begin(), fps.end(), fingerprint) != fps.end());
  const CurlReply me = h.Curl("gamma", "GET", "/v1/me");
  CAPTURE(me.body, me.error);
  REQUIRE(me.status == 200);
  auto me_doc = ParseJson(me.body);
  REQUIRE_FALSE(me_doc.HasParseError());
  CHECK(std::string(me_doc["member_id"].GetString()) == "gamma");

  // --no-register issues without touching the hub (no credentials needed).
  const std::string unregistered = h.Scratch().File("unregistered.crt");
  const CommandResult offline = RunCommand(
      [&] {
        auto a = SignArgs(pki, pki.dir() + "/gamma.csr", "gamma", unregistered);
        a.insert(a.begin(), RunningHub::CairnctlPath());
        a.push_back("--no-register");
        return a;
      }(),
      kTimeout);
  CAPTURE(offline.out, offline.err);
  CHECK(offline.exit_code == 0);
  CHECK(std::filesystem::exists(unregistered));
  CHECK(offline.out.find("not registered") != std::string::npos);
  CHECK(Fingerprints(h, "gamma").size() == fps.size());
}

TEST_CASE("cert sign refuses bad inputs and registers nothing") {
  auto hub = RunningHub::Start();
  REQUIRE(hub);
  RunningHub& h = **hub;
  const TempPki& pki = h.Pki();
  MakeCsr(pki, "alpha-new", "alpha");
  MakeCsr(pki, "nobody", "nobody");
  // A CSR whose signature no longer verifies: one bit of the signature
  // flipped in its DER form.
  const std::string der = pki.dir() + "/tampered.der";
  REQUIRE(RunCommand({"openssl", "req", "-in", pki.dir() + "/alpha-new.csr",
                      "-outform", "DER", "-out", der},
                     kTimeout)
              .exit_code == 0);
  std::string bytes = ReadFileOrEmpty(der);
  REQUIRE_FALSE(bytes.empty());
  bytes.back() = static_cast<char>(bytes.back() ^ 0x01);
  REQUIRE(WriteFile(der, bytes));
  REQUIRE(RunCommand({"openssl", "req", "-inform", "DER", "-in", der, "-out",
                      pki.dir() + "/tampered.csr"},
                     kTimeout)
              .exit_code == 0);

  // Inputs cairnctl refuses itself are a bad command line (2, naming the
  // option); the hub's refusal is 1.
  struct Case {
    const char* name;
    std::string csr;
    std::string ca_key;
    std::string member;
    int exit_code;
    const char* message;
  };
  const Case cases[] = {
      {"CSR with a bad signature", pki.dir() + "/tampered.csr",
       pki.dir() + "/ca.key", "alpha", 2, "--csr: the signature of the CSR"},
      {"CA key not matching the CA certificate", pki.dir() + "/alpha-new.csr",
       pki.dir() + "/other-ca.key", "alpha", 2, "does not belong to the CA"},
      {"a certificate instead of a CSR", pki.Cert("beta"),
       pki.dir() + "/ca.key", "alpha", 2, "no PEM certificate signing request"},
      {"unknown member", pki.dir() + "/nobody.csr", pki.dir() + "/ca.key",
       "nobody", 1, "no member 'nobody'"},
  };
  const auto alpha_before = Fingerprints(h, "alpha");
  for (const Case& c : cases) {
    CAPTURE(c.name);
    const std::string out = h.Scratch().File("refused.crt");
    auto args = SignArgs(pki, c.csr, c.member, out);
    args[7] = c.ca_key;  // --ca-key's value
    const CommandResult r = h.Ctl(args);
    CAPTURE(r.out, r.err);
    CHECK(r.exit_code == c.exit_code);
    CHECK(r.err.find(c.message) != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(out));
    CHECK_FALSE(std::filesystem::exists(out + ".tmp"));
    CHECK(Fingerprints(h, "alpha") == alpha_before);
  }
  const CommandResult list = h.Ctl({"member", "list"});
  CHECK(list.out.find("nobody") == std::string::npos);

  // cert sign does not create members: the refusal gives the command that
  // does.
  const CommandResult unknown = h.Ctl(SignArgs(
      pki, pki.dir() + "/nobody.csr", "nobody", h.Scratch().File("n.crt")));
  CAPTURE(unknown.err);
  CHECK(unknown.exit_code == 1);
  CHECK(unknown.err.find("create it first with 'cairnctl member add nobody "
                         "--name") != std::string::npos);
}

}  // namespace
}  // namespace cairn::testing
