// cairn: what platform safety engineers use to talk to a Cairn hub.
//
//   cairn keygen FILE                         new consortium key file (0600)
//   cairn token --kind KIND [--region R] [--key FILE] VALUE...
//   cairn me
//   cairn query  --kind KIND VALUE... | --file FILE
//   cairn submit --kind KIND --category C --severity S VALUE... | --file FILE
//   cairn retract --kind KIND --reason R VALUE... | --ref REF... | --file FILE
//   cairn dispose MATCH_ID --outcome O [--note TEXT]
//   cairn feed [--after CURSOR] [--follow]
//   cairn notifications [--after CURSOR]
//
// Commands that talk to the hub take --hub, --cert, --key, --cacert,
// --consortium-key, --region, --hub-pin and --json.
//
// Settings come from ~/.config/cairn/config.toml < environment < flags (see
// src/cli/settings.h and docs/integration-guide.md).
//
// Exit codes:
//   0  success
//   1  the hub or the input refused something (the message says what)
//   2  bad command line or configuration
//   3  the hub could not be reached
//   4  a local file could not be read or written
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cairn/client.h"
#include "cairn/encoding.h"
#include "cairn/json_object.h"
#include "cairn/normalise.h"
#include "cairn/receipt.h"
#include "cairn/timestamp.h"
#include "cairn/token.h"
#include "cairn/vocabulary.h"
#include "src/cli/input.h"
#include "src/cli/progress.h"
#include "src/cli/settings.h"
#include "src/cli/voprf_trace.h"

namespace {

using namespace cairn;

constexpr int kExitRefused = 1;
constexpr int kExitUsage = 2;
constexpr int kExitUnreachable = 3;
constexpr int kExitLocalFile = 4;

int Fail(const std::string& message, int code) {
  std::fprintf(stderr, "cairn: %s\n", message.c_str());
  return code;
}

int Fail(const Error& error, int code) { return Fail(error.ToString(), code); }

// Exit code for an error from loading a local file.
int LocalFileExit(const Error& error) {
  return error.code == ErrorCode::kIo ? kExitLocalFile : kExitUsage;
}

NormaliseOptions NormaliseOptionsFor(const cli::Settings& settings,
                                     std::string_view kind) {
  NormaliseOptions options;
  options.default_region = settings.region;
  options.extra_handle_services.insert(settings.handle_services.begin(),
                                       settings.handle_services.end());
  options.custom_kinds.insert(settings.custom_kinds.begin(),
                              settings.custom_kinds.end());
  // The CLI cannot know which custom kinds the hub registered; a well-formed
  // kind that is not built in is treated as custom so it can be tokenised.
  bool builtin = false;
  for (std::string_view b : kBuiltinKinds) builtin = builtin || b == kind;
  if (!builtin && IsWellFormedKind(kind)) options.custom_kinds.emplace(kind);
  return options;
}

struct TokenCommand {
  std::string kind;
  std::vector<std::string> values;
  bool json = false;
  std::string scheme = "hmac-v1";
};

// --scheme of the remote commands (query, submit, retract): the token
// scheme BuildClient configures.
std::string g_token_scheme = "hmac-v1";

int CallExit(const Error& error);  // below, with the remote commands

// `cairn token --scheme voprf-v1`: every step of the derivation, with one
// evaluation request to the hub for all values.
int RunVoprfToken(const TokenCommand& command, const cli::Settings& settings,
                  const ConsortiumKey& key, const NormaliseOptions& options) {
  ClientOptions client_options;
  client_options.hub_url = settings.hub;
  client_options.cert_file = settings.cert;
  client_options.key_file = settings.key;
  client_options.ca_file = settings.cacert;
  client_options.hub_pin = settings.hub_pin;
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
  auto connection = MakeHubConnection(client_options);
  if (!connection) {
    return Fail(connection.error(), LocalFileExit(connection.error()));
  }
  auto trace = cli::TraceVoprf(**connection, inputs);
  if (!trace) return Fail(trace.error(), CallExit(trace.error()));
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
  std::fflush(stdout);
  if (!trace->proof_ok) {
    return Fail("the hub's OPRF proof did not verify against public key " +
                    Base64Encode(trace->public_key) +
                    ": do not trust these tokens; contact the hub operator",
                kExitRefused);
  }
  return exit_code;
}

int RunToken(const TokenCommand& command, const cli::Settings& settings) {
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
  std::fflush(stdout);
  return exit_code;
}

int RunKeygen(const std::string& path) {
  if (auto status = WriteNewConsortiumKey(path); !status) {
    return Fail(status.error(), status.error().code == ErrorCode::kConflict
                                    ? kExitRefused
                                    : kExitLocalFile);
  }
  auto key = LoadConsortiumKey(path);
  if (!key) return Fail(key.error(), kExitLocalFile);
  std::printf(
      "wrote %s (mode 0600), key fingerprint %s\n"
      "Share this key with the other members out of band, never with the hub "
      "operator;\nmembers compare fingerprints to check they hold the same "
      "key.\n",
      path.c_str(), key->Fingerprint().c_str());
  return 0;
}

// ---- commands that talk to the hub -----------------------------------------

// Exit code for a failed hub call.
int CallExit(const Error& error) {
  return error.code == ErrorCode::kUnavailable || error.code == ErrorCode::kIo
             ? kExitUnreachable
             : kExitRefused;
}

std::string Join(const std::vector<std::string>& parts,
                 std::string_view sep = ",") {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

template <typename Enum>
std::vector<std::string> Names(const std::vector<Enum>& values) {
  std::vector<std::string> out;
  out.reserve(values.size());
  for (const auto v : values) out.emplace_back(ToString(v));
  return out;
}

Result<Client> BuildClient(const cli::Settings& s) {
  const std::pair<const std::string*, const char*> required[] = {
      {&s.hub,
       "no hub URL: pass --hub https://HOST:PORT, set CAIRN_HUB or "
       "hub in the config file"},
      {&s.cert,
       "no client certificate: pass --cert FILE, set CAIRN_CERT or "
       "cert in the config file"},
      {&s.key,
       "no client key: pass --key FILE, set CAIRN_KEY or key in the "
       "config file"},
      {&s.cacert,
       "no CA bundle for the hub: pass --cacert FILE, set "
       "CAIRN_CACERT or cacert in the config file"},
      {&s.consortium_key,
       "no consortium key: pass --consortium-key FILE, set "
       "CAIRN_CONSORTIUM_KEY or consortium_key in the config file (create "
       "one with `cairn keygen FILE`)"},
  };
  for (const auto& [value, message] : required) {
    if (value->empty()) return MakeError(ErrorCode::kInvalidArgument, message);
  }
  ClientOptions options;
  options.hub_url = s.hub;
  options.cert_file = s.cert;
  options.key_file = s.key;
  options.ca_file = s.cacert;
  options.hub_pin = s.hub_pin;
  options.consortium_key_file = s.consortium_key;
  options.default_region = s.region;
  options.extra_handle_services = s.handle_services;
  options.custom_kinds = s.custom_kinds;
  if (g_token_scheme == "voprf-v1") {
    options.token_scheme = TokenScheme::kVoprfV1;
  }
  return MakeClient(std::move(options));
}

Identifier MakeIdentifier(const std::string& kind, const std::string& value,
                          const std::string& region) {
  if (kind == "email") return Identifier::Email(value);
  if (kind == "phone") return Identifier::Phone(value, region);
  if (kind == "device") return Identifier::Device(value);
  if (kind == "url") return Identifier::Url(value);
  // "handle" values are "service:name"; the normaliser splits them.
  return Identifier::Custom(kind, value);
}

// A progress bar on stderr for inputs large enough to take a while, and
// only when stderr is a terminal (scripts and logs get the summary line).
cli::ProgressBar MakeProgress(std::size_t total) {
  static const bool tty = ::isatty(2) != 0;
  return cli::ProgressBar(stderr, total, tty && total >= 10000);
}

// Rows from --file or from VALUE arguments (with --kind).
struct RowSource {
  std::string file;
  std::string kind;
  std::vector<std::string> values;
  std::vector<std::string> refs;
  std::size_t skip = 0;

  void AddTo(CLI::App* command, bool with_refs = false) {
    command->add_option("--kind", kind,
                        "Kind of the VALUE arguments: email, phone, handle "
                        "(service:name), device, url or a custom kind");
    command->add_option("--file", file,
                        "CSV (with header) or JSON-lines file of rows; see "
                        "docs/integration-guide.md");
    command->add_option("--skip", skip,
                        "Skip the first N rows of --file (to resume after a "
                        "failure)");
    if (with_refs) {
      command->add_option("--ref", refs,
                          "Retract by this member's ref "
                          "(repeatable)");
    }
    command->add_option("VALUE", values, "Identifiers (raw; never sent)");
  }

  Result<std::vector<cli::InputRow>> Rows() const {
    std::vector<cli::InputRow> rows;
    if (!file.empty()) {
      if (!values.empty() || !refs.empty()) {
        return MakeError(ErrorCode::kInvalidArgument,
                         "give either --file or VALUE arguments, not both");
      }
      auto read = cli::ReadInputFile(file);
      if (!read) return read;
      rows = std::move(*read);
      rows.erase(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(
                                                  std::min(skip, rows.size())));
      return rows;
    }
    if (!values.empty() && kind.empty()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "--kind is required with VALUE arguments, e.g. "
                       "--kind email");
    }
    for (const auto& v : values) {
      cli::InputRow row;
      row.line = rows.size() + 1;
      row.fields["kind"] = kind;
      row.fields["value"] = v;
      rows.push_back(std::move(row));
    }
    for (const auto& r : refs) {
      cli::InputRow row;
      row.line = rows.size() + 1;
      row.fields["ref"] = r;
      rows.push_back(std::move(row));
    }
    if (rows.empty()) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "nothing to do: give VALUE arguments (with --kind) or "
                       "--file FILE");
    }
    return rows;
  }
};

constexpr std::size_t kRowsPerCall = 10000;

// The SDK prefixes per-item errors with "batch item N: " (N counts within the
// call); the CLI names file rows instead.
std::string WithoutBatchPrefix(const std::string& message) {
  constexpr std::string_view kPrefix = "batch item ";
  if (message.rfind(kPrefix, 0) != 0) return message;
  const auto colon = message.find(": ");
  return colon == std::string::npos ? message : message.substr(colon + 2);
}

int ReportStopped(const Error& error, std::size_t done_rows,
                  const RowSource& src) {
  std::string hint;
  if (!src.file.empty()) {
    hint = fmt::format(
        "; rows before {} are done: rerun with --skip {} to "
        "resume",
        src.skip + done_rows, src.skip + done_rows);
  }
  return Fail(error.ToString() + hint, CallExit(error));
}

struct ReceiptVerifyCommand {
  std::string file;       // saved response body
  std::string request;    // optional: the exact request body sent
  std::string keys_file;  // optional: saved GET /v1/me; else ask the hub
};

// Verifies a saved response's receipt against `keys` (cairn/receipt.h).
int RunReceiptVerify(const ReceiptVerifyCommand& command,
                     const std::vector<wire::HubKey>& keys, bool json) {
  auto verified = VerifySavedResponseFile(command.file, keys, command.request);
  if (json) {
    JsonObjectWriter line;
    line.Add("file", command.file).Add("valid", verified.has_value());
    if (verified) {
      line.Add("key_id", verified->key_id)
          .Add("member", verified->member)
          .Add("request_id", verified->request_id)
          .Add("endpoint", verified->endpoint)
          .Add("at", FormatTimestamp(verified->at))
          .Add("request_checked", !command.request.empty());
    } else {
      line.Add("error", verified.error().message);
    }
    std::printf("%s\n", line.Finish().c_str());
    if (verified) return 0;
    return verified.error().code == ErrorCode::kIo ? kExitLocalFile
                                                   : kExitRefused;
  }
  if (!verified) {
    return Fail(verified.error(), verified.error().code == ErrorCode::kIo
                                      ? kExitLocalFile
                                      : kExitRefused);
  }
  std::printf("receipt valid: %s %s for member %s at %s, signed by %s\n",
              verified->endpoint.c_str(), verified->request_id.c_str(),
              verified->member.c_str(), FormatTimestamp(verified->at).c_str(),
              verified->key_id.c_str());
  std::printf("%s\n", command.request.empty()
                          ? "request body not checked (pass --request FILE "
                            "with the exact body sent to check it too)"
                          : "request body matches the receipt");
  return 0;
}

int RunMe(const Client& client, bool json) {
  auto me = client.Me();
  if (!me) return Fail(me.error(), CallExit(me.error()));
  if (json) {
    std::printf("%s\n", wire::Encode(*me).c_str());
    return 0;
  }
  std::printf("member       %s\n", me->member_id.c_str());
  std::printf("name         %s\n", me->name.c_str());
  std::printf("roles        %s\n", Join(Names(me->roles)).c_str());
  std::printf("fingerprint  %s\n", me->fingerprint.c_str());
  std::printf("max batch    %u\n", me->limits.max_batch);
  std::printf("rate limits  %u requests/s, %u items/s\n",
              me->limits.requests_per_second, me->limits.items_per_second);
  std::printf("schemes      %s\n", Join(Names(me->token_schemes)).c_str());
  return 0;
}

int RunQuery(const Client& client, const RowSource& src, bool json,
             const cli::Settings& settings) {
  auto rows = src.Rows();
  if (!rows) return Fail(rows.error(), LocalFileExit(rows.error()));
  if (!json) {
    std::printf("%-6s %-7s %-34s %-9s %-9s %s\n", "ROW", "KIND", "MATCH",
                "PLATFORMS", "SEVERITY", "CATEGORIES");
  }
  std::size_t matched = 0, failed = 0, queried = 0;
  auto progress = MakeProgress(rows->size());
  for (std::size_t begin = 0; begin < rows->size(); begin += kRowsPerCall) {
    const std::size_t end = std::min(rows->size(), begin + kRowsPerCall);
    std::vector<Identifier> ids;
    for (std::size_t i = begin; i < end; ++i) {
      const auto& row = (*rows)[i];
      ids.push_back(MakeIdentifier(row.Get("kind", src.kind), row.Get("value"),
                                   row.Get("region", settings.region)));
    }
    auto result = client.Query(ids);
    if (!result) return ReportStopped(result.error(), begin, src);
    queried += result->queried;
    for (const auto& f : result->failures) {
      ++failed;
      const std::size_t row = src.skip + begin + f.index + 1;
      const std::string message = WithoutBatchPrefix(f.error.message);
      std::fprintf(stderr, "cairn: row %zu: %s\n", row, message.c_str());
      if (json) {
        std::printf("%s\n", JsonObjectWriter()
                                .Add("row", static_cast<std::uint64_t>(row))
                                .Add("error", message)
                                .Finish()
                                .c_str());
      }
    }
    for (const auto& m : result->matches) {
      ++matched;
      const std::size_t row = src.skip + begin + m.index + 1;
      const auto& match = m.match;
      if (json) {
        std::printf(
            "%s\n",
            JsonObjectWriter()
                .Add("row", static_cast<std::uint64_t>(row))
                .Add("kind", m.identifier.kind())
                .Add("value", m.identifier.value())
                .Add("match_id", match.match_id)
                .Add("kinds", match.kinds)
                .Add("categories", Names(match.categories))
                .Add("platforms", static_cast<std::uint64_t>(match.platforms))
                .Add("first_banned_at", FormatTimestamp(match.first_banned_at))
                .Add("last_banned_at", FormatTimestamp(match.last_banned_at))
                .Add("max_severity", std::string(ToString(match.max_severity)))
                .Add("attributed_to", match.attributed_to)
                .Finish()
                .c_str());
      } else {
        std::printf("%-6zu %-7s %-34s %-9u %-9s %s\n", row,
                    m.identifier.kind().c_str(), match.match_id.c_str(),
                    match.platforms,
                    std::string(ToString(match.max_severity)).c_str(),
                    Join(Names(match.categories)).c_str());
      }
    }
    progress.Update(end);
  }
  std::fprintf(stderr, "cairn: queried %zu, %zu matched, %zu invalid\n",
               queried, matched, failed);
  return failed > 0 ? kExitRefused : 0;
}

struct SubmitDefaults {
  std::string category;
  std::string severity;
  std::string banned_at;
  std::string expires_at;
  bool attribution = false;
  std::string ref;
};

Result<Ban> BanFromRow(const cli::InputRow& row, const RowSource& src,
                       const SubmitDefaults& d, const cli::Settings& settings) {
  Ban ban{MakeIdentifier(row.Get("kind", src.kind), row.Get("value"),
                         row.Get("region", settings.region)),
          Category::kOther,
          Severity::kMedium,
          {},
          {},
          false,
          {}};
  const std::string category = row.Get("category", d.category);
  const auto c = ParseCategory(category);
  if (!c) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        "category '" + category +
            "' is not one of grooming, "
            "sextortion, csam_sharing, csam_production, trafficking, other");
  }
  ban.category = *c;
  const std::string severity = row.Get("severity", d.severity);
  const auto s = ParseSeverity(severity);
  if (!s) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "severity '" + severity +
                         "' is not one of low, medium, "
                         "high, critical");
  }
  ban.severity = *s;
  const std::string banned_at = row.Get("banned_at", d.banned_at);
  if (banned_at.empty()) {
    ban.banned_at = std::chrono::floor<std::chrono::seconds>(
        std::chrono::system_clock::now());
  } else {
    auto t = ParseTimestamp(banned_at);
    if (!t) return tl::unexpected(t.error());
    ban.banned_at = *t;
  }
  if (const std::string expires = row.Get("expires_at", d.expires_at);
      !expires.empty()) {
    auto t = ParseTimestamp(expires);
    if (!t) return tl::unexpected(t.error());
    ban.expires_at = *t;
  }
  const std::string attribution =
      row.Get("attribution", d.attribution ? "true" : "false");
  ban.attribution =
      attribution == "true" || attribution == "1" || attribution == "yes";
  if (std::string ref = row.Get("ref", d.ref); !ref.empty())
    ban.ref = std::move(ref);
  return ban;
}

int RunSubmit(const Client& client, const RowSource& src,
              const SubmitDefaults& defaults, bool json,
              const cli::Settings& settings) {
  auto rows = src.Rows();
  if (!rows) return Fail(rows.error(), LocalFileExit(rows.error()));
  if (src.file.empty() &&
      (defaults.category.empty() || defaults.severity.empty())) {
    return Fail("--category and --severity are required with VALUE arguments",
                kExitUsage);
  }
  std::size_t counts[4] = {0, 0, 0, 0};  // by wire::SubmitStatus
  auto print = [&](std::size_t row, std::string_view status,
                   const std::string& detail) {
    if (json) {
      JsonObjectWriter line;
      line.Add("row", static_cast<std::uint64_t>(row)).Add("status", status);
      line.Add(status == "error" ? "error" : "signal_id", detail);
      std::printf("%s\n", line.Finish().c_str());
    } else {
      std::printf("%-6zu %-9s %s\n", row, std::string(status).c_str(),
                  detail.c_str());
    }
    if (status == "error") {
      std::fprintf(stderr, "cairn: row %zu: %s\n", row, detail.c_str());
    }
  };
  if (!json) std::printf("%-6s %-9s %s\n", "ROW", "STATUS", "SIGNAL");
  auto progress = MakeProgress(rows->size());
  for (std::size_t begin = 0; begin < rows->size(); begin += kRowsPerCall) {
    const std::size_t end = std::min(rows->size(), begin + kRowsPerCall);
    std::vector<Ban> bans;
    std::vector<std::size_t> origin;
    for (std::size_t i = begin; i < end; ++i) {
      const std::size_t row = src.skip + i + 1;
      auto ban = BanFromRow((*rows)[i], src, defaults, settings);
      if (!ban) {
        ++counts[static_cast<int>(wire::SubmitStatus::kError)];
        print(row, "error", ban.error().message);
        continue;
      }
      bans.push_back(std::move(*ban));
      origin.push_back(row);
    }
    auto outcome = client.Submit(bans);
    if (!outcome) return ReportStopped(outcome.error(), begin, src);
    for (const auto& item : outcome->items) {
      ++counts[static_cast<int>(item.status)];
      print(origin[item.index], wire::ToString(item.status),
            item.error ? WithoutBatchPrefix(item.error->message)
                       : item.signal_id);
    }
    progress.Update(end);
  }
  std::fprintf(stderr,
               "cairn: %zu created, %zu updated, %zu duplicate, %zu failed\n",
               counts[0], counts[1], counts[2], counts[3]);
  return counts[3] > 0 ? kExitRefused : 0;
}

int RunRetract(const Client& client, const RowSource& src,
               const std::string& default_reason, bool json,
               const cli::Settings& settings) {
  auto rows = src.Rows();
  if (!rows) return Fail(rows.error(), LocalFileExit(rows.error()));
  std::size_t retracted = 0, not_found = 0, failed = 0;
  if (!json) std::printf("%-6s %-10s %s\n", "ROW", "STATUS", "SIGNALS");
  auto progress = MakeProgress(rows->size());
  for (std::size_t begin = 0; begin < rows->size(); begin += kRowsPerCall) {
    const std::size_t end = std::min(rows->size(), begin + kRowsPerCall);
    std::vector<Retraction> retractions;
    std::vector<std::size_t> origin;
    for (std::size_t i = begin; i < end; ++i) {
      const auto& row = (*rows)[i];
      const std::size_t line = src.skip + i + 1;
      const std::string reason_text = row.Get("reason", default_reason);
      const auto reason = ParseRetractReason(reason_text);
      if (!reason) {
        ++failed;
        std::fprintf(stderr,
                     "cairn: row %zu: reason '%s' is not one of appeal_upheld, "
                     "error, duplicate, other\n",
                     line, reason_text.c_str());
        continue;
      }
      if (const std::string ref = row.Get("ref"); !ref.empty()) {
        retractions.push_back(Retraction::ByRef(ref, *reason));
      } else {
        retractions.push_back(Retraction::Of(
            MakeIdentifier(row.Get("kind", src.kind), row.Get("value"),
                           row.Get("region", settings.region)),
            *reason));
      }
      origin.push_back(line);
    }
    auto outcome = client.Retract(retractions);
    if (!outcome) return ReportStopped(outcome.error(), begin, src);
    for (const auto& item : outcome->items) {
      const std::size_t line = origin[item.index];
      const std::string status(wire::ToString(item.status));
      if (item.status == wire::RetractStatus::kRetracted) ++retracted;
      if (item.status == wire::RetractStatus::kNotFound) ++not_found;
      if (item.status == wire::RetractStatus::kError) {
        ++failed;
        std::fprintf(stderr, "cairn: row %zu: %s\n", line,
                     WithoutBatchPrefix(item.error->message).c_str());
      }
      if (json) {
        JsonObjectWriter out;
        out.Add("row", static_cast<std::uint64_t>(line)).Add("status", status);
        if (item.error)
          out.Add("error", item.error->message);
        else
          out.Add("signal_ids", item.signal_ids);
        std::printf("%s\n", out.Finish().c_str());
      } else {
        std::printf("%-6zu %-10s %s\n", line, status.c_str(),
                    item.error ? item.error->message.c_str()
                               : Join(item.signal_ids).c_str());
      }
    }
    progress.Update(end);
  }
  std::fprintf(stderr, "cairn: %zu retracted, %zu not found, %zu failed\n",
               retracted, not_found, failed);
  return failed > 0 ? kExitRefused : 0;
}

int RunDispose(const Client& client, const std::string& match_id,
               const std::string& outcome_text, const std::string& note,
               bool json) {
  const auto outcome = ParseOutcome(outcome_text);
  if (!outcome) {
    return Fail(
        "--outcome must be one of confirmed, actioned, no_action, "
        "false_positive",
        kExitUsage);
  }
  auto reply = client.Dispose(
      match_id, *outcome,
      note.empty() ? std::nullopt : std::optional<std::string>(note));
  if (!reply) return Fail(reply.error(), CallExit(reply.error()));
  if (json) {
    std::printf("%s\n", wire::Encode(*reply).c_str());
  } else {
    std::printf("%s %s at %s\n", reply->match_id.c_str(),
                std::string(ToString(reply->outcome)).c_str(),
                FormatTimestamp(reply->recorded_at).c_str());
  }
  return 0;
}

volatile std::sig_atomic_t g_stop = 0;

struct PageCommand {
  std::string after;
  std::uint32_t limit = 1000;
  bool follow = false;
  double interval_seconds = 5;
};

int RunFeed(const Client& client, const PageCommand& command, bool json) {
  if (!json) {
    std::printf("%-8s %-9s %-7s %-64s %-15s %-8s %-20s %s\n", "SEQ", "TYPE",
                "KIND", "TOKEN", "CATEGORY", "SEVERITY", "BANNED_AT",
                "EXPIRES_AT");
  }
  std::signal(SIGINT, [](int) { g_stop = 1; });
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  std::string cursor = command.after;
  while (!g_stop) {
    auto page = client.FeedPage(cursor, command.limit);
    if (!page) {
      std::fprintf(stderr, "cairn: resume with --after %s\n", cursor.c_str());
      return Fail(page.error(), CallExit(page.error()));
    }
    for (const auto& e : page->events) {
      if (json) {
        std::printf("%s\n",
                    JsonObjectWriter()
                        .Add("seq", e.seq)
                        .Add("type", std::string(ToString(e.type)))
                        .Add("signal_id", e.signal_id)
                        .Add("kind", e.key.kind)
                        .Add("token", HexEncode(e.key.token))
                        .Add("category", std::string(ToString(e.category)))
                        .Add("severity", std::string(ToString(e.severity)))
                        .Add("banned_at", FormatTimestamp(e.banned_at))
                        .Add("expires_at", FormatTimestamp(e.expires_at))
                        .Add("at", FormatTimestamp(e.at))
                        .Finish()
                        .c_str());
      } else {
        std::printf("%-8llu %-9s %-7s %-64s %-15s %-8s %-20s %s\n",
                    static_cast<unsigned long long>(e.seq),
                    std::string(ToString(e.type)).c_str(), e.key.kind.c_str(),
                    HexEncode(e.key.token).c_str(),
                    std::string(ToString(e.category)).c_str(),
                    std::string(ToString(e.severity)).c_str(),
                    FormatTimestamp(e.banned_at).c_str(),
                    FormatTimestamp(e.expires_at).c_str());
      }
    }
    std::fflush(stdout);
    cursor = page->cursor;
    if (page->more) continue;
    if (!command.follow) break;
    const auto until = std::chrono::steady_clock::now() +
                       std::chrono::duration<double>(command.interval_seconds);
    while (!g_stop && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  std::fprintf(stderr, "cairn: cursor %s (resume with --after %s)\n",
               cursor.c_str(), cursor.c_str());
  return 0;
}

int RunNotifications(const Client& client, const PageCommand& command,
                     bool json) {
  if (!json) {
    std::printf("%-8s %-34s %-9s %-14s %-9s %s\n", "SEQ", "MATCH", "TYPE",
                "REASON", "SUPPORTED", "AT");
  }
  auto range = client.Notifications(command.after, command.limit);
  for (auto& n : range) {
    if (!n) {
      std::fprintf(stderr, "cairn: resume with --after %s\n",
                   range.cursor().c_str());
      return Fail(n.error(), CallExit(n.error()));
    }
    const std::string reason =
        n->reason ? std::string(ToString(*n->reason)) : std::string("-");
    if (json) {
      std::printf("%s\n", JsonObjectWriter()
                              .Add("seq", n->seq)
                              .Add("match_id", n->match_id)
                              .Add("type", std::string(ToString(n->type)))
                              .Add("reason", reason)
                              .Add("still_supported", n->still_supported)
                              .Add("at", FormatTimestamp(n->at))
                              .Finish()
                              .c_str());
    } else {
      std::printf("%-8llu %-34s %-9s %-14s %-9s %s\n",
                  static_cast<unsigned long long>(n->seq), n->match_id.c_str(),
                  std::string(ToString(n->type)).c_str(), reason.c_str(),
                  n->still_supported ? "yes" : "no",
                  FormatTimestamp(n->at).c_str());
    }
  }
  std::fprintf(stderr, "cairn: cursor %s (resume with --after %s)\n",
               range.cursor().c_str(), range.cursor().c_str());
  return 0;
}

// Flags shared by every command that talks to the hub.
void AddRemoteFlags(CLI::App* command, cli::Settings* flags, bool* json) {
  command->add_option("--hub", flags->hub,
                      "Hub URL https://HOST:PORT (env CAIRN_HUB)");
  command->add_option("--cert", flags->cert,
                      "Client certificate, PEM (env CAIRN_CERT)");
  command->add_option("--key", flags->key,
                      "Client private key, PEM (env CAIRN_KEY)");
  command->add_option("--cacert", flags->cacert,
                      "CA bundle that signed the hub, PEM (env CAIRN_CACERT)");
  command->add_option("--consortium-key", flags->consortium_key,
                      "Consortium key file (env CAIRN_CONSORTIUM_KEY)");
  command->add_option(
      "--region", flags->region,
      "Region for phone numbers without +, e.g. GB (env CAIRN_REGION)");
  command->add_option(
      "--hub-pin", flags->hub_pin,
      "SHA-256 of the hub's public key, hex (env CAIRN_HUB_PIN)");
  command->add_option(
      "--handle-service", flags->handle_services,
      "Extra handle service registered on the hub (repeatable)");
  command->add_flag("--json", *json, "One JSON object per line");
  command
      ->add_option("--scheme", g_token_scheme,
                   "Token scheme: hmac-v1, or voprf-v1 (tokens evaluated "
                   "by the hub's OPRF)")
      ->check(CLI::IsMember({"hmac-v1", "voprf-v1"}))
      ->capture_default_str();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "cairn: share and look up hashed identifiers of accounts banned for "
      "child sexual exploitation on a Cairn hub.\nSettings: "
      "~/.config/cairn/config.toml < CAIRN_* environment < flags.\nExit "
      "codes: 0 ok, 1 refused by the hub or bad input item, 2 usage or "
      "configuration, 3 hub unreachable, 4 local file error."};
  app.require_subcommand(1);
  std::string config_path = cli::DefaultConfigPath();
  app.add_option("--config", config_path,
                 "Config file (env CAIRN_CONFIG; default "
                 "~/.config/cairn/config.toml)");

  // Flags override settings; they are applied after the config file and the
  // environment have been read, so each is collected separately.
  cli::Settings flags;
  bool json = false;

  std::string keygen_path;
  CLI::App* keygen =
      app.add_subcommand("keygen",
                         "Create a new consortium key file (mode 0600; never "
                         "overwrites)");
  keygen->add_option("FILE", keygen_path, "Where to write the key")->required();

  TokenCommand token;
  CLI::App* token_cmd = app.add_subcommand(
      "token",
      "Print the normalised form and token of identifiers (for "
      "debugging normalisation; nothing is sent anywhere)");
  token_cmd
      ->add_option("--kind", token.kind,
                   "email, phone, handle, device, url or a custom kind")
      ->required();
  token_cmd->add_option("--region", flags.region,
                        "Region for phone numbers without +, e.g. GB (env "
                        "CAIRN_REGION)");
  token_cmd->add_option("--key,--consortium-key", flags.consortium_key,
                        "Consortium key file (env CAIRN_CONSORTIUM_KEY)");
  token_cmd->add_option("--handle-service", flags.handle_services,
                        "Extra handle service registered on the hub "
                        "(repeatable)");
  token_cmd->add_flag("--json", token.json, "One JSON object per line");
  token_cmd
      ->add_option("--scheme", token.scheme,
                   "hmac-v1 (offline), or voprf-v1: show every step of the "
                   "hub's OPRF evaluation (needs the hub flags)")
      ->check(CLI::IsMember({"hmac-v1", "voprf-v1"}))
      ->capture_default_str();
  token_cmd->add_option("--hub", flags.hub,
                        "voprf-v1: hub URL https://HOST:PORT (env CAIRN_HUB)");
  token_cmd->add_option("--cert", flags.cert,
                        "voprf-v1: client certificate, PEM (env CAIRN_CERT)");
  token_cmd->add_option("--client-key", flags.key,
                        "voprf-v1: client private key, PEM (env CAIRN_KEY)");
  token_cmd->add_option("--cacert", flags.cacert,
                        "voprf-v1: CA bundle of the hub, PEM (env "
                        "CAIRN_CACERT)");
  token_cmd->add_option("VALUE", token.values, "Identifiers to tokenise")
      ->required();

  CLI::App* me =
      app.add_subcommand("me", "Show this member as the hub sees it");
  AddRemoteFlags(me, &flags, &json);

  RowSource query_rows;
  CLI::App* query =
      app.add_subcommand("query", "Look identifiers up (only tokens are sent)");
  AddRemoteFlags(query, &flags, &json);
  query_rows.AddTo(query);

  RowSource submit_rows;
  SubmitDefaults submit_defaults;
  CLI::App* submit = app.add_subcommand("submit", "Share bans");
  AddRemoteFlags(submit, &flags, &json);
  submit_rows.AddTo(submit);
  submit->add_option("--category", submit_defaults.category,
                     "grooming, sextortion, csam_sharing, csam_production, "
                     "trafficking or other");
  submit->add_option("--severity", submit_defaults.severity,
                     "low, medium, high or critical");
  submit->add_option("--banned-at", submit_defaults.banned_at,
                     "When the account was banned, e.g. 2026-11-23T14:00:00Z "
                     "(default: now)");
  submit->add_option("--expires-at", submit_defaults.expires_at,
                     "When the signal lapses (default: the hub's)");
  submit->add_flag("--attribution", submit_defaults.attribution,
                   "Reveal this member to members that match");
  submit->add_option("--signal-ref", submit_defaults.ref,
                     "This member's private reference for the signal");

  RowSource retract_rows;
  std::string retract_reason = "other";
  CLI::App* retract =
      app.add_subcommand("retract", "Withdraw this member's signals");
  AddRemoteFlags(retract, &flags, &json);
  retract_rows.AddTo(retract, /*with_refs=*/true);
  retract
      ->add_option("--reason", retract_reason,
                   "appeal_upheld, error, duplicate or other")
      ->capture_default_str();

  std::string match_id, outcome, note;
  CLI::App* dispose = app.add_subcommand(
      "dispose", "Record the outcome of human review of a match");
  AddRemoteFlags(dispose, &flags, &json);
  dispose->add_option("MATCH_ID", match_id, "m_... from `cairn query`")
      ->required();
  dispose
      ->add_option("--outcome", outcome,
                   "confirmed, actioned, no_action or false_positive")
      ->required();
  dispose->add_option("--note", note, "Free text, up to 1000 bytes");

  PageCommand feed_command;
  CLI::App* feed = app.add_subcommand("feed", "Print the hub's change stream");
  AddRemoteFlags(feed, &flags, &json);
  feed->add_option("--after", feed_command.after, "Resume after this cursor");
  feed->add_option("--limit", feed_command.limit,
                   "Events per request (1..10000)")
      ->capture_default_str();
  feed->add_flag("--follow", feed_command.follow,
                 "Keep polling for new events until interrupted");
  feed->add_option("--interval", feed_command.interval_seconds,
                   "Seconds between polls with --follow")
      ->capture_default_str();

  PageCommand notifications_command;
  CLI::App* notifications = app.add_subcommand(
      "notifications", "Print changes to this member's matches");
  AddRemoteFlags(notifications, &flags, &json);
  notifications->add_option("--after", notifications_command.after,
                            "Resume after this cursor");
  notifications
      ->add_option("--limit", notifications_command.limit,
                   "Notifications per request (1..10000)")
      ->capture_default_str();

  ReceiptVerifyCommand receipt_verify;
  CLI::App* receipt =
      app.add_subcommand("receipt", "The hub's signed receipts");
  receipt->require_subcommand(1);
  CLI::App* receipt_verify_cmd = receipt->add_subcommand(
      "verify",
      "Verify the receipt of a saved submit, retract or query response");
  receipt_verify_cmd
      ->add_option("FILE", receipt_verify.file, "Saved response body (JSON)")
      ->required();
  receipt_verify_cmd->add_option(
      "--request", receipt_verify.request,
      "The exact request body that was sent, to check it too");
  receipt_verify_cmd->add_option(
      "--keys-file", receipt_verify.keys_file,
      "Saved `cairn me --json` output holding the hub's keys (offline); "
      "without it the keys are fetched from the hub");
  AddRemoteFlags(receipt_verify_cmd, &flags, &json);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }

  if (keygen->parsed()) return RunKeygen(keygen_path);
  if (receipt_verify_cmd->parsed() && !receipt_verify.keys_file.empty()) {
    auto keys = LoadHubKeysFile(receipt_verify.keys_file);
    if (!keys) return Fail(keys.error(), LocalFileExit(keys.error()));
    return RunReceiptVerify(receipt_verify, *keys, json);
  }

  auto settings = cli::LoadSettings(config_path);
  if (!settings) return Fail(settings.error(), kExitUsage);
  auto override_if_set = [](const std::string& flag, std::string* out) {
    if (!flag.empty()) *out = flag;
  };
  override_if_set(flags.hub, &settings->hub);
  override_if_set(flags.cert, &settings->cert);
  override_if_set(flags.key, &settings->key);
  override_if_set(flags.cacert, &settings->cacert);
  override_if_set(flags.consortium_key, &settings->consortium_key);
  override_if_set(flags.region, &settings->region);
  override_if_set(flags.hub_pin, &settings->hub_pin);
  settings->handle_services.insert(settings->handle_services.end(),
                                   flags.handle_services.begin(),
                                   flags.handle_services.end());

  if (token_cmd->parsed()) return RunToken(token, *settings);

  auto client = BuildClient(*settings);
  if (!client) return Fail(client.error(), LocalFileExit(client.error()));
  if (me->parsed()) return RunMe(*client, json);
  if (receipt_verify_cmd->parsed()) {
    auto me_response = client->Me();
    if (!me_response) {
      return Fail(me_response.error(), CallExit(me_response.error()));
    }
    return RunReceiptVerify(receipt_verify, me_response->hub_keys, json);
  }
  if (query->parsed()) return RunQuery(*client, query_rows, json, *settings);
  if (submit->parsed()) {
    return RunSubmit(*client, submit_rows, submit_defaults, json, *settings);
  }
  if (retract->parsed()) {
    return RunRetract(*client, retract_rows, retract_reason, json, *settings);
  }
  if (dispose->parsed())
    return RunDispose(*client, match_id, outcome, note, json);
  if (feed->parsed()) return RunFeed(*client, feed_command, json);
  if (notifications->parsed()) {
    return RunNotifications(*client, notifications_command, json);
  }
  return kExitUsage;
}
