// handle: "service:name" with NFKC_Casefold on the name (profile n1).
#include "cairn/normalise.h"
#include "unicode.h"

namespace cairn {
namespace {

constexpr std::size_t kMaxNameBytes = 256;

tl::unexpected<Error> Invalid(std::string message) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(message));
}

bool IsServiceName(std::string_view s) {
  if (s.empty() || s.size() > 32) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-'))) {
      return false;
    }
  }
  return true;
}

}  // namespace

Result<std::string> NormaliseHandle(
    std::string_view raw,
    const std::set<std::string, std::less<>>& extra_services) {
  auto trimmed = internal::DecodeAndTrim(raw, "handle");
  if (!trimmed) return tl::unexpected(trimmed.error());
  // The separator is ASCII ':' only: a fullwidth colon inside a name must
  // not split it.
  const int32_t colon = trimmed->indexOf(u':');
  if (colon < 0) {
    return Invalid(
        "handle has no service; write it as service:name, e.g. "
        "snapchat:jane");
  }

  // The service is case-insensitive and may arrive in fullwidth form.
  auto service_text = internal::NfkcCasefold(
      internal::Trim(icu::UnicodeString(*trimmed, 0, colon)));
  if (!service_text) return tl::unexpected(service_text.error());
  const std::string service = internal::ToUtf8(*service_text);
  if (service.empty()) {
    return Invalid(
        "handle has an empty service before ':'; write it as "
        "service:name, e.g. snapchat:jane");
  }
  // The message never quotes the service: the part before ':' may be a
  // user name typed the wrong way round ("janedoe1987:snap").
  if (!IsServiceName(service)) {
    return Invalid(
        "handle service (the part before ':') is not a service name: "
        "services are 1 to 32 lowercase letters, digits, '_', '.' or '-', "
        "starting with a letter or digit; "
        "write the handle as service:name, e.g. snapchat:jane");
  }
  if (!IsKnownHandleService(service, extra_services)) {
    std::string known;
    for (std::string_view s : BuiltinHandleServices()) {
      if (!known.empty()) known += ", ";
      known += s;
    }
    return Invalid(
        "unknown handle service (the part before ':'); the built-in ones "
        "are " +
        known +
        ". Check that the handle is written service:name; any other "
        "service must be agreed across the consortium and configured "
        "alike by every member, or handle tokens will not match "
        "(docs/token-scheme.md, handle): cairn --handle-service NAME or "
        "handle_services in its config file, "
        "ClientOptions::extra_handle_services in the SDK");
  }

  // NFKC_Casefold folds case and compatibility forms (fullwidth, ligatures,
  // mathematical letters, 'ß' -> "ss") and drops default-ignorable code
  // points such as ZWJ, ZWSP and U+FEFF, all in one pass.
  auto name = internal::NfkcCasefold(
      internal::Trim(icu::UnicodeString(*trimmed, colon + 1)));
  if (!name) return tl::unexpected(name.error());
  // After folding, so that a fullwidth '＠' counts too.
  if (name->startsWith(u"@")) name->remove(0, 1);
  if (name->isEmpty()) {
    return Invalid(
        "handle name is empty; write it as service:name, e.g. "
        "snapchat:jane");
  }
  for (int32_t i = 0; i < name->length(); i = name->moveIndex32(i, 1)) {
    const UChar32 c = name->char32At(i);
    if (internal::IsWhiteSpace(c)) {
      return Invalid(
          "handle name contains whitespace; usernames have no "
          "spaces, check for a display name or two handles");
    }
    if (internal::IsControl(c)) {
      return Invalid("handle name contains a control character; remove it");
    }
  }
  std::string out = internal::ToUtf8(*name);
  if (out.size() > kMaxNameBytes) {
    return Invalid("handle name is longer than 256 bytes; check the field");
  }
  return service + ":" + out;
}

}  // namespace cairn
