#include "cairn/wire/types.h"

namespace cairn::wire {
namespace {

bool IsLowerHexChar(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool IsPrefixedId(std::string_view s, char prefix) {
  return s.size() == 34 && s[0] == prefix && s[1] == '_' &&
         IsLowerHex(s.substr(2), 32);
}

}  // namespace

bool IsLowerHex(std::string_view s, std::size_t length) {
  if (s.size() != length) return false;
  for (char c : s) {
    if (!IsLowerHexChar(c)) return false;
  }
  return true;
}

bool IsWellFormedMemberId(std::string_view s) {
  if (s.size() < 2 || s.size() > 32) return false;
  if (s[0] < 'a' || s[0] > 'z') return false;
  for (char c : s.substr(1)) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool IsWellFormedFingerprint(std::string_view s) { return IsLowerHex(s, 64); }
bool IsWellFormedMatchId(std::string_view s) { return IsPrefixedId(s, 'm'); }
bool IsWellFormedSignalId(std::string_view s) { return IsPrefixedId(s, 's'); }
bool IsWellFormedRequestId(std::string_view s) { return IsPrefixedId(s, 'r'); }

bool IsWellFormedCursor(std::string_view s) {
  if (s.empty() || s.size() > kMaxCursorBytes) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                    c == '~' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool IsWellFormedIdempotencyKey(std::string_view s) {
  if (s.empty() || s.size() > kMaxIdempotencyKeyBytes) return false;
  for (char c : s) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

}  // namespace cairn::wire
