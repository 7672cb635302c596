// Shared fixture for the in-process API tests: a real SqliteStore in a
// temporary directory, a HubMetrics and an ApiRouter driven directly through
// Handle() with beast requests and a PeerIdentity (no sockets, no TLS).
#ifndef CAIRN_TESTS_SERVER_API_TEST_UTIL_H_
#define CAIRN_TESTS_SERVER_API_TEST_UTIL_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/beast/http/verb.hpp>

#include "cairn/result.h"
#include "server/src/api/api_router.h"
#include "server/src/api/metrics.h"
#include "server/src/store/store.h"
#include "support/process.h"

namespace cairn::server::apitest {

namespace http = boost::beast::http;

// 2026-11-23T14:00:00Z: the store's "now" in every API test.
inline constexpr std::int64_t kNow = 1795442400;
// A banned_at comfortably before kNow.
inline constexpr const char* kBannedAt = "2026-11-20T10:00:00Z";

// Known certificate fingerprints of the fixture's members.
inline const std::string kAlphaFp(64, 'a');
inline const std::string kAlphaRevokedFp = std::string(63, 'a') + "0";
inline const std::string kBetaFp(64, 'b');
inline const std::string kComplianceFp(64, 'c');
inline const std::string kOperatorFp(64, 'd');
inline const std::string kSuspendedFp(64, 'e');
inline const std::string kUnknownFp(64, 'f');

using Headers = std::vector<std::pair<std::string, std::string>>;

// One answer of the router.
struct Response {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lowercase names

  // Header value or "" when absent; `name` in any case.
  std::string Header(const std::string& name) const;
  // The decoded error body; an Error with an empty message and code kInternal
  // when the body is not a protocol error body.
  Error ErrorBody() const;
  // ErrorCodeName of ErrorBody().code, or "<not an error body>".
  std::string ErrorCode() const;
};

// Seams every API test shares.
struct FixtureOptions {
  // Rate limits for the router. Default: the hub's defaults.
  RateLimitOptions rate_limits;
  // ApiOptions::oprf (voprf-v1 evaluation). Default: none.
  std::shared_ptr<OprfEvaluator> oprf;
  // ApiOptions::keyring (receipts, key rotation). Default: none.
  std::shared_ptr<HubKeyring> keyring;
  // SqliteStoreOptions::audit_hook, e.g. to veto the batches that carry
  // some audit entry. Default: none.
  std::shared_ptr<AuditHook> audit_hook;
  // SqliteStoreOptions::stream_read_hook_for_testing: runs after a feed or
  // notifications page is read, before the store checks the reader's
  // standing again. Default: none.
  std::function<void()> stream_read_hook;
  // ApiOptions::clock_stepped. Default: none.
  std::function<bool()> clock_stepped;
};

class ApiFixture {
 public:
  explicit ApiFixture(FixtureOptions options = {});
  ~ApiFixture();

  // Runs Handle() and waits (bounded, 10 s) for `respond`, which may run on
  // the store's writer thread. A missing answer is a test failure
  // (status 0).
  Response Call(http::verb method, const std::string& target,
                const std::string& body, const std::string& fingerprint,
                const Headers& headers = {});
  Response Get(const std::string& target, const std::string& fingerprint);
  // What WantsBody() says of this request's header, which the transport
  // asks before reading a large body. POST and PUT carry
  // "Content-Type: application/json" unless `headers` has one.
  bool WantsBody(http::verb method, const std::string& target,
                 const std::string& fingerprint, Headers headers = {});
  // Call() through HandleSkippedBody() with an empty body (and the
  // header's Content-Length of a 100-byte body), as the transport does
  // after WantsBody() said false. Content type as in WantsBody().
  Response CallSkippedBody(http::verb method, const std::string& target,
                           const std::string& fingerprint,
                           Headers headers = {});
  // POST with "Content-Type: application/json" unless `headers` has one.
  Response Post(const std::string& target, const std::string& body,
                const std::string& fingerprint, Headers headers = {});
  Response Put(const std::string& target, const std::string& body,
               const std::string& fingerprint);

  // Advances the router's monotonic clock (rate limits).
  void AdvanceSteady(std::chrono::milliseconds d) { steady_ms_ += d.count(); }

  ApiRouter& router() { return *router_; }
  Store& store() { return *store_; }
  HubMetrics& metrics() { return *metrics_; }
  const std::string& db_path() const { return db_path_; }
  const std::string& dir() const { return dir_.path(); }

 private:
  Response Answer(HttpRequest request, const std::string& fingerprint,
                  bool body_skipped);

  cairn::testing::TempDir dir_;
  std::string db_path_;
  std::atomic<std::int64_t> steady_ms_{0};
  std::unique_ptr<Store> store_;
  std::unique_ptr<HubMetrics> metrics_;
  std::unique_ptr<ApiRouter> router_;
};

// Everything a request could change, for "the store is unchanged" checks.
struct StoreSnapshot {
  std::uint64_t transactions = 0;
  std::uint64_t operations = 0;
  std::uint64_t index_signals = 0;
  std::uint64_t index_keys = 0;
  std::string members;               // ListMembers() as member-list JSON
  std::vector<std::string> streams;  // feed + notifications per member
  // Row count of every table, read over a separate read-only connection.
  std::map<std::string, std::int64_t> rows;

  bool operator==(const StoreSnapshot&) const = default;
};
StoreSnapshot TakeSnapshot(ApiFixture& fixture);
// Equal in everything but the transactions/operations counters and the
// audit tables: for requests the store itself refuses (e.g. 409), whose
// transaction still counts and records the refusal in the audit log.
bool SameData(const StoreSnapshot& a, const StoreSnapshot& b);
// Multi-line summary for failure messages.
std::string Describe(const StoreSnapshot& s);

// 64 lowercase hex characters encoding the number `n` (big-endian).
std::string HexToken(std::uint64_t n);
// {"kind":KIND,"token":HexToken(n),"category":..,"severity":..,"banned_at":..}
// plus `extra` (e.g. ",\"attribution\":true") inside the object.
std::string SignalJson(std::uint64_t n, const std::string& extra = "",
                       const std::string& kind = "email",
                       const std::string& category = "grooming");
// {"signals":[SignalJson(n) for n in tokens]}
std::string SubmitBody(const std::vector<std::uint64_t>& tokens,
                       const std::string& extra = "");
// {"queries":[{"kind":"email","token":HexToken(n)}...]}
std::string QueryBody(const std::vector<std::uint64_t>& tokens);

// Writes `body` to `path`; false on failure.
bool WriteFile(const std::string& path, const std::string& body);

// Runs tests/schemas/validate_response.py once for every (schema, files)
// group ("S1 F... -- S2 F..."); returns its exit code (0 all valid, 1 some
// invalid, 2 usage error) and appends its output to `*output` when given.
int ValidateAgainstSchemas(
    const std::vector<std::pair<std::string, std::vector<std::string>>>& groups,
    std::string* output = nullptr);

}  // namespace cairn::server::apitest

#endif  // CAIRN_TESTS_SERVER_API_TEST_UTIL_H_
