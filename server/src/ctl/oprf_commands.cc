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

namespace cairn::server::ctl {

void AddOprfCommands(CLI::App& app, int* exit_code) {
  CLI::App* oprf =
      app.add_subcommand("oprf", "The hub's OPRF keys (token scheme voprf-v1)");
  oprf->require_subcommand(1);
  struct Options {
    std::string data_dir = "data";
    std::string key_dir;
  };
  auto options = std::make_shared<Options>();
  CLI::App* rotate = oprf->add_subcommand(
      "rotate",
      "Start a new OPRF key epoch; restart cairnd to announce it. Members "
      "must then re-derive and re-submit their voprf-v1 signals (docs/"
      "token-scheme.md)");
  rotate->add_option("--data", options->data_dir, "The hub's data directory")
      ->capture_default_str();
  rotate->add_option("--key-dir", options->key_dir,
                     "OPRF key directory (oprf.key_dir); default DATA/oprf");
  rotate->callback([options, exit_code] {
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
