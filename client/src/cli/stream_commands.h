// `cairn feed` and `cairn notifications`: the paged streams, printed until
// the end (or, for feed --follow, until SIGINT/SIGTERM), ending with the
// cursor that resumes them.
#ifndef CAIRN_CLIENT_SRC_CLI_STREAM_COMMANDS_H_
#define CAIRN_CLIENT_SRC_CLI_STREAM_COMMANDS_H_

#include <cstdint>
#include <string>

#include "cairn/client.h"

namespace cairn::cli {

struct PageCommand {
  std::string after;  // resume after this cursor; empty: from the start
  std::uint32_t limit = 1000;
  bool follow = false;  // feed only: poll for new events until interrupted
  double interval_seconds = 5;
};

// Each returns the exit code.
int RunFeed(const Client& client, const PageCommand& command, bool json);
int RunNotifications(const Client& client, const PageCommand& command,
                     bool json);

}  // namespace cairn::cli

#endif  // CAIRN_CLIENT_SRC_CLI_STREAM_COMMANDS_H_
