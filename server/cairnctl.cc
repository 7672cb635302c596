// cairnctl: what hub operators use to run a Cairn hub.
//
//   cairnctl init --data DIR --operator-cert PEM      (offline, once)
//   cairnctl member add|list|show|suspend|resume|roles ...
//   cairnctl member fingerprint add|revoke ...        (over mTLS, operator)
//
// Exit codes: 0 success; 1 the hub or the store refused (the message says
// why); 2 bad command line; 3 the hub could not be reached.
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>

#include "cairn/timestamp.h"
#include "cairn/wire.h"
#include "server/src/ctl/certificate.h"
#include "server/src/ctl/hub_connection.h"
#include "server/src/store/store.h"
#include "server/src/store_location.h"

namespace {

using namespace cairn;
using namespace cairn::server;

constexpr int kExitRefused = 1;
constexpr int kExitUnreachable = 3;

int Report(const Error& error, int code = kExitRefused) {
  std::fprintf(stderr, "cairnctl: %s\n", error.ToString().c_str());
  return code;
}

std::string Env(const char* name, std::string fallback = {}) {
  const char* value = std::getenv(name);
  return value ? std::string(value) : std::move(fallback);
}

std::string JoinRoles(const std::vector<Role>& roles) {
  std::string out;
  for (Role r : roles) {
    if (!out.empty()) out += ",";
    out += ToString(r);
  }
  return out;
}

void PrintMember(const wire::Member& m) {
  std::printf("member      %s\n", m.member_id.c_str());
  std::printf("name        %s\n", m.name.c_str());
  std::printf("roles       %s\n", JoinRoles(m.roles).c_str());
  std::printf(
      "status      %s%s\n", std::string(wire::ToString(m.status)).c_str(),
      m.suspended_reason ? (" (" + *m.suspended_reason + ")").c_str() : "");
  std::printf("created     %s\n", FormatTimestamp(m.created_at).c_str());
  for (const auto& fp : m.fingerprints) {
    std::printf("fingerprint %s %s\n", fp.fingerprint.c_str(),
                std::string(wire::ToString(fp.status)).c_str());
  }
}

// Options shared by every command that talks to a running hub.
struct Remote {
  HubConnectionOptions connection;
  bool json = false;

  void AddTo(CLI::App* command) {
    connection.hub_url = Env("CAIRN_HUB", connection.hub_url);
    connection.cert_file = Env("CAIRNCTL_CERT");
    connection.key_file = Env("CAIRNCTL_KEY");
    connection.ca_file = Env("CAIRNCTL_CACERT");
    command->add_option("--hub", connection.hub_url, "Hub URL (env CAIRN_HUB)")
        ->capture_default_str();
    command->add_option("--cert", connection.cert_file,
                        "Operator client certificate, PEM (env CAIRNCTL_CERT)");
    command->add_option("--key", connection.key_file,
                        "Operator private key, PEM (env CAIRNCTL_KEY)");
    command->add_option("--cacert", connection.ca_file,
                        "CA that signed the hub certificate (env "
                        "CAIRNCTL_CACERT)");
    command->add_flag("--json", json, "Print the hub's JSON answer");
  }

  // Sends one admin request and prints the member it returns.
  int CallForMember(std::string_view method, const std::string& target,
                    const std::string& body) const {
    for (const auto* required :
         {&connection.cert_file, &connection.key_file, &connection.ca_file}) {
      if (required->empty()) {
        return Report(Error{ErrorCode::kInvalidArgument,
                            "--cert, --key and --cacert are required (or "
                            "CAIRNCTL_CERT, CAIRNCTL_KEY, CAIRNCTL_CACERT)",
                            {},
                            std::nullopt},
                      2);
      }
    }
    auto hub = HubConnection::Open(connection);
    if (!hub) return Report(hub.error(), kExitUnreachable);
    auto reply = (*hub)->Send(method, target, body);
    if (!reply) return Report(reply.error(), kExitUnreachable);
    if (reply->status >= 300) {
      auto error = wire::DecodeErrorBody(reply->body);
      if (!error) {
        return Report(Error{ErrorCode::kInternal,
                            "hub answered HTTP " +
                                std::to_string(reply->status) +
                                " without an error body",
                            {},
                            std::nullopt});
      }
      return Report(*error);
    }
    if (json) {
      std::cout << reply->body << "\n";
      return 0;
    }
    if (target == "/v1/admin/members" && method == "GET") {
      auto list = wire::DecodeMemberListResponse(reply->body);
      if (!list) return Report(list.error());
      std::printf("%-24s %-10s %-28s %s\n", "MEMBER", "STATUS", "ROLES",
                  "NAME");
      for (const auto& m : list->members) {
        std::printf("%-24s %-10s %-28s %s\n", m.member_id.c_str(),
                    std::string(wire::ToString(m.status)).c_str(),
                    JoinRoles(m.roles).c_str(), m.name.c_str());
      }
      return 0;
    }
    auto member = wire::DecodeMember(reply->body);
    if (!member) return Report(member.error());
    PrintMember(*member);
    return 0;
  }
};

Result<std::vector<Role>> ParseRoles(const std::vector<std::string>& names) {
  std::vector<Role> roles;
  for (const auto& name : names) {
    auto role = ParseRole(name);
    if (!role) {
      return MakeError(
          ErrorCode::kInvalidArgument,
          "unknown role '" + name + "'; use member, compliance or operator",
          "--role");
    }
    roles.push_back(*role);
  }
  return roles;
}

// Fingerprints given directly or as certificate files.
Result<std::vector<std::string>> CollectFingerprints(
    const std::vector<std::string>& fingerprints,
    const std::vector<std::string>& cert_files) {
  std::vector<std::string> out = fingerprints;
  for (const auto& file : cert_files) {
    auto fp = FingerprintOfPemFile(file);
    if (!fp) return tl::unexpected(fp.error());
    out.push_back(*fp);
  }
  return out;
}

int Init(const std::string& data_dir, const std::string& operator_cert,
         const std::string& operator_id, const std::string& operator_name) {
  auto fingerprint = FingerprintOfPemFile(operator_cert);
  if (!fingerprint) return Report(fingerprint.error());
  const auto db_path = DatabasePath(data_dir);
  if (std::filesystem::exists(db_path)) {
    return Report(Error{ErrorCode::kConflict,
                        "a hub database already exists at " + db_path.string() +
                            "; init only creates new hubs (use 'cairnctl "
                            "member add' against the running hub instead)",
                        {},
                        std::nullopt});
  }
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) {
    return Report(Error{
        ErrorCode::kIo,
        "cannot create data directory '" + data_dir + "': " + ec.message(),
        {},
        std::nullopt});
  }
  std::filesystem::permissions(data_dir, std::filesystem::perms::owner_all, ec);
  SqliteStoreOptions options;
  options.db_path = db_path;
  auto store = OpenSqliteStore(options);
  if (!store) return Report(store.error());
  CreateMemberCommand command;
  command.context.actor = "cairnctl-init";
  command.member_id = operator_id;
  command.name = operator_name;
  command.roles = RoleBit(Role::kOperator);
  command.fingerprints = {*fingerprint};
  auto member = (*store)->CreateMemberAndWait(std::move(command));
  if (!member) return Report(member.error());
  std::printf("initialised %s with operator '%s' (fingerprint %s)\n",
              db_path.string().c_str(), operator_id.c_str(),
              fingerprint->c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"cairnctl: operate a Cairn hub"};
  app.require_subcommand(1);

  // init
  std::string data_dir;
  std::string operator_cert;
  std::string operator_id = "operator";
  std::string operator_name = "Hub operator";
  auto* init = app.add_subcommand(
      "init", "Create a new hub database with its first operator (offline)");
  init->add_option("--data", data_dir, "Data directory")->required();
  init->add_option("--operator-cert", operator_cert,
                   "PEM certificate of the first operator")
      ->required()
      ->check(CLI::ExistingFile);
  init->add_option("--operator-id", operator_id, "Member id of the operator")
      ->capture_default_str();
  init->add_option("--operator-name", operator_name, "Display name")
      ->capture_default_str();

  // member ...
  auto* member = app.add_subcommand("member", "Manage members (operator)");
  member->require_subcommand(1);
  Remote remote;
  std::string id;
  std::string name;
  std::string reason;
  std::vector<std::string> role_names;
  std::vector<std::string> fingerprints;
  std::vector<std::string> cert_files;
  std::string fingerprint;

  auto* add = member->add_subcommand("add", "Register a member");
  add->add_option("id", id, "Member id, ^[a-z][a-z0-9-]{1,31}$")->required();
  add->add_option("--name", name, "Display name")->required();
  add->add_option("--role", role_names, "member, compliance or operator")
      ->required();
  add->add_option("--fingerprint", fingerprints,
                  "SHA-256 certificate fingerprint, 64 hex (repeatable)");
  add->add_option("--member-cert", cert_files,
                  "PEM certificate to register (repeatable)")
      ->check(CLI::ExistingFile);
  remote.AddTo(add);

  auto* list = member->add_subcommand("list", "List members");
  remote.AddTo(list);
  auto* show = member->add_subcommand("show", "Show one member");
  show->add_option("id", id)->required();
  remote.AddTo(show);
  auto* suspend = member->add_subcommand(
      "suspend", "Suspend a member: its next request is refused");
  suspend->add_option("id", id)->required();
  suspend->add_option("--reason", reason, "Why (kept with the member)");
  remote.AddTo(suspend);
  auto* resume = member->add_subcommand("resume", "Lift a suspension");
  resume->add_option("id", id)->required();
  remote.AddTo(resume);
  auto* roles = member->add_subcommand("roles", "Replace a member's roles");
  roles->add_option("id", id)->required();
  roles->add_option("--role", role_names, "member, compliance or operator")
      ->required();
  remote.AddTo(roles);
  auto* fp = member->add_subcommand("fingerprint", "Manage certificates");
  fp->require_subcommand(1);
  auto* fp_add = fp->add_subcommand("add", "Register another certificate");
  fp_add->add_option("id", id)->required();
  fp_add->add_option("fingerprint", fingerprint, "64 hex characters");
  fp_add->add_option("--member-cert", cert_files, "PEM certificate instead")
      ->check(CLI::ExistingFile);
  remote.AddTo(fp_add);
  auto* fp_revoke = fp->add_subcommand(
      "revoke", "Revoke a certificate: effective on the next request");
  fp_revoke->add_option("id", id)->required();
  fp_revoke->add_option("fingerprint", fingerprint, "64 hex characters")
      ->required();
  remote.AddTo(fp_revoke);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Help and version requests exit 0; any other parse error is a bad
    // command line, exit code 2 as documented.
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  if (init->parsed()) {
    return Init(data_dir, operator_cert, operator_id, operator_name);
  }
  const std::string base = "/v1/admin/members";
  if (add->parsed()) {
    auto parsed_roles = ParseRoles(role_names);
    if (!parsed_roles) return Report(parsed_roles.error(), 2);
    auto fps = CollectFingerprints(fingerprints, cert_files);
    if (!fps) return Report(fps.error(), 2);
    wire::CreateMemberRequest request{id, name, *parsed_roles, *fps};
    return remote.CallForMember("POST", base, wire::Encode(request));
  }
  if (list->parsed()) return remote.CallForMember("GET", base, "");
  if (show->parsed()) return remote.CallForMember("GET", base + "/" + id, "");
  if (suspend->parsed()) {
    wire::SuspendMemberRequest request;
    if (!reason.empty()) request.reason = reason;
    return remote.CallForMember("POST", base + "/" + id + "/suspend",
                                wire::Encode(request));
  }
  if (resume->parsed()) {
    return remote.CallForMember("POST", base + "/" + id + "/resume",
                                wire::Encode(wire::EmptyRequest{}));
  }
  if (roles->parsed()) {
    auto parsed_roles = ParseRoles(role_names);
    if (!parsed_roles) return Report(parsed_roles.error(), 2);
    return remote.CallForMember(
        "PUT", base + "/" + id + "/roles",
        wire::Encode(wire::SetRolesRequest{*parsed_roles}));
  }
  if (fp_add->parsed()) {
    auto fps = CollectFingerprints(fingerprint.empty()
                                       ? std::vector<std::string>{}
                                       : std::vector<std::string>{fingerprint},
                                   cert_files);
    if (!fps) return Report(fps.error(), 2);
    if (fps->size() != 1) {
      return Report(Error{ErrorCode::kInvalidArgument,
                          "give exactly one fingerprint or --member-cert",
                          {},
                          std::nullopt},
                    2);
    }
    return remote.CallForMember(
        "POST", base + "/" + id + "/fingerprints",
        wire::Encode(wire::AddFingerprintRequest{fps->front()}));
  }
  if (fp_revoke->parsed()) {
    return remote.CallForMember(
        "POST", base + "/" + id + "/fingerprints/" + fingerprint + "/revoke",
        wire::Encode(wire::EmptyRequest{}));
  }
  return 2;
}
