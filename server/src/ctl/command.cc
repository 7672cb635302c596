#include "server/src/ctl/command.h"

#include <cstdio>
#include <cstdlib>

#include "cairn/wire.h"

namespace cairn::server::ctl {

int ExitCodeFor(const Error& error, int otherwise) {
  if (error.field.starts_with("--")) return kExitUsage;
  return otherwise;
}

Error AboutOption(Error error, std::string_view option) {
  error.field = std::string(option);
  return error;
}

int Report(const Error& error, int otherwise) {
  std::fprintf(stderr, "cairnctl: %s\n", error.ToString().c_str());
  return ExitCodeFor(error, otherwise);
}

AuditKeys ToAuditKeys(const std::vector<HubPublicKey>& keys) {
  AuditKeys out;
  for (const HubPublicKey& k : keys) {
    out[k.key_id] = AuditKey{k.public_key, k.valid_from, k.valid_until};
  }
  return out;
}

std::string Env(const char* name, std::string fallback) {
  const char* value = std::getenv(name);
  return value ? std::string(value) : std::move(fallback);
}

namespace {

// The exit code of a failure to reach the hub or to talk to it. Only a hub
// that could not be reached is 3: a hub certificate cairnctl refuses, or a
// --cert the hub refuses, is 1 (no retry fixes either; `cairn` exits 1 for
// them too), and a --hub, --cert, --key or --cacert that cannot be used as
// given is a bad command line, 2, like a missing or non-PEM --member-cert.
int ExitCodeOf(const Error& error) {
  switch (error.code) {
    case ErrorCode::kPermissionDenied:
      return kExitRefused;
    case ErrorCode::kIo:
    case ErrorCode::kInvalidArgument:
      return kExitUsage;
    default:
      return kExitUnreachable;
  }
}

}  // namespace

void Remote::AddTo(CLI::App* command) {
  connection.hub_url = Env("CAIRN_HUB", connection.hub_url);
  connection.cert_file = Env("CAIRNCTL_CERT");
  connection.key_file = Env("CAIRNCTL_KEY");
  connection.ca_file = Env("CAIRNCTL_CACERT");
  command->add_option("--hub", connection.hub_url, "Hub URL (env CAIRN_HUB)")
      ->capture_default_str();
  command->add_option("--cert", connection.cert_file,
                      "Client certificate, PEM (env CAIRNCTL_CERT)");
  command->add_option("--key", connection.key_file,
                      "Private key, PEM (env CAIRNCTL_KEY)");
  command->add_option(
      "--cacert", connection.ca_file,
      "CA that signed the hub certificate (env CAIRNCTL_CACERT)");
  command->add_option(
      "--hub-address", connection.address,
      "Connect to this address instead of the --hub host's (like curl "
      "--resolve); the hub's certificate must still name the --hub host");
  command->add_flag("--json", json, "Print JSON instead of a table");
}

tl::expected<std::string, int> Remote::Call(
    std::string_view method, const std::string& target, const std::string& body,
    std::optional<Error>* refusal) const {
  for (const auto* required :
       {&connection.cert_file, &connection.key_file, &connection.ca_file}) {
    if (required->empty()) {
      return tl::unexpected(
          Report(Error{ErrorCode::kInvalidArgument,
                       "--cert, --key and --cacert are required (or "
                       "CAIRNCTL_CERT, CAIRNCTL_KEY, CAIRNCTL_CACERT)",
                       {},
                       std::nullopt},
                 kExitUsage));
    }
  }
  auto hub = HubConnection::Open(connection);
  if (!hub) return tl::unexpected(Report(hub.error(), ExitCodeOf(hub.error())));
  auto reply = (*hub)->Send(method, target, body);
  if (!reply) {
    return tl::unexpected(Report(reply.error(), ExitCodeOf(reply.error())));
  }
  if (reply->status >= 300) {
    auto error = wire::DecodeErrorBody(reply->body);
    if (!error) {
      return tl::unexpected(Report(Error{
          ErrorCode::kInternal,
          "hub answered HTTP " + std::to_string(reply->status) +
              " without an error body; check the hub URL and the hub's log",
          {},
          std::nullopt}));
    }
    if (refusal != nullptr) {
      *refusal = std::move(*error);
      return tl::unexpected(kExitRefused);
    }
    return tl::unexpected(Report(*error));
  }
  return std::move(reply->body);
}

}  // namespace cairn::server::ctl
