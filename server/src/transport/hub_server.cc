#include "transport/hub_server.h"

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cairn/timestamp.h"
#include "transport/asio.h"
#include "transport/listener.h"
#include "transport/session.h"
#include "transport/tls_context.h"

namespace cairn::server {
namespace {

// At start-up and on every reload: which certificate the hub now presents,
// and what is about to expire.
void LogTlsFiles(const ServerTlsFiles& files) {
  spdlog::info("hub certificate {}: valid until {}", files.server.subject,
               FormatTimestamp(files.server.not_after));
  for (const std::string& warning : files.warnings) {
    spdlog::warn("{}", warning);
  }
}

}  // namespace

struct HubServer::Impl {
  Impl(const TransportConfig& config, RequestHandler& handler,
       std::shared_ptr<ssl::context> tls)
      : state(std::make_shared<ServerState>(config, handler, std::move(tls))),
        control(asio::make_strand(io)),
        signals(control),
        drain_timer(control) {
    state->set_io_context(io_owner);
  }

  ~Impl() {
    // Whatever the io_context still holds (only after a forced stop) is
    // destroyed with it; nothing may post to it from then on.
    state->Shutdown();
  }

  void BeginShutdown();  // on `control`
  void WaitForSignal();
  Status WritePortFile() const;
  // Makes the TLS context from the configured files and, if that works,
  // uses it for new connections and logs the files' dates.
  Status LoadTls();
  void Use(const ServerTls& tls);

  // Declaration order is destruction order in reverse: the io_context goes
  // before the state that its pending sessions point to.
  std::shared_ptr<ServerState> state;
  // Shared with requests the handler still holds (session.cc): the
  // io_context outlives this Impl until the last of them is answered or
  // dropped.
  std::shared_ptr<asio::io_context> io_owner =
      std::make_shared<asio::io_context>();
  asio::io_context& io = *io_owner;
  // Serialises the listeners, the signal set and the shutdown sequence.
  asio::strand<asio::io_context::executor_type> control;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  std::vector<std::uint16_t> ports;
  std::unique_ptr<tcp::acceptor> metrics_acceptor;
  std::optional<std::uint16_t> metrics_port;
  asio::signal_set signals;
  asio::steady_timer drain_timer;
  bool shutting_down = false;  // on `control`
  std::atomic<bool> ran{false};
  mutable std::mutex expiry_mutex;
  TlsExpiry expiry;  // guarded by expiry_mutex
};

Status HubServer::Impl::LoadTls() {
  auto tls = MakeServerTlsContext(state->config().tls);
  if (!tls) return tl::unexpected(tls.error());
  Use(*tls);
  return {};
}

void HubServer::Impl::Use(const ServerTls& tls) {
  state->set_tls_context(tls.context);
  {
    std::lock_guard lock(expiry_mutex);
    expiry = {tls.files.server.not_after, tls.files.EarliestClientCaNotAfter()};
  }
  LogTlsFiles(tls.files);
}

void HubServer::Impl::BeginShutdown() {
  if (shutting_down) return;
  shutting_down = true;
  boost::system::error_code ec;
  for (auto& acceptor : acceptors) acceptor->close(ec);
  if (metrics_acceptor) metrics_acceptor->close(ec);
  signals.cancel(ec);
  spdlog::info("stopping: {} connection(s) open, draining for up to {} ms",
               state->open_connections(),
               state->config().timeouts.drain.count());
  drain_timer.expires_after(state->config().timeouts.drain);
  drain_timer.async_wait([this](boost::system::error_code wait_error) {
    if (wait_error) return;  // drained in time: cancelled
    spdlog::warn(
        "drain timeout: closing {} connection(s) with requests in "
        "flight",
        state->open_connections());
    state->ForceCloseAll();
    // Sessions end promptly after ForceCloseAll: it closes every stream
    // first, so a request still with the handler gets no answer (its
    // client sees the connection end; the 503 its session is resumed with
    // fails to write) and the handler's later answer is dropped. If
    // anything still holds the io_context after a grace period, stop it
    // rather than hang the shutdown.
    drain_timer.expires_after(std::chrono::seconds(5));
    drain_timer.async_wait([this](boost::system::error_code e) {
      if (!e && state->open_connections() > 0) io.stop();
    });
  });
  state->BeginStop(
      [this] { asio::post(control, [this] { drain_timer.cancel(); }); });
}

void HubServer::Impl::WaitForSignal() {
  if (shutting_down) return;
  signals.async_wait([this](boost::system::error_code ec, int signal) {
    if (ec || shutting_down) return;
    if (signal == SIGHUP) {
      spdlog::info("SIGHUP: reloading TLS certificate, key and CA files");
      if (auto loaded = LoadTls()) {
        spdlog::info("TLS files reloaded; new connections use them");
      } else {
        spdlog::error("TLS reload failed, keeping the previous files: {}",
                      loaded.error().message);
      }
      WaitForSignal();
      return;
    }
    spdlog::info("signal {}: stopping gracefully", signal);
    BeginShutdown();
  });
}

Status HubServer::Impl::WritePortFile() const {
  const std::string& path = state->config().port_file;
  if (path.empty()) return {};
  std::string text;
  const auto& addresses = state->config().listen_addresses;
  for (std::size_t i = 0; i < ports.size(); ++i) {
    auto endpoint = ParseListenAddress(addresses[i]);
    text += fmt::format("listen {} {}\n", endpoint->address().to_string(),
                        ports[i]);
  }
  if (metrics_port) {
    auto endpoint = ParseListenAddress(state->config().metrics_listen);
    text += fmt::format("metrics {} {}\n", endpoint->address().to_string(),
                        *metrics_port);
  }
  // Written whole and renamed into place: a harness polling for the file
  // never reads half of it.
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << text;
    if (!out.flush()) {
      return MakeError(ErrorCode::kIo,
                       fmt::format("cannot write the port file '{}'; check "
                                   "listen.port_file and the directory's "
                                   "permissions",
                                   temporary));
    }
  }
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  if (ec) {
    return MakeError(ErrorCode::kIo,
                     fmt::format("cannot rename '{}' to '{}': {}", temporary,
                                 path, ec.message()));
  }
  return {};
}

HubServer::HubServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HubServer::~HubServer() = default;

Result<std::unique_ptr<HubServer>> HubServer::Create(
    const TransportConfig& config, RequestHandler& handler) {
  if (auto valid = ValidateTransportConfig(config); !valid) {
    return tl::unexpected(valid.error());
  }
  auto tls = MakeServerTlsContext(config.tls);
  if (!tls) return tl::unexpected(tls.error());
  auto impl = std::make_unique<Impl>(config, handler, tls->context);
  impl->Use(*tls);
  for (const std::string& address : config.listen_addresses) {
    auto endpoint = ParseListenAddress(address);
    auto acceptor = OpenAcceptor(impl->control, *endpoint);
    if (!acceptor) return tl::unexpected(acceptor.error());
    impl->ports.push_back((*acceptor)->local_endpoint().port());
    impl->acceptors.push_back(std::move(*acceptor));
  }
  if (!config.metrics_listen.empty()) {
    auto endpoint = ParseListenAddress(config.metrics_listen);
    auto acceptor = OpenAcceptor(impl->control, *endpoint);
    if (!acceptor) return tl::unexpected(acceptor.error());
    impl->metrics_port = (*acceptor)->local_endpoint().port();
    impl->metrics_acceptor = std::move(*acceptor);
  }
  if (config.handle_signals) {
    // Before the port file: whoever waits for it (a supervisor, a test)
    // may send SIGTERM at once, and until the set holds a signal its
    // default action kills the process without a clean stop. A signal
    // that arrives before Run waits for it is queued by the set.
    boost::system::error_code ec;
    for (const int signal_number : {SIGINT, SIGTERM, SIGHUP}) {
      impl->signals.add(signal_number, ec);
      if (ec) {
        return MakeError(ErrorCode::kInternal,
                         fmt::format("cannot handle signal {}: {}; this is a "
                                     "bug, please report it",
                                     signal_number, ec.message()));
      }
    }
  }
  if (auto written = impl->WritePortFile(); !written) {
    return tl::unexpected(written.error());
  }
  return std::unique_ptr<HubServer>(new HubServer(std::move(impl)));
}

void HubServer::Run() {
  Impl& impl = *impl_;
  if (impl.ran.exchange(true)) return;
  for (auto& acceptor : impl.acceptors) {
    asio::co_spawn(impl.control,
                   AcceptLoop(*acceptor, impl.state, ListenerKind::kTls),
                   asio::detached);
  }
  if (impl.metrics_acceptor) {
    asio::co_spawn(
        impl.control,
        AcceptLoop(*impl.metrics_acceptor, impl.state, ListenerKind::kMetrics),
        asio::detached);
  }
  if (impl.state->config().handle_signals) {
    asio::post(impl.control, [&impl] { impl.WaitForSignal(); });
  }
  unsigned threads = impl.state->config().io_threads;
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  auto run = [&impl] {
    for (;;) {
      try {
        impl.io.run();
        return;
      } catch (const std::exception& e) {
        spdlog::error("unexpected error on an I/O thread: {}", e.what());
      }
    }
  };
  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads; ++i) pool.emplace_back(run);
  run();
  for (auto& thread : pool) thread.join();
  // Failures held back by the log's rate limit are summed up now rather
  // than never.
  impl.state->handshake_failures().Flush();
  impl.state->connection_refusals().Flush();
}

void HubServer::Stop() {
  Impl* impl = impl_.get();
  asio::post(impl->control, [impl] { impl->BeginShutdown(); });
}

Status HubServer::ReloadTls() { return impl_->LoadTls(); }

HubServer::TlsExpiry HubServer::TlsCertificateExpiry() const {
  std::lock_guard lock(impl_->expiry_mutex);
  return impl_->expiry;
}

std::vector<std::uint16_t> HubServer::ListenPorts() const {
  return impl_->ports;
}

std::optional<std::uint16_t> HubServer::MetricsPort() const {
  return impl_->metrics_port;
}

std::size_t HubServer::OpenConnections() const {
  return impl_->state->open_connections();
}

std::uint64_t HubServer::HandshakeFailures(
    HandshakeFailureReason reason) const {
  return impl_->state->handshake_failures().count(reason);
}

std::uint64_t HubServer::ConnectionsRefused(
    ConnectionRefusalReason reason) const {
  return impl_->state->connection_refusals().count(reason);
}

}  // namespace cairn::server
