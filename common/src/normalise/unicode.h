// Unicode helpers shared by the normalisers (internal to cairn_common).
//
// ICU does the Unicode work; these wrappers turn its error codes into
// Results and fix the exact ICU settings profile n1 depends on.
#ifndef CAIRN_COMMON_SRC_NORMALISE_UNICODE_H_
#define CAIRN_COMMON_SRC_NORMALISE_UNICODE_H_

#include <string>
#include <string_view>

#include <unicode/unistr.h>

#include "cairn/result.h"

namespace cairn::internal {

// True for White_Space code points (tab, newline, NBSP, U+2000..U+200A,
// U+3000, ...) and for Default_Ignorable_Code_Point ones (U+200B, ZWJ,
// ZWNJ, U+FEFF, soft hyphen, ...): the invisible characters people paste.
bool IsSpaceOrIgnorable(UChar32 c);

// True for White_Space code points only.
bool IsWhiteSpace(UChar32 c);

// True for C0/C1 controls and other Cc code points.
bool IsControl(UChar32 c);

// Removes IsSpaceOrIgnorable code points from both ends.
icu::UnicodeString Trim(const icu::UnicodeString& s);

// Checks bounds and UTF-8 validity of `raw`, decodes it and trims
// IsSpaceOrIgnorable code points from both ends. `what` names the input in
// error messages ("email address").
Result<icu::UnicodeString> DecodeAndTrim(std::string_view raw,
                                         std::string_view what);

std::string ToUtf8(const icu::UnicodeString& s);

// Unicode NFC.
Result<icu::UnicodeString> Nfc(const icu::UnicodeString& s);

// Unicode NFKC.
Result<icu::UnicodeString> Nfkc(const icu::UnicodeString& s);

// NFKC_Casefold: NFKC, full case folding and removal of default-ignorable
// code points, in one pass.
Result<icu::UnicodeString> NfkcCasefold(const icu::UnicodeString& s);

// Full lowercase mapping in the root locale (so 'I' -> 'i' everywhere; a
// Turkish locale would give dotless 'ı').
icu::UnicodeString Lowercase(const icu::UnicodeString& s);

// IDNA (UTS #46, nontransitional, STD3 rules, Bidi and ContextJ checks)
// ToASCII of a domain name, e.g. "BÜCHER.example" -> "xn--bcher-kva.example".
// `what` names the input in error messages ("email domain").
Result<std::string> DomainToAscii(const icu::UnicodeString& domain,
                                  std::string_view what);

}  // namespace cairn::internal

#endif  // CAIRN_COMMON_SRC_NORMALISE_UNICODE_H_
