// Logs a failure that can repeat many times a second (commits on a full
// disk, WAL checkpoints) so that the operator sees its cause without the
// log filling up: the first failure at once, then at most one line per
// interval that counts the failures (and the successes between them) since
// the previous line, and one line when the operation succeeds again.
//
// On a nearly full disk small commits fit and large ones do not, so
// failures and successes alternate. The first success after a failure is
// logged at once (it may be the disk freed); a failure within an interval
// of that line continues the same run instead of starting a new one, and
// from then on the run counts as intermittent: it is logged as over only
// at a success that comes an interval or more after its last failure.
// Either way no more than one failure line per interval is written.
//
// Times come from the caller (the store's clock), so that tests can step
// through the interval; a clock that went backwards makes the next line
// due at once rather than silencing the log.
#ifndef CAIRN_SERVER_STORE_FAILURE_LOG_H_
#define CAIRN_SERVER_STORE_FAILURE_LOG_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "server/src/store/records.h"

namespace cairn::server {

class RepeatingFailureLog {
 public:
  // `what` names the operation in the lines, e.g. "store commit";
  // `advice` ends each failure line (what the operator should do).
  RepeatingFailureLog(std::string what, std::string advice,
                      std::chrono::seconds interval);

  // One failure, at `now`, with SQLite's reason in `reason`.
  void Failed(std::string_view reason, sys_seconds now);
  // One success at `now`: logs the recovery if failures were seen.
  void Succeeded(sys_seconds now);

  // Not thread-safe: each instance has one owner thread.
 private:
  // True when `since` is an interval or more before `now`, or after it.
  bool IntervalPassed(sys_seconds since, sys_seconds now) const;

  std::string what_;
  std::string advice_;
  std::chrono::seconds interval_;
  bool failing_ = false;       // a run of failures not yet logged as over
  bool intermittent_ = false;  // it went on after a "succeeds again" line
  bool any_line_ = false;
  std::uint64_t failures_ = 0;   // in the run
  std::uint64_t unlogged_ = 0;   // failures since the last line
  std::uint64_t successes_ = 0;  // in the run, since the last line
  sys_seconds first_failure_{};
  sys_seconds last_failure_{};
  sys_seconds last_line_{};
};

}  // namespace cairn::server

#endif  // CAIRN_SERVER_STORE_FAILURE_LOG_H_
