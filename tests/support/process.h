// Test helpers for real processes: temporary directories, child processes
// with bounded waits, free loopback ports and cairnd's port file.
#ifndef CAIRN_TESTS_SUPPORT_PROCESS_H_
#define CAIRN_TESTS_SUPPORT_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cairn/result.h"

namespace cairn::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on
// destruction unless CAIRN_KEEP_TEST_DIRS is set in the environment.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "cairn-test");
  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&&) = delete;
  TempDir(const TempDir&) = delete;
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A child process started with fork/exec; stdout and stderr go to files.
// The destructor SIGKILLs and reaps a child that is still running, so a
// failing test never leaves a process behind.
class ChildProcess {
 public:
  struct Options {
    std::string stdin_path = "/dev/null";
    std::string stdout_path = "/dev/null";
    std::string stderr_path = "/dev/null";
    // Extra "NAME=value" entries added to the inherited environment.
    std::vector<std::string> environment;
  };

  // argv[0] is looked up in PATH if it has no '/'.
  static Result<ChildProcess> Start(const std::vector<std::string>& argv,
                                    const Options& options);

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&&) = delete;
  ChildProcess(const ChildProcess&) = delete;
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0 && !status_; }

  // Sends `signal`; false if the child already exited.
  bool Kill(int signal);

  // Waits up to `timeout` for the child to exit. Returns its exit code, or
  // 128 + signal number if a signal ended it; nullopt on timeout.
  std::optional<int> Wait(std::chrono::milliseconds timeout);

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
  std::optional<int> status_;
};

struct CommandResult {
  int exit_code = -1;  // 128 + signal if killed; -1 if it timed out
  bool timed_out = false;
  std::string out;
  std::string err;
};

// Runs `argv` to completion (SIGKILL after `timeout`), feeding it `input` on
// stdin and capturing stdout and stderr.
CommandResult RunCommand(const std::vector<std::string>& argv,
                         std::chrono::milliseconds timeout,
                         const std::string& input = {});

// A TCP port on 127.0.0.1 that was free a moment ago. Prefer port 0 and the
// port file where the server supports it: this one can race.
std::uint16_t FreePort();

// One listener from a port file written by cairnd (listen.port_file):
// lines "listen 127.0.0.1 40123" and "metrics 127.0.0.1 9464".
struct PortFileEntry {
  std::string kind;  // "listen" or "metrics"
  std::string address;
  std::uint16_t port = 0;
};

// Polls for `path` until it exists and parses, or `timeout` passes.
Result<std::vector<PortFileEntry>> WaitForPortFile(
    const std::string& path, std::chrono::milliseconds timeout);

// The first "listen" port in the port file.
Result<std::uint16_t> WaitForListenPort(const std::string& path,
                                        std::chrono::milliseconds timeout);

std::string ReadFileOrEmpty(const std::string& path);

}  // namespace cairn::testing

#endif  // CAIRN_TESTS_SUPPORT_PROCESS_H_
