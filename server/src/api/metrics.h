// The hub's Prometheus metrics (prometheus-cpp core, text exposition).
//
// Hot-path updates touch pre-created metric objects only: every
// (endpoint, status) series is created up front, so recording a request is a
// few atomic operations and one histogram observation, never a map lookup.
#ifndef CAIRN_SERVER_API_METRICS_H_
#define CAIRN_SERVER_API_METRICS_H_

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <mutex>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "server/src/api/endpoint.h"

namespace cairn::server {

// Failed TLS handshakes since start, by the `reason` label of
// cairn_tls_handshake_failures_total.
struct TlsHandshakeFailureTotals {
  double certificate = 0;
  double timeout = 0;
  double closed = 0;
  double other = 0;
};

// Connections closed unserved since start because a budget was full, by
// the `reason` label of cairn_connections_refused_total.
struct ConnectionRefusalTotals {
  double max_connections = 0;
  double max_handshakes = 0;
  double max_handshakes_per_address = 0;
  double metrics_listener = 0;
};

// Steps of the system clock since start, by the `direction` label of
// cairn_clock_steps_total, and whether one is unresolved (guarded_clock.h).
struct ClockStepTotals {
  double forward = 0;
  double backward = 0;
  bool unresolved = false;
};

// Numbers read from elsewhere at scrape time (store, transport). The
// checkpoint sources, the TLS handshake failures and the refused
// connections are running totals,
// exported as counters.
struct GaugeSources {
  std::function<double()> index_signals;
  std::function<double()> open_connections;
  std::function<double()> last_commit_batch;
  std::function<double()> wal_checkpoints;
  std::function<double()> failed_wal_checkpoints;
  std::function<double()> match_settles;
  std::function<double()> match_settle_seconds;
  std::function<TlsHandshakeFailureTotals()> tls_handshake_failures;
  std::function<double()> failed_commits;
  std::function<ClockStepTotals()> clock_steps;
  std::function<ConnectionRefusalTotals()> connection_refusals;
};

class HubMetrics {
 public:
  HubMetrics();

  // Thread-safe. `status` is the HTTP status sent.
  void RecordRequest(Endpoint endpoint, int status, double seconds);
  void AddSubmitted(std::uint64_t n) { submitted_->Increment(double(n)); }
  void AddQueried(std::uint64_t n) { queried_->Increment(double(n)); }
  void AddMatched(std::uint64_t n) { matched_->Increment(double(n)); }
  void AddRetracted(std::uint64_t n) { retracted_->Increment(double(n)); }
  void AddRateLimited() { rate_limited_->Increment(); }

  void SetGaugeSources(GaugeSources sources);
  // When the hub's TLS certificate, and the client CA that expires first,
  // stop being valid (Unix time), read at scrape time. Until this is
  // called the gauges are not exported: one at 0 would read as long
  // expired. Call once, before serving.
  void SetTlsExpirySources(std::function<double()> server_not_after,
                           std::function<double()> client_ca_not_after);

  // The Prometheus text exposition format (version 0.0.4).
  std::string Render();

 private:
  static constexpr std::array<int, 15> kStatuses = {
      200, 201, 400, 401, 403, 404, 405, 409, 413, 415, 429, 431, 500, 503, 0};

  std::shared_ptr<prometheus::Registry> registry_;
  // requests_[endpoint][status slot]; the last slot counts other statuses.
  std::array<std::array<prometheus::Counter*, kStatuses.size()>, kEndpointCount>
      requests_{};
  std::array<prometheus::Histogram*, kEndpointCount> latency_{};
  prometheus::Counter* submitted_;
  prometheus::Counter* queried_;
  prometheus::Counter* matched_;
  prometheus::Counter* retracted_;
  prometheus::Counter* rate_limited_;
  prometheus::Gauge* index_signals_;
  prometheus::Gauge* open_connections_;
  prometheus::Gauge* last_commit_batch_;
  prometheus::Counter* wal_checkpoints_;
  prometheus::Counter* failed_wal_checkpoints_;
  prometheus::Counter* match_settles_;
  prometheus::Counter* match_settle_seconds_;
  prometheus::Counter* tls_failures_certificate_;
  prometheus::Counter* tls_failures_timeout_;
  prometheus::Counter* tls_failures_closed_;
  prometheus::Counter* tls_failures_other_;
  prometheus::Counter* refused_max_connections_;
  prometheus::Counter* refused_max_handshakes_;
  prometheus::Counter* refused_max_handshakes_per_address_;
  prometheus::Counter* refused_metrics_listener_;
  prometheus::Counter* failed_commits_;
  prometheus::Counter* clock_steps_forward_;
  prometheus::Counter* clock_steps_backward_;
  prometheus::Gauge* clock_step_unresolved_;
  // Render's catch-up of the counters read from sources_ (two scrapes at
  // once must not add the same difference twice).
  std::mutex render_mutex_;
  GaugeSources sources_;
  std::function<double()> server_certificate_not_after_;
  std::function<double()> client_ca_not_after_;
  prometheus::Family<prometheus::Gauge>* certificate_expiry_;
  prometheus::Gauge* server_certificate_expiry_ = nullptr;
  prometheus::Gauge* client_ca_expiry_ = nullptr;
};

}  // namespace cairn::server

#endif  // CAIRN_SERVER_API_METRICS_H_
