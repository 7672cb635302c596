// MakeHubConnection's pool, with the seams its tests use (internal).
#ifndef CAIRN_CLIENT_SRC_HUB_CONNECTION_H_
#define CAIRN_CLIENT_SRC_HUB_CONNECTION_H_

#include <chrono>
#include <functional>
#include <memory>

#include "cairn/connection.h"
#include "cairn/options.h"

namespace cairn::client_internal {

// A pooled connection idle this long is closed instead of reused: the hub
// closes connections idle for [timeouts] idle_seconds (60 s by default),
// and a request written just as the hub's close arrives is lost (for a
// call that is not resent, the caller cannot tell whether it ran). Well
// below 60 s, so that network delay and a 30 s Retry-After
// (RetryPolicy::max_retry_after) stay clear of it. A hub that announces a
// shorter idle timeout (Keep-Alive: timeout=N) gets three quarters of it.
inline constexpr std::chrono::milliseconds kMaxPooledIdle{45000};

struct PoolSeams {
  std::chrono::milliseconds max_idle = kMaxPooledIdle;
  // Runs before each host name resolution, on the thread that resolves;
  // tests stall it to stand for a DNS server that does not answer.
  std::function<void()> before_resolve;
};

// MakeHubConnection with `seams` instead of the defaults.
Result<std::shared_ptr<Connection>> MakeHubConnection(
    const ClientOptions& options, PoolSeams seams);

}  // namespace cairn::client_internal

#endif  // CAIRN_CLIENT_SRC_HUB_CONNECTION_H_
