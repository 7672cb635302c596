// cairnd.toml loading: defaults, overrides, the example file, and tables of
// bad input that must fail naming the key.
#include "transport/server_config.h"

#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>

#include "support/process.h"

namespace cairn::server {
namespace {

using namespace std::chrono_literals;

// Fills the required TLS keys so that validation passes.
constexpr char kTls[] =
    "[tls]\ncert = \"s.crt\"\nkey = \"s.key\"\nca = \"ca.crt\"\n";

TEST_CASE("an empty file gives the documented defaults") {
  auto config = ParseHubConfig("", "empty.toml");
  REQUIRE(config.has_value());
  const TransportConfig& t = config->transport;
  CHECK(t.listen_addresses == std::vector<std::string>{"127.0.0.1:8443"});
  CHECK(t.io_threads == 0);
  CHECK(t.port_file.empty());
  CHECK(t.metrics_listen.empty());
  CHECK_FALSE(t.tls.allow_tls12);
  CHECK(t.limits.header_bytes == 16384);
  CHECK(t.limits.body_bytes == 4194304);
  CHECK(t.limits.max_connections == 1024);
  CHECK(t.limits.max_connections_per_member == 64);
  CHECK(t.limits.max_handshakes == 256);
  CHECK(t.limits.max_handshakes_per_address == 16);
  CHECK(t.timeouts.handshake == 5s);
  CHECK(t.timeouts.header_read == 10s);
  CHECK(t.timeouts.body_read == 30s);
  CHECK(t.timeouts.idle == 60s);
  CHECK(t.timeouts.write == 30s);
  CHECK(t.timeouts.drain == 10s);
  CHECK(config->store.data_dir == "data");
  CHECK(config->store.max_retention_days == 730);
  CHECK(config->store.default_retention_days == 365);
  CHECK(config->rate_limits.requests_per_second == 200);
  CHECK(config->rate_limits.items_per_second == 200000);
  CHECK(config->rate_limits.burst_seconds == 2);
  CHECK(config->log.level == "info");
  CHECK(config->log.file.empty());
  CHECK(config->log.client_error_lines_per_member == 20);
  CHECK(config->log.client_error_window_seconds == 10);
  // Without TLS files the hub cannot start, and says which key is missing.
  const Status valid = ValidateHubConfig(*config);
  REQUIRE_FALSE(valid.has_value());
  CHECK(valid.error().field == "tls.cert");
}

TEST_CASE("every key overrides its default") {
  const std::string text = std::string(kTls) + R"(
allow_tls12 = true
[listen]
addresses = ["127.0.0.1:0", "[::1]:9443"]
port_file = "ports.txt"
io_threads = 3
[limits]
header_bytes = 8192
body_bytes = 1048576
max_connections = 10
max_connections_per_member = 2
max_handshakes = 7
max_handshakes_per_address = 3
[timeouts]
handshake_seconds = 1
header_seconds = 2
body_seconds = 3
idle_seconds = 0.5
write_seconds = 5
drain_seconds = 6
[store]
data_dir = "/var/lib/cairn"
max_retention_days = 400
default_retention_days = 100
match_reuse_seconds = 86400
match_reuse_entries = 5000
[rate_limits]
requests_per_second = 10
items_per_second = 1000.5
burst_seconds = 3
[log]
level = "debug"
file = "/var/log/cairnd.log"
client_error_lines_per_member = 0
client_error_window_seconds = 60
[metrics]
loopback_listen = "127.0.0.1:9464"
)";
  auto config = ParseHubConfig(text, "full.toml", "/etc/cairn");
  REQUIRE(config.has_value());
  const TransportConfig& t = config->transport;
  CHECK(t.listen_addresses ==
        std::vector<std::string>{"127.0.0.1:0", "[::1]:9443"});
  CHECK(t.port_file == "/etc/cairn/ports.txt");
  CHECK(t.io_threads == 3);
  CHECK(t.tls.cert_file == "/etc/cairn/s.crt");
  CHECK(t.tls.key_file == "/etc/cairn/s.key");
  CHECK(t.tls.ca_file == "/etc/cairn/ca.crt");
  CHECK(t.tls.allow_tls12);
  CHECK(t.limits.header_bytes == 8192);
  CHECK(t.limits.body_bytes == 1048576);
  CHECK(t.limits.max_connections == 10);
  CHECK(t.limits.max_connections_per_member == 2);
  CHECK(t.limits.max_handshakes == 7);
  CHECK(t.limits.max_handshakes_per_address == 3);
  CHECK(t.timeouts.handshake == 1s);
  CHECK(t.timeouts.header_read == 2s);
  CHECK(t.timeouts.body_read == 3s);
  CHECK(t.timeouts.idle == 500ms);
  CHECK(t.timeouts.write == 5s);
  CHECK(t.timeouts.drain == 6s);
  CHECK(t.metrics_listen == "127.0.0.1:9464");
  CHECK(config->store.data_dir == "/var/lib/cairn");
  CHECK(config->store.max_retention_days == 400);
  CHECK(config->store.default_retention_days == 100);
  CHECK(config->store.match_reuse_seconds == 86400);
  CHECK(config->store.match_reuse_entries == 5000);
  CHECK(config->rate_limits.requests_per_second == 10);
  CHECK(config->rate_limits.items_per_second == 1000.5);
  CHECK(config->rate_limits.burst_seconds == 3);
  CHECK(config->log.level == "debug");
  CHECK(config->log.file == "/var/log/cairnd.log");
  CHECK(config->log.client_error_lines_per_member == 0);
  CHECK(config->log.client_error_window_seconds == 60);
  CHECK(ValidateHubConfig(*config).has_value());
}

TEST_CASE("the example config parses and documents the defaults") {
  const std::string path =
      std::string(CAIRN_SOURCE_DIR) + "/server/cairnd.example.toml";
  auto example = LoadHubConfig(path);
  REQUIRE(example.has_value());
  CHECK(ValidateHubConfig(*example).has_value());
  const HubConfig defaults;
  const TransportConfig& e = example->transport;
  const TransportConfig& d = defaults.transport;
  CHECK(e.listen_addresses == d.listen_addresses);
  CHECK(e.port_file == d.port_file);
  CHECK(e.io_threads == d.io_threads);
  CHECK(e.metrics_listen == d.metrics_listen);
  CHECK(e.tls.allow_tls12 == d.tls.allow_tls12);
  CHECK(e.tls.cert_file.ends_with("/server/pki/server.crt"));
  CHECK(e.limits.header_bytes == d.limits.header_bytes);
  CHECK(e.limits.body_bytes == d.limits.body_bytes);
  CHECK(e.limits.max_connections == d.limits.max_connections);
  CHECK(e.limits.max_connections_per_member ==
        d.limits.max_connections_per_member);
  CHECK(e.limits.max_handshakes == d.limits.max_handshakes);
  CHECK(e.limits.max_handshakes_per_address ==
        d.limits.max_handshakes_per_address);
  CHECK(e.timeouts.handshake == d.timeouts.handshake);
  CHECK(e.timeouts.header_read == d.timeouts.header_read);
  CHECK(e.timeouts.body_read == d.timeouts.body_read);
  CHECK(e.timeouts.idle == d.timeouts.idle);
  CHECK(e.timeouts.write == d.timeouts.write);
  CHECK(e.timeouts.drain == d.timeouts.drain);
  CHECK(example->store.data_dir.ends_with("/server/data"));
  CHECK(example->store.max_retention_days == defaults.store.max_retention_days);
  CHECK(example->store.default_retention_days ==
        defaults.store.default_retention_days);
  CHECK(example->store.match_reuse_seconds ==
        defaults.store.match_reuse_seconds);
  CHECK(example->store.match_reuse_entries ==
        defaults.store.match_reuse_entries);
  CHECK(example->rate_limits.requests_per_second ==
        defaults.rate_limits.requests_per_second);
  CHECK(example->rate_limits.items_per_second ==
        defaults.rate_limits.items_per_second);
  CHECK(example->rate_limits.burst_seconds ==
        defaults.rate_limits.burst_seconds);
  CHECK(example->log.level == defaults.log.level);
  CHECK(example->log.file == defaults.log.file);
  CHECK(example->log.client_error_lines_per_member ==
        defaults.log.client_error_lines_per_member);
  CHECK(example->log.client_error_window_seconds ==
        defaults.log.client_error_window_seconds);
}

TEST_CASE(
    "LoadHubConfig resolves relative paths against the file's "
    "directory and reports a missing file") {
  cairn::testing::TempDir dir;
  std::ofstream(dir.File("cairnd.toml"))
      << kTls << "[store]\ndata_dir = \"db\"\n";
  auto config = LoadHubConfig(dir.File("cairnd.toml"));
  REQUIRE(config.has_value());
  CHECK(config->transport.tls.ca_file == dir.File("ca.crt"));
  CHECK(config->store.data_dir == dir.File("db"));

  auto missing = LoadHubConfig(dir.File("nope.toml"));
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().message.find("nope.toml") != std::string::npos);
}

// One path key: what the file says (nothing: its default) and where
// LoadHubConfig must put it, relative to the file's directory ("" = stays
// empty, an absolute value = as written).
struct PathCase {
  const char* what;
  const char* toml;
  std::string (*get)(const HubConfig&);
  const char* expected;
};

TEST_CASE(
    "paths written relative and paths left at a relative default both "
    "resolve against the file's directory, made absolute") {
  cairn::testing::TempDir dir;
  std::filesystem::create_directories(dir.File("etc"));
  const std::string base = dir.File("etc");
  using C = const HubConfig&;
  const PathCase cases[] = {
      {"store.data_dir default", "", [](C c) { return c.store.data_dir; },
       "data"},
      {"store.data_dir written relative", "[store]\ndata_dir = \"db\"\n",
       [](C c) { return c.store.data_dir; }, "db"},
      {"store.data_dir written with ..", "[store]\ndata_dir = \"../var/db\"\n",
       [](C c) { return c.store.data_dir; }, "../var/db"},
      {"store.data_dir written absolute",
       "[store]\ndata_dir = \"/srv/cairn/data\"\n",
       [](C c) { return c.store.data_dir; }, "/srv/cairn/data"},
      {"tls.ca written relative", "",
       [](C c) { return c.transport.tls.ca_file; }, "ca.crt"},
      {"keys.dir default (inside store.data_dir)", "",
       [](C c) { return c.keys.dir; }, ""},
      {"keys.dir written relative", "[keys]\ndir = \"k\"\n",
       [](C c) { return c.keys.dir; }, "k"},
      {"oprf.key_dir written relative", "[oprf]\nkey_dir = \"o\"\n",
       [](C c) { return c.oprf.key_dir; }, "o"},
      {"log.file written relative", "[log]\nfile = \"hub.log\"\n",
       [](C c) { return c.log.file; }, "hub.log"},
      {"log.file default (stderr)", "", [](C c) { return c.log.file; }, ""},
      {"listen.port_file written relative", "[listen]\nport_file = \"ports\"\n",
       [](C c) { return c.transport.port_file; }, "ports"},
  };
  // The file named by an absolute path and by one relative to the working
  // directory: either way the paths come out absolute.
  const std::string file = dir.File("etc/cairnd.toml");
  const std::string relative_file = std::filesystem::relative(file).string();
  REQUIRE(std::filesystem::path(relative_file).is_relative());
  for (const PathCase& c : cases) {
    CAPTURE(c.what);
    std::ofstream(file, std::ios::trunc) << kTls << c.toml;
    const std::string expected =
        std::string(c.expected).empty() ? std::string()
        : std::filesystem::path(c.expected).is_absolute()
            ? std::string(c.expected)
            : (std::filesystem::path(base) / c.expected)
                  .lexically_normal()
                  .string();
    for (const std::string& name : {file, relative_file}) {
      CAPTURE(name);
      auto config = LoadHubConfig(name);
      REQUIRE(config.has_value());
      CHECK(c.get(*config) == expected);
    }
  }
}

TEST_CASE(
    "a configuration named by its bare file name (cairnd's default) "
    "resolves against the working directory") {
  cairn::testing::TempDir dir;
  std::filesystem::create_directories(dir.File("etc"));
  std::ofstream(dir.File("etc/cairnd.toml")) << kTls;
  // The working directory is the process's: put it back whatever happens.
  struct Chdir {
    std::filesystem::path old = std::filesystem::current_path();
    explicit Chdir(const std::filesystem::path& to) {
      std::filesystem::current_path(to);
    }
    ~Chdir() { std::filesystem::current_path(old); }
  } in(dir.File("etc"));
  auto config = LoadHubConfig("cairnd.toml");
  REQUIRE(config.has_value());
  CHECK(config->store.data_dir ==
        (std::filesystem::path(dir.File("etc")) / "data")
            .lexically_normal()
            .string());
}

struct BadCase {
  const char* toml;
  const char* field;         // Error::field, "" if none
  const char* message_part;  // must appear in the message
};

TEST_CASE("unknown sections and keys fail naming the key") {
  const BadCase cases[] = {
      {"[limits]\nbody_byte = 5\n", "limits.body_byte", "unknown key"},
      {"[tls]\ncertificate = \"x\"\n", "tls.certificate", "valid keys"},
      {"[listen]\naddress = [\"127.0.0.1:1\"]\n", "listen.address",
       "addresses"},
      {"[timeout]\nidle_seconds = 1\n", "timeout", "unknown section"},
      {"level = \"info\"\n", "level", "unknown section"},
      {"[log]\nlevel = \"info\"\nfiel = \"x\"\n", "log.fiel", "bad.toml:3:"},
      {"[rate_limits]\nburst = 5\n", "rate_limits.burst", "burst_seconds"},
      {"[metrics]\nlisten = \"127.0.0.1:1\"\n", "metrics.listen",
       "loopback_listen"},
  };
  for (const BadCase& c : cases) {
    CAPTURE(c.toml);
    auto config = ParseHubConfig(c.toml, "bad.toml");
    REQUIRE_FALSE(config.has_value());
    CAPTURE(config.error().message);
    CHECK(config.error().field == c.field);
    CHECK(config.error().message.find(c.message_part) != std::string::npos);
    CHECK(config.error().message.find("bad.toml") != std::string::npos);
  }
}

TEST_CASE("bad values fail with a message naming the key") {
  const BadCase cases[] = {
      {"[limits]\nbody_bytes = \"4MB\"\n", "limits.body_bytes",
       "expected an integer"},
      {"[limits]\nbody_bytes = 0\n", "limits.body_bytes", "out of range"},
      {"[limits]\nheader_bytes = -1\n", "limits.header_bytes", "out of range"},
      {"[limits]\nmax_connections = 1.5\n", "limits.max_connections",
       "integer"},
      {"[limits]\nmax_handshakes = 0\n", "limits.max_handshakes",
       "out of range"},
      {"[limits]\nmax_handshakes_per_address = 0\n",
       "limits.max_handshakes_per_address", "out of range"},
      {"[timeouts]\nidle_seconds = 0\n", "timeouts.idle_seconds",
       "out of range"},
      {"[timeouts]\nidle_seconds = -3\n", "timeouts.idle_seconds",
       "out of range"},
      {"[timeouts]\nwrite_seconds = \"30s\"\n", "timeouts.write_seconds",
       "expected a number"},
      {"[timeouts]\ndrain_seconds = 100000\n", "timeouts.drain_seconds",
       "out of range"},
      {"[tls]\nallow_tls12 = \"yes\"\n", "tls.allow_tls12", "true or false"},
      {"[tls]\ncert = 5\n", "tls.cert", "expected a string"},
      {"[listen]\naddresses = \"127.0.0.1:8443\"\n", "listen.addresses",
       "array of strings"},
      {"[listen]\naddresses = [8443]\n", "listen.addresses",
       "array of strings"},
      {"[listen]\nio_threads = -1\n", "listen.io_threads", "out of range"},
      {"[store]\nmax_retention_days = 0\n", "store.max_retention_days",
       "out of range"},
      {"[store]\nmatch_reuse_seconds = -1\n", "store.match_reuse_seconds",
       "out of range"},
      {"[store]\nmatch_reuse_entries = 0\n", "store.match_reuse_entries",
       "out of range"},
      {"[rate_limits]\nrequests_per_second = 0\n",
       "rate_limits.requests_per_second", "out of range"},
      {"[rate_limits]\nitems_per_second = nan\n",
       "rate_limits.items_per_second", "out of range"},
      {"[log]\nclient_error_window_seconds = 0\n",
       "log.client_error_window_seconds", "out of range"},
      {"[log]\nclient_error_lines_per_member = -1\n",
       "log.client_error_lines_per_member", "out of range"},
      {"tls = 5\n", "tls", "must be a table"},
      {"[limits\nbody_bytes = 1\n", "", "not valid TOML"},
      {"[store]\ndata_dir = \"a\"\ndata_dir = \"b\"\n", "", "not valid TOML"},
  };
  for (const BadCase& c : cases) {
    CAPTURE(c.toml);
    auto config = ParseHubConfig(c.toml, "bad.toml");
    REQUIRE_FALSE(config.has_value());
    CAPTURE(config.error().message);
    CHECK(config.error().code == ErrorCode::kInvalidArgument);
    CHECK(config.error().field == c.field);
    CHECK(config.error().message.find(c.message_part) != std::string::npos);
  }
}

TEST_CASE("validation rejects configurations the hub cannot start with") {
  const BadCase cases[] = {
      {"[listen]\naddresses = []\n", "listen.addresses", "at least one"},
      {"[listen]\naddresses = [\"localhost:8443\"]\n", "listen.addresses",
       "no valid IP address"},
      {"[listen]\naddresses = [\"127.0.0.1\"]\n", "listen.addresses",
       "no port"},
      {"[listen]\naddresses = [\"127.0.0.1:70000\"]\n", "listen.addresses",
       "no valid port"},
      {"[listen]\naddresses = [\"::1:8443\"]\n", "listen.addresses",
       "brackets"},
      {"[metrics]\nloopback_listen = \"0.0.0.0:9464\"\n",
       "metrics.loopback_listen", "not a loopback address"},
      {"[store]\nmax_retention_days = 30\n", "store.default_retention_days",
       "exceeds"},
      {"[log]\nlevel = \"verbose\"\n", "log.level", "unknown"},
      // A reused match older than the match retention may have been purged.
      {"[store]\nmatch_reuse_seconds = 172800\nmatch_retention_days = 1\n",
       "store.match_reuse_seconds",
       "store.match_reuse_seconds (172800) is not shorter than "
       "store.match_retention_days (1 days = 86400 s)"},
      {"[store]\nmatch_reuse_seconds = 86400\nmatch_retention_days = 1\n",
       "store.match_reuse_seconds", "lower match_reuse_seconds or raise"},
  };
  for (const BadCase& c : cases) {
    CAPTURE(c.toml);
    // The TLS section goes last so that it does not swallow the case's keys.
    auto config = ParseHubConfig(std::string(c.toml) + kTls, "bad.toml");
    REQUIRE(config.has_value());
    const Status valid = ValidateHubConfig(*config);
    REQUIRE_FALSE(valid.has_value());
    CAPTURE(valid.error().message);
    CHECK(valid.error().field == c.field);
    CHECK(valid.error().message.find(c.message_part) != std::string::npos);
  }
}

TEST_CASE("match reuse shorter than the match retention is accepted") {
  auto config = ParseHubConfig(
      "[store]\nmatch_reuse_seconds = 86399\nmatch_retention_days = 1\n" +
          std::string(kTls),
      "ok.toml");
  REQUIRE(config.has_value());
  CHECK(ValidateHubConfig(*config).has_value());
}

}  // namespace
}  // namespace cairn::server
