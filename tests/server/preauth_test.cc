// What callers that are no members (no certificate at all, or one the hub
// refuses) can do to the hub's availability, against an in-process
// HubServer on loopback: connections still in the TLS handshake have a
// budget of their own and one per source address, refused connections are
// counted and logged under a rate limit, a body sent to a GET is refused
// before it is read, and a handler's "Connection: close" ends the
// connection.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "support/log_capture.h"
#include "transport/session.h"
#include "transport_test_util.h"

namespace cairn::server::testing {
namespace {

using cairn::testing::ChildProcess;
using cairn::testing::LogCapture;
using cairn::testing::TempDir;
using std::chrono::milliseconds;

std::size_t Count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

// A TCP connection to 127.0.0.1:`port` from `source` (any 127/8 address:
// Linux routes all of them to the loopback interface) that sends nothing,
// so never starts a TLS handshake. Closed on destruction.
class IdleTcp {
 public:
  IdleTcp(std::uint16_t port, const char* source) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in from{};
    from.sin_family = AF_INET;
    REQUIRE(::inet_pton(AF_INET, source, &from.sin_addr) == 1);
    REQUIRE(::bind(fd_, reinterpret_cast<const sockaddr*>(&from),
                   sizeof from) == 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<const sockaddr*>(&to), sizeof to) ==
            0);
  }
  ~IdleTcp() { ::close(fd_); }
  IdleTcp(const IdleTcp&) = delete;
  IdleTcp& operator=(const IdleTcp&) = delete;

  // Whether the hub closed the connection within `timeout` (end of stream
  // or a reset; it never sends anything before a handshake).
  bool ClosedByHub(milliseconds timeout) {
    pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
    char byte;
    return ::recv(fd_, &byte, 1, MSG_DONTWAIT) <= 0;
  }

 private:
  int fd_ = -1;
};

// Waits (bounded) until `done` holds; true if it did.
template <typename Predicate>
bool WaitUntil(Predicate done) {
  for (int i = 0; i < 1000 && !done(); ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  return done();
}

// Holds one TLS connection with `name`'s certificate open until destroyed
// (openssl s_client, killed by its PID on destruction).
class HeldTls {
 public:
  HeldTls(const TempPki& pki, const std::string& name, std::uint16_t port) {
    ChildProcess::Options options;
    options.stdout_path = dir_.File("out");
    auto child = ChildProcess::Start(
        {"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(port),
         "-CAfile", pki.CaCert(), "-cert", pki.Cert(name), "-key",
         pki.Key(name), "-ign_eof"},
        options);
    REQUIRE(child.has_value());
    child_ = std::make_unique<ChildProcess>(std::move(*child));
  }
  bool WaitForHandshake() {
    return WaitUntil([&] {
      return cairn::testing::ReadFileOrEmpty(dir_.File("out"))
                 .find("Verify return code") != std::string::npos;
    });
  }

 private:
  TempDir dir_;
  std::unique_ptr<ChildProcess> child_;
};

TEST_CASE(
    "connections that never start a TLS handshake do not take the slots of "
    "members' connections") {
  auto pki = MakePki();
  EchoHandler handler;
  TransportConfig config = TestTransportConfig(*pki);
  config.limits.max_connections = 2;
  config.limits.max_handshakes = 8;
  config.limits.max_handshakes_per_address = 8;
  RunningServer server(config, handler);
  // More idle connections than max_connections: they used to take every
  // slot until the handshake timeout, and every member was refused.
  std::vector<std::unique_ptr<IdleTcp>> idle;
  for (int i = 0; i < 4; ++i) {
    idle.push_back(std::make_unique<IdleTcp>(server.port(), "127.0.0.2"));
  }
  REQUIRE(WaitUntil([&] { return server.server().OpenConnections() == 4; }));
  const CommandResult member = Curl(*pki, "alpha", server.port(), "/member");
  CAPTURE(member.out, member.err);
  CHECK(member.out.find("status=200") != std::string::npos);
  for (auto& connection : idle) {
    CHECK_FALSE(connection->ClosedByHub(milliseconds(0)));
  }
  CHECK(server.server().ConnectionsRefused(
            ConnectionRefusalReason::kMaxConnections) == 0);
}

TEST_CASE(
    "handshakes in progress are capped hub-wide and per source address, "
    "established connections are not") {
  auto pki = MakePki();
  EchoHandler handler;
  using enum ConnectionRefusalReason;
  SECTION("per address") {
    TransportConfig config = TestTransportConfig(*pki);
    config.limits.max_handshakes = 100;
    config.limits.max_handshakes_per_address = 2;
    RunningServer server(config, handler);
    std::vector<std::unique_ptr<IdleTcp>> from_one;
    for (int i = 0; i < 5; ++i) {
      from_one.push_back(std::make_unique<IdleTcp>(server.port(), "127.0.0.2"));
    }
    REQUIRE(WaitUntil([&] {
      return server.server().ConnectionsRefused(kMaxHandshakesPerAddress) == 3;
    }));
    // Counted before the hub closes them: closed by now, or very soon.
    int closed = 0;
    for (auto& connection : from_one) {
      closed += connection->ClosedByHub(milliseconds(300)) ? 1 : 0;
    }
    CHECK(closed == 3);
    // Another address has budget of its own...
    IdleTcp other(server.port(), "127.0.0.3");
    REQUIRE(WaitUntil([&] { return server.server().OpenConnections() == 3; }));
    CHECK_FALSE(other.ClosedByHub(milliseconds(100)));
    // ...and members behind a shared address are held back only in their
    // handshakes: three established connections from 127.0.0.1, more than
    // the cap, and one more request.
    std::vector<std::unique_ptr<HeldTls>> held;
    for (int i = 0; i < 3; ++i) {
      held.push_back(std::make_unique<HeldTls>(*pki, "alpha", server.port()));
      REQUIRE(held.back()->WaitForHandshake());
    }
    const CommandResult member = Curl(*pki, "beta", server.port(), "/nat");
    CAPTURE(member.out, member.err);
    CHECK(member.out.find("status=200") != std::string::npos);
    CHECK(server.server().ConnectionsRefused(kMaxHandshakesPerAddress) == 3);
    CHECK(server.server().ConnectionsRefused(kMaxHandshakes) == 0);
  }
  SECTION("hub-wide") {
    TransportConfig config = TestTransportConfig(*pki);
    config.limits.max_handshakes = 2;
    config.limits.max_handshakes_per_address = 100;
    RunningServer server(config, handler);
    std::vector<std::unique_ptr<IdleTcp>> idle;
    for (const char* source : {"127.0.0.2", "127.0.0.3", "127.0.0.4"}) {
      idle.push_back(std::make_unique<IdleTcp>(server.port(), source));
    }
    REQUIRE(WaitUntil([&] {
      return server.server().ConnectionsRefused(kMaxHandshakes) == 1;
    }));
    CHECK(server.server().OpenConnections() == 2);
    // A member finds the handshake budget full too, until a slot frees.
    const CommandResult refused = Curl(*pki, "alpha", server.port(), "/");
    CHECK(refused.exit_code != 0);
    idle.clear();
    REQUIRE(WaitUntil([&] { return server.server().OpenConnections() == 0; }));
    const CommandResult served = Curl(*pki, "alpha", server.port(), "/");
    CAPTURE(served.out, served.err);
    CHECK(served.out.find("status=200") != std::string::npos);
  }
}

TEST_CASE("refused connections are counted, and logged under a rate limit") {
  auto pki = MakePki();
  EchoHandler handler;
  TransportConfig config = TestTransportConfig(*pki);
  config.limits.max_connections = 1;
  // Before the server's threads log anything.
  LogCapture log(10000, spdlog::level::info);
  RunningServer server(config, handler);
  HeldTls held(*pki, "alpha", server.port());
  REQUIRE(held.WaitForHandshake());
  // Refused at accept: max_connections are established. Quickly, as in a
  // flood: well within the log's one-second windows.
  constexpr int kRefused = 60;
  for (int i = 0; i < kRefused; ++i) {
    IdleTcp connection(server.port(), "127.0.0.2");
  }
  using enum ConnectionRefusalReason;
  REQUIRE(WaitUntil([&] {
    return server.server().ConnectionsRefused(kMaxConnections) == kRefused;
  }));
  const auto lines = log.Lines("refusing a connection");
  CAPTURE(lines.size());
  // One line per refused connection would be 60; the windows that can
  // have started while they came in are few.
  CHECK(lines.size() <= 3 * ConnectionRefusalLog::kLinesPerSecond);
  REQUIRE_FALSE(lines.empty());
  CHECK_THAT(lines[0], Catch::Contains("peer=127.0.0.2:") &&
                           Catch::Contains("reason=max_connections") &&
                           Catch::Contains("limits.max_connections"));
  // What was not logged is summed up, at the latest when the hub stops.
  server.StopAndJoin();
  const auto summaries = log.Lines("further refused connections");
  CHECK_FALSE(summaries.empty());
}

TEST_CASE("ConnectionRefusalLog: lines per second, the rest summed up") {
  LogCapture log(10000, spdlog::level::info);
  std::chrono::steady_clock::time_point now{std::chrono::hours(1)};
  ConnectionRefusalLog refusals([&] { return now; });
  using enum ConnectionRefusalReason;
  for (int i = 0; i < 25; ++i) {
    refusals.Record(kMaxHandshakesPerAddress, "192.0.2.7:40522", "16 at once");
  }
  CHECK(log.Lines("refusing a connection").size() ==
        ConnectionRefusalLog::kLinesPerSecond);
  CHECK(log.Lines("further refused").empty());
  now += std::chrono::seconds(1);
  refusals.Record(kMaxHandshakes, "192.0.2.8:1", "256 at once");
  const auto summaries = log.Lines("further refused connections");
  REQUIRE(summaries.size() == 1);
  CHECK_THAT(summaries[0], Catch::Contains("15 further refused connections"));
  CHECK(log.Lines("refusing a connection").size() ==
        ConnectionRefusalLog::kLinesPerSecond + 1);
  CHECK(log.Lines("reason=max_handshakes ").size() == 1);
  CHECK(refusals.count(kMaxHandshakesPerAddress) == 25);
  CHECK(refusals.count(kMaxHandshakes) == 1);
  CHECK(refusals.count(kMaxConnections) == 0);
  refusals.Flush();  // nothing held back: no line
  CHECK(log.Lines("further refused").size() == 1);
}

TEST_CASE("a body sent with a GET or HEAD is refused before it is read") {
  auto pki = MakePki();
  EchoHandler handler;
  TransportConfig config = TestTransportConfig(*pki);
  // The hub waits this long for the body to throw it away (and used to
  // wait as long to read it, then close without an answer).
  config.timeouts.body_read = milliseconds(500);
  RunningServer server(config, handler);
  struct Case {
    const char* what;
    std::string request;  // the header only: the body never comes
    const char* status_line;
  };
  const Case cases[] = {
      {"GET with Content-Length",
       "GET /healthz HTTP/1.1\r\nHost: localhost\r\n"
       "Content-Length: 3990000\r\n\r\n",
       "HTTP/1.1 400"},
      {"GET chunked",
       "GET /healthz HTTP/1.1\r\nHost: localhost\r\n"
       "Transfer-Encoding: chunked\r\n\r\n",
       "HTTP/1.1 400"},
      {"HEAD with Content-Length",
       "HEAD /healthz HTTP/1.1\r\nHost: localhost\r\n"
       "Content-Length: 100\r\n\r\n",
       "HTTP/1.1 400"},
      {"GET with Content-Length 0 (no body)",
       "GET /healthz HTTP/1.1\r\nHost: localhost\r\n"
       "Content-Length: 0\r\nConnection: close\r\n\r\n",
       "HTTP/1.1 200"},
  };
  int served = 0;
  for (const Case& c : cases) {
    CAPTURE(c.what);
    const std::size_t refused_before = handler.refused().size();
    const CommandResult result =
        SClient(*pki, "alpha", server.port(), {"-quiet"}, c.request);
    CAPTURE(result.out);
    CHECK_FALSE(result.timed_out);
    CHECK(result.out.find(c.status_line) != std::string::npos);
    if (std::string(c.status_line) == "HTTP/1.1 200") {
      ++served;
      continue;
    }
    CHECK(result.out.find(R"("code":"invalid_argument")") != std::string::npos);
    CHECK(result.out.find("takes no body") != std::string::npos);
    CHECK(result.out.find("Connection: close") != std::string::npos);
    const auto refused = handler.refused();
    REQUIRE(refused.size() == refused_before + 1);
    CHECK(refused.back().first.status == 400);
    CHECK(refused.back().first.target == "/healthz");
  }
  CHECK(handler.calls() == served);
  // A POST's body is still read and handed over.
  const CommandResult post =
      Curl(*pki, "alpha", server.port(), "/post", {"--data-binary", "abc"});
  CHECK(post.out.find("body=abc") != std::string::npos);
}

// Answers "/bye" with "Connection: close", as the API answers a certificate
// that is no active member's; echoes anything else.
class ClosingHandler : public EchoHandler {
 public:
  void Handle(HttpRequest request, const PeerIdentity& peer,
              std::function<void(HttpResponse)> respond) override {
    if (request.target() != "/bye") {
      EchoHandler::Handle(std::move(request), peer, std::move(respond));
      return;
    }
    HttpResponse response{boost::beast::http::status::forbidden, 11};
    response.set(boost::beast::http::field::connection, "close");
    response.body() = "refused";
    respond(std::move(response));
  }
};

TEST_CASE("a handler's Connection: close ends the connection after it") {
  auto pki = MakePki();
  ClosingHandler handler;
  RunningServer server(TestTransportConfig(*pki), handler);
  auto args = CurlArgs(*pki, "alpha");
  args.insert(args.end(),
              {"-w", "\nconnects=%{num_connects}", Url(server.port(), "/a"),
               Url(server.port(), "/bye"), Url(server.port(), "/b")});
  const CommandResult result = RunCommand(args, std::chrono::seconds(30));
  CAPTURE(result.out, result.err);
  REQUIRE(result.exit_code == 0);
  CHECK(Count(result.out, "refused") == 1);
  // /a opens the connection, /bye reuses it and ends it, /b opens another.
  CHECK(Count(result.out, "connects=1") == 2);
  CHECK(Count(result.out, "connects=0") == 1);
}

TEST_CASE(
    "handshakes are capped per IPv4 address and per IPv6 /64, IPv4-mapped "
    "IPv6 as IPv4") {
  auto key = [](const char* text) {
    return SourceAddressKey(boost::asio::ip::make_address(text));
  };
  struct Case {
    const char* a;
    const char* b;
    bool same;
  };
  const Case cases[] = {
      {"192.0.2.1", "192.0.2.1", true},
      {"192.0.2.1", "192.0.2.2", false},
      {"192.0.2.1", "::ffff:192.0.2.1", true},
      {"2001:db8::1", "2001:db8::ffff:2", true},
      {"2001:db8::1", "2001:db8:0:1::1", false},
      {"::1", "::2", true},
      {"::ffff:192.0.2.1", "::192.0.2.1", false},
  };
  for (const Case& c : cases) {
    CAPTURE(c.a, c.b);
    CHECK((key(c.a) == key(c.b)) == c.same);
  }
}

}  // namespace
}  // namespace cairn::server::testing
