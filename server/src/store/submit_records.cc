#include "server/src/store/submit_records.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <string>
#include <utility>

#include "server/src/store/store_time.h"

namespace cairn::server::store_internal {

Sha256Digest SubmissionDigest(const std::vector<SignalSubmission>& items) {
  Sha256 hash;
  auto add = [&hash](const void* p, std::size_t n) {
    hash.Update({static_cast<const std::uint8_t*>(p), n});
  };
  for (const auto& item : items) {
    const std::int64_t numbers[] = {
        static_cast<std::int64_t>(item.key.scheme),
        item.key.epoch,
        static_cast<std::int64_t>(item.category),
        static_cast<std::int64_t>(item.severity),
        ToUnix(item.banned_at),
        item.expires_at ? ToUnix(*item.expires_at) : kAnyTime,
        item.attribution ? 1 : 0,
        static_cast<std::int64_t>(item.key.kind.size()),
        static_cast<std::int64_t>(item.ref.size())};
    add(numbers, sizeof numbers);
    add(item.key.kind.data(), item.key.kind.size());
    add(item.key.token.data(), item.key.token.size());
    add(item.ref.data(), item.ref.size());
  }
  return hash.Final();
}

Sha256Digest QueryDigest(
    std::size_t queried,
    std::span<const std::pair<std::size_t, const TokenKey*>> matched) {
  // v1 (schema 10 until this change) hashed every item; a v1 record's
  // digest never equals a v2 one, so its key is treated as used by
  // another request.
  static constexpr std::string_view kDomain{"cairn-query-record-v2\0", 22};
  Sha256 hash;
  hash.Update(kDomain);
  auto add = [&hash](const void* p, std::size_t n) {
    hash.Update({static_cast<const std::uint8_t*>(p), n});
  };
  const std::int64_t count = static_cast<std::int64_t>(queried);
  add(&count, sizeof count);
  for (const auto& [index, key] : matched) {
    const TokenKey& item = *key;
    const std::int64_t numbers[] = {
        static_cast<std::int64_t>(index),
        static_cast<std::int64_t>(item.scheme), item.epoch,
        static_cast<std::int64_t>(item.kind.size())};
    add(numbers, sizeof numbers);
    add(item.kind.data(), item.kind.size());
    add(item.token.data(), item.token.size());
  }
  return hash.Final();
}

std::string EncodeQueryRecord(const std::string& request_id,
                              std::size_t queried,
                              const std::vector<MatchResult>& matches) {
  wire::QueryResponse body;
  // The first request's id, for whoever reads the table; a replay answers
  // with its own. The codec insists on the protocol's form, which the
  // router's ids have and a caller of the store's API might not.
  body.request_id = wire::IsWellFormedRequestId(request_id)
                        ? request_id
                        : "r_" + std::string(32, '0');
  body.queried = queried;
  body.matches = matches;
  return wire::Encode(body);
}

Result<std::vector<MatchResult>> DecodeQueryRecord(std::string_view json) {
  auto stored = wire::DecodeQueryResponse(json);
  if (!stored) {
    return MakeError(ErrorCode::kInternal,
                     "the stored matches of this Idempotency-Key cannot be "
                     "read (" +
                         stored.error().message +
                         "); retry with a new key and report it to the hub "
                         "operator");
  }
  return std::move(stored->matches);
}

std::string EncodeResults(const std::vector<SubmitItemResult>& results) {
  std::vector<wire::SubmitResult> wire_results;
  wire_results.reserve(results.size());
  for (const auto& r : results) wire_results.push_back(ToWireResult(r));
  return wire::EncodeSubmitResults(wire_results);
}

namespace {

tl::unexpected<Error> UnreadableRecord(const std::string& why) {
  return MakeError(ErrorCode::kInternal,
                   "the stored results of this Idempotency-Key cannot be "
                   "read (" +
                       why +
                       "); retry with a new key and report it to the hub "
                       "operator");
}

// Records written before schema 6: one line per item, "index \t status \t
// signal_id \t error code \t field \t message \n" (tabs and newlines in the
// message were written as spaces). Read, never written; such records leave
// the database with the idempotency window (24 h by default) after the
// upgrade, and this reader can go with the next schema change.
Result<std::vector<SubmitItemResult>> DecodeLegacyResults(
    std::string_view text) {
  std::vector<SubmitItemResult> results;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    if (end == std::string_view::npos) {
      return UnreadableRecord("a line without its newline");
    }
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end + 1);
    std::array<std::string_view, 6> f;
    for (std::size_t i = 0; i < 5; ++i) {
      const std::size_t tab = line.find('\t');
      if (tab == std::string_view::npos) {
        return UnreadableRecord("a line with fewer than six fields");
      }
      f[i] = line.substr(0, tab);
      line.remove_prefix(tab + 1);
    }
    f[5] = line;
    SubmitItemResult r;
    const auto [end_of_index, ec] =
        std::from_chars(f[0].data(), f[0].data() + f[0].size(), r.index);
    if (ec != std::errc{} || end_of_index != f[0].data() + f[0].size()) {
      return UnreadableRecord("an item index that is not a number");
    }
    if (f[1] == "created") {
      r.status = SubmitStatus::kCreated;
    } else if (f[1] == "updated") {
      r.status = SubmitStatus::kUpdated;
    } else if (f[1] == "duplicate") {
      r.status = SubmitStatus::kDuplicate;
    } else if (f[1] == "error") {
      r.status = SubmitStatus::kError;
      r.error.code =
          ErrorCodeFromName(f[3]).value_or(ErrorCode::kInvalidArgument);
      r.error.field = std::string(f[4]);
      r.error.message = std::string(f[5]);
      r.error.index = r.index;
    } else {
      return UnreadableRecord("an unknown status");
    }
    r.signal_id = std::string(f[2]);
    results.push_back(std::move(r));
  }
  return results;
}

}  // namespace

Result<std::vector<SubmitItemResult>> DecodeResults(std::string_view json) {
  if (!json.starts_with('{')) return DecodeLegacyResults(json);
  auto stored = wire::DecodeSubmitResults(json);
  if (!stored) return UnreadableRecord(stored.error().message);
  std::vector<SubmitItemResult> results;
  results.reserve(stored->size());
  for (auto& w : *stored) {
    SubmitItemResult r;
    r.index = w.index;
    r.signal_id = std::move(w.signal_id);
    switch (w.status) {
      case wire::SubmitStatus::kCreated:
        r.status = SubmitStatus::kCreated;
        break;
      case wire::SubmitStatus::kUpdated:
        r.status = SubmitStatus::kUpdated;
        break;
      case wire::SubmitStatus::kDuplicate:
        r.status = SubmitStatus::kDuplicate;
        break;
      case wire::SubmitStatus::kError:
        r.status = SubmitStatus::kError;
        break;
    }
    if (w.error) {
      r.error.code = w.error->code;
      r.error.message = std::move(w.error->message);
      r.error.field = std::move(w.error->field);
      r.error.index = r.index;
    }
    results.push_back(std::move(r));
  }
  // In item order, whatever order the record lists them in.
  std::stable_sort(results.begin(), results.end(),
                   [](const SubmitItemResult& a, const SubmitItemResult& b) {
                     return a.index < b.index;
                   });
  return results;
}

}  // namespace cairn::server::store_internal

namespace cairn::server {

wire::SubmitResult ToWireResult(SubmitItemResult result) {
  wire::SubmitResult out;
  out.index = result.index;
  switch (result.status) {
    case SubmitStatus::kCreated:
      out.status = wire::SubmitStatus::kCreated;
      out.signal_id = std::move(result.signal_id);
      break;
    case SubmitStatus::kUpdated:
      out.status = wire::SubmitStatus::kUpdated;
      out.signal_id = std::move(result.signal_id);
      break;
    case SubmitStatus::kDuplicate:
      out.status = wire::SubmitStatus::kDuplicate;
      out.signal_id = std::move(result.signal_id);
      break;
    case SubmitStatus::kError:
      out.status = wire::SubmitStatus::kError;
      out.error =
          wire::ItemError{result.error.code, std::move(result.error.message),
                          std::move(result.error.field)};
      break;
  }
  return out;
}

}  // namespace cairn::server
