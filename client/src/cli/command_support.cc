#include "src/cli/command_support.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <tuple>
#include <utility>

#include <fmt/format.h>

#include "cairn/token.h"
#include "cairn/vocabulary.h"

namespace cairn::cli {
namespace {

// The reason of OpenSSL's first (root cause) error ("no start line"), and
// clears them.
std::string OpenSslReason() {
  const unsigned long code = ERR_peek_error();
  const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
  ERR_clear_error();
  return reason != nullptr ? reason : "no details";
}

// A password callback that gives none: an encrypted key is refused rather
// than OpenSSL asking for its password on the terminal.
int NoPassword(char*, int, int, void*) { return 0; }

}  // namespace

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
  switch (error.code) {
    case ErrorCode::kIo:
      // The connection failed or timed out after the request was sent, or
      // a proxy answered 502, 504 or a 5xx without a Cairn error body.
      return kExitOutcomeUnknown;
    case ErrorCode::kUnavailable:
      // Only the 503 of a hub that shut down while the request was in its
      // store says that it may still have been carried out; the others
      // (connection failures before sending, "nothing was changed") did
      // nothing.
      return error.message.find("may still have been carried out") !=
                     std::string::npos
                 ? kExitOutcomeUnknown
                 : kExitTryLater;
    case ErrorCode::kRateLimited:
      return kExitTryLater;
    default:
      return kExitRefused;
  }
}

int FailCall(const Error& error, std::string_view if_unknown,
             std::string_view context) {
  const int code = CallExit(error);
  Fail(error.ToString() + std::string(context), code);
  if (code == kExitOutcomeUnknown) {
    std::fprintf(stderr,
                 "cairn: the request was sent but no answer came, so the hub "
                 "may have carried it out (exit 5): %.*s\n",
                 static_cast<int>(if_unknown.size()), if_unknown.data());
  } else if (code == kExitTryLater) {
    std::fprintf(stderr,
                 "cairn: nothing was carried out (exit 3): once the cause is "
                 "gone, repeating the command is safe\n");
  }
  return code;
}

Status FlushOutput() {
  errno = 0;
  const bool flushed = std::fflush(stdout) == 0;
  const int err = errno;
  if (flushed && std::ferror(stdout) == 0) return {};
  return MakeError(
      ErrorCode::kIo,
      fmt::format("cannot write the output: {}; free space or fix where "
                  "standard output goes",
                  err != 0 ? std::strerror(err) : "a write failed"));
}

int FailOutput(const Error& error, std::string_view context) {
  return Fail(error.message + std::string(context), kExitLocalFile);
}

Status CheckTlsFiles(const Settings& s, std::string_view key_flag) {
  const std::string cert_where = "--cert FILE, CAIRN_CERT or cert";
  const std::string key_where =
      fmt::format("{} FILE, CAIRN_KEY or key", key_flag);
  const std::string ca_where = "--cacert FILE, CAIRN_CACERT or cacert";
  // OpenSSL calls a file it cannot open an "asio.ssl error": say why, and
  // which flag to fix, here.
  const std::tuple<const std::string*, const char*, const std::string*>
      files[] = {
          {&s.cert, "client certificate", &cert_where},
          {&s.key, "client key", &key_where},
          {&s.cacert, "CA bundle for the hub", &ca_where},
      };
  for (const auto& [path, what, where] : files) {
    std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path->c_str(), "rb"),
                                               &std::fclose);
    if (file) continue;
    const int err = errno;
    return MakeError(err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                     std::string("cannot open the ") + what + " '" + *path +
                         "': " + std::strerror(err) + "; check " + *where +
                         " in the config file");
  }
  // The same loads as the SDK's, which would name ClientOptions fields.
  ERR_clear_error();
  std::unique_ptr<SSL_CTX, void (*)(SSL_CTX*)> ctx(
      SSL_CTX_new(TLS_client_method()), &SSL_CTX_free);
  if (!ctx) {
    return MakeError(ErrorCode::kInternal,
                     "cannot set up TLS: " + OpenSslReason());
  }
  SSL_CTX_set_default_passwd_cb(ctx.get(), &NoPassword);
  auto wrong = [](std::string message) {
    return MakeError(ErrorCode::kInvalidArgument, std::move(message));
  };
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), s.cert.c_str()) != 1) {
    return wrong(fmt::format(
        "the client certificate '{}' is not a PEM certificate ({}); give "
        "the certificate the hub operator issued for this member: check {} "
        "in the config file",
        s.cert, OpenSslReason(), cert_where));
  }
  std::unique_ptr<BIO, int (*)(BIO*)> key_file(
      BIO_new_file(s.key.c_str(), "rb"), &BIO_free);
  std::unique_ptr<EVP_PKEY, void (*)(EVP_PKEY*)> key(
      key_file ? PEM_read_bio_PrivateKey(key_file.get(), nullptr, &NoPassword,
                                         nullptr)
               : nullptr,
      &EVP_PKEY_free);
  if (!key) {
    return wrong(fmt::format(
        "the client key '{}' is not an unencrypted PEM private key ({}); "
        "give the key the client certificate was made for: check {} in the "
        "config file",
        s.key, OpenSslReason(), key_where));
  }
  if (SSL_CTX_use_PrivateKey(ctx.get(), key.get()) != 1 ||
      SSL_CTX_check_private_key(ctx.get()) != 1) {
    return wrong(fmt::format(
        "the client key '{}' does not match the client certificate '{}' "
        "({}); give the key the certificate was made for: check {} and {} in "
        "the config file",
        s.key, s.cert, OpenSslReason(), key_where, cert_where));
  }
  if (SSL_CTX_load_verify_locations(ctx.get(), s.cacert.c_str(), nullptr) !=
      1) {
    return wrong(fmt::format(
        "the CA bundle for the hub '{}' holds no PEM certificate ({}); give "
        "the CA certificate the hub operator sent: check {} in the config "
        "file",
        s.cacert, OpenSslReason(), ca_where));
  }
  return {};
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
  // The SDK's errors name ClientOptions fields: read the files here first,
  // in the SDK's order (the TLS files opened, the consortium key, then the
  // TLS files' contents), so that the error names the flag instead.
  auto tls = CheckTlsFiles(s);
  if (!tls && (tls.error().code == ErrorCode::kNotFound ||
               tls.error().code == ErrorCode::kIo)) {
    return tl::unexpected(tls.error());
  }
  std::optional<ConsortiumKey> key;
  if (!s.consortium_key.empty()) {
    auto loaded = LoadConsortiumKey(s.consortium_key);
    if (!loaded) return tl::unexpected(loaded.error());
    key = std::move(*loaded);
  }
  if (!tls) return tl::unexpected(tls.error());
  ClientOptions options = HubConnectionOptions(s);
  options.consortium_key = std::move(key);
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
