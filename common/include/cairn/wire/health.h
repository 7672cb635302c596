// GET /healthz: 200 {"status":"ok","store":"writable","clock":"ok"} or
// 503 {"status":"degraded",...} with "store":"unwritable" and/or
// "clock":"stepped".
#ifndef CAIRN_WIRE_HEALTH_H_
#define CAIRN_WIRE_HEALTH_H_

#include <string>
#include <string_view>

#include "cairn/wire/types.h"

namespace cairn::wire {

struct HealthResponse {
  bool ok = true;              // "status": "ok" | "degraded"
  bool store_writable = true;  // "store": "writable" | "unwritable"
  // "clock": "ok" | "stepped": the hub's clock has seen a step of the system
  // clock that is not resolved yet (operator guide, "Clock steps"). Older
  // hubs do not send it (then true).
  bool clock_ok = true;

  bool operator==(const HealthResponse&) const = default;
};

std::string Encode(const HealthResponse& body);
Result<HealthResponse> DecodeHealthResponse(std::string_view json);

}  // namespace cairn::wire

#endif  // CAIRN_WIRE_HEALTH_H_
