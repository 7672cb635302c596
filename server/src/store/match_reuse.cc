#include "server/src/store/match_reuse.h"

#include <algorithm>

namespace cairn::server {

MatchReuseCache::MatchReuseCache(std::size_t max_entries)
    : generation_size_(std::max<std::size_t>(1, max_entries / 2)) {}

std::size_t MatchReuseCache::KeyHash::operator()(const Key& k) const noexcept {
  return IndexKeyHash{}(k.key) ^ (std::size_t{k.member} * 0x9e3779b97f4a7c15);
}

std::optional<MatchResult> MatchReuseCache::Find(
    std::uint32_t member, const IndexKey& key,
    std::span<const IndexEntry> support, std::int64_t not_before,
    std::size_t index) const {
  const Key k{member, key};
  std::lock_guard lock(mutex_);
  for (const Generation* g : {&current_, &previous_}) {
    auto it = g->find(k);
    if (it == g->end()) continue;
    const Entry& e = it->second;
    // A different set of signals is new information (another platform's
    // ban, or one retracted): that deserves a match and a review of its own.
    if (e.created_at < not_before ||
        !std::equal(e.support.begin(), e.support.end(), support.begin(),
                    support.end())) {
      return std::nullopt;
    }
    MatchResult out = e.match;
    out.index = index;
    return out;
  }
  return std::nullopt;
}

void MatchReuseCache::Insert(std::uint32_t member, const IndexKey& key,
                             std::vector<IndexEntry> support,
                             std::int64_t created_at, MatchResult match) {
  const Key k{member, key};
  Entry e{std::move(support), created_at, std::move(match)};
  std::lock_guard lock(mutex_);
  // The newer match replaces an older one in either generation.
  previous_.erase(k);
  current_.insert_or_assign(k, std::move(e));
  if (current_.size() >= generation_size_) {
    previous_ = std::move(current_);
    current_ = Generation();
  }
}

void MatchReuseCache::EvictCreatedAtOrBefore(std::int64_t cutoff) {
  std::lock_guard lock(mutex_);
  for (Generation* g : {&current_, &previous_}) {
    std::erase_if(*g, [cutoff](const auto& entry) {
      return entry.second.created_at <= cutoff;
    });
  }
}

std::size_t MatchReuseCache::size() const {
  std::lock_guard lock(mutex_);
  return current_.size() + previous_.size();
}

}  // namespace cairn::server
