// Logs a failure that can repeat many times a second (commits on a full
// disk, WAL checkpoints) so that the operator sees its cause without the
// log filling up: the first failure at once, then at most one line per
// interval that counts the failures since the previous line, and one line
// when the operation succeeds again.
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
  std::string what_;
  std::string advice_;
  std::chrono::seconds interval_;
  std::uint64_t failures_ = 0;  // since the last success
  std::uint64_t unlogged_ = 0;  // failures since the last line
  sys_seconds first_failure_{};
  sys_seconds last_line_{};
};

}  // namespace cairn::server

#endif  // CAIRN_SERVER_STORE_FAILURE_LOG_H_
