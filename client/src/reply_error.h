// What a hub reply that is not 2xx means to the caller (internal): one
// mapping for every SDK call and the CLI commands that send requests
// themselves (`cairn token --scheme voprf-v1`), so that a status gets the
// same error code, and so the same `cairn` exit code, wherever it comes.
#ifndef CAIRN_CLIENT_SRC_REPLY_ERROR_H_
#define CAIRN_CLIENT_SRC_REPLY_ERROR_H_

#include <string_view>

#include "cairn/connection.h"
#include "cairn/options.h"
#include "cairn/result.h"

namespace cairn::client_internal {

// The error for `reply` (status outside 200..299):
// - the hub's own error (a Cairn error body) as it is;
// - kIo for a 502 or 504 (the hub never sends either) or any 5xx without
//   a Cairn error body: it came from something between the client and the
//   hub, and the request may have been carried out (outcome unknown);
// - kRateLimited for a body-less 429, kInternal for any other body-less
//   status (not a Cairn hub at that URL?).
// A 403 saying the certificate is not registered names `fingerprint` (64
// hex of the client certificate; "unknown" when empty); a 429 says whether
// `retry` retried it; the reply's X-Request-Id is appended.
Error ReplyError(const HttpReply& reply, const RetryPolicy& retry,
                 std::string_view fingerprint);

}  // namespace cairn::client_internal

#endif  // CAIRN_CLIENT_SRC_REPLY_ERROR_H_
