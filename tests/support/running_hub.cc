#include "support/running_hub.h"

#include <signal.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <fmt/format.h>

namespace cairn::testing {

namespace {

constexpr auto kCommandTimeout = std::chrono::seconds(30);

bool ContainsContentType(const std::vector<std::string>& args) {
  for (const auto& arg : args) {
    std::string lower = arg;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    if (lower.rfind("content-type:", 0) == 0) return true;
  }
  return false;
}

std::string Trim(std::string s) {
  const auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

// TOML basic strings: our temporary paths hold no quotes or backslashes,
// but escape them anyway so a strange $TMPDIR fails loudly in cairnd, not
// silently here.
std::string TomlString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string CurlReply::Header(const std::string& name) const {
  std::istringstream lines(headers);
  std::string line;
  std::string wanted = name;
  std::transform(wanted.begin(), wanted.end(), wanted.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  while (std::getline(lines, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    std::transform(key.begin(), key.end(), key.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    if (key == wanted) return Trim(line.substr(colon + 1));
  }
  return {};
}

std::string RunningHub::CairndPath() {
  return std::string(CAIRN_BINARY_DIR) + "/server/cairnd";
}

std::string RunningHub::CairnctlPath() {
  return std::string(CAIRN_BINARY_DIR) + "/server/cairnctl";
}

std::string RunningHub::CairnPath() {
  return std::string(CAIRN_BINARY_DIR) + "/client/cairn";
}

std::string RunningHub::Url() const {
  return fmt::format("https://127.0.0.1:{}", port_);
}

Result<std::unique_ptr<RunningHub>> RunningHub::Start(
    const RunningHubOptions& options) {
  std::unique_ptr<RunningHub> hub(new RunningHub());
  hub->options_ = options;
  if (hub->root_.path().empty()) {
    return MakeError(ErrorCode::kIo, "cannot create a temporary directory");
  }
  for (const auto& binary : {CairndPath(), CairnctlPath()}) {
    if (!std::filesystem::exists(binary)) {
      return MakeError(ErrorCode::kNotFound,
                       binary +
                           " does not exist; build the cairnd and "
                           "cairnctl targets first");
    }
  }
  auto pki = TempPki::Create();
  if (!pki) return tl::unexpected(pki.error());
  hub->pki_ = std::move(*pki);

  const CommandResult init =
      RunCommand({CairnctlPath(), "init", "--data", hub->DataDir(),
                  "--operator-cert", hub->pki_->Cert("operator")},
                 kCommandTimeout);
  if (init.exit_code != 0) {
    return MakeError(ErrorCode::kIo,
                     fmt::format("cairnctl init failed (exit {}): {}",
                                 init.exit_code, init.err));
  }

  std::string toml = fmt::format(
      "[listen]\naddresses = [\"127.0.0.1:0\"]\nport_file = {}\n\n"
      "[tls]\ncert = {}\nkey = {}\nca = {}\n\n"
      "[store]\ndata_dir = {}\n{}\n",
      TomlString(hub->root_.File("ports")), TomlString(hub->pki_->ServerCert()),
      TomlString(hub->pki_->ServerKey()), TomlString(hub->pki_->CaCert()),
      TomlString(hub->DataDir()), options.store_toml);
  toml += options.extra_toml;
  if (!WriteFile(hub->ConfigPath(), toml)) {
    return MakeError(ErrorCode::kIo, "cannot write " + hub->ConfigPath());
  }
  if (auto launched = hub->Launch(); !launched) {
    return tl::unexpected(launched.error());
  }
  if (options.register_members) {
    if (auto registered = hub->RegisterMembers(); !registered) {
      return tl::unexpected(registered.error());
    }
  }
  return hub;
}

RunningHub::~RunningHub() {
  if (Running()) {
    process_->Kill(SIGKILL);
    process_->Wait(std::chrono::seconds(10));
  }
}

Status RunningHub::Launch() {
  const std::string port_file = root_.File("ports");
  std::error_code ec;
  std::filesystem::remove(port_file, ec);  // never read a stale port
  std::vector<std::string> argv = {CairndPath(),      "--config", ConfigPath(),
                                   "--log-file",      LogPath(),  "--log-level",
                                   options_.log_level};
  argv.insert(argv.end(), options_.extra_args.begin(),
              options_.extra_args.end());
  ChildProcess::Options child_options;
  child_options.stderr_path = StderrPath();
  child_options.stdout_path = root_.File("cairnd.stdout");
  auto child = ChildProcess::Start(argv, child_options);
  if (!child) return tl::unexpected(child.error());
  process_.reset();
  process_.emplace(std::move(*child));

  // Poll in short steps so a cairnd that dies at start-up is reported at
  // once with its stderr rather than after the whole timeout.
  const auto deadline =
      std::chrono::steady_clock::now() + options_.start_timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto port = WaitForListenPort(port_file, std::chrono::milliseconds(100));
    if (port) {
      port_ = *port;
      return {};
    }
    if (auto code = process_->Wait(std::chrono::milliseconds(0))) {
      return MakeError(ErrorCode::kUnavailable,
                       fmt::format("cairnd exited with {} at start-up: {} {}",
                                   *code, ReadFileOrEmpty(StderrPath()),
                                   ReadFileOrEmpty(LogPath())));
    }
  }
  return MakeError(ErrorCode::kUnavailable,
                   "cairnd wrote no port file within the start timeout: " +
                       ReadFileOrEmpty(StderrPath()));
}

Status RunningHub::RegisterMembers() {
  struct Registration {
    const char* id;
    const char* name;
    const char* role;
  };
  static constexpr Registration kMembers[] = {
      {"alpha", "Alpha Social", "member"},
      {"beta", "Beta Games", "member"},
      {"compliance", "Hub Compliance", "compliance"},
  };
  for (const auto& m : kMembers) {
    const CommandResult added =
        Ctl({"member", "add", m.id, "--name", m.name, "--role", m.role,
             "--member-cert", pki_->Cert(m.id)});
    if (added.exit_code != 0) {
      return MakeError(
          ErrorCode::kInternal,
          fmt::format("cairnctl member add {} failed (exit {}): {}", m.id,
                      added.exit_code, added.err));
    }
  }
  return {};
}

CommandResult RunningHub::Ctl(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = args;
  const std::vector<std::string> flags = ConnectionFlags("operator");
  argv.insert(argv.end(), flags.begin(), flags.end());
  return RunCairnctl(argv, kCommandTimeout);
}

CommandResult RunningHub::SClient(const std::string& member,
                                  const std::vector<std::string>& extra,
                                  const std::string& input) const {
  return RunSClient(*pki_, port_, member, extra, input);
}

CommandResult RunSClient(const TempPki& pki, std::uint16_t port,
                         const std::string& member,
                         const std::vector<std::string>& extra,
                         const std::string& input) {
  std::vector<std::string> argv = {
      "openssl",     "s_client",
      "-connect",    "127.0.0.1:" + std::to_string(port),
      "-CAfile",     pki.CaCert(),
      "-servername", "localhost",
      "-ign_eof"};
  if (!member.empty()) {
    argv.insert(argv.end(),
                {"-cert", pki.Cert(member), "-key", pki.Key(member)});
  }
  argv.insert(argv.end(), extra.begin(), extra.end());
  return RunCommand(argv, std::chrono::seconds(30), input);
}

std::vector<std::string> RunningHub::ConnectionFlags(
    const std::string& member) const {
  return {"--hub",    Url(),               //
          "--cert",   pki_->Cert(member),  //
          "--key",    pki_->Key(member),   //
          "--cacert", pki_->CaCert()};
}

CommandResult RunningHub::Cairn(const std::string& member,
                                const std::vector<std::string>& args,
                                const std::string& input) const {
  std::vector<std::string> argv = args;
  const std::vector<std::string> flags = ConnectionFlags(member);
  argv.insert(argv.end(), flags.begin(), flags.end());
  return RunCairn(argv, input);
}

CommandResult RunCairnctl(const std::vector<std::string>& args,
                          std::chrono::milliseconds timeout) {
  std::vector<std::string> argv = {RunningHub::CairnctlPath()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, timeout);
}

CommandResult RunCairn(const std::vector<std::string>& args,
                       const std::string& input,
                       std::chrono::milliseconds timeout) {
  std::vector<std::string> argv = {"env"};
  // Every variable client/src/cli/settings.cc reads.
  for (const char* name :
       {"CAIRN_HUB", "CAIRN_CERT", "CAIRN_KEY", "CAIRN_CACERT",
        "CAIRN_CONSORTIUM_KEY", "CAIRN_REGION", "CAIRN_HUB_PIN"}) {
    argv.insert(argv.end(), {"-u", name});
  }
  argv.push_back("CAIRN_CONFIG=");
  argv.push_back(RunningHub::CairnPath());
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, timeout, input);
}

CurlReply RunningHub::Curl(const std::string& member, const std::string& method,
                           const std::string& path, const std::string& body,
                           const std::vector<std::string>& extra_args) const {
  // Each call gets its own files so concurrent calls do not collide.
  TempDir scratch("cairn-curl");
  std::vector<std::string> argv = {"curl",       "-sS",
                                   "--max-time", "20",
                                   "--cacert",   pki_->CaCert(),
                                   "-o",         scratch.File("body"),
                                   "-D",         scratch.File("headers"),
                                   "-w",         "%{http_code}",
                                   "-X",         method};
  if (!member.empty()) {
    argv.insert(argv.end(),
                {"--cert", pki_->Cert(member), "--key", pki_->Key(member)});
  }
  if (!body.empty()) {
    WriteFile(scratch.File("request"), body);
    argv.insert(argv.end(), {"--data-binary", "@" + scratch.File("request")});
    if (!ContainsContentType(extra_args)) {
      argv.insert(argv.end(), {"-H", "Content-Type: application/json"});
    }
  }
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  argv.push_back(Url() + path);
  const CommandResult run = RunCommand(argv, kCommandTimeout);
  CurlReply reply;
  reply.exit_code = run.exit_code;
  reply.error = run.err;
  reply.body = ReadFileOrEmpty(scratch.File("body"));
  reply.headers = ReadFileOrEmpty(scratch.File("headers"));
  try {
    reply.status = run.out.empty() ? 0 : std::stoi(run.out);
  } catch (const std::exception&) {
    reply.status = 0;
  }
  return reply;
}

std::optional<double> RunningHub::Metric(const std::string& series) const {
  const CurlReply reply = Curl("operator", "GET", "/metrics");
  if (reply.status != 200) return std::nullopt;
  const std::string needle = "\n" + series + " ";
  const std::size_t at = ("\n" + reply.body).find(needle);
  if (at == std::string::npos) return std::nullopt;
  try {
    return std::stod(reply.body.substr(at + needle.size() - 1));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

Result<int> RunningHub::Stop() {
  if (!process_) return MakeError(ErrorCode::kInternal, "cairnd never started");
  process_->Kill(SIGTERM);
  auto code = process_->Wait(std::chrono::seconds(20));
  if (!code) {
    return MakeError(ErrorCode::kUnavailable,
                     "cairnd did not stop within 20 s of SIGTERM");
  }
  return *code;
}

Status RunningHub::Kill() {
  if (!process_) return MakeError(ErrorCode::kInternal, "cairnd never started");
  process_->Kill(SIGKILL);
  if (!process_->Wait(std::chrono::seconds(10))) {
    return MakeError(ErrorCode::kUnavailable,
                     "cairnd did not die within 10 s of SIGKILL");
  }
  return {};
}

Status RunningHub::Restart() {
  if (Running()) {
    auto stopped = Stop();
    if (!stopped) return tl::unexpected(stopped.error());
  }
  return Launch();
}

Status RunningHub::RestartWith(const std::vector<std::string>& extra_args) {
  const std::vector<std::string> saved = options_.extra_args;
  options_.extra_args.insert(options_.extra_args.end(), extra_args.begin(),
                             extra_args.end());
  Status started = Restart();
  options_.extra_args = saved;
  return started;
}

std::string RandomTokenHex() {
  static thread_local std::mt19937_64 generator{std::random_device{}()};
  std::string out;
  for (int i = 0; i < 4; ++i) out += fmt::format("{:016x}", generator());
  return out;
}

bool WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  return static_cast<bool>(out);
}

}  // namespace cairn::testing
