// From a token as members send it (TokenKey: kind name, scheme, epoch,
// token) to the TokenIndex's key, under the hub's accepted schemes and
// VOPRF epochs. Used by queries on the connection threads and by the
// writer's commands.
#ifndef CAIRN_SERVER_STORE_INDEX_KEYS_H_
#define CAIRN_SERVER_STORE_INDEX_KEYS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "server/src/store/member_directory.h"
#include "server/src/store/sqlite_db.h"
#include "server/src/store/store.h"
#include "server/src/store/token_index.h"

namespace cairn::server::store_internal {

// Whether this hub accepts tokens of `scheme`.
bool SchemeAccepted(const SqliteStoreOptions& options, TokenScheme scheme);

// Whether this hub holds a key for the epoch of a voprf-v1 token (always
// true for other schemes, and when no epochs are configured).
bool EpochAccepted(const SqliteStoreOptions& options, const TokenKey& key);

// The last kind looked up: a batch is nearly always of one or two kinds.
struct KindCache {
  std::string name;
  std::optional<std::uint16_t> id;
};

// The key in columns col..col+3 of a row: kind (the numeric kind id),
// scheme, epoch, token, as the signals table stores them.
IndexKey ReadIndexKey(const Statement& row, int col);

// Why this hub cannot hold a key (its kind, scheme or epoch), for a
// per-item error: what is wrong and what to do, and the field ("kind",
// "scheme" or "epoch").
struct KeyProblem {
  std::string message;
  const char* field;
};

// The index key of `key` for a command that stores or retracts it: like
// ToIndexKey, but a key this hub cannot hold is explained.
tl::expected<IndexKey, KeyProblem> ResolveTokenKey(
    const SqliteStoreOptions& options, const Directory& dir,
    const TokenKey& key);

// The index key of `key`, or nullopt when its kind is not registered or
// its scheme or epoch is not accepted (such a token matches nothing).
std::optional<IndexKey> ToIndexKey(const SqliteStoreOptions& options,
                                   const Directory& dir, const TokenKey& key,
                                   KindCache* cache = nullptr);

}  // namespace cairn::server::store_internal

#endif  // CAIRN_SERVER_STORE_INDEX_KEYS_H_
