// The "oprf" object of /v1/me, shared by me.cc and oprf.cc. Internal.
#ifndef CAIRN_COMMON_SRC_WIRE_OPRF_INTERNAL_H_
#define CAIRN_COMMON_SRC_WIRE_OPRF_INTERNAL_H_

#include "cairn/wire/oprf.h"
#include "json.h"

namespace cairn::wire::internal {

void WriteOprfInfo(Writer& w, const OprfInfo& info);
Status DecodeOprfInfoValue(od::value& value, Path& path, OprfInfo& out);

}  // namespace cairn::wire::internal

#endif  // CAIRN_COMMON_SRC_WIRE_OPRF_INTERNAL_H_
