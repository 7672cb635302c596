#include "transport/server_config.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <initializer_list>
#include <limits>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "cairn/whole_file.h"
#include "transport/listener.h"

namespace cairn::server {
namespace {

using Keys = std::initializer_list<std::string_view>;

// Reads typed values out of one TOML document and turns every problem into
// an Error that names the file, line and dotted key.
class ConfigReader {
 public:
  explicit ConfigReader(std::string_view source) : source_(source) {}

  Status CheckKeys(const toml::table& table, std::string_view section,
                   Keys allowed) const {
    for (const auto& [key, node] : table) {
      if (std::find(allowed.begin(), allowed.end(), key.str()) !=
          allowed.end()) {
        continue;
      }
      std::string valid;
      for (std::string_view name : allowed) {
        valid += valid.empty() ? "" : ", ";
        valid += name;
      }
      const std::string dotted = section.empty()
                                     ? std::string(key.str())
                                     : fmt::format("{}.{}", section, key.str());
      return Fail(node, dotted,
                  section.empty()
                      ? fmt::format("unknown section [{}]; valid sections are: "
                                    "{}",
                                    key.str(), valid)
                      : fmt::format("unknown key '{}'; valid keys in [{}] "
                                    "are: {}",
                                    dotted, section, valid));
    }
    return {};
  }

  // Returns the sub-table `name` of the root, or nullptr if absent.
  Result<const toml::table*> Section(const toml::table& root,
                                     std::string_view name) const {
    const toml::node* node = root.get(name);
    if (node == nullptr) return nullptr;
    if (!node->is_table()) {
      return Fail(*node, std::string(name),
                  fmt::format("[{}] must be a table (a section)", name));
    }
    return node->as_table();
  }

  Status String(const toml::table* t, std::string_view section,
                std::string_view key, std::string& out) const {
    const toml::node* node = Find(t, key);
    if (node == nullptr) return {};
    if (!node->is_string()) {
      return Fail(*node, Dotted(section, key), "expected a string");
    }
    out = node->as_string()->get();
    return {};
  }

  // A file or directory path; ResolvePaths makes it absolute afterwards,
  // with the paths left at their defaults.
  Status Path(const toml::table* t, std::string_view section,
              std::string_view key, std::string& out) const {
    return String(t, section, key, out);
  }

  Status Bool(const toml::table* t, std::string_view section,
              std::string_view key, bool& out) const {
    const toml::node* node = Find(t, key);
    if (node == nullptr) return {};
    if (!node->is_boolean()) {
      return Fail(*node, Dotted(section, key), "expected true or false");
    }
    out = node->as_boolean()->get();
    return {};
  }

  template <typename Int>
  Status Integer(const toml::table* t, std::string_view section,
                 std::string_view key, std::int64_t min, std::int64_t max,
                 Int& out) const {
    const toml::node* node = Find(t, key);
    if (node == nullptr) return {};
    if (!node->is_integer()) {
      return Fail(*node, Dotted(section, key), "expected an integer");
    }
    const std::int64_t value = node->as_integer()->get();
    if (value < min || value > max) {
      return Fail(*node, Dotted(section, key),
                  fmt::format("{} is out of range; expected {} to {}", value,
                              min, max));
    }
    out = static_cast<Int>(value);
    return {};
  }

  Status Number(const toml::table* t, std::string_view section,
                std::string_view key, double min, double& out) const {
    const toml::node* node = Find(t, key);
    if (node == nullptr) return {};
    std::optional<double> value;
    if (node->is_integer()) value = double(node->as_integer()->get());
    if (node->is_floating_point()) value = node->as_floating_point()->get();
    if (!value) return Fail(*node, Dotted(section, key), "expected a number");
    if (!std::isfinite(*value) || *value < min) {
      return Fail(*node, Dotted(section, key),
                  fmt::format("{} is out of range; expected a number >= {}",
                              *value, min));
    }
    out = *value;
    return {};
  }

  // A duration in seconds (integer or fractional), > 0 and at most a day.
  Status Seconds(const toml::table* t, std::string_view section,
                 std::string_view key, std::chrono::milliseconds& out) const {
    double seconds = -1;
    if (auto s = Number(t, section, key, 0.001, seconds); !s) return s;
    if (seconds < 0) return {};  // absent
    if (seconds > 86400) {
      return Fail(*Find(t, key), Dotted(section, key),
                  fmt::format("{} s is out of range; expected 0.001 to 86400",
                              seconds));
    }
    out = std::chrono::milliseconds(std::llround(seconds * 1000));
    return {};
  }

  Status StringArray(const toml::table* t, std::string_view section,
                     std::string_view key,
                     std::vector<std::string>& out) const {
    const toml::node* node = Find(t, key);
    if (node == nullptr) return {};
    const toml::array* array = node->as_array();
    if (array == nullptr) {
      return Fail(*node, Dotted(section, key),
                  "expected an array of strings, e.g. [\"127.0.0.1:8443\"]");
    }
    std::vector<std::string> values;
    for (const toml::node& element : *array) {
      if (!element.is_string()) {
        return Fail(element, Dotted(section, key),
                    "expected an array of strings, e.g. [\"127.0.0.1:8443\"]");
      }
      values.push_back(element.as_string()->get());
    }
    out = std::move(values);
    return {};
  }

 private:
  static const toml::node* Find(const toml::table* t, std::string_view key) {
    return t == nullptr ? nullptr : t->get(key);
  }

  static std::string Dotted(std::string_view section, std::string_view key) {
    return fmt::format("{}.{}", section, key);
  }

  tl::unexpected<Error> Fail(const toml::node& node, const std::string& key,
                             std::string_view problem) const {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("{}:{}: {}: {}; fix the configuration file (every key and "
                    "its default is documented in cairnd.example.toml)",
                    source_, node.source().begin.line, key, problem),
        key);
  }

  std::string_view source_;
};

// Resolves every relative path of `c` against `base_dir`, the ones written
// in the file and the built-in defaults alike ("data"): a default must not
// depend on the working directory either (/ under systemd). Empty paths
// ("none", or "inside store.data_dir") stay empty.
void ResolvePaths(const std::string& base_dir, HubConfig& c) {
  if (base_dir.empty()) return;
  for (std::string* path :
       {&c.transport.port_file, &c.transport.tls.cert_file,
        &c.transport.tls.key_file, &c.transport.tls.ca_file, &c.store.data_dir,
        &c.keys.dir, &c.log.file, &c.oprf.key_dir}) {
    if (!path->empty() && std::filesystem::path(*path).is_relative()) {
      *path = (std::filesystem::path(base_dir) / *path).lexically_normal();
    }
  }
}

Status ReadConfig(const toml::table& root, const ConfigReader& r,
                  HubConfig& c) {
  if (auto s =
          r.CheckKeys(root, "",
                      {"listen", "tls", "limits", "timeouts", "store", "audit",
                       "keys", "rate_limits", "log", "metrics", "oprf"});
      !s) {
    return s;
  }
  TransportConfig& tc = c.transport;
  // Each block: fetch the section, reject unknown keys, read known ones.
#define CAIRN_TRY(expr)          \
  do {                           \
    if (auto s_ = (expr); !s_) { \
      return s_;                 \
    }                            \
  } while (false)
#define CAIRN_SECTION(var, name)               \
  const toml::table* var = nullptr;            \
  do {                                         \
    auto section_ = r.Section(root, name);     \
    if (!section_) {                           \
      return tl::unexpected(section_.error()); \
    }                                          \
    (var) = *section_;                         \
  } while (false)

  CAIRN_SECTION(listen, "listen");
  if (listen != nullptr) {
    CAIRN_TRY(r.CheckKeys(*listen, "listen",
                          {"addresses", "port_file", "io_threads"}));
    CAIRN_TRY(
        r.StringArray(listen, "listen", "addresses", tc.listen_addresses));
    CAIRN_TRY(r.Path(listen, "listen", "port_file", tc.port_file));
    CAIRN_TRY(
        r.Integer(listen, "listen", "io_threads", 0, 1024, tc.io_threads));
  }
  CAIRN_SECTION(tls, "tls");
  if (tls != nullptr) {
    CAIRN_TRY(r.CheckKeys(*tls, "tls", {"cert", "key", "ca", "allow_tls12"}));
    CAIRN_TRY(r.Path(tls, "tls", "cert", tc.tls.cert_file));
    CAIRN_TRY(r.Path(tls, "tls", "key", tc.tls.key_file));
    CAIRN_TRY(r.Path(tls, "tls", "ca", tc.tls.ca_file));
    CAIRN_TRY(r.Bool(tls, "tls", "allow_tls12", tc.tls.allow_tls12));
  }
  CAIRN_SECTION(limits, "limits");
  if (limits != nullptr) {
    CAIRN_TRY(r.CheckKeys(*limits, "limits",
                          {"header_bytes", "body_bytes", "max_batch",
                           "max_connections", "max_connections_per_member",
                           "max_handshakes", "max_handshakes_per_address"}));
    CAIRN_TRY(r.Integer(limits, "limits", "header_bytes", 1024, 1 << 20,
                        tc.limits.header_bytes));
    CAIRN_TRY(r.Integer(limits, "limits", "body_bytes", 1,
                        std::int64_t{1} << 32, tc.limits.body_bytes));
    CAIRN_TRY(r.Integer(limits, "limits", "max_batch", 1, 10'000,
                        tc.limits.max_batch));
    CAIRN_TRY(r.Integer(limits, "limits", "max_connections", 1, 1'000'000,
                        tc.limits.max_connections));
    CAIRN_TRY(r.Integer(limits, "limits", "max_connections_per_member", 1,
                        1'000'000, tc.limits.max_connections_per_member));
    CAIRN_TRY(r.Integer(limits, "limits", "max_handshakes", 1, 1'000'000,
                        tc.limits.max_handshakes));
    CAIRN_TRY(r.Integer(limits, "limits", "max_handshakes_per_address", 1,
                        1'000'000, tc.limits.max_handshakes_per_address));
  }
  CAIRN_SECTION(timeouts, "timeouts");
  if (timeouts != nullptr) {
    TimeoutsConfig& t = tc.timeouts;
    CAIRN_TRY(
        r.CheckKeys(*timeouts, "timeouts",
                    {"handshake_seconds", "header_seconds", "body_seconds",
                     "idle_seconds", "write_seconds", "drain_seconds"}));
    CAIRN_TRY(
        r.Seconds(timeouts, "timeouts", "handshake_seconds", t.handshake));
    CAIRN_TRY(r.Seconds(timeouts, "timeouts", "header_seconds", t.header_read));
    CAIRN_TRY(r.Seconds(timeouts, "timeouts", "body_seconds", t.body_read));
    CAIRN_TRY(r.Seconds(timeouts, "timeouts", "idle_seconds", t.idle));
    CAIRN_TRY(r.Seconds(timeouts, "timeouts", "write_seconds", t.write));
    CAIRN_TRY(r.Seconds(timeouts, "timeouts", "drain_seconds", t.drain));
  }
  CAIRN_SECTION(store, "store");
  if (store != nullptr) {
    CAIRN_TRY(r.CheckKeys(
        *store, "store",
        {"data_dir", "max_retention_days", "default_retention_days",
         "tombstone_days", "match_retention_days", "disposition_retention_days",
         "notification_retention_days", "wal_checkpoint_pages",
         "match_reuse_seconds", "match_reuse_entries"}));
    CAIRN_TRY(r.Integer(store, "store", "wal_checkpoint_pages", 0, 1'000'000,
                        c.store.wal_checkpoint_pages));
    CAIRN_TRY(r.Integer(store, "store", "match_reuse_seconds", 0, 31'536'000,
                        c.store.match_reuse_seconds));
    CAIRN_TRY(r.Integer(store, "store", "match_reuse_entries", 1, 100'000'000,
                        c.store.match_reuse_entries));
    CAIRN_TRY(r.Integer(store, "store", "tombstone_days", 0, 36500,
                        c.store.tombstone_days));
    CAIRN_TRY(r.Integer(store, "store", "match_retention_days", 1, 36500,
                        c.store.match_retention_days));
    CAIRN_TRY(r.Integer(store, "store", "disposition_retention_days", 1, 36500,
                        c.store.disposition_retention_days));
    CAIRN_TRY(r.Integer(store, "store", "notification_retention_days", 1, 36500,
                        c.store.notification_retention_days));
    CAIRN_TRY(r.Path(store, "store", "data_dir", c.store.data_dir));
    CAIRN_TRY(r.Integer(store, "store", "max_retention_days", 1, 36500,
                        c.store.max_retention_days));
    CAIRN_TRY(r.Integer(store, "store", "default_retention_days", 1, 36500,
                        c.store.default_retention_days));
  }
  CAIRN_SECTION(audit, "audit");
  if (audit != nullptr) {
    CAIRN_TRY(r.CheckKeys(
        *audit, "audit",
        {"checkpoint_every_entries", "checkpoint_interval_seconds"}));
    CAIRN_TRY(r.Integer(audit, "audit", "checkpoint_every_entries", 1,
                        100'000'000, c.audit.checkpoint_every_entries));
    std::int64_t interval = c.audit.checkpoint_interval.count();
    CAIRN_TRY(r.Integer(audit, "audit", "checkpoint_interval_seconds", 1,
                        366 * 86400, interval));
    c.audit.checkpoint_interval = std::chrono::seconds(interval);
  }
  CAIRN_SECTION(keys, "keys");
  if (keys != nullptr) {
    CAIRN_TRY(r.CheckKeys(*keys, "keys", {"dir"}));
    CAIRN_TRY(r.Path(keys, "keys", "dir", c.keys.dir));
  }
  CAIRN_SECTION(rate, "rate_limits");
  if (rate != nullptr) {
    CAIRN_TRY(r.CheckKeys(
        *rate, "rate_limits",
        {"requests_per_second", "items_per_second", "burst_seconds"}));
    CAIRN_TRY(r.Number(rate, "rate_limits", "requests_per_second", 0.001,
                       c.rate_limits.requests_per_second));
    CAIRN_TRY(r.Number(rate, "rate_limits", "items_per_second", 0.001,
                       c.rate_limits.items_per_second));
    CAIRN_TRY(r.Number(rate, "rate_limits", "burst_seconds", 0.001,
                       c.rate_limits.burst_seconds));
  }
  CAIRN_SECTION(log, "log");
  if (log != nullptr) {
    CAIRN_TRY(r.CheckKeys(*log, "log",
                          {"level", "file", "client_error_lines_per_member",
                           "client_error_window_seconds"}));
    CAIRN_TRY(r.String(log, "log", "level", c.log.level));
    CAIRN_TRY(r.Path(log, "log", "file", c.log.file));
    CAIRN_TRY(r.Integer(log, "log", "client_error_lines_per_member", 0,
                        1'000'000, c.log.client_error_lines_per_member));
    CAIRN_TRY(r.Integer(log, "log", "client_error_window_seconds", 1, 86'400,
                        c.log.client_error_window_seconds));
  }
  CAIRN_SECTION(metrics, "metrics");
  if (metrics != nullptr) {
    CAIRN_TRY(r.CheckKeys(*metrics, "metrics", {"loopback_listen"}));
    CAIRN_TRY(
        r.String(metrics, "metrics", "loopback_listen", tc.metrics_listen));
  }
  CAIRN_SECTION(oprf, "oprf");
  if (oprf != nullptr) {
    CAIRN_TRY(r.CheckKeys(*oprf, "oprf",
                          {"enabled", "key_dir", "elements_per_member_per_day",
                           "accept_hmac_v1", "threads"}));
    CAIRN_TRY(r.Bool(oprf, "oprf", "enabled", c.oprf.enabled));
    CAIRN_TRY(r.Path(oprf, "oprf", "key_dir", c.oprf.key_dir));
    CAIRN_TRY(r.Integer(oprf, "oprf", "elements_per_member_per_day", 1,
                        std::int64_t{1} << 40,
                        c.oprf.elements_per_member_per_day));
    CAIRN_TRY(r.Bool(oprf, "oprf", "accept_hmac_v1", c.oprf.accept_hmac_v1));
    CAIRN_TRY(r.Integer(oprf, "oprf", "threads", 1, 256, c.oprf.threads));
  }
#undef CAIRN_SECTION
#undef CAIRN_TRY
  return {};
}

tl::unexpected<Error> Invalid(std::string field, std::string message) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(message),
                   std::move(field));
}

}  // namespace

Result<HubConfig> ParseHubConfig(std::string_view toml_text,
                                 std::string_view source_name,
                                 const std::string& base_dir) {
  toml::table root;
  try {
    root = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("{}:{}:{}: not valid TOML: {}; fix the syntax",
                                 source_name, e.source().begin.line,
                                 e.source().begin.column, e.description()));
  }
  HubConfig config;
  ConfigReader reader(source_name);
  if (auto s = ReadConfig(root, reader, config); !s) {
    return tl::unexpected(s.error());
  }
  ResolvePaths(base_dir, config);
  return config;
}

Result<HubConfig> LoadHubConfig(const std::string& path) {
  auto text = ReadWholeFile(path, "configuration file",
                            "check the path given with --config");
  if (!text) return tl::unexpected(text.error());
  // Absolute, so that the paths in messages ("no hub database at ...") and
  // in the advice they give name the place whatever the working directory.
  // A bare file name ("cairnd.toml", cairnd's default) has no parent
  // path, and absolute("") is an error: its directory is the working one.
  std::error_code ec;
  const std::filesystem::path parent =
      std::filesystem::path(path).parent_path();
  const std::filesystem::path base_dir =
      parent.empty() ? std::filesystem::current_path(ec)
                     : std::filesystem::absolute(parent, ec);
  if (ec) {
    return MakeError(ErrorCode::kIo,
                     fmt::format("cannot resolve the directory of the "
                                 "configuration file '{}': {}; pass --config "
                                 "as an absolute path",
                                 path, ec.message()));
  }
  return ParseHubConfig(*text, path, base_dir.lexically_normal().string());
}

Status ValidateTransportConfig(const TransportConfig& c) {
  if (c.listen_addresses.empty()) {
    return Invalid("listen.addresses",
                   "listen.addresses is empty; give at least one address, "
                   "e.g. [\"127.0.0.1:8443\"]");
  }
  for (const std::string& address : c.listen_addresses) {
    if (auto endpoint = ParseListenAddress(address); !endpoint) {
      return Invalid("listen.addresses", endpoint.error().message);
    }
  }
  if (!c.metrics_listen.empty()) {
    auto endpoint = ParseListenAddress(c.metrics_listen);
    if (!endpoint)
      return Invalid("metrics.loopback_listen", endpoint.error().message);
    if (!endpoint->address().is_loopback()) {
      return Invalid("metrics.loopback_listen",
                     fmt::format("metrics.loopback_listen '{}' is not a "
                                 "loopback address; the plain-HTTP metrics "
                                 "listener is unauthenticated, so use "
                                 "127.0.0.1 or [::1]",
                                 c.metrics_listen));
    }
  }
  const std::pair<const char*, const std::string*> files[] = {
      {"tls.cert", &c.tls.cert_file},
      {"tls.key", &c.tls.key_file},
      {"tls.ca", &c.tls.ca_file}};
  for (const auto& [key, value] : files) {
    if (value->empty()) {
      return Invalid(key, fmt::format("{} is not set; give the PEM file "
                                      "(see certs/make-dev-pki.sh for a "
                                      "development PKI)",
                                      key));
    }
  }
  if (c.limits.header_bytes == 0 || c.limits.body_bytes == 0 ||
      c.limits.max_connections == 0 ||
      c.limits.max_connections_per_member == 0 ||
      c.limits.max_handshakes == 0 ||
      c.limits.max_handshakes_per_address == 0) {
    return Invalid("limits", "every value in [limits] must be positive");
  }
  return {};
}

Status ValidateHubConfig(const HubConfig& config) {
  if (auto s = ValidateTransportConfig(config.transport); !s) return s;
  if (!config.oprf.enabled && !config.oprf.accept_hmac_v1) {
    return Invalid("oprf.accept_hmac_v1",
                   "oprf.accept_hmac_v1 = false with oprf.enabled = false "
                   "would accept no token scheme at all; set oprf.enabled = "
                   "true or accept_hmac_v1 = true");
  }
  if (config.store.default_retention_days > config.store.max_retention_days) {
    return Invalid("store.default_retention_days",
                   fmt::format("store.default_retention_days ({}) exceeds "
                               "store.max_retention_days ({}); lower the "
                               "default or raise the maximum",
                               config.store.default_retention_days,
                               config.store.max_retention_days));
  }
  // A match handed out again after the hourly purge deleted it would name
  // nothing: its disposition refused, its retraction notice never sent.
  if (std::int64_t{config.store.match_reuse_seconds} >=
      std::int64_t{config.store.match_retention_days} * 86400) {
    return Invalid(
        "store.match_reuse_seconds",
        fmt::format("store.match_reuse_seconds ({}) is not shorter than "
                    "store.match_retention_days ({} days = {} s): a reused "
                    "match could already have been purged; lower "
                    "match_reuse_seconds or raise match_retention_days",
                    config.store.match_reuse_seconds,
                    config.store.match_retention_days,
                    std::int64_t{config.store.match_retention_days} * 86400));
  }
  if (config.store.data_dir.empty()) {
    return Invalid("store.data_dir",
                   "store.data_dir is empty; give the "
                   "directory that holds the database");
  }
  static constexpr std::string_view kLevels[] = {
      "trace", "debug", "info", "warn", "error", "critical", "off"};
  if (std::find(std::begin(kLevels), std::end(kLevels), config.log.level) ==
      std::end(kLevels)) {
    return Invalid("log.level",
                   fmt::format("log.level '{}' is unknown; use one of trace, "
                               "debug, info, warn, error, critical, off",
                               config.log.level));
  }
  return {};
}

}  // namespace cairn::server
