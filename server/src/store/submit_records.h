// What the store keeps of a submission for its Idempotency-Key: a digest
// of the items, to detect a reused key, and the per-item results, to answer
// a retry with the same results.
#ifndef CAIRN_SERVER_STORE_SUBMIT_RECORDS_H_
#define CAIRN_SERVER_STORE_SUBMIT_RECORDS_H_

#include <string>
#include <string_view>
#include <vector>

#include "cairn/sha256.h"
#include "server/src/store/records.h"

namespace cairn::server::store_internal {

// SHA-256 over a canonical serialisation of a submission's items.
Sha256Digest SubmissionDigest(const std::vector<SignalSubmission>& items);

// "created", "updated", "duplicate", "error".
std::string_view SubmitStatusName(SubmitStatus s);

// Results as text lines: index \t status \t signal_id \t code \t field \t
// message (tabs and newlines in the message become spaces); DecodeResults
// reads them back and skips lines it cannot read.
std::string EncodeResults(const std::vector<SubmitItemResult>& results);
std::vector<SubmitItemResult> DecodeResults(const std::string& text);

}  // namespace cairn::server::store_internal

#endif  // CAIRN_SERVER_STORE_SUBMIT_RECORDS_H_
