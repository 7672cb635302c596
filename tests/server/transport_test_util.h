// Shared by the transport tests: an echo RequestHandler, a HubServer running
// on its own thread on 127.0.0.1:0, and curl / openssl s_client wrappers.
#ifndef CAIRN_TESTS_SERVER_TRANSPORT_TEST_UTIL_H_
#define CAIRN_TESTS_SERVER_TRANSPORT_TEST_UTIL_H_

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "http/request_handler.h"
#include "support/pki.h"
#include "support/process.h"
#include "support/running_hub.h"
#include "transport/hub_server.h"

namespace cairn::server::testing {

using cairn::testing::CommandResult;
using cairn::testing::RunCommand;
using cairn::testing::TempPki;

// Answers 200 "fingerprint=<fp>\nsubject=<subject>\ntarget=<target>\n".
// Target "/later" answers from another thread; "/slow" answers from another
// thread after 700 ms (for graceful-stop tests); "/never" is never answered.
class EchoHandler : public RequestHandler {
 public:
  ~EchoHandler() override {
    std::lock_guard lock(mutex_);
    for (auto& thread : threads_) thread.join();
  }

  void Handle(HttpRequest request, const PeerIdentity& peer,
              std::function<void(HttpResponse)> respond) override {
    {
      std::lock_guard lock(mutex_);
      fingerprints_.push_back(peer.fingerprint);
      subjects_.push_back(peer.subject);
    }
    HttpResponse response{boost::beast::http::status::ok, 11};
    response.set(boost::beast::http::field::content_type, "text/plain");
    response.body() = "fingerprint=" + peer.fingerprint +
                      "\nsubject=" + peer.subject +
                      "\ntarget=" + std::string(request.target()) +
                      "\nbody=" + request.body() + "\n";
    calls_++;
    if (request.target() == "/never") {
      // A buggy handler that keeps `respond` and never calls it.
      std::lock_guard lock(mutex_);
      never_answered_.push_back(std::move(respond));
      return;
    }
    if (request.target() == "/later" || request.target() == "/slow") {
      const auto delay = request.target() == "/slow"
                             ? std::chrono::milliseconds(700)
                             : std::chrono::milliseconds(20);
      std::lock_guard lock(mutex_);
      threads_.emplace_back([delay, respond = std::move(respond),
                             response = std::move(response)]() mutable {
        std::this_thread::sleep_for(delay);
        respond(std::move(response));
      });
      return;
    }
    respond(std::move(response));
  }

  // Records each refusal the transport answered itself, with the peer's
  // fingerprint.
  void LogRefused(const RefusedRequest& refused,
                  const PeerIdentity& peer) override {
    std::lock_guard lock(mutex_);
    refused_.emplace_back(refused, peer.fingerprint);
  }
  std::vector<std::pair<RefusedRequest, std::string>> refused() const {
    std::lock_guard lock(mutex_);
    return refused_;
  }

  int calls() const { return calls_.load(); }
  std::vector<std::string> fingerprints() const {
    std::lock_guard lock(mutex_);
    return fingerprints_;
  }
  std::vector<std::string> subjects() const {
    std::lock_guard lock(mutex_);
    return subjects_;
  }
  // Waits (bounded) until at least `n` requests have arrived.
  bool WaitForCalls(int n) const {
    for (int i = 0; i < 1000 && calls_.load() < n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return calls_.load() >= n;
  }

 private:
  std::atomic<int> calls_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> fingerprints_;
  std::vector<std::string> subjects_;
  std::vector<std::thread> threads_;
  std::vector<std::function<void(HttpResponse)>> never_answered_;
  std::vector<std::pair<RefusedRequest, std::string>> refused_;
};

inline TransportConfig TestTransportConfig(const TempPki& pki) {
  TransportConfig config;
  config.listen_addresses = {"127.0.0.1:0"};
  config.io_threads = 2;
  config.handle_signals = false;
  config.tls.cert_file = pki.ServerCert();
  config.tls.key_file = pki.ServerKey();
  config.tls.ca_file = pki.CaCert();
  return config;
}

// A HubServer serving on a background thread; stopped and joined on
// destruction.
class RunningServer {
 public:
  RunningServer(const TransportConfig& config, RequestHandler& handler) {
    auto server = HubServer::Create(config, handler);
    if (!server) FAIL("HubServer::Create: " << server.error().message);
    server_ = std::move(*server);
    thread_ = std::thread([this] { server_->Run(); });
  }
  ~RunningServer() { StopAndJoin(); }

  void StopAndJoin() {
    if (!thread_.joinable()) return;
    server_->Stop();
    thread_.join();
  }
  HubServer& server() { return *server_; }
  std::uint16_t port() const { return server_->ListenPorts().at(0); }
  // Waits (bounded) until at least `n` handshakes have failed with
  // `reason`, and returns how many have. A refusal the server decides after
  // the handshake (no certificate, a protocol it does not speak) is counted
  // after the client has seen it.
  std::uint64_t WaitForHandshakeFailures(HandshakeFailureReason reason,
                                         std::uint64_t n) const {
    for (int i = 0; i < 1000 && server_->HandshakeFailures(reason) < n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return server_->HandshakeFailures(reason);
  }

 private:
  std::unique_ptr<HubServer> server_;
  std::thread thread_;
};

inline std::unique_ptr<TempPki> MakePki() {
  auto pki = TempPki::Create();
  if (!pki) FAIL(pki.error().message);
  return std::move(*pki);
}

// curl against 127.0.0.1:port with the client certificate `name` ("" for
// none). stdout is the body followed by "\nstatus=<code>".
inline std::vector<std::string> CurlArgs(const TempPki& pki,
                                         const std::string& name) {
  std::vector<std::string> args = {
      "curl",     "-sS",        "--max-time", "20",
      "--cacert", pki.CaCert(), "-w",         "\nstatus=%{http_code}"};
  if (!name.empty()) {
    args.insert(args.end(), {"--cert", pki.Cert(name), "--key", pki.Key(name)});
  }
  return args;
}

inline std::string Url(std::uint16_t port, const std::string& path) {
  return "https://127.0.0.1:" + std::to_string(port) + path;
}

inline CommandResult Curl(const TempPki& pki, const std::string& name,
                          std::uint16_t port, const std::string& path,
                          std::vector<std::string> extra = {}) {
  auto args = CurlArgs(pki, name);
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back(Url(port, path));
  return RunCommand(args, std::chrono::seconds(30));
}

// openssl s_client with client certificate `name` ("" for none), sending
// `input` and waiting for the server to close (-ign_eof): the shared
// runner, for this test server's port.
inline CommandResult SClient(const TempPki& pki, const std::string& name,
                             std::uint16_t port,
                             const std::vector<std::string>& extra,
                             const std::string& input) {
  return cairn::testing::RunSClient(pki, port, name, extra, input);
}

inline const char kGetRequest[] =
    "GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

}  // namespace cairn::server::testing

#endif  // CAIRN_TESTS_SERVER_TRANSPORT_TEST_UTIL_H_
