// cairnd's configuration: plain data with documented defaults, loaded from a
// TOML file (server/cairnd.example.toml documents every key).
//
// Every struct here is plain data so that cairnd's command-line flags (CLI11)
// can override any field after the file is loaded.
#ifndef CAIRN_SERVER_TRANSPORT_SERVER_CONFIG_H_
#define CAIRN_SERVER_TRANSPORT_SERVER_CONFIG_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/result.h"

namespace cairn::server {

struct TlsConfig {
  // PEM files. cert_file may hold the chain (leaf first). Required.
  std::string cert_file;
  std::string key_file;
  // CA bundle that client certificates must chain to. Required.
  std::string ca_file;
  // Also accept TLS 1.2, with ECDHE key exchange and AEAD ciphers only.
  // Default: false (TLS 1.3 only).
  bool allow_tls12 = false;
};

struct LimitsConfig {
  // Largest request line + header fields; larger requests get 431.
  // Default: 16 KiB.
  std::uint32_t header_bytes = 16 * 1024;
  // Largest request body, checked against Content-Length before reading;
  // larger requests get 413. Default: 4 MiB (a 10,000-item batch is ~1 MB).
  std::uint64_t body_bytes = 4 * 1024 * 1024;
  // Most items in one batch request (submit, retract, query, OPRF
  // evaluation), 1..10,000; larger batches get 400. Announced in /v1/me,
  // and the SDK splits batches to fit. Default: 10,000.
  std::size_t max_batch = 10'000;
  // Open connections that have finished their TLS handshake; further
  // connections are closed on accept, or right after their handshake.
  // Connections still in the handshake do not count: they have a budget of
  // their own (max_handshakes). Default: 1024.
  std::size_t max_connections = 1024;
  // Connections still in the TLS handshake, hub-wide; further connections
  // are closed on accept. A budget of its own, so that connections that
  // never finish a handshake (no certificate needed to open one) cannot
  // take the slots of established members. Default: 256.
  std::size_t max_handshakes = 256;
  // Connections still in the TLS handshake from one source address (an
  // IPv4 address, or an IPv6 /64); further ones are closed on accept.
  // Established connections do not count, so members behind one NAT
  // address are limited only in handshakes at the same moment.
  // Default: 16.
  std::size_t max_handshakes_per_address = 16;
  // Open connections per client certificate fingerprint; requests on
  // further connections get 503. Default: 64.
  std::size_t max_connections_per_member = 64;
};

struct TimeoutsConfig {
  // TLS handshake after accept; the connection holds a max_handshakes slot
  // meanwhile. Default: 5 s.
  std::chrono::milliseconds handshake{5'000};
  // From the first byte of a request to the end of its header. Also the
  // time a new connection may take to send its first byte. Default: 10 s.
  std::chrono::milliseconds header_read{10'000};
  // Reading a request body. Default: 30 s.
  std::chrono::milliseconds body_read{30'000};
  // Keep-alive: waiting for the next request on an idle connection.
  // Default: 60 s.
  std::chrono::milliseconds idle{60'000};
  // Writing one response. Default: 30 s.
  std::chrono::milliseconds write{30'000};
  // Graceful shutdown: how long in-flight requests may take to finish before
  // connections are closed anyway. Default: 10 s.
  std::chrono::milliseconds drain{10'000};
};

// Everything that touches sockets.
struct TransportConfig {
  // "host:port" addresses to listen on: "127.0.0.1:8443", "[::1]:8443",
  // "0.0.0.0:8443", "[::]:8443". Port 0 picks a free port (see port_file).
  // Default: {"127.0.0.1:8443"}.
  std::vector<std::string> listen_addresses = {"127.0.0.1:8443"};
  // If not empty, the bound ports are written to this file, one
  // "address port" line per listener (the metrics listener last, as
  // "metrics address port"), so that test harnesses can start cairnd on
  // port 0. Default: "" (no file).
  std::string port_file;
  // I/O threads. Default: 0 = one per hardware thread.
  unsigned io_threads = 0;
  // Optional plain-HTTP listener that serves only GET /metrics; it must be a
  // loopback address ("127.0.0.1:9464"). Default: "" (none).
  std::string metrics_listen;
  // Handle SIGTERM/SIGINT (graceful stop) and SIGHUP (reload TLS files) in
  // HubServer::Run. Not a config-file key; tests running in-process set it to
  // false. Default: true.
  bool handle_signals = true;
  TlsConfig tls;
  LimitsConfig limits;
  TimeoutsConfig timeouts;
};

struct StoreConfig {
  // Directory holding the database. Default: "data" (in the configuration
  // file's directory once loaded).
  std::string data_dir = "data";
  // Upper bound on a signal's expires_at, in days after submission.
  // Default: 730.
  int max_retention_days = 730;
  // expires_at of a signal submitted without one. Default: 365.
  int default_retention_days = 365;
  // Retracted and expired signals are purged this many days after they
  // left the active set (feed readers further behind must resync).
  // Default: 30.
  int tombstone_days = 30;
  // Matches (with their dispositions and notifications) are purged this
  // many days after they were made. Default: 730.
  int match_retention_days = 730;
  // Dispositions are purged this many days after they were recorded.
  // Default: 730.
  int disposition_retention_days = 730;
  // Notifications are purged this many days after they were emitted.
  // Default: 730.
  int notification_retention_days = 730;
  // Checkpoint the write-ahead log (copy it back into the database file)
  // on a thread of its own once it holds this many 4 KiB pages; 0 leaves it
  // to SQLite, inside the commit that crosses 1,000 pages. Default: 1000.
  int wal_checkpoint_pages = 1000;
  // A member who queries a token again while the same signals support it
  // gets its match of up to this many seconds ago instead of a new one; 0
  // records a new match every time. Must be shorter than
  // match_retention_days (ValidateHubConfig). Default: 0.
  int match_reuse_seconds = 0;
  // The most matches remembered for that (up to about 400 bytes each).
  // Default: 100000.
  int match_reuse_entries = 100000;
};

// The audit log's signed checkpoints.
struct AuditConfig {
  // A checkpoint once this many entries are uncovered... Default: 1000.
  std::uint64_t checkpoint_every_entries = 1000;
  // ...or once the oldest uncovered entry is this old. Default: 3600 s.
  std::chrono::seconds checkpoint_interval{3600};
};

// The hub's Ed25519 signing keys (receipts, audit checkpoints).
struct KeysConfig {
  // Directory of the key files; created with a first key when empty.
  // Default: "" = <store.data_dir>/keys.
  std::string dir;
};

struct RateLimitConfig {
  // Per member, token bucket refill rates. Default: 200 requests/s.
  double requests_per_second = 200;
  // Items (signals submitted + tokens queried) per second. Default: 200,000.
  double items_per_second = 200'000;
  // Bucket size in seconds of traffic at the full rate: how far a member may
  // burst above the rate after being idle. Default: 2.
  double burst_seconds = 2;
};

struct LogConfig {
  // trace, debug, info, warn, error, critical, off. Default: "info".
  std::string level = "info";
  // Log file; "" logs to stderr. Default: "".
  std::string file;
  // Access-log lines of 4xx answers written per caller (member, or
  // certificate of a non-member) per client_error_window_seconds; the rest
  // are summed up in one line per window. 0 logs every one. Default: 20.
  std::int64_t client_error_lines_per_member = 20;
  // Default: 10.
  std::int64_t client_error_window_seconds = 10;
};

// Token scheme voprf-v1 (docs/token-scheme.md).
struct OprfConfig {
  // Evaluate POST /v1/oprf/evaluate, announce the key in /v1/me and accept
  // voprf-v1 tokens. Default: false.
  bool enabled = false;
  // Directory of the epoch-N.key files; created with epoch 1 if empty.
  // Default: "" = <store.data_dir>/oprf.
  std::string key_dir;
  // Blinded elements each member may have evaluated per UTC day.
  // Default: 1,000,000.
  std::uint64_t elements_per_member_per_day = 1'000'000;
  // Keep accepting hmac-v1 tokens; false makes the hub voprf-v1 only.
  // Default: true.
  bool accept_hmac_v1 = true;
  // Threads evaluating batches. Default: 2.
  unsigned threads = 2;
};

struct HubConfig {
  OprfConfig oprf;
  TransportConfig transport;
  StoreConfig store;
  AuditConfig audit;
  KeysConfig keys;
  RateLimitConfig rate_limits;
  LogConfig log;
};

// Parses a cairnd.toml. Unknown sections and keys are errors that name the
// key (a typo must not silently fall back to a default), and so are values of
// the wrong type or out of range. Relative file paths (tls files,
// store.data_dir, keys.dir, log.file, listen.port_file, oprf.key_dir),
// written in the file or left at their default (store.data_dir "data"),
// are resolved against the absolute directory holding the file, so they
// do not depend on the working directory. Missing keys keep their
// defaults. Does not
// require the TLS files to be set, so that command-line flags can still
// supply them: call ValidateHubConfig after applying overrides.
Result<HubConfig> LoadHubConfig(const std::string& path);

// As LoadHubConfig, from text; relative paths, defaults included, resolve
// against `base_dir` (empty: left as they are). `source_name` names the input
// in messages.
Result<HubConfig> ParseHubConfig(std::string_view toml_text,
                                 std::string_view source_name,
                                 const std::string& base_dir = {});

// Checks what must hold before the hub starts: required TLS files set,
// addresses parseable, metrics listener on loopback, limits positive,
// default retention <= maximum retention, known log level.
Status ValidateHubConfig(const HubConfig& config);
Status ValidateTransportConfig(const TransportConfig& config);

}  // namespace cairn::server

#endif  // CAIRN_SERVER_TRANSPORT_SERVER_CONFIG_H_
