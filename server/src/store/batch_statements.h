// SQL inside the writer's batch transaction: the helpers every store
// command uses to prepare and run statements, queue audit entries and feed
// rows, and write the queued signal, feed and match rows in multi-row
// INSERTs. Each records an SQL failure in the BatchState (b.fatal) so that
// the batch rolls back; callers check their return value or b.fatal.
#ifndef CAIRN_SERVER_STORE_BATCH_STATEMENTS_H_
#define CAIRN_SERVER_STORE_BATCH_STATEMENTS_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/src/store/records.h"
#include "server/src/store/sqlite_db.h"
#include "server/src/store/write_batch.h"

namespace cairn::server::store_internal {

// Prepares a cached statement into `slot`; nullptr (and b.fatal set) on
// failure.
Statement* Prep(BatchState& b, std::optional<Statement>& slot, const char* sql);

// Prepares `sql`, lets `bind` bind it and runs it to completion; false
// (and b.fatal set) on failure.
bool Run(BatchState& b, const char* sql,
         const std::function<void(Statement&)>& bind);

// The first column of `sql`'s first row as an integer, 0 without a row,
// -1 on SQL error (b.fatal set).
std::int64_t ScalarInt(BatchState& b, const char* sql,
                       const std::function<void(Statement&)>& bind);

// The id for the next row the writer inserts into a table, as SQLite
// would assign it (largest id + 1): `next` holds it for the rest of the
// batch, 0 until `max_sql` (the table's largest id, 0 if empty) is first
// read. -1 on SQL error (b.fatal set).
std::int64_t NextRowid(BatchState& b, std::int64_t& next, const char* max_sql);

// max_sql of NextRowid for feed and notification seqs (see seq_floors).
extern const char* const kNextFeedSeqSql;
extern const char* const kNextNotificationSeqSql;
// Each member's notifications are also numbered on their own (member_seq,
// schema 12: what the member sees as their seq and cursor). The member's
// newest member_seq issued, ?1 its number: above both its largest and the
// highest a purge deleted (kNotificationsMemberPurgedStream).
extern const char* const kLastMemberNotificationSeqSql;

// What the purges deleted from a stream, kept in seq_floors beside the
// newest seq issued ('feed', 'notifications'): the highest seq a purge
// deleted (…_purged) and how many purges deleted any of the stream's
// rows (…_purges). A reader's cursor below the former missed events
// (stream_reads.cc). Feed: one pair for the whole stream. Notifications:
// one pair per member, whose stream they are, with the member's number
// appended ("notifications_purged/7"), so that a purge of one member's
// notifications does not stop another's reader.
inline constexpr const char* kFeedPurgedStream = "feed_purged";
inline constexpr const char* kFeedPurgesStream = "feed_purges";
inline constexpr const char* kNotificationsPurgedStream =
    "notifications_purged/";
inline constexpr const char* kNotificationsPurgesStream =
    "notifications_purges/";
// As kNotificationsPurgedStream, in the member's own numbering (member_seq):
// what cursors this cairnd hands out are judged against. The hub-wide one
// is kept for cursors older cairnds handed out. The purge count is shared.
inline constexpr const char* kNotificationsMemberPurgedStream =
    "notifications_member_purged/";
// The newest notification seq (hub-wide) when the database moved to schema
// 11, which numbers each member's notifications on their own (0 for one
// made at 11 or later): the cursors older cairnds handed out were seqs of
// the hub-wide numbering up to it, and are still taken (stream_reads.cc).
// Written by the migration, never raised.
inline constexpr const char* kNotificationsLegacyStream =
    "notifications_legacy";

// Queues an audit entry of this batch, stamped with the batch's time.
void Audit(BatchState& b, const CommandContext& ctx, std::string action,
           std::string details);

// Queues a feed row; FlushFeed writes it when the command ends.
void AddFeedEvent(BatchState& b, FeedEventType type, std::int64_t rowid,
                  std::uint32_t member);

// Write the rows the running command queued (BatchState::feed, signals,
// matches and match_signals), then clear them. The writer calls them after
// each command; a command calls FlushSignals itself before it reads a row
// it queued.
void FlushFeed(BatchState& b);
void FlushSignals(BatchState& b);
void FlushMatches(BatchState& b);

// Statement texts for InsertRows: `head` ("INSERT INTO t (a, b) VALUES ")
// followed by 64, 16, 4 and 1 groups of `columns` parameters.
using MultiRowSql = std::array<std::string, 4>;
inline constexpr std::array<std::size_t, 4> kMultiRows = {64, 16, 4, 1};
MultiRowSql MakeMultiRowSql(std::string_view head, std::size_t columns);

// Writes `rows` in order, in multi-row INSERTs of 64, 16, 4 and 1 rows:
// one statement per row cost SQLite's per-statement work per row, a large
// part of the writer's time for 1,000-signal submits (docs/performance.md).
// bind(statement, first parameter, row) binds one row. `sql` must outlive
// the connection: the statement cache is keyed by the text's address.
template <typename Row, typename BindRow>
void InsertRows(BatchState& b, const MultiRowSql& sql,
                const std::vector<Row>& rows, std::size_t columns,
                const BindRow& bind) {
  std::size_t next = 0;
  for (std::size_t k = 0; k < kMultiRows.size() && !b.fatal; ++k) {
    while (rows.size() - next >= kMultiRows[k] && !b.fatal) {
      Run(b, sql[k].c_str(), [&](Statement& s) {
        for (std::size_t i = 0; i < kMultiRows[k]; ++i) {
          bind(s, static_cast<int>(i * columns) + 1, rows[next + i]);
        }
      });
      next += kMultiRows[k];
    }
  }
}

}  // namespace cairn::server::store_internal

#endif  // CAIRN_SERVER_STORE_BATCH_STATEMENTS_H_
