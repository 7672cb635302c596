// Hex and base64 encodings of byte strings (libsodium underneath).
#ifndef CAIRN_ENCODING_H_
#define CAIRN_ENCODING_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/result.h"

namespace cairn {

using Bytes = std::vector<std::uint8_t>;

// Lowercase hex, two characters per byte.
std::string HexEncode(std::span<const std::uint8_t> bytes);

// Decodes hex. Rejects odd lengths and non-hex characters. Accepts upper- and
// lowercase unless `lowercase_only` is set (the wire form of tokens).
Result<Bytes> HexDecode(std::string_view hex, bool lowercase_only = false);

// Standard base64 with padding (RFC 4648 section 4).
std::string Base64Encode(std::span<const std::uint8_t> bytes);

// Decodes standard padded base64; rejects anything else, including whitespace.
Result<Bytes> Base64Decode(std::string_view text);

}  // namespace cairn

#endif  // CAIRN_ENCODING_H_
