#include "server/src/store/recent_match_signals.h"

#include <utility>

namespace cairn::server {

Status RecentMatchSignals::Load(Database& db) {
  auto stmt = db.Prepare("SELECT signal FROM match_signals_recent");
  if (!stmt) return tl::unexpected(stmt.error());
  signals_.clear();
  rows_ = 0;
  while (true) {
    auto row = stmt->Step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) break;
    signals_.insert(stmt->Int(0));
    ++rows_;
  }
  return {};
}

bool RecentMatchSignals::MayHoldAny(std::span<const std::int64_t> signals,
                                    const Pending& pending) const {
  if (!pending.settled) {
    for (std::int64_t s : signals) {
      if (signals_.contains(s)) return true;
    }
  }
  if (pending.added.empty()) return false;
  const std::unordered_set<std::int64_t> wanted(signals.begin(), signals.end());
  for (std::int64_t s : pending.added) {
    if (wanted.contains(s)) return true;
  }
  return false;
}

std::size_t RecentMatchSignals::Rows(const Pending& pending) const {
  return (pending.settled ? 0 : rows_) + pending.added.size();
}

Status RecentMatchSignals::Settle(Database& db, Pending& pending) {
  // Sorted by signal so that each leaf of match_signals is written once.
  if (auto s = db.Exec("INSERT OR IGNORE INTO match_signals (signal, match)"
                       " SELECT signal, match FROM match_signals_recent"
                       " ORDER BY signal, match");
      !s) {
    return s;
  }
  if (auto s = db.Exec("DELETE FROM match_signals_recent"); !s) return s;
  pending.settled = true;
  pending.added.clear();
  return {};
}

void RecentMatchSignals::Commit(Pending&& pending) {
  if (pending.settled) {
    signals_.clear();
    rows_ = 0;
  }
  signals_.insert(pending.added.begin(), pending.added.end());
  rows_ += pending.added.size();
}

}  // namespace cairn::server
