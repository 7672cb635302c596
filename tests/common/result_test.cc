#include "cairn/result.h"

#include <catch2/catch.hpp>

namespace cairn {
namespace {

TEST_CASE("every error code has a unique wire name that parses back") {
  const ErrorCode all[] = {ErrorCode::kInvalidArgument,
                           ErrorCode::kUnauthenticated,
                           ErrorCode::kPermissionDenied,
                           ErrorCode::kNotFound,
                           ErrorCode::kMethodNotAllowed,
                           ErrorCode::kConflict,
                           ErrorCode::kPayloadTooLarge,
                           ErrorCode::kUnsupportedMedia,
                           ErrorCode::kHeadersTooLarge,
                           ErrorCode::kRateLimited,
                           ErrorCode::kUnavailable,
                           ErrorCode::kInternal,
                           ErrorCode::kIo,
                           ErrorCode::kCrypto,
                           ErrorCode::kCursorExpired};
  for (ErrorCode code : all) {
    const auto name = ErrorCodeName(code);
    CAPTURE(name);
    REQUIRE(ErrorCodeFromName(name) == code);
  }
  REQUIRE_FALSE(ErrorCodeFromName("no_such_code").has_value());
}

TEST_CASE("error codes map to the HTTP statuses of the protocol") {
  CHECK(HttpStatusFor(ErrorCode::kInvalidArgument) == 400);
  CHECK(HttpStatusFor(ErrorCode::kPermissionDenied) == 403);
  CHECK(HttpStatusFor(ErrorCode::kPayloadTooLarge) == 413);
  CHECK(HttpStatusFor(ErrorCode::kHeadersTooLarge) == 431);
  CHECK(HttpStatusFor(ErrorCode::kRateLimited) == 429);
  CHECK(HttpStatusFor(ErrorCode::kUnavailable) == 503);
  CHECK(HttpStatusFor(ErrorCode::kCursorExpired) == 410);
  CHECK(ErrorCodeName(ErrorCode::kCursorExpired) == "cursor_expired");
}

TEST_CASE("Error::ToString names the code and the field") {
  Result<int> r =
      MakeError(ErrorCode::kInvalidArgument,
                "expected 64 lowercase hex characters", "signals[3].token");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().ToString() ==
        "invalid_argument: signals[3].token: expected 64 lowercase hex "
        "characters");
}

}  // namespace
}  // namespace cairn
