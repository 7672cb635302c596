// Building blocks shared by the wire bodies of the /v1 API: bounds, the
// token key that names an identifier on the wire, and per-item errors.
// The contract itself is schemas/openapi.yaml; docs/protocol.md explains it.
#ifndef CAIRN_WIRE_TYPES_H_
#define CAIRN_WIRE_TYPES_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cairn/result.h"
#include "cairn/vocabulary.h"

namespace cairn::wire {

using Timestamp = std::chrono::sys_seconds;

// Bounds of the protocol (see docs/protocol.md, "Limits").
inline constexpr std::size_t kMaxBatch = 10000;  // items per batch request
inline constexpr std::size_t kMaxKindBytes = 32;
inline constexpr std::size_t kMaxRefBytes = 128;     // ref: 1..128 bytes
inline constexpr std::size_t kMaxNoteBytes = 1000;   // note: 0..1000 bytes
inline constexpr std::size_t kMaxReasonBytes = 500;  // admin reason: 0..500
inline constexpr std::size_t kMaxNameBytes = 128;    // member name: 1..128
inline constexpr std::size_t kMaxCursorBytes = 64;
inline constexpr std::size_t kMaxMessageBytes = 1000;  // error messages
inline constexpr std::size_t kMaxIdempotencyKeyBytes = 128;
inline constexpr std::uint32_t kMaxPageLimit = 10000;

// The hub's rule for a text field such as a ref (1..kMaxRefBytes) or a
// note (0..kMaxNoteBytes, allow_newlines): min_bytes..max_bytes of UTF-8
// without control characters (C0, DEL, C1); `allow_newlines` permits \n,
// \r and \t. The decoders apply it, so a client can check a field before
// sending it. Fails with kInvalidArgument saying what is wrong and what to
// do (the message names no field).
Status CheckText(std::string_view text, std::size_t min_bytes,
                 std::size_t max_bytes, bool allow_newlines = false);
inline constexpr std::uint32_t kDefaultPageLimit = 1000;
inline constexpr std::size_t kMaxFingerprintsPerMember = 16;

// The bytes every decoder may read past the end of its input (simdjson's
// SIMDJSON_PADDING). Callers that own a buffer with this much slack after the
// body can pass it to the *Padded decoders to avoid a copy.
inline constexpr std::size_t kJsonPadding = 64;

// Names one identifier on the wire: (kind, scheme, epoch, token).
struct TokenKey {
  std::string kind;  // built-in or registered kind, ^[a-z][a-z0-9_]{1,31}$
  Token token{};
  TokenScheme scheme = TokenScheme::kHmacV1;
  std::uint32_t epoch = 0;  // only meaningful for voprf-v1

  bool operator==(const TokenKey&) const = default;
};

// The error of one item of a batch response:
//   {"code":"not_found","message":"...","field":"signals[2].kind"}
struct ItemError {
  ErrorCode code = ErrorCode::kInvalidArgument;
  std::string message;
  std::string field;  // optional on the wire; empty when absent

  bool operator==(const ItemError&) const = default;
};

// The hub's signed receipt of a submit, retract or query response. The
// signed digest, the two content digests and verification are specified in
// cairn/receipt.h (and docs/protocol.md, "Receipts").
struct Receipt {
  std::string key_id;           // hub signing key, listed in /v1/me hub_keys
  std::string alg = "ed25519";  // signature algorithm
  std::string member;           // member id of the caller
  std::string request_id;       // the response's request_id
  Timestamp at{};               // when the hub signed
  std::string endpoint;         // "/v1/signals", "/v1/signals/retract", ...
  std::string request_digest;   // 64 lowercase hex (see cairn/receipt.h)
  std::string results_digest;   // 64 lowercase hex (see cairn/receipt.h)
  std::string signature;        // standard base64 of 64 signature bytes

  bool operator==(const Receipt&) const = default;
};

// Shape checks shared by decoders and by the hub (e.g. for path parameters).
bool IsLowerHex(std::string_view s, std::size_t length);
bool IsWellFormedMemberId(std::string_view s);     // ^[a-z][a-z0-9-]{1,31}$
bool IsWellFormedFingerprint(std::string_view s);  // 64 lowercase hex
bool IsWellFormedMatchId(std::string_view s);      // "m_" + 32 lowercase hex
bool IsWellFormedSignalId(std::string_view s);     // "s_" + 32 lowercase hex
bool IsWellFormedRequestId(std::string_view s);    // "r_" + 32 lowercase hex
bool IsWellFormedCursor(std::string_view s);       // ^[A-Za-z0-9._~-]{1,64}$
// 1..128 visible ASCII characters (0x21..0x7e).
bool IsWellFormedIdempotencyKey(std::string_view s);

}  // namespace cairn::wire

#endif  // CAIRN_WIRE_TYPES_H_
