// HandshakeFailureLog: every failed TLS handshake is counted; the warn
// lines are held to kLinesPerSecond a second, and the ones held back are
// summed up when logging resumes or at Flush. A fake clock makes the
// windows exact.
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "support/log_capture.h"
#include "transport/handshake_failures.h"

namespace cairn::server {
namespace {

using std::chrono::milliseconds;

using cairn::testing::LogCapture;

struct FakeClock {
  std::chrono::steady_clock::time_point now{std::chrono::hours(1)};
  HandshakeFailureLog::Clock Get() {
    return [this] { return now; };
  }
};

const HandshakeFailure kExpired{
    .peer = "192.0.2.7:40522",
    .reason = HandshakeFailureReason::kCertificate,
    .detail = "certificate has expired",
    .fingerprint =
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    .common_name = "acme-trust-safety",
};

constexpr char kLine[] = "[warning] TLS handshake failed: ";
constexpr char kSummary[] = "[warning] ";

TEST_CASE("a failed handshake is one warn line naming peer, reason and cert") {
  LogCapture log(10000, spdlog::level::debug);
  FakeClock clock;
  HandshakeFailureLog failures(clock.Get());
  failures.Record(kExpired);
  const auto lines = log.Lines();
  REQUIRE(lines.size() == 1);
  CHECK(lines[0] ==
        "[warning] TLS handshake failed: peer=192.0.2.7:40522 "
        "reason=certificate detail=\"certificate has expired\" "
        "fingerprint=0123456789abcdef0123456789abcdef0123456789abcdef012345678"
        "9abcdef cn=\"acme-trust-safety\"");
  CHECK(failures.count(HandshakeFailureReason::kCertificate) == 1);
  CHECK(failures.count(HandshakeFailureReason::kOther) == 0);
}

TEST_CASE("without a certificate the line says fingerprint=- and an empty cn") {
  LogCapture log(10000, spdlog::level::debug);
  HandshakeFailureLog failures;
  failures.Record({.peer = "[::1]:5000",
                   .reason = HandshakeFailureReason::kTimeout,
                   .detail = "timed out after 10000 ms"});
  const auto lines = log.Lines();
  REQUIRE(lines.size() == 1);
  CHECK(lines[0] ==
        "[warning] TLS handshake failed: peer=[::1]:5000 reason=timeout "
        "detail=\"timed out after 10000 ms\" fingerprint=- cn=\"\"");
  CHECK(failures.count(HandshakeFailureReason::kTimeout) == 1);
}

TEST_CASE("a CN cannot forge log lines: controls and quotes are escaped") {
  LogCapture log(10000, spdlog::level::debug);
  HandshakeFailureLog failures;
  HandshakeFailure failure = kExpired;
  const std::string cn =
      "x\"\n[warning] TLS handshake failed: peer=10.0.0.1 \\ \x01\xc3\xa9";
  failure.common_name = cn;
  failures.Record(failure);
  const auto lines = log.Lines();
  REQUIRE(lines.size() == 1);
  CHECK_THAT(lines[0],
             Catch::EndsWith("cn=\"x\\\"\\x0a[warning] TLS handshake failed: "
                             "peer=10.0.0.1 \\\\ \\x01\\xc3\\xa9\""));
  CHECK(EscapeForLog(std::string(70, 'a'), 64) == std::string(64, 'a') + "...");
  CHECK(EscapeForLog("plain", 64) == "plain");
}

TEST_CASE(
    "a burst is logged up to the per-second limit, the rest summed up when "
    "logging resumes") {
  LogCapture log(10000, spdlog::level::debug);
  FakeClock clock;
  HandshakeFailureLog failures(clock.Get());
  const std::size_t limit = HandshakeFailureLog::kLinesPerSecond;
  REQUIRE(limit == 10);

  for (int i = 0; i < 100; ++i) failures.Record(kExpired);
  CHECK(log.Count(kLine) == limit);
  CHECK(log.Lines().size() == limit);  // no summary yet
  CHECK(failures.count(HandshakeFailureReason::kCertificate) == 100);

  // Still the same window: held back.
  clock.now += milliseconds(999);
  failures.Record(kExpired);
  CHECK(log.Lines().size() == limit);

  // A new window: the summary of the 91 held back, then the line.
  clock.now += milliseconds(1);
  failures.Record(kExpired);
  auto lines = log.Lines();
  REQUIRE(lines.size() == limit + 2);
  CHECK(lines[limit] ==
        "[warning] 91 further failed TLS handshakes were not logged (at most "
        "10 a second are; cairn_tls_handshake_failures_total counts them "
        "all)");
  CHECK(lines[limit + 1].rfind(kLine, 0) == 0);

  // Nothing held back: Flush says nothing.
  failures.Flush();
  CHECK(log.Lines().size() == limit + 2);

  // Held back again, then summed up by Flush (as at shutdown), once.
  for (int i = 0; i < 12; ++i) failures.Record(kExpired);
  CHECK(log.Count(kLine) == 2 * limit);
  failures.Flush();
  failures.Flush();
  lines = log.Lines();
  REQUIRE(lines.size() == 2 * limit + 2);
  CHECK_THAT(lines.back(),
             Catch::StartsWith(std::string(kSummary) +
                               "3 further failed TLS handshakes were not "
                               "logged"));
  CHECK(failures.count(HandshakeFailureReason::kCertificate) == 114);
}

TEST_CASE("a client that hangs up is counted but logged at debug only") {
  LogCapture log(10000, spdlog::level::debug);
  HandshakeFailureLog failures;
  for (int i = 0; i < 50; ++i) {
    failures.Record({.peer = "127.0.0.1:1",
                     .reason = HandshakeFailureReason::kClosed,
                     .detail = "the client closed the connection"});
  }
  CHECK(log.Count("[debug] TLS handshake failed: peer=127.0.0.1:1 "
                  "reason=closed") == 50);
  CHECK(log.Count("[warning]") == 0);
  CHECK(failures.count(HandshakeFailureReason::kClosed) == 50);
  // They take nothing from the warn lines' budget.
  failures.Record(kExpired);
  CHECK(log.Count(kLine) == 1);
}

TEST_CASE("failures from several threads are all counted, none logged twice") {
  LogCapture log(10000, spdlog::level::debug);
  FakeClock clock;  // one window throughout
  HandshakeFailureLog failures(clock.Get());
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) failures.Record(kExpired);
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(failures.count(HandshakeFailureReason::kCertificate) == 2000);
  CHECK(log.Count(kLine) == HandshakeFailureLog::kLinesPerSecond);
  failures.Flush();
  CHECK(log.Count("[warning] 1990 further failed TLS handshakes") == 1);
}

}  // namespace
}  // namespace cairn::server
