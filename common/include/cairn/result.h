// Errors as values for the whole project.
//
// Every fallible function on a module boundary returns Result<T>: either a T
// or an Error with a machine-readable code and a message written for the
// person who will read it, saying what went wrong and what to do about it.
#ifndef CAIRN_RESULT_H_
#define CAIRN_RESULT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

namespace cairn {

// Stable error codes. The lowercase names returned by ErrorCodeName() appear
// on the wire in {"error":{"code":...}}; never renumber or rename them.
enum class ErrorCode : std::uint8_t {
  kInvalidArgument,   // input malformed or out of bounds (HTTP 400)
  kUnauthenticated,   // no usable client identity (HTTP 401)
  kPermissionDenied,  // identity known but not allowed (HTTP 403)
  kNotFound,          // no such resource (HTTP 404)
  kMethodNotAllowed,  // wrong HTTP method (HTTP 405)
  kConflict,          // state conflict, e.g. already exists (HTTP 409)
  kPayloadTooLarge,   // body over the limit (HTTP 413)
  kUnsupportedMedia,  // wrong content type (HTTP 415)
  kHeadersTooLarge,   // request header over the limit (HTTP 431)
  kRateLimited,       // quota exhausted, retry later (HTTP 429)
  kUnavailable,       // transient: store busy, disk full (HTTP 503)
  kInternal,          // a bug or an unexpected failure (HTTP 500)
  // A local file or OS error; in the SDK and the CLI also a request that
  // may have reached the hub but whose answer never came (a lost reply, a
  // timeout, a proxy's 502 or 504 or body-less 5xx): its outcome is unknown.
  kIo,
  kCrypto,  // cryptographic failure, e.g. bad signature
  // A stream cursor older than what the hub still keeps: events after it
  // were purged, so a reader resuming there would miss some (HTTP 410).
  // Rebuild from the start of the stream.
  kCursorExpired,
};

// Lowercase snake_case name used on the wire and in logs.
std::string_view ErrorCodeName(ErrorCode code);

// Parses a wire name back into a code; nullopt for unknown names.
std::optional<ErrorCode> ErrorCodeFromName(std::string_view name);

// The HTTP status that corresponds to `code`.
int HttpStatusFor(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  // What went wrong and what to do, in one or two sentences.
  std::string message;
  // Path of the offending input field, e.g. "signals[3].token"; may be empty.
  std::string field;
  // Index of the offending batch item, when the error concerns one item.
  std::optional<std::size_t> index;

  // "invalid_argument: signals[3].token: expected 64 lowercase hex characters"
  std::string ToString() const;
};

template <typename T>
using Result = tl::expected<T, Error>;

// Result of an operation that returns nothing on success.
using Status = Result<void>;

// Builds the unexpected side of a Result: `return MakeError(...);`.
inline tl::unexpected<Error> MakeError(ErrorCode code, std::string message,
                                       std::string field = {}) {
  return tl::unexpected<Error>(
      Error{code, std::move(message), std::move(field), std::nullopt});
}

}  // namespace cairn

#endif  // CAIRN_RESULT_H_
