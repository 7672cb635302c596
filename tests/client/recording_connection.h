// A Connection that records every request and answers with a scripted
// function: the client tests' window onto the wire.
#ifndef CAIRN_TESTS_CLIENT_RECORDING_CONNECTION_H_
#define CAIRN_TESTS_CLIENT_RECORDING_CONNECTION_H_

#include <functional>
#include <mutex>
#include <vector>

#include "cairn/connection.h"

namespace cairn::testing {

class RecordingConnection final : public Connection {
 public:
  using Handler = std::function<Result<HttpReply>(const HttpRequest&)>;
  explicit RecordingConnection(Handler handler)
      : handler_(std::move(handler)) {}

  Result<HttpReply> Send(const HttpRequest& request) override {
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(request);
    }
    return handler_(request);
  }

  std::vector<HttpRequest> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  Handler handler_;
  mutable std::mutex mutex_;
  std::vector<HttpRequest> requests_;
};

inline HttpReply Reply(int status, std::string body, HttpHeaders headers = {}) {
  return HttpReply{status, std::move(body), std::move(headers)};
}

}  // namespace cairn::testing

#endif  // CAIRN_TESTS_CLIENT_RECORDING_CONNECTION_H_
