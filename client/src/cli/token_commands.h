// `cairn keygen` and `cairn token`: the commands that work with the
// consortium key locally (token --scheme voprf-v1 also asks the hub).
#ifndef CAIRN_CLIENT_SRC_CLI_TOKEN_COMMANDS_H_
#define CAIRN_CLIENT_SRC_CLI_TOKEN_COMMANDS_H_

#include <string>
#include <vector>

#include "src/cli/settings.h"

namespace cairn::cli {

struct TokenCommand {
  std::string kind;
  std::vector<std::string> values;
  bool json = false;
  std::string scheme = "hmac-v1";  // or "voprf-v1"
};

// Prints each value's normalised form and token (hmac-v1), or every step
// of the hub's OPRF evaluation (voprf-v1). Returns the exit code.
int RunToken(const TokenCommand& command, const Settings& settings);

// Writes a new consortium key file (mode 0600, never overwriting) and
// prints its fingerprint. Returns the exit code.
int RunKeygen(const std::string& path);

}  // namespace cairn::cli

#endif  // CAIRN_CLIENT_SRC_CLI_TOKEN_COMMANDS_H_
