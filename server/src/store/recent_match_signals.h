// The supporting signals of recently recorded matches, appended to
// match_signals_recent in match order and settled into the signal-keyed
// match_signals table in bulk (docs/adr/0007-settled-match-signals.md).
//
// Why: match_signals is keyed by signal, because a retraction must find the
// matches that a signal supported. Inserting there as matches are recorded
// writes one random leaf page per match into the write-ahead log of the
// commit the query waits for; appending in match order writes a few pages,
// and settling thousands of rows at once, sorted by signal, writes each leaf
// once.
//
// Invariant: all the rows of one match are in one of the two tables (they
// are inserted together and settled together), so a per-match aggregate can
// read each table on its own. Readers by signal (retraction notices) run on
// the writer and settle first when a departing signal may have recent rows.
//
// This class is the writer's memory of which signals have rows in
// match_signals_recent; it is not thread-safe (writer thread only). A purge
// of old matches deletes rows behind its back, so it may over-approximate:
// that costs at most one early settle, never a missed notification.
#ifndef CAIRN_SERVER_STORE_RECENT_MATCH_SIGNALS_H_
#define CAIRN_SERVER_STORE_RECENT_MATCH_SIGNALS_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <unordered_set>
#include <vector>

#include "cairn/result.h"
#include "server/src/store/sqlite_db.h"

namespace cairn::server {

class RecentMatchSignals {
 public:
  // What one write transaction did to match_signals_recent; applied by
  // Commit() once the transaction is durable, dropped on rollback.
  struct Pending {
    std::vector<std::int64_t> added;  // signals of rows inserted (after any
                                      // settle in the same transaction)
    bool settled = false;             // the table was emptied into
                                      // match_signals
  };

  // Reads the signals of the rows in match_signals_recent (at open).
  Status Load(Database& db);

  // Whether match_signals_recent may hold a row for any of `signals`, as of
  // the transaction that `pending` describes.
  bool MayHoldAny(std::span<const std::int64_t> signals,
                  const Pending& pending) const;

  // Rows in match_signals_recent as of that transaction.
  std::size_t Rows(const Pending& pending) const;

  // Moves every row of match_signals_recent into match_signals, sorted by
  // signal, inside the caller's transaction, and records it in `pending`.
  static Status Settle(Database& db, Pending& pending);

  // Applies a committed transaction's `pending`.
  void Commit(Pending&& pending);

 private:
  std::unordered_set<std::int64_t> signals_;
  std::size_t rows_ = 0;
};

}  // namespace cairn::server

#endif  // CAIRN_SERVER_STORE_RECENT_MATCH_SIGNALS_H_
