// What every cairnctl command group shares: exit codes, error reporting and
// the options of commands that talk to a running hub.
//
// A command group lives in its own file and registers its subcommands with
// an Add...Commands(CLI::App&, int* exit_code) function called from
// cairnctl.cc; each subcommand's CLI11 callback runs the command and stores
// its exit code.
#ifndef CAIRN_SERVER_CTL_COMMAND_H_
#define CAIRN_SERVER_CTL_COMMAND_H_

#include <optional>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "cairn/result.h"
#include "server/src/audit/audit_verify.h"
#include "server/src/ctl/hub_connection.h"
#include "server/src/keys/hub_keyring.h"

namespace cairn::server::ctl {

// Documented in cairnctl --help and docs/operator-guide.md.
constexpr int kExitOk = 0;
// 1: the hub or the store refused (the hub's TLS refusal of --cert
// included), or the hub's certificate did not verify (another CA, another
// name, out of date: waiting will not fix it).
constexpr int kExitRefused = 1;
// 2: bad command line, including a --hub, --cert, --key or --cacert that
// cannot be used as given (unreadable, not PEM, a key not matching --cert)
// and every error about an option cairnctl detects itself (ExitCodeFor).
constexpr int kExitUsage = 2;
constexpr int kExitUnreachable = 3;  // the hub could not be reached

// The one place that decides the exit code of an error cairnctl reports
// (Report returns it). An error cairnctl detected itself about its command
// line or a local file named on it -- a value out of range, options that
// contradict each other or the input, an input file that is missing,
// unreadable or holds the wrong thing -- names that option in Error::field
// ("--days", "--operator-cert", "--after-seq"; see AboutOption), and exits
// 2: nothing was done and the command line must change. Any other error
// exits `otherwise`: by default 1, the hub or the store refused.
int ExitCodeFor(const Error& error, int otherwise = kExitRefused);

// `error` as one about command-line option `option` ("--csr"): its field
// names the option, so ExitCodeFor gives 2 and the message shows it.
Error AboutOption(Error error, std::string_view option);

// Prints "cairnctl: <error>" to stderr and returns ExitCodeFor(error,
// otherwise).
int Report(const Error& error, int otherwise = kExitRefused);

// The keys and validity periods VerifyAuditLog checks checkpoints with.
AuditKeys ToAuditKeys(const std::vector<HubPublicKey>& keys);

// The environment variable's value, or `fallback` when unset.
std::string Env(const char* name, std::string fallback = {});

// Options shared by every command that talks to a running hub: --hub,
// --cert, --key, --cacert (with CAIRN_HUB, CAIRNCTL_CERT, CAIRNCTL_KEY,
// CAIRNCTL_CACERT as defaults), --hub-address and --json.
struct Remote {
  HubConnectionOptions connection;
  bool json = false;

  void AddTo(CLI::App* command);

  // Sends one request and returns the body of a 2xx answer. Otherwise the
  // hub's error (or the transport failure, or missing credentials) has been
  // printed on stderr and the error holds the exit code to return. With
  // `refusal`, a hub's error answer is stored there instead of printed (the
  // caller prints it, with its own advice) and kExitRefused returned.
  tl::expected<std::string, int> Call(
      std::string_view method, const std::string& target,
      const std::string& body, std::optional<Error>* refusal = nullptr) const;
};

// Command groups (one file each under server/src/ctl/).
void AddInitCommand(CLI::App& app, int* exit_code);
void AddMemberCommands(CLI::App& app, int* exit_code);
void AddCertCommands(CLI::App& app, int* exit_code);    // cert sign
void AddBackupCommands(CLI::App& app, int* exit_code);  // backup, restore
void AddReportCommands(CLI::App& app, int* exit_code);  // report
void AddKeyCommands(CLI::App& app, int* exit_code);     // keys, receipt verify
void AddAuditCommands(CLI::App& app, int* exit_code);   // audit verify
void AddPurgeCommands(CLI::App& app, int* exit_code);   // purge
void AddOprfCommands(CLI::App& app, int* exit_code);    // oprf rotate
void AddKindCommands(CLI::App& app, int* exit_code);    // kind add, list

}  // namespace cairn::server::ctl

#endif  // CAIRN_SERVER_CTL_COMMAND_H_
