#include "support/process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

extern char** environ;

namespace cairn::testing {
namespace {

int DecodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

TempDir::TempDir(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string pattern =
      fmt::format("{}/{}.XXXXXX", base && *base ? base : "/tmp", prefix);
  if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
}

TempDir::TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)) {
  other.path_.clear();
}

TempDir::~TempDir() {
  if (path_.empty() || std::getenv("CAIRN_KEEP_TEST_DIRS") != nullptr) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

Result<ChildProcess> ChildProcess::Start(const std::vector<std::string>& argv,
                                         const Options& options) {
  if (argv.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "empty command line");
  }
  std::vector<char*> args;
  for (const std::string& arg : argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  for (const std::string& extra : options.environment)
    env_strings.push_back(extra);
  std::vector<char*> env;
  for (std::string& e : env_strings) env.push_back(e.data());
  env.push_back(nullptr);

  const pid_t pid = fork();
  if (pid < 0) {
    return MakeError(ErrorCode::kIo,
                     fmt::format("fork failed: {}", std::strerror(errno)));
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls from here to exec.
    const int in = open(options.stdin_path.c_str(), O_RDONLY);
    const int out =
        open(options.stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err =
        open(options.stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0) _exit(126);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    // Own process group, so a terminal's Ctrl-C reaches the test only.
    setpgid(0, 0);
    execvpe(args[0], args.data(), env.data());
    _exit(127);
  }
  return ChildProcess(pid);
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(other.pid_), status_(other.status_) {
  other.pid_ = -1;
}

ChildProcess::~ChildProcess() {
  if (running()) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
}

bool ChildProcess::Kill(int signal) {
  if (!running()) return false;
  return kill(pid_, signal) == 0;
}

std::optional<int> ChildProcess::Wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return std::nullopt;
  if (status_) return status_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::milliseconds(1);
  for (;;) {
    int status = 0;
    const pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      status_ = DecodeStatus(status);
      return status_;
    }
    if (done < 0 && errno != EINTR) return std::nullopt;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

CommandResult RunCommand(const std::vector<std::string>& argv,
                         std::chrono::milliseconds timeout,
                         const std::string& input) {
  TempDir dir("cairn-cmd");
  ChildProcess::Options options;
  options.stdin_path = dir.File("stdin");
  options.stdout_path = dir.File("stdout");
  options.stderr_path = dir.File("stderr");
  std::ofstream(options.stdin_path, std::ios::binary) << input;
  CommandResult result;
  auto child = ChildProcess::Start(argv, options);
  if (!child) {
    result.err = child.error().message;
    return result;
  }
  if (auto code = child->Wait(timeout)) {
    result.exit_code = *code;
  } else {
    result.timed_out = true;
    child->Kill(SIGKILL);
    child->Wait(std::chrono::seconds(5));
  }
  result.out = ReadFileOrEmpty(options.stdout_path);
  result.err = ReadFileOrEmpty(options.stderr_path);
  return result;
}

std::uint16_t FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  std::uint16_t port = 0;
  socklen_t length = sizeof(address);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    port = ntohs(address.sin_port);
  }
  close(fd);
  return port;
}

Result<std::vector<PortFileEntry>> WaitForPortFile(
    const std::string& path, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::vector<PortFileEntry> entries;
    std::istringstream lines(ReadFileOrEmpty(path));
    std::string line;
    bool valid = true;
    while (std::getline(lines, line)) {
      std::istringstream fields(line);
      PortFileEntry entry;
      unsigned port = 0;
      if (!(fields >> entry.kind >> entry.address >> port) || port == 0 ||
          port > 65535) {
        valid = false;
        break;
      }
      entry.port = static_cast<std::uint16_t>(port);
      entries.push_back(std::move(entry));
    }
    if (valid && !entries.empty()) return entries;
    if (std::chrono::steady_clock::now() >= deadline) {
      return MakeError(ErrorCode::kUnavailable,
                       fmt::format("port file '{}' did not appear within {} "
                                   "ms; check the server's stderr",
                                   path, timeout.count()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

Result<std::uint16_t> WaitForListenPort(const std::string& path,
                                        std::chrono::milliseconds timeout) {
  auto entries = WaitForPortFile(path, timeout);
  if (!entries) return tl::unexpected(entries.error());
  for (const PortFileEntry& entry : *entries) {
    if (entry.kind == "listen") return entry.port;
  }
  return MakeError(ErrorCode::kUnavailable,
                   fmt::format("port file '{}' has no listen line", path));
}

}  // namespace cairn::testing
