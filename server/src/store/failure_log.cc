#include "server/src/store/failure_log.h"

#include <spdlog/spdlog.h>

namespace cairn::server {

RepeatingFailureLog::RepeatingFailureLog(std::string what, std::string advice,
                                         std::chrono::seconds interval)
    : what_(std::move(what)), advice_(std::move(advice)), interval_(interval) {}

bool RepeatingFailureLog::IntervalPassed(sys_seconds since,
                                         sys_seconds now) const {
  return now < since || now - since >= interval_;
}

void RepeatingFailureLog::Failed(std::string_view reason, sys_seconds now) {
  if (!failing_) {
    failing_ = true;
    // Failing again within an interval of the "succeeds again" line: a
    // line per flip would flood the log on a nearly full disk, so the run
    // goes on, counted, under the rate limit.
    intermittent_ = any_line_ && !IntervalPassed(last_line_, now);
    if (!intermittent_) {
      failures_ = 0;
      unlogged_ = 0;
      successes_ = 0;
      first_failure_ = now;
    }
  }
  ++failures_;
  ++unlogged_;
  last_failure_ = now;
  if (any_line_ && !IntervalPassed(last_line_, now)) return;
  if (failures_ == 1) {
    spdlog::error("{} failed: {}; {}", what_, reason, advice_);
  } else {
    spdlog::error(
        "{} still failing: {} more failure(s){} in the last {} s, {} since "
        "the first {} s ago (latest: {}); {}",
        what_, unlogged_,
        successes_ == 0 ? std::string()
                        : " and " + std::to_string(successes_) + " success(es)",
        (now - last_line_).count(), failures_, (now - first_failure_).count(),
        reason, advice_);
  }
  any_line_ = true;
  last_line_ = now;
  unlogged_ = 0;
  successes_ = 0;
}

void RepeatingFailureLog::Succeeded(sys_seconds now) {
  ++successes_;
  if (!failing_) return;
  // An intermittent run is over only once it has stayed quiet for an
  // interval; until then the next failure line counts this success.
  if (intermittent_ && !IntervalPassed(last_failure_, now)) return;
  spdlog::warn("{} succeeds again, after {} failure(s) over {} s", what_,
               failures_, (now - first_failure_).count());
  failing_ = false;
  intermittent_ = false;
  any_line_ = true;
  last_line_ = now;
  unlogged_ = 0;
  successes_ = 0;
}

}  // namespace cairn::server
