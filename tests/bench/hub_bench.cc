// Micro-benchmarks of the hub's request path without TLS: wire decoding of
// a query body, and ApiRouter::Handle for batched and single-token queries
// against a store preloaded with signals. Figures go to docs/performance.md
// with the command that produced them.
//
//   build/release/tests/bench/hub_bench [--benchmark_filter=...]
//   CAIRN_BENCH_SIGNALS=1000000 build/release/tests/bench/hub_bench
#include <cstdlib>
#include <filesystem>
#include <future>
#include <limits>
#include <random>
#include <string>

#include <benchmark/benchmark.h>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include "cairn/encoding.h"
#include "cairn/wire.h"
#include "server/src/api/api_router.h"
#include "server/src/api/metrics.h"
#include "server/src/store/store.h"
#include "server/src/store/token_index.h"

namespace cairn::server {
namespace {

namespace http = boost::beast::http;

Token TokenFor(std::uint64_t n) {
  Token t{};
  // Deterministic but well spread: BLAKE2b of the counter.
  crypto_generichash(t.data(), t.size(),
                     reinterpret_cast<const unsigned char*>(&n), sizeof n,
                     nullptr, 0);
  return t;
}

std::string QueryBody(std::size_t batch, double match_rate,
                      std::uint64_t signals, std::uint64_t salt) {
  wire::QueryRequest request;
  std::mt19937_64 rng(salt);
  for (std::size_t i = 0; i < batch; ++i) {
    const bool match = std::uniform_real_distribution<>(0, 1)(rng) < match_rate;
    const std::uint64_t n = match ? rng() % signals : (1ull << 40) + rng();
    request.queries.push_back(wire::TokenKey{"email", TokenFor(n)});
  }
  return wire::Encode(request);
}

// A hub without sockets: a store in a temp dir preloaded with signals from
// member "alpha", queried by member "beta".
class Hub {
 public:
  static Hub& Get() {
    static Hub hub;
    return hub;
  }

  void Query(const std::string& body) {
    HttpRequest request{http::verb::post, "/v1/query", 11};
    request.set(http::field::content_type, "application/json");
    request.body() = body;
    std::promise<int> done;
    router_->Handle(std::move(request), PeerIdentity{kBeta, "CN=beta", ""},
                    [&done](HttpResponse response) {
                      done.set_value(response.result_int());
                    });
    if (done.get_future().get() != 200) std::abort();
  }

  std::uint64_t signals() const { return signals_; }

 private:
  static constexpr const char* kAlpha =
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  static constexpr const char* kBeta =
      "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

  Hub() {
    const char* env = std::getenv("CAIRN_BENCH_SIGNALS");
    signals_ = env ? std::strtoull(env, nullptr, 10) : 100000;
    dir_ = std::filesystem::temp_directory_path() /
           ("cairn-bench-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    SqliteStoreOptions options;
    options.db_path = dir_ / "cairn.db";
    store_ = std::move(OpenSqliteStore(options).value());
    for (const char* fp : {kAlpha, kBeta}) {
      CreateMemberCommand member;
      member.member_id = fp == kAlpha ? "alpha" : "beta";
      member.name = member.member_id;
      member.roles = RoleBit(Role::kMember);
      member.fingerprints = {fp};
      store_->CreateMemberAndWait(member).value();
    }
    const auto now = std::chrono::floor<std::chrono::seconds>(
        std::chrono::system_clock::now());
    for (std::uint64_t start = 0; start < signals_; start += 10000) {
      SubmitCommand submit;
      submit.member_id = "alpha";
      for (std::uint64_t n = start; n < std::min(signals_, start + 10000);
           ++n) {
        SignalSubmission s;
        s.key = TokenKey{"email", TokenScheme::kHmacV1, 0, TokenFor(n)};
        s.category = Category::kGrooming;
        s.severity = Severity::kHigh;
        s.banned_at = now;
        submit.items.push_back(std::move(s));
      }
      store_->SubmitAndWait(std::move(submit)).value();
    }
    ApiOptions api;
    api.rate_limits.requests_per_second = 0;  // measure the hub, not limits
    api.rate_limits.items_per_second = 0;
    spdlog::set_level(spdlog::level::warn);  // access log off for timing
    router_ = std::make_unique<ApiRouter>(*store_, metrics_, api);
  }
  ~Hub() {
    router_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::filesystem::path dir_;
  std::uint64_t signals_ = 0;
  std::unique_ptr<Store> store_;
  HubMetrics metrics_;
  std::unique_ptr<ApiRouter> router_;
};

void BM_DecodeQueryRequest(benchmark::State& state) {
  const auto body = QueryBody(state.range(0), 0.0, 1, 1);
  wire::QueryRequest out;
  for (auto _ : state) {
    auto status = wire::DecodeQueryRequestInto(body, body.size(), &out);
    benchmark::DoNotOptimize(status);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_DecodeQueryRequest)->Arg(1)->Arg(1000)->Arg(10000);

void BM_EncodeQueryRequest(benchmark::State& state) {
  wire::QueryRequest request;
  for (int i = 0; i < state.range(0); ++i) {
    request.queries.push_back(wire::TokenKey{"email", TokenFor(i)});
  }
  for (auto _ : state) benchmark::DoNotOptimize(wire::Encode(request));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_EncodeQueryRequest)->Arg(10000);

// Whole handler: route, authenticate, decode, look up, record matches
// durably (1% match rate), encode. Items = tokens looked up.
void BM_RouterQuery(benchmark::State& state) {
  Hub& hub = Hub::Get();
  std::vector<std::string> bodies;
  for (int i = 0; i < 8; ++i) {
    bodies.push_back(QueryBody(state.range(0), state.range(1) / 100.0,
                               hub.signals(), 100 + i));
  }
  std::size_t i = 0;
  for (auto _ : state) hub.Query(bodies[i++ % bodies.size()]);
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.counters["signals"] = double(hub.signals());
}
BENCHMARK(BM_RouterQuery)
    ->Args({10000, 1})
    ->Args({1000, 1})
    ->Args({1, 0})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// The token index alone, CAIRN_BENCH_SIGNALS keys (default 1M), looking up
// batches of range(0) keys of which 1% are present: one Lookup per key, and
// one LookupMany per batch (the query path).
TokenIndex& BenchIndex() {
  static TokenIndex* index = [] {
    const char* env = std::getenv("CAIRN_BENCH_SIGNALS");
    const std::uint64_t n =
        env != nullptr ? std::strtoull(env, nullptr, 10) : 1'000'000;
    auto* made = new TokenIndex(n);
    for (std::uint64_t i = 0; i < n; ++i) {
      IndexEntry e;
      e.rowid = static_cast<std::int64_t>(i + 1);
      e.member = 1;
      e.expires_at = std::numeric_limits<std::int64_t>::max();
      made->Insert(IndexKey{1, TokenScheme::kHmacV1, 0, TokenFor(i)}, e);
    }
    return made;
  }();
  return *index;
}

std::vector<IndexKey> LookupKeys(std::size_t batch) {
  const std::size_t present = BenchIndex().Size();
  std::vector<IndexKey> keys;
  for (std::size_t i = 0; i < batch; ++i) {
    const std::uint64_t n = i % 100 == 0 && present > 0
                                ? (i * 7919) % present
                                : (std::uint64_t{1} << 40) + i;
    keys.push_back(IndexKey{1, TokenScheme::kHmacV1, 0, TokenFor(n)});
  }
  return keys;
}

void BM_IndexLookupEach(benchmark::State& state) {
  TokenIndex& index = BenchIndex();
  const auto keys = LookupKeys(static_cast<std::size_t>(state.range(0)));
  std::vector<IndexEntry> out;
  for (auto _ : state) {
    out.clear();
    for (const auto& key : keys) index.Lookup(key, 0, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_IndexLookupEach)->Arg(10000);

void BM_IndexLookupMany(benchmark::State& state) {
  TokenIndex& index = BenchIndex();
  const auto keys = LookupKeys(static_cast<std::size_t>(state.range(0)));
  std::size_t found = 0;
  for (auto _ : state) {
    index.LookupMany(keys, 0, [&](std::size_t, const IndexEntry&) { ++found; });
  }
  benchmark::DoNotOptimize(found);
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_IndexLookupMany)->Arg(10000);

}  // namespace
}  // namespace cairn::server

BENCHMARK_MAIN();
