// AsyncClient with callbacks, use_future and use_awaitable, over a fake hub.
#include "cairn/async_client.h"

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "cairn/testing/fake_hub.h"
#include "tests/client/recording_connection.h"

namespace cairn {
namespace {

namespace asio = boost::asio;

Client MakeTestClient(const std::shared_ptr<testing::FakeHub>& hub,
                      const std::string& member, const ConsortiumKey& key) {
  ClientOptions options;
  options.consortium_key = key;
  return *MakeClient(options, hub->ConnectionFor(member));
}

TEST_CASE("async: a callback completes on the caller's io_context") {
  auto hub = std::make_shared<testing::FakeHub>();
  const auto key = ConsortiumKey::Generate();
  asio::io_context io;
  AsyncClient async(MakeTestClient(hub, "alpha", key), io.get_executor());
  std::optional<Result<wire::MeResponse>> got;
  std::thread::id completed_on;
  async.Me([&](Result<wire::MeResponse> r) {
    got = std::move(r);
    completed_on = std::this_thread::get_id();
  });
  // run() returns only after the completion: the call counts as work.
  io.run();
  REQUIRE(got.has_value());
  REQUIRE(*got);
  CHECK((*got)->member_id == "alpha");
  CHECK(completed_on == std::this_thread::get_id());
}

TEST_CASE("async: use_future and use_awaitable give the same results") {
  auto hub = std::make_shared<testing::FakeHub>();
  const auto key = ConsortiumKey::Generate();
  AsyncClient alpha(MakeTestClient(hub, "alpha", key));
  AsyncClient beta(MakeTestClient(hub, "beta", key));

  Ban ban{Identifier::Email("x@example.com"),
          Category::kGrooming,
          Severity::kHigh,
          std::chrono::sys_seconds{std::chrono::seconds{1700000000}},
          std::nullopt,
          false,
          std::nullopt};
  std::future<Result<SubmitOutcome>> submitted =
      alpha.Submit({ban}, asio::use_future);
  auto outcome = submitted.get();
  REQUIRE(outcome);
  CHECK(outcome->items.at(0).status == wire::SubmitStatus::kCreated);

  asio::io_context io;
  std::optional<Result<QueryOutcome>> found;
  // Built outside the coroutine: GCC 12 miscompiles braced string
  // initialisers inside coroutine bodies.
  const std::vector<Identifier> ids = {Identifier::Email("X@example.com")};
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        found = co_await beta.Query(ids, asio::use_awaitable);
      },
      asio::detached);
  io.run();
  REQUIRE(found.has_value());
  REQUIRE(*found);
  CHECK((*found)->matches.size() == 1);
}

TEST_CASE("async: errors arrive as values") {
  auto hub = std::make_shared<testing::FakeHub>();
  AsyncClient async(MakeTestClient(hub, "alpha", ConsortiumKey::Generate()));
  auto r = async
               .Dispose("not-a-match", Outcome::kConfirmed, std::nullopt,
                        asio::use_future)
               .get();
  REQUIRE_FALSE(r);
  CHECK(r.error().code == ErrorCode::kInvalidArgument);
}

// A hub whose GET /v1/me takes `delay`, and that counts finished calls.
struct SlowHub {
  std::atomic<int> finished{0};
  std::shared_ptr<testing::RecordingConnection> connection;

  explicit SlowHub(std::chrono::milliseconds delay) {
    connection = std::make_shared<testing::RecordingConnection>(
        [this, delay](const HttpRequest&) -> Result<HttpReply> {
          std::this_thread::sleep_for(delay);
          wire::MeResponse me;
          me.member_id = "alpha";
          me.name = "Alpha";
          me.roles = {Role::kMember};
          me.fingerprint = std::string(64, 'a');
          ++finished;
          return testing::Reply(200, wire::Encode(me));
        });
  }

  Client MakeClient() const {
    ClientOptions options;
    options.consortium_key = ConsortiumKey::Generate();
    return *cairn::MakeClient(options, connection);
  }
};

TEST_CASE(
    "async: destroying the last copy waits for the call in flight and its "
    "completion on the pool") {
  SlowHub hub(std::chrono::milliseconds(300));
  // Set by the handler and checked here: Catch2 assertions are not
  // thread-safe.
  std::atomic<bool> handled{false};
  {
    AsyncClient async(hub.MakeClient(), 2);
    async.Me(
        [&](const Result<wire::MeResponse>& r) { handled = r.has_value(); });
    // The only copy goes here, the call still sleeping in the fake hub.
  }
  CHECK(hub.finished == 1);
  CHECK(handled);
}

TEST_CASE(
    "async: destroying the last copy waits for the call in flight, whose "
    "completion then runs on the caller's io_context") {
  SlowHub hub(std::chrono::milliseconds(300));
  asio::io_context io;
  std::atomic<bool> handled{false};
  {
    AsyncClient async(hub.MakeClient(), io.get_executor());
    async.Me(
        [&](const Result<wire::MeResponse>& r) { handled = r.has_value(); });
  }
  CHECK(hub.finished == 1);
  CHECK_FALSE(handled);  // io has not run yet
  io.run();
  CHECK(handled);
}

}  // namespace
}  // namespace cairn
