// The store's in-memory directory of members, their certificate
// fingerprints and the token kinds: what the request path needs on every
// call without touching the database. Built from the database at start-up
// and after each commit that changes members or kinds, then published as an
// immutable snapshot (readers share it without locking).
#ifndef CAIRN_SERVER_STORE_MEMBER_DIRECTORY_H_
#define CAIRN_SERVER_STORE_MEMBER_DIRECTORY_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "cairn/result.h"
#include "server/src/store/records.h"
#include "server/src/store/sqlite_db.h"

namespace cairn::server::store_internal {

// Lets the directory's string-keyed maps be searched with a string_view,
// without building a std::string per lookup.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

// Members and kinds as the request path needs them; immutable once
// published.
struct Directory {
  struct Member {
    MemberRecord record;
    std::uint32_t number = 0;
  };
  // Searched with string_views on every request: no string built per look-up.
  template <typename V>
  using ByString =
      std::unordered_map<std::string, V, StringHash, std::equal_to<>>;
  ByString<Member> members;          // by member id
  ByString<std::string> active_fps;  // fp -> member id
  std::unordered_set<std::string, StringHash, std::equal_to<>> revoked_fps;
  std::unordered_map<std::uint32_t, std::string> by_number;  // number -> id
  std::unordered_map<std::string, std::uint16_t, StringHash, std::equal_to<>>
      kind_ids;
  std::unordered_map<std::uint16_t, std::string> kind_names;

  const Member* FindMember(std::string_view id) const {
    auto it = members.find(id);
    return it == members.end() ? nullptr : &it->second;
  }
  std::optional<std::uint16_t> KindId(std::string_view kind) const {
    auto it = kind_ids.find(kind);
    if (it == kind_ids.end()) return std::nullopt;
    return it->second;
  }
  std::string KindName(std::uint16_t id) const {
    auto it = kind_names.find(id);
    return it == kind_names.end() ? std::string("unknown") : it->second;
  }
  std::string MemberIdOf(std::uint32_t number) const {
    auto it = by_number.find(number);
    return it == by_number.end() ? std::string() : it->second;
  }
};

// Reads members, fingerprints and kinds from `db`.
Result<Directory> LoadDirectory(Database& db);

// Whether `member_id` may make a request that needs `role`, as `dir` has
// it: the member exists (else UnknownMember's error), is not suspended and
// holds `role`, and `fingerprint`, when not empty (the caller's client
// certificate; tools and the hub's sweeps have none), is an unrevoked
// certificate of that member. Otherwise kPermissionDenied with the message
// the router gives (standing.h). The checks cost hash look-ups only.
Result<const Directory::Member*> CheckStanding(const Directory& dir,
                                               std::string_view member_id,
                                               std::string_view fingerprint,
                                               Role role);

// The directory the request path reads: the writer replaces it whole after
// commits that change members or kinds; readers keep the snapshot they got.
// Thread-safe.
class PublishedDirectory {
 public:
  std::shared_ptr<const Directory> Get() const {
    std::lock_guard lock(mutex_);
    return current_;
  }
  void Publish(std::shared_ptr<const Directory> next) {
    std::lock_guard lock(mutex_);
    current_ = std::move(next);
    version_.fetch_add(1, std::memory_order_release);
  }
  void Publish(Directory dir) {
    Publish(std::make_shared<const Directory>(std::move(dir)));
  }
  // Changes with every Publish: read it before Get(), and a later read that
  // differs says a newer directory is out (an atomic load, for hot paths
  // that check whether their snapshot went stale).
  std::uint64_t Version() const {
    return version_.load(std::memory_order_acquire);
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const Directory> current_;
  std::atomic<std::uint64_t> version_{0};
};

}  // namespace cairn::server::store_internal

#endif  // CAIRN_SERVER_STORE_MEMBER_DIRECTORY_H_
