// device: UUID / advertising IDs, IMEI, hex device IDs (profile n1).
#include <algorithm>
#include <array>

#include "cairn/normalise.h"
#include "unicode.h"

namespace cairn {
namespace {

tl::unexpected<Error> Invalid(std::string message) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(message));
}

constexpr std::string_view kFormsHint =
    "; expected a UUID (8-4-4-4-12 hex digits), a 15-digit IMEI or a 16 to "
    "64 digit hex ID, see docs/token-scheme.md";

// Values that many devices report at once, so a match on them would flag
// unrelated people: the zeroed iOS IDFA / Android AAID of users who opted
// out of tracking, and the ANDROID_ID that a batch of Android 2.2 devices
// all returned.
constexpr std::array<std::string_view, 2> kSharedValues = {
    "hex:9774d56d682e549c",
    "uuid:ffffffff-ffff-ffff-ffff-ffffffffffff",
};

bool IsHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool AllHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), IsHex);
}

// The 32 hex digits of a UUID written as 8-4-4-4-12 with hyphens, as 32
// bare digits, either in braces or after "urn:uuid:"; "" if not a UUID.
std::string UuidDigits(std::string_view s) {
  if (s.starts_with("urn:uuid:")) {
    s.remove_prefix(9);
  } else if (s.size() >= 2 && s.front() == '{' && s.back() == '}') {
    s = s.substr(1, s.size() - 2);
  }
  if (s.size() == 32 && AllHex(s)) return std::string(s);
  if (s.size() != 36) return {};
  std::string digits;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const bool hyphen_position = i == 8 || i == 13 || i == 18 || i == 23;
    if (hyphen_position ? s[i] != '-' : !IsHex(s[i])) return {};
    if (!hyphen_position) digits.push_back(s[i]);
  }
  return digits;
}

// The digits of an IMEI written with optional spaces or hyphens; "" if the
// text is not digits and separators.
std::string ImeiDigits(std::string_view s) {
  std::string digits;
  for (char c : s) {
    if (IsDigit(c)) {
      digits.push_back(c);
    } else if (c != ' ' && c != '-') {
      return {};
    }
  }
  return digits;
}

bool LuhnValid(std::string_view digits) {
  int sum = 0;
  bool twice = false;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    int d = *it - '0';
    if (twice) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
    twice = !twice;
  }
  return sum % 10 == 0;
}

Result<std::string> AsImei(std::string_view s) {
  const std::string digits = ImeiDigits(s);
  if (s.find_first_not_of("0123456789 -") != std::string_view::npos) {
    return Invalid(
        "device identifier is not an IMEI: it may hold only "
        "digits, spaces and hyphens");
  }
  if (digits.size() != 15) {
    return Invalid(
        "device identifier is not an IMEI: it needs exactly 15 "
        "digits (spaces and hyphens allowed), got " +
        std::to_string(digits.size()) + " digits");
  }
  if (!LuhnValid(digits)) {
    return Invalid(
        "IMEI check digit is wrong (Luhn check failed); re-read "
        "the number, one digit is probably mistyped");
  }
  return "imei:" + digits;
}

Result<std::string> AsUuid(std::string_view s) {
  std::string digits = UuidDigits(s);
  if (digits.empty()) {
    return Invalid(
        "device identifier is not a UUID: expected 32 hex digits "
        "as 8-4-4-4-12, optionally in braces");
  }
  return "uuid:" + digits.substr(0, 8) + "-" + digits.substr(8, 4) + "-" +
         digits.substr(12, 4) + "-" + digits.substr(16, 4) + "-" +
         digits.substr(20);
}

Result<std::string> AsHex(std::string_view s) {
  if (!AllHex(s) || s.size() < 16 || s.size() > 64 || s.size() % 2 != 0 ||
      s.size() == 32) {
    return Invalid(
        "device identifier is not a hex ID: expected an even "
        "number (16 to 64, not 32, which is a UUID) of hex "
        "digits without separators");
  }
  return "hex:" + std::string(s);
}

Result<std::string> Classify(std::string_view s) {
  if (s.starts_with("imei:")) return AsImei(s.substr(5));
  if (s.starts_with("uuid:")) return AsUuid(s.substr(5));
  if (s.starts_with("hex:")) return AsHex(s.substr(4));
  const std::string imei = ImeiDigits(s);
  if (imei.size() == 15) return AsImei(s);
  if (imei.size() == 14) {
    return Invalid(
        "device identifier has 14 digits: an IMEI needs its 15th "
        "(check) digit" +
        std::string(kFormsHint));
  }
  if (!UuidDigits(s).empty()) return AsUuid(s);
  if (!s.empty() && AllHex(s)) return AsHex(s);
  return Invalid("device identifier has an unrecognised form" +
                 std::string(kFormsHint));
}

}  // namespace

Result<std::string> NormaliseDevice(std::string_view raw) {
  auto trimmed = internal::DecodeAndTrim(raw, "device identifier");
  if (!trimmed) return tl::unexpected(trimmed.error());
  // NFKC turns fullwidth digits and letters into ASCII.
  auto folded = internal::Nfkc(*trimmed);
  if (!folded) return tl::unexpected(folded.error());
  std::string text = internal::ToUtf8(*folded);
  if (text.empty()) {
    return Invalid("device identifier is empty" + std::string(kFormsHint));
  }
  for (char& c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      return Invalid("device identifier contains non-ASCII characters" +
                     std::string(kFormsHint));
    }
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  auto out = Classify(text);
  if (!out) return out;
  const std::string_view payload =
      std::string_view(*out).substr(out->find(':') + 1);
  if (std::all_of(payload.begin(), payload.end(),
                  [](char c) { return c == '0' || c == '-'; })) {
    return Invalid(
        "device identifier is all zeros: that is what devices report when "
        "the user opted out of tracking or the ID is unavailable, and it is "
        "shared by millions of devices; do not submit it");
  }
  if (std::find(kSharedValues.begin(), kSharedValues.end(), *out) !=
      kSharedValues.end()) {
    return Invalid(
        "device identifier is a well-known value shared by many "
        "devices, so it cannot identify one account; do not "
        "submit it");
  }
  return out;
}

}  // namespace cairn
