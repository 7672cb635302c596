#include "server/src/store/token_index.h"

#include <limits>
#include <mutex>

namespace cairn::server {

TokenIndex::TokenIndex(std::size_t expected_signals) {
  const std::size_t per_shard = expected_signals / kShardCount + 1;
  for (auto& shard : shards_) {
    shard = std::make_unique<Shard>();
    if (expected_signals > 0) {
      // Some headroom so the load does not rehash at the very end.
      shard->heads.reserve(per_shard + per_shard / 8);
      shard->slots.reserve(per_shard + per_shard / 8);
    }
  }
}

void TokenIndex::Lookup(const IndexKey& key, std::int64_t now,
                        std::vector<IndexEntry>* out) const {
  const Shard& shard = *shards_[ShardOf(key)];
  std::shared_lock lock(shard.mutex);
  auto it = shard.heads.find(key);
  if (it == shard.heads.end()) return;
  for (std::uint32_t i = it->second; i != kNone; i = shard.slots[i].next) {
    const IndexEntry& e = shard.slots[i].entry;
    if (now == std::numeric_limits<std::int64_t>::min() || e.expires_at > now) {
      out->push_back(e);
    }
  }
}

void TokenIndex::InsertLocked(Shard& shard, const IndexKey& key,
                              const IndexEntry& entry) {
  std::uint32_t slot;
  if (shard.free_list != kNone) {
    slot = shard.free_list;
    shard.free_list = shard.slots[slot].next;
    shard.slots[slot] = Slot{entry, kNone};
  } else {
    slot = static_cast<std::uint32_t>(shard.slots.size());
    shard.slots.push_back(Slot{entry, kNone});
  }
  auto [it, inserted] = shard.heads.try_emplace(key, slot);
  if (!inserted) {
    shard.slots[slot].next = it->second;
    it->second = slot;
  }
  size_.fetch_add(1, std::memory_order_relaxed);
}

bool TokenIndex::UpdateLocked(Shard& shard, const IndexKey& key,
                              const IndexEntry& entry) {
  auto it = shard.heads.find(key);
  if (it == shard.heads.end()) return false;
  for (std::uint32_t i = it->second; i != kNone; i = shard.slots[i].next) {
    if (shard.slots[i].entry.rowid == entry.rowid) {
      shard.slots[i].entry = entry;
      return true;
    }
  }
  return false;
}

bool TokenIndex::RemoveLocked(Shard& shard, const IndexKey& key,
                              std::int64_t rowid) {
  auto it = shard.heads.find(key);
  if (it == shard.heads.end()) return false;
  std::uint32_t prev = kNone;
  for (std::uint32_t i = it->second; i != kNone; i = shard.slots[i].next) {
    if (shard.slots[i].entry.rowid != rowid) {
      prev = i;
      continue;
    }
    const std::uint32_t next = shard.slots[i].next;
    if (prev == kNone) {
      if (next == kNone) {
        shard.heads.erase(it);
      } else {
        it->second = next;
      }
    } else {
      shard.slots[prev].next = next;
    }
    shard.slots[i].next = shard.free_list;
    shard.free_list = i;
    size_.fetch_sub(1, std::memory_order_relaxed);
    return true;
  }
  return false;
}

void TokenIndex::Apply(const std::vector<IndexChange>& changes) {
  if (changes.empty()) return;
  // Group by shard (keeping order within a shard, which is all that
  // matters: changes to one key always land in one shard) so each shard is
  // locked once per batch.
  std::array<std::vector<std::uint32_t>, kShardCount> by_shard;
  for (std::uint32_t i = 0; i < changes.size(); ++i) {
    by_shard[ShardOf(changes[i].key)].push_back(i);
  }
  for (std::size_t s = 0; s < kShardCount; ++s) {
    if (by_shard[s].empty()) continue;
    Shard& shard = *shards_[s];
    std::unique_lock lock(shard.mutex);
    for (std::uint32_t i : by_shard[s]) {
      const IndexChange& c = changes[i];
      switch (c.op) {
        case IndexChange::Op::kInsert:
          InsertLocked(shard, c.key, c.entry);
          break;
        case IndexChange::Op::kUpdate:
          UpdateLocked(shard, c.key, c.entry);
          break;
        case IndexChange::Op::kRemove:
          RemoveLocked(shard, c.key, c.entry.rowid);
          break;
      }
    }
  }
}

void TokenIndex::Insert(const IndexKey& key, const IndexEntry& entry) {
  Shard& shard = *shards_[ShardOf(key)];
  std::unique_lock lock(shard.mutex);
  InsertLocked(shard, key, entry);
}

std::size_t TokenIndex::KeyCount() const {
  std::size_t n = 0;
  for (const auto& shard : shards_) {
    std::shared_lock lock(shard->mutex);
    n += shard->heads.size();
  }
  return n;
}

void TokenIndex::ForEach(
    const std::function<void(const IndexKey&, const IndexEntry&)>& fn) const {
  for (const auto& shard : shards_) {
    std::shared_lock lock(shard->mutex);
    for (const auto& [key, head] : shard->heads) {
      for (std::uint32_t i = head; i != kNone; i = shard->slots[i].next) {
        fn(key, shard->slots[i].entry);
      }
    }
  }
}

}  // namespace cairn::server
