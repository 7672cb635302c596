// The in-memory token index: (kind, scheme, epoch, token) -> the active
// signals on that token. It is the only token index the hub has (SQLite
// keeps none, see DESIGN.md "Platform facts"), rebuilt from the signals
// table at start-up and changed only by the store's writer after a commit.
//
// Thread-safety: Lookup may run concurrently from any number of threads
// with Apply. The index is split into shards, each under its own
// shared_mutex; a reader holds one shard's shared lock for one lookup, the
// writer holds one shard's exclusive lock while applying that shard's part
// of a batch. There is no global lock.
#ifndef CAIRN_SERVER_STORE_TOKEN_INDEX_H_
#define CAIRN_SERVER_STORE_TOKEN_INDEX_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <span>
#include <vector>

#include "cairn/vocabulary.h"

namespace cairn::server {

// A token's identity with the kind as the store's small numeric kind id.
struct IndexKey {
  std::uint16_t kind = 0;
  TokenScheme scheme = TokenScheme::kHmacV1;
  std::uint32_t epoch = 0;
  Token token{};

  friend bool operator==(const IndexKey&, const IndexKey&) = default;
};

// TokenHash (keyed, cairn/token_hash.h) of the whole key: members choose
// the tokens they submit, and an unkeyed hash would let one of them fill a
// probe sequence with colliding tokens.
struct IndexKeyHash {
  std::size_t operator()(const IndexKey& key) const noexcept;
};

// One active signal, as compact as the query path needs. Times are seconds
// since the Unix epoch.
struct IndexEntry {
  std::int64_t rowid = 0;  // signals.rowid
  std::int64_t banned_at = 0;
  std::int64_t expires_at = 0;
  std::uint32_t member = 0;  // submitter's numeric id
  Category category = Category::kOther;
  Severity severity = Severity::kLow;
  bool attribution = false;

  friend bool operator==(const IndexEntry&, const IndexEntry&) = default;
};

struct IndexChange {
  enum class Op : std::uint8_t { kInsert, kUpdate, kRemove };
  Op op = Op::kInsert;
  IndexKey key;
  IndexEntry entry;  // kRemove uses entry.rowid only
};

class TokenIndex {
 public:
  // `expected_signals` sizes the tables up front (start-up load).
  explicit TokenIndex(std::size_t expected_signals = 0);
  TokenIndex(const TokenIndex&) = delete;
  TokenIndex& operator=(const TokenIndex&) = delete;

  // Appends to `out` the entries for `key` with expires_at > now (all
  // entries when now is INT64_MIN). Thread-safe.
  void Lookup(const IndexKey& key, std::int64_t now,
              std::vector<IndexEntry>* out) const;

  // Calls visit(i, entry) for every entry of keys[i] with expires_at > now,
  // for all i. Equivalent to a Lookup per key, but takes each shard's lock
  // once and overlaps the keys' memory loads: the batched query path.
  // Thread-safe; `visit` runs under a shard's shared lock and must not call
  // back into the index.
  void LookupMany(
      std::span<const IndexKey> keys, std::int64_t now,
      const std::function<void(std::size_t, const IndexEntry&)>& visit) const;

  // Starts loading the memory a Lookup or an insertion of `key` reads
  // first, so that a caller working through keys one at a time can overlap
  // that load with its work on the key before. A hint: no effect on
  // results. REQUIRES: called on the thread that applies changes (it reads
  // a shard's table without its lock, which only that thread resizes).
  void Prefetch(const IndexKey& key) const;

  // Applies changes in order. kUpdate and kRemove of an absent rowid are
  // ignored. Thread-safe against Lookup; one writer at a time.
  void Apply(const std::vector<IndexChange>& changes);

  // Start-up load: like Apply with one kInsert, no ordering across shards.
  void Insert(const IndexKey& key, const IndexEntry& entry);

  std::size_t Size() const { return size_.load(std::memory_order_relaxed); }
  std::size_t KeyCount() const;

  // Visits every entry (tests and consistency checks); takes each shard's
  // shared lock in turn.
  void ForEach(
      const std::function<void(const IndexKey&, const IndexEntry&)>& fn) const;

 private:
  static constexpr std::size_t kShardCount = 64;
  static constexpr std::uint32_t kNone = 0xFFFFFFFFu;

  // Entries live in a slab; a key's entries form a chain through `next`.
  // Most tokens have one signal, so a key costs one bucket and one slot.
  struct Slot {
    IndexKey key;
    IndexEntry entry;
    std::uint32_t next = kNone;
  };
  // An open-addressing (linear probing) table of chain heads. A bucket is
  // eight bytes, eight to a cache line, so a miss -- nearly every queried
  // token -- usually costs one cache line and never touches a slot: the tag
  // (the low 32 bits of the key's hash, which also give its home bucket)
  // rules out other keys. Boost 1.74, which Debian 12 ships, has no flat
  // hash map, and std::unordered_map's node per key cost two to three
  // dependent cache misses per lookup.
  struct Bucket {
    std::uint32_t tag = 0;
    std::uint32_t head = kNone;  // kNone: empty
  };
  struct Shard {
    mutable std::shared_mutex mutex;
    std::vector<Bucket> buckets;  // size is a power of two
    std::size_t keys = 0;
    std::vector<Slot> slots;
    std::uint32_t free_list = kNone;

    // The bucket holding `key`, or nullopt.
    std::optional<std::size_t> Find(const IndexKey& key,
                                    std::uint64_t hash) const;
    void Grow();
    void EraseBucket(std::size_t i);
  };

  static std::uint64_t HashOf(const IndexKey& key) {
    return IndexKeyHash{}(key);
  }
  static std::size_t ShardOf(std::uint64_t hash) {
    return (hash >> 58) % kShardCount;
  }
  // REQUIRE: the shard's exclusive lock.
  void InsertLocked(Shard& shard, const IndexKey& key, std::uint64_t hash,
                    const IndexEntry& entry);
  bool UpdateLocked(Shard& shard, const IndexKey& key, std::uint64_t hash,
                    const IndexEntry& entry);
  bool RemoveLocked(Shard& shard, const IndexKey& key, std::uint64_t hash,
                    std::int64_t rowid);

  std::array<std::unique_ptr<Shard>, kShardCount> shards_;
  std::atomic<std::size_t> size_{0};
};

}  // namespace cairn::server

#endif  // CAIRN_SERVER_STORE_TOKEN_INDEX_H_
