// What every `cairn` command shares: exit codes, error printing, building
// the SDK client from the layered settings, and turning input rows into
// the SDK's typed identifiers.
#ifndef CAIRN_CLIENT_SRC_CLI_COMMAND_SUPPORT_H_
#define CAIRN_CLIENT_SRC_CLI_COMMAND_SUPPORT_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/client.h"
#include "cairn/normalise.h"
#include "cairn/result.h"
#include "src/cli/progress.h"
#include "src/cli/settings.h"

namespace cairn::cli {

// Exit codes, documented in `cairn --help` and docs/integration-guide.md
// ("The `cairn` command"). An operator's script acts on them:
//   1  refused: repeating the same command fails again (the message says
//      what to change);
//   2  fix the command line or the configuration;
//   3  nothing was carried out: try again later (the hub could not be
//      reached, or it answered that it cannot serve the request now);
//   4  fix a local file (or free space: output that could not be written);
//   5  the outcome is unknown: the request was sent but no answer came, so
//      the hub may have carried it out; check before repeating a command
//      that changes something (the message says how).
inline constexpr int kExitRefused = 1;         // the hub or an input item
inline constexpr int kExitUsage = 2;           // command line or configuration
inline constexpr int kExitTryLater = 3;        // nothing done; try again later
inline constexpr int kExitLocalFile = 4;       // a local file or the output
inline constexpr int kExitOutcomeUnknown = 5;  // sent, but no answer came

// Prints "cairn: MESSAGE" on stderr and returns `code`.
int Fail(const std::string& message, int code);
int Fail(const Error& error, int code);

// Exit code for an error from loading a local file or the settings:
// kExitLocalFile when the file is missing (kNotFound) or unreadable (kIo),
// else kExitUsage (a file that is there but wrong).
int LocalFileExit(const Error& error);

// Exit code for a failed hub call: kExitOutcomeUnknown for a request that
// was sent and got no answer (kIo: a lost reply, a timeout, or a proxy's
// 502, 504 or 5xx without a Cairn error body; or the hub's 503 saying it
// shut down before answering and the request may still have been carried
// out),
// kExitTryLater for a hub that could not be reached or answered 503 or 429
// (kUnavailable, kRateLimited), kExitRefused for any other answer.
int CallExit(const Error& error);

// What to do about each command's request when its outcome is unknown.
inline constexpr std::string_view kRepeatReadOnly =
    "it changes nothing on the hub: run it again";
inline constexpr std::string_view kRepeatQuery =
    "running it again is safe, but the hub may record the matches again "
    "under new match_ids; use the match_ids of the answer you receive";
inline constexpr std::string_view kRepeatSubmit =
    "running it again is safe: signals the hub already stored come back "
    "duplicate";
inline constexpr std::string_view kRepeatRetract =
    "running it again is safe: rows already retracted come back not_found; "
    "count those as done";
inline constexpr std::string_view kRepeatDispose =
    "check your own records before repeating it: a repeated disposition is "
    "recorded a second time";

// For a failed hub call: prints the error with `context` (e.g. where to
// resume) appended, and, when the outcome is unknown, that the hub may
// have carried the request out and `if_unknown`. Returns CallExit(error).
int FailCall(const Error& error, std::string_view if_unknown,
             std::string_view context = {});

// Flushes standard output. Fails with kIo, saying why, when anything
// printed could not be written (a full disk, an I/O error): a command
// must not report success, or a cursor to resume from, for output that
// was lost.
Status FlushOutput();

// Prints the output error `error` with `context` appended and returns
// kExitLocalFile.
int FailOutput(const Error& error, std::string_view context = {});

// Checks the client certificate, key and CA bundle of `settings` before
// the SDK reads them, so that the error names the flag to fix rather than
// a ClientOptions field: kNotFound or kIo for a file that cannot be opened
// (exit 4), kInvalidArgument for one that is there but is no PEM file of
// its kind, or a key that does not match the certificate (exit 2).
// `key_flag` is the flag that gives the client key ("--key", or
// "--client-key" for `cairn token`).
Status CheckTlsFiles(const Settings& settings,
                     std::string_view key_flag = "--key");

// "a,b,c".
std::string Join(const std::vector<std::string>& parts,
                 std::string_view sep = ",");

// The wire names of enum values (ToString of each).
template <typename Enum>
std::vector<std::string> Names(const std::vector<Enum>& values) {
  std::vector<std::string> out;
  out.reserve(values.size());
  for (const auto v : values) out.emplace_back(ToString(v));
  return out;
}

// Normalisation options for `kind` from the settings. The CLI cannot know
// which custom kinds the hub registered, so a well-formed kind that is not
// built in is treated as custom.
NormaliseOptions NormaliseOptionsFor(const Settings& settings,
                                     std::string_view kind);

// The hub URL, client certificate and key, CA bundle and pin of the
// settings; the other options keep their defaults.
ClientOptions HubConnectionOptions(const Settings& settings);

// The SDK client for the settings; `token_scheme` is "hmac-v1" or
// "voprf-v1". Without `tokenises` (commands that send no identifiers: me,
// dispose, feed, notifications, receipt verify) no consortium key is
// needed. Fails with kInvalidArgument naming the missing setting and
// where to give it, or as CheckTlsFiles and LoadConsortiumKey.
Result<Client> BuildClient(const Settings& settings,
                           std::string_view token_scheme,
                           bool tokenises = true);

// The typed identifier for a row's kind and raw value.
Identifier MakeIdentifier(const std::string& kind, const std::string& value,
                          const std::string& region);

// A progress bar on stderr for inputs large enough to take a while, shown
// only when stderr is a terminal (scripts and logs get the summary line).
ProgressBar MakeProgress(std::size_t total);

}  // namespace cairn::cli

#endif  // CAIRN_CLIENT_SRC_CLI_COMMAND_SUPPORT_H_
