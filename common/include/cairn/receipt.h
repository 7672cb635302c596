// Signed receipts: the hub's Ed25519 signature over what it was asked
// (request digest) and what it answered (results digest) for submit,
// retract and query. Members keep them as proof of what the hub said;
// anyone holding the hub's public keys (GET /v1/me "hub_keys") can check
// them offline.
//
// Canonical digests (receipt version "cairn-receipt-v1"):
//
//   request_digest = hex(SHA-256(the request body bytes exactly as sent))
//   results_digest = hex(SHA-256(CanonicalResults(...)))
//       where CanonicalResults is the compact JSON of the response's
//       "results" array (submit, retract) or "matches" array (query)
//       exactly as the hub encodes it: no whitespace, fields in the order
//       of schemas/openapi.yaml, optional fields omitted when absent, strings
//       escaped as RapidJSON's Writer does (only '"', '\' and control
//       characters). Re-encoding the decoded response with this library
//       reproduces it.
//   signed digest  = SHA-256("cairn-receipt-v1" || 0x00 ||
//                            LP(key_id) || LP(alg) || LP(member) ||
//                            LP(request_id) || LP(at) || LP(endpoint) ||
//                            LP(request_digest) || LP(results_digest))
//       LP(x) = 4-byte big-endian byte length of x, then x; `at` is the
//       RFC 3339 text ("2026-11-23T14:00:00Z"), digests are the 64-char hex.
//   signature      = base64(Ed25519-sign(hub key, signed digest))
//
// A receipt is valid when its key is one of the hub's keys, `at` lies
// within that key's validity [valid_from, valid_until], the signature
// verifies, and the digests match the request/response it came with.
//
// Pure functions of their inputs (libsodium only); thread-safe.
#ifndef CAIRN_RECEIPT_H_
#define CAIRN_RECEIPT_H_

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/result.h"
#include "cairn/wire/me.h"
#include "cairn/wire/query.h"
#include "cairn/wire/signals.h"

namespace cairn {

inline constexpr std::string_view kReceiptDomain = "cairn-receipt-v1";
inline constexpr std::string_view kReceiptAlgorithm = "ed25519";

// The `endpoint` values of receipts.
inline constexpr std::string_view kSubmitEndpoint = "/v1/signals";
inline constexpr std::string_view kRetractEndpoint = "/v1/signals/retract";
inline constexpr std::string_view kQueryEndpoint = "/v1/query";

// 64 lowercase hex characters of SHA-256(bytes).
std::string Sha256Hex(std::string_view bytes);

// The canonical encodings of a response's per-item results (see above).
std::string CanonicalResults(const std::vector<wire::SubmitResult>& results);
std::string CanonicalResults(const std::vector<wire::RetractResult>& results);
std::string CanonicalResults(const std::vector<wire::Match>& matches);

// Sha256Hex(CanonicalResults(x)).
std::string ResultsDigest(const std::vector<wire::SubmitResult>& results);
std::string ResultsDigest(const std::vector<wire::RetractResult>& results);
std::string ResultsDigest(const std::vector<wire::Match>& matches);

// The 32-byte digest the hub signs. Ignores receipt.signature.
std::array<std::uint8_t, 32> ReceiptDigest(const wire::Receipt& receipt);

// What a verifier knows independently of the receipt.
struct ReceiptExpectation {
  std::string endpoint;        // the endpoint called (kSubmitEndpoint, ...)
  std::string request_id;      // the response's request_id
  std::string results_digest;  // ResultsDigest() of the response
  // The caller's member id; empty: not checked (e.g. a third party).
  std::string member;
  // Sha256Hex of the request body; nullopt: not checked (the request was
  // not kept).
  std::optional<std::string> request_digest;
};

// Checks `receipt` against `expected` and the hub's `keys`. Errors (each
// message says what does not match and what it means):
//   kNotFound  the receipt's key_id is not among `keys` (refetch the keys
//              from /v1/me; if still unknown, the receipt is not this hub's)
//   kCrypto    wrong algorithm, key not valid at `at`, bad signature, or a
//              field or digest that differs from `expected`
Status VerifyReceipt(const wire::Receipt& receipt,
                     const ReceiptExpectation& expected,
                     std::span<const wire::HubKey> keys);

// Verifies response.receipt for the response it came with. `request_body`
// (the bytes sent) is checked when given; `member` when non-empty.
// kInvalidArgument when the response carries no receipt.
Status VerifyResponseReceipt(const wire::SubmitSignalsResponse& response,
                             std::optional<std::string_view> request_body,
                             std::span<const wire::HubKey> keys,
                             std::string_view member = {});
Status VerifyResponseReceipt(const wire::RetractResponse& response,
                             std::optional<std::string_view> request_body,
                             std::span<const wire::HubKey> keys,
                             std::string_view member = {});
Status VerifyResponseReceipt(const wire::QueryResponse& response,
                             std::optional<std::string_view> request_body,
                             std::span<const wire::HubKey> keys,
                             std::string_view member = {});

// Verifies the receipt of a saved response body (submit, retract or query;
// the receipt's endpoint says which). Returns the verified receipt.
Result<wire::Receipt> VerifySavedResponse(
    std::string_view response_json, std::span<const wire::HubKey> keys,
    std::optional<std::string_view> request_body = std::nullopt);

// The same for files; `request_file` empty: the request is not checked.
// Errors reading a file are kIo and name the file.
Result<wire::Receipt> VerifySavedResponseFile(
    const std::filesystem::path& response_file,
    std::span<const wire::HubKey> keys,
    const std::filesystem::path& request_file = {});

// Any JSON object with a "hub_keys" array: a saved GET /v1/me response or
// the answer of POST /v1/admin/keys/rotate, {"hub_keys":[...]}.
struct HubKeysResponse {
  std::vector<wire::HubKey> hub_keys;

  bool operator==(const HubKeysResponse&) const = default;
};
std::string Encode(const HubKeysResponse& body);
Result<HubKeysResponse> DecodeHubKeysResponse(std::string_view json);

// Reads the file and decodes it with DecodeHubKeysResponse.
Result<std::vector<wire::HubKey>> LoadHubKeysFile(
    const std::filesystem::path& file);

}  // namespace cairn

#endif  // CAIRN_RECEIPT_H_
