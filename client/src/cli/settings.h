// Settings of the `cairn` CLI, layered in this order (later wins):
//   1. ~/.config/cairn/config.toml (or the file named by $CAIRN_CONFIG),
//   2. environment variables CAIRN_HUB, CAIRN_CERT, CAIRN_KEY, CAIRN_CACERT,
//      CAIRN_CONSORTIUM_KEY, CAIRN_REGION, CAIRN_HUB_PIN,
//   3. command-line flags.
// The config file uses the flag names as keys:
//   hub = "https://hub.example:8443"
//   cert = "/etc/cairn/alpha.crt"
//   key = "/etc/cairn/alpha.key"
//   cacert = "/etc/cairn/ca.crt"
//   consortium_key = "/etc/cairn/consortium.key"
//   region = "GB"
//   hub_pin = "<64 hex>"
//   handle_services = ["mastodon"]
//   custom_kinds = ["steam_id"]
#ifndef CAIRN_CLIENT_SRC_CLI_SETTINGS_H_
#define CAIRN_CLIENT_SRC_CLI_SETTINGS_H_

#include <optional>
#include <string>
#include <vector>

#include "cairn/result.h"

namespace cairn::cli {

struct Settings {
  std::string hub;
  std::string cert;
  std::string key;
  std::string cacert;
  std::string consortium_key;
  std::string region;
  std::string hub_pin;
  std::vector<std::string> handle_services;
  std::vector<std::string> custom_kinds;
};

// The config file path: $CAIRN_CONFIG, else $XDG_CONFIG_HOME/cairn/config.toml,
// else $HOME/.config/cairn/config.toml.
std::string DefaultConfigPath();

// Reads the config file (a missing file is not an error; a malformed one
// is, naming the line) and then the environment.
Result<Settings> LoadSettings(const std::string& config_path);

}  // namespace cairn::cli

#endif  // CAIRN_CLIENT_SRC_CLI_SETTINGS_H_
