#include "server/src/api/metrics.h"

#include <sstream>

#include <prometheus/text_serializer.h>

namespace cairn::server {

HubMetrics::HubMetrics() : registry_(std::make_shared<prometheus::Registry>()) {
  auto& requests = prometheus::BuildCounter()
                       .Name("cairn_requests_total")
                       .Help("Requests answered, by endpoint and HTTP status")
                       .Register(*registry_);
  auto& latency =
      prometheus::BuildHistogram()
          .Name("cairn_request_duration_seconds")
          .Help("Time from a complete request to its response, by endpoint")
          .Register(*registry_);
  const prometheus::Histogram::BucketBoundaries bounds = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
      0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5};
  for (std::size_t e = 0; e < kEndpointCount; ++e) {
    const std::string name(EndpointName(static_cast<Endpoint>(e)));
    for (std::size_t s = 0; s < kStatuses.size(); ++s) {
      const std::string status =
          kStatuses[s] == 0 ? "other" : std::to_string(kStatuses[s]);
      requests_[e][s] = &requests.Add({{"endpoint", name}, {"status", status}});
    }
    latency_[e] = &latency.Add({{"endpoint", name}}, bounds);
  }
  auto counter = [this](const char* name, const char* help) {
    return &prometheus::BuildCounter()
                .Name(name)
                .Help(help)
                .Register(*registry_)
                .Add({});
  };
  submitted_ = counter("cairn_signals_submitted_total",
                       "Signal items accepted in submit requests");
  queried_ = counter("cairn_tokens_queried_total", "Tokens looked up");
  matched_ =
      counter("cairn_tokens_matched_total", "Looked-up tokens that matched");
  retracted_ = counter("cairn_signals_retracted_total", "Signals retracted");
  rate_limited_ = counter("cairn_rate_limited_total",
                          "Requests refused with 429 by a per-member limit");
  auto gauge = [this](const char* name, const char* help) {
    return &prometheus::BuildGauge()
                .Name(name)
                .Help(help)
                .Register(*registry_)
                .Add({});
  };
  index_signals_ =
      gauge("cairn_index_signals", "Active signals in the in-memory index");
  open_connections_ =
      gauge("cairn_open_connections", "Open client connections");
  last_commit_batch_ = gauge("cairn_last_commit_batch_operations",
                             "Operations in the latest group commit");
  auto& checkpoints =
      prometheus::BuildCounter()
          .Name("cairn_store_wal_checkpoints_total")
          .Help(
              "Write-ahead log checkpoints run beside the writer, by "
              "result; failures leave the log growing (disk full?)")
          .Register(*registry_);
  wal_checkpoints_ = &checkpoints.Add({{"result", "ok"}});
  failed_wal_checkpoints_ = &checkpoints.Add({{"result", "failed"}});
  match_settles_ = counter(
      "cairn_store_match_settles_total",
      "Moves of new matches' signals into match_signals; each pauses the "
      "writer");
  match_settle_seconds_ =
      counter("cairn_store_match_settle_seconds_total",
              "Writer time spent moving new matches' signals into "
              "match_signals");
  auto& tls_failures =
      prometheus::BuildCounter()
          .Name("cairn_tls_handshake_failures_total")
          .Help(
              "TLS handshakes that failed, by reason: certificate (the "
              "client's certificate was refused or missing), timeout, "
              "closed (the client hung up), other")
          .Register(*registry_);
  tls_failures_certificate_ = &tls_failures.Add({{"reason", "certificate"}});
  tls_failures_timeout_ = &tls_failures.Add({{"reason", "timeout"}});
  tls_failures_closed_ = &tls_failures.Add({{"reason", "closed"}});
  tls_failures_other_ = &tls_failures.Add({{"reason", "other"}});
  auto& refused =
      prometheus::BuildCounter()
          .Name("cairn_connections_refused_total")
          .Help(
              "Connections closed unserved because a budget was full, by "
              "reason: max_connections (established connections), "
              "max_handshakes (connections in the TLS handshake), "
              "max_handshakes_per_address (in the handshake from one "
              "address), metrics_listener (the loopback scrape listener's)")
          .Register(*registry_);
  refused_max_connections_ = &refused.Add({{"reason", "max_connections"}});
  refused_max_handshakes_ = &refused.Add({{"reason", "max_handshakes"}});
  refused_max_handshakes_per_address_ =
      &refused.Add({{"reason", "max_handshakes_per_address"}});
  refused_metrics_listener_ = &refused.Add({{"reason", "metrics_listener"}});
  failed_commits_ =
      counter("cairn_store_failed_commits_total",
              "Write transactions rolled back (disk full, I/O error, read-only "
              "database); each refused the requests it carried with 503");
  auto& clock_steps =
      prometheus::BuildCounter()
          .Name("cairn_clock_steps_total")
          .Help(
              "Steps of the system clock against the boot clock (more than "
              "GuardedClockOptions::max_step, 60 s), by direction; see "
              "cairn_clock_step_unresolved")
          .Register(*registry_);
  clock_steps_forward_ = &clock_steps.Add({{"direction", "forward"}});
  clock_steps_backward_ = &clock_steps.Add({{"direction", "backward"}});
  clock_step_unresolved_ =
      gauge("cairn_clock_step_unresolved",
            "1 while the hub runs ahead of the system clock after a backward "
            "step, or holds the expiry sweep and the purge after a forward "
            "one; else 0");
  certificate_expiry_ =
      &prometheus::BuildGauge()
           .Name("cairn_tls_certificate_expiry_timestamp_seconds")
           .Help(
               "When a TLS certificate in use stops being valid (Unix "
               "time): certificate=\"server\" the hub's own, "
               "certificate=\"client_ca\" the client CA that expires first")
           .Register(*registry_);
}

void HubMetrics::RecordRequest(Endpoint endpoint, int status, double seconds) {
  const auto e = static_cast<std::size_t>(endpoint);
  std::size_t slot = kStatuses.size() - 1;
  for (std::size_t s = 0; s + 1 < kStatuses.size(); ++s) {
    if (kStatuses[s] == status) {
      slot = s;
      break;
    }
  }
  requests_[e][slot]->Increment();
  latency_[e]->Observe(seconds);
}

void HubMetrics::SetGaugeSources(GaugeSources sources) {
  sources_ = std::move(sources);
}

void HubMetrics::SetTlsExpirySources(
    std::function<double()> server_not_after,
    std::function<double()> client_ca_not_after) {
  server_certificate_not_after_ = std::move(server_not_after);
  client_ca_not_after_ = std::move(client_ca_not_after);
  server_certificate_expiry_ =
      &certificate_expiry_->Add({{"certificate", "server"}});
  client_ca_expiry_ = &certificate_expiry_->Add({{"certificate", "client_ca"}});
}

namespace {

// Brings a counter up to a running total kept elsewhere.
void CatchUp(prometheus::Counter* counter, double total) {
  const double behind = total - counter->Value();
  if (behind > 0) counter->Increment(behind);
}

void CatchUp(prometheus::Counter* counter,
             const std::function<double()>& total) {
  if (total) CatchUp(counter, total());
}

}  // namespace

std::string HubMetrics::Render() {
  {
    std::lock_guard lock(render_mutex_);
    CatchUp(wal_checkpoints_, sources_.wal_checkpoints);
    CatchUp(failed_wal_checkpoints_, sources_.failed_wal_checkpoints);
    CatchUp(match_settles_, sources_.match_settles);
    CatchUp(match_settle_seconds_, sources_.match_settle_seconds);
    if (sources_.tls_handshake_failures) {
      const TlsHandshakeFailureTotals tls = sources_.tls_handshake_failures();
      CatchUp(tls_failures_certificate_, tls.certificate);
      CatchUp(tls_failures_timeout_, tls.timeout);
      CatchUp(tls_failures_closed_, tls.closed);
      CatchUp(tls_failures_other_, tls.other);
    }
    if (sources_.connection_refusals) {
      const ConnectionRefusalTotals refused = sources_.connection_refusals();
      CatchUp(refused_max_connections_, refused.max_connections);
      CatchUp(refused_max_handshakes_, refused.max_handshakes);
      CatchUp(refused_max_handshakes_per_address_,
              refused.max_handshakes_per_address);
      CatchUp(refused_metrics_listener_, refused.metrics_listener);
    }
    CatchUp(failed_commits_, sources_.failed_commits);
    if (sources_.clock_steps) {
      const ClockStepTotals steps = sources_.clock_steps();
      CatchUp(clock_steps_forward_, steps.forward);
      CatchUp(clock_steps_backward_, steps.backward);
      clock_step_unresolved_->Set(steps.unresolved ? 1 : 0);
    }
  }
  if (sources_.index_signals) index_signals_->Set(sources_.index_signals());
  if (sources_.open_connections) {
    open_connections_->Set(sources_.open_connections());
  }
  if (sources_.last_commit_batch) {
    last_commit_batch_->Set(sources_.last_commit_batch());
  }
  if (server_certificate_expiry_ != nullptr) {
    server_certificate_expiry_->Set(server_certificate_not_after_());
    client_ca_expiry_->Set(client_ca_not_after_());
  }
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, registry_->Collect());
  return out.str();
}

}  // namespace cairn::server
