#include "cairn/result.h"

#include <array>
#include <utility>

namespace cairn {
namespace {

struct CodeInfo {
  ErrorCode code;
  std::string_view name;
  int http_status;
};

constexpr std::array kCodes = {
    CodeInfo{ErrorCode::kInvalidArgument, "invalid_argument", 400},
    CodeInfo{ErrorCode::kUnauthenticated, "unauthenticated", 401},
    CodeInfo{ErrorCode::kPermissionDenied, "permission_denied", 403},
    CodeInfo{ErrorCode::kNotFound, "not_found", 404},
    CodeInfo{ErrorCode::kMethodNotAllowed, "method_not_allowed", 405},
    CodeInfo{ErrorCode::kConflict, "conflict", 409},
    CodeInfo{ErrorCode::kPayloadTooLarge, "payload_too_large", 413},
    CodeInfo{ErrorCode::kUnsupportedMedia, "unsupported_media_type", 415},
    CodeInfo{ErrorCode::kHeadersTooLarge, "headers_too_large", 431},
    CodeInfo{ErrorCode::kRateLimited, "rate_limited", 429},
    CodeInfo{ErrorCode::kUnavailable, "unavailable", 503},
    CodeInfo{ErrorCode::kInternal, "internal", 500},
    CodeInfo{ErrorCode::kIo, "io_error", 500},
    CodeInfo{ErrorCode::kCrypto, "crypto_error", 500},
    CodeInfo{ErrorCode::kCursorExpired, "cursor_expired", 410},
};

const CodeInfo& InfoFor(ErrorCode code) {
  for (const auto& info : kCodes) {
    if (info.code == code) return info;
  }
  return kCodes[static_cast<std::size_t>(ErrorCode::kInternal)];
}

}  // namespace

std::string_view ErrorCodeName(ErrorCode code) { return InfoFor(code).name; }

std::optional<ErrorCode> ErrorCodeFromName(std::string_view name) {
  for (const auto& info : kCodes) {
    if (info.name == name) return info.code;
  }
  return std::nullopt;
}

int HttpStatusFor(ErrorCode code) { return InfoFor(code).http_status; }

std::string Error::ToString() const {
  std::string out(ErrorCodeName(code));
  out += ": ";
  if (!field.empty()) {
    out += field;
    out += ": ";
  }
  out += message;
  return out;
}

}  // namespace cairn
