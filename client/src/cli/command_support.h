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

// Exit codes, documented in `cairn --help` and docs/integration-guide.md.
inline constexpr int kExitRefused = 1;      // the hub or an input item
inline constexpr int kExitUsage = 2;        // command line or configuration
inline constexpr int kExitUnreachable = 3;  // the hub could not be reached
inline constexpr int kExitLocalFile = 4;    // a local file

// Prints "cairn: MESSAGE" on stderr and returns `code`.
int Fail(const std::string& message, int code);
int Fail(const Error& error, int code);

// Exit code for an error from loading a local file or the settings:
// kExitLocalFile when the file is missing (kNotFound) or unreadable (kIo),
// else kExitUsage.
int LocalFileExit(const Error& error);

// Exit code for a failed hub call.
int CallExit(const Error& error);

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
// where to give it.
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
