#include "server/src/store/completion_runner.h"

#include <utility>

namespace cairn::server {

CompletionRunner::CompletionRunner() : thread_([this] { Loop(); }) {}

CompletionRunner::~CompletionRunner() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void CompletionRunner::Run(std::function<void()> work) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(work));
  }
  cv_.notify_one();
}

void CompletionRunner::Loop() {
  std::deque<std::function<void()>> ready;
  while (true) {
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything has run
      ready.swap(queue_);
    }
    for (auto& work : ready) work();
    ready.clear();
  }
}

}  // namespace cairn::server
