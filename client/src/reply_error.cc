#include "src/reply_error.h"

#include <algorithm>
#include <string>

#include "cairn/wire/error.h"
#include "src/certificates.h"
#include "src/retry.h"

namespace cairn::client_internal {

Error ReplyError(const HttpReply& reply, const RetryPolicy& retry,
                 std::string_view fingerprint) {
  Error error;
  auto decoded = wire::DecodeErrorBody(reply.body);
  // A 502 or 504 (the hub never sends either), or a 5xx without a Cairn
  // error body, comes from something between this client and the hub: the
  // request may have reached the hub and been carried out, and only its
  // answer was lost. That is kIo, as for a reply lost on the connection,
  // so that callers (the CLI's exit 5) do not take it for the hub's own
  // "nothing was changed". The retry policy decides on the status itself.
  const bool gateway = reply.status == 502 || reply.status == 504;
  if (decoded && !gateway) {
    error = std::move(*decoded);
  } else if (reply.status >= 500) {
    error.code = ErrorCode::kIo;
    error.message =
        "an HTTP " + std::to_string(reply.status) +
        (decoded ? " saying '" + decoded->message + "'"
                 : std::string(" without a Cairn error body")) +
        " came instead of the hub's answer, from a proxy in front of the hub "
        "(or from whatever answers at hub_url, if that is not a Cairn hub); "
        "the request may or may not have been processed: check before "
        "repeating one that changes something, and if this persists check "
        "hub_url and the proxy";
  } else {
    error.code =
        reply.status == 429 ? ErrorCode::kRateLimited : ErrorCode::kInternal;
    error.message = "the hub answered HTTP " + std::to_string(reply.status) +
                    " without a Cairn error body; is the URL a Cairn hub (or "
                    "a proxy in front of it)?";
  }
  if (reply.status == 403 &&
      error.message.find("not registered") != std::string::npos) {
    error.message =
        "the hub rejected this client certificate (fingerprint " +
        (fingerprint.empty() ? std::string("unknown") : ColonHex(fingerprint)) +
        "): is it registered with the hub operator? (hub said: " +
        error.message + ")";
  } else if (reply.status == 429) {
    // Every connection of a Client retries a 429 until the policy's
    // attempts are used up, unless the hub asks for a longer wait than the
    // policy accepts.
    const auto after = ParseRetryAfter(reply.Header("Retry-After"));
    const int attempts = std::max(1, retry.max_attempts);
    if (after && !RetryAfterAccepted(retry, *after)) {
      error.message +=
          "; Retry-After: " + std::to_string(after->count()) +
          " s, longer than this client waits (RetryPolicy::max_retry_after, " +
          std::to_string(retry.max_retry_after.count()) +
          " s), so it was not retried: call again after that time, or ask "
          "the operator for higher limits";
    } else {
      error.message +=
          (attempts > 1
               ? "; retried, " + std::to_string(attempts) + " attempts in all"
               : std::string("; not retried (RetryPolicy::max_attempts "
                             "is 1)")) +
          (after ? "; Retry-After: " + std::to_string(after->count()) + " s"
                 : std::string()) +
          "; slow down or ask the operator for higher limits";
    }
  }
  if (auto id = reply.Header("X-Request-Id"); !id.empty()) {
    error.message += " [request " + std::string(id) + "]";
  }
  return error;
}

}  // namespace cairn::client_internal
