// POST /v1/oprf/evaluate: the hub's half of token scheme voprf-v1.
//
// The request's shape is decoded here, on the connection's thread, in time
// linear in its bytes; the checks that need only the element count (batch
// limit, daily quota cap, item rate, quota) come next, before any curve
// arithmetic, so a refused request never costs element validation. The
// validation of each blinded element (~15 us each) and the evaluation
// itself (two scalar multiplications per element and one batched DLEQ
// proof) run on the OprfEvaluator's workers, which also answer the call.
// Precedence (docs/protocol.md): malformed body or element shape 400,
// batch limit 400, unknown epoch 400, more than a day's quota 400, item
// rate 429, daily quota 429, invalid element 400.
#include <spdlog/spdlog.h>

#include "cairn/wire/oprf.h"
#include "server/src/api/api_router.h"
#include "server/src/api/call.h"
#include "server/src/oprf/oprf_evaluator.h"

namespace cairn::server {
namespace http = boost::beast::http;

void ApiRouter::HandleOprfEvaluate(const CallPtr& call) {
  if (!options_.oprf) {
    return call->Fail(ErrorCode::kNotFound,
                      "this hub does not evaluate voprf-v1 tokens (its "
                      "operator has not set [oprf] enabled = true); use "
                      "token scheme hmac-v1, or ask the operator to enable "
                      "voprf-v1");
  }
  OprfEvaluator& evaluator = *options_.oprf;
  auto decoded = wire::DecodeOprfEvaluateRequestShape(call->request.body());
  if (!decoded) return call->Fail(decoded.error());
  call->items = decoded->elements.size();
  if (!WithinBatchLimit(call, "elements")) return;
  const std::uint32_t epoch = decoded->epoch;
  if (!evaluator.keyring().HasEpoch(epoch)) {
    return call->Fail(
        ErrorCode::kInvalidArgument,
        "epoch " + std::to_string(epoch) +
            " is not an OPRF key epoch of this hub (current epoch: " +
            std::to_string(evaluator.keyring().CurrentEpoch()) +
            "); read the current epoch and public key from GET /v1/me and "
            "blind again",
        "epoch");
  }
  // A request larger than a whole day's quota would get a 429 whose
  // Retry-After it could never get past.
  if (const std::uint64_t per_day = evaluator.Info().elements_per_day;
      call->items > per_day) {
    return call->Fail(ErrorCode::kInvalidArgument,
                      std::to_string(call->items) +
                          " elements exceed this hub's daily OPRF quota of " +
                          std::to_string(per_day) +
                          " per member; send at most that many per day (in "
                          "smaller requests), or ask the hub operator for a "
                          "higher oprf.elements_per_member_per_day",
                      "elements");
  }
  if (!Admit(call, call->items, /*count_request=*/false)) return;
  // Set aside now, so that concurrent requests cannot overrun the quota;
  // charged only once the evaluated elements go out.
  auto reservation =
      evaluator.ReserveQuota(call->member.member_id, call->items);
  if (!reservation) {
    const std::uint64_t retry_after = reservation.error();
    metrics_.AddRateLimited();
    auto respond = std::move(call->respond);
    call->respond = [respond = std::move(respond),
                     retry_after](HttpResponse response) {
      response.set(http::field::retry_after, std::to_string(retry_after));
      respond(std::move(response));
    };
    return call->Fail(
        ErrorCode::kRateLimited,
        "member '" + call->member.member_id +
            "' has used its daily OPRF quota of " +
            std::to_string(evaluator.Info().elements_per_day) +
            " elements; retry after " + std::to_string(retry_after) +
            " s (Retry-After header), send fewer elements, or ask the hub "
            "operator for a higher oprf.elements_per_member_per_day");
  }

  const std::size_t count = call->items;
  evaluator.Evaluate(
      epoch, std::move(decoded->elements),
      [this, call, epoch, count, reservation = std::move(*reservation)](
          Result<oprf::BatchEvaluation> evaluation) {
        OprfEvaluator& evaluator = *options_.oprf;
        // Refused (an invalid element, the hub is shutting down) or
        // failed: nothing handed out, nothing charged.
        if (!evaluation) {
          evaluator.ReleaseQuota(reservation);
          return call->Fail(evaluation.error());
        }
        // The router checked the caller before the request was queued; a
        // suspension or revocation acknowledged since then withholds the
        // elements (the same refusal, in the same words).
        AuthenticatedMember now;
        if (auto refusal =
                CheckCaller(call->route, call->request, call->peer, now)) {
          evaluator.ReleaseQuota(reservation);
          return call->Fail(refusal->code, std::move(refusal->message));
        }
        evaluator.CommitQuota(reservation);
        // Only the count and the epoch: the elements themselves are never
        // stored or logged. The answer does not wait for the audit commit:
        // an evaluation changes no hub state to protect.
        call->AuditWithoutWaiting(store_, "oprf.evaluate",
                                  "{\"elements\":" + std::to_string(count) +
                                      ",\"epoch\":" + std::to_string(epoch) +
                                      "}");
        wire::OprfEvaluateResponse response;
        response.epoch = epoch;
        response.evaluated = std::move(evaluation->evaluated_elements);
        response.proof = evaluation->proof;
        call->Finish(200, wire::Encode(response));
      });
}

}  // namespace cairn::server
