// POST /v1/query: batch lookup of tokens; the answer lists only matches.
#ifndef CAIRN_WIRE_QUERY_H_
#define CAIRN_WIRE_QUERY_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/wire/types.h"

namespace cairn::wire {

struct QueryRequest {
  std::vector<TokenKey> queries;  // 1..kMaxBatch, no duplicates

  bool operator==(const QueryRequest&) const = default;
};

struct Match {
  std::size_t index = 0;  // index of the matching query item
  std::string match_id;   // "m_" + 32 lowercase hex
  std::vector<std::string> kinds;
  std::vector<Category> categories;
  std::uint32_t platforms = 0;  // distinct members that banned it
  Timestamp first_banned_at{};
  Timestamp last_banned_at{};
  Severity max_severity = Severity::kLow;
  std::vector<std::string> attributed_to;  // omitted on the wire when empty

  bool operator==(const Match&) const = default;
};

struct QueryResponse {
  std::string request_id;
  std::uint64_t queried = 0;
  std::vector<Match> matches;
  std::optional<Receipt> receipt;

  bool operator==(const QueryResponse&) const = default;
};

std::string Encode(const QueryRequest& body);
Result<QueryRequest> DecodeQueryRequest(std::string_view json);

// The hub's hot path. Decodes into `*out`, reusing its capacity (call
// out->queries.clear() is done for you), and reads `json` in place when
// `capacity` >= json.size() + kJsonPadding, i.e. when the caller's buffer
// holds that many readable bytes starting at json.data(); otherwise copies
// into a per-thread buffer. On error `*out` holds an unspecified prefix.
// REQUIRES: out != nullptr.
Status DecodeQueryRequestInto(std::string_view json, std::size_t capacity,
                              QueryRequest* out);

std::string Encode(const QueryResponse& body);
Result<QueryResponse> DecodeQueryResponse(std::string_view json);

}  // namespace cairn::wire

#endif  // CAIRN_WIRE_QUERY_H_
