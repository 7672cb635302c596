// What the store keeps of a submission for its Idempotency-Key: a digest
// of the items, to detect a reused key, and the per-item results, to answer
// a retry with the same results.
#ifndef CAIRN_SERVER_STORE_SUBMIT_RECORDS_H_
#define CAIRN_SERVER_STORE_SUBMIT_RECORDS_H_

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cairn/result.h"
#include "cairn/sha256.h"
#include "cairn/wire/query.h"
#include "cairn/wire/signals.h"
#include "server/src/store/records.h"

namespace cairn::server::store_internal {

// A member's record for an Idempotency-Key, if newer than ?3:
// ?1 member number, ?2 key, ?3 the oldest created_at still in the window.
// Answered through the (member, key) index (schema 10), which a test checks.
inline constexpr const char* kIdempotencyLookupSql =
    "SELECT digest, results FROM idempotency"
    " WHERE member = ?1 AND key = ?2 AND created_at > ?3";

// SHA-256 over a canonical serialisation of a submission's items.
Sha256Digest SubmissionDigest(const std::vector<SignalSubmission>& items);

// The same for a query: over its item count and the items that matched,
// each with its position, ascending (`matched`), in a domain of its own so
// that a key used for a submit and then for a query is never a replay.
// Not over the other items: a query's non-matching tokens are never
// stored, and a plain hash of the whole batch, kept for a day, could be
// checked against guessed tokens.
Sha256Digest QueryDigest(
    std::size_t queried,
    std::span<const std::pair<std::size_t, const TokenKey*>> matched);

// A query's matches as the idempotency record keeps them: the response
// body without its receipt (wire::Encode of a QueryResponse), read back by
// the same codec that reads responses.
std::string EncodeQueryRecord(const std::string& request_id,
                              std::size_t queried,
                              const std::vector<MatchResult>& matches);
// kInternal when `json` is not such a body (a damaged record).
Result<std::vector<MatchResult>> DecodeQueryRecord(std::string_view json);

// The results as the idempotency record keeps them: {"results": [...]}
// with the protocol's item encoding (wire::EncodeSubmitResults), so a
// replay is read by the same codec that reads responses.
std::string EncodeResults(const std::vector<SubmitItemResult>& results);
// kInternal when `json` is not such a body (a damaged record).
Result<std::vector<SubmitItemResult>> DecodeResults(std::string_view json);

}  // namespace cairn::server::store_internal

namespace cairn::server {

// A submit result in the protocol's form (the response's results[i]), as
// the API answers and the idempotency record keeps it.
wire::SubmitResult ToWireResult(SubmitItemResult result);

}  // namespace cairn::server

#endif  // CAIRN_SERVER_STORE_SUBMIT_RECORDS_H_
