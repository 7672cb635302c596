// phone: libphonenumber parse with a default region, E.164 (profile n1).
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include "cairn/normalise.h"
#include "unicode.h"

namespace cairn {
namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

tl::unexpected<Error> Invalid(std::string message) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(message));
}

// Uppercases and checks the default region; "" becomes libphonenumber's
// "unknown region", which accepts only numbers starting with '+'.
Result<std::string> CheckRegion(const PhoneNumberUtil& util,
                                std::string_view region) {
  if (region.empty()) return std::string("ZZ");
  std::string upper(region);
  for (char& c : upper) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  const bool letters = upper.size() == 2 && upper[0] >= 'A' &&
                       upper[0] <= 'Z' && upper[1] >= 'A' && upper[1] <= 'Z';
  if (!letters || util.GetCountryCodeForRegion(upper) == 0) {
    return Invalid("default region '" + std::string(region) +
                   "' is not a known ISO 3166-1 alpha-2 region; use a "
                   "two-letter code such as GB or US");
  }
  return upper;
}

}  // namespace

Result<std::string> NormalisePhone(std::string_view raw,
                                   std::string_view default_region) {
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  auto region = CheckRegion(util, default_region);
  if (!region) return tl::unexpected(region.error());
  auto trimmed = internal::DecodeAndTrim(raw, "phone number");
  if (!trimmed) return tl::unexpected(trimmed.error());
  if (trimmed->isEmpty()) {
    return Invalid(
        "phone number is empty; give the number, ideally in "
        "international form (+<country code> ...)");
  }
  // libphonenumber knows ASCII and a few other spaces as separators; make
  // every Unicode space one, and drop invisible characters, first.
  icu::UnicodeString cleaned;
  for (int32_t i = 0; i < trimmed->length(); i = trimmed->moveIndex32(i, 1)) {
    const UChar32 c = trimmed->char32At(i);
    if (internal::IsWhiteSpace(c)) {
      cleaned.append(static_cast<UChar32>(' '));
    } else if (!internal::IsSpaceOrIgnorable(c)) {
      cleaned.append(c);
    }
  }

  PhoneNumber number;
  switch (util.Parse(internal::ToUtf8(cleaned), *region, &number)) {
    case PhoneNumberUtil::NO_PARSING_ERROR:
      break;
    case PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR:
      if (*region == "ZZ") {
        return Invalid(
            "phone number has no international prefix and no default region "
            "is set; write it as +<country code> <number> or configure the "
            "default region (e.g. GB)");
      }
      return Invalid(
          "phone number starts with an unknown country calling "
          "code; check the digits after '+'");
    case PhoneNumberUtil::NOT_A_NUMBER:
      return Invalid(
          "phone number is not a phone number (too few digits or "
          "unexpected characters); check the field");
    case PhoneNumberUtil::TOO_SHORT_AFTER_IDD:
    case PhoneNumberUtil::TOO_SHORT_NSN:
      return Invalid("phone number is too short for region " + *region +
                     "; check that no digits are missing");
    case PhoneNumberUtil::TOO_LONG_NSN:
      return Invalid("phone number is too long for region " + *region +
                     "; check for extra digits or two numbers in one field");
  }

  if (!util.IsValidNumber(number)) {
    std::string used;
    util.GetRegionCodeForCountryCode(number.country_code(), &used);
    // The region the number's own + prefix names is part of the number:
    // only the default region (a setting) is named.
    if (used != *region) {
      return Invalid(
          "phone number not valid for the country its +<country code> "
          "prefix names; check the digits after the country code");
    }
    return Invalid("phone number not valid for region " + used +
                   "; check the digits, or write it in international form "
                   "(+<country code> ...) if it belongs to another country");
  }
  std::string out;
  util.Format(number, PhoneNumberUtil::E164, &out);
  return out;
}

}  // namespace cairn
