// Shared pieces of the hardening tests: a raw TLS client that can send
// anything (partial headers, endless chunked bodies), a raw TCP connection
// that never completes its handshake, and readings of a running cairnd
// (RSS from /proc, gauges from its loopback metrics listener).
#ifndef CAIRN_TESTS_HARDENING_HARDENING_UTIL_H_
#define CAIRN_TESTS_HARDENING_HARDENING_UTIL_H_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "cairn/result.h"
#include "support/running_hub.h"

namespace cairn::testing {

// A plain TCP connection to 127.0.0.1:port (blocking, with 10 s send and
// receive timeouts). Closes on destruction.
class TcpConnection {
 public:
  static Result<std::unique_ptr<TcpConnection>> Open(std::uint16_t port);
  ~TcpConnection();
  TcpConnection(const TcpConnection&) = delete;
  TcpConnection& operator=(const TcpConnection&) = delete;

  int fd() const { return fd_; }
  bool Send(std::string_view bytes);
  // True once the peer has closed (EOF or reset); waits up to `timeout`.
  bool ClosedByPeer(std::chrono::milliseconds timeout);

 private:
  explicit TcpConnection(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// A TLS connection presenting one of the hub PKI's client certificates, on
// which the test writes raw bytes. REQUIRES: SIGPIPE ignored (IgnoreSigpipe).
class RawTlsConnection {
 public:
  // Connects and completes the handshake (bounded by 10 s socket timeouts).
  static Result<std::unique_ptr<RawTlsConnection>> Open(const RunningHub& hub,
                                                        const std::string& who);
  ~RawTlsConnection();
  RawTlsConnection(const RawTlsConnection&) = delete;
  RawTlsConnection& operator=(const RawTlsConnection&) = delete;

  // False once the connection is broken.
  bool Write(std::string_view bytes);
  // True if bytes (or EOF) are ready to read within `timeout`.
  bool Readable(std::chrono::milliseconds timeout);
  // Reads until EOF, an error or `timeout`; returns what arrived.
  std::string ReadUntilClosed(std::chrono::milliseconds timeout);
  // Reads until one full HTTP response header and its Content-Length body
  // arrived, EOF, or `timeout`.
  std::string ReadResponse(std::chrono::milliseconds timeout);

 private:
  RawTlsConnection() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Status code of the first HTTP status line in `raw`, 0 if none.
int StatusOf(const std::string& raw);
// The body after the first blank line of `raw`.
std::string BodyOf(const std::string& raw);

void IgnoreSigpipe();

// VmRSS of `pid` in KiB from /proc/PID/status; 0 if unreadable.
std::int64_t RssKib(pid_t pid);

// The port of cairnd's loopback metrics listener from the hub's port file
// (the hub must be started with [metrics] loopback_listen = "127.0.0.1:0").
Result<std::uint16_t> MetricsPort(const RunningHub& hub);
// Value of the unlabelled gauge `name` scraped from the loopback metrics
// listener; nullopt if the scrape failed or the metric is absent.
std::optional<double> ScrapeGauge(std::uint16_t metrics_port,
                                  const std::string& name);

// Milliseconds elapsed since `start`.
double MillisSince(std::chrono::steady_clock::time_point start);

}  // namespace cairn::testing

#endif  // CAIRN_TESTS_HARDENING_HARDENING_UTIL_H_
