// GET /healthz: 200 {"status":"ok","store":"writable"} or
// 503 {"status":"degraded","store":"unwritable"}.
#ifndef CAIRN_WIRE_HEALTH_H_
#define CAIRN_WIRE_HEALTH_H_

#include <string>
#include <string_view>

#include "cairn/wire/types.h"

namespace cairn::wire {

struct HealthResponse {
  bool ok = true;              // "status": "ok" | "degraded"
  bool store_writable = true;  // "store": "writable" | "unwritable"

  bool operator==(const HealthResponse&) const = default;
};

std::string Encode(const HealthResponse& body);
Result<HealthResponse> DecodeHealthResponse(std::string_view json);

}  // namespace cairn::wire

#endif  // CAIRN_WIRE_HEALTH_H_
