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

// The delay before retry number `retry` (1 = first retry):
// d = min(max_backoff, initial_backoff * 2^(retry-1)), then d/2 + jitter*d/2.
std::chrono::milliseconds BackoffDelay(const RetryPolicy& policy, int retry,
                                       double jitter);

// Parses Retry-After in delay-seconds form; nullopt if absent or an HTTP
// date (which the hub never sends).
std::optional<std::chrono::seconds> ParseRetryAfter(std::string_view value);

// Wraps `inner` in `policy`: retries kUnavailable transport errors always;
// kIo errors and 502/503/504 only for idempotent requests; 429 always
// (the hub charged nothing), waiting at least Retry-After. Returns `inner`
// itself when it is already such a wrapper.
std::shared_ptr<Connection> MakeRetryingConnection(
    std::shared_ptr<Connection> inner, RetryPolicy policy,
    SleepFunction sleep = {}, JitterFunction jitter = {});

}  // namespace cairn::client_internal

#endif  // CAIRN_CLIENT_SRC_RETRY_H_
