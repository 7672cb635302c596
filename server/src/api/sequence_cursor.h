// The cursors of the hub's paged GETs (feed, notifications, audit
// checkpoints): the decimal sequence number of the last item returned.
// Feed and notification cursors handed out while a reader rebuilds from
// the start, below events purged before it began, also carry the purge
// count they are good for: "SEQpPURGES" (StreamCursor); notification
// cursors in the member's own numbering lead with 'm'. The protocol keeps
// cursors opaque, so readers pass either form back unchanged.
#ifndef CAIRN_SERVER_API_SEQUENCE_CURSOR_H_
#define CAIRN_SERVER_API_SEQUENCE_CURSOR_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "cairn/result.h"
#include "server/src/store/records.h"

namespace cairn::server {

// 0 for an empty cursor (from the beginning). Anything that is not a
// decimal number SQLite's 64-bit signed rowids can hold is kInvalidArgument
// on field "after": a larger value would wrap and restart the stream.
Result<std::uint64_t> ParseSequenceCursor(std::string_view cursor);

// A feed or notification cursor: ParseSequenceCursor's, or "SEQpPURGES";
// errors as ParseSequenceCursor. FormatStreamCursor (store/records.h) makes
// the text.
Result<StreamCursor> ParseStreamCursor(std::string_view cursor);

// A notification cursor: ParseStreamCursor's (a seq of the hub-wide
// numbering older cairnds handed out), or one in the member's own
// numbering, "mSEQ" or "mSEQpPURGES" (StreamCursor::per_member).
Result<StreamCursor> ParseNotificationCursor(std::string_view cursor);

}  // namespace cairn::server

#endif  // CAIRN_SERVER_API_SEQUENCE_CURSOR_H_
