// cairnctl keys rotate|list and cairnctl receipt verify: the hub's signing
// keys and offline verification of saved receipts.
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>

#include "cairn/receipt.h"
#include "cairn/timestamp.h"
#include "cairn/wire.h"
#include "server/src/ctl/command.h"
#include "server/src/keys/hub_keyring.h"

namespace cairn::server::ctl {
namespace {

void PrintKeys(const std::vector<wire::HubKey>& keys) {
  std::printf("%-20s %-8s %-21s %-21s %s\n", "KEY", "STATE", "VALID FROM",
              "VALID UNTIL", "PUBLIC KEY");
  for (const auto& k : keys) {
    std::printf("%-20s %-8s %-21s %-21s %s\n", k.key_id.c_str(),
                k.valid_until ? "retired" : "current",
                FormatTimestamp(k.valid_from).c_str(),
                k.valid_until ? FormatTimestamp(*k.valid_until).c_str() : "-",
                k.public_key.c_str());
  }
}

// The hub's public keys: from a keys directory, a saved /v1/me (or key
// list) file, or else GET /v1/me on the hub. On failure the error has been
// reported and the result holds the exit code.
tl::expected<std::vector<wire::HubKey>, int> FetchKeys(
    const std::string& keys_dir, const std::string& keys_file,
    const Remote& remote) {
  if (!keys_dir.empty()) {
    auto keys = LoadHubPublicKeys(keys_dir);
    if (!keys) return tl::unexpected(Report(keys.error()));
    return ToWireKeys(*keys);
  }
  if (!keys_file.empty()) {
    auto keys = LoadHubKeysFile(keys_file);
    if (!keys) return tl::unexpected(Report(keys.error()));
    return std::move(*keys);
  }
  auto reply = remote.Call("GET", "/v1/me", "");
  if (!reply) return tl::unexpected(reply.error());
  auto decoded = DecodeHubKeysResponse(*reply);
  if (!decoded) return tl::unexpected(Report(decoded.error()));
  return std::move(decoded->hub_keys);
}

int ListKeys(const std::string& keys_dir, const Remote& remote) {
  auto keys = FetchKeys(keys_dir, "", remote);
  if (!keys) return keys.error();
  if (remote.json) {
    std::cout << Encode(HubKeysResponse{*keys}) << "\n";
  } else {
    PrintKeys(*keys);
  }
  return kExitOk;
}

int RotateKeys(const Remote& remote) {
  auto reply = remote.Call("POST", "/v1/admin/keys/rotate", "{}");
  if (!reply) {
    if (reply.error() == kExitUnreachable) {
      // The request may have been carried out before the answer was lost;
      // rotating blindly again would retire a key nobody saw.
      std::fprintf(stderr,
                   "cairnctl: if the request reached the hub, the key may "
                   "have been rotated: check `cairnctl keys list` before "
                   "rotating again\n");
    }
    return reply.error();
  }
  if (remote.json) {
    std::cout << *reply << "\n";
    return kExitOk;
  }
  auto decoded = DecodeHubKeysResponse(*reply);
  if (!decoded) return Report(decoded.error());
  if (!decoded->hub_keys.empty()) {
    std::printf("new signing key %s; older keys stay published\n",
                decoded->hub_keys.front().key_id.c_str());
  }
  PrintKeys(decoded->hub_keys);
  return kExitOk;
}

int VerifyReceiptFile(const std::string& file, const std::string& request,
                      const std::string& keys_dir, const std::string& keys_file,
                      const Remote& remote) {
  auto keys = FetchKeys(keys_dir, keys_file, remote);
  if (!keys) return keys.error();
  auto verified = VerifySavedResponseFile(file, *keys, request);
  if (remote.json) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    w.StartObject();
    w.Key("file");
    w.String(file.c_str());
    w.Key("valid");
    w.Bool(verified.has_value());
    if (verified) {
      w.Key("key_id");
      w.String(verified->key_id.c_str());
      w.Key("member");
      w.String(verified->member.c_str());
      w.Key("request_id");
      w.String(verified->request_id.c_str());
      w.Key("endpoint");
      w.String(verified->endpoint.c_str());
      w.Key("at");
      w.String(FormatTimestamp(verified->at).c_str());
      w.Key("request_checked");
      w.Bool(!request.empty());
    } else {
      w.Key("error");
      w.String(verified.error().message.c_str());
    }
    w.EndObject();
    std::cout << buffer.GetString() << "\n";
    return verified ? kExitOk : kExitRefused;
  }
  if (!verified) return Report(verified.error());
  std::printf("receipt valid: %s %s for member %s at %s, signed by %s\n",
              verified->endpoint.c_str(), verified->request_id.c_str(),
              verified->member.c_str(), FormatTimestamp(verified->at).c_str(),
              verified->key_id.c_str());
  std::printf(request.empty()
                  ? "request body not checked (pass --request FILE with the "
                    "exact body sent to check it too)\n"
                  : "request body matches the receipt\n");
  return kExitOk;
}

}  // namespace

void AddKeyCommands(CLI::App& app, int* exit_code) {
  struct State {
    Remote remote;
    std::string keys_dir;
    std::string keys_file;
    std::string file;
    std::string request;
  };
  auto s = std::make_shared<State>();

  auto* keys = app.add_subcommand("keys", "The hub's signing keys");
  keys->require_subcommand(1);
  auto* rotate = keys->add_subcommand(
      "rotate",
      "Make a new signing key current (operator); old keys stay published");
  s->remote.AddTo(rotate);
  rotate->callback([s, exit_code] { *exit_code = RotateKeys(s->remote); });

  auto* list = keys->add_subcommand(
      "list", "List the hub's public keys (GET /v1/me, or --keys DIR)");
  list->add_option("--keys", s->keys_dir,
                   "Read the keys directory instead (offline)")
      ->check(CLI::ExistingDirectory);
  s->remote.AddTo(list);
  list->callback(
      [s, exit_code] { *exit_code = ListKeys(s->keys_dir, s->remote); });

  auto* receipt = app.add_subcommand("receipt", "Signed receipts");
  receipt->require_subcommand(1);
  auto* verify = receipt->add_subcommand(
      "verify",
      "Verify the receipt of a saved submit, retract or query response");
  verify->add_option("file", s->file, "Saved response body (JSON)")
      ->required()
      ->check(CLI::ExistingFile);
  verify
      ->add_option("--request", s->request,
                   "The exact request body that was sent, to check it too")
      ->check(CLI::ExistingFile);
  auto* dir_option =
      verify
          ->add_option("--keys", s->keys_dir,
                       "Hub keys directory (offline, e.g. from a backup)")
          ->check(CLI::ExistingDirectory);
  verify
      ->add_option("--keys-file", s->keys_file,
                   "Saved GET /v1/me response holding hub_keys (offline)")
      ->check(CLI::ExistingFile)
      ->excludes(dir_option);
  s->remote.AddTo(verify);
  verify->callback([s, exit_code] {
    *exit_code = VerifyReceiptFile(s->file, s->request, s->keys_dir,
                                   s->keys_file, s->remote);
  });
}

}  // namespace cairn::server::ctl
