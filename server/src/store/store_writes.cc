#include "server/src/store/store_writes.h"

#include <algorithm>
#include <chrono>

#include "cairn/json_object.h"
#include "server/src/store/store_time.h"

namespace cairn::server::store_internal {

std::string QueryAuditDetails(std::size_t tokens,
                              const std::vector<MatchResult>& matches,
                              bool replayed) {
  std::vector<std::string> ids;
  ids.reserve(matches.size());
  for (const auto& m : matches) ids.push_back(m.match_id);
  JsonObjectWriter d;
  d.Add("tokens", tokens).Add("matches", ids);
  if (replayed) d.Add("replayed", true);
  return d.Finish();
}

StoreWrites::StoreWrites(const SqliteStoreOptions& options,
                         const TokenIndex& index,
                         const PublishedDirectory& directory,
                         bool record_reusable)
    : options_(options),
      index_(index),
      directory_(directory),
      record_reusable_(record_reusable) {}

std::shared_ptr<const Directory> StoreWrites::Members(BatchState& b) const {
  if (b.directory) return b.directory;
  if (!b.directory_changed) {
    // The writer publishes only between batches: the snapshot is this
    // batch's view until a command changes it.
    b.directory = directory_.Get();
  } else if (auto dir = LoadDirectory(b.db); dir) {
    b.directory = std::make_shared<const Directory>(std::move(*dir));
  } else {
    b.Fail(dir.error());
  }
  return b.directory;
}

Status StoreWrites::OperatorStanding(BatchState& b, const CommandContext& ctx) {
  if (ctx.fingerprint.empty()) return {};
  auto dir = Members(b);
  if (!dir) return tl::unexpected(*b.fatal);
  auto op = CheckStanding(*dir, ctx.actor, ctx.fingerprint, Role::kOperator);
  if (!op) return tl::unexpected(op.error());
  return {};
}

Status StoreWrites::Load(Database& db) {
  return recent_match_signals_.Load(db);
}

void StoreWrites::FinishBatch(BatchState& b) {
  if (!b.fatal && recent_match_signals_.Rows(b.recent) >=
                      std::max<std::size_t>(1, options_.match_settle_rows)) {
    SettleRecentMatches(b);
  }
}

void StoreWrites::Committed(BatchState& b) {
  recent_match_signals_.Commit(std::move(b.recent));
}

std::vector<IndexEntry> StoreWrites::BatchLookup(
    const BatchState& b, const IndexKey& key, std::int64_t min_expiry) const {
  std::vector<IndexEntry> found;
  index_.Lookup(key, kAnyTime, &found);
  std::vector<IndexEntry> out;
  for (const IndexEntry& e : found) {
    if (b.removed.contains(e.rowid)) continue;
    auto it = b.upserts.find(e.rowid);
    const IndexEntry& current = it == b.upserts.end() ? e : it->second.second;
    if (current.expires_at > min_expiry) out.push_back(current);
  }
  auto inserted = b.inserted_by_key.find(key);
  if (inserted != b.inserted_by_key.end()) {
    for (std::int64_t rowid : inserted->second) {
      auto it = b.upserts.find(rowid);
      if (it == b.upserts.end()) continue;  // removed later in the batch
      if (it->second.second.expires_at > min_expiry) {
        out.push_back(it->second.second);
      }
    }
  }
  return out;
}

bool StoreWrites::SettleRecentMatches(BatchState& b) {
  const auto start = std::chrono::steady_clock::now();
  auto s = RecentMatchSignals::Settle(b.db, b.recent);
  const std::chrono::duration<double> took =
      std::chrono::steady_clock::now() - start;
  match_settles_.fetch_add(1, std::memory_order_relaxed);
  match_settle_micros_.fetch_add(static_cast<std::uint64_t>(took.count() * 1e6),
                                 std::memory_order_relaxed);
  if (!s) {
    b.Fail(s.error());
    return false;
  }
  return true;
}

}  // namespace cairn::server::store_internal
