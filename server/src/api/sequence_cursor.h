// The cursors of the hub's paged GETs (feed, notifications, audit
// checkpoints): the decimal sequence number of the last item returned.
#ifndef CAIRN_SERVER_API_SEQUENCE_CURSOR_H_
#define CAIRN_SERVER_API_SEQUENCE_CURSOR_H_

#include <cstdint>
#include <string_view>

#include "cairn/result.h"

namespace cairn::server {

// 0 for an empty cursor (from the beginning). Anything that is not a
// decimal number SQLite's 64-bit signed rowids can hold is kInvalidArgument
// on field "after": a larger value would wrap and restart the stream.
Result<std::uint64_t> ParseSequenceCursor(std::string_view cursor);

}  // namespace cairn::server

#endif  // CAIRN_SERVER_API_SEQUENCE_CURSOR_H_
