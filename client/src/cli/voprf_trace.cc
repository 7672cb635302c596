#include "src/cli/voprf_trace.h"

#include <algorithm>

#include <sodium.h>

#include "cairn/wire.h"
#include "src/certificates.h"
#include "src/reply_error.h"

namespace cairn::cli {
namespace {

// One exchange; a reply that is not 2xx is the error the SDK's calls give
// for it (so `cairn token` exits as the other commands do).
Result<std::string> Exchange(Connection& connection,
                             const ClientOptions& options,
                             const HttpRequest& request) {
  auto reply = connection.Send(request);
  if (!reply) return tl::unexpected(reply.error());
  if (reply->status < 200 || reply->status > 299) {
    std::string fingerprint;
    if (reply->status == 403 && !options.cert_file.empty()) {
      auto fp = client_internal::CertificateFingerprint(options.cert_file);
      if (fp) fingerprint = std::move(*fp);
    }
    return tl::unexpected(
        client_internal::ReplyError(*reply, options.retry, fingerprint));
  }
  return std::move(reply->body);
}

}  // namespace

Result<VoprfTrace> TraceVoprf(Connection& connection,
                              const ClientOptions& options,
                              std::span<const Token> inputs) {
  auto me_body = Exchange(connection, options, {"GET", "/v1/me", {}, {}, true});
  if (!me_body) return tl::unexpected(me_body.error());
  auto me = wire::DecodeMeResponse(*me_body);
  if (!me) return tl::unexpected(me.error());
  if (!me->oprf) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the hub does not offer token scheme voprf-v1 (no "
                     "\"oprf\" block in /v1/me); use --scheme hmac-v1 or ask "
                     "the hub operator to enable [oprf]");
  }
  VoprfTrace trace;
  trace.epoch = me->oprf->epoch;
  trace.public_key = me->oprf->public_key;
  trace.steps.resize(inputs.size());

  std::vector<oprf::Scalar> blinds(inputs.size());
  wire::OprfEvaluateRequest request;
  request.epoch = trace.epoch;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    trace.steps[i].x = inputs[i];
    auto blinded = oprf::Blind(inputs[i], oprf::Mode::kVoprf);
    if (!blinded) return tl::unexpected(blinded.error());
    blinds[i] = blinded->blind;
    trace.steps[i].blinded_element = blinded->blinded_element;
    request.elements.push_back(blinded->blinded_element);
  }
  auto body =
      Exchange(connection, options,
               {"POST", "/v1/oprf/evaluate", wire::Encode(request), {}, true});
  if (!body) return tl::unexpected(body.error());
  auto response = wire::DecodeOprfEvaluateResponse(*body);
  if (!response) return tl::unexpected(response.error());
  if (response->evaluated.size() != inputs.size()) {
    trace.proof_error =
        "the hub returned " + std::to_string(response->evaluated.size()) +
        " evaluated elements for " + std::to_string(inputs.size());
    return trace;
  }
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    trace.steps[i].evaluated_element = response->evaluated[i];
  }
  std::vector<oprf::ByteView> views(inputs.begin(), inputs.end());
  auto outputs =
      oprf::FinalizeBatch(views, blinds, request.elements, response->evaluated,
                          response->proof, trace.public_key);
  sodium_memzero(blinds.data(), blinds.size() * sizeof(oprf::Scalar));
  if (!outputs) {
    trace.proof_error = outputs.error().message;
    return trace;
  }
  trace.proof_ok = true;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    std::copy_n((*outputs)[i].begin(), 32, trace.steps[i].token.begin());
  }
  return trace;
}

}  // namespace cairn::cli
