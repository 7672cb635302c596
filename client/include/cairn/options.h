// Options of libcairn-client. Every field but hub_url has a default; to
// talk to a real hub, hub_url, cert_file, key_file, ca_file and a consortium
// key must be set.
#ifndef CAIRN_CLIENT_OPTIONS_H_
#define CAIRN_CLIENT_OPTIONS_H_

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "cairn/token.h"

namespace cairn {

// How calls are retried after transient failures. Delays grow
// exponentially from initial_backoff to max_backoff, with random jitter
// (each delay is drawn from [d/2, d]): by default about 1 s, 2 s and 4 s
// before the second, third and fourth attempt, the schedule the
// integration guide advises for 503.
//
// What is retried:
// - Failures before the request was sent (resolving the host, TCP connect,
//   TLS handshake): every call.
// - 429: every call (the hub refused it before doing anything), after the
//   hub's Retry-After if that is at most max_retry_after. A longer
//   Retry-After (a daily OPRF quota waits until midnight UTC) is not slept
//   through: the call fails at once with kRateLimited, and the message
//   gives the hub's Retry-After in seconds ("Retry-After: 5193 s").
// - A lost or timed-out reply, 502, 503 and 504: only calls that may run
//   twice: Me, Feed, Notifications, OPRF evaluations, and Submit and Query,
//   whose requests each carry an Idempotency-Key: a batch the hub committed
//   is replayed, not stored twice, and a query that recorded matches is
//   answered with those matches, not new ones. Retract and Dispose are
//   never resent once the request may have reached the hub. Such a failure
//   comes back as the error (kIo for a lost reply and for a 502 or 504
//   or any 5xx without a Cairn error body, which come from a proxy in
//   front of the hub; the hub's own code for its 503), and its message
//   says what may have happened and what to do.
struct RetryPolicy {
  // Total attempts per request, including the first. 1 disables retries.
  // Default: 4.
  int max_attempts = 4;
  // Delay before the first retry. Default: 1 s.
  std::chrono::milliseconds initial_backoff{1000};
  // Upper bound of any computed delay. Default: 5 s.
  std::chrono::milliseconds max_backoff{5000};
  // The longest Retry-After of a 429 that is waited out before sending
  // again; a 429 asking for longer fails the call at once (kRateLimited).
  // Default: 30 s.
  std::chrono::seconds max_retry_after{30};
  // No attempt is started once this much time has passed since the call's
  // first attempt began (counting the wait before it): the last failure
  // is returned instead, its message saying so. With the defaults, a
  // request the hub did not answer within request_timeout (60 s) is not
  // sent again, while quick failures (a refused connection, a 503) still
  // get every attempt; raise it with request_timeout to have timeouts
  // retried. A 429's wait is bounded by max_retry_after instead.
  // Default: 60 s.
  std::chrono::milliseconds max_elapsed{60000};
};

struct ClientOptions {
  // The hub, "https://host:port". Required (no default).
  std::string hub_url;

  // This member's client certificate and private key (PEM), registered
  // with the hub operator. Required. Default: "".
  std::string cert_file;
  std::string key_file;

  // CA bundle (PEM) that signed the hub's certificate. Required.
  // Default: "".
  std::string ca_file;

  // Optional pin: SHA-256 of the hub certificate's SubjectPublicKeyInfo
  // (DER), 64 hex characters (colons allowed). When set, a hub whose key
  // differs is refused even if the CA vouches for it. Default: "" (no pin).
  std::string hub_pin;

  // Path of the consortium key file (see `cairn keygen`), mode 0600.
  // Ignored when consortium_key is set. Default: "".
  std::string consortium_key_file;

  // The consortium key itself, e.g. for tests. Default: none.
  std::optional<ConsortiumKey> consortium_key;

  // false: MakeClient accepts options without a consortium key, for tools
  // that only read (Me, Dispose, Feed, Notifications), such as a
  // compliance officer's, who must not hold the key. Such a client's
  // Submit, Query and Retract by identifier fail with kInvalidArgument.
  // Default: true (a missing key fails MakeClient at once).
  bool require_consortium_key = true;

  // Region (ISO 3166-1 alpha-2, e.g. "GB") for phone numbers written
  // without '+', unless the Identifier names one. Default: "" (phone numbers
  // must be international).
  std::string default_region;

  // Handle services and custom kinds the hub operator registered (see
  // NormaliseOptions). Default: empty.
  std::vector<std::string> extra_handle_services;
  std::vector<std::string> custom_kinds;

  // Bounds connecting to the hub, twice: resolving its host name and the
  // TCP connect share one connect_timeout, and the TLS handshake has
  // another. The error names the stage that timed out. Default: 10 s.
  std::chrono::milliseconds connect_timeout{10000};

  // Writing one request and reading its reply; a batch of 10,000 can take
  // the hub seconds. The error says the hub did not answer in time and
  // that the request may or may not have been processed. Default: 60 s.
  std::chrono::milliseconds request_timeout{60000};

  // Keep-alive connections kept open for reuse; concurrent calls beyond
  // this open extra connections that are closed after use. A connection
  // idle for 45 s or more (or three quarters of a shorter idle timeout the
  // hub announces in Keep-Alive: timeout=N) is closed instead of reused,
  // before the hub closes it ([timeouts] idle_seconds, 60 s by default).
  // Default: 4.
  std::size_t pool_size = 4;

  RetryPolicy retry;

  // Items per request; larger batches are split transparently. Never above
  // the protocol's limit (10,000), nor the hub's own (GET /v1/me
  // limits.max_batch), whichever is lower. Default: 10,000.
  std::size_t max_batch = 10000;

  // Verify the hub's signed receipt on every submit, retract and query
  // response (cairn/receipt.h) against the hub keys of GET /v1/me, fetched
  // on the first receipt, cached, and fetched again when a receipt names an
  // unknown key. A receipt that does not verify fails the call with
  // kCrypto (the hub did answer: the items may have been stored). A
  // response without a receipt fails too (kCrypto) when the hub publishes
  // keys; the keys are fetched first if this client has not yet, so this
  // holds for the first call of a client and for one-item calls alike.
  // Default: true.
  bool verify_receipts = true;

  // Token scheme of submits, retracts and queries. voprf-v1 derives each
  // token through the hub's OPRF (POST /v1/oprf/evaluate, metered and
  // audited by the hub) after the hmac-v1 step, verifying the hub's proof;
  // callers' code does not change. See docs/token-scheme.md.
  // Default: hmac-v1.
  TokenScheme token_scheme = TokenScheme::kHmacV1;

  // voprf-v1: pins the hub's OPRF public key (standard base64 of 32 bytes,
  // as in the "oprf" block of /v1/me). Proofs are verified against it and a
  // hub announcing another key is refused (kCrypto). Default: "" (verify
  // against the key /v1/me announces).
  std::string oprf_public_key;

  // voprf-v1: identifiers whose token is remembered, per key epoch, so that
  // repeated identifiers cost no hub evaluation (least recently used
  // entries are dropped first). 0 disables the cache. Default: 100,000.
  std::size_t token_cache_entries = 100000;

  // Sent as User-Agent. Default: "cairn-client/0.1".
  std::string user_agent = "cairn-client/0.1";
};

}  // namespace cairn

#endif  // CAIRN_CLIENT_OPTIONS_H_
