// SignClientCsr (cairnctl cert sign) against CAs and CSRs made with the
// openssl CLI: the certificates it issues verify with `openssl verify`,
// carry the client extensions, and every bad input is refused with a
// message that says what to do.
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "server/src/ctl/cert_sign.h"
#include "server/src/ctl/certificate.h"
#include "support/process.h"

namespace cairn::server {
namespace {

using testing::CommandResult;
using testing::RunCommand;
using testing::TempDir;

constexpr auto kTimeout = std::chrono::seconds(30);

CommandResult Openssl(std::vector<std::string> args) {
  args.insert(args.begin(), "openssl");
  return RunCommand(args, kTimeout);
}

void Must(std::vector<std::string> args) {
  const CommandResult r = Openssl(args);
  CAPTURE(args, r.out, r.err);
  REQUIRE(r.exit_code == 0);
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// genpkey arguments for a key type name.
std::vector<std::string> KeyArgs(const std::string& type) {
  if (type == "ed25519") return {"-algorithm", "ED25519"};
  if (type == "rsa")
    return {"-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"};
  if (type == "rsa1024")
    return {"-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"};
  return {"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"};
}

void MakeKey(const std::string& path, const std::string& type) {
  std::vector<std::string> args = {"genpkey"};
  for (auto& a : KeyArgs(type)) args.push_back(a);
  args.push_back("-out");
  args.push_back(path);
  Must(args);
  ::chmod(path.c_str(), 0600);
}

// A self-signed CA (NAME.crt, NAME.key) of `type`, valid for `days`.
void MakeCa(const TempDir& dir, const std::string& name,
            const std::string& type, int days = 3650) {
  MakeKey(dir.File(name + ".key"), type);
  Must({"req", "-new", "-x509", "-key", dir.File(name + ".key"), "-days",
        std::to_string(days), "-subj", "/O=Cairn Test/CN=" + name, "-addext",
        "basicConstraints=critical,CA:TRUE", "-addext",
        "keyUsage=critical,keyCertSign,cRLSign", "-out",
        dir.File(name + ".crt")});
}

// NAME.key and NAME.csr with subject CN=cn.
void MakeCsr(const TempDir& dir, const std::string& name, const std::string& cn,
             const std::string& type = "ec") {
  MakeKey(dir.File(name + ".key"), type);
  Must({"req", "-new", "-key", dir.File(name + ".key"), "-subj",
        "/O=Member Platform/CN=" + cn, "-out", dir.File(name + ".csr")});
}

CertSignRequest RequestFor(const TempDir& dir, const std::string& ca,
                           const std::string& csr, const std::string& member) {
  CertSignRequest r;
  r.csr_file = dir.File(csr + ".csr");
  r.ca_cert_file = dir.File(ca + ".crt");
  r.ca_key_file = dir.File(ca + ".key");
  r.member_id = member;
  return r;
}

TEST_CASE("cert sign issues client certificates that openssl verifies") {
  TempDir dir("cairn-cert-sign");
  MakeCsr(dir, "alpha", "alpha");
  for (const std::string ca_type : {"ec", "ed25519", "rsa"}) {
    CAPTURE(ca_type);
    const std::string ca = "ca-" + ca_type;
    MakeCa(dir, ca, ca_type);
    CertSignRequest request = RequestFor(dir, ca, "alpha", "alpha");
    request.days = 30;
    auto cert = SignClientCsr(request);
    REQUIRE(cert);
    CHECK(cert->warnings.empty());
    const std::string pem_path = dir.File("alpha-" + ca_type + ".crt");
    WriteText(pem_path, cert->pem);

    const CommandResult verify =
        Openssl({"verify", "-CAfile", dir.File(ca + ".crt"), "-purpose",
                 "sslclient", pem_path});
    CAPTURE(verify.out, verify.err);
    CHECK(verify.exit_code == 0);
    // The same certificate is refused for TLS servers: clientAuth only.
    CHECK(Openssl({"verify", "-CAfile", dir.File(ca + ".crt"), "-purpose",
                   "sslserver", pem_path})
              .exit_code != 0);

    const CommandResult text =
        Openssl({"x509", "-in", pem_path, "-noout", "-text"});
    REQUIRE(text.exit_code == 0);
    for (const char* expected :
         {"TLS Web Client Authentication", "CA:FALSE", "Digital Signature",
          "X509v3 Subject Key Identifier", "X509v3 Authority Key Identifier",
          "CN = alpha", "O = Member Platform"}) {
      CAPTURE(expected);
      CHECK(text.out.find(expected) != std::string::npos);
    }
    CHECK(text.out.find("Certificate Sign") == std::string::npos);

    auto fingerprint = FingerprintOfPemFile(pem_path);
    REQUIRE(fingerprint);
    CHECK(*fingerprint == cert->fingerprint);
    CHECK(cert->not_after - cert->not_before == std::chrono::days(30));
    CHECK(cert->serial_hex.size() == 32);
    CHECK(cert->subject.find("CN=alpha") != std::string::npos);
  }
}

TEST_CASE("cert sign gives every certificate its own serial") {
  TempDir dir("cairn-cert-sign");
  MakeCa(dir, "ca", "ec");
  MakeCsr(dir, "alpha", "alpha");
  auto a = SignClientCsr(RequestFor(dir, "ca", "alpha", "alpha"));
  auto b = SignClientCsr(RequestFor(dir, "ca", "alpha", "alpha"));
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->serial_hex != b->serial_hex);
  CHECK(a->fingerprint != b->fingerprint);
}

TEST_CASE("cert sign warns about a CA key readable by others") {
  TempDir dir("cairn-cert-sign");
  MakeCa(dir, "ca", "ec");
  MakeCsr(dir, "alpha", "alpha");
  ::chmod(dir.File("ca.key").c_str(), 0644);
  auto cert = SignClientCsr(RequestFor(dir, "ca", "alpha", "alpha"));
  REQUIRE(cert);
  REQUIRE(cert->warnings.size() == 1);
  CHECK(cert->warnings[0].find("chmod 600") != std::string::npos);
}

TEST_CASE("cert sign refuses bad inputs with a clear error") {
  TempDir dir("cairn-cert-sign");
  MakeCa(dir, "ca", "ec");
  MakeCa(dir, "other-ca", "ec");
  MakeCa(dir, "short-ca", "ec", 30);
  MakeCsr(dir, "alpha", "alpha");
  MakeCsr(dir, "weak", "weak", "rsa1024");

  // A CSR whose signature no longer matches: flip the last byte of the
  // DER (inside the signature) and convert back to PEM.
  Must({"req", "-in", dir.File("alpha.csr"), "-outform", "DER", "-out",
        dir.File("alpha.der")});
  std::string der = ReadText(dir.File("alpha.der"));
  REQUIRE(der.size() > 10);
  der.back() = static_cast<char>(der.back() ^ 0x01);
  WriteText(dir.File("tampered.der"), der);
  Must({"req", "-inform", "DER", "-in", dir.File("tampered.der"), "-out",
        dir.File("tampered.csr")});
  // A leaf certificate posing as a CA.
  auto leaf = SignClientCsr(RequestFor(dir, "ca", "alpha", "alpha"));
  REQUIRE(leaf);
  WriteText(dir.File("leaf.crt"), leaf->pem);
  WriteText(dir.File("leaf.key"), ReadText(dir.File("alpha.key")));
  WriteText(dir.File("garbage.csr"), "this is not a CSR\n");

  struct Case {
    const char* name;
    std::string csr;
    std::string ca_cert;
    std::string ca_key;
    std::string member;
    int days;
    ErrorCode code;
    const char* message;
  };
  const std::string csr = dir.File("alpha.csr");
  const std::string ca_crt = dir.File("ca.crt");
  const std::string ca_key = dir.File("ca.key");
  const Case cases[] = {
      {"CSR with a bad signature", dir.File("tampered.csr"), ca_crt, ca_key,
       "alpha", 365, ErrorCode::kCrypto, "does not verify"},
      {"CA key of another CA", csr, ca_crt, dir.File("other-ca.key"), "alpha",
       365, ErrorCode::kInvalidArgument, "does not belong to the CA"},
      {"a certificate instead of a CSR", ca_crt, ca_crt, ca_key, "alpha", 365,
       ErrorCode::kInvalidArgument, "no PEM certificate signing request"},
      {"a text file instead of a CSR", dir.File("garbage.csr"), ca_crt, ca_key,
       "alpha", 365, ErrorCode::kInvalidArgument, "openssl req -new"},
      {"missing CSR file", dir.File("missing.csr"), ca_crt, ca_key, "alpha",
       365, ErrorCode::kIo, "check the path"},
      {"CN is another member", csr, ca_crt, ca_key, "beta", 365,
       ErrorCode::kInvalidArgument, "CN=beta"},
      {"zero days", csr, ca_crt, ca_key, "alpha", 0,
       ErrorCode::kInvalidArgument, "use 1 to 825"},
      {"too many days", csr, ca_crt, ca_key, "alpha", 826,
       ErrorCode::kInvalidArgument, "use 1 to 825"},
      {"outlives the CA", csr, dir.File("short-ca.crt"),
       dir.File("short-ca.key"), "alpha", 365, ErrorCode::kInvalidArgument,
       "outlive the CA"},
      {"leaf certificate as CA", csr, dir.File("leaf.crt"),
       dir.File("leaf.key"), "alpha", 30, ErrorCode::kInvalidArgument,
       "not a CA certificate"},
      {"CA key is not a key", csr, ca_crt, ca_crt, "alpha", 365,
       ErrorCode::kInvalidArgument, "no readable PEM private key"},
      {"CA certificate is not a certificate", csr, ca_key, ca_key, "alpha", 365,
       ErrorCode::kInvalidArgument, "holds no PEM certificate"},
      {"1024-bit RSA member key", dir.File("weak.csr"), ca_crt, ca_key, "weak",
       365, ErrorCode::kInvalidArgument, "at least 2048 bits"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    CertSignRequest request;
    request.csr_file = c.csr;
    request.ca_cert_file = c.ca_cert;
    request.ca_key_file = c.ca_key;
    request.member_id = c.member;
    request.days = c.days;
    auto cert = SignClientCsr(request);
    REQUIRE_FALSE(cert);
    CAPTURE(cert.error().message);
    CHECK(cert.error().code == c.code);
    CHECK(cert.error().message.find(c.message) != std::string::npos);
  }
}

}  // namespace
}  // namespace cairn::server
