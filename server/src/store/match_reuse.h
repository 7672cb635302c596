// Recently recorded matches, so that a member who queries the same token
// again, while the same signals support it, gets the match it already has
// instead of a new one (SqliteStoreOptions::match_reuse_window).
//
// Why: every recorded match is a durable write the query waits for, a
// review item for the member's moderators, and a retraction notice later.
// A platform that re-checks the same account (at each sign-in, or in a
// nightly re-screen) would otherwise get a new match, a new review and a
// new write each time for the same finding.
//
// Holds only matches whose commit has succeeded; lookups and inserts are
// thread-safe. Bounded: at most `max_entries` (two generations of half the
// size; the older generation is dropped when the newer fills), so the
// oldest entries fall out first. Lost on restart: the first repeat after a
// restart records a new match.
#ifndef CAIRN_SERVER_STORE_MATCH_REUSE_H_
#define CAIRN_SERVER_STORE_MATCH_REUSE_H_

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "server/src/store/records.h"
#include "server/src/store/token_index.h"

namespace cairn::server {

class MatchReuseCache {
 public:
  explicit MatchReuseCache(std::size_t max_entries);

  // The match `member` recorded on `key` at or after `not_before` (Unix
  // seconds) whose supporting signals were exactly `support` (ascending by
  // rowid, every field equal: an updated severity or expiry is a change),
  // with `index` set to `index`; nullopt if there is none.
  std::optional<MatchResult> Find(std::uint32_t member, const IndexKey& key,
                                  std::span<const IndexEntry> support,
                                  std::int64_t not_before,
                                  std::size_t index) const;

  // Remembers a committed match. `support` ascending by rowid.
  void Insert(std::uint32_t member, const IndexKey& key,
              std::vector<IndexEntry> support, std::int64_t created_at,
              MatchResult match);

  // Forgets the matches created at or before `cutoff` (Unix seconds): a
  // retention purge deletes their rows, and a match id handed out again
  // after that would name nothing (its disposition refused, its
  // retraction notice lost).
  void EvictCreatedAtOrBefore(std::int64_t cutoff);

  std::size_t size() const;

 private:
  struct Key {
    std::uint32_t member = 0;
    IndexKey key;
    friend bool operator==(const Key&, const Key&) = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const noexcept;
  };
  struct Entry {
    std::vector<IndexEntry> support;
    std::int64_t created_at = 0;
    MatchResult match;
  };
  using Generation = std::unordered_map<Key, Entry, KeyHash>;

  const std::size_t generation_size_;
  mutable std::mutex mutex_;
  Generation current_;
  Generation previous_;
};

}  // namespace cairn::server

#endif  // CAIRN_SERVER_STORE_MATCH_REUSE_H_
