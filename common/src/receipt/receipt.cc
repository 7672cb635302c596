#include "cairn/receipt.h"

#include <sodium.h>

#include "../wire/json.h"
#include "cairn/encoding.h"
#include "cairn/sha256.h"
#include "cairn/timestamp.h"
#include "cairn/whole_file.h"

namespace cairn {
namespace {

namespace od = wire::internal::od;
using wire::internal::Mode;
using wire::internal::Path;

bool EnsureSodium() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

template <typename Items, typename WriteItems>
std::string Canonical(const Items& items, WriteItems&& write) {
  rapidjson::StringBuffer buffer;
  wire::internal::Writer w(buffer);
  write(w, items);
  return wire::internal::Take(buffer);
}

void AppendField(crypto_hash_sha256_state& state, std::string_view field) {
  const auto n = static_cast<std::uint32_t>(field.size());
  const std::uint8_t length[4] = {
      static_cast<std::uint8_t>(n >> 24), static_cast<std::uint8_t>(n >> 16),
      static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)};
  crypto_hash_sha256_update(&state, length, sizeof length);
  crypto_hash_sha256_update(
      &state, reinterpret_cast<const unsigned char*>(field.data()),
      field.size());
}

tl::unexpected<Error> Forged(std::string message) {
  return MakeError(ErrorCode::kCrypto, std::move(message));
}

const wire::HubKey* FindKey(std::span<const wire::HubKey> keys,
                            std::string_view key_id) {
  for (const auto& key : keys) {
    if (key.key_id == key_id) return &key;
  }
  return nullptr;
}

Status CheckField(std::string_view name, std::string_view in_receipt,
                  std::string_view expected, std::string_view meaning) {
  if (in_receipt == expected) return {};
  return Forged("receipt " + std::string(name) + " is '" +
                std::string(in_receipt) + "' but '" + std::string(expected) +
                "' was expected: " + std::string(meaning));
}

template <typename Response>
Status VerifyFor(const Response& response, std::string_view endpoint,
                 std::string results_digest,
                 std::optional<std::string_view> request_body,
                 std::span<const wire::HubKey> keys, std::string_view member) {
  if (!response.receipt) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the response carries no receipt; the hub has no "
                     "signing keys configured (ask the operator) or this is "
                     "not a submit, retract or query response");
  }
  ReceiptExpectation expected;
  expected.endpoint = std::string(endpoint);
  expected.request_id = response.request_id;
  expected.results_digest = std::move(results_digest);
  expected.member = std::string(member);
  if (request_body) expected.request_digest = Sha256Hex(*request_body);
  return VerifyReceipt(*response.receipt, expected, keys);
}

// The receipt of any response body, ignoring everything else.
Result<wire::Receipt> DecodeReceiptOnly(std::string_view json) {
  static constexpr std::array<std::string_view, 1> kRoot = {"receipt"};
  return wire::internal::DecodeBody<wire::Receipt>(
      json, [](od::object& root, Path& path, wire::Receipt& out) -> Status {
        auto seen = wire::internal::WalkObject(
            root, kRoot, Mode::kLenient, path,
            [&](std::size_t, od::value& v) -> Status {
              auto receipt = wire::internal::GetReceipt(v, path);
              if (!receipt) {
                return tl::unexpected<Error>(std::move(receipt.error()));
              }
              out = std::move(*receipt);
              return {};
            });
        if (!seen) return tl::unexpected<Error>(std::move(seen.error()));
        if (*seen == 0) {
          return MakeError(ErrorCode::kInvalidArgument,
                           "the response has no \"receipt\"; save the whole "
                           "JSON body of a submit, retract or query response "
                           "from a hub with signing keys");
        }
        return {};
      });
}

Status DecodeHubKey(od::value& value, Path& path, wire::HubKey& out) {
  static constexpr std::array<std::string_view, 5> kKeys = {
      "key_id", "algorithm", "public_key", "valid_from", "valid_until"};
  auto object = wire::internal::GetObject(value, path);
  if (!object) return tl::unexpected<Error>(std::move(object.error()));
  auto seen = wire::internal::WalkObject(
      *object, kKeys, Mode::kLenient, path,
      [&](std::size_t key, od::value& v) -> Status {
        if (key >= 3) {
          auto t = wire::internal::GetTimestamp(v, path);
          if (!t) return tl::unexpected<Error>(std::move(t.error()));
          if (key == 3) {
            out.valid_from = *t;
          } else {
            out.valid_until = *t;
          }
          return {};
        }
        auto s = wire::internal::GetText(v, path, 1, 256);
        if (!s) return tl::unexpected<Error>(std::move(s.error()));
        (key == 0   ? out.key_id
         : key == 1 ? out.algorithm
                    : out.public_key) = std::string(*s);
        return {};
      });
  if (!seen) return tl::unexpected<Error>(std::move(seen.error()));
  return wire::internal::RequireFields(*seen, 0xf, kKeys, path);
}

}  // namespace

std::string Sha256Hex(std::string_view bytes) {
  return HexEncode(Sha256Of(bytes));
}

std::string CanonicalResults(const std::vector<wire::SubmitResult>& results) {
  return Canonical(results, &wire::internal::WriteSubmitResults);
}

std::string CanonicalResults(const std::vector<wire::RetractResult>& results) {
  return Canonical(results, &wire::internal::WriteRetractResults);
}

std::string CanonicalResults(const std::vector<wire::Match>& matches) {
  return Canonical(matches, &wire::internal::WriteMatches);
}

std::string ResultsDigest(const std::vector<wire::SubmitResult>& results) {
  return Sha256Hex(CanonicalResults(results));
}

std::string ResultsDigest(const std::vector<wire::RetractResult>& results) {
  return Sha256Hex(CanonicalResults(results));
}

std::string ResultsDigest(const std::vector<wire::Match>& matches) {
  return Sha256Hex(CanonicalResults(matches));
}

std::array<std::uint8_t, 32> ReceiptDigest(const wire::Receipt& receipt) {
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  crypto_hash_sha256_update(
      &state, reinterpret_cast<const unsigned char*>(kReceiptDomain.data()),
      kReceiptDomain.size());
  const unsigned char zero = 0;
  crypto_hash_sha256_update(&state, &zero, 1);
  AppendField(state, receipt.key_id);
  AppendField(state, receipt.alg);
  AppendField(state, receipt.member);
  AppendField(state, receipt.request_id);
  AppendField(state, FormatTimestamp(receipt.at));
  AppendField(state, receipt.endpoint);
  AppendField(state, receipt.request_digest);
  AppendField(state, receipt.results_digest);
  std::array<std::uint8_t, 32> digest{};
  crypto_hash_sha256_final(&state, digest.data());
  return digest;
}

Status VerifyReceipt(const wire::Receipt& receipt,
                     const ReceiptExpectation& expected,
                     std::span<const wire::HubKey> keys) {
  if (!EnsureSodium()) {
    return MakeError(ErrorCode::kInternal, "libsodium failed to initialise");
  }
  if (receipt.alg != kReceiptAlgorithm) {
    return Forged("receipt algorithm '" + receipt.alg +
                  "' is not supported (only ed25519); update the client or "
                  "treat the receipt as invalid");
  }
  const wire::HubKey* key = FindKey(keys, receipt.key_id);
  if (key == nullptr) {
    return MakeError(ErrorCode::kNotFound,
                     "receipt signed with key '" + receipt.key_id +
                         "', which is not among the hub's published keys; "
                         "fetch the current keys (GET /v1/me) and retry, and "
                         "if it is still unknown the receipt is not from "
                         "this hub");
  }
  if (key->algorithm != kReceiptAlgorithm) {
    return Forged("hub key '" + key->key_id + "' has algorithm '" +
                  key->algorithm + "', not ed25519; the key list is wrong");
  }
  if (receipt.at < key->valid_from ||
      (key->valid_until && receipt.at > *key->valid_until)) {
    return Forged(
        "receipt dated " + FormatTimestamp(receipt.at) +
        " is signed with key '" + key->key_id + "', which is valid only from " +
        FormatTimestamp(key->valid_from) +
        (key->valid_until ? " until " + FormatTimestamp(*key->valid_until)
                          : std::string()) +
        "; the hub did not sign it with that key at that time, "
        "treat it as forged");
  }
  auto public_key = Base64Decode(key->public_key);
  if (!public_key || public_key->size() != crypto_sign_PUBLICKEYBYTES) {
    return Forged("hub key '" + key->key_id +
                  "' is not 32 bytes of base64; fetch the keys again from "
                  "GET /v1/me");
  }
  auto signature = Base64Decode(receipt.signature);
  if (!signature || signature->size() != crypto_sign_BYTES) {
    return Forged(
        "receipt signature is not 64 bytes of base64; the receipt "
        "is damaged, treat it as invalid");
  }
  const auto digest = ReceiptDigest(receipt);
  if (crypto_sign_verify_detached(signature->data(), digest.data(),
                                  digest.size(), public_key->data()) != 0) {
    return Forged("receipt signature does not verify under hub key '" +
                  key->key_id +
                  "': the receipt was altered (key id, member, request id, "
                  "time, endpoint or a digest) or not made by the hub; treat "
                  "it as invalid");
  }
  if (auto s = CheckField("endpoint", receipt.endpoint, expected.endpoint,
                          "the receipt belongs to another kind of request");
      !s) {
    return s;
  }
  if (auto s = CheckField("request_id", receipt.request_id, expected.request_id,
                          "the receipt belongs to another response");
      !s) {
    return s;
  }
  if (!expected.member.empty()) {
    if (auto s = CheckField("member", receipt.member, expected.member,
                            "the receipt was issued to another member");
        !s) {
      return s;
    }
  }
  if (expected.request_digest) {
    if (auto s = CheckField(
            "request_digest", receipt.request_digest, *expected.request_digest,
            "the hub signed a different request body than the one given");
        !s) {
      return s;
    }
  }
  return CheckField(
      "results_digest", receipt.results_digest, expected.results_digest,
      "the results in the response differ from those the hub signed (the "
      "response was altered after signing); do not rely on it");
}

Status VerifyResponseReceipt(const wire::SubmitSignalsResponse& response,
                             std::optional<std::string_view> request_body,
                             std::span<const wire::HubKey> keys,
                             std::string_view member) {
  return VerifyFor(response, kSubmitEndpoint, ResultsDigest(response.results),
                   request_body, keys, member);
}

Status VerifyResponseReceipt(const wire::RetractResponse& response,
                             std::optional<std::string_view> request_body,
                             std::span<const wire::HubKey> keys,
                             std::string_view member) {
  return VerifyFor(response, kRetractEndpoint, ResultsDigest(response.results),
                   request_body, keys, member);
}

Status VerifyResponseReceipt(const wire::QueryResponse& response,
                             std::optional<std::string_view> request_body,
                             std::span<const wire::HubKey> keys,
                             std::string_view member) {
  return VerifyFor(response, kQueryEndpoint, ResultsDigest(response.matches),
                   request_body, keys, member);
}

Result<wire::Receipt> VerifySavedResponse(
    std::string_view response_json, std::span<const wire::HubKey> keys,
    std::optional<std::string_view> request_body) {
  auto receipt = DecodeReceiptOnly(response_json);
  if (!receipt) return tl::unexpected(receipt.error());
  Status verified;
  if (receipt->endpoint == kSubmitEndpoint) {
    auto r = wire::DecodeSubmitSignalsResponse(response_json);
    if (!r) return tl::unexpected(r.error());
    verified = VerifyResponseReceipt(*r, request_body, keys);
  } else if (receipt->endpoint == kRetractEndpoint) {
    auto r = wire::DecodeRetractResponse(response_json);
    if (!r) return tl::unexpected(r.error());
    verified = VerifyResponseReceipt(*r, request_body, keys);
  } else if (receipt->endpoint == kQueryEndpoint) {
    auto r = wire::DecodeQueryResponse(response_json);
    if (!r) return tl::unexpected(r.error());
    verified = VerifyResponseReceipt(*r, request_body, keys);
  } else {
    return MakeError(ErrorCode::kInvalidArgument,
                     "receipt endpoint '" + receipt->endpoint +
                         "' is not a submit, retract or query endpoint; is "
                         "this file a Cairn response?");
  }
  if (!verified) return tl::unexpected(verified.error());
  return receipt;
}

Result<wire::Receipt> VerifySavedResponseFile(
    const std::filesystem::path& response_file,
    std::span<const wire::HubKey> keys,
    const std::filesystem::path& request_file) {
  auto response = ReadWholeFile(response_file, "response file");
  if (!response) return tl::unexpected(response.error());
  std::optional<std::string> request;
  if (!request_file.empty()) {
    auto text = ReadWholeFile(request_file, "request file");
    if (!text) return tl::unexpected(text.error());
    request = std::move(*text);
  }
  auto verified = VerifySavedResponse(
      *response, keys,
      request ? std::optional<std::string_view>(*request) : std::nullopt);
  if (!verified) {
    Error error = verified.error();
    error.message = response_file.string() + ": " + error.message;
    return tl::unexpected(std::move(error));
  }
  return verified;
}

std::string Encode(const HubKeysResponse& body) {
  rapidjson::StringBuffer buffer;
  wire::internal::Writer w(buffer);
  w.StartObject();
  wire::internal::WriteKey(w, "hub_keys");
  w.StartArray();
  for (const auto& k : body.hub_keys) {
    w.StartObject();
    wire::internal::WriteKey(w, "key_id");
    wire::internal::WriteString(w, k.key_id);
    wire::internal::WriteKey(w, "algorithm");
    wire::internal::WriteString(w, k.algorithm);
    wire::internal::WriteKey(w, "public_key");
    wire::internal::WriteString(w, k.public_key);
    wire::internal::WriteKey(w, "valid_from");
    wire::internal::WriteTimestamp(w, k.valid_from);
    if (k.valid_until) {
      wire::internal::WriteKey(w, "valid_until");
      wire::internal::WriteTimestamp(w, *k.valid_until);
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return wire::internal::Take(buffer);
}

Result<HubKeysResponse> DecodeHubKeysResponse(std::string_view json) {
  static constexpr std::array<std::string_view, 1> kRoot = {"hub_keys"};
  return wire::internal::DecodeBody<HubKeysResponse>(
      json, [](od::object& root, Path& path, HubKeysResponse& out) -> Status {
        auto seen = wire::internal::WalkObject(
            root, kRoot, Mode::kLenient, path,
            [&](std::size_t, od::value& v) -> Status {
              return wire::internal::WalkArray(
                  v, path, 0, 64, false,
                  [&](std::size_t, od::value& item) -> Status {
                    return DecodeHubKey(item, path,
                                        out.hub_keys.emplace_back());
                  });
            });
        if (!seen) return tl::unexpected<Error>(std::move(seen.error()));
        return wire::internal::RequireFields(*seen, 1, kRoot, path);
      });
}

Result<std::vector<wire::HubKey>> LoadHubKeysFile(
    const std::filesystem::path& file) {
  auto text = ReadWholeFile(file, "hub keys file");
  if (!text) return tl::unexpected(text.error());
  auto decoded = DecodeHubKeysResponse(*text);
  if (!decoded) {
    Error error = decoded.error();
    error.message =
        file.string() +
        ": not a saved GET /v1/me response or key list: " + error.message;
    return tl::unexpected(std::move(error));
  }
  return std::move(decoded->hub_keys);
}

}  // namespace cairn
