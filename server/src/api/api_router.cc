#include "server/src/api/api_router.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include "cairn/wire/error.h"
#include "server/src/api/access_log.h"
#include "server/src/api/call.h"
#include "server/src/store/record_ids.h"
#include "server/src/store/standing.h"

namespace cairn::server {
namespace http = boost::beast::http;

namespace {

// From record_ids' per-thread buffer: randombytes_buf is a getrandom
// system call per call, once per request on the connection threads.
std::string NewRequestId() { return store_internal::NewId("r_"); }

Method ToMethod(http::verb verb) {
  switch (verb) {
    case http::verb::get:
      return Method::kGet;
    case http::verb::post:
      return Method::kPost;
    case http::verb::put:
      return Method::kPut;
    default:
      return Method::kOther;
  }
}

// "application/json", optionally with parameters ("; charset=utf-8").
bool IsJsonContentType(std::string_view value) {
  const auto semicolon = value.find(';');
  std::string_view type = value.substr(0, semicolon);
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  if (type.size() != 16) return false;
  constexpr std::string_view kJson = "application/json";
  for (std::size_t i = 0; i < type.size(); ++i) {
    char c = type[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kJson[i]) return false;
  }
  return true;
}

// The member whose certificate `peer` has, suspended or not; none for a
// certificate that is no member's (unregistered or revoked) and for the
// plain metrics listener's peer.
std::optional<AuthenticatedMember> MemberOf(const Store& store,
                                            const PeerIdentity& peer) {
  if (peer.fingerprint.empty()) return std::nullopt;
  return store.Authenticate(peer.fingerprint);
}

}  // namespace

void ApiRouter::Call::Finish(int status, std::string body,
                             std::string_view content_type) {
  if (finished.exchange(true)) {
    spdlog::error("request {}: answered twice (bug); second answer dropped",
                  request_id);
    return;
  }
  HttpResponse response{static_cast<http::status>(status), request.version()};
  response.set(
      http::field::content_type,
      boost::beast::string_view(content_type.data(), content_type.size()));
  response.set("X-Request-Id", request_id);
  response.set(http::field::cache_control, "no-store");
  response.body() = std::move(body);
  if (close_connection) response.set(http::field::connection, "close");
  if (route.wrong_method && status == 405) {
    response.set(http::field::allow,
                 boost::beast::string_view(route.allowed_method.data(),
                                           route.allowed_method.size()));
  }
  const auto latency = steady_now() - start;
  metrics->RecordRequest(route.endpoint, status,
                         std::chrono::duration<double>(latency).count());
  WriteAccessLine(access_log,
                  AccessLine{.request_id = request_id,
                             .member_id = member.member_id,
                             .peer = peer,
                             .endpoint = EndpointName(route.endpoint),
                             .status = status,
                             .error = error,
                             .items = items,
                             .latency = latency});
  respond(std::move(response));
}

void ApiRouter::Call::AuditWithoutWaiting(Store& store, std::string action,
                                          std::string details) const {
  AuditEvent event;
  event.request_id = request_id;
  event.actor = member.member_id;
  event.fingerprint = peer.fingerprint;
  event.action = action;
  event.details = std::move(details);
  store.RecordAudit(std::move(event), [request_id = request_id,
                                       action = std::move(action)](Status s) {
    if (!s) {
      spdlog::error("request {}: audit entry for {} not written: {}",
                    request_id, action, s.error().ToString());
    }
  });
}

void ApiRouter::Call::Fail(const Error& error) {
  this->error =
      error.code == ErrorCode::kIo ? ErrorCode::kUnavailable : error.code;
  if (error.code == ErrorCode::kIo) {
    // A local I/O failure of the hub (its disk, its files) is transient for
    // the member, and its details are for the operator, not the member.
    spdlog::error("request_id={} storage I/O error: {}", request_id,
                  error.message);
    Finish(503, wire::EncodeErrorBody(Error{
                    ErrorCode::kUnavailable,
                    "the hub could not reach its storage; nothing was "
                    "changed: retry later, and if it persists give the hub "
                    "operator this request id (" +
                        request_id + ")",
                    std::string(), std::nullopt}));
    return;
  }
  Finish(HttpStatusFor(error.code), wire::EncodeErrorBody(error));
}

void ApiRouter::Call::Fail(ErrorCode code, std::string message,
                           std::string field) {
  Fail(Error{code, std::move(message), std::move(field), std::nullopt});
}

ApiRouter::ApiRouter(Store& store, HubMetrics& metrics, ApiOptions options)
    : store_(store),
      metrics_(metrics),
      options_(std::move(options)),
      limiter_(options_.rate_limits, options_.steady_now) {
  if (!options_.steady_now) {
    options_.steady_now = [] { return std::chrono::steady_clock::now(); };
  }
  access_log_ = std::make_unique<AccessLogLimiter>(options_.access_log,
                                                   options_.steady_now);
  if (options_.read_threads > 0) {
    reads_ = std::make_unique<boost::asio::thread_pool>(options_.read_threads);
    reports_ = std::make_unique<boost::asio::thread_pool>(1);
  }
}

ApiRouter::~ApiRouter() { FinishReads(); }

void ApiRouter::FinishReads() {
  // Reads already posted still answer their calls.
  if (reads_) reads_->join();
  if (reports_) reports_->join();
  // The summaries of windows still open, before the hub's last lines.
  access_log_->Flush(/*everything=*/true);
  // The reports' read-only connection must close before the store's
  // writer does, or SQLite leaves the WAL beside cairn.db (sqlite_store.cc).
  options_.reports.reset();
}

void ApiRouter::RunRead(const CallPtr& call, ReadKind kind,
                        void (ApiRouter::*handler)(const CallPtr&)) {
  if (!reads_) return (this->*handler)(call);
  // GET handlers read no body; a queued call must not hold one (up to
  // max_body_bytes) while it waits.
  std::string().swap(call->request.body());
  boost::asio::post(kind == ReadKind::kReport ? *reports_ : *reads_,
                    [this, call, handler] { (this->*handler)(call); });
}

void ApiRouter::RunReport(const CallPtr& call,
                          void (ApiRouter::*handler)(const CallPtr&)) {
  if (!reports_) return (this->*handler)(call);
  const std::string member_id = call->member.member_id;
  std::optional<ErrorCode> refused;
  std::uint64_t retry_after = 1;
  std::size_t pending = 0;
  {
    std::lock_guard lock(reports_mu_);
    pending = reports_pending_;
    // A guess at the wait: the reports ahead, each as long as the last.
    const double last = std::chrono::duration<double>(last_report_).count();
    retry_after = std::max<std::uint64_t>(
        1, static_cast<std::uint64_t>(
               std::ceil(last * static_cast<double>(pending))));
    std::size_t& mine = reports_by_member_[member_id];
    if (mine >= options_.reports_per_member) {
      refused = ErrorCode::kRateLimited;
    } else if (reports_pending_ >= options_.reports_pending) {
      refused = ErrorCode::kUnavailable;
    } else {
      ++mine;
      ++reports_pending_;
    }
    if (mine == 0) reports_by_member_.erase(member_id);
  }
  if (refused) {
    auto respond = std::move(call->respond);
    call->respond = [respond = std::move(respond),
                     retry_after](HttpResponse response) {
      response.set(http::field::retry_after, std::to_string(retry_after));
      respond(std::move(response));
    };
    if (*refused == ErrorCode::kRateLimited) {
      metrics_.AddRateLimited();
      return call->Fail(
          ErrorCode::kRateLimited,
          "member '" + member_id +
              "' already has a report queued or running on this hub, which "
              "serves one report at a time; wait for its answer, then retry "
              "after " +
              std::to_string(retry_after) + " s (Retry-After header)");
    }
    return call->Fail(ErrorCode::kUnavailable,
                      "the hub has " + std::to_string(pending) +
                          " reports queued or running, as many as it "
                          "queues; nothing was read: retry after " +
                          std::to_string(retry_after) +
                          " s (Retry-After header)");
  }
  // The slot is free again just before the answer goes out, so that the
  // member's next request (the next page of matches) is not refused.
  auto started = std::make_shared<std::chrono::steady_clock::time_point>(
      options_.steady_now());
  call->respond = [this, member_id, started,
                   respond = std::move(call->respond)](HttpResponse response) {
    {
      std::lock_guard lock(reports_mu_);
      last_report_ = options_.steady_now() - *started;
      --reports_pending_;
      if (const auto it = reports_by_member_.find(member_id);
          it != reports_by_member_.end() && --it->second == 0) {
        reports_by_member_.erase(it);
      }
    }
    respond(std::move(response));
  };
  std::string().swap(call->request.body());
  boost::asio::post(*reports_, [this, call, handler, started] {
    if (options_.report_hook_for_testing) options_.report_hook_for_testing();
    *started = options_.steady_now();
    (this->*handler)(call);
  });
}

std::optional<ApiRouter::Refusal> ApiRouter::CheckCaller(
    const Route& route, const HttpRequestHeader& header,
    const PeerIdentity& peer, AuthenticatedMember& member) const {
  auto found = store_.Authenticate(peer.fingerprint);
  if (!found) {
    return Refusal{ErrorCode::kPermissionDenied,
                   store_.IsRevokedFingerprint(peer.fingerprint)
                       ? RevokedCertificateMessage(peer.fingerprint)
                       : UnregisteredCertificateMessage(peer.fingerprint),
                   /*not_active_member=*/true};
  }
  member = std::move(*found);
  // The store checks all three again where a command commits: a
  // suspension, revocation or role change may commit while the body is
  // read.
  if (member.suspended) {
    return Refusal{
        ErrorCode::kPermissionDenied,
        SuspendedMemberMessage(member.member_id, member.suspended_reason),
        /*not_active_member=*/true};
  }
  if (const auto role = RequiredRole(route.endpoint);
      role && !HasRole(member.roles, *role)) {
    return Refusal{ErrorCode::kPermissionDenied,
                   MissingRoleMessage(*role, member.member_id)};
  }
  const auto method = header.method();
  if (method == http::verb::post || method == http::verb::put) {
    const auto it = header.find(http::field::content_type);
    if (it == header.end() || !IsJsonContentType(std::string_view(
                                  it->value().data(), it->value().size()))) {
      return Refusal{ErrorCode::kUnsupportedMedia,
                     "send the body as JSON with 'Content-Type: "
                     "application/json'"};
    }
  }
  return std::nullopt;
}

bool ApiRouter::WantsBody(const HttpRequestHeader& header,
                          const PeerIdentity& peer) {
  const std::string_view target(header.target().data(), header.target().size());
  const Route route =
      MatchRoute(ToMethod(header.method()), target.substr(0, target.find('?')));
  if (route.endpoint == Endpoint::kUnknown) return false;
  if (route.endpoint == Endpoint::kHealthz) return true;
  if (peer.fingerprint.empty()) return route.endpoint == Endpoint::kMetrics;
  AuthenticatedMember member;
  return !CheckCaller(route, header, peer, member).has_value();
}

void ApiRouter::Handle(HttpRequest request, const PeerIdentity& peer,
                       std::function<void(HttpResponse)> respond) {
  Dispatch(std::move(request), peer, std::move(respond), false);
}

void ApiRouter::HandleSkippedBody(HttpRequest request, const PeerIdentity& peer,
                                  std::function<void(HttpResponse)> respond) {
  Dispatch(std::move(request), peer, std::move(respond), true);
}

void ApiRouter::LogRefused(const RefusedRequest& refused,
                           const PeerIdentity& peer) {
  // A request whose request line could not be read is "-" in the log (so
  // an operator can tell it from a path that is none) and "unknown" in
  // the metrics, whose endpoint labels are a fixed set.
  Endpoint endpoint = Endpoint::kUnknown;
  if (!refused.method.empty()) {
    const std::string_view target = refused.target;
    endpoint = MatchRoute(ToMethod(http::string_to_verb(refused.method)),
                          target.substr(0, target.find('?')))
                   .endpoint;
  }
  metrics_.RecordRequest(
      endpoint, refused.status,
      std::chrono::duration<double>(refused.latency).count());
  // The member's name if the certificate has one, as the router's lines
  // give it: the transport knows only the certificate. A suspended member
  // is still named.
  const std::optional<AuthenticatedMember> member = MemberOf(store_, peer);
  WriteAccessLine(
      access_log_.get(),
      AccessLine{.request_id = refused.request_id,
                 .member_id = member ? std::string_view(member->member_id)
                                     : std::string_view(),
                 .peer = peer,
                 .endpoint = refused.method.empty() ? std::string_view("-")
                                                    : EndpointName(endpoint),
                 .status = refused.status,
                 .error = refused.error,
                 .items = 0,
                 .latency = refused.latency,
                 .caller_caused = refused.caller_caused});
}

void ApiRouter::Dispatch(HttpRequest request, const PeerIdentity& peer,
                         std::function<void(HttpResponse)> respond,
                         bool body_skipped) {
  auto call = std::make_shared<Call>();
  call->start = options_.steady_now();
  call->steady_now = options_.steady_now;
  call->metrics = &metrics_;
  call->access_log = access_log_.get();
  call->respond = std::move(respond);
  call->request_id = NewRequestId();
  call->peer = peer;

  const std::string_view target(request.target().data(),
                                request.target().size());
  const auto question = target.find('?');
  const std::string_view path = target.substr(0, question);
  if (question != std::string_view::npos) {
    call->query_string = std::string(target.substr(question + 1));
  }
  call->route = MatchRoute(ToMethod(request.method()), path);
  call->request = std::move(request);

  if (call->route.endpoint == Endpoint::kUnknown) {
    // Named in the access line, as on the transport's refusals
    // (LogRefused): the member is the caller its 4xx lines are capped by,
    // and with only the certificate here the same member would have a
    // second cap. A certificate that is no member's is the caller itself
    // on both.
    if (auto member = MemberOf(store_, peer)) {
      call->member = std::move(*member);
    }
    // A certificate that is no active member's has nothing to gain from
    // the connection (see the refusals below).
    call->close_connection =
        !peer.fingerprint.empty() &&
        (call->member.member_id.empty() || call->member.suspended);
    if (call->route.wrong_method) {
      call->Fail(ErrorCode::kMethodNotAllowed,
                 "this path accepts only " +
                     std::string(call->route.allowed_method) +
                     "; see docs/protocol.md");
    } else {
      call->Fail(ErrorCode::kNotFound,
                 "no such endpoint; the API is described in "
                 "schemas/openapi.yaml and docs/protocol.md");
    }
    return;
  }

  // The liveness probe answers any peer that completed the TLS handshake,
  // so that a monitoring certificate need not be a member.
  if (call->route.endpoint == Endpoint::kHealthz) {
    HandleHealthz(call);
    return;
  }

  // Only the loopback-only plain metrics listener hands over a peer without
  // a certificate, and it forwards nothing but GET /metrics.
  if (peer.fingerprint.empty()) {
    if (call->route.endpoint == Endpoint::kMetrics) {
      HandleMetrics(call);
    } else {
      call->Fail(ErrorCode::kUnauthenticated,
                 "a client certificate is required for this endpoint");
    }
    return;
  }

  if (auto refusal =
          CheckCaller(call->route, call->request, peer, call->member)) {
    // A certificate that is no active member's gets nothing but /healthz
    // (above): its connection ends with this answer, so that it cannot
    // hold connections open with requests it knows will be refused.
    call->close_connection = refusal->not_active_member;
    call->Fail(refusal->code, std::move(refusal->message));
    return;
  }
  if (body_skipped) {
    call->Fail(ErrorCode::kUnavailable,
               "this caller's standing with the hub changed while the "
               "request was being read (for example the operator resumed "
               "the member), and its body was not kept; send the request "
               "again");
    return;
  }

  switch (call->route.endpoint) {
    case Endpoint::kMetrics:
      if (Admit(call, 1)) HandleMetrics(call);
      return;
    case Endpoint::kMe:
      if (Admit(call, 1)) HandleMe(call);
      return;
    // The batch endpoints: the request is charged here, so that a body
    // that fails to decode costs like any other; the handlers charge the
    // items once they are counted.
    case Endpoint::kSubmitSignals:
      if (Admit(call, 0)) HandleSubmit(call);
      return;
    case Endpoint::kRetractSignals:
      if (Admit(call, 0)) HandleRetract(call);
      return;
    case Endpoint::kQuery:
      if (Admit(call, 0)) HandleQuery(call);
      return;
    case Endpoint::kDisposition:
      if (Admit(call, 1)) HandleDisposition(call);
      return;
    case Endpoint::kFeed:
      if (Admit(call, 1))
        RunRead(call, ReadKind::kPage, &ApiRouter::HandleFeed);
      return;
    case Endpoint::kNotifications:
      if (Admit(call, 1))
        RunRead(call, ReadKind::kPage, &ApiRouter::HandleNotifications);
      return;
    case Endpoint::kOprfEvaluate:
      if (Admit(call, 0)) HandleOprfEvaluate(call);
      return;
    case Endpoint::kReportsSummary:
      if (Admit(call, 1)) RunReport(call, &ApiRouter::HandleReportsSummary);
      return;
    case Endpoint::kReportsMatches:
      if (Admit(call, 1)) RunReport(call, &ApiRouter::HandleReportsMatches);
      return;
    case Endpoint::kAuditCheckpoints:
      if (Admit(call, 1))
        RunRead(call, ReadKind::kPage, &ApiRouter::HandleAuditCheckpoints);
      return;
    case Endpoint::kAdminRotateKeys:
      if (Admit(call, 1)) HandleAdminRotateKeys(call);
      return;
    case Endpoint::kHealthz:
    case Endpoint::kUnknown:
      break;  // handled above
    default:
      if (Admit(call, 1)) HandleAdmin(call);
      return;
  }
  call->Fail(ErrorCode::kInternal, "unrouted endpoint (bug)");
}

bool ApiRouter::WithinBatchLimit(const CallPtr& call, std::string_view field) {
  if (call->items <= options_.max_batch) return true;
  call->Fail(ErrorCode::kInvalidArgument,
             "too many items: this hub accepts at most " +
                 std::to_string(options_.max_batch) + " per request, not " +
                 std::to_string(call->items) +
                 " (GET /v1/me limits.max_batch); split the batch",
             std::string(field));
  return false;
}

bool ApiRouter::Admit(const CallPtr& call, std::uint64_t items,
                      bool count_request) {
  const auto retry_after =
      limiter_.Admit(call->member.member_id, items, count_request);
  if (retry_after == 0) return true;
  metrics_.AddRateLimited();
  // Finish() owns the response; attach Retry-After by wrapping respond.
  auto respond = std::move(call->respond);
  call->respond = [respond = std::move(respond),
                   retry_after](HttpResponse response) {
    response.set(http::field::retry_after, std::to_string(retry_after));
    respond(std::move(response));
  };
  call->Fail(ErrorCode::kRateLimited,
             "member '" + call->member.member_id +
                 "' is over its request or item rate limit; retry after " +
                 std::to_string(retry_after) + " s (Retry-After header)");
  return false;
}

}  // namespace cairn::server
