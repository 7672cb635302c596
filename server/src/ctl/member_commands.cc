// cairnctl init and cairnctl member ...: creating a hub and managing its
// members.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>

#include "cairn/timestamp.h"
#include "cairn/wire.h"
#include "server/src/ctl/certificate.h"
#include "server/src/ctl/command.h"
#include "server/src/file_owner.h"
#include "server/src/store/store.h"
#include "server/src/store_location.h"

namespace cairn::server::ctl {
namespace {

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
    auto fp =
        MemberFingerprintOfPemFile(file, std::chrono::system_clock::now());
    if (!fp) return tl::unexpected(AboutOption(fp.error(), "--member-cert"));
    out.push_back(*fp);
  }
  return out;
}

// Sends one admin request and prints the member(s) it returns.
int CallForMember(const Remote& remote, std::string_view method,
                  const std::string& target, const std::string& body) {
  auto reply = remote.Call(method, target, body);
  if (!reply) return reply.error();
  if (remote.json) {
    std::cout << *reply << "\n";
    return kExitOk;
  }
  if (target == "/v1/admin/members" && method == "GET") {
    auto list = wire::DecodeMemberListResponse(*reply);
    if (!list) return Report(list.error());
    std::printf("%-24s %-10s %-28s %s\n", "MEMBER", "STATUS", "ROLES", "NAME");
    for (const auto& m : list->members) {
      std::printf("%-24s %-10s %-28s %s\n", m.member_id.c_str(),
                  std::string(wire::ToString(m.status)).c_str(),
                  JoinRoles(m.roles).c_str(), m.name.c_str());
    }
    return kExitOk;
  }
  auto member = wire::DecodeMember(*reply);
  if (!member) return Report(member.error());
  PrintMember(*member);
  return kExitOk;
}

int Init(const std::string& data_dir, const std::string& operator_cert,
         const std::string& operator_id, const std::string& operator_name) {
  auto fingerprint = MemberFingerprintOfPemFile(
      operator_cert, std::chrono::system_clock::now(),
      CertificateUse::kFirstOperator);
  if (!fingerprint) {
    return Report(AboutOption(fingerprint.error(), "--operator-cert"));
  }
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
  const bool made_dir = std::filesystem::create_directories(data_dir, ec);
  if (ec) {
    return Report(Error{
        ErrorCode::kIo,
        "cannot create data directory '" + data_dir + "': " + ec.message(),
        {},
        std::nullopt});
  }
  std::filesystem::permissions(data_dir, std::filesystem::perms::owner_all, ec);
  // Run as root, what init makes gets the owner of the directory it is in
  // (file_owner.h): the hub's user must be able to open it.
  if (made_dir) {
    if (auto owned = GiveDirectoryOwner(data_dir); !owned) {
      return Report(owned.error());
    }
  }
  // The database holds members' tokens: mode 0600 whatever the umask, as
  // backups and restores are. SQLite gives its -wal and -shm files the
  // database file's mode.
  const int fd =
      ::open(db_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Report(Error{ErrorCode::kIo,
                        "cannot create " + db_path.string() + ": " +
                            std::strerror(errno) +
                            "; check that the data directory is writable by "
                            "this user",
                        {},
                        std::nullopt});
  }
  // Before SQLite opens it: run as root, SQLite gives the -wal and -shm
  // files the database file's owner. By descriptor, so that nothing the
  // directory's owner may have put at db_path since is changed.
  const int dir_fd =
      ::open(data_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  Status owned = dir_fd < 0
                     ? MakeError(ErrorCode::kIo,
                                 "cannot open the data directory " + data_dir +
                                     ": " + std::strerror(errno))
                     : GiveDirectoryOwner(dir_fd, fd, db_path);
  if (dir_fd >= 0) ::close(dir_fd);
  ::close(fd);
  if (!owned) {
    std::filesystem::remove(db_path, ec);
    return Report(owned.error());
  }
  SqliteStoreOptions options;
  options.db_path = db_path;
  auto store = OpenSqliteStore(options);
  if (!store) {
    std::filesystem::remove(db_path, ec);  // init never leaves half a hub
    return Report(store.error());
  }
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
  return kExitOk;
}

}  // namespace

void AddInitCommand(CLI::App& app, int* exit_code) {
  struct State {
    std::string data_dir;
    std::string operator_cert;
    std::string operator_id = "operator";
    std::string operator_name = "Hub operator";
  };
  auto s = std::make_shared<State>();
  auto* init = app.add_subcommand(
      "init", "Create a new hub database with its first operator (offline)");
  init->add_option("--data", s->data_dir, "Data directory")->required();
  init->add_option("--operator-cert", s->operator_cert,
                   "PEM certificate of the first operator")
      ->required()
      ->check(CLI::ExistingFile);
  init->add_option("--operator-id", s->operator_id, "Member id of the operator")
      ->capture_default_str();
  init->add_option("--operator-name", s->operator_name, "Display name")
      ->capture_default_str();
  init->callback([s, exit_code] {
    *exit_code =
        Init(s->data_dir, s->operator_cert, s->operator_id, s->operator_name);
  });
}

void AddMemberCommands(CLI::App& app, int* exit_code) {
  struct State {
    Remote remote;
    std::string id;
    std::string name;
    std::string reason;
    std::vector<std::string> role_names;
    std::vector<std::string> fingerprints;
    std::vector<std::string> cert_files;
    std::string fingerprint;
  };
  auto s = std::make_shared<State>();
  const std::string base = "/v1/admin/members";
  auto* member = app.add_subcommand("member", "Manage members (operator)");
  member->require_subcommand(1);

  auto* add = member->add_subcommand("add", "Register a member");
  add->add_option("id", s->id, "Member id, ^[a-z][a-z0-9-]{1,31}$")->required();
  add->add_option("--name", s->name, "Display name")->required();
  add->add_option("--role", s->role_names, "member, compliance or operator")
      ->required();
  add->add_option("--fingerprint", s->fingerprints,
                  "SHA-256 certificate fingerprint, 64 hex (repeatable)");
  add->add_option("--member-cert", s->cert_files,
                  "PEM certificate to register (repeatable)")
      ->check(CLI::ExistingFile);
  s->remote.AddTo(add);
  add->callback([s, exit_code, base] {
    auto roles = ParseRoles(s->role_names);
    if (!roles) {
      *exit_code = Report(roles.error());
      return;
    }
    auto fps = CollectFingerprints(s->fingerprints, s->cert_files);
    if (!fps) {
      *exit_code = Report(fps.error());
      return;
    }
    wire::CreateMemberRequest request{s->id, s->name, *roles, *fps};
    *exit_code = CallForMember(s->remote, "POST", base, wire::Encode(request));
  });

  auto* list = member->add_subcommand("list", "List members");
  s->remote.AddTo(list);
  list->callback([s, exit_code, base] {
    *exit_code = CallForMember(s->remote, "GET", base, "");
  });

  auto* show = member->add_subcommand("show", "Show one member");
  show->add_option("id", s->id)->required();
  s->remote.AddTo(show);
  show->callback([s, exit_code, base] {
    *exit_code = CallForMember(s->remote, "GET", base + "/" + s->id, "");
  });

  auto* suspend = member->add_subcommand(
      "suspend", "Suspend a member: its next request is refused");
  suspend->add_option("id", s->id)->required();
  suspend->add_option("--reason", s->reason, "Why (kept with the member)");
  s->remote.AddTo(suspend);
  suspend->callback([s, exit_code, base] {
    wire::SuspendMemberRequest request;
    if (!s->reason.empty()) request.reason = s->reason;
    *exit_code =
        CallForMember(s->remote, "POST", base + "/" + s->id + "/suspend",
                      wire::Encode(request));
  });

  auto* resume = member->add_subcommand("resume", "Lift a suspension");
  resume->add_option("id", s->id)->required();
  s->remote.AddTo(resume);
  resume->callback([s, exit_code, base] {
    *exit_code =
        CallForMember(s->remote, "POST", base + "/" + s->id + "/resume",
                      wire::Encode(wire::EmptyRequest{}));
  });

  auto* roles = member->add_subcommand("roles", "Replace a member's roles");
  roles->add_option("id", s->id)->required();
  roles->add_option("--role", s->role_names, "member, compliance or operator")
      ->required();
  s->remote.AddTo(roles);
  roles->callback([s, exit_code, base] {
    auto parsed = ParseRoles(s->role_names);
    if (!parsed) {
      *exit_code = Report(parsed.error());
      return;
    }
    *exit_code = CallForMember(s->remote, "PUT", base + "/" + s->id + "/roles",
                               wire::Encode(wire::SetRolesRequest{*parsed}));
  });

  auto* fp = member->add_subcommand("fingerprint", "Manage certificates");
  fp->require_subcommand(1);
  auto* fp_add = fp->add_subcommand("add", "Register another certificate");
  fp_add->add_option("id", s->id)->required();
  fp_add->add_option("fingerprint", s->fingerprint, "64 hex characters");
  fp_add->add_option("--member-cert", s->cert_files, "PEM certificate instead")
      ->check(CLI::ExistingFile);
  s->remote.AddTo(fp_add);
  fp_add->callback([s, exit_code, base] {
    auto fps = CollectFingerprints(
        s->fingerprint.empty() ? std::vector<std::string>{}
                               : std::vector<std::string>{s->fingerprint},
        s->cert_files);
    if (!fps) {
      *exit_code = Report(fps.error());
      return;
    }
    if (fps->size() != 1) {
      *exit_code = Report(Error{ErrorCode::kInvalidArgument,
                                "give exactly one fingerprint or --member-cert",
                                "--member-cert", std::nullopt});
      return;
    }
    *exit_code =
        CallForMember(s->remote, "POST", base + "/" + s->id + "/fingerprints",
                      wire::Encode(wire::AddFingerprintRequest{fps->front()}));
  });

  auto* fp_revoke = fp->add_subcommand(
      "revoke", "Revoke a certificate: effective on the next request");
  fp_revoke->add_option("id", s->id)->required();
  fp_revoke->add_option("fingerprint", s->fingerprint, "64 hex characters")
      ->required();
  s->remote.AddTo(fp_revoke);
  fp_revoke->callback([s, exit_code, base] {
    *exit_code = CallForMember(
        s->remote, "POST",
        base + "/" + s->id + "/fingerprints/" + s->fingerprint + "/revoke",
        wire::Encode(wire::EmptyRequest{}));
  });
}

}  // namespace cairn::server::ctl
