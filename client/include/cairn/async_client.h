// The asynchronous face of cairn::Client, in Asio's completion-token style:
//
//   cairn::AsyncClient async(*client, io.get_executor());
//   async.Query(ids, [](cairn::Result<cairn::QueryOutcome> r) { ... });
//   auto f = async.Me(boost::asio::use_future);             // std::future
//   auto r = co_await async.Query(ids, boost::asio::use_awaitable);
//
// Each call runs the corresponding blocking Client call on a worker pool
// owned by the AsyncClient (its size bounds the requests in flight), then
// delivers the Result to the completion handler on the handler's associated
// executor, or else on the executor given to the constructor (the caller's
// io_context), or else on the worker pool. Outstanding calls keep that
// executor's io_context from running out of work.
//
// AsyncClient is copyable; copies share the worker pool. Destroying the
// last copy waits for calls in flight, and for completions that run on the
// worker pool; a completion bound for another executor has been handed to
// it by then and runs when that executor runs it. Destroy the last copy
// outside the worker pool: if a completion running on the pool drops it,
// the pool cannot join itself and is joined on a detached thread instead.
// Thread-safe.
#ifndef CAIRN_CLIENT_ASYNC_CLIENT_H_
#define CAIRN_CLIENT_ASYNC_CLIENT_H_

// Boost 1.74's awaitable.hpp uses std::exchange without <utility>; GCC 12
// needs it included first.
// clang-format off
#include <utility>
// clang-format on

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "cairn/client.h"

namespace cairn {

class AsyncClient {
 public:
  // Completions without an associated executor run on the worker pool.
  // REQUIRES: workers >= 1.
  explicit AsyncClient(Client client, std::size_t workers = 4)
      : state_(std::make_shared<State>(std::move(client), workers)) {
    state_->default_executor = state_->pool->get_executor();
  }

  // Completions without an associated executor run on `executor`.
  AsyncClient(Client client, boost::asio::any_io_executor executor,
              std::size_t workers = 4)
      : state_(std::make_shared<State>(std::move(client), workers)) {
    state_->default_executor = std::move(executor);
  }

  const Client& client() const { return state_->client; }

  // Each call has the signature void(Result<T>) of the Client call it wraps.
  template <typename CompletionToken>
  auto Me(CompletionToken&& token) const {
    return Run<wire::MeResponse>(std::forward<CompletionToken>(token),
                                 [](const Client& c) { return c.Me(); });
  }

  template <typename CompletionToken>
  auto Submit(std::vector<Ban> bans, CompletionToken&& token) const {
    return Run<SubmitOutcome>(
        std::forward<CompletionToken>(token),
        [bans = std::move(bans)](const Client& c) { return c.Submit(bans); });
  }

  template <typename CompletionToken>
  auto Retract(std::vector<Retraction> retractions,
               CompletionToken&& token) const {
    return Run<RetractOutcome>(
        std::forward<CompletionToken>(token),
        [retractions = std::move(retractions)](const Client& c) {
          return c.Retract(retractions);
        });
  }

  template <typename CompletionToken>
  auto Query(std::vector<Identifier> identifiers,
             CompletionToken&& token) const {
    return Run<QueryOutcome>(std::forward<CompletionToken>(token),
                             [ids = std::move(identifiers)](const Client& c) {
                               return c.Query(ids);
                             });
  }

  template <typename CompletionToken>
  auto Dispose(std::string match_id, Outcome outcome,
               std::optional<std::string> note, CompletionToken&& token) const {
    return Run<wire::DispositionResponse>(
        std::forward<CompletionToken>(token),
        [match_id = std::move(match_id), outcome, note = std::move(note)](
            const Client& c) { return c.Dispose(match_id, outcome, note); });
  }

  template <typename CompletionToken>
  auto FeedPage(std::string after, std::uint32_t limit,
                CompletionToken&& token) const {
    return Run<wire::FeedResponse>(
        std::forward<CompletionToken>(token),
        [after = std::move(after), limit](const Client& c) {
          return c.FeedPage(after, limit);
        });
  }

  template <typename CompletionToken>
  auto NotificationsPage(std::string after, std::uint32_t limit,
                         CompletionToken&& token) const {
    return Run<wire::NotificationsResponse>(
        std::forward<CompletionToken>(token),
        [after = std::move(after), limit](const Client& c) {
          return c.NotificationsPage(after, limit);
        });
  }

 private:
  // The calls in flight. Workers share this, not the State: were a worker
  // to hold the last reference to the State, ~State would run on a pool
  // thread and join the pool from inside it.
  struct InFlight {
    std::mutex mutex;
    std::condition_variable idle;
    std::size_t count = 0;

    void Begin() {
      std::lock_guard lock(mutex);
      ++count;
    }
    void End() {
      std::lock_guard lock(mutex);
      if (--count == 0) idle.notify_all();
    }
    void Wait() {
      std::unique_lock lock(mutex);
      idle.wait(lock, [this] { return count == 0; });
    }
  };

  // Ends a call even if it throws, so that ~State cannot wait forever.
  struct EndGuard {
    explicit EndGuard(std::shared_ptr<InFlight> f) : in_flight(std::move(f)) {}
    EndGuard(const EndGuard&) = delete;
    EndGuard& operator=(const EndGuard&) = delete;
    ~EndGuard() { in_flight->End(); }
    std::shared_ptr<InFlight> in_flight;
  };

  // Owned by the AsyncClient copies only, so its destructor runs in the
  // thread that drops the last copy.
  struct State {
    State(Client c, std::size_t workers)
        : client(std::move(c)),
          pool(std::make_unique<boost::asio::thread_pool>(
              workers == 0 ? 1 : workers)) {}
    State(const State&) = delete;
    State& operator=(const State&) = delete;
    ~State() {
      if (pool->get_executor().running_in_this_thread()) {
        // A completion on the pool dropped the last copy: a thread cannot
        // join its own pool, so another one does.
        std::thread([pool = std::move(pool), in_flight = in_flight] {
          in_flight->Wait();
          pool->join();
        }).detach();
        return;
      }
      in_flight->Wait();
      // Also runs the completions queued on the pool.
      pool->join();
    }
    Client client;
    std::shared_ptr<InFlight> in_flight = std::make_shared<InFlight>();
    std::unique_ptr<boost::asio::thread_pool> pool;
    boost::asio::any_io_executor default_executor;
  };

  template <typename T, typename CompletionToken, typename Call>
  auto Run(CompletionToken&& token, Call call) const {
    namespace asio = boost::asio;
    return asio::async_initiate<CompletionToken, void(Result<T>)>(
        [state = state_](auto handler, Call call) {
          auto executor =
              asio::get_associated_executor(handler, state->default_executor);
          // Keeps the completion executor's context alive until delivery.
          auto work =
              asio::prefer(executor, asio::execution::outstanding_work.tracked);
          state->in_flight->Begin();
          asio::post(*state->pool,
                     [client = state->client, in_flight = state->in_flight,
                      call = std::move(call), handler = std::move(handler),
                      work = std::move(work)]() mutable {
                       const EndGuard end{in_flight};
                       // The client and the work guard go before the call ends:
                       // once the last AsyncClient is gone, the caller may
                       // destroy the completion executor's io_context.
                       auto done = std::move(work);
                       const Client self = std::move(client);
                       Result<T> result = call(self);
                       asio::post(done, [handler = std::move(handler),
                                         result = std::move(result)]() mutable {
                         std::move(handler)(std::move(result));
                       });
                     });
        },
        token, std::move(call));
  }

  std::shared_ptr<State> state_;
};

}  // namespace cairn

#endif  // CAIRN_CLIENT_ASYNC_CLIENT_H_
