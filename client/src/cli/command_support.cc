#include "src/cli/command_support.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <tuple>
#include <utility>

#include "cairn/vocabulary.h"

namespace cairn::cli {

int Fail(const std::string& message, int code) {
  std::fprintf(stderr, "cairn: %s\n", message.c_str());
  return code;
}

int Fail(const Error& error, int code) { return Fail(error.ToString(), code); }

int LocalFileExit(const Error& error) {
  // The loaders say kNotFound for a file that is not there (the consortium
  // key, an explicit config file) and kIo for one they cannot read; both
  // are "a local file could not be read". A file that is there but wrong
  // (malformed, or a key file others may read) is a configuration problem.
  return error.code == ErrorCode::kIo || error.code == ErrorCode::kNotFound
             ? kExitLocalFile
             : kExitUsage;
}

int CallExit(const Error& error) {
  return error.code == ErrorCode::kUnavailable || error.code == ErrorCode::kIo
             ? kExitUnreachable
             : kExitRefused;
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

NormaliseOptions NormaliseOptionsFor(const Settings& settings,
                                     std::string_view kind) {
  NormaliseOptions options;
  options.default_region = settings.region;
  options.extra_handle_services.insert(settings.handle_services.begin(),
                                       settings.handle_services.end());
  options.custom_kinds.insert(settings.custom_kinds.begin(),
                              settings.custom_kinds.end());
  bool builtin = false;
  for (std::string_view b : kBuiltinKinds) builtin = builtin || b == kind;
  if (!builtin && IsWellFormedKind(kind)) options.custom_kinds.emplace(kind);
  return options;
}

ClientOptions HubConnectionOptions(const Settings& s) {
  ClientOptions options;
  options.hub_url = s.hub;
  options.cert_file = s.cert;
  options.key_file = s.key;
  options.ca_file = s.cacert;
  options.hub_pin = s.hub_pin;
  return options;
}

Result<Client> BuildClient(const Settings& s, std::string_view token_scheme,
                           bool tokenises) {
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
    // Commands that send no identifiers must work for people who hold no
    // consortium key (compliance staff checking receipts).
    if (!tokenises && value == &s.consortium_key) continue;
    if (value->empty()) return MakeError(ErrorCode::kInvalidArgument, message);
  }
  // The SDK names ClientOptions fields, and OpenSSL calls a file it cannot
  // open an "asio.ssl error": say why, and which flag to fix, here.
  const std::tuple<const std::string*, const char*, const char*> files[] = {
      {&s.cert, "client certificate", "--cert FILE, CAIRN_CERT or cert"},
      {&s.key, "client key", "--key FILE, CAIRN_KEY or key"},
      {&s.cacert, "CA bundle for the hub",
       "--cacert FILE, CAIRN_CACERT or cacert"},
  };
  for (const auto& [path, what, where] : files) {
    std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path->c_str(), "rb"),
                                               &std::fclose);
    if (file) continue;
    const int err = errno;
    return MakeError(err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                     std::string("cannot open the ") + what + " '" + *path +
                         "': " + std::strerror(err) + "; check " + where +
                         " in the config file");
  }
  ClientOptions options = HubConnectionOptions(s);
  options.consortium_key_file = s.consortium_key;
  options.require_consortium_key = tokenises;
  options.default_region = s.region;
  options.extra_handle_services = s.handle_services;
  options.custom_kinds = s.custom_kinds;
  if (token_scheme == "voprf-v1") options.token_scheme = TokenScheme::kVoprfV1;
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

ProgressBar MakeProgress(std::size_t total) {
  static const bool tty = ::isatty(2) != 0;
  return ProgressBar(stderr, total, tty && total >= 10000);
}

}  // namespace cairn::cli
