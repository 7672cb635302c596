#include "src/voprf_tokeniser.h"

#include <algorithm>
#include <cstring>

#include <sodium.h>

#include "cairn/encoding.h"
#include "cairn/wire/me.h"

namespace cairn::client_internal {

Token VoprfTokenFromOutput(const oprf::Output& output) {
  Token token;
  std::copy_n(output.begin(), token.size(), token.begin());
  return token;
}

namespace {

std::string CacheKey(const Token& x) {
  return std::string(reinterpret_cast<const char*>(x.data()), x.size());
}

}  // namespace

VoprfTokeniser::VoprfTokeniser(Send send, std::string pinned_public_key,
                               std::size_t cache_entries, std::size_t max_batch)
    : send_(std::move(send)),
      pinned_text_(std::move(pinned_public_key)),
      cache_entries_(cache_entries),
      max_batch_(
          std::clamp<std::size_t>(max_batch, 1, wire::kMaxOprfElements)) {
  if (!pinned_text_.empty()) {
    if (auto bytes = Base64Decode(pinned_text_);
        bytes && bytes->size() == oprf::kElementSize) {
      oprf::Element element;
      std::copy(bytes->begin(), bytes->end(), element.begin());
      if (oprf::ValidateElement(element)) pinned_ = element;
    }
  }
}

std::size_t VoprfTokeniser::CachedEntries() const {
  std::lock_guard lock(mu_);
  return lru_.size();
}

Result<VoprfTokeniser::KeyInfo> VoprfTokeniser::CurrentKey(bool refresh) {
  {
    std::lock_guard lock(mu_);
    if (key_ && !refresh) return *key_;
  }
  if (!pinned_text_.empty() && !pinned_) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "ClientOptions::oprf_public_key is not the base64 of a "
                     "valid 32-byte ristretto255 element; copy the hub's "
                     "\"public_key\" from `cairn me` (oprf block) exactly",
                     "oprf_public_key");
  }
  auto body = send_(HttpRequest{"GET", "/v1/me", {}, {}, true});
  if (!body) return tl::unexpected(body.error());
  auto me = wire::DecodeMeResponse(*body);
  if (!me) return tl::unexpected(me.error());
  if (!me->oprf) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the hub does not offer token scheme voprf-v1 (no "
                     "\"oprf\" in /v1/me); use token_scheme hmac-v1 or ask "
                     "the hub operator to enable voprf-v1");
  }
  if (me->oprf->suite != oprf::kSuiteIdentifier || me->oprf->mode != "voprf") {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the hub offers OPRF suite '" + me->oprf->suite +
                         "' in mode '" + me->oprf->mode +
                         "'; this SDK speaks only ristretto255-SHA512 in "
                         "mode voprf: upgrade the SDK");
  }
  if (pinned_ && sodium_memcmp(pinned_->data(), me->oprf->public_key.data(),
                               oprf::kElementSize) != 0) {
    return MakeError(ErrorCode::kCrypto,
                     "the hub announces OPRF public key " +
                         Base64Encode(me->oprf->public_key) + " (epoch " +
                         std::to_string(me->oprf->epoch) +
                         ") but ClientOptions::oprf_public_key pins " +
                         pinned_text_ +
                         ": do not trust tokens from this hub until its "
                         "operator confirms a key rotation out of band, then "
                         "update the pin");
  }
  KeyInfo info{me->oprf->epoch, me->oprf->public_key,
               std::max<std::size_t>(1, me->limits.max_batch)};
  std::lock_guard lock(mu_);
  key_ = info;
  return info;
}

Result<std::vector<Token>> VoprfTokeniser::Evaluate(
    const KeyInfo& key, std::span<const Token> inputs) {
  const std::size_t n = inputs.size();
  std::vector<oprf::Scalar> blinds(n);
  wire::OprfEvaluateRequest request;
  request.epoch = key.epoch;
  request.elements.resize(n);
  const auto wipe = [&] {
    sodium_memzero(blinds.data(), blinds.size() * sizeof(oprf::Scalar));
  };
  for (std::size_t i = 0; i < n; ++i) {
    auto blinded = oprf::Blind(inputs[i], oprf::Mode::kVoprf);
    if (!blinded) {
      wipe();
      return tl::unexpected(blinded.error());
    }
    blinds[i] = blinded->blind;
    request.elements[i] = blinded->blinded_element;
  }
  auto body = send_(HttpRequest{
      "POST", "/v1/oprf/evaluate", wire::Encode(request), {}, true});
  if (!body) {
    wipe();
    return tl::unexpected(body.error());
  }
  auto response = wire::DecodeOprfEvaluateResponse(*body);
  if (!response) {
    wipe();
    return tl::unexpected(response.error());
  }
  if (response->epoch != key.epoch || response->evaluated.size() != n) {
    wipe();
    return MakeError(
        ErrorCode::kCrypto,
        "the hub answered " + std::to_string(response->evaluated.size()) +
            " evaluated elements under epoch " +
            std::to_string(response->epoch) + " for " + std::to_string(n) +
            " elements under epoch " + std::to_string(key.epoch) +
            ": do not trust these tokens; contact the hub "
            "operator");
  }
  std::vector<oprf::ByteView> views(inputs.begin(), inputs.end());
  auto outputs =
      oprf::FinalizeBatch(views, blinds, request.elements, response->evaluated,
                          response->proof, key.public_key);
  wipe();
  if (!outputs) {
    return MakeError(ErrorCode::kCrypto,
                     "the hub's OPRF proof did not verify against public key " +
                         Base64Encode(key.public_key) + " (epoch " +
                         std::to_string(key.epoch) +
                         "): do not trust these tokens; contact the hub "
                         "operator");
  }
  std::vector<Token> tokens;
  tokens.reserve(n);
  for (auto& output : *outputs) {
    tokens.push_back(VoprfTokenFromOutput(output));
    sodium_memzero(output.data(), output.size());
  }
  return tokens;
}

std::optional<Token> VoprfTokeniser::CacheGet(std::uint32_t epoch,
                                              const Token& x) {
  if (cache_entries_ == 0) return std::nullopt;
  std::lock_guard lock(mu_);
  if (epoch != cache_epoch_) return std::nullopt;
  const auto it = index_.find(CacheKey(x));
  if (it == index_.end()) return std::nullopt;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->second;
}

void VoprfTokeniser::CachePut(std::uint32_t epoch, const Token& x,
                              const Token& token) {
  if (cache_entries_ == 0) return;
  std::lock_guard lock(mu_);
  if (epoch != cache_epoch_) {
    // Tokens of another epoch never match: drop them all.
    lru_.clear();
    index_.clear();
    cache_epoch_ = epoch;
  }
  auto key = CacheKey(x);
  if (auto it = index_.find(key); it != index_.end()) {
    it->second->second = token;
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  lru_.emplace_front(x, token);
  index_.emplace(std::move(key), lru_.begin());
  while (lru_.size() > cache_entries_) {
    index_.erase(CacheKey(lru_.back().first));
    lru_.pop_back();
  }
}

Result<VoprfTokeniser::Tokens> VoprfTokeniser::Derive(
    std::span<const Token> inputs) {
  // A hub that rotated its key since /v1/me was read refuses the old epoch
  // ("epoch" field): read the new one and start over, once.
  for (int attempt = 0;; ++attempt) {
    auto key = CurrentKey(attempt > 0);
    if (!key) return tl::unexpected(key.error());
    Tokens out;
    out.epoch = key->epoch;
    out.tokens.resize(inputs.size());
    std::vector<std::size_t> missing;
    std::vector<Token> missing_inputs;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      if (auto cached = CacheGet(key->epoch, inputs[i])) {
        out.tokens[i] = *cached;
      } else {
        missing.push_back(i);
        missing_inputs.push_back(inputs[i]);
      }
    }
    bool stale_epoch = false;
    const std::size_t batch = std::min(max_batch_, key->hub_max_batch);
    for (std::size_t begin = 0; begin < missing.size(); begin += batch) {
      const std::size_t end = std::min(missing.size(), begin + batch);
      auto tokens =
          Evaluate(*key, std::span(missing_inputs).subspan(begin, end - begin));
      if (!tokens) {
        if (attempt == 0 && tokens.error().field == "epoch") {
          stale_epoch = true;
          break;
        }
        return tl::unexpected(tokens.error());
      }
      for (std::size_t k = begin; k < end; ++k) {
        out.tokens[missing[k]] = (*tokens)[k - begin];
        CachePut(key->epoch, missing_inputs[k], (*tokens)[k - begin]);
      }
    }
    sodium_memzero(missing_inputs.data(), missing_inputs.size() * 32);
    if (!stale_epoch) return out;
  }
}

}  // namespace cairn::client_internal
