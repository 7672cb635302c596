// Errors the store's commands return for the whole command or one item.
#ifndef CAIRN_SERVER_STORE_STORE_ERRORS_H_
#define CAIRN_SERVER_STORE_STORE_ERRORS_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "cairn/result.h"

namespace cairn::server::store_internal {

inline Error Unavailable(std::string message) {
  Error e{};
  e.code = ErrorCode::kUnavailable;
  e.message = std::move(message);
  return e;
}

inline Error ItemError(ErrorCode code, std::string message, std::string field,
                       std::size_t index) {
  Error e{};
  e.code = code;
  e.message = std::move(message);
  e.field = std::move(field);
  e.index = index;
  return e;
}

inline tl::unexpected<Error> MemberNotFound(std::string_view id) {
  return MakeError(ErrorCode::kNotFound,
                   "no member '" + std::string(id) +
                       "' exists; list members with `cairnctl member list`");
}

inline tl::unexpected<Error> UnknownMember(std::string_view id) {
  return MakeError(ErrorCode::kPermissionDenied,
                   "member '" + std::string(id) +
                       "' is not registered on this hub; ask the operator "
                       "to admit it");
}

}  // namespace cairn::server::store_internal

#endif  // CAIRN_SERVER_STORE_STORE_ERRORS_H_
