#include "support/pki.h"

#include <sstream>

#include <fmt/format.h>

namespace cairn::testing {

std::string DevPkiScript() {
  return std::string(CAIRN_SOURCE_DIR) + "/certs/make-dev-pki.sh";
}

Result<std::unique_ptr<TempPki>> TempPki::Create() {
  std::unique_ptr<TempPki> pki(new TempPki());
  if (pki->dir().empty()) {
    return MakeError(ErrorCode::kIo, "cannot create a temporary directory");
  }
  const CommandResult run = RunCommand({"bash", DevPkiScript(), pki->dir()},
                                       std::chrono::seconds(60));
  if (run.exit_code != 0) {
    return MakeError(ErrorCode::kIo,
                     fmt::format("make-dev-pki.sh failed (exit {}): {}",
                                 run.exit_code, run.err));
  }
  std::istringstream lines(ReadFileOrEmpty(pki->dir_.File("fingerprints.txt")));
  std::string name, fingerprint;
  while (lines >> name >> fingerprint) pki->fingerprints_[name] = fingerprint;
  if (pki->fingerprints_.empty()) {
    return MakeError(ErrorCode::kIo,
                     "make-dev-pki.sh wrote no fingerprints.txt");
  }
  return pki;
}

std::string TempPki::Fingerprint(const std::string& name) const {
  auto it = fingerprints_.find(name);
  return it == fingerprints_.end() ? std::string() : it->second;
}

}  // namespace cairn::testing
