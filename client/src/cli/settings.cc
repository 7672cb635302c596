#include "src/cli/settings.h"

#include <cstdlib>
#include <filesystem>
#include <utility>

#include <fmt/format.h>

#include <toml++/toml.h>

namespace cairn::cli {
namespace {

void FromEnv(const char* name, std::string* out) {
  const char* value = std::getenv(name);
  if (value != nullptr && *value != '\0') *out = value;
}

Status ReadStringList(const toml::table& table, std::string_view key,
                      const std::string& path, std::vector<std::string>* out) {
  const toml::node* node = table.get(key);
  if (node == nullptr) return {};
  const toml::array* array = node->as_array();
  if (array == nullptr) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("{}: '{}' must be an array of strings, e.g. "
                                 "{} = [\"a\", \"b\"]",
                                 path, key, key));
  }
  for (const toml::node& item : *array) {
    const auto value = item.value<std::string>();
    if (!value) {
      return MakeError(
          ErrorCode::kInvalidArgument,
          fmt::format("{}: '{}' must contain only strings", path, key));
    }
    out->push_back(*value);
  }
  return {};
}

}  // namespace

ConfigFile DefaultConfigFile() {
  // Set but empty means "no config file", which keeps scripts and tests
  // independent of whatever the user's home holds.
  if (const char* explicit_path = std::getenv("CAIRN_CONFIG")) {
    return {explicit_path, true};
  }
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg) {
    return {std::string(xdg) + "/cairn/config.toml", false};
  }
  if (const char* home = std::getenv("HOME"); home && *home) {
    return {std::string(home) + "/.config/cairn/config.toml", false};
  }
  return {};
}

Result<Settings> LoadSettings(const ConfigFile& config) {
  Settings settings;
  const std::string& config_path = config.path;
  std::error_code ec;
  const bool exists =
      !config_path.empty() && std::filesystem::exists(config_path, ec);
  if (config.explicit_path && !config_path.empty() && !exists) {
    // Silently running without the named file would send requests with
    // settings the user did not mean (or fail later with a vaguer message).
    return MakeError(
        ec ? ErrorCode::kIo : ErrorCode::kNotFound,
        fmt::format(
            "config file {} {}; fix the path given by --config or "
            "CAIRN_CONFIG (set it empty to use no config file)",
            config_path,
            ec ? "cannot be checked: " + ec.message() : "does not exist"));
  }
  if (exists && !std::filesystem::is_regular_file(config_path, ec)) {
    return MakeError(ErrorCode::kIo,
                     fmt::format("cannot read config file {}: not a regular "
                                 "file; point --config or CAIRN_CONFIG at the "
                                 "file",
                                 config_path));
  }
  if (exists) {
    toml::table table;
    try {
      table = toml::parse_file(config_path);
    } catch (const toml::parse_error& e) {
      // toml++ reports a file it cannot open as a parse error at line 0.
      if (e.source().begin.line == 0) {
        return MakeError(
            ErrorCode::kIo,
            fmt::format("cannot read config file {}: {}; check its "
                        "permissions or point CAIRN_CONFIG elsewhere",
                        config_path, e.description()));
      }
      return MakeError(
          ErrorCode::kInvalidArgument,
          fmt::format("{}:{}: {}; fix the config file or point CAIRN_CONFIG "
                      "elsewhere",
                      config_path, e.source().begin.line, e.description()));
    }
    const std::pair<std::string_view, std::string*> strings[] = {
        {"hub", &settings.hub},
        {"cert", &settings.cert},
        {"key", &settings.key},
        {"cacert", &settings.cacert},
        {"consortium_key", &settings.consortium_key},
        {"region", &settings.region},
        {"hub_pin", &settings.hub_pin},
    };
    for (const auto& [key, node] : table) {
      bool known =
          key.str() == "handle_services" || key.str() == "custom_kinds";
      for (const auto& [name, out] : strings) {
        if (key.str() != name) continue;
        known = true;
        const auto value = node.value<std::string>();
        if (!value) {
          return MakeError(
              ErrorCode::kInvalidArgument,
              fmt::format("{}: '{}' must be a string", config_path, name));
        }
        *out = *value;
      }
      if (!known) {
        return MakeError(
            ErrorCode::kInvalidArgument,
            fmt::format("{}: unknown key '{}'; known keys are hub, cert, key, "
                        "cacert, consortium_key, region, hub_pin, "
                        "handle_services, custom_kinds",
                        config_path, key.str()));
      }
    }
    if (auto s = ReadStringList(table, "handle_services", config_path,
                                &settings.handle_services);
        !s) {
      return tl::unexpected(s.error());
    }
    if (auto s = ReadStringList(table, "custom_kinds", config_path,
                                &settings.custom_kinds);
        !s) {
      return tl::unexpected(s.error());
    }
  }
  FromEnv("CAIRN_HUB", &settings.hub);
  FromEnv("CAIRN_CERT", &settings.cert);
  FromEnv("CAIRN_KEY", &settings.key);
  FromEnv("CAIRN_CACERT", &settings.cacert);
  FromEnv("CAIRN_CONSORTIUM_KEY", &settings.consortium_key);
  FromEnv("CAIRN_REGION", &settings.region);
  FromEnv("CAIRN_HUB_PIN", &settings.hub_pin);
  return settings;
}

}  // namespace cairn::cli
