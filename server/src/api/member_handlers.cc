// The member endpoints: me, submit, retract, query, disposition, feed,
// notifications, plus healthz and metrics.

#include "cairn/receipt.h"
#include "cairn/wire.h"
#include "server/src/api/api_router.h"
#include "server/src/api/call.h"
#include "server/src/api/sequence_cursor.h"
#include "server/src/api/wire_mapping.h"
#include "server/src/keys/hub_keyring.h"
#include "server/src/keys/receipt_signer.h"
#include "server/src/oprf/oprf_evaluator.h"
#include "server/src/store/submit_records.h"

namespace cairn::server {
namespace http = boost::beast::http;

namespace {

// Decoding errors of batch bodies carry the item index; keep it.
void FailDecode(const ApiRouter::CallPtr& call, const Error& error) {
  call->Fail(error);
}

std::string_view Body(const ApiRouter::CallPtr& call) {
  return call->request.body();
}

// The request digest of a receipt, taken before the body may be released;
// empty when the hub signs no receipts.
std::string RequestDigest(const std::shared_ptr<HubKeyring>& keyring,
                          const ApiRouter::CallPtr& call) {
  return keyring ? Sha256Hex(Body(call)) : std::string();
}

// The request's Idempotency-Key header into `key` (left empty without
// one). Fails the call and returns false when it is malformed.
bool ReadIdempotencyKey(const ApiRouter::CallPtr& call, std::string* key) {
  const auto it = call->request.find("Idempotency-Key");
  if (it == call->request.end()) return true;
  *key = std::string(it->value());
  if (wire::IsWellFormedIdempotencyKey(*key)) return true;
  call->Fail(ErrorCode::kInvalidArgument,
             "Idempotency-Key must be 1..128 visible ASCII characters",
             "Idempotency-Key");
  return false;
}

// Adds the hub's signed receipt to `response` when the hub has keys.
template <typename Response, typename Items>
void AddReceipt(const std::shared_ptr<HubKeyring>& keyring,
                const ApiRouter::CallPtr& call, std::string_view endpoint,
                std::string request_digest, const Items& items,
                Response& response) {
  if (!keyring) return;
  response.receipt =
      SignReceipt(*keyring, call->member.member_id, call->request_id, endpoint,
                  std::move(request_digest), ResultsDigest(items));
}

}  // namespace

void ApiRouter::HandleHealthz(const CallPtr& call) {
  wire::HealthResponse health;
  health.store_writable = store_.IsWritable();
  health.store_files_intact = store_.FilesIntact();
  health.clock_ok = !options_.clock_stepped || !options_.clock_stepped();
  // A clock step is reported, not counted as degraded: the hub serves
  // correctly meanwhile (deletions are only held), and a 503 would make a
  // load balancer take the only hub out of service for the hold's hour.
  health.ok = health.store_writable && health.store_files_intact;
  call->Finish(health.ok ? 200 : 503, wire::Encode(health));
}

void ApiRouter::HandleMetrics(const CallPtr& call) {
  call->Finish(200, metrics_.Render(), "text/plain; version=0.0.4");
}

void ApiRouter::HandleMe(const CallPtr& call) {
  wire::MeResponse me;
  me.member_id = call->member.member_id;
  me.name = call->member.name;
  me.roles = RolesOf(call->member.roles);
  me.fingerprint = call->peer.fingerprint;
  me.limits.max_batch = static_cast<std::uint32_t>(options_.max_batch);
  me.limits.max_body_bytes = options_.max_body_bytes;
  me.limits.requests_per_second =
      static_cast<std::uint32_t>(options_.rate_limits.requests_per_second);
  me.limits.items_per_second =
      static_cast<std::uint32_t>(options_.rate_limits.items_per_second);
  me.token_schemes = options_.token_schemes;
  if (options_.keyring) {
    me.hub_keys = ToWireKeys(options_.keyring->PublicKeys());
  }
  if (options_.oprf) me.oprf = options_.oprf->Info();
  call->Finish(200, wire::Encode(me));
}

void ApiRouter::HandleSubmit(const CallPtr& call) {
  auto decoded = wire::DecodeSubmitSignalsRequest(Body(call));
  if (!decoded) return FailDecode(call, decoded.error());
  call->items = decoded->signals.size();
  if (!WithinBatchLimit(call, "signals")) return;

  std::string idempotency_key;
  if (!ReadIdempotencyKey(call, &idempotency_key)) return;
  if (!Admit(call, call->items, /*count_request=*/false)) return;

  SubmitCommand command;
  command.context = call->Context();
  command.member_id = call->member.member_id;
  command.idempotency_key = std::move(idempotency_key);
  command.items.reserve(decoded->signals.size());
  for (auto& s : decoded->signals) {
    SignalSubmission item;
    item.key = ToStoreKey(s.key);
    item.category = s.category;
    item.severity = s.severity;
    item.banned_at = s.banned_at;
    item.expires_at = s.expires_at;
    item.attribution = s.attribution;
    if (s.ref) item.ref = std::move(*s.ref);
    command.items.push_back(std::move(item));
  }
  metrics_.AddSubmitted(call->items);
  store_.Submit(std::move(command),
                [call, keyring = options_.keyring,
                 digest = RequestDigest(options_.keyring, call)](
                    Result<SubmitOutcome> outcome) {
                  if (!outcome) return call->Fail(outcome.error());
                  wire::SubmitSignalsResponse response;
                  response.request_id = call->request_id;
                  response.results.reserve(outcome->results.size());
                  for (auto& r : outcome->results) {
                    response.results.push_back(ToWireResult(std::move(r)));
                  }
                  AddReceipt(keyring, call, kSubmitEndpoint, digest,
                             response.results, response);
                  call->Finish(200, wire::Encode(response));
                });
}

void ApiRouter::HandleRetract(const CallPtr& call) {
  auto decoded = wire::DecodeRetractRequest(Body(call));
  if (!decoded) return FailDecode(call, decoded.error());
  call->items = decoded->retractions.size();
  if (!WithinBatchLimit(call, "retractions")) return;
  if (!Admit(call, call->items, /*count_request=*/false)) return;

  RetractCommand command;
  command.context = call->Context();
  command.member_id = call->member.member_id;
  command.items.reserve(decoded->retractions.size());
  for (auto& r : decoded->retractions) {
    RetractionItem item;
    if (r.key) item.key = ToStoreKey(*r.key);
    if (r.ref) item.ref = std::move(*r.ref);
    item.reason = r.reason;
    command.items.push_back(std::move(item));
  }
  store_.Retract(std::move(command),
                 [this, call, digest = RequestDigest(options_.keyring, call)](
                     Result<RetractOutcome> outcome) {
                   if (!outcome) return call->Fail(outcome.error());
                   wire::RetractResponse response;
                   response.request_id = call->request_id;
                   std::uint64_t retracted = 0;
                   for (auto& r : outcome->results) {
                     wire::RetractResult out;
                     out.index = r.index;
                     switch (r.status) {
                       case RetractStatus::kRetracted:
                         out.status = wire::RetractStatus::kRetracted;
                         retracted += r.signal_ids.size();
                         out.signal_ids = std::move(r.signal_ids);
                         break;
                       case RetractStatus::kNotFound:
                         out.status = wire::RetractStatus::kNotFound;
                         break;
                       case RetractStatus::kError:
                         out.status = wire::RetractStatus::kError;
                         out.error = ToItemError(r.error);
                         break;
                     }
                     response.results.push_back(std::move(out));
                   }
                   metrics_.AddRetracted(retracted);
                   AddReceipt(options_.keyring, call, kRetractEndpoint, digest,
                              response.results, response);
                   call->Finish(200, wire::Encode(response));
                 });
}

void ApiRouter::HandleQuery(const CallPtr& call) {
  wire::QueryRequest request;
  // The transport reserves simdjson's padding past a body of known length,
  // so the decoder parses it in place; otherwise it copies.
  if (auto status = wire::DecodeQueryRequestInto(
          Body(call), call->request.body().capacity(), &request);
      !status) {
    return FailDecode(call, status.error());
  }
  call->items = request.queries.size();
  if (!WithinBatchLimit(call, "queries")) return;
  std::string idempotency_key;
  if (!ReadIdempotencyKey(call, &idempotency_key)) return;
  if (!Admit(call, call->items, /*count_request=*/false)) return;

  QueryCommand command;
  command.context = call->Context();
  command.member_id = call->member.member_id;
  command.idempotency_key = std::move(idempotency_key);
  command.items.reserve(request.queries.size());
  for (auto& q : request.queries) {
    command.items.push_back(
        TokenKey{std::move(q.kind), q.scheme, q.epoch, q.token});
  }
  metrics_.AddQueried(call->items);
  store_.Query(std::move(command),
               [this, call, digest = RequestDigest(options_.keyring, call)](
                   Result<QueryOutcome> outcome) {
                 if (!outcome) return call->Fail(outcome.error());
                 wire::QueryResponse response;
                 response.request_id = call->request_id;
                 response.queried = outcome->queried;
                 response.matches = std::move(outcome->matches);
                 metrics_.AddMatched(response.matches.size());
                 AddReceipt(options_.keyring, call, kQueryEndpoint, digest,
                            response.matches, response);
                 call->Finish(200, wire::Encode(response));
               });
}

void ApiRouter::HandleDisposition(const CallPtr& call) {
  const std::string& match_id = call->route.param1;
  if (!wire::IsWellFormedMatchId(match_id)) {
    return call->Fail(ErrorCode::kNotFound,
                      "no match with this id; match ids look like 'm_' "
                      "followed by 32 lowercase hex characters",
                      "match_id");
  }
  auto decoded = wire::DecodeDispositionRequest(Body(call));
  if (!decoded) return FailDecode(call, decoded.error());
  call->items = 1;

  DisposeCommand command;
  command.context = call->Context();
  command.member_id = call->member.member_id;
  command.match_id = match_id;
  command.outcome = decoded->outcome;
  if (decoded->note) command.note = std::move(*decoded->note);
  store_.Dispose(std::move(command), [call](Result<DispositionRecord> record) {
    if (!record) return call->Fail(record.error());
    wire::DispositionResponse response;
    response.request_id = call->request_id;
    response.match_id = record->match_id;
    response.outcome = record->outcome;
    response.recorded_at = record->recorded_at;
    call->Finish(200, wire::Encode(response));
  });
}

void ApiRouter::HandleFeed(const CallPtr& call) {
  auto page = wire::ParsePageRequest(call->query_string);
  if (!page) return call->Fail(page.error());
  auto after = ParseStreamCursor(page->after);
  if (!after) return call->Fail(after.error());
  auto result = store_.Feed(call->member.member_id, call->peer.fingerprint,
                            *after, page->limit);
  if (!result) return call->Fail(result.error());
  wire::FeedResponse response;
  response.events.reserve(result->events.size());
  for (auto& e : result->events) {
    wire::FeedEvent out;
    out.seq = e.seq;
    out.type = e.type;
    out.signal_id = std::move(e.signal_id);
    out.key = ToWireKey(e.key);
    out.category = e.category;
    out.severity = e.severity;
    out.banned_at = e.banned_at;
    out.expires_at = e.expires_at;
    out.at = e.at;
    response.events.push_back(std::move(out));
  }
  call->items = response.events.size();
  response.cursor = FormatStreamCursor(result->next());
  response.more = result->more;
  call->Finish(200, wire::Encode(response));
}

void ApiRouter::HandleNotifications(const CallPtr& call) {
  auto page = wire::ParsePageRequest(call->query_string);
  if (!page) return call->Fail(page.error());
  auto after = ParseNotificationCursor(page->after);
  if (!after) return call->Fail(after.error());
  auto result = store_.Notifications(
      call->member.member_id, call->peer.fingerprint, *after, page->limit);
  if (!result) return call->Fail(result.error());
  wire::NotificationsResponse response;
  for (auto& n : result->notifications) {
    wire::Notification out;
    out.seq = n.seq;
    out.match_id = std::move(n.match_id);
    out.type = n.type;
    out.reason = n.reason;
    out.at = n.at;
    out.still_supported = n.still_supported;
    response.notifications.push_back(std::move(out));
  }
  call->items = response.notifications.size();
  response.cursor = FormatStreamCursor(result->next());
  response.more = result->more;
  call->Finish(200, wire::Encode(response));
}

}  // namespace cairn::server
