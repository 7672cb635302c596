// A thread of its own that runs the store's acknowledgements: the callbacks
// of committed (or failed) commands, in the order they were handed over.
//
// Why: those callbacks build the answer (encode the response, hash and sign
// its receipt), which took 9-17% of the writer thread's time under submits
// and batched queries with matches. On the writer, that work delays the next
// transaction; here it runs beside it.
//
// Run() is thread-safe. The destructor runs everything already handed over,
// then joins: an acknowledgement is never dropped.
#ifndef CAIRN_SERVER_STORE_COMPLETION_RUNNER_H_
#define CAIRN_SERVER_STORE_COMPLETION_RUNNER_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace cairn::server {

class CompletionRunner {
 public:
  CompletionRunner();
  ~CompletionRunner();
  CompletionRunner(const CompletionRunner&) = delete;
  CompletionRunner& operator=(const CompletionRunner&) = delete;

  // Queues `work` to run on the runner's thread after what is queued.
  void Run(std::function<void()> work);

 private:
  void Loop();

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::thread thread_;  // last: started once the members above exist
};

}  // namespace cairn::server

#endif  // CAIRN_SERVER_STORE_COMPLETION_RUNNER_H_
