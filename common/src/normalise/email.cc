// email: trim, NFC, lowercase, IDNA domain, provider rules (profile n1).
#include <algorithm>

#include <unicode/uchar.h>

#include "cairn/normalise.h"
#include "unicode.h"

namespace cairn {
namespace {

// RFC 5321 section 4.5.3.1: local part 64 octets, path 256 octets including
// the angle brackets, so 254 for the address itself.
constexpr std::size_t kMaxLocalPartBytes = 64;
constexpr std::size_t kMaxAddressBytes = 254;

tl::unexpected<Error> Invalid(std::string message) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(message));
}

const EmailProviderRule* FindRule(std::string_view domain) {
  for (const EmailProviderRule& rule : EmailProviderRules()) {
    if (rule.domain == domain) return &rule;
  }
  return nullptr;
}

}  // namespace

Result<std::string> NormaliseEmail(std::string_view raw) {
  auto trimmed = internal::DecodeAndTrim(raw, "email address");
  if (!trimmed) return tl::unexpected(trimmed.error());
  auto nfc = internal::Nfc(*trimmed);
  if (!nfc) return tl::unexpected(nfc.error());
  // Lowercasing can leave a string that is not NFC (e.g. after U+0130), so
  // normalise once more; the result is a fixed point of the whole rule.
  auto lowered = internal::Nfc(internal::Lowercase(*nfc));
  if (!lowered) return tl::unexpected(lowered.error());

  // Invisible characters inside an address are either paste accidents or
  // attempts to dodge a match; no mail provider lets users register them.
  icu::UnicodeString text;
  int ats = 0;
  bool removed = false;
  for (int32_t i = 0; i < lowered->length(); i = lowered->moveIndex32(i, 1)) {
    const UChar32 c = lowered->char32At(i);
    if (internal::IsWhiteSpace(c)) {
      return Invalid(
          "email address contains whitespace inside it; an address has no "
          "spaces, check for a pasted sentence or two addresses");
    }
    if (internal::IsControl(c)) {
      return Invalid("email address contains a control character; remove it");
    }
    if (u_hasBinaryProperty(c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT)) {
      removed = true;
      continue;
    }
    if (c == '@') ++ats;
    text.append(c);
  }
  // A removed character may have sat between a letter and its accent,
  // which NFC could not compose across: compose again, or the output would
  // not be a fixed point.
  if (removed) {
    auto composed = internal::Nfc(text);
    if (!composed) return tl::unexpected(composed.error());
    text = std::move(*composed);
  }
  if (text.isEmpty()) {
    return Invalid(
        "email address is empty; give an address like "
        "name@example.com");
  }
  if (ats == 0) {
    return Invalid(
        "email address has no '@'; give an address like "
        "name@example.com");
  }
  if (ats > 1) {
    return Invalid(
        "email address has more than one '@'; give a single address (quoted "
        "local parts containing '@' are not supported)");
  }
  const int32_t at = text.indexOf(u'@');
  const icu::UnicodeString local_text(text, 0, at);
  const icu::UnicodeString domain_text(text, at + 1);
  if (local_text.isEmpty()) {
    return Invalid(
        "email address has nothing before the '@'; give the full "
        "address");
  }
  // "jane"@x is the mailbox jane@x, but unquoting in general (escapes,
  // spaces, dots) is not worth its risk: refuse rather than give the quoted
  // form a token of its own that would never match the plain one.
  if (local_text.indexOf(u'"') >= 0) {
    return Invalid(
        "email address has a quoted local part; quoted local parts are not "
        "supported: give the address without quotes");
  }
  if (domain_text.isEmpty()) {
    return Invalid(
        "email address has nothing after the '@'; give the full "
        "address including the domain");
  }
  if (domain_text.startsWith(u"[")) {
    return Invalid(
        "email address uses an IP address literal as its domain; only "
        "domain names are supported");
  }
  auto domain = internal::DomainToAscii(domain_text, "email domain");
  if (!domain) return tl::unexpected(domain.error());
  if (domain->find('.') == std::string::npos) {
    return Invalid(
        "email domain has no dot; give a full domain such as "
        "example.com");
  }

  std::string local = internal::ToUtf8(local_text);
  if (const EmailProviderRule* rule = FindRule(*domain)) {
    if (rule->strip_plus_tag) local = local.substr(0, local.find('+'));
    if (rule->drop_dots) std::erase(local, '.');
    *domain = std::string(rule->canonical_domain);
    if (local.empty()) {
      return Invalid(
          "email address has an empty local part once the "
          "provider's dots and +tag are removed; check it");
    }
  }
  if (local.size() > kMaxLocalPartBytes) {
    return Invalid(
        "email local part is longer than 64 bytes (RFC 5321); "
        "check the address");
  }
  std::string out = local + "@" + *domain;
  if (out.size() > kMaxAddressBytes) {
    return Invalid(
        "email address is longer than 254 bytes (RFC 5321); "
        "check the address");
  }
  return out;
}

}  // namespace cairn
