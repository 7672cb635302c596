// ApiRouter: the hub's HTTP API as a plain RequestHandler.
//
// For each request: route (404/405), authenticate the peer's certificate
// fingerprint against the member registry (403 for unknown, revoked or
// suspended), check the endpoint's role (403 naming the role), check the
// content type (415), apply the member's rate limits (429 + Retry-After),
// then run the endpoint's handler, which decodes the body with the wire
// types, calls the Store and encodes the answer. Writes are acknowledged
// only from the Store's callback, i.e. after their commit is durable; the
// I/O thread never waits for a commit.
//
// Every request gets a request id ("r_" + 32 hex, also in the X-Request-Id
// response header) and one access-log line: request id, member, endpoint,
// status, the error code of an error answer, item count, latency. A
// caller's 4xx lines beyond ApiOptions::access_log's cap are counted
// instead, and summed up once per window (AccessLogLimiter). Tokens are
// never logged.
//
// No sockets and no coroutines here: tests and fuzzers drive it directly.
#ifndef CAIRN_SERVER_API_API_ROUTER_H_
#define CAIRN_SERVER_API_API_ROUTER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "cairn/vocabulary.h"
#include "cairn/wire/types.h"
#include "server/src/api/access_log_limiter.h"
#include "server/src/api/endpoint.h"
#include "server/src/api/metrics.h"
#include "server/src/api/rate_limiter.h"
#include "server/src/http/request_handler.h"
#include "server/src/store/store.h"

namespace boost::asio {
class thread_pool;
}  // namespace boost::asio

namespace cairn::server {

class HubKeyring;     // server/src/keys/hub_keyring.h
class OprfEvaluator;  // server/src/oprf/oprf_evaluator.h
class ReportSource;   // server/src/reports/report_source.h

struct ApiOptions {
  // Largest body the transport accepts; announced in /v1/me.
  // Default: 4 MiB.
  std::uint64_t max_body_bytes = 4 * 1024 * 1024;
  // Most items in one batch request (submit, retract, query, OPRF
  // evaluation); announced in /v1/me, where the SDK reads it to split
  // larger batches. At most wire::kMaxBatch. Default: 10,000.
  std::size_t max_batch = wire::kMaxBatch;
  // Token schemes this hub accepts; announced in /v1/me. Default: hmac-v1.
  std::vector<TokenScheme> token_schemes = {TokenScheme::kHmacV1};
  // Per-member limits. Default: see RateLimitOptions.
  RateLimitOptions rate_limits;
  // How many access-log lines of 4xx answers each caller gets.
  // Default: see AccessLogLimits.
  AccessLogLimits access_log;
  // Monotonic clock for rate limits and latency. Default: steady_clock.
  SteadyNow steady_now;
  // Evaluates POST /v1/oprf/evaluate (voprf-v1) and is announced in /v1/me.
  // Default: none (the endpoint answers 404: voprf-v1 not enabled).
  std::shared_ptr<OprfEvaluator> oprf;
  // Answers GET /v1/reports/summary and /v1/reports/matches.
  // Default: none (both answer 404: reports not enabled on this hub).
  std::shared_ptr<ReportSource> reports;
  // Signs receipts of submit, retract and query, lists the hub's public
  // keys in /v1/me and rotates them (POST /v1/admin/keys/rotate).
  // Default: none (no receipts, no hub_keys, rotate answers 404).
  std::shared_ptr<HubKeyring> keyring;
  // True while a step of the system clock is unresolved (guarded_clock.h):
  // /healthz then says "clock":"stepped", still 200 if nothing else is
  // wrong (member_handlers.cc says why).
  // Default: none (the clock is never reported stepped).
  std::function<bool()> clock_stepped;
  // Threads of the router's own that run the reads which can take long,
  // so that they never stall the connections of an I/O thread: feed,
  // notification and audit checkpoint pages run on these, reports (seconds
  // on a large hub, served one at a time) on one more thread of their own,
  // so that they never hold up the pages. 0 runs all of them on the
  // calling thread (for harnesses that want every answer before Handle
  // returns). Default: 2.
  std::size_t read_threads = 2;
  // Reports (GET /v1/reports/*) each member may have queued or running on
  // the report thread at once; one more is 429 with Retry-After, so that
  // no member can fill the report thread's queue. Default: 1.
  std::size_t reports_per_member = 1;
  // Reports queued or running at once, all members together; one more is
  // 503 with Retry-After. Default: 16.
  std::size_t reports_pending = 16;
  // Runs on the report thread before each report: tests hold the thread
  // with it. Default: none.
  std::function<void()> report_hook_for_testing;
};

class ApiRouter final : public RequestHandler {
 public:
  // REQUIRES: `store` and `metrics` outlive the router.
  ApiRouter(Store& store, HubMetrics& metrics, ApiOptions options);
  ~ApiRouter() override;

  void Handle(HttpRequest request, const PeerIdentity& peer,
              std::function<void(HttpResponse)> respond) override;
  bool WantsBody(const HttpRequestHeader& header,
                 const PeerIdentity& peer) override;
  void HandleSkippedBody(HttpRequest request, const PeerIdentity& peer,
                         std::function<void(HttpResponse)> respond) override;
  // The access-log line and the cairn_requests_total count of a refusal
  // the transport answered itself, as for the router's own answers (and
  // under the same cap).
  void LogRefused(const RefusedRequest& refused,
                  const PeerIdentity& peer) override;

  // Waits for the reads already handed to the read threads (reports,
  // stream pages) to finish, then releases the report source (and so its
  // database connection, if the router held the last reference). Call
  // after the transport has stopped and before the store goes: those reads
  // use it. No request may be handed in afterwards. Idempotent; the
  // destructor calls it too.
  void FinishReads();

  struct Call;  // one request in flight; defined in api_router.cc
  using CallPtr = std::shared_ptr<Call>;

 private:
  struct Refusal {
    ErrorCode code;
    std::string message;
    // The certificate is no active member's (unregistered, revoked,
    // suspended): the connection closes after the answer.
    bool not_active_member = false;
  };
  // Whether the certificate's member may call `route` with this header
  // (registered, not suspended, has the role, JSON content type); sets
  // `member` when registered. Shared by Handle and WantsBody so that a
  // request refused before its body gets the same answer.
  std::optional<Refusal> CheckCaller(const Route& route,
                                     const HttpRequestHeader& header,
                                     const PeerIdentity& peer,
                                     AuthenticatedMember& member) const;

  // Handle and HandleSkippedBody: with `body_skipped`, a caller that
  // passes CheckCaller now (it did not when WantsBody asked) gets a
  // retryable 503 instead of being served without its body.
  void Dispatch(HttpRequest request, const PeerIdentity& peer,
                std::function<void(HttpResponse)> respond, bool body_skipped);

  // Endpoint handlers. Each ends the call exactly once, possibly later from
  // the store's writer thread.
  void HandleHealthz(const CallPtr& call);
  void HandleMetrics(const CallPtr& call);
  void HandleMe(const CallPtr& call);
  void HandleSubmit(const CallPtr& call);
  void HandleRetract(const CallPtr& call);
  void HandleQuery(const CallPtr& call);
  void HandleDisposition(const CallPtr& call);
  void HandleFeed(const CallPtr& call);
  void HandleNotifications(const CallPtr& call);
  void HandleAdmin(const CallPtr& call);
  void HandleOprfEvaluate(const CallPtr& call);      // oprf_handlers.cc
  void HandleReportsSummary(const CallPtr& call);    // report_handlers.cc
  void HandleReportsMatches(const CallPtr& call);    // report_handlers.cc
  void HandleAuditCheckpoints(const CallPtr& call);  // audit_handlers.cc
  void HandleAdminRotateKeys(const CallPtr& call);   // key_handlers.cc

  // Runs `handler` on the read threads, or the report thread
  // (ApiOptions::read_threads). The request's body (none is read) is not
  // kept while the call waits there.
  enum class ReadKind { kPage, kReport };
  void RunRead(const CallPtr& call, ReadKind kind,
               void (ApiRouter::*handler)(const CallPtr&));
  // RunRead(kReport) within ApiOptions::reports_per_member and
  // reports_pending; answers 429 or 503 with Retry-After beyond them.
  void RunReport(const CallPtr& call,
                 void (ApiRouter::*handler)(const CallPtr&));

  // Rate-limits one request with `items` items (or, with count_request =
  // false, only the items of a request already charged); returns false
  // (and has answered 429) when the member is over its limit.
  bool Admit(const CallPtr& call, std::uint64_t items,
             bool count_request = true);

  // Checks call->items against options_.max_batch; returns false (and has
  // answered 400 on `field`) when the batch is larger.
  bool WithinBatchLimit(const CallPtr& call, std::string_view field);

  Store& store_;
  HubMetrics& metrics_;
  ApiOptions options_;
  RateLimiter limiter_;
  std::unique_ptr<AccessLogLimiter> access_log_;
  std::unique_ptr<boost::asio::thread_pool> reads_;    // null: read_threads 0
  std::unique_ptr<boost::asio::thread_pool> reports_;  // null: read_threads 0
  // Reports handed to reports_ and not yet answered: by member, and all.
  std::mutex reports_mu_;
  std::unordered_map<std::string, std::size_t> reports_by_member_;
  std::size_t reports_pending_ = 0;                    // guarded by reports_mu_
  std::chrono::steady_clock::duration last_report_{};  // guarded, too
};

}  // namespace cairn::server

#endif  // CAIRN_SERVER_API_API_ROUTER_H_
