// cairnctl kind add|list: the custom identifier kinds members may submit
// and query besides the built-in ones (docs/token-scheme.md, "Custom
// kinds"). Over mTLS, as the operator.
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "cairn/wire.h"
#include "server/src/ctl/command.h"

namespace cairn::server::ctl {
namespace {

constexpr const char* kKindsTarget = "/v1/admin/kinds";

int PrintKinds(const Remote& remote, const std::string& reply) {
  if (remote.json) {
    std::cout << reply << "\n";
    return kExitOk;
  }
  auto kinds = wire::DecodeKindListResponse(reply);
  if (!kinds) return Report(kinds.error());
  std::printf("%-32s %s\n", "KIND", "ORIGIN");
  for (const auto& k : kinds->kinds) {
    std::printf("%-32s %s\n", k.name.c_str(),
                k.builtin ? "built-in" : "registered");
  }
  return kExitOk;
}

}  // namespace

void AddKindCommands(CLI::App& app, int* exit_code) {
  struct State {
    Remote remote;
    std::string kind;
  };
  auto s = std::make_shared<State>();
  auto* kind = app.add_subcommand(
      "kind", "Identifier kinds members may use besides the built-in ones");
  kind->require_subcommand(1);

  auto* add = kind->add_subcommand(
      "add",
      "Register a custom kind (e.g. steam_id); members can use it at once. "
      "Kinds cannot be removed");
  add->add_option("name", s->kind,
                  "2..32 characters of a-z, 0-9 and _, starting with a letter")
      ->required();
  s->remote.AddTo(add);
  add->callback([s, exit_code] {
    // The hub checks the name too; checking here makes a typo a usage
    // error (exit 2) without a round trip.
    if (!IsWellFormedKind(s->kind)) {
      *exit_code =
          Report(Error{ErrorCode::kInvalidArgument,
                       "'" + s->kind +
                           "' is not a kind name: use 2..32 characters of a-z, "
                           "0-9 and _, starting with a letter",
                       "kind", std::nullopt},
                 kExitUsage);
      return;
    }
    auto reply = s->remote.Call(
        "POST", kKindsTarget, wire::Encode(wire::RegisterKindRequest{s->kind}));
    *exit_code = reply ? PrintKinds(s->remote, *reply) : reply.error();
  });

  auto* list = kind->add_subcommand("list", "List the kinds the hub accepts");
  s->remote.AddTo(list);
  list->callback([s, exit_code] {
    auto reply = s->remote.Call("GET", kKindsTarget, "");
    *exit_code = reply ? PrintKinds(s->remote, *reply) : reply.error();
  });
}

}  // namespace cairn::server::ctl
