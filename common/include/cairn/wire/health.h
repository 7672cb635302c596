// GET /healthz: 200 {"status":"ok","store":"writable","clock":"ok"} or 503
// with "status":"degraded" and whichever of two conditions holds:
// "store":"unwritable" (commits fail) and/or
// "store_files":"deleted_or_replaced" (a database file was taken from
// under the running hub; commits still succeed). "clock":"stepped" (an
// unresolved step of the system clock) is reported without making the hub
// degraded: it serves correctly meanwhile, and a load balancer must not
// take it out of service for it.
#ifndef CAIRN_WIRE_HEALTH_H_
#define CAIRN_WIRE_HEALTH_H_

#include <string>
#include <string_view>

#include "cairn/wire/types.h"

namespace cairn::wire {

struct HealthResponse {
  bool ok = true;              // "status": "ok" | "degraded"
  bool store_writable = true;  // "store": "writable" | "unwritable"
  // "store_files": "deleted_or_replaced" when false, absent when true (an
  // optional field: hubs before it never send it).
  bool store_files_intact = true;
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
