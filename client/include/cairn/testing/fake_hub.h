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
// It mirrors the hub's semantics where they matter to a member (a member's
// own signals never match its queries nor appear in its feed; retraction
// notifications; feed order; per-item results)
// but not its limits, rate limits, persistence or expiry. Members need no
// registration. Thread-safe.
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

  // Makes every following request fail with `status` (e.g. 503) and a
  // Cairn error body, `count` times. For testing retry handling.
  void FailNext(int status, int count = 1);

  // Number of active signals, for assertions.
  std::size_t ActiveSignals() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace cairn::testing

#endif  // CAIRN_CLIENT_TESTING_FAKE_HUB_H_
