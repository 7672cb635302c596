// Settings of the `cairn` CLI, layered in this order (later wins):
//   1. $XDG_CONFIG_HOME/cairn/config.toml, or ~/.config/cairn/config.toml
//      when XDG_CONFIG_HOME is unset or empty (or the file named by --config
//      or $CAIRN_CONFIG, which must then exist),
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

// Which config file to read. Only the default path may be absent: a path
// the user named (--config or $CAIRN_CONFIG) must exist. An empty path
// means no config file.
struct ConfigFile {
  std::string path;
  bool explicit_path = false;
};

// $CAIRN_CONFIG (explicit; empty for none), else
// $XDG_CONFIG_HOME/cairn/config.toml, else $HOME/.config/cairn/config.toml.
ConfigFile DefaultConfigFile();

// Reads the config file and then the environment. Fails with kNotFound
// when an explicit config file does not exist, kIo when it cannot be read,
// and kInvalidArgument, naming the line, when it is malformed.
Result<Settings> LoadSettings(const ConfigFile& config);

}  // namespace cairn::cli

#endif  // CAIRN_CLIENT_SRC_CLI_SETTINGS_H_
