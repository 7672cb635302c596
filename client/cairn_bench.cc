// cairn-bench: a load generator for a Cairn hub, on libcairn-client's
// connection layer (keep-alive mTLS pool, TCP_NODELAY).
//
//   cairn-bench --mode query --batch 10000 --connections 2 --duration 30
//       --preload 1000000 --match-rate 0.01 --json-out result.json
//       --hub https://127.0.0.1:8443 --cert alpha.crt --key alpha.key
//       --cacert ca.crt                                   (one command line)
//
// Modes: query (batches of --batch tokens), query-single (one token per
// request), submit (batches of --batch new signals), oprf (POST
// /v1/oprf/evaluate with --batch blinded elements under the epoch /v1/me
// announces; needs [oprf] enabled on the hub). Tokens are random
// 32-byte values generated in-process: the benchmark measures the hub, not
// normalisation. Request bodies are encoded before the clock starts.
#include <sys/resource.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <CLI/CLI.hpp>

#include "cairn/connection.h"
#include "cairn/wire.h"

namespace {

using namespace cairn;
using Clock = std::chrono::steady_clock;

struct BenchOptions {
  std::string mode = "query";
  std::size_t connections = 2;
  double duration_seconds = 10;
  std::size_t requests = 0;  // 0: as many as fit in duration_seconds
  std::size_t preload = 0;
  std::size_t preloaded_before = 0;
  double match_rate = 0.01;
  std::size_t batch = 1000;
  std::string json_out;
  // Distinct pre-encoded bodies per connection, reused in turn; see
  // BodiesFor.
  std::size_t bodies = 16;
  ClientOptions client;
  std::string preload_cert;
  std::string preload_key;
};

Token RandomToken(std::mt19937_64& rng) {
  Token t;
  for (std::size_t i = 0; i < t.size(); i += 8) {
    const std::uint64_t v = rng();
    for (std::size_t j = 0; j < 8; ++j)
      t[i + j] = static_cast<std::uint8_t>(v >> (8 * j));
  }
  return t;
}

wire::SignalItem SignalFor(const Token& token) {
  wire::SignalItem item;
  item.key.kind = "device";
  item.key.token = token;
  item.category = Category::kOther;
  item.severity = Severity::kMedium;
  item.banned_at = std::chrono::floor<std::chrono::seconds>(
      std::chrono::system_clock::now() - std::chrono::hours(1));
  return item;
}

HttpRequest SubmitRequest(const std::vector<Token>& tokens, std::size_t begin,
                          std::size_t end, const std::string& idempotency_key) {
  wire::SubmitSignalsRequest body;
  for (std::size_t i = begin; i < end; ++i)
    body.signals.push_back(SignalFor(tokens[i]));
  return HttpRequest{"POST",
                     "/v1/signals",
                     wire::Encode(body),
                     {{"Idempotency-Key", idempotency_key}},
                     true};
}

struct ThreadResult {
  std::vector<std::uint32_t> latencies_us;
  std::uint64_t items = 0;
  std::uint64_t matches = 0;
  std::uint64_t errors = 0;
  std::string first_error;
};

// User plus system CPU time of this process so far, all threads.
double ProcessCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

double Percentile(const std::vector<std::uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto i = static_cast<std::size_t>(
      std::lround(p * static_cast<double>(sorted.size() - 1)));
  return sorted[std::min(i, sorted.size() - 1)] / 1000.0;
}

// Enough pre-encoded query bodies per connection to hold about 100 matching
// tokens, so the load has the asked-for match rate: 16 bodies of one token
// at 1% held on average 0.16 matching tokens, so one run had no matches at
// all and the next 1 in 16 requests. Capped at 100,000 bodies.
std::size_t BodiesFor(const BenchOptions& o) {
  constexpr double kMatchesPerConnection = 100;
  const double matching_per_body = static_cast<double>(o.batch) * o.match_rate;
  if (o.preloaded_before + o.preload == 0 || matching_per_body <= 0) {
    return o.bodies;
  }
  const double wanted = std::ceil(kMatchesPerConnection / matching_per_body);
  return std::clamp<std::size_t>(static_cast<std::size_t>(wanted), o.bodies,
                                 100000);
}

}  // namespace

int main(int argc, char** argv) {
  BenchOptions o;
  CLI::App app{"cairn-bench: load generator for a Cairn hub"};
  app.add_option("--mode", o.mode, "query, query-single, submit or oprf")
      ->check(CLI::IsMember({"query", "query-single", "submit", "oprf"}))
      ->capture_default_str();
  app.add_option("--connections", o.connections, "Concurrent connections")
      ->capture_default_str();
  app.add_option("--duration", o.duration_seconds, "Seconds of load")
      ->capture_default_str();
  app.add_option("--requests", o.requests,
                 "Stop after this many requests in all, or at --duration, "
                 "whichever comes first (0: --duration only)")
      ->capture_default_str();
  app.add_option("--preload", o.preload, "Signals to submit before measuring")
      ->capture_default_str();
  app.add_option("--preloaded", o.preloaded_before,
                 "Signals an earlier run's --preload already put on this hub "
                 "(the token sequence is the same each run): queries match "
                 "them, and --preload adds signals after them")
      ->capture_default_str();
  app.add_option("--match-rate", o.match_rate,
                 "Fraction of queried tokens that were preloaded")
      ->capture_default_str();
  app.add_option("--batch", o.batch, "Items per request (query, submit)")
      ->capture_default_str();
  app.add_option("--json-out", o.json_out, "Write the results as JSON here");
  app.add_option("--hub", o.client.hub_url, "Hub URL")->required();
  app.add_option("--cert", o.client.cert_file, "Client certificate")
      ->required();
  app.add_option("--key", o.client.key_file, "Client key")->required();
  app.add_option("--cacert", o.client.ca_file, "CA bundle of the hub")
      ->required();
  app.add_option("--preload-cert", o.preload_cert,
                 "Certificate of another member to preload as (the hub does "
                 "not match a member's own signals); default --cert");
  app.add_option("--preload-key", o.preload_key, "Key for --preload-cert");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (o.mode == "query-single") o.batch = 1;
  o.batch = std::clamp<std::size_t>(o.batch, 1, wire::kMaxBatch);
  o.connections = std::max<std::size_t>(1, o.connections);
  o.match_rate = std::clamp(o.match_rate, 0.0, 1.0);
  if (o.mode == "query" || o.mode == "query-single") o.bodies = BodiesFor(o);
  o.client.pool_size = o.connections;
  o.client.retry.max_attempts =
      1;  // a benchmark reports failures, not hides them

  auto connection = MakeHubConnection(o.client);
  if (!connection) {
    std::fprintf(stderr, "cairn-bench: %s\n",
                 connection.error().ToString().c_str());
    return 2;
  }

  auto preload_connection = *connection;
  if (!o.preload_cert.empty()) {
    ClientOptions preload_options = o.client;
    preload_options.cert_file = o.preload_cert;
    preload_options.key_file =
        o.preload_key.empty() ? o.client.key_file : o.preload_key;
    auto made = MakeHubConnection(preload_options);
    if (!made) {
      std::fprintf(stderr, "cairn-bench: %s\n",
                   made.error().ToString().c_str());
      return 2;
    }
    preload_connection = *made;
  }

  // Preload in batches of up to 10,000 over all connections.
  std::mt19937_64 seed_rng(0xca1f2026);
  // The first --preloaded tokens of the sequence are on the hub already;
  // this run submits the --preload after them.
  std::vector<Token> preloaded(o.preloaded_before + o.preload);
  for (auto& t : preloaded) t = RandomToken(seed_rng);
  if (o.preload > 0) {
    const auto start = Clock::now();
    std::atomic<std::size_t> next{o.preloaded_before};
    std::atomic<bool> failed{false};
    const std::uint64_t run_id = std::random_device{}();
    std::vector<std::thread> threads;
    for (std::size_t c = 0; c < o.connections; ++c) {
      threads.emplace_back([&, c] {
        constexpr std::size_t kChunk = 10000;
        for (std::size_t begin = next.fetch_add(kChunk);
             begin < preloaded.size() && !failed;
             begin = next.fetch_add(kChunk)) {
          const auto end = std::min(preloaded.size(), begin + kChunk);
          auto reply = preload_connection->Send(SubmitRequest(
              preloaded, begin, end,
              "bench-preload-" + std::to_string(run_id) + "-" +
                  std::to_string(begin) + "-" + std::to_string(c)));
          if (!reply || reply->status != 200) {
            std::fprintf(
                stderr, "cairn-bench: preload failed: %s\n",
                reply ? reply->body.c_str() : reply.error().ToString().c_str());
            failed = true;
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    if (failed) return 1;
    std::fprintf(stderr, "cairn-bench: preloaded %zu signals in %.1f s\n",
                 o.preload,
                 std::chrono::duration<double>(Clock::now() - start).count());
  }

  // Pre-encode bodies.
  std::vector<std::vector<HttpRequest>> bodies(o.connections);
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  if (o.mode == "oprf") {
    // Valid blinded elements (Blind of random inputs) under the current
    // epoch; the hub's cost does not depend on which elements they are.
    auto me = (*connection)->Send({"GET", "/v1/me", {}, {}, true});
    auto decoded = me && me->status == 200 ? wire::DecodeMeResponse(me->body)
                                           : Result<wire::MeResponse>{};
    if (!decoded || !decoded->oprf) {
      std::fprintf(stderr,
                   "cairn-bench: the hub does not announce voprf-v1 in "
                   "/v1/me; enable [oprf] in its configuration\n");
      return 2;
    }
    for (std::size_t c = 0; c < o.connections; ++c) {
      for (std::size_t b = 0; b < o.bodies; ++b) {
        wire::OprfEvaluateRequest body;
        body.epoch = decoded->oprf->epoch;
        for (std::size_t i = 0; i < o.batch; ++i) {
          const Token input = RandomToken(rng);
          body.elements.push_back(
              oprf::Blind(input, oprf::Mode::kVoprf)->blinded_element);
        }
        bodies[c].push_back(HttpRequest{
            "POST", "/v1/oprf/evaluate", wire::Encode(body), {}, true});
      }
    }
  }
  for (std::size_t c = 0; c < o.connections; ++c) {
    for (std::size_t b = 0;
         b < o.bodies && o.mode != "submit" && o.mode != "oprf"; ++b) {
      wire::QueryRequest body;
      // Duplicates in one batch are a whole-request error on the hub.
      std::set<Token> in_batch;
      for (std::size_t i = 0; i < o.batch; ++i) {
        wire::TokenKey key;
        key.kind = "device";
        key.token = (!preloaded.empty() && unit(rng) < o.match_rate)
                        ? preloaded[rng() % preloaded.size()]
                        : RandomToken(rng);
        if (in_batch.insert(key.token).second)
          body.queries.push_back(std::move(key));
      }
      bodies[c].push_back(
          HttpRequest{"POST", "/v1/query", wire::Encode(body), {}, true});
    }
  }

  std::vector<ThreadResult> results(o.connections);
  const auto deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(o.duration_seconds));
  const auto started = Clock::now();
  const double cpu_started = ProcessCpuSeconds();
  // Seeded here: the shared generator must not be drawn from by the
  // threads (a data race ThreadSanitizer found).
  std::vector<std::uint64_t> seeds(o.connections);
  for (auto& seed : seeds) seed = rng();
  std::atomic<std::size_t> sent{0};
  std::vector<std::thread> threads;
  for (std::size_t c = 0; c < o.connections; ++c) {
    threads.emplace_back([&, c] {
      ThreadResult& r = results[c];
      std::mt19937_64 local(seeds[c]);
      std::size_t n = 0;
      while (Clock::now() < deadline) {
        if (o.requests > 0 &&
            sent.fetch_add(1, std::memory_order_relaxed) >= o.requests) {
          break;
        }
        HttpRequest submit;
        const HttpRequest* request = nullptr;
        std::size_t items = 0;
        if (o.mode == "submit") {
          std::vector<Token> tokens(o.batch);
          for (auto& t : tokens) t = RandomToken(local);
          submit = SubmitRequest(tokens, 0, tokens.size(),
                                 "bench-" + std::to_string(local()));
          request = &submit;
          items = tokens.size();
        } else {
          request = &bodies[c][n++ % bodies[c].size()];
          items = o.batch;
        }
        const auto t0 = Clock::now();
        auto reply = (*connection)->Send(*request);
        const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                            Clock::now() - t0)
                            .count();
        if (!reply || reply->status != 200) {
          ++r.errors;
          if (r.first_error.empty()) {
            r.first_error =
                reply ? std::to_string(reply->status) + " " + reply->body
                      : reply.error().ToString();
          }
          continue;
        }
        r.latencies_us.push_back(static_cast<std::uint32_t>(us));
        r.items += items;
        if (o.mode != "submit") {
          // Counting "match_id" occurrences avoids a full decode per reply.
          for (auto p = reply->body.find("\"match_id\"");
               p != std::string::npos;
               p = reply->body.find("\"match_id\"", p + 1)) {
            ++r.matches;
          }
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  const double elapsed =
      std::chrono::duration<double>(Clock::now() - started).count();
  const double cpu = ProcessCpuSeconds() - cpu_started;

  std::vector<std::uint32_t> all;
  std::uint64_t items = 0, matches = 0, errors = 0;
  std::string first_error;
  for (auto& r : results) {
    all.insert(all.end(), r.latencies_us.begin(), r.latencies_us.end());
    items += r.items;
    matches += r.matches;
    errors += r.errors;
    if (first_error.empty()) first_error = r.first_error;
  }
  std::sort(all.begin(), all.end());
  const double rps = static_cast<double>(all.size()) / elapsed;
  const double ips = static_cast<double>(items) / elapsed;
  const double p50 = Percentile(all, 0.50), p90 = Percentile(all, 0.90),
               p99 = Percentile(all, 0.99), p999 = Percentile(all, 0.999);
  std::printf(
      "mode %s, batch %zu, connections %zu, %.1f s: %zu requests (%.0f/s), "
      "%llu items (%.0f/s), %llu matches, %llu errors\n"
      "latency ms: p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f\n",
      o.mode.c_str(), o.batch, o.connections, elapsed, all.size(), rps,
      static_cast<unsigned long long>(items), ips,
      static_cast<unsigned long long>(matches),
      static_cast<unsigned long long>(errors), p50, p90, p99, p999);
  // The load generator shares the machine with the hub in the documented
  // runs: its own CPU says how much of the machine the hub had.
  const double cpu_us_per_request =
      all.empty() ? 0.0 : cpu * 1e6 / static_cast<double>(all.size());
  std::printf("client cpu: %.2f s (%.2f cores), %.1f us per request\n", cpu,
              cpu / elapsed, cpu_us_per_request);
  if (!first_error.empty()) {
    std::fprintf(stderr, "cairn-bench: first error: %s\n", first_error.c_str());
  }
  if (!o.json_out.empty()) {
    rapidjson::StringBuffer buffer;
    rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buffer);
    w.StartObject();
    w.Key("mode");
    w.String(o.mode.c_str());
    w.Key("batch");
    w.Uint64(o.batch);
    w.Key("connections");
    w.Uint64(o.connections);
    w.Key("preload");
    w.Uint64(o.preload);
    w.Key("preloaded");
    w.Uint64(o.preloaded_before);
    w.Key("match_rate");
    w.Double(o.match_rate);
    w.Key("duration_s");
    w.Double(elapsed);
    w.Key("requests");
    w.Uint64(all.size());
    w.Key("requests_per_s");
    w.Double(rps);
    w.Key("items");
    w.Uint64(items);
    w.Key("items_per_s");
    w.Double(ips);
    w.Key("matches");
    w.Uint64(matches);
    w.Key("errors");
    w.Uint64(errors);
    w.Key("client_cpu_s");
    w.Double(cpu);
    w.Key("client_cpu_us_per_request");
    w.Double(cpu_us_per_request);
    w.Key("latency_ms");
    w.StartObject();
    w.Key("p50");
    w.Double(p50);
    w.Key("p90");
    w.Double(p90);
    w.Key("p99");
    w.Double(p99);
    w.Key("p99.9");
    w.Double(p999);
    w.EndObject();
    w.EndObject();
    std::ofstream out(o.json_out);
    out << buffer.GetString() << "\n";
    if (!out) {
      std::fprintf(stderr, "cairn-bench: cannot write %s\n",
                   o.json_out.c_str());
      return 4;
    }
  }
  return errors > 0 && all.empty() ? 1 : 0;
}
