// Umbrella header: every wire body of the /v1 API with its JSON codec.
//
// For each body T there is `std::string Encode(const T&)` and
// `Result<T> DecodeT(std::string_view json)`. Request decoders are strict
// (unknown fields, duplicate keys, duplicate batch items and out-of-bound
// values are kInvalidArgument naming the field path, e.g. "signals[3].token",
// and the batch index); response decoders ignore unknown fields. All
// functions are thread-safe (decoders use a per-thread parser).
#ifndef CAIRN_WIRE_H_
#define CAIRN_WIRE_H_

#include "cairn/timestamp.h"
#include "cairn/wire/admin.h"
#include "cairn/wire/audit.h"
#include "cairn/wire/disposition.h"
#include "cairn/wire/error.h"
#include "cairn/wire/feed.h"
#include "cairn/wire/health.h"
#include "cairn/wire/me.h"
#include "cairn/wire/oprf.h"
#include "cairn/wire/query.h"
#include "cairn/wire/signals.h"
#include "cairn/wire/types.h"

#endif  // CAIRN_WIRE_H_
