// The retry policy as a Connection decorator (internal).
#ifndef CAIRN_CLIENT_SRC_RETRY_H_
#define CAIRN_CLIENT_SRC_RETRY_H_

#include <chrono>
#include <functional>
#include <memory>

#include "cairn/connection.h"
#include "cairn/options.h"

namespace cairn::client_internal {

// Sleeps for the given time; tests substitute a recorder.
using SleepFunction = std::function<void(std::chrono::milliseconds)>;
// Returns a uniform random number in [0, 1); tests substitute a constant.
using JitterFunction = std::function<double()>;
// The time now; tests substitute a clock their sleeps and replies advance.
using ClockFunction = std::function<std::chrono::steady_clock::time_point()>;

// The delay before retry number `retry` (1 = first retry):
// d = min(max_backoff, initial_backoff * 2^(retry-1)), then d/2 + jitter*d/2.
std::chrono::milliseconds BackoffDelay(const RetryPolicy& policy, int retry,
                                       double jitter);

// Parses Retry-After in delay-seconds form; nullopt if absent or an HTTP
// date (which the hub never sends).
std::optional<std::chrono::seconds> ParseRetryAfter(std::string_view value);

// Whether `policy` waits out a 429's Retry-After of `retry_after` and sends
// again (at most policy.max_retry_after); otherwise the 429 is returned at
// once.
bool RetryAfterAccepted(const RetryPolicy& policy,
                        std::chrono::seconds retry_after);

// Wraps `inner` in `policy`: retries kUnavailable transport errors (the
// request did not reach the hub) always; kIo errors and 502/503/504 (it may
// have) only for idempotent requests; 429 always (the hub did nothing),
// waiting at least Retry-After, unless Retry-After is beyond
// policy.max_retry_after, when the 429 is returned at once. No attempt
// starts once policy.max_elapsed would have passed. Returns `inner` itself
// when it is already such a wrapper.
std::shared_ptr<Connection> MakeRetryingConnection(
    std::shared_ptr<Connection> inner, RetryPolicy policy,
    SleepFunction sleep = {}, JitterFunction jitter = {},
    ClockFunction now = {});

}  // namespace cairn::client_internal

#endif  // CAIRN_CLIENT_SRC_RETRY_H_
