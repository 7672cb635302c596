// CompletionRunner: the store's acknowledgements run off the writer thread,
// in order, and none is dropped at shutdown.
#include "server/src/store/completion_runner.h"

#include <catch2/catch.hpp>
#include <future>
#include <thread>
#include <vector>

namespace cairn::server {
namespace {

TEST_CASE("work runs on the runner's thread, in the order handed over") {
  std::vector<int> order;
  std::thread::id ran_on;
  std::promise<void> done;
  {
    CompletionRunner runner;
    for (int i = 0; i < 1000; ++i) {
      runner.Run([&order, i] { order.push_back(i); });
    }
    runner.Run([&] {
      ran_on = std::this_thread::get_id();
      done.set_value();
    });
    done.get_future().wait();
  }
  REQUIRE(order.size() == 1000);
  for (int i = 0; i < 1000; ++i) REQUIRE(order[i] == i);
  CHECK(ran_on != std::this_thread::get_id());
}

TEST_CASE("the destructor runs everything already handed over") {
  int ran = 0;
  {
    CompletionRunner runner;
    std::promise<void> release;
    auto gate = release.get_future().share();
    runner.Run([gate] { gate.wait(); });  // holds the thread
    for (int i = 0; i < 100; ++i) runner.Run([&ran] { ++ran; });
    release.set_value();
  }  // joins only after the 100 have run
  CHECK(ran == 100);
}

TEST_CASE("work may hand over more work") {
  std::promise<int> result;
  {
    CompletionRunner runner;
    runner.Run([&] { runner.Run([&] { result.set_value(42); }); });
    CHECK(result.get_future().get() == 42);
  }
}

}  // namespace
}  // namespace cairn::server
