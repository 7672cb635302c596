// The `cairn` commands that make one call to the hub: me, dispose and
// receipt verify.
#ifndef CAIRN_CLIENT_SRC_CLI_HUB_COMMANDS_H_
#define CAIRN_CLIENT_SRC_CLI_HUB_COMMANDS_H_

#include <string>
#include <vector>

#include "cairn/client.h"
#include "cairn/wire/me.h"

namespace cairn::cli {

// Each returns the exit code.
int RunMe(const Client& client, bool json);

// `outcome_text` is a wire outcome name; an empty `note` sends none.
int RunDispose(const Client& client, const std::string& match_id,
               const std::string& outcome_text, const std::string& note,
               bool json);

struct ReceiptVerifyCommand {
  std::string file;       // saved response body
  std::string request;    // optional: the exact request body sent
  std::string keys_file;  // optional: saved GET /v1/me; else ask the hub
};

// Verifies a saved response's receipt against `keys` (cairn/receipt.h).
int RunReceiptVerify(const ReceiptVerifyCommand& command,
                     const std::vector<wire::HubKey>& keys, bool json);

}  // namespace cairn::cli

#endif  // CAIRN_CLIENT_SRC_CLI_HUB_COMMANDS_H_
