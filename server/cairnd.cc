// cairnd: the Cairn hub.
//
//   cairnd --config /etc/cairn/cairnd.toml [--listen ADDR]... [--data-dir DIR]
//
// Loads the configuration (flags override the file), opens the store made by
// `cairnctl init`, and serves the /v1 API over mutually-authenticated TLS
// until SIGTERM/SIGINT. SIGHUP reloads the TLS certificate files.
//
// Exit codes: 0 after a clean stop; 1 when it cannot start (the message on
// stderr says why); 2 for a bad command line.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <thread>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "server/src/api/api_router.h"
#include "server/src/api/metrics.h"
#include "server/src/store/store.h"
#include "server/src/store_location.h"
#include "transport/hub_server.h"
#include "transport/server_config.h"

namespace {

using cairn::Status;

// Periodically expires signals whose expires_at has passed, so that feeds
// and notifications report them. Queries never wait for it: the index
// already ignores expired signals.
class ExpiryLoop {
 public:
  ExpiryLoop(cairn::server::Store& store, std::chrono::seconds interval)
      : store_(store), interval_(interval), thread_([this] { Run(); }) {}
  ~ExpiryLoop() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  void Run() {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, interval_, [this] { return stop_; })) {
      lock.unlock();
      auto outcome = store_.ExpireDueAndWait();
      if (!outcome) {
        spdlog::warn("expiry sweep failed: {}; will retry in {} s",
                     outcome.error().ToString(), interval_.count());
      } else if (outcome->expired > 0) {
        spdlog::info("expired {} signals", outcome->expired);
      }
      lock.lock();
    }
  }

  cairn::server::Store& store_;
  std::chrono::seconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

Status SetUpLogging(const cairn::server::LogConfig& config) {
  try {
    std::shared_ptr<spdlog::logger> logger;
    if (config.file.empty()) {
      logger = spdlog::stderr_logger_mt("cairnd");
    } else {
      logger = spdlog::basic_logger_mt("cairnd", config.file);
    }
    logger->set_level(spdlog::level::from_str(config.level));
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(logger);
  } catch (const spdlog::spdlog_ex& e) {
    return cairn::MakeError(cairn::ErrorCode::kIo,
                            std::string("cannot open the log: ") + e.what() +
                                "; check log.file in the configuration");
  }
  return {};
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "cairnd: %s\n", message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace cairn::server;

  CLI::App app{"cairnd: the Cairn hub (HTTPS+JSON over mutual TLS)"};
  std::string config_path = "cairnd.toml";
  std::vector<std::string> listen;
  std::string data_dir;
  std::string port_file;
  std::string log_level;
  std::string log_file;
  int expiry_interval = 30;
  app.add_option("-c,--config", config_path,
                 "Configuration file (TOML); see server/cairnd.example.toml")
      ->capture_default_str();
  app.add_option("--listen", listen,
                 "Listen address host:port, repeatable (overrides "
                 "listen.addresses)");
  app.add_option("--data-dir", data_dir,
                 "Data directory made by 'cairnctl init' (overrides "
                 "store.data_dir)");
  app.add_option("--port-file", port_file,
                 "Write the bound ports to this file (overrides "
                 "listen.port_file)");
  app.add_option("--log-level", log_level, "Overrides log.level");
  app.add_option("--log-file", log_file, "Overrides log.file");
  app.add_option("--expiry-interval", expiry_interval,
                 "Seconds between expiry sweeps")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Help and version requests exit 0; any other parse error is a bad
    // command line, exit code 2 as documented.
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  auto config = LoadHubConfig(config_path);
  if (!config) return Fail(config.error().ToString());
  if (!listen.empty()) config->transport.listen_addresses = listen;
  if (!data_dir.empty()) config->store.data_dir = data_dir;
  if (!port_file.empty()) config->transport.port_file = port_file;
  if (!log_level.empty()) config->log.level = log_level;
  if (!log_file.empty()) config->log.file = log_file;
  if (auto valid = ValidateHubConfig(*config); !valid) {
    return Fail(valid.error().ToString());
  }
  if (auto logging = SetUpLogging(config->log); !logging) {
    return Fail(logging.error().ToString());
  }

  SqliteStoreOptions store_options;
  store_options.db_path = DatabasePath(config->store.data_dir);
  store_options.create_if_missing = false;
  store_options.default_retention =
      std::chrono::days(config->store.default_retention_days);
  store_options.max_retention =
      std::chrono::days(config->store.max_retention_days);
  if (!std::filesystem::exists(store_options.db_path)) {
    return Fail("no hub database at " + store_options.db_path.string() +
                "; create one with 'cairnctl init --data " +
                config->store.data_dir + " --operator-cert PEM'");
  }
  const auto open_start = std::chrono::steady_clock::now();
  auto store = OpenSqliteStore(store_options);
  if (!store) return Fail(store.error().ToString());
  const auto stats = (*store)->Stats();
  spdlog::info("store {} open: {} active signals indexed in {} ms",
               store_options.db_path.string(), stats.index_signals,
               std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - open_start)
                   .count());

  HubMetrics metrics;
  ApiOptions api_options;
  api_options.max_body_bytes = config->transport.limits.body_bytes;
  api_options.rate_limits.requests_per_second =
      config->rate_limits.requests_per_second;
  api_options.rate_limits.items_per_second =
      config->rate_limits.items_per_second;
  api_options.rate_limits.burst_seconds = config->rate_limits.burst_seconds;
  ApiRouter router(**store, metrics, api_options);

  auto server = HubServer::Create(config->transport, router);
  if (!server) return Fail(server.error().ToString());
  Store& store_ref = **store;
  HubServer& server_ref = **server;
  metrics.SetGaugeSources(GaugeSources{
      [&store_ref] { return double(store_ref.Stats().index_signals); },
      [&server_ref] { return double(server_ref.OpenConnections()); },
      [&store_ref] { return double(store_ref.Stats().last_batch_operations); },
  });

  {
    ExpiryLoop expiry(**store, std::chrono::seconds(expiry_interval));
    for (auto port : (*server)->ListenPorts()) {
      spdlog::info("serving on port {}", port);
    }
    (*server)->Run();
    spdlog::info("stopped serving; closing the store");
  }
  server->reset();
  store->reset();  // drains queued writes, then closes the database
  spdlog::info("cairnd stopped cleanly");
  return 0;
}
