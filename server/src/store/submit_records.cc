#include "server/src/store/submit_records.h"

#include <cstdint>
#include <sstream>

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

std::string_view SubmitStatusName(SubmitStatus s) {
  switch (s) {
    case SubmitStatus::kCreated:
      return "created";
    case SubmitStatus::kUpdated:
      return "updated";
    case SubmitStatus::kDuplicate:
      return "duplicate";
    case SubmitStatus::kError:
      return "error";
  }
  return "error";
}

std::string EncodeResults(const std::vector<SubmitItemResult>& results) {
  std::string out;
  for (const auto& r : results) {
    out += std::to_string(r.index);
    out += '\t';
    out += SubmitStatusName(r.status);
    out += '\t';
    out += r.signal_id;
    out += '\t';
    out += r.status == SubmitStatus::kError ? ErrorCodeName(r.error.code)
                                            : std::string_view();
    out += '\t';
    out += r.error.field;
    out += '\t';
    for (char c : r.error.message) out += (c == '\t' || c == '\n') ? ' ' : c;
    out += '\n';
  }
  return out;
}

std::vector<SubmitItemResult> DecodeResults(const std::string& text) {
  std::vector<SubmitItemResult> results;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::vector<std::string> f;
    std::size_t start = 0;
    for (int i = 0; i < 5; ++i) {
      const std::size_t tab = line.find('\t', start);
      if (tab == std::string::npos) break;
      f.push_back(line.substr(start, tab - start));
      start = tab + 1;
    }
    if (f.size() != 5) continue;
    f.push_back(line.substr(start));
    SubmitItemResult r;
    r.index = std::stoul(f[0]);
    if (f[1] == "created") {
      r.status = SubmitStatus::kCreated;
    } else if (f[1] == "updated") {
      r.status = SubmitStatus::kUpdated;
    } else if (f[1] == "duplicate") {
      r.status = SubmitStatus::kDuplicate;
    } else {
      r.status = SubmitStatus::kError;
      r.error.code =
          ErrorCodeFromName(f[3]).value_or(ErrorCode::kInvalidArgument);
      r.error.field = f[4];
      r.error.message = f[5];
      r.error.index = r.index;
    }
    r.signal_id = f[2];
    results.push_back(std::move(r));
  }
  return results;
}

}  // namespace cairn::server::store_internal
