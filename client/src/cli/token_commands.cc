#include "src/cli/token_commands.h"

#include <cstdio>

#include "cairn/client.h"
#include "cairn/encoding.h"
#include "cairn/json_object.h"
#include "cairn/normalise.h"
#include "cairn/token.h"
#include "src/cli/command_support.h"
#include "src/cli/voprf_trace.h"

namespace cairn::cli {
namespace {

// `cairn token --scheme voprf-v1`: every step of the derivation, with one
// evaluation request to the hub for all values.
int RunVoprfToken(const TokenCommand& command, const Settings& settings,
                  const ConsortiumKey& key, const NormaliseOptions& options) {
  if (settings.hub.empty() || settings.cert.empty() || settings.key.empty() ||
      settings.cacert.empty()) {
    return Fail(
        "--scheme voprf-v1 asks the hub to evaluate the tokens: give --hub, "
        "--cert, --client-key and --cacert (or CAIRN_HUB, CAIRN_CERT, "
        "CAIRN_KEY, CAIRN_CACERT or the config file)",
        kExitUsage);
  }
  std::vector<std::string> normalised(command.values.size());
  std::vector<std::size_t> valid;
  std::vector<Token> inputs;
  int exit_code = 0;
  for (std::size_t i = 0; i < command.values.size(); ++i) {
    auto n = Normalise(command.kind, command.values[i], options);
    if (!n) {
      exit_code = kExitRefused;
      std::fprintf(stderr, "cairn: value %zu: %s\n", i + 1,
                   n.error().message.c_str());
      continue;
    }
    normalised[i] = std::move(*n);
    valid.push_back(i);
    inputs.push_back(DeriveHmacV1Token(key, command.kind, normalised[i]));
  }
  if (inputs.empty()) return exit_code;
  if (inputs.size() > wire::kMaxOprfElements) {
    return Fail("at most 10000 values per `cairn token --scheme voprf-v1`",
                kExitUsage);
  }
  // The SDK's errors would name ClientOptions fields, not the flags.
  if (auto files = CheckTlsFiles(settings, "--client-key"); !files) {
    return Fail(files.error(), LocalFileExit(files.error()));
  }
  const ClientOptions connection_options = HubConnectionOptions(settings);
  auto connection = MakeHubConnection(connection_options);
  if (!connection) {
    return Fail(connection.error(), LocalFileExit(connection.error()));
  }
  auto trace = TraceVoprf(**connection, connection_options, inputs);
  if (!trace) return FailCall(trace.error(), kRepeatReadOnly);
  const std::string proof =
      trace->proof_ok ? "ok" : "FAILED: " + trace->proof_error;
  for (std::size_t k = 0; k < valid.size(); ++k) {
    const auto& step = trace->steps[k];
    const std::string token = trace->proof_ok ? HexEncode(step.token) : "";
    if (command.json) {
      std::printf(
          "%s\n",
          JsonObjectWriter()
              .Add("index", static_cast<std::uint64_t>(valid[k]))
              .Add("kind", command.kind)
              .Add("normalised", normalised[valid[k]])
              .Add("x", HexEncode(step.x))
              .Add("blinded_element", Base64Encode(step.blinded_element))
              .Add("evaluated_element", Base64Encode(step.evaluated_element))
              .Add("epoch", static_cast<std::uint64_t>(trace->epoch))
              .Add("public_key", Base64Encode(trace->public_key))
              .Add("proof", proof)
              .Add("token", token)
              .Add("scheme", "voprf-v1")
              .Finish()
              .c_str());
    } else {
      std::printf(
          "%s\t%s\n  x (hmac-v1)        %s\n  blinded element    %s\n"
          "  evaluated element  %s\n  proof              %s (epoch %u, "
          "public key %s)\n  token (voprf-v1)   %s\n",
          command.kind.c_str(), normalised[valid[k]].c_str(),
          HexEncode(step.x).c_str(), Base64Encode(step.blinded_element).c_str(),
          Base64Encode(step.evaluated_element).c_str(), proof.c_str(),
          trace->epoch, Base64Encode(trace->public_key).c_str(), token.c_str());
    }
  }
  if (auto written = FlushOutput(); !written) {
    return FailOutput(written.error());
  }
  if (!trace->proof_ok) {
    return Fail("the hub's OPRF proof did not verify against public key " +
                    Base64Encode(trace->public_key) +
                    ": do not trust these tokens; contact the hub operator",
                kExitRefused);
  }
  return exit_code;
}

}  // namespace

int RunToken(const TokenCommand& command, const Settings& settings) {
  if (settings.consortium_key.empty()) {
    return Fail(
        "no consortium key: pass --key FILE, set CAIRN_CONSORTIUM_KEY or "
        "consortium_key in the config file (create a key with `cairn keygen "
        "FILE`; every member of a hub must use the same key)",
        kExitUsage);
  }
  auto key = LoadConsortiumKey(settings.consortium_key);
  if (!key) return Fail(key.error(), LocalFileExit(key.error()));
  const NormaliseOptions options = NormaliseOptionsFor(settings, command.kind);
  if (command.scheme == "voprf-v1") {
    return RunVoprfToken(command, settings, *key, options);
  }
  int exit_code = 0;
  for (std::size_t i = 0; i < command.values.size(); ++i) {
    auto normalised = Normalise(command.kind, command.values[i], options);
    if (!normalised) {
      exit_code = kExitRefused;
      // Normalise's messages never repeat the identifier; neither do we.
      std::fprintf(stderr, "cairn: value %zu: %s\n", i + 1,
                   normalised.error().message.c_str());
      if (command.json) {
        std::printf("%s\n", JsonObjectWriter()
                                .Add("index", static_cast<std::uint64_t>(i))
                                .Add("kind", command.kind)
                                .Add("error", normalised.error().message)
                                .Finish()
                                .c_str());
      }
      continue;
    }
    const Token token = DeriveHmacV1Token(*key, command.kind, *normalised);
    const std::string hex = HexEncode(token);
    if (command.json) {
      std::printf("%s\n", JsonObjectWriter()
                              .Add("index", static_cast<std::uint64_t>(i))
                              .Add("kind", command.kind)
                              .Add("normalised", *normalised)
                              .Add("token", hex)
                              .Add("scheme", "hmac-v1")
                              .Finish()
                              .c_str());
    } else {
      std::printf("%s\t%s\t%s\n", command.kind.c_str(), normalised->c_str(),
                  hex.c_str());
    }
  }
  if (auto written = FlushOutput(); !written) {
    return FailOutput(written.error());
  }
  return exit_code;
}

int RunKeygen(const std::string& path) {
  // Refusing to overwrite an existing file is also "a local file could not
  // be written": nothing was asked of the hub.
  if (auto status = WriteNewConsortiumKey(path); !status) {
    return Fail(status.error(), kExitLocalFile);
  }
  auto key = LoadConsortiumKey(path);
  if (!key) return Fail(key.error(), kExitLocalFile);
  std::printf(
      "wrote %s (mode 0600), key fingerprint %s\n"
      "Share this key with the other members out of band, never with the hub "
      "operator;\nmembers compare fingerprints to check they hold the same "
      "key.\n",
      path.c_str(), key->Fingerprint().c_str());
  if (auto written = FlushOutput(); !written) {
    return FailOutput(written.error(),
                      "; the key file " + path + " was written all the same");
  }
  return 0;
}

}  // namespace cairn::cli
