// cairnctl oprf rotate: starts a new OPRF key epoch (token scheme
// voprf-v1). Offline: writes <key_dir>/epoch-(N+1).key; cairnd announces
// it after a restart, and keeps evaluating older epochs whose files remain
// (the overlap during which members re-derive their tokens).
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "server/src/ctl/command.h"
#include "server/src/oprf/oprf_keyring.h"
#include "server/src/store_location.h"

namespace cairn::server::ctl {

void AddOprfCommands(CLI::App& app, int* exit_code) {
  CLI::App* oprf =
      app.add_subcommand("oprf", "The hub's OPRF keys (token scheme voprf-v1)");
  oprf->require_subcommand(1);
  struct Options {
    std::string data_dir;
    std::string key_dir;
  };
  auto options = std::make_shared<Options>();
  CLI::App* rotate = oprf->add_subcommand(
      "rotate",
      "Start a new OPRF key epoch; restart cairnd to announce it. Members "
      "must then re-derive and re-submit their voprf-v1 signals (docs/"
      "token-scheme.md)");
  rotate->add_option("--data", options->data_dir,
                     "The hub's data directory ([store] data_dir): writes "
                     "into DATA/oprf");
  rotate->add_option("--key-dir", options->key_dir,
                     "OPRF key directory (oprf.key_dir) instead of DATA/oprf");
  rotate->callback([options, exit_code] {
    // No default directory: a rotation in the wrong place makes a new
    // secret key nobody uses and looks like success.
    if (options->data_dir.empty() && options->key_dir.empty()) {
      *exit_code =
          Report(MakeError(ErrorCode::kInvalidArgument,
                           "give the hub's data directory with --data DIR (the "
                           "key goes into DIR/oprf) or its OPRF key directory "
                           "with --key-dir DIR ([oprf] key_dir)")
                     .value(),
                 kExitUsage);
      return;
    }
    if (options->key_dir.empty()) {
      std::error_code ec;
      const auto db = DatabasePath(options->data_dir);
      if (!std::filesystem::is_regular_file(db, ec)) {
        *exit_code =
            Report(MakeError(ErrorCode::kNotFound,
                             "no hub database at " + db.string() +
                                 "; give the hub's data directory ([store] "
                                 "data_dir in cairnd.toml), or its OPRF key "
                                 "directory with --key-dir DIR",
                             "--data")
                       .value(),
                   kExitUsage);
        return;
      }
    }
    const std::filesystem::path dir =
        options->key_dir.empty()
            ? std::filesystem::path(options->data_dir) / "oprf"
            : std::filesystem::path(options->key_dir);
    auto epoch = CreateNextOprfEpoch(dir);
    if (!epoch) {
      *exit_code = Report(epoch.error(), kExitRefused);
      return;
    }
    auto keys = OprfKeyring::Open(dir, false);
    if (!keys) {
      *exit_code = Report(keys.error(), kExitRefused);
      return;
    }
    std::printf(
        "OPRF epoch %u created in %s (epochs present: %zu).\nRestart cairnd "
        "to announce it. Older epochs stay valid for evaluation while their "
        "epoch-N.key files exist: once every member has re-submitted its "
        "signals under epoch %u, retract the old ones and delete the old "
        "files.\n",
        *epoch, dir.string().c_str(), (*keys)->Epochs().size(), *epoch);
    *exit_code = kExitOk;
  });
}

}  // namespace cairn::server::ctl
