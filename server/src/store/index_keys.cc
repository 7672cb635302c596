#include "server/src/store/index_keys.h"

#include <algorithm>

namespace cairn::server::store_internal {

bool SchemeAccepted(const SqliteStoreOptions& options, TokenScheme scheme) {
  return std::find(options.accepted_schemes.begin(),
                   options.accepted_schemes.end(),
                   scheme) != options.accepted_schemes.end();
}

bool EpochAccepted(const SqliteStoreOptions& options, const TokenKey& key) {
  const auto& epochs = options.voprf_epochs;
  return key.scheme != TokenScheme::kVoprfV1 || epochs.empty() ||
         std::find(epochs.begin(), epochs.end(), key.epoch) != epochs.end();
}

IndexKey ReadIndexKey(const Statement& row, int col) {
  IndexKey key;
  key.kind = static_cast<std::uint16_t>(row.Int(col));
  key.scheme = static_cast<TokenScheme>(row.Int(col + 1));
  key.epoch = static_cast<std::uint32_t>(row.Int(col + 2));
  const auto token = row.Blob(col + 3);
  std::copy_n(token.begin(), std::min(token.size(), key.token.size()),
              key.token.begin());
  return key;
}

tl::expected<IndexKey, KeyProblem> ResolveTokenKey(
    const SqliteStoreOptions& options, const Directory& dir,
    const TokenKey& key) {
  if (auto resolved = ToIndexKey(options, dir, key)) return *resolved;
  // Only on refusal: say which of ToIndexKey's checks failed.
  if (!dir.KindId(key.kind)) {
    return tl::unexpected(
        KeyProblem{"kind '" + key.kind +
                       "' is not registered on this hub; use a built-in "
                       "kind or ask the operator to register it",
                   "kind"});
  }
  if (!SchemeAccepted(options, key.scheme)) {
    return tl::unexpected(
        KeyProblem{"token scheme '" + std::string(ToString(key.scheme)) +
                       "' is not accepted by this hub; see token_schemes "
                       "in GET /v1/me",
                   "scheme"});
  }
  return tl::unexpected(
      KeyProblem{"voprf-v1 epoch " + std::to_string(key.epoch) +
                     " is not one this hub holds a key for; derive the "
                     "token again under the epoch announced in GET /v1/me",
                 "epoch"});
}

std::optional<IndexKey> ToIndexKey(const SqliteStoreOptions& options,
                                   const Directory& dir, const TokenKey& key,
                                   KindCache* cache) {
  std::optional<std::uint16_t> kind;
  if (cache != nullptr && cache->id && cache->name == key.kind) {
    kind = cache->id;
  } else {
    kind = dir.KindId(key.kind);
    if (cache != nullptr && kind) *cache = KindCache{key.kind, kind};
  }
  if (!kind) return std::nullopt;
  if (!SchemeAccepted(options, key.scheme)) return std::nullopt;
  if (!EpochAccepted(options, key)) return std::nullopt;
  IndexKey k;
  k.kind = *kind;
  k.scheme = key.scheme;
  k.epoch = key.epoch;
  k.token = key.token;
  return k;
}

}  // namespace cairn::server::store_internal
