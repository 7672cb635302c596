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
#include <shared_mutex>
#include <unordered_map>
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

struct IndexKeyHash {
  std::size_t operator()(const IndexKey& key) const noexcept {
    // Tokens are uniformly random (HMAC / PRF outputs), so eight of their
    // bytes are already a good hash; mixing in the rest keeps distinct kinds
    // of the same token apart.
    std::uint64_t h;
    std::memcpy(&h, key.token.data(), sizeof h);
    h ^= (std::uint64_t{key.kind} << 40) ^
         (std::uint64_t{static_cast<std::uint8_t>(key.scheme)} << 56) ^
         (std::uint64_t{key.epoch} * 0x9E3779B97F4A7C15ull);
    return static_cast<std::size_t>(h);
  }
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
  // `expected_signals` sizes the hash tables up front (start-up load).
  explicit TokenIndex(std::size_t expected_signals = 0);
  TokenIndex(const TokenIndex&) = delete;
  TokenIndex& operator=(const TokenIndex&) = delete;

  // Appends to `out` the entries for `key` with expires_at > now (all
  // entries when now is INT64_MIN). Thread-safe.
  void Lookup(const IndexKey& key, std::int64_t now,
              std::vector<IndexEntry>* out) const;

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

  // Entries live in a slab; each key maps to the head of its chain. Most
  // tokens have one signal, so this costs one hash node plus one slot.
  struct Slot {
    IndexEntry entry;
    std::uint32_t next = kNone;
  };
  struct Shard {
    mutable std::shared_mutex mutex;
    std::unordered_map<IndexKey, std::uint32_t, IndexKeyHash> heads;
    std::vector<Slot> slots;
    std::uint32_t free_list = kNone;
  };

  static std::size_t ShardOf(const IndexKey& key) {
    return (IndexKeyHash{}(key) >> 58) % kShardCount;
  }
  // REQUIRE: the shard's exclusive lock.
  void InsertLocked(Shard& shard, const IndexKey& key, const IndexEntry& entry);
  bool UpdateLocked(Shard& shard, const IndexKey& key, const IndexEntry& entry);
  bool RemoveLocked(Shard& shard, const IndexKey& key, std::int64_t rowid);

  std::array<std::unique_ptr<Shard>, kShardCount> shards_;
  std::atomic<std::size_t> size_{0};
};

}  // namespace cairn::server

#endif  // CAIRN_SERVER_STORE_TOKEN_INDEX_H_
