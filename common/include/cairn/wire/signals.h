// POST /v1/signals (submit) and POST /v1/signals/retract.
#ifndef CAIRN_WIRE_SIGNALS_H_
#define CAIRN_WIRE_SIGNALS_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/wire/types.h"

namespace cairn::wire {

// One ban to share.
struct SignalItem {
  TokenKey key;  // "kind", "token", "scheme"?, "epoch"?
  Category category = Category::kOther;
  Severity severity = Severity::kMedium;
  Timestamp banned_at{};
  std::optional<Timestamp> expires_at;  // hub default when absent
  bool attribution = false;        // reveal the submitter to matching members
  std::optional<std::string> ref;  // member-private, 1..128 bytes

  bool operator==(const SignalItem&) const = default;
};

struct SubmitSignalsRequest {
  std::vector<SignalItem> signals;  // 1..kMaxBatch, no duplicates

  bool operator==(const SubmitSignalsRequest&) const = default;
};

enum class SubmitStatus : std::uint8_t {
  kCreated,
  kUpdated,
  kDuplicate,
  kError
};

struct SubmitResult {
  std::size_t index = 0;
  SubmitStatus status = SubmitStatus::kCreated;
  std::string signal_id;           // set unless status == kError
  std::optional<ItemError> error;  // set iff status == kError

  bool operator==(const SubmitResult&) const = default;
};

struct SubmitSignalsResponse {
  std::string request_id;
  std::vector<SubmitResult> results;
  std::optional<Receipt> receipt;

  bool operator==(const SubmitSignalsResponse&) const = default;
};

// One retraction: names the signal either by (kind, token, scheme, epoch) or
// by the member's own ref, never both.
struct RetractItem {
  std::optional<TokenKey> key;
  std::optional<std::string> ref;
  RetractReason reason = RetractReason::kOther;

  bool operator==(const RetractItem&) const = default;
};

struct RetractRequest {
  std::vector<RetractItem> retractions;  // 1..kMaxBatch, no duplicates

  bool operator==(const RetractRequest&) const = default;
};

enum class RetractStatus : std::uint8_t { kRetracted, kNotFound, kError };

struct RetractResult {
  std::size_t index = 0;
  RetractStatus status = RetractStatus::kRetracted;
  std::vector<std::string> signal_ids;  // present unless status == kError
  std::optional<ItemError> error;       // set iff status == kError

  bool operator==(const RetractResult&) const = default;
};

struct RetractResponse {
  std::string request_id;
  std::vector<RetractResult> results;
  std::optional<Receipt> receipt;

  bool operator==(const RetractResponse&) const = default;
};

std::string_view ToString(SubmitStatus v);
std::string_view ToString(RetractStatus v);

// Requests: unknown fields, duplicates and every shape error fail the whole
// body with kInvalidArgument, Error::field = path of the first problem and
// Error::index = batch item index when inside the batch.
std::string Encode(const SubmitSignalsRequest& body);
Result<SubmitSignalsRequest> DecodeSubmitSignalsRequest(std::string_view json);
std::string Encode(const RetractRequest& body);
Result<RetractRequest> DecodeRetractRequest(std::string_view json);

// Responses: unknown fields are ignored.
std::string Encode(const SubmitSignalsResponse& body);
Result<SubmitSignalsResponse> DecodeSubmitSignalsResponse(
    std::string_view json);
std::string Encode(const RetractResponse& body);

// A submit response's results on their own, as {"results": [...]} with the
// response's item encoding: what the hub keeps to answer a retry that
// carries the same Idempotency-Key. Decoding is strict (unknown fields
// fail): the hub reads back only what it wrote.
std::string EncodeSubmitResults(const std::vector<SubmitResult>& results);
Result<std::vector<SubmitResult>> DecodeSubmitResults(std::string_view json);
Result<RetractResponse> DecodeRetractResponse(std::string_view json);

}  // namespace cairn::wire

#endif  // CAIRN_WIRE_SIGNALS_H_
