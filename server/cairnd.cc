// cairnd: the Cairn hub.
//
//   cairnd --config /etc/cairn/cairnd.toml [--listen ADDR]... [--data-dir DIR]
//
// Loads the configuration (flags override the file), opens the store made by
// `cairnctl init`, and serves the /v1 API over mutually-authenticated TLS
// until SIGTERM/SIGINT. SIGHUP reloads the TLS certificate files.
//
// Exit codes: 0 after a clean stop; 1 when it cannot start (the message on
// stderr says why, and log.file too once it is open) or when, stopping, it
// could not fold the WAL into cairn.db (logged: keep cairn.db-wal beside
// it); 2 for a bad command line.
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "cairn/timestamp.h"
#include "server/src/api/api_router.h"
#include "server/src/api/metrics.h"
#include "server/src/data_dir_lock.h"
#include "server/src/keys/checkpoint_signer.h"
#include "server/src/keys/hub_keyring.h"
#include "server/src/oprf/oprf_evaluator.h"
#include "server/src/reports/report_source.h"
#include "server/src/store/failure_log.h"
#include "server/src/store/guarded_clock.h"
#include "server/src/store/key_use.h"
#include "server/src/store/store.h"
#include "server/src/store_location.h"
#include "transport/hub_server.h"
#include "transport/server_config.h"
#include "transport/tls_context.h"

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
      if (auto s = store_.CheckFiles(); !s) {
        files_log_.Failed(s.error().message, cairn::server::SystemClock()());
      }
      // Held after a forward step of the clock (the clock logs the hold).
      auto outcome = store_.ExpireDueAndWait();
      if (!outcome) {
        spdlog::warn("expiry sweep failed: {}; will retry in {} s",
                     outcome.error().ToString(), interval_.count());
      } else if (outcome->expired > 0) {
        spdlog::info("expired {} signals", outcome->expired);
      }
      if (auto s = store_.CheckpointIfDueAndWait(); !s) {
        spdlog::warn("audit checkpoint failed: {}; will retry in {} s",
                     s.error().ToString(), interval_.count());
      }
      if (std::chrono::steady_clock::now() >= next_purge_) Purge();
      lock.lock();
    }
  }

  // Retention: hourly is plenty for limits counted in days.
  void Purge() {
    cairn::server::PurgeCommand command;
    command.context.actor = "hub";
    auto purged = store_.PurgeAndWait(command);
    if (!purged) {
      spdlog::warn("retention purge failed: {}; will retry in {} s",
                   purged.error().ToString(), interval_.count());
      return;
    }
    // Held after a forward step of the clock: again at the next sweep.
    if (purged->held) return;
    next_purge_ = std::chrono::steady_clock::now() + std::chrono::hours(1);
    if (purged->Total() > 0) {
      spdlog::info(
          "purged {} signals, {} feed events, {} matches, {} dispositions, "
          "{} notifications, {} idempotency keys past retention",
          purged->signals, purged->feed_events, purged->matches,
          purged->dispositions, purged->notifications,
          purged->idempotency_keys);
    }
  }

  cairn::server::Store& store_;
  std::chrono::seconds interval_;
  // A lost file stays lost until a restart: a reminder every 10 minutes.
  cairn::server::RepeatingFailureLog files_log_{
      "store file check",
      "/healthz answers 503 with \"store_files\":\"deleted_or_replaced\" "
      "until cairnd is restarted",
      std::chrono::minutes(10)};
  std::chrono::steady_clock::time_point next_purge_{};
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

// Set once log.file is open: start-up failures then go to it as well as to
// stderr, so that an operator reading only the log file sees why the hub
// did not start.
bool g_logging_to_file = false;

int Fail(const std::string& message) {
  std::fprintf(stderr, "cairnd: %s\n", message.c_str());
  if (g_logging_to_file) spdlog::critical("cannot start: {}", message);
  return 1;
}

}  // namespace

// The hub holds its signing, OPRF and TLS keys in memory: a core dump (or a
// same-user debugger) would copy them out. Refuses both for the process's
// lifetime; an operator who needs a core can run cairnd under a debugger as
// root.
static void KeepSecretsOutOfCoreDumps() {
  const rlimit none{0, 0};
  if (::setrlimit(RLIMIT_CORE, &none) != 0) {
    std::fprintf(stderr, "cairnd: warning: cannot disable core dumps: %s\n",
                 std::strerror(errno));
  }
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    std::fprintf(stderr,
                 "cairnd: warning: cannot mark the process non-dumpable: %s\n",
                 std::strerror(errno));
  }
}

int main(int argc, char** argv) {
  using namespace cairn::server;
  KeepSecretsOutOfCoreDumps();

  CLI::App app{"cairnd: the Cairn hub (HTTPS+JSON over mutual TLS)"};
  std::string config_path = "cairnd.toml";
  std::vector<std::string> listen;
  std::string data_dir;
  std::string port_file;
  std::string log_level;
  std::string log_file;
  int expiry_interval = 30;
  bool allow_new_keys = false;
  bool clock_from_system = false;
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
  app.add_flag("--allow-new-keys", allow_new_keys,
               "Start although the signing or OPRF keys the database was "
               "made with are missing (lost for good): make new ones");
  app.add_flag("--clock-from-system", clock_from_system,
               "Start from the system clock's time even if it is earlier "
               "than the newest time the database recorded (operator guide, "
               "\"Clock steps\")");
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
  // Relative to the working directory, as every flag path is; made absolute
  // so that the messages below name the directory whatever the reader's.
  if (!data_dir.empty()) {
    config->store.data_dir =
        std::filesystem::absolute(data_dir).lexically_normal().string();
  }
  if (!port_file.empty()) config->transport.port_file = port_file;
  if (!log_level.empty()) config->log.level = log_level;
  if (!log_file.empty()) config->log.file = log_file;
  if (auto valid = ValidateHubConfig(*config); !valid) {
    return Fail(valid.error().ToString());
  }
  if (auto logging = SetUpLogging(config->log); !logging) {
    return Fail(logging.error().ToString());
  }
  g_logging_to_file = !config->log.file.empty();
  spdlog::info(
      "cairnd {} starting: pid {}, configuration {}, data directory {}",
      CAIRN_VERSION, ::getpid(), config_path, config->store.data_dir);

  // The hub's one time source: it never runs backwards and holds the
  // expiry sweep and the purge after a forward step of the system clock
  // (guarded_clock.h; operator guide, "Clock steps").
  const auto hub_clock = std::make_shared<GuardedClock>();
  SqliteStoreOptions store_options;
  store_options.clock = HubClock(hub_clock);
  store_options.deletion_clock = HubDeletionClock(hub_clock);
  store_options.db_path = DatabasePath(config->store.data_dir);
  store_options.create_if_missing = false;
  store_options.default_retention =
      std::chrono::days(config->store.default_retention_days);
  store_options.max_retention =
      std::chrono::days(config->store.max_retention_days);
  store_options.tombstone_period =
      std::chrono::days(config->store.tombstone_days);
  store_options.match_retention =
      std::chrono::days(config->store.match_retention_days);
  store_options.disposition_retention =
      std::chrono::days(config->store.disposition_retention_days);
  store_options.notification_retention =
      std::chrono::days(config->store.notification_retention_days);
  store_options.wal_checkpoint_pages = config->store.wal_checkpoint_pages;
  store_options.match_reuse_window =
      std::chrono::seconds(config->store.match_reuse_seconds);
  store_options.match_reuse_entries =
      static_cast<std::size_t>(config->store.match_reuse_entries);
  store_options.checkpoint_every_entries =
      config->audit.checkpoint_every_entries;
  store_options.checkpoint_interval = config->audit.checkpoint_interval;
  if (!std::filesystem::exists(store_options.db_path)) {
    return Fail("no hub database at " + store_options.db_path.string() +
                "; create one with 'cairnctl init --data " +
                config->store.data_dir + " --operator-cert PEM'");
  }
  // Held until exit: a second cairnd (or an offline cairnctl restore or
  // purge) on the same directory is refused instead of corrupting state.
  auto data_lock = DataDirLock::Acquire(config->store.data_dir, "cairnd");
  if (!data_lock) return Fail(data_lock.error().ToString());
  // A clean stop folds the write-ahead log into cairn.db and deletes it
  // (Store::Close), so one that holds frames now was left by a run that
  // did not stop. Only frames count: a read-only open of the stopped
  // hub's database (cairnctl audit verify --data, offline reports, the
  // key check below on a start that is then refused) cannot delete the
  // log it creates and leaves it empty. SQLite itself recovers from a log
  // only when it is longer than its 32-byte header (wal.c, WAL_HDRSIZE);
  // the header is written with the first frame.
  constexpr std::uintmax_t kWalHeaderBytes = 32;
  const std::filesystem::path wal = store_options.db_path.string() + "-wal";
  if (std::error_code ec; std::filesystem::exists(wal, ec)) {
    const auto bytes = std::filesystem::file_size(wal, ec);
    if (ec || bytes > kWalHeaderBytes) {
      spdlog::warn(
          "{} ({} bytes) was left by the previous run: it did not stop cleanly "
          "(crash, kill -9, power loss, or a final checkpoint that failed: see "
          "its last lines above); SQLite now recovers the committed "
          "transactions from it. Never delete the -wal or -shm files",
          wal.string(), ec ? 0 : bytes);
    }
  }
  // The TLS files are read again when the listener is made; reading them
  // now too means a hub that cannot serve fails before it makes any key.
  if (auto tls = MakeServerTlsContext(config->transport.tls); !tls) {
    return Fail(tls.error().ToString());
  }
  const std::filesystem::path keys_dir =
      config->keys.dir.empty()
          ? std::filesystem::path(config->store.data_dir) / "keys"
          : std::filesystem::path(config->keys.dir);
  // A data directory restored without its keys (or with another hub's)
  // must not quietly get new ones (store/key_use.h).
  auto key_use = ReadKeyUse(store_options.db_path, config->oprf.enabled);
  if (!key_use) return Fail(key_use.error().ToString());
  // Before anything reads the clock for a record (the keyring below): a
  // system clock set back while cairnd was stopped would otherwise date
  // new records before old ones, refuse members' correct banned_at and let
  // expired signals match again.
  // Then the deletion hold: one an earlier run recorded (a restart does
  // not end it), or a new one when the system clock is far ahead of the
  // record (a step forward while stopped cannot be told from a long stop).
  if (key_use->newest_audit_at) {
    if (!clock_from_system) {
      StartHubClock(*hub_clock, *key_use);
    } else {
      if (std::chrono::system_clock::now() < *key_use->newest_audit_at) {
        spdlog::warn(
            "--clock-from-system: starting from the system clock's time, "
            "earlier than the newest time the database recorded ({})",
            cairn::FormatTimestamp(*key_use->newest_audit_at));
      }
      spdlog::warn(
          "--clock-from-system: the expiry sweep and the purge go by the "
          "system clock from the start, without the hold a clock step "
          "recorded in the audit log (or a system clock far ahead of the "
          "newest record) would start");
    }
  }
  auto keys_match = [allow_new_keys](const cairn::Status& s) {
    if (s) return true;
    if (!allow_new_keys) return false;
    spdlog::warn("--allow-new-keys: going on although {}", s.error().message);
    return true;
  };
  auto keyring = HubKeyring::Open(keys_dir, /*create_if_empty=*/false,
                                  HubClock(hub_clock));
  if (!keyring && keyring.error().code == cairn::ErrorCode::kNotFound) {
    if (auto s = MayCreateSigningKey(*key_use, keys_dir); !keys_match(s)) {
      return Fail(s.error().ToString());
    }
    keyring = HubKeyring::Open(keys_dir, /*create_if_empty=*/true,
                               HubClock(hub_clock));
  }
  if (!keyring) return Fail(keyring.error().ToString());
  // A keys directory restored from a backup keeps the signed-until of its
  // day; the database knows the hub signed later than that: its newest
  // checkpoint, and its newest entry, whose request's receipt was signed
  // after it (a second later at most, unless the hub was overloaded).
  // Without this, --clock-from-system after such a restore could date a
  // rotation before checkpoints and receipts already made.
  if (key_use->newest_checkpoint_at) {
    (*keyring)->RaiseSigningFloor(*key_use->newest_checkpoint_at);
  }
  if (key_use->newest_audit_at) {
    (*keyring)->RaiseSigningFloor(*key_use->newest_audit_at +
                                  std::chrono::seconds(1));
  }
  {
    std::vector<std::string> key_ids;
    for (const auto& key : (*keyring)->PublicKeys()) {
      key_ids.push_back(key.key_id);
    }
    if (auto s = SigningKeysCoverDatabase(*key_use, key_ids, keys_dir);
        !keys_match(s)) {
      return Fail(s.error().ToString());
    }
  }
  spdlog::info("hub signing key {} ({} keys in {})",
               (*keyring)->PublicKeys().front().key_id,
               (*keyring)->PublicKeys().size(), keys_dir.string());
  // The keyring's time does not go back with the hub's (HubKeyring::
  // SigningFloor): say so when it will date signatures later than the hub's
  // time, which happens after --clock-from-system on a hub that ran ahead.
  if (const auto floor = (*keyring)->SigningFloor();
      floor - hub_clock->NowSeconds() > std::chrono::seconds(60)) {
    const auto now = hub_clock->NowSeconds();
    spdlog::warn(
        "the hub's signing keys have signed or been made as late as {}, {} s "
        "after the hub's time ({}): receipts, audit checkpoints and key "
        "rotations are dated {} until the hub's time passes it, so that "
        "what the hub signed before (receipts members keep, the audit "
        "log's checkpoints) still verifies; everything else goes by the "
        "hub's time (operator guide, Clock steps)",
        cairn::FormatTimestamp(floor), (floor - now).count(),
        cairn::FormatTimestamp(now), cairn::FormatTimestamp(floor));
  }
  store_options.checkpoint_signer = MakeCheckpointSigner(*keyring);
  // voprf-v1: the hub's OPRF keys, evaluated on their own worker threads
  // (the evaluator is made once the store is open: it restores the day's
  // quota from it).
  std::shared_ptr<const OprfKeyring> oprf_keyring;
  std::vector<cairn::TokenScheme> token_schemes;
  if (config->oprf.accept_hmac_v1) {
    token_schemes.push_back(cairn::TokenScheme::kHmacV1);
  }
  if (config->oprf.enabled) {
    const std::filesystem::path oprf_dir =
        config->oprf.key_dir.empty()
            ? std::filesystem::path(config->store.data_dir) / "oprf"
            : std::filesystem::path(config->oprf.key_dir);
    auto oprf_keys = OprfKeyring::Open(oprf_dir, /*create_if_empty=*/false);
    if (!oprf_keys && oprf_keys.error().code == cairn::ErrorCode::kNotFound) {
      if (auto s = MayCreateOprfKey(*key_use, oprf_dir); !keys_match(s)) {
        return Fail(s.error().ToString());
      }
      oprf_keys = OprfKeyring::Open(oprf_dir, /*create_if_empty=*/true);
    }
    if (!oprf_keys) return Fail(oprf_keys.error().ToString());
    if (auto s = OprfKeysCoverDatabase(*key_use, (*oprf_keys)->CurrentEpoch(),
                                       oprf_dir);
        !keys_match(s)) {
      return Fail(s.error().ToString());
    }
    std::map<std::uint32_t, cairn::oprf::Element> oprf_public_keys;
    for (const std::uint32_t epoch : (*oprf_keys)->Epochs()) {
      oprf_public_keys[epoch] = (*oprf_keys)->PublicKey(epoch);
    }
    if (auto s = OprfKeysMatchRecord(*key_use, oprf_public_keys, oprf_dir);
        !keys_match(s)) {
      return Fail(s.error().ToString());
    }
    // Recorded when the store opens, so that the next start can tell
    // these keys from another directory's (a recorded key is replaced
    // only with --allow-new-keys, with a warning naming both keys).
    store_options.voprf_public_keys = std::move(oprf_public_keys);
    store_options.replace_recorded_oprf_keys = allow_new_keys;
    spdlog::info("voprf-v1 enabled: OPRF key epoch {} ({} epochs in {})",
                 (*oprf_keys)->CurrentEpoch(), (*oprf_keys)->Epochs().size(),
                 oprf_dir.string());
    oprf_keyring = *oprf_keys;
    token_schemes.push_back(cairn::TokenScheme::kVoprfV1);
    store_options.voprf_epochs = (*oprf_keys)->Epochs();
  }
  store_options.accepted_schemes = token_schemes;
  const auto open_start = std::chrono::steady_clock::now();
  auto store = OpenSqliteStore(store_options);
  if (!store) return Fail(store.error().ToString());
  // Each clock step from now on (and any found above) goes into the audit
  // log, so that a restart keeps its deletion hold and compliance staff see
  // it. Queued, not waited for: the store's writer reads this clock.
  RecordClockSteps(*hub_clock, **store);
  // On every return from here, before the store goes.
  class StopRecording {
   public:
    explicit StopRecording(GuardedClock& clock) : clock_(clock) {}
    StopRecording(const StopRecording&) = delete;
    StopRecording& operator=(const StopRecording&) = delete;
    ~StopRecording() { clock_.SetStepRecorder(nullptr); }

   private:
    GuardedClock& clock_;
  } stop_recording(*hub_clock);
  const auto stats = (*store)->Stats();
  spdlog::info("store {} open: {} active signals indexed in {} ms",
               store_options.db_path.string(), stats.index_signals,
               std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - open_start)
                   .count());
  // Before the hub serves and before the checkpoint below: the log must
  // not go on claiming a rotation a stop cut short (hub_keyring.h).
  if (auto settled =
          SettleAbandonedRotations(**keyring, **store, store_options.db_path);
      !settled) {
    spdlog::error("{}", settled.error().ToString());
  } else {
    for (const std::string& line : *settled) spdlog::warn("{}", line);
  }
  // A log ending in a restore entry no checkpoint covers yet (the first
  // start after 'cairnctl restore') is signed now, before the hub listens,
  // rather than at the first sweep: until then 'cairnctl audit verify'
  // cannot vouch for the restore (AuditWriter::Load).
  if (auto s = (*store)->CheckpointIfDueAndWait(); !s) {
    spdlog::warn("audit checkpoint failed: {}; will retry in {} s",
                 s.error().ToString(), expiry_interval);
  }

  std::shared_ptr<OprfEvaluator> oprf_evaluator;
  if (oprf_keyring) {
    OprfEvaluatorOptions oprf_options;
    oprf_options.elements_per_member_per_day =
        config->oprf.elements_per_member_per_day;
    oprf_options.threads = config->oprf.threads;
    // The quota day must not go back to yesterday's with the system clock.
    oprf_options.clock = [hub_clock] { return hub_clock->Now(); };
    // Each charge rides the store's next group commit, so a restart keeps
    // the day's count (a crash may lose the last few milliseconds of it).
    oprf_options.on_charge = [&store = **store](const std::string& member_id,
                                                std::int64_t day,
                                                std::uint64_t elements) {
      store.RecordOprfUsage(
          OprfUsage{member_id, day, elements}, [member_id](Status s) {
            if (!s) {
              spdlog::error("cannot record OPRF quota use of member '{}': {}",
                            member_id, s.error().ToString());
            }
          });
    };
    oprf_evaluator =
        std::make_shared<OprfEvaluator>(oprf_keyring, std::move(oprf_options));
    const std::int64_t today = oprf_evaluator->Today();
    auto used = (*store)->OprfUsageOn(today);
    if (!used) return Fail(used.error().ToString());
    for (const OprfUsage& u : *used) {
      oprf_evaluator->RestoreUsage(u.member_id, u.day, u.elements);
    }
    spdlog::info("OPRF quota: {} members have used some of today's quota",
                 used->size());
  }

  HubMetrics metrics;
  ApiOptions api_options;
  api_options.max_body_bytes = config->transport.limits.body_bytes;
  api_options.max_batch = config->transport.limits.max_batch;
  api_options.rate_limits.requests_per_second =
      config->rate_limits.requests_per_second;
  api_options.rate_limits.items_per_second =
      config->rate_limits.items_per_second;
  api_options.rate_limits.burst_seconds = config->rate_limits.burst_seconds;
  api_options.access_log.lines_per_window =
      static_cast<std::size_t>(config->log.client_error_lines_per_member);
  api_options.access_log.window =
      std::chrono::seconds(config->log.client_error_window_seconds);
  // A burst's summary line then follows its window by a second at most,
  // also when the member goes quiet.
  api_options.access_log.flush_every = std::chrono::seconds(1);
  api_options.keyring = *keyring;
  api_options.token_schemes = token_schemes;
  api_options.oprf = oprf_evaluator;
  api_options.clock_stepped = [hub_clock] {
    return hub_clock->Steps().Unresolved();
  };
  // Reports read the database over their own read-only connection.
  auto reports = ReportSource::Open(store_options.db_path, HubClock(hub_clock));
  if (!reports) return Fail(reports.error().ToString());
  // The router holds the only reference, and FinishReads closes it before
  // the store closes (so the store's writer is the last connection).
  api_options.reports = std::move(*reports);
  ApiRouter router(**store, metrics, std::move(api_options));

  auto server = HubServer::Create(config->transport, router);
  if (!server) return Fail(server.error().ToString());
  Store& store_ref = **store;
  HubServer& server_ref = **server;
  metrics.SetGaugeSources(GaugeSources{
      [&store_ref] { return double(store_ref.Stats().index_signals); },
      [&server_ref] { return double(server_ref.OpenConnections()); },
      [&store_ref] { return double(store_ref.Stats().last_batch_operations); },
      [&store_ref] { return double(store_ref.Stats().wal_checkpoints); },
      [&store_ref] { return double(store_ref.Stats().failed_wal_checkpoints); },
      [&store_ref] { return double(store_ref.Stats().match_settles); },
      [&store_ref] { return store_ref.Stats().match_settle_seconds; },
      [&server_ref] {
        using enum HandshakeFailureReason;
        return TlsHandshakeFailureTotals{
            .certificate = double(server_ref.HandshakeFailures(kCertificate)),
            .timeout = double(server_ref.HandshakeFailures(kTimeout)),
            .closed = double(server_ref.HandshakeFailures(kClosed)),
            .other = double(server_ref.HandshakeFailures(kOther)),
        };
      },
      [&store_ref] { return double(store_ref.Stats().failed_transactions); },
      [hub_clock] {
        const ClockSteps steps = hub_clock->Steps();
        return ClockStepTotals{.forward = double(steps.forward),
                               .backward = double(steps.backward),
                               .unresolved = steps.Unresolved()};
      },
      [&server_ref] {
        using enum ConnectionRefusalReason;
        return ConnectionRefusalTotals{
            .max_connections =
                double(server_ref.ConnectionsRefused(kMaxConnections)),
            .max_handshakes =
                double(server_ref.ConnectionsRefused(kMaxHandshakes)),
            .max_handshakes_per_address =
                double(server_ref.ConnectionsRefused(kMaxHandshakesPerAddress)),
            .metrics_listener =
                double(server_ref.ConnectionsRefused(kMetricsListener)),
        };
      },
  });
  metrics.SetTlsExpirySources(
      [&server_ref] {
        return double(server_ref.TlsCertificateExpiry()
                          .server_not_after.time_since_epoch()
                          .count());
      },
      [&server_ref] {
        return double(server_ref.TlsCertificateExpiry()
                          .earliest_client_ca_not_after.time_since_epoch()
                          .count());
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
  // Reads and evaluations still in flight (a report past the drain
  // deadline) use the store: finish them first.
  router.FinishReads();
  if (oprf_evaluator) oprf_evaluator->Shutdown();
  // Drains queued writes, then closes the database.
  const Status closed = (*store)->Close();
  hub_clock->SetStepRecorder(nullptr);
  if (!closed) {
    spdlog::error("closing the store: {}", closed.error().ToString());
    return 1;
  }
  store->reset();
  spdlog::info("cairnd stopped cleanly");
  return 0;
}
