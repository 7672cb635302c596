// The SDK's HTTPS pool and retry policy against a fake TLS server on
// loopback that misbehaves on purpose: it never finishes the handshake,
// never answers, drops the connection after reading a request, or answers
// 429 with a long Retry-After. The fake counts the connections it accepted
// and the requests it read, so the tests see what reached the "hub".
#include "src/asio.h"  // first: works around a Boost 1.74 header bug

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "cairn/client.h"
#include "cairn/connection.h"
#include "src/hub_connection.h"
#include "support/pki.h"

namespace cairn {
namespace {

namespace asio = client_internal::asio;
namespace http = client_internal::http;
namespace ssl = client_internal::ssl;
using client_internal::tcp;
using error_code = boost::system::error_code;
using namespace std::chrono_literals;
using Response = http::response<http::string_body>;

const testing::TempPki& Pki() {
  static std::unique_ptr<testing::TempPki> pki = [] {
    auto created = testing::TempPki::Create();
    if (!created)
      FAIL("cannot make the test PKI: " << created.error().ToString());
    return std::move(*created);
  }();
  return *pki;
}

class FakeTlsServer {
 public:
  enum class Mode {
    kNoHandshake,     // accepts TCP, never speaks TLS
    kNoAnswer,        // reads requests, never answers
    kDropConnection,  // reads a request, then closes without answering
    kAnswer,          // answers every request with `answer`, keep-alive
  };

  explicit FakeTlsServer(Mode mode, std::function<Response()> answer = {})
      : mode_(mode), answer_(std::move(answer)) {
    tls_.use_certificate_chain_file(Pki().ServerCert());
    tls_.use_private_key_file(Pki().ServerKey(), ssl::context::pem);
    acceptor_.open(tcp::v4());
    acceptor_.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    acceptor_.listen();
    Accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~FakeTlsServer() {
    io_.stop();
    thread_.join();
  }
  FakeTlsServer(const FakeTlsServer&) = delete;
  FakeTlsServer& operator=(const FakeTlsServer&) = delete;

  std::string Url() const {
    return "https://127.0.0.1:" +
           std::to_string(acceptor_.local_endpoint().port());
  }
  int connections() const { return connections_; }
  std::vector<std::string> targets() const {
    std::lock_guard lock(mutex_);
    return targets_;
  }
  // The Idempotency-Key of each request read ("" without one).
  std::vector<std::string> keys() const {
    std::lock_guard lock(mutex_);
    return keys_;
  }

 private:
  struct Session {
    Session(tcp::socket socket, ssl::context& tls)
        : stream(std::move(socket), tls) {}
    ssl::stream<tcp::socket> stream;
    boost::beast::flat_buffer buffer;
    http::request<http::string_body> request;
    Response response;
  };

  void Accept() {
    acceptor_.async_accept([this](error_code ec, tcp::socket socket) {
      if (ec) return;
      ++connections_;
      auto session = std::make_shared<Session>(std::move(socket), tls_);
      sessions_.push_back(session);  // kept open until the server goes
      if (mode_ != Mode::kNoHandshake) {
        session->stream.async_handshake(ssl::stream_base::server,
                                        [this, session](error_code e) {
                                          if (!e) Read(session);
                                        });
      }
      Accept();
    });
  }

  void Read(const std::shared_ptr<Session>& session) {
    session->request = {};
    http::async_read(
        session->stream, session->buffer, session->request,
        [this, session](error_code ec, std::size_t) {
          if (ec) return;
          {
            std::lock_guard lock(mutex_);
            targets_.emplace_back(session->request.target());
            keys_.emplace_back(session->request["Idempotency-Key"]);
          }
          switch (mode_) {
            case Mode::kNoHandshake:
            case Mode::kNoAnswer:
              return;
            case Mode::kDropConnection:
              session->stream.next_layer().close();
              return;
            case Mode::kAnswer:
              session->response = answer_();
              session->response.keep_alive(true);
              session->response.prepare_payload();
              http::async_write(session->stream, session->response,
                                [this, session](error_code e, std::size_t) {
                                  if (!e) Read(session);
                                });
              return;
          }
        });
  }

  Mode mode_;
  std::function<Response()> answer_;
  ssl::context tls_{ssl::context::tls_server};  // outlives the sessions
  asio::io_context io_;
  tcp::acceptor acceptor_{io_};
  std::vector<std::shared_ptr<Session>> sessions_;  // io_ thread only
  std::atomic<int> connections_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> targets_;
  std::vector<std::string> keys_;
  std::thread thread_;
};

Response JsonAnswer(
    int status, std::string body,
    std::vector<std::pair<std::string, std::string>> headers = {}) {
  Response response{static_cast<http::status>(status), 11};
  response.set(http::field::content_type, "application/json");
  for (const auto& [name, value] : headers) response.set(name, value);
  response.body() = std::move(body);
  return response;
}

ClientOptions OptionsFor(const FakeTlsServer& server) {
  ClientOptions options;
  options.hub_url = server.Url();
  options.cert_file = Pki().Cert("alpha");
  options.key_file = Pki().Key("alpha");
  options.ca_file = Pki().CaCert();
  options.consortium_key = ConsortiumKey::Generate();
  options.retry.initial_backoff = 10ms;
  return options;
}

HttpRequest GetMe() { return HttpRequest{"GET", "/v1/me", "", {}, true}; }

TEST_CASE(
    "transport: a query whose reply is lost is resent with the same "
    "Idempotency-Key") {
  struct Case {
    const char* name;
    FakeTlsServer::Mode mode;
    int status;
  } cases[] = {
      {"connection dropped", FakeTlsServer::Mode::kDropConnection, 0},
      {"502", FakeTlsServer::Mode::kAnswer, 502},
      {"503", FakeTlsServer::Mode::kAnswer, 503},
      {"504", FakeTlsServer::Mode::kAnswer, 504},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    FakeTlsServer server(c.mode, [&] {
      return JsonAnswer(
          c.status,
          R"({"error":{"code":"unavailable","message":"the hub shut down before answering"}})");
    });
    auto options = OptionsFor(server);
    REQUIRE(options.retry.max_attempts == 4);
    auto client = MakeClient(options);
    REQUIRE(client);
    auto result = client->Query({Identifier::Email("jane@example.com")});
    REQUIRE_FALSE(result);
    CAPTURE(result.error().message);
    // The hub answers a resend carrying the key with the matches it
    // recorded (docs/protocol.md), so the SDK may resend it.
    CHECK(server.targets() == std::vector<std::string>(4, "/v1/query"));
    const auto keys = server.keys();
    REQUIRE(keys.size() == 4);
    CHECK_FALSE(keys[0].empty());
    CHECK(keys == std::vector<std::string>(4, keys[0]));
  }
}

TEST_CASE(
    "transport: a 429 with Retry-After: 120 returns at once after one "
    "attempt, naming the wait") {
  FakeTlsServer server(FakeTlsServer::Mode::kAnswer, [] {
    return JsonAnswer(
        429,
        R"({"error":{"code":"rate_limited","message":"the daily OPRF quota of this member is used up"}})",
        {{"Retry-After", "120"}});
  });
  auto options = OptionsFor(server);
  options.retry = RetryPolicy{};  // the defaults, as `cairn` uses them
  auto client = MakeClient(options);
  REQUIRE(client);
  const auto start = std::chrono::steady_clock::now();
  auto me = client->Me();
  const auto took = std::chrono::steady_clock::now() - start;
  REQUIRE_FALSE(me);
  CAPTURE(me.error().message);
  CHECK(took < 5s);
  CHECK(server.targets() == std::vector<std::string>{"/v1/me"});
  CHECK(me.error().code == ErrorCode::kRateLimited);
  CHECK_THAT(me.error().message, Catch::Contains("Retry-After: 120 s"));
  CHECK_THAT(me.error().message, Catch::Contains("call again after"));
}

TEST_CASE(
    "transport: a pooled connection idle longer than the pool's bound is "
    "not reused") {
  FakeTlsServer server(FakeTlsServer::Mode::kAnswer,
                       [] { return JsonAnswer(200, "{}"); });
  auto options = OptionsFor(server);
  client_internal::PoolSeams seams;
  seams.max_idle = 300ms;
  auto connection = client_internal::MakeHubConnection(options, seams);
  REQUIRE(connection);
  for (int i = 0; i < 2; ++i) {
    auto reply = (*connection)->Send(GetMe());
    REQUIRE(reply);
    CHECK(reply->status == 200);
  }
  CHECK(server.connections() == 1);  // reused while fresh
  std::this_thread::sleep_for(500ms);
  auto reply = (*connection)->Send(GetMe());
  REQUIRE(reply);
  CHECK(server.connections() == 2);  // idle too long: a new one
  CHECK(server.targets().size() == 3);
}

TEST_CASE(
    "transport: a connection is not reused past three quarters of the idle "
    "timeout the hub announces") {
  struct Case {
    const char* keep_alive;
    int connections_after_idle;  // after 900 ms idle
  };
  for (const Case& c : {
           Case{"timeout=1", 2},           // 750 ms bound
           Case{"max=100, timeout=1", 2},  // among other parameters
           Case{"timeout=60", 1},          // the pool's own bound is lower
           Case{"timeout=abc", 1},         // not a number: ignored
           Case{"timeout=-1", 1},          // negative: ignored
       }) {
    CAPTURE(c.keep_alive);
    const std::string keep_alive = c.keep_alive;
    FakeTlsServer server(FakeTlsServer::Mode::kAnswer, [keep_alive] {
      return JsonAnswer(200, "{}", {{"Keep-Alive", keep_alive}});
    });
    auto connection = client_internal::MakeHubConnection(
        OptionsFor(server), client_internal::PoolSeams{});
    REQUIRE(connection);
    for (int i = 0; i < 2; ++i) REQUIRE((*connection)->Send(GetMe()));
    CHECK(server.connections() == 1);  // reused while fresh
    std::this_thread::sleep_for(900ms);
    REQUIRE((*connection)->Send(GetMe()));
    CHECK(server.connections() == c.connections_after_idle);
  }
}

TEST_CASE("transport: the default pool bound is below the hub's idle timeout") {
  // cairnd closes connections idle for [timeouts] idle_seconds, 60 s by
  // default; a request written as its close arrives is lost.
  CHECK(client_internal::kMaxPooledIdle < 60s);
  CHECK(client_internal::kMaxPooledIdle > RetryPolicy{}.max_retry_after);
}

TEST_CASE(
    "transport: a hub that does not answer is asked again only within "
    "RetryPolicy::max_elapsed") {
  FakeTlsServer server(FakeTlsServer::Mode::kNoAnswer);
  auto options = OptionsFor(server);
  options.request_timeout = 300ms;
  options.retry.initial_backoff = 10ms;
  options.retry.max_elapsed = 500ms;  // room for a second attempt, not a third
  auto client = MakeClient(options);
  REQUIRE(client);
  auto me = client->Me();
  REQUIRE_FALSE(me);
  CAPTURE(me.error().message);
  CHECK(me.error().code == ErrorCode::kIo);
  CHECK(server.targets() == std::vector<std::string>(2, "/v1/me"));
  CHECK_THAT(me.error().message,
             Catch::Contains("not sent again: 2 attempts took") &&
                 Catch::Contains("RetryPolicy::max_elapsed (500 ms)"));
}

TEST_CASE("transport: each timeout names its stage and the right fix") {
  SECTION("TLS handshake") {
    FakeTlsServer server(FakeTlsServer::Mode::kNoHandshake);
    auto options = OptionsFor(server);
    options.connect_timeout = 300ms;
    options.retry.max_attempts = 1;
    auto client = MakeClient(options);
    REQUIRE(client);
    auto me = client->Me();
    REQUIRE_FALSE(me);
    CAPTURE(me.error().message);
    CHECK(me.error().code == ErrorCode::kUnavailable);
    CHECK_THAT(me.error().message,
               Catch::Contains("TLS handshake with " + options.hub_url +
                               " did not complete within connect_timeout "
                               "(300 ms)"));
    CHECK_THAT(me.error().message, Catch::Contains("HTTPS port"));
    CHECK_THAT(me.error().message, !Catch::Contains("ca_file"));
  }
  SECTION("waiting for the answer to a GET") {
    FakeTlsServer server(FakeTlsServer::Mode::kNoAnswer);
    auto options = OptionsFor(server);
    options.request_timeout = 300ms;
    options.retry.max_attempts = 1;
    auto client = MakeClient(options);
    REQUIRE(client);
    auto me = client->Me();
    REQUIRE_FALSE(me);
    CAPTURE(me.error().message);
    CHECK(me.error().code == ErrorCode::kIo);
    CHECK_THAT(me.error().message,
               Catch::Contains(
                   "the hub did not answer within request_timeout (300 ms)"));
    CHECK_THAT(me.error().message, Catch::Contains("GET /healthz"));
    CHECK_THAT(me.error().message, !Catch::Contains("batch"));
  }
  SECTION("waiting for the answer to a POST") {
    FakeTlsServer server(FakeTlsServer::Mode::kNoAnswer);
    auto options = OptionsFor(server);
    options.request_timeout = 300ms;
    auto client = MakeClient(options);
    REQUIRE(client);
    auto result = client->Query({Identifier::Email("jane@example.com")});
    REQUIRE_FALSE(result);
    CAPTURE(result.error().message);
    CHECK(result.error().code == ErrorCode::kIo);
    CHECK_THAT(result.error().message,
               Catch::Contains(
                   "the hub did not answer within request_timeout (300 ms)"));
    CHECK_THAT(result.error().message,
               Catch::Contains("raise ClientOptions::request_timeout or "
                               "lower max_batch"));
    // Resent with its Idempotency-Key, like a read (max_attempts 4).
    CHECK(server.targets().size() == 4);
  }
}

TEST_CASE("transport: host name resolution is bounded by connect_timeout") {
  // A DNS server that does not answer cannot be staged on loopback; the
  // pool's seam stalls the resolving thread instead, as getaddrinfo would.
  FakeTlsServer server(FakeTlsServer::Mode::kAnswer,
                       [] { return JsonAnswer(200, "{}"); });
  auto options = OptionsFor(server);
  options.connect_timeout = 300ms;
  options.retry.max_attempts = 1;
  client_internal::PoolSeams seams;
  seams.before_resolve = [] { std::this_thread::sleep_for(3s); };
  auto connection = client_internal::MakeHubConnection(options, seams);
  REQUIRE(connection);
  const auto start = std::chrono::steady_clock::now();
  auto reply = (*connection)->Send(GetMe());
  const auto took = std::chrono::steady_clock::now() - start;
  REQUIRE_FALSE(reply);
  CAPTURE(reply.error().message);
  CHECK(took < 2s);
  CHECK(reply.error().code == ErrorCode::kUnavailable);
  CHECK_THAT(reply.error().message,
             Catch::Contains("resolving the hub host '127.0.0.1' did not "
                             "finish within connect_timeout (300 ms)"));
  CHECK(server.connections() == 0);

  // Without the stall the same pool connects.
  seams.before_resolve = {};
  auto fine = client_internal::MakeHubConnection(options, seams);
  REQUIRE(fine);
  auto answered = (*fine)->Send(GetMe());
  REQUIRE(answered);
  CHECK(answered->status == 200);
}

}  // namespace
}  // namespace cairn
