// POST /v1/matches/{match_id}/disposition: the outcome of human review.
#ifndef CAIRN_WIRE_DISPOSITION_H_
#define CAIRN_WIRE_DISPOSITION_H_

#include <optional>
#include <string>
#include <string_view>

#include "cairn/wire/types.h"

namespace cairn::wire {

struct DispositionRequest {
  Outcome outcome = Outcome::kConfirmed;
  std::optional<std::string> note;  // 0..1000 bytes, no control characters
                                    // except \n and \t

  bool operator==(const DispositionRequest&) const = default;
};

struct DispositionResponse {
  std::string request_id;
  std::string match_id;
  Outcome outcome = Outcome::kConfirmed;
  Timestamp recorded_at{};

  bool operator==(const DispositionResponse&) const = default;
};

std::string Encode(const DispositionRequest& body);
Result<DispositionRequest> DecodeDispositionRequest(std::string_view json);
std::string Encode(const DispositionResponse& body);
Result<DispositionResponse> DecodeDispositionResponse(std::string_view json);

}  // namespace cairn::wire

#endif  // CAIRN_WIRE_DISPOSITION_H_
