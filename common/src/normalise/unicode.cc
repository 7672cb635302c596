#include "unicode.h"

#include <string>

#include <unicode/errorcode.h>
#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/uidna.h>
#include <unicode/utf8.h>

#include "cairn/normalise.h"

namespace cairn::internal {
namespace {

std::string What(std::string_view what) { return std::string(what); }

tl::unexpected<Error> IcuFailure(std::string_view step, UErrorCode code) {
  return MakeError(ErrorCode::kInternal,
                   std::string("Unicode ") + std::string(step) +
                       " failed inside ICU (" + u_errorName(code) +
                       "); this is a bug or a broken ICU installation, "
                       "please report it");
}

Result<icu::UnicodeString> Apply(const icu::Normalizer2* (*get)(UErrorCode&),
                                 std::string_view step,
                                 const icu::UnicodeString& s) {
  UErrorCode code = U_ZERO_ERROR;
  const icu::Normalizer2* normalizer = get(code);
  if (U_FAILURE(code)) return IcuFailure(step, code);
  icu::UnicodeString out = normalizer->normalize(s, code);
  if (U_FAILURE(code)) return IcuFailure(step, code);
  return out;
}

// The UTS #46 options of profile n1. Nontransitional processing keeps 'ß'
// and ZWJ/ZWNJ distinct, as IDNA2008 registries and current browsers do.
constexpr uint32_t kIdnaOptions =
    UIDNA_USE_STD3_RULES | UIDNA_CHECK_BIDI | UIDNA_CHECK_CONTEXTJ |
    UIDNA_NONTRANSITIONAL_TO_ASCII | UIDNA_NONTRANSITIONAL_TO_UNICODE;

// ICU documents a UTS46 instance as immutable and usable from many threads.
const UIDNA* Idna(UErrorCode& code) {
  static UErrorCode open_code = U_ZERO_ERROR;
  static UIDNA* const idna = uidna_openUTS46(kIdnaOptions, &open_code);
  code = open_code;
  return idna;
}

std::string DescribeIdnaErrors(uint32_t errors) {
  struct Bit {
    uint32_t bit;
    std::string_view text;
  };
  static constexpr Bit kBits[] = {
      {UIDNA_ERROR_EMPTY_LABEL, "an empty label (two dots in a row?)"},
      {UIDNA_ERROR_LABEL_TOO_LONG, "a label longer than 63 bytes"},
      {UIDNA_ERROR_DOMAIN_NAME_TOO_LONG, "more than 253 bytes"},
      {UIDNA_ERROR_LEADING_HYPHEN, "a label starting with '-'"},
      {UIDNA_ERROR_TRAILING_HYPHEN, "a label ending with '-'"},
      {UIDNA_ERROR_HYPHEN_3_4, "'--' in the third and fourth position"},
      {UIDNA_ERROR_LEADING_COMBINING_MARK,
       "a label starting with a combining mark"},
      {UIDNA_ERROR_DISALLOWED,
       "a character not allowed in domain names (spaces, '_', symbols)"},
      {UIDNA_ERROR_PUNYCODE, "a malformed xn-- label"},
      {UIDNA_ERROR_LABEL_HAS_DOT, "a dot inside a label"},
      {UIDNA_ERROR_INVALID_ACE_LABEL, "an invalid xn-- label"},
      {UIDNA_ERROR_BIDI, "mixed right-to-left and left-to-right text"},
      {UIDNA_ERROR_CONTEXTJ, "a misplaced zero-width joiner or non-joiner"},
      {UIDNA_ERROR_CONTEXTO_PUNCTUATION, "misplaced punctuation"},
      {UIDNA_ERROR_CONTEXTO_DIGITS, "mixed Arabic-Indic digit sets"},
  };
  std::string out;
  for (const Bit& b : kBits) {
    if ((errors & b.bit) == 0) continue;
    if (!out.empty()) out += ", ";
    out += b.text;
  }
  return out.empty() ? std::string("an IDNA error") : out;
}

}  // namespace

bool IsWhiteSpace(UChar32 c) { return u_isUWhiteSpace(c) != 0; }

bool IsSpaceOrIgnorable(UChar32 c) {
  return IsWhiteSpace(c) ||
         u_hasBinaryProperty(c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT) != 0;
}

bool IsControl(UChar32 c) { return u_charType(c) == U_CONTROL_CHAR; }

Result<icu::UnicodeString> DecodeAndTrim(std::string_view raw,
                                         std::string_view what) {
  if (raw.size() > kMaxRawIdentifierBytes) {
    return MakeError(ErrorCode::kInvalidArgument,
                     What(what) + " is " + std::to_string(raw.size()) +
                         " bytes long; identifiers are limited to " +
                         std::to_string(kMaxRawIdentifierBytes) +
                         " bytes, check that the right field was passed");
  }
  const auto* bytes = reinterpret_cast<const uint8_t*>(raw.data());
  const auto length = static_cast<int32_t>(raw.size());
  for (int32_t i = 0; i < length;) {
    const int32_t start = i;
    UChar32 c = 0;
    U8_NEXT(bytes, i, length, c);
    if (c < 0) {
      return MakeError(ErrorCode::kInvalidArgument,
                       What(what) + " is not valid UTF-8 (bad byte at offset " +
                           std::to_string(start) +
                           "); convert it to UTF-8 before normalising");
    }
  }
  return Trim(icu::UnicodeString::fromUTF8(
      icu::StringPiece(raw.data(), static_cast<int32_t>(raw.size()))));
}

icu::UnicodeString Trim(const icu::UnicodeString& s) {
  int32_t begin = 0;
  int32_t end = s.length();
  while (begin < end && IsSpaceOrIgnorable(s.char32At(begin))) {
    begin = s.moveIndex32(begin, 1);
  }
  while (end > begin) {
    const int32_t prev = s.moveIndex32(end, -1);
    if (!IsSpaceOrIgnorable(s.char32At(prev))) break;
    end = prev;
  }
  return icu::UnicodeString(s, begin, end - begin);
}

std::string ToUtf8(const icu::UnicodeString& s) {
  std::string out;
  s.toUTF8String(out);
  return out;
}

Result<icu::UnicodeString> Nfc(const icu::UnicodeString& s) {
  return Apply(&icu::Normalizer2::getNFCInstance, "NFC normalisation", s);
}

Result<icu::UnicodeString> Nfkc(const icu::UnicodeString& s) {
  return Apply(&icu::Normalizer2::getNFKCInstance, "NFKC normalisation", s);
}

Result<icu::UnicodeString> NfkcCasefold(const icu::UnicodeString& s) {
  return Apply(&icu::Normalizer2::getNFKCCasefoldInstance,
               "NFKC_Casefold normalisation", s);
}

icu::UnicodeString Lowercase(const icu::UnicodeString& s) {
  icu::UnicodeString out(s);
  out.toLower(icu::Locale::getRoot());
  return out;
}

Result<std::string> DomainToAscii(const icu::UnicodeString& domain,
                                  std::string_view what) {
  UErrorCode code = U_ZERO_ERROR;
  const UIDNA* idna = Idna(code);
  if (U_FAILURE(code) || idna == nullptr) return IcuFailure("IDNA", code);
  UChar buffer[512];
  UIDNAInfo info = UIDNA_INFO_INITIALIZER;
  const int32_t n =
      uidna_nameToASCII(idna, domain.getBuffer(), domain.length(), buffer,
                        static_cast<int32_t>(std::size(buffer)), &info, &code);
  if (code == U_BUFFER_OVERFLOW_ERROR ||
      code == U_STRING_NOT_TERMINATED_WARNING) {
    return MakeError(ErrorCode::kInvalidArgument,
                     What(what) + " is longer than 253 bytes; check it");
  }
  if (U_FAILURE(code)) return IcuFailure("IDNA", code);
  if (info.errors != 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     What(what) + " is not a valid domain name: it has " +
                         DescribeIdnaErrors(info.errors) +
                         "; correct the domain part");
  }
  std::string out;
  out.reserve(static_cast<std::size_t>(n));
  for (int32_t i = 0; i < n; ++i) out.push_back(static_cast<char>(buffer[i]));
  // A fully qualified name ("example.com.") names the same host.
  if (!out.empty() && out.back() == '.') out.pop_back();
  if (out.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     What(what) + " is empty; give a domain name");
  }
  return out;
}

}  // namespace cairn::internal
