// The SDK's half of token scheme voprf-v1 (docs/token-scheme.md): turns
// hmac-v1 values x into voprf-v1 tokens by blinding them, asking the hub to
// evaluate (POST /v1/oprf/evaluate, batched), verifying the hub's batched
// DLEQ proof against its public key, and finalising. The token is the first
// 32 bytes of the RFC 9497 output. Internal to libcairn-client.
#ifndef CAIRN_CLIENT_SRC_VOPRF_TOKENISER_H_
#define CAIRN_CLIENT_SRC_VOPRF_TOKENISER_H_

#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "cairn/connection.h"
#include "cairn/oprf.h"
#include "cairn/result.h"
#include "cairn/vocabulary.h"
#include "cairn/wire/oprf.h"

namespace cairn::client_internal {

// The voprf-v1 token of x from the RFC 9497 output: its first 32 bytes.
Token VoprfTokenFromOutput(const oprf::Output& output);

// Thread-safe.
class VoprfTokeniser {
 public:
  // Sends one request and returns the body of a 2xx reply (else the error).
  using Send = std::function<Result<std::string>(HttpRequest)>;

  // `pinned_public_key`: base64 of the hub's OPRF public key, or "" to
  // trust the one /v1/me announces. `cache_entries`: 0 disables the cache.
  // `max_batch`: elements per evaluate request (clamped to the protocol's
  // 1..10,000, and to the hub's limits.max_batch read with its key).
  VoprfTokeniser(Send send, std::string pinned_public_key,
                 std::size_t cache_entries, std::size_t max_batch);

  struct Tokens {
    std::uint32_t epoch = 0;
    std::vector<Token> tokens;  // one per input, in order
  };

  // The voprf-v1 tokens of `inputs` (hmac-v1 values) under the hub's
  // current epoch. Fails as a whole if the hub refuses a request or a proof
  // does not verify (kCrypto); no token of a failed call is cached.
  Result<Tokens> Derive(std::span<const Token> inputs);

  // Entries in the cache (tests).
  std::size_t CachedEntries() const;

 private:
  struct KeyInfo {
    std::uint32_t epoch = 0;
    oprf::Element public_key{};
    std::size_t hub_max_batch = wire::kMaxOprfElements;  // /v1/me limits
  };

  Result<KeyInfo> CurrentKey(bool refresh);
  // One evaluate request for `inputs` (at most max_batch_).
  Result<std::vector<Token>> Evaluate(const KeyInfo& key,
                                      std::span<const Token> inputs);
  std::optional<Token> CacheGet(std::uint32_t epoch, const Token& x);
  void CachePut(std::uint32_t epoch, const Token& x, const Token& token);

  Send send_;
  std::optional<oprf::Element> pinned_;
  std::string pinned_text_;
  std::size_t cache_entries_;
  std::size_t max_batch_;

  mutable std::mutex mu_;
  std::optional<KeyInfo> key_;  // guarded by mu_
  // LRU cache x -> token for epoch cache_epoch_; most recent first. Keyed by
  // x rather than the identifier, so that no identifier is held.
  std::uint32_t cache_epoch_ = 0;           // guarded by mu_
  std::list<std::pair<Token, Token>> lru_;  // guarded by mu_
  std::unordered_map<std::string, std::list<std::pair<Token, Token>>::iterator>
      index_;  // guarded by mu_
};

}  // namespace cairn::client_internal

#endif  // CAIRN_CLIENT_SRC_VOPRF_TOKENISER_H_
