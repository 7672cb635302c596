// cairn: what platform safety engineers use to talk to a Cairn hub.
//
//   cairn keygen FILE                         new consortium key file (0600)
//   cairn token --kind KIND [--region R] [--key FILE] VALUE...
//   cairn me
//   cairn query  --kind KIND VALUE... | --file FILE
//   cairn submit --kind KIND --category C --severity S VALUE... | --file FILE
//   cairn retract --kind KIND --reason R VALUE... | --ref REF... | --file FILE
//   cairn dispose MATCH_ID --outcome O [--note TEXT]
//   cairn feed [--after CURSOR] [--follow]
//   cairn notifications [--after CURSOR]
//
// Commands that talk to the hub take --hub, --cert, --key, --cacert,
// --consortium-key, --region, --hub-pin and --json.
//
// Settings come from the config file ($XDG_CONFIG_HOME/cairn/config.toml,
// default ~/.config/cairn/config.toml) < environment < flags (see
// src/cli/settings.h and docs/integration-guide.md).
//
// Exit codes (src/cli/command_support.h):
//   0  success
//   1  the hub or the input refused something (the message says what);
//      repeating the same command fails again
//   2  bad command line or configuration, including a TLS file that is
//      there but malformed, or a key that does not match the certificate
//   3  nothing was carried out, try again later: the hub could not be
//      reached, or answered that it cannot serve the request now (its own
//      503 unavailable, 429 rate_limited)
//   4  a local file could not be read or written: missing or unreadable
//      (the consortium key, a --file, an explicit config file, a TLS
//      file), output that could not be written (a full disk, a closed pipe), or
//      `cairn keygen` refusing to overwrite an existing file
//   5  the outcome is unknown: the request was sent but no answer came
//      (a lost connection, a timeout, or a proxy's 502, 504 or other 5xx
//      without a Cairn error body), so the hub may have carried it out;
//      the message says whether repeating the command is safe
//
// This file wires the command line (CLI11) to the commands in src/cli/.

#include <csignal>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cairn/client.h"
#include "cairn/receipt.h"
#include "src/cli/batch_commands.h"
#include "src/cli/command_support.h"
#include "src/cli/hub_commands.h"
#include "src/cli/settings.h"
#include "src/cli/stream_commands.h"
#include "src/cli/token_commands.h"

namespace {

using namespace cairn;
using namespace cairn::cli;

// --kind, --file, --skip, (--ref) and VALUE of query, submit and retract.
void AddRowFlags(CLI::App* command, RowSource* rows, bool with_refs = false) {
  command->add_option("--kind", rows->kind,
                      "Kind of the VALUE arguments: email, phone, handle "
                      "(service:name), device, url or a custom kind");
  command->add_option("--file", rows->file,
                      "CSV (with header) or JSON-lines file of rows; see "
                      "docs/integration-guide.md");
  command->add_option("--skip", rows->skip,
                      "Skip the first N rows of --file (to resume after a "
                      "failure)");
  if (with_refs) {
    command
        ->add_option("--ref", rows->refs,
                     "Retract by this member's ref (repeatable)")
        ->allow_extra_args(false);
  }
  command->add_option("VALUE", rows->values, "Identifiers (raw; never sent)");
}

// Flags shared by every command that talks to the hub.
// `scheme` receives --scheme, the token scheme BuildClient configures.
void AddRemoteFlags(CLI::App* command, Settings* flags, bool* json,
                    std::string* scheme) {
  command->add_option("--hub", flags->hub,
                      "Hub URL https://HOST:PORT (env CAIRN_HUB)");
  command->add_option("--cert", flags->cert,
                      "Client certificate, PEM (env CAIRN_CERT)");
  command->add_option("--key", flags->key,
                      "Client private key, PEM (env CAIRN_KEY)");
  command->add_option("--cacert", flags->cacert,
                      "CA bundle that signed the hub, PEM (env CAIRN_CACERT)");
  command->add_option("--consortium-key", flags->consortium_key,
                      "Consortium key file (env CAIRN_CONSORTIUM_KEY)");
  command->add_option(
      "--region", flags->region,
      "Region for phone numbers without +, e.g. GB (env CAIRN_REGION)");
  command->add_option(
      "--hub-pin", flags->hub_pin,
      "SHA-256 of the hub's public key, hex (env CAIRN_HUB_PIN)");
  // One value per flag (allow_extra_args(false)): a repeatable option would
  // otherwise swallow the VALUE arguments after it.
  command
      ->add_option("--handle-service", flags->handle_services,
                   "Extra handle service registered on the hub (repeatable)")
      ->allow_extra_args(false);
  command->add_flag("--json", *json, "One JSON object per line");
  command
      ->add_option("--scheme", *scheme,
                   "Token scheme: hmac-v1, or voprf-v1 (tokens evaluated "
                   "by the hub's OPRF)")
      ->check(CLI::IsMember({"hmac-v1", "voprf-v1"}))
      ->capture_default_str();
}

}  // namespace

int main(int argc, char** argv) {
  // A reader that goes away (`cairn feed --follow | consumer` when the
  // consumer dies) must not kill cairn silently: the write fails instead,
  // and feed and notifications name the cursor to resume from (exit 4).
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{
      "cairn: share and look up hashed identifiers of accounts banned for "
      "child sexual exploitation on a Cairn hub.\nSettings: "
      "$XDG_CONFIG_HOME/cairn/config.toml (default "
      "~/.config/cairn/config.toml) < CAIRN_* environment < flags.\nExit "
      "codes: 0 ok; 1 refused by the hub or bad input item; 2 usage or "
      "configuration (a malformed or mismatched TLS file too); 3 nothing "
      "was done, try again later (hub unreachable, or the hub itself "
      "answered 503 or 429); 4 a local file is missing or cannot be read, or "
      "the output cannot be written (keygen onto an existing file too); 5 "
      "outcome unknown: the request was sent but no answer came (or only a "
      "proxy's 502, 504 or other 5xx), the hub may have carried it out (the "
      "message says whether repeating is safe)."};
  app.require_subcommand(1);
  // Options of the top level (--config) after the command too: `cairn me
  // --config FILE`. Subcommands inherit this.
  app.fallthrough();
  ConfigFile config = DefaultConfigFile();
  CLI::Option* config_flag =
      app.add_option("--config", config.path,
                     "Config file, which must exist (env CAIRN_CONFIG; default "
                     "$XDG_CONFIG_HOME/cairn/config.toml or "
                     "~/.config/cairn/config.toml, read if present); before "
                     "or after the command");

  // Flags override settings; they are applied after the config file and the
  // environment have been read, so each is collected separately.
  Settings flags;
  bool json = false;
  std::string token_scheme = "hmac-v1";

  std::string keygen_path;
  CLI::App* keygen =
      app.add_subcommand("keygen",
                         "Create a new consortium key file (mode 0600; never "
                         "overwrites)");
  keygen->add_option("FILE", keygen_path, "Where to write the key")->required();

  TokenCommand token;
  CLI::App* token_cmd = app.add_subcommand(
      "token",
      "Print the normalised form and token of identifiers (for "
      "debugging normalisation). With hmac-v1, the default, nothing is "
      "sent anywhere; with --scheme voprf-v1 the hub evaluates the tokens: "
      "blinded hmac-v1 tokens (never the identifiers) go to it, and count "
      "against this member's OPRF quota");
  token_cmd
      ->add_option("--kind", token.kind,
                   "email, phone, handle, device, url or a custom kind")
      ->required();
  token_cmd->add_option("--region", flags.region,
                        "Region for phone numbers without +, e.g. GB (env "
                        "CAIRN_REGION)");
  token_cmd->add_option("--key,--consortium-key", flags.consortium_key,
                        "Consortium key file (env CAIRN_CONSORTIUM_KEY)");
  token_cmd
      ->add_option("--handle-service", flags.handle_services,
                   "Extra handle service registered on the hub (repeatable)")
      ->allow_extra_args(false);
  token_cmd->add_flag("--json", token.json, "One JSON object per line");
  token_cmd
      ->add_option("--scheme", token.scheme,
                   "hmac-v1 (offline), or voprf-v1: show every step of the "
                   "hub's OPRF evaluation (needs the hub flags)")
      ->check(CLI::IsMember({"hmac-v1", "voprf-v1"}))
      ->capture_default_str();
  token_cmd->add_option("--hub", flags.hub,
                        "voprf-v1: hub URL https://HOST:PORT (env CAIRN_HUB)");
  token_cmd->add_option("--cert", flags.cert,
                        "voprf-v1: client certificate, PEM (env CAIRN_CERT)");
  token_cmd->add_option("--client-key", flags.key,
                        "voprf-v1: client private key, PEM (env CAIRN_KEY)");
  token_cmd->add_option("--cacert", flags.cacert,
                        "voprf-v1: CA bundle of the hub, PEM (env "
                        "CAIRN_CACERT)");
  token_cmd->add_option("VALUE", token.values, "Identifiers to tokenise")
      ->required();

  CLI::App* me =
      app.add_subcommand("me", "Show this member as the hub sees it");
  AddRemoteFlags(me, &flags, &json, &token_scheme);

  RowSource query_rows;
  CLI::App* query =
      app.add_subcommand("query", "Look identifiers up (only tokens are sent)");
  AddRemoteFlags(query, &flags, &json, &token_scheme);
  AddRowFlags(query, &query_rows);

  RowSource submit_rows;
  SubmitDefaults submit_defaults;
  CLI::App* submit = app.add_subcommand("submit", "Share bans");
  AddRemoteFlags(submit, &flags, &json, &token_scheme);
  AddRowFlags(submit, &submit_rows);
  submit->add_option("--category", submit_defaults.category,
                     "grooming, sextortion, csam_sharing, csam_production, "
                     "trafficking or other");
  submit->add_option("--severity", submit_defaults.severity,
                     "low, medium, high or critical");
  submit->add_option("--banned-at", submit_defaults.banned_at,
                     "When the account was banned, e.g. 2026-11-23T14:00:00Z "
                     "(default: now)");
  submit->add_option("--expires-at", submit_defaults.expires_at,
                     "When the signal lapses (default: the hub's)");
  submit->add_flag("--attribution", submit_defaults.attribution,
                   "Reveal this member to members that match");
  submit->add_option("--signal-ref", submit_defaults.ref,
                     "This member's private reference for the signal");

  RowSource retract_rows;
  std::string retract_reason = "other";
  CLI::App* retract =
      app.add_subcommand("retract", "Withdraw this member's signals");
  AddRemoteFlags(retract, &flags, &json, &token_scheme);
  AddRowFlags(retract, &retract_rows, /*with_refs=*/true);
  retract
      ->add_option("--reason", retract_reason,
                   "appeal_upheld, error, duplicate or other")
      ->capture_default_str();

  std::string match_id, outcome, note;
  CLI::App* dispose = app.add_subcommand(
      "dispose", "Record the outcome of human review of a match");
  AddRemoteFlags(dispose, &flags, &json, &token_scheme);
  dispose->add_option("MATCH_ID", match_id, "m_... from `cairn query`")
      ->required();
  dispose
      ->add_option("--outcome", outcome,
                   "confirmed, actioned, no_action or false_positive")
      ->required();
  dispose->add_option("--note", note, "Free text, up to 1000 bytes");

  PageCommand feed_command;
  CLI::App* feed = app.add_subcommand("feed", "Print the hub's change stream");
  AddRemoteFlags(feed, &flags, &json, &token_scheme);
  feed->add_option("--after", feed_command.after, "Resume after this cursor");
  feed->add_option("--limit", feed_command.limit,
                   "Events per request (1..10000)")
      ->capture_default_str();
  feed->add_flag("--follow", feed_command.follow,
                 "Keep polling for new events until interrupted");
  feed->add_option("--interval", feed_command.interval_seconds,
                   "Seconds between polls with --follow")
      ->capture_default_str();

  PageCommand notifications_command;
  CLI::App* notifications = app.add_subcommand(
      "notifications", "Print changes to this member's matches");
  AddRemoteFlags(notifications, &flags, &json, &token_scheme);
  notifications->add_option("--after", notifications_command.after,
                            "Resume after this cursor");
  notifications
      ->add_option("--limit", notifications_command.limit,
                   "Notifications per request (1..10000)")
      ->capture_default_str();

  ReceiptVerifyCommand receipt_verify;
  CLI::App* receipt =
      app.add_subcommand("receipt", "The hub's signed receipts");
  receipt->require_subcommand(1);
  CLI::App* receipt_verify_cmd = receipt->add_subcommand(
      "verify",
      "Verify the receipt of a saved submit, retract or query response");
  receipt_verify_cmd
      ->add_option("FILE", receipt_verify.file, "Saved response body (JSON)")
      ->required();
  receipt_verify_cmd->add_option(
      "--request", receipt_verify.request,
      "The exact request body that was sent, to check it too");
  receipt_verify_cmd->add_option(
      "--keys-file", receipt_verify.keys_file,
      "Saved `cairn me --json` output holding the hub's keys (offline); "
      "without it the keys are fetched from the hub");
  AddRemoteFlags(receipt_verify_cmd, &flags, &json, &token_scheme);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }

  if (keygen->parsed()) return RunKeygen(keygen_path);
  if (receipt_verify_cmd->parsed() && !receipt_verify.keys_file.empty()) {
    auto keys = LoadHubKeysFile(receipt_verify.keys_file);
    if (!keys) return Fail(keys.error(), LocalFileExit(keys.error()));
    return RunReceiptVerify(receipt_verify, *keys, json);
  }

  if (config_flag->count() > 0) config.explicit_path = true;
  auto settings = LoadSettings(config);
  if (!settings) return Fail(settings.error(), LocalFileExit(settings.error()));
  auto override_if_set = [](const std::string& flag, std::string* out) {
    if (!flag.empty()) *out = flag;
  };
  override_if_set(flags.hub, &settings->hub);
  override_if_set(flags.cert, &settings->cert);
  override_if_set(flags.key, &settings->key);
  override_if_set(flags.cacert, &settings->cacert);
  override_if_set(flags.consortium_key, &settings->consortium_key);
  override_if_set(flags.region, &settings->region);
  override_if_set(flags.hub_pin, &settings->hub_pin);
  settings->handle_services.insert(settings->handle_services.end(),
                                   flags.handle_services.begin(),
                                   flags.handle_services.end());

  if (token_cmd->parsed()) return RunToken(token, *settings);

  // Only these send identifiers; the others work without a consortium key.
  const bool tokenises =
      query->parsed() || submit->parsed() || retract->parsed();
  auto client = BuildClient(*settings, token_scheme, tokenises);
  if (!client) return Fail(client.error(), LocalFileExit(client.error()));
  if (me->parsed()) return RunMe(*client, json);
  if (receipt_verify_cmd->parsed()) {
    auto me_response = client->Me();
    if (!me_response) {
      return FailCall(me_response.error(), kRepeatReadOnly);
    }
    return RunReceiptVerify(receipt_verify, me_response->hub_keys, json);
  }
  if (query->parsed()) return RunQuery(*client, query_rows, json, *settings);
  if (submit->parsed()) {
    return RunSubmit(*client, submit_rows, submit_defaults, json, *settings);
  }
  if (retract->parsed()) {
    return RunRetract(*client, retract_rows, retract_reason, json, *settings);
  }
  if (dispose->parsed())
    return RunDispose(*client, match_id, outcome, note, json);
  if (feed->parsed()) return RunFeed(*client, feed_command, json);
  if (notifications->parsed()) {
    return RunNotifications(*client, notifications_command, json);
  }
  return kExitUsage;
}
