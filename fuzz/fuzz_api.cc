// Harness "api": an HTTP request through ApiRouter and its handlers into a
// real SqliteStore, in process (no sockets, no TLS): the path every byte a
// member sends takes once the transport has parsed it.
//
// Input: byte 0 picks the caller (alpha, beta: members; ops: operator;
// comply: compliance; an unknown certificate; the plain-HTTP metrics
// listener's empty identity). The rest is a request in a simplified HTTP/1.1
// text form, so that corpus files are readable and editable:
//
//   METHOD TARGET\n
//   Name: value\n        (any number of header lines)
//   \n
//   body
//
// Checks, besides memory and UB errors: the router answers every request
// exactly once (waits up to 60 s), never with 500, always with an
// X-Request-Id, and every 4xx/5xx carries a protocol error body.
//
// The store lives in a temporary directory and is rebuilt every
// kResetEvery inputs so that state the fuzzer builds up (suspended members,
// revoked fingerprints, a full database) does not starve later inputs.
#include <spdlog/spdlog.h>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cairn/vocabulary.h"
#include "cairn/wire/error.h"
#include "fuzz/fuzz_util.h"
#include "server/src/api/api_router.h"
#include "server/src/api/metrics.h"
#include "server/src/keys/hub_keyring.h"
#include "server/src/oprf/oprf_evaluator.h"
#include "server/src/oprf/oprf_keyring.h"
#include "server/src/store/store.h"

namespace {

namespace http = boost::beast::http;
using cairn::fuzz::Check;
using namespace cairn::server;

constexpr std::int64_t kNow = 1795442400;  // 2026-11-23T14:00:00Z
constexpr int kResetEvery = 4096;

const std::string kAlphaFp(64, 'a');
const std::string kBetaFp(64, 'b');
const std::string kComplianceFp(64, 'c');
const std::string kOperatorFp(64, 'd');
const std::string kUnknownFp(64, 'f');

class Hub {
 public:
  Hub() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "cairn-fuzz-api-XXXXXX")
            .string();
    Check(mkdtemp(pattern.data()) != nullptr, "mkdtemp failed");
    dir_ = pattern;

    SqliteStoreOptions options;
    options.db_path = std::filesystem::path(dir_) / "hub.db";
    options.clock = [] {
      return std::chrono::sys_seconds{std::chrono::seconds{kNow}};
    };
    options.accepted_schemes = {cairn::TokenScheme::kHmacV1,
                                cairn::TokenScheme::kVoprfV1};
    // Durability is not under test here; fsync per input would cut the
    // execution rate a hundredfold.
    options.writer_setup_sql_for_testing = "PRAGMA synchronous=OFF";
    auto opened = OpenSqliteStore(options);
    Check(opened.has_value(), "OpenSqliteStore failed");
    store_ = std::move(*opened);
    Create("alpha", cairn::Role::kMember, kAlphaFp);
    Create("beta", cairn::Role::kMember, kBetaFp);
    Create("comply", cairn::Role::kCompliance, kComplianceFp);
    Create("ops", cairn::Role::kOperator, kOperatorFp);

    // Receipts (signed with a hub key) and voprf-v1 evaluation, as cairnd
    // wires them.
    const auto clock = [] {
      return std::chrono::sys_seconds{std::chrono::seconds{kNow}};
    };
    auto keyring = HubKeyring::Open(std::filesystem::path(dir_) / "keys",
                                    /*create_if_empty=*/true, clock);
    Check(keyring.has_value(), "HubKeyring::Open failed");
    auto oprf_keys = OprfKeyring::Open(std::filesystem::path(dir_) / "oprf",
                                       /*create_if_empty=*/true);
    Check(oprf_keys.has_value(), "OprfKeyring::Open failed");
    OprfEvaluatorOptions oprf_options;
    oprf_options.threads = 1;
    oprf_options.clock = [] {
      return std::chrono::system_clock::time_point{std::chrono::seconds{kNow}};
    };
    oprf_ = std::make_shared<OprfEvaluator>(*oprf_keys, oprf_options);

    metrics_ = std::make_unique<HubMetrics>();
    ApiOptions api;
    api.token_schemes = {cairn::TokenScheme::kHmacV1,
                         cairn::TokenScheme::kVoprfV1};
    api.keyring = *keyring;
    api.oprf = oprf_;
    api.rate_limits.requests_per_second = 0;  // 429s would hide the handlers
    api.rate_limits.items_per_second = 0;
    api.steady_now = [] {
      return std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
    };
    router_ = std::make_unique<ApiRouter>(*store_, *metrics_, std::move(api));
  }

  // The router goes first: callbacks queued in the store point into it.
  ~Hub() {
    router_.reset();
    if (oprf_) oprf_->Shutdown();  // finishes evaluations in flight
    oprf_.reset();
    store_.reset();
    metrics_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  ApiRouter& router() { return *router_; }

 private:
  void Create(const std::string& id, cairn::Role role, const std::string& fp) {
    CreateMemberCommand command;
    command.member_id = id;
    command.name = id;
    command.roles = cairn::RoleBit(role);
    command.fingerprints = {fp};
    Check(store_->CreateMemberAndWait(std::move(command)).has_value(),
          "creating a fixture member failed");
  }

  std::string dir_;
  std::unique_ptr<Store> store_;
  std::shared_ptr<OprfEvaluator> oprf_;
  std::unique_ptr<HubMetrics> metrics_;
  std::unique_ptr<ApiRouter> router_;
};

// Never destroyed by static destructors (their order relative to the
// atexit handler is unspecified); DestroyHub closes the store at exit.
std::unique_ptr<Hub>& TheHub() {
  static auto* hub = new std::unique_ptr<Hub>();
  return *hub;
}

void DestroyHub() { TheHub().reset(); }

// Boost 1.74's beast::string_view is boost::string_view, not std's.
boost::beast::string_view Bv(std::string_view s) {
  return {s.data(), s.size()};
}

bool IsTokenChar(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u <= 0x20 || u >= 0x7f) return false;
  return std::string_view("()<>@,;:\\\"/[]?={}").find(c) ==
         std::string_view::npos;
}

bool IsFieldValue(std::string_view v) {
  for (char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) return false;
  }
  return true;
}

// Builds what Beast's parser would have produced, or nothing for text the
// transport's parser would have refused.
bool ParseRequest(std::string_view text, HttpRequest* request) {
  std::size_t eol = text.find('\n');
  if (eol == std::string_view::npos) return false;
  std::string_view line = text.substr(0, eol);
  text.remove_prefix(eol + 1);
  const std::size_t space = line.find(' ');
  if (space == std::string_view::npos || space == 0) return false;
  const std::string_view method = line.substr(0, space);
  const std::string_view target = line.substr(space + 1);
  for (char c : method) {
    if (!IsTokenChar(c)) return false;
  }
  if (target.empty()) return false;
  for (char c : target) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return false;
  }
  const http::verb verb = http::string_to_verb(Bv(method));
  if (verb == http::verb::unknown) {
    request->method_string(Bv(method));
  } else {
    request->method(verb);
  }
  request->target(Bv(target));
  request->version(11);

  while (true) {
    eol = text.find('\n');
    if (eol == std::string_view::npos) return false;
    line = text.substr(0, eol);
    text.remove_prefix(eol + 1);
    if (line.empty()) break;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    const std::string_view name = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    for (char c : name) {
      if (!IsTokenChar(c)) return false;
    }
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
      value.remove_prefix(1);
    }
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
      value.remove_suffix(1);
    }
    if (!IsFieldValue(value)) return false;
    // Framing is the transport's business; it hands over a complete body.
    const http::field field = http::string_to_field(Bv(name));
    if (field == http::field::content_length ||
        field == http::field::transfer_encoding) {
      continue;
    }
    request->insert(Bv(name), Bv(value));
  }
  request->body() = std::string(text);
  request->prepare_payload();
  return true;
}

const std::string& Caller(std::uint8_t selector) {
  static const std::string kEmpty;
  switch (selector % 6) {
    case 0:
      return kAlphaFp;
    case 1:
      return kBetaFp;
    case 2:
      return kOperatorFp;
    case 3:
      return kComplianceFp;
    case 4:
      return kUnknownFp;
    default:
      return kEmpty;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  static int inputs = 0;
  static const bool once = [] {
    spdlog::set_level(spdlog::level::off);  // one access-log line per input
    std::atexit(DestroyHub);
    return true;
  }();
  (void)once;
  if (size == 0) return 0;

  HttpRequest request;
  try {
    if (!ParseRequest(cairn::fuzz::AsText(data + 1, size - 1), &request)) {
      return 0;
    }
  } catch (const std::exception&) {
    return 0;  // Beast refused the request line or a header: so would the
               // transport's parser.
  }

  if (!TheHub() || ++inputs % kResetEvery == 0) {
    TheHub().reset();
    TheHub() = std::make_unique<Hub>();
  }

  PeerIdentity peer{Caller(data[0]), "CN=fuzz", "127.0.0.1:40000"};
  auto promise = std::make_shared<std::promise<HttpResponse>>();
  auto answered = std::make_shared<std::atomic<int>>(0);
  auto future = promise->get_future();
  TheHub()->router().Handle(
      std::move(request), peer, [promise, answered](HttpResponse response) {
        Check(answered->fetch_add(1) == 0, "respond called twice");
        promise->set_value(std::move(response));
      });
  Check(future.wait_for(std::chrono::seconds(60)) == std::future_status::ready,
        "no answer within 60 s");
  const HttpResponse response = future.get();
  const unsigned status = response.result_int();
  Check(status >= 200 && status <= 599, "status out of range");
  Check(status != 500, "500 Internal Server Error");
  Check(response.find("X-Request-Id") != response.end(),
        "response without X-Request-Id");
  if (status >= 400) {
    Check(cairn::wire::DecodeErrorBody(response.body()).has_value(),
          "error status without a protocol error body");
  }
  return 0;
}
