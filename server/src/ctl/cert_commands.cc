// cairnctl cert sign: issue a member's client certificate from its CSR and
// register the certificate's fingerprint with the hub.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "cairn/timestamp.h"
#include "cairn/wire.h"
#include "server/src/ctl/cert_sign.h"
#include "server/src/ctl/command.h"

namespace cairn::server::ctl {
namespace {

Error IoError(const std::string& message) {
  return Error{ErrorCode::kIo, message, {}, std::nullopt};
}

// Writes `pem` to a new file `path` (mode 0644: a certificate is public).
// Refuses to replace an existing file: it may be a certificate in use.
Status WriteNewFile(const std::filesystem::path& path, const std::string& pem) {
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    return tl::unexpected(IoError(
        "cannot create '" + path.string() + "': " + std::strerror(errno) +
        (errno == EEXIST ? "; choose another --out or remove the old file"
                         : "; check the directory and its permissions")));
  }
  std::size_t written = 0;
  while (written < pem.size()) {
    const ssize_t n = ::write(fd, pem.data() + written, pem.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string reason = std::strerror(errno);
      ::close(fd);
      std::filesystem::remove(path);
      return tl::unexpected(IoError("cannot write '" + path.string() +
                                    "': " + reason + "; check free space"));
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    std::filesystem::remove(path);
    return tl::unexpected(IoError("cannot write '" + path.string() +
                                  "'; check free space and retry"));
  }
  return {};
}

void PrintJson(const SignedCertificate& cert, const std::string& member,
               const std::string& out, bool registered) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("member_id");
  w.String(member.c_str());
  w.Key("fingerprint");
  w.String(cert.fingerprint.c_str());
  w.Key("serial");
  w.String(cert.serial_hex.c_str());
  w.Key("subject");
  w.String(cert.subject.c_str());
  w.Key("not_before");
  w.String(FormatTimestamp(cert.not_before).c_str());
  w.Key("not_after");
  w.String(FormatTimestamp(cert.not_after).c_str());
  w.Key("out");
  w.String(out.c_str());
  w.Key("registered");
  w.Bool(registered);
  w.Key("warnings");
  w.StartArray();
  for (const auto& warning : cert.warnings) w.String(warning.c_str());
  w.EndArray();
  w.EndObject();
  std::printf("%s\n", buffer.GetString());
}

struct SignOptions {
  Remote remote;
  CertSignRequest request;
  std::string out;
  bool no_register = false;
};

int Sign(const SignOptions& o) {
  auto cert = SignClientCsr(o.request);
  if (!cert) return Report(cert.error());
  for (const auto& warning : cert->warnings) {
    std::fprintf(stderr, "cairnctl: warning: %s\n", warning.c_str());
  }
  // The certificate appears under --out only once the hub has registered
  // it, so a refused registration leaves nothing that looks issued.
  const std::filesystem::path out(o.out);
  const std::filesystem::path staged = out.string() + ".tmp";
  if (std::filesystem::exists(out)) {
    return Report(IoError("'" + o.out +
                          "' already exists; choose another --out or remove "
                          "the old file"));
  }
  if (auto s = WriteNewFile(staged, cert->pem); !s) return Report(s.error());
  if (!o.no_register) {
    std::optional<Error> refusal;
    auto reply = o.remote.Call(
        "POST", "/v1/admin/members/" + o.request.member_id + "/fingerprints",
        wire::Encode(wire::AddFingerprintRequest{cert->fingerprint}), &refusal);
    if (!reply) {
      std::filesystem::remove(staged);
      if (refusal) {
        // cert sign registers a certificate with a member; it does not
        // create the member, which needs a name and roles.
        if (refusal->code == ErrorCode::kNotFound) {
          refusal->message +=
              "; cert sign only adds a certificate to an existing member: "
              "create it first with 'cairnctl member add " +
              o.request.member_id +
              " --name \"<display name>\" --role member' (same --hub, "
              "--cert, --key and --cacert; no fingerprint needed), then run "
              "this cert sign again";
        }
        Report(*refusal);
      }
      std::fprintf(stderr,
                   "cairnctl: the certificate was not registered and has "
                   "been discarded\n");
      return reply.error();
    }
  }
  std::error_code ec;
  std::filesystem::rename(staged, out, ec);
  if (ec) {
    return Report(IoError("cannot move '" + staged.string() + "' to '" + o.out +
                          "': " + ec.message() +
                          (o.no_register ? ""
                                         : "; the fingerprint IS registered: "
                                           "move the file by hand")));
  }
  if (o.remote.json) {
    PrintJson(*cert, o.request.member_id, o.out, !o.no_register);
    return kExitOk;
  }
  std::printf("issued      %s\n", o.out.c_str());
  std::printf("member      %s\n", o.request.member_id.c_str());
  std::printf("subject     %s\n", cert->subject.c_str());
  std::printf("serial      %s\n", cert->serial_hex.c_str());
  std::printf("valid       %s to %s\n",
              FormatTimestamp(cert->not_before).c_str(),
              FormatTimestamp(cert->not_after).c_str());
  std::printf(
      "fingerprint %s %s\n", cert->fingerprint.c_str(),
      o.no_register ? "(not registered: --no-register)" : "(registered)");
  return kExitOk;
}

}  // namespace

void AddCertCommands(CLI::App& app, int* exit_code) {
  auto s = std::make_shared<SignOptions>();
  auto* cert = app.add_subcommand("cert", "Issue member certificates");
  cert->require_subcommand(1);
  auto* sign = cert->add_subcommand(
      "sign",
      "Issue a client certificate from a member's CSR and register its "
      "fingerprint with the hub (operator)");
  sign->add_option("--csr", s->request.csr_file, "The member's CSR, PEM")
      ->required();
  sign->add_option("--ca-cert", s->request.ca_cert_file,
                   "Certificate of the CA the hub trusts (tls.ca), PEM")
      ->required();
  sign->add_option("--ca-key", s->request.ca_key_file,
                   "The CA's private key, PEM (keep it mode 0600, offline)")
      ->required();
  sign->add_option("--member", s->request.member_id,
                   "Member id; must equal the CSR's subject CN")
      ->required();
  sign->add_option("--days", s->request.days, "Validity in days, 1..825")
      ->capture_default_str();
  sign->add_option("--out", s->out, "Where to write the certificate, PEM")
      ->required();
  sign->add_flag("--no-register", s->no_register,
                 "Only issue the certificate; register it later with "
                 "'cairnctl member fingerprint add'");
  s->remote.AddTo(sign);
  sign->callback([s, exit_code] {
    s->request.now = std::chrono::system_clock::now();
    *exit_code = Sign(*s);
  });
}

}  // namespace cairn::server::ctl
