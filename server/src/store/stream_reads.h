// The pages the store reads on its read-only connection, apart from the
// writer: the feed, a member's notifications, audit checkpoints, and each
// member's OPRF usage of a day. The caller serialises use of `db` and has
// resolved the member (its number in `dir`). `limit` is clamped to
// 1..10,000; a page says whether more follow.
#ifndef CAIRN_SERVER_STORE_STREAM_READS_H_
#define CAIRN_SERVER_STORE_STREAM_READS_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "cairn/result.h"
#include "server/src/store/member_directory.h"
#include "server/src/store/records.h"
#include "server/src/store/sqlite_db.h"

namespace cairn::server::store_internal {

// Audit checkpoints with seq > after_seq, oldest first.
Result<AuditCheckpointPage> ReadAuditCheckpointPage(Database& db,
                                                    std::uint64_t after_seq,
                                                    std::size_t limit);

// Feed events with seq > after.seq about signals of members other than
// `member`, in order; Store::Feed's errors for a cursor it refuses.
Result<FeedPage> ReadFeedPage(Database& db, const Directory& dir,
                              std::uint32_t member, const StreamCursor& after,
                              std::size_t limit);

// `member`'s notifications with seq > after.seq, in order; errors as
// ReadFeedPage. Seqs and cursors count only the member's own notifications
// (member_seq); after.per_member unset is a cursor older cairnds handed
// out in the hub-wide numbering, read from where it lies in the member's.
Result<NotificationPage> ReadNotificationPage(Database& db,
                                              std::uint32_t member,
                                              const StreamCursor& after,
                                              std::size_t limit);

// Every member's OPRF usage recorded for `day`.
Result<std::vector<OprfUsage>> ReadOprfUsage(Database& db, const Directory& dir,
                                             std::int64_t day);

}  // namespace cairn::server::store_internal

#endif  // CAIRN_SERVER_STORE_STREAM_READS_H_
