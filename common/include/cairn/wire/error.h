// The error body every endpoint returns on failure:
//   {"error":{"code":"invalid_argument","message":"...","field":"...","index":3}}
#ifndef CAIRN_WIRE_ERROR_H_
#define CAIRN_WIRE_ERROR_H_

#include <string>
#include <string_view>

#include "cairn/result.h"

namespace cairn::wire {

// Encodes `error` as the protocol's error body. `field` and `index` are
// omitted when empty.
std::string EncodeErrorBody(const Error& error);

// Decodes an error body (clients). Unknown fields are ignored.
Result<Error> DecodeErrorBody(std::string_view json);

}  // namespace cairn::wire

#endif  // CAIRN_WIRE_ERROR_H_
