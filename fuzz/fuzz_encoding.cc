// Harness "encoding": hex and base64 decoding (cairn/encoding.h).
//
// Input: byte 0 picks the decoder, the rest is the text. Checks that an
// accepted text re-encodes to itself (lowercased for hex): the decoders
// must accept exactly the canonical form, since tokens and signatures are
// compared by their text in places.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cairn/encoding.h"
#include "fuzz/fuzz_util.h"

namespace {

using cairn::fuzz::Check;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text = cairn::fuzz::AsText(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
    case 1: {
      const bool lowercase_only = data[0] % 3 == 1;
      const auto bytes = cairn::HexDecode(text, lowercase_only);
      if (!bytes) {
        Check(!bytes.error().message.empty(), "hex error without a message");
        break;
      }
      Check(bytes->size() * 2 == text.size(), "hex: wrong decoded length");
      const std::string again = cairn::HexEncode(*bytes);
      Check(again == Lower(text), "hex: HexEncode(HexDecode(x)) != lower(x)");
      if (lowercase_only) Check(again == text, "hex: accepted uppercase");
      break;
    }
    case 2: {
      const auto bytes = cairn::Base64Decode(text);
      if (!bytes) {
        Check(!bytes.error().message.empty(), "b64 error without a message");
        break;
      }
      Check(cairn::Base64Encode(*bytes) == text,
            "base64: Base64Encode(Base64Decode(x)) != x (non-canonical "
            "input accepted)");
      break;
    }
  }
  return 0;
}
