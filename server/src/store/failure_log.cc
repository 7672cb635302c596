#include "server/src/store/failure_log.h"

#include <spdlog/spdlog.h>

namespace cairn::server {

RepeatingFailureLog::RepeatingFailureLog(std::string what, std::string advice,
                                         std::chrono::seconds interval)
    : what_(std::move(what)), advice_(std::move(advice)), interval_(interval) {}

void RepeatingFailureLog::Failed(std::string_view reason, sys_seconds now) {
  ++failures_;
  if (failures_ == 1) {
    first_failure_ = now;
    last_line_ = now;
    unlogged_ = 0;
    spdlog::error("{} failed: {}; {}", what_, reason, advice_);
    return;
  }
  ++unlogged_;
  if (now >= last_line_ && now - last_line_ < interval_) return;
  spdlog::error(
      "{} still failing: {} more failure(s) in the last {} s, {} "
      "since the first {} s ago (latest: {}); {}",
      what_, unlogged_, (now - last_line_).count(), failures_,
      (now - first_failure_).count(), reason, advice_);
  last_line_ = now;
  unlogged_ = 0;
}

void RepeatingFailureLog::Succeeded(sys_seconds now) {
  if (failures_ == 0) return;
  spdlog::warn("{} succeeds again, after {} failure(s) over {} s", what_,
               failures_, (now - first_failure_).count());
  failures_ = 0;
  unlogged_ = 0;
}

}  // namespace cairn::server
