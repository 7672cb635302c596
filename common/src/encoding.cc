#include "cairn/encoding.h"

#include <sodium.h>

namespace cairn {

std::string HexEncode(std::span<const std::uint8_t> bytes) {
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), bytes.data(), bytes.size());
  out.pop_back();  // sodium_bin2hex writes a terminating NUL
  return out;
}

Result<Bytes> HexDecode(std::string_view hex, bool lowercase_only) {
  if (hex.size() % 2 != 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "hex text has an odd number of characters (" +
                         std::to_string(hex.size()) + ")");
  }
  for (std::size_t i = 0; i < hex.size(); ++i) {
    const char c = hex[i];
    const bool digit = c >= '0' && c <= '9';
    const bool lower = c >= 'a' && c <= 'f';
    const bool upper = c >= 'A' && c <= 'F';
    if (!digit && !lower && !(upper && !lowercase_only)) {
      return MakeError(ErrorCode::kInvalidArgument,
                       std::string("character ") + std::to_string(i) +
                           " is not a " + (lowercase_only ? "lowercase " : "") +
                           "hex digit");
    }
  }
  // An empty vector's data() may be null, which sodium_hex2bin's nonnull
  // contract forbids (found by fuzz_encoding).
  if (hex.empty()) return Bytes{};
  Bytes out(hex.size() / 2);
  std::size_t written = 0;
  if (sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr,
                     &written, nullptr) != 0 ||
      written != out.size()) {
    return MakeError(ErrorCode::kInvalidArgument, "malformed hex text");
  }
  return out;
}

std::string Base64Encode(std::span<const std::uint8_t> bytes) {
  constexpr int kVariant = sodium_base64_VARIANT_ORIGINAL;
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), kVariant), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(),
                    kVariant);
  out.pop_back();  // terminating NUL
  return out;
}

Result<Bytes> Base64Decode(std::string_view text) {
  // libsodium 1.0.18's decoder takes some bytes >= 0x80 for base64 digits
  // ("J\x83\x83\x83..." decodes to 6 bytes; found by fuzz_encoding), so
  // the alphabet is checked here first.
  for (const char c : text) {
    const bool digit = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                       (c >= '0' && c <= '9') || c == '+' || c == '/' ||
                       c == '=';
    if (!digit) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "not valid padded base64 (RFC 4648 section 4): a "
                       "character outside A-Z a-z 0-9 + / =");
    }
  }
  Bytes out(text.size() / 4 * 3 + 3);
  std::size_t written = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(),
                        nullptr, &written, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "not valid padded base64 (RFC 4648 section 4)");
  }
  out.resize(written);
  return out;
}

}  // namespace cairn
