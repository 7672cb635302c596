// An in-memory hub for integrators' unit tests: no process, no network, no
// TLS. It implements the member endpoints (me, signals, retract, query,
// disposition, feed, notifications) with the real wire codecs, so a
// pipeline built on cairn::Client can be tested offline:
//
//   auto hub = std::make_shared<cairn::testing::FakeHub>();
//   ClientOptions options;
//   options.consortium_key = cairn::ConsortiumKey::Generate();
//   auto alpha = cairn::MakeClient(options, hub->ConnectionFor("alpha"));
//   auto beta  = cairn::MakeClient(options, hub->ConnectionFor("beta"));
//
// It applies the hub's rules, with cairnd's default settings, where they
// decide what a member sees:
// - per-item checks, with the hub's error codes, fields and messages:
//   banned_at at most 5 minutes in the future (the hub's allowed clock
//   skew), expires_at in the future (capped at 730 days) and not before
//   banned_at, and only built-in kinds or kinds registered on the fake
//   (RegisterKind, as the operator registers them on a hub);
// - signals are keyed by kind, scheme, epoch, token and category: the same
//   identifier banned for a second category is a second signal; a resend
//   is a duplicate, or an update when something changed (without
//   expires_at or ref it keeps the current ones);
// - a signal sent without expires_at expires after 365 days, and an
//   expired signal matches nothing;
// - a member's own signals never match its queries nor appear in its feed;
// - every matching query records a new match_id (the hub's default
//   match_reuse_seconds = 0), and a retraction notifies each match the
//   signal supported;
// - feed order, per-item results.
//
// It differs from a hub in these ways:
// - no receipts: its /v1/me publishes no signing keys, so clients accept
//   its unsigned answers;
// - no limits: /v1/me announces the protocol's (10,000 items, 4 MiB), and
//   there are no rate limits or body-size refusals, so batches are split
//   by item count only, as ClientOptions::max_batch says;
// - any token scheme and epoch is accepted (no OPRF endpoint);
// - nothing persists, and there is no expiry sweep: an expired signal
//   stops matching, but expiry emits feed events and notifications only
//   when the member resubmits it;
// - members need no registration, and roles are not checked.
// Thread-safe.
#ifndef CAIRN_CLIENT_TESTING_FAKE_HUB_H_
#define CAIRN_CLIENT_TESTING_FAKE_HUB_H_

#include <memory>
#include <string>

#include "cairn/connection.h"

namespace cairn::testing {

class FakeHub : public std::enable_shared_from_this<FakeHub> {
 public:
  FakeHub();
  ~FakeHub();
  FakeHub(const FakeHub&) = delete;
  FakeHub& operator=(const FakeHub&) = delete;

  // A connection that acts as member `member_id`. The connection keeps the
  // hub alive. REQUIRES: the hub is owned by a std::shared_ptr.
  std::shared_ptr<Connection> ConnectionFor(const std::string& member_id);

  // Answers one request as `member_id` (what ConnectionFor's Send does).
  HttpReply Handle(const std::string& member_id, const HttpRequest& request);

  // Registers a custom identifier kind (as `cairnctl kind add` does on
  // a hub), so that signals of that kind are accepted. Built-in kinds need
  // no registration. Fails with kInvalidArgument when `kind` is not a kind
  // name (^[a-z][a-z0-9_]{1,31}$).
  Status RegisterKind(const std::string& kind);

  // Makes the next `count` requests fail with `status` (e.g. 503) and a
  // Cairn error body with the code the hub sends with that status (500:
  // internal, 503: unavailable, 429: rate_limited with Retry-After: 0).
  // A status the hub never sends (502, 504: a proxy's) comes with an HTML
  // body, as from a proxy, so a Client reports it as it would a real
  // proxy's (a 5xx: kIo, the request's outcome unknown). For testing retry
  // handling: a Client from MakeClient(options, connection) retries them
  // under options.retry, as it would the hub's.
  void FailNext(int status, int count = 1);

  // Number of active (not retracted, not expired) signals, for assertions.
  std::size_t ActiveSignals() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace cairn::testing

#endif  // CAIRN_CLIENT_TESTING_FAKE_HUB_H_
