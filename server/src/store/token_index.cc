#include "server/src/store/token_index.h"

#include <bit>
#include <limits>
#include <mutex>

#include "cairn/token_hash.h"

namespace cairn::server {
namespace {

constexpr std::size_t kMinBuckets = 16;

// A bucket's tag is the low half of the key's hash; its home bucket is the
// tag's low bits, so growing rehashes from tags alone, without touching
// the slots.
std::uint32_t TagOf(std::uint64_t hash) {
  return static_cast<std::uint32_t>(hash);
}

bool Live(const IndexEntry& e, std::int64_t now) {
  return now == std::numeric_limits<std::int64_t>::min() || e.expires_at > now;
}

}  // namespace

std::size_t IndexKeyHash::operator()(const IndexKey& key) const noexcept {
  return static_cast<std::size_t>(
      TokenHash(key.token, (std::uint64_t{key.kind} << 40) ^
                               (std::uint64_t{key.epoch} << 8) ^
                               static_cast<std::uint8_t>(key.scheme)));
}

TokenIndex::TokenIndex(std::size_t expected_signals) {
  const std::size_t per_shard = expected_signals / kShardCount + 1;
  // At most 3/4 full after the expected load, so it does not grow at the
  // very end of start-up.
  const std::size_t buckets =
      std::max(kMinBuckets, std::bit_ceil(per_shard + per_shard / 3 + 1));
  for (auto& shard : shards_) {
    shard = std::make_unique<Shard>();
    shard->buckets.resize(expected_signals > 0 ? buckets : kMinBuckets);
    if (expected_signals > 0) shard->slots.reserve(per_shard + per_shard / 8);
  }
}

std::optional<std::size_t> TokenIndex::Shard::Find(const IndexKey& key,
                                                   std::uint64_t hash) const {
  const std::size_t mask = buckets.size() - 1;
  const std::uint32_t tag = TagOf(hash);
  for (std::size_t i = tag & mask;; i = (i + 1) & mask) {
    const Bucket& b = buckets[i];
    if (b.head == kNone) return std::nullopt;
    if (b.tag == tag && slots[b.head].key == key) return i;
  }
}

void TokenIndex::Shard::Grow() {
  std::vector<Bucket> old(buckets.size() * 2);
  old.swap(buckets);
  const std::size_t mask = buckets.size() - 1;
  for (const Bucket& b : old) {
    if (b.head == kNone) continue;
    std::size_t i = b.tag & mask;
    while (buckets[i].head != kNone) i = (i + 1) & mask;
    buckets[i] = b;
  }
}

void TokenIndex::Shard::EraseBucket(std::size_t hole) {
  // Backward-shift deletion: no tombstones, so probe sequences stay short
  // however many signals come and go.
  const std::size_t mask = buckets.size() - 1;
  for (std::size_t j = (hole + 1) & mask; buckets[j].head != kNone;
       j = (j + 1) & mask) {
    const std::size_t home = buckets[j].tag & mask;
    // buckets[j] may move back into the hole unless its home lies
    // cyclically in (hole, j].
    if (((j - home) & mask) >= ((j - hole) & mask)) {
      buckets[hole] = buckets[j];
      hole = j;
    }
  }
  buckets[hole] = Bucket{};
  --keys;
}

void TokenIndex::Lookup(const IndexKey& key, std::int64_t now,
                        std::vector<IndexEntry>* out) const {
  const std::uint64_t hash = HashOf(key);
  const Shard& shard = *shards_[ShardOf(hash)];
  std::shared_lock lock(shard.mutex);
  const auto bucket = shard.Find(key, hash);
  if (!bucket) return;
  for (std::uint32_t i = shard.buckets[*bucket].head; i != kNone;
       i = shard.slots[i].next) {
    if (Live(shard.slots[i].entry, now)) out->push_back(shard.slots[i].entry);
  }
}

void TokenIndex::Prefetch(const IndexKey& key) const {
  const std::uint64_t hash = HashOf(key);
  const Shard& shard = *shards_[ShardOf(hash)];
  __builtin_prefetch(&shard.buckets[TagOf(hash) & (shard.buckets.size() - 1)]);
}

void TokenIndex::LookupMany(
    std::span<const IndexKey> keys, std::int64_t now,
    const std::function<void(std::size_t, const IndexEntry&)>& visit) const {
  // Counting sort of the keys by shard, so each shard is locked once.
  std::vector<std::uint64_t> hashes(keys.size());
  std::array<std::uint32_t, kShardCount + 1> start{};
  for (std::size_t i = 0; i < keys.size(); ++i) {
    hashes[i] = HashOf(keys[i]);
    ++start[ShardOf(hashes[i]) + 1];
  }
  for (std::size_t s = 0; s < kShardCount; ++s) start[s + 1] += start[s];
  std::vector<std::uint32_t> order(keys.size());
  {
    auto next = start;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      order[next[ShardOf(hashes[i])]++] = static_cast<std::uint32_t>(i);
    }
  }
  // How many keys ahead to prefetch: enough to cover a memory load with
  // the probes of the keys in between.
  constexpr std::size_t kAhead = 8;
  for (std::size_t s = 0; s < kShardCount; ++s) {
    const std::size_t begin = start[s], end = start[s + 1];
    if (begin == end) continue;
    const Shard& shard = *shards_[s];
    std::shared_lock lock(shard.mutex);
    const std::size_t mask = shard.buckets.size() - 1;
    for (std::size_t k = begin; k < end; ++k) {
      if (k + kAhead < end) {
        __builtin_prefetch(
            &shard.buckets[TagOf(hashes[order[k + kAhead]]) & mask]);
      }
      const std::uint32_t i = order[k];
      const auto bucket = shard.Find(keys[i], hashes[i]);
      if (!bucket) continue;
      for (std::uint32_t e = shard.buckets[*bucket].head; e != kNone;
           e = shard.slots[e].next) {
        if (Live(shard.slots[e].entry, now)) visit(i, shard.slots[e].entry);
      }
    }
  }
}

void TokenIndex::InsertLocked(Shard& shard, const IndexKey& key,
                              std::uint64_t hash, const IndexEntry& entry) {
  std::uint32_t slot;
  if (shard.free_list != kNone) {
    slot = shard.free_list;
    shard.free_list = shard.slots[slot].next;
    shard.slots[slot] = Slot{key, entry, kNone};
  } else {
    slot = static_cast<std::uint32_t>(shard.slots.size());
    shard.slots.push_back(Slot{key, entry, kNone});
  }
  if (auto bucket = shard.Find(key, hash)) {
    shard.slots[slot].next = shard.buckets[*bucket].head;
    shard.buckets[*bucket].head = slot;
  } else {
    // Keep the table at most 3/4 full.
    if ((shard.keys + 1) * 4 > shard.buckets.size() * 3) shard.Grow();
    const std::size_t mask = shard.buckets.size() - 1;
    std::size_t i = TagOf(hash) & mask;
    while (shard.buckets[i].head != kNone) i = (i + 1) & mask;
    shard.buckets[i] = Bucket{TagOf(hash), slot};
    ++shard.keys;
  }
  size_.fetch_add(1, std::memory_order_relaxed);
}

bool TokenIndex::UpdateLocked(Shard& shard, const IndexKey& key,
                              std::uint64_t hash, const IndexEntry& entry) {
  const auto bucket = shard.Find(key, hash);
  if (!bucket) return false;
  for (std::uint32_t i = shard.buckets[*bucket].head; i != kNone;
       i = shard.slots[i].next) {
    if (shard.slots[i].entry.rowid == entry.rowid) {
      shard.slots[i].entry = entry;
      return true;
    }
  }
  return false;
}

bool TokenIndex::RemoveLocked(Shard& shard, const IndexKey& key,
                              std::uint64_t hash, std::int64_t rowid) {
  const auto bucket = shard.Find(key, hash);
  if (!bucket) return false;
  std::uint32_t prev = kNone;
  for (std::uint32_t i = shard.buckets[*bucket].head; i != kNone;
       i = shard.slots[i].next) {
    if (shard.slots[i].entry.rowid != rowid) {
      prev = i;
      continue;
    }
    const std::uint32_t next = shard.slots[i].next;
    if (prev != kNone) {
      shard.slots[prev].next = next;
    } else if (next != kNone) {
      shard.buckets[*bucket].head = next;
    } else {
      shard.EraseBucket(*bucket);
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
  std::vector<std::uint64_t> hashes(changes.size());
  std::array<std::vector<std::uint32_t>, kShardCount> by_shard;
  for (std::uint32_t i = 0; i < changes.size(); ++i) {
    hashes[i] = HashOf(changes[i].key);
    by_shard[ShardOf(hashes[i])].push_back(i);
  }
  for (std::size_t s = 0; s < kShardCount; ++s) {
    if (by_shard[s].empty()) continue;
    Shard& shard = *shards_[s];
    std::unique_lock lock(shard.mutex);
    const std::vector<std::uint32_t>& order = by_shard[s];
    // Each change's bucket is a cache miss on a table of millions of
    // keys (a tenth of the writer's time under 1,000-signal submits):
    // load a few changes ahead. A growth in between only wastes a load.
    constexpr std::size_t kAhead = 4;
    for (std::size_t k = 0; k < order.size(); ++k) {
      if (k + kAhead < order.size()) {
        __builtin_prefetch(&shard.buckets[TagOf(hashes[order[k + kAhead]]) &
                                          (shard.buckets.size() - 1)]);
      }
      const std::uint32_t i = order[k];
      const IndexChange& c = changes[i];
      switch (c.op) {
        case IndexChange::Op::kInsert:
          InsertLocked(shard, c.key, hashes[i], c.entry);
          break;
        case IndexChange::Op::kUpdate:
          UpdateLocked(shard, c.key, hashes[i], c.entry);
          break;
        case IndexChange::Op::kRemove:
          RemoveLocked(shard, c.key, hashes[i], c.entry.rowid);
          break;
      }
    }
  }
}

void TokenIndex::Insert(const IndexKey& key, const IndexEntry& entry) {
  const std::uint64_t hash = HashOf(key);
  Shard& shard = *shards_[ShardOf(hash)];
  std::unique_lock lock(shard.mutex);
  InsertLocked(shard, key, hash, entry);
}

std::size_t TokenIndex::KeyCount() const {
  std::size_t n = 0;
  for (const auto& shard : shards_) {
    std::shared_lock lock(shard->mutex);
    n += shard->keys;
  }
  return n;
}

void TokenIndex::ForEach(
    const std::function<void(const IndexKey&, const IndexEntry&)>& fn) const {
  for (const auto& shard : shards_) {
    std::shared_lock lock(shard->mutex);
    for (const Bucket& b : shard->buckets) {
      if (b.head == kNone) continue;
      for (std::uint32_t i = b.head; i != kNone; i = shard->slots[i].next) {
        fn(shard->slots[i].key, shard->slots[i].entry);
      }
    }
  }
}

}  // namespace cairn::server
