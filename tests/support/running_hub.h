// A real cairnd, built by this project, running on an ephemeral loopback
// port with a fresh development PKI and data directory. Integration tests
// (and SDK tests) drive it with curl, openssl s_client, cairnctl or any
// HTTPS client that presents one of the PKI's client certificates.
//
// Typical use:
//   auto hub = RunningHub::Start();
//   REQUIRE(hub);
//   auto reply = (*hub)->Curl("alpha", "GET", "/v1/me");
//   CHECK(reply.status == 200);
#ifndef CAIRN_TESTS_SUPPORT_RUNNING_HUB_H_
#define CAIRN_TESTS_SUPPORT_RUNNING_HUB_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cairn/result.h"
#include "support/catch_result.h"
#include "support/pki.h"
#include "support/process.h"

namespace cairn::testing {

struct RunningHubOptions {
  // TOML text appended to the generated cairnd.toml, e.g.
  // "[limits]\nheader_bytes = 4096\n". The generated file sets only
  // [listen] addresses/port_file, [tls] cert/key/ca and [store] data_dir, so
  // any other section may be given here. Default: none.
  std::string extra_toml;
  // Keys added to the generated [store] table (which extra_toml cannot
  // repeat), e.g. "match_reuse_seconds = 60\n". Default: none.
  std::string store_toml;
  // Extra cairnd flags, e.g. {"--expiry-interval", "1"}. Default: none.
  std::vector<std::string> extra_args;
  // Registers alpha and beta (role member) and compliance (role
  // compliance) after start-up; the operator always exists (cairnctl init).
  // Default: true.
  bool register_members = true;
  // cairnd's log.level. Default: "info".
  std::string log_level = "info";
  // How long to wait for cairnd to write its port file. Default: 20 s.
  std::chrono::milliseconds start_timeout{20000};
};

// One reply from the curl CLI.
struct CurlReply {
  int status = 0;       // HTTP status; 0 if there was no HTTP reply
  std::string body;     // response body
  std::string headers;  // raw response header block(s)
  int exit_code = -1;   // curl's exit code (0 on any HTTP reply)
  std::string error;    // curl's stderr

  // Value of the first response header `name` (case-insensitive), without
  // surrounding whitespace; empty if absent.
  std::string Header(const std::string& name) const;
};

// A request the hub answers and then closes the connection after.
inline constexpr char kGetMeAndClose[] =
    "GET /v1/me HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

class RunningHub {
 public:
  // Makes a TempPki, runs `cairnctl init`, writes cairnd.toml, starts
  // cairnd, waits for its port and (by default) registers the members.
  static Result<std::unique_ptr<RunningHub>> Start(
      const RunningHubOptions& options = {});

  // SIGKILLs cairnd if it still runs; removes the temporary directories.
  ~RunningHub();
  RunningHub(const RunningHub&) = delete;
  RunningHub& operator=(const RunningHub&) = delete;

  // The listening port; changes after Restart().
  std::uint16_t Port() const { return port_; }
  // "https://127.0.0.1:PORT".
  std::string Url() const;
  const TempPki& Pki() const { return *pki_; }
  std::string DataDir() const { return root_.File("data"); }
  std::string LogPath() const { return root_.File("hub.log"); }
  std::string DbPath() const { return DataDir() + "/cairn.db"; }
  std::string ConfigPath() const { return root_.File("cairnd.toml"); }
  // cairnd's stderr (startup failures before logging is set up).
  std::string StderrPath() const { return root_.File("cairnd.stderr"); }
  // A scratch directory removed with the hub.
  const TempDir& Scratch() const { return root_; }
  bool Running() const { return process_ && process_->running(); }
  pid_t Pid() const { return process_ ? process_->pid() : -1; }

  // One request with the curl CLI as `member` (a PKI certificate name:
  // alpha, beta, compliance, operator, expired, ...; "" = no client
  // certificate). A non-empty body is sent with Content-Type
  // application/json unless extra_args set a Content-Type header.
  // extra_args go to curl before the URL.
  CurlReply Curl(const std::string& member, const std::string& method,
                 const std::string& path, const std::string& body = {},
                 const std::vector<std::string>& extra_args = {}) const;

  // The value of `series` (a metric name with its labels as the hub prints
  // them, e.g. `cairn_tls_handshake_failures_total{reason="timeout"}`)
  // from GET /metrics, fetched with curl as the operator; nullopt if the
  // request failed or the series is absent.
  std::optional<double> Metric(const std::string& series) const;

  // Runs cairnctl with `args` followed by --hub/--cert/--key/--cacert for
  // the operator.
  CommandResult Ctl(const std::vector<std::string>& args) const;

  // openssl s_client to the hub as `member` ("" = no client certificate),
  // trusting the PKI's CA, with `extra` options after the others; sends
  // `input` and, with -ign_eof, reads until the hub closes (30 s at most).
  CommandResult SClient(const std::string& member,
                        const std::vector<std::string>& extra = {},
                        const std::string& input = kGetMeAndClose) const;

  // --hub, --cert, --key and --cacert for `member` (a PKI certificate
  // name), as cairn and cairnctl both take them.
  std::vector<std::string> ConnectionFlags(const std::string& member) const;
  // Runs `cairn` (RunCairn) with `args` followed by ConnectionFlags(member).
  CommandResult Cairn(const std::string& member,
                      const std::vector<std::string>& args,
                      const std::string& input = {}) const;

  // SIGTERM, then waits (up to 20 s) for a clean exit. Returns cairnd's
  // exit code.
  Result<int> Stop();
  // SIGKILL, then reaps.
  Status Kill();
  // Starts cairnd again on the same data directory and configuration (after
  // Stop or Kill; stops a running one first) and waits for its new port.
  Status Restart();
  // Restart() with `extra_args` added to cairnd's command line for this
  // start only.
  Status RestartWith(const std::vector<std::string>& extra_args);

  // Paths of the binaries under test.
  static std::string CairndPath();
  static std::string CairnctlPath();
  static std::string CairnPath();  // the member CLI, client/cairn

 private:
  RunningHub() : root_("cairn-hub") {}
  Status Launch();
  Status RegisterMembers();

  RunningHubOptions options_;
  TempDir root_;
  std::unique_ptr<TempPki> pki_;
  std::optional<ChildProcess> process_;
  std::uint16_t port_ = 0;
};

// Runs cairnctl with `args` alone: offline commands, and calls that name
// their hub and credentials themselves (RunningHub::Ctl adds the
// operator's).
CommandResult RunCairnctl(
    const std::vector<std::string>& args,
    std::chrono::milliseconds timeout = std::chrono::seconds(60));

// Runs `cairn` with `args` and `input` on stdin, with only the command line
// to go by: none of its environment variables (CAIRN_HUB, CAIRN_CERT, ...)
// and no config file (CAIRN_CONFIG set empty), so that a developer's own
// settings can neither break nor rescue a test.
CommandResult RunCairn(
    const std::vector<std::string>& args, const std::string& input = {},
    std::chrono::milliseconds timeout = std::chrono::seconds(60));

// openssl s_client to 127.0.0.1:`port` (a RunningHub, or a test's own TLS
// server with `pki`'s server certificate) as `member` ("" = no client
// certificate), trusting `pki`'s CA, with `extra` options after the others;
// sends `input` and, with -ign_eof, reads until the server closes (30 s at
// most). RunningHub::SClient is this for its own PKI and port.
CommandResult RunSClient(const TempPki& pki, std::uint16_t port,
                         const std::string& member,
                         const std::vector<std::string>& extra = {},
                         const std::string& input = kGetMeAndClose);

// 64 lowercase hex characters from a non-deterministic generator: a token
// no other test run will use.
std::string RandomTokenHex();

// Writes `contents` to `path` (binary); false on failure.
bool WriteFile(const std::string& path, const std::string& contents);

}  // namespace cairn::testing

#endif  // CAIRN_TESTS_SUPPORT_RUNNING_HUB_H_
