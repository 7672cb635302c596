// Harness "normalise": the identifier normalisers of profile n1
// (cairn/normalise.h).
//
// Input: byte 0 picks the normaliser, the rest is the raw identifier (for
// phones, bytes 1-2 are the default region). Besides memory and UB errors it
// checks the property tokens depend on: normalising an accepted output again
// gives the same output (otherwise two members holding the "same" identifier
// could derive different tokens), and that the output is valid UTF-8
// without the input's surrounding whitespace.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cairn/normalise.h"
#include "cairn/result.h"
#include "fuzz/fuzz_util.h"

namespace {

using cairn::fuzz::Check;

bool IsValidUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t extra = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    const std::uint32_t min[] = {0, 0x80, 0x800, 0x10000};
    if (cp < min[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

template <typename Normaliser>
void Idempotent(std::string_view raw, Normaliser normalise,
                bool is_handle = false) {
  const cairn::Result<std::string> once = normalise(raw);
  if (!once) {
    Check(!once.error().message.empty(), "error without a message");
    return;
  }
  Check(!once->empty(), "accepted identifier normalised to \"\"");
  Check(IsValidUtf8(*once), "normalised output is not valid UTF-8");
  // Documented exception (docs/token-scheme.md): a handle whose name
  // still starts with '@' loses it on the next pass.
  if (is_handle && once->find(":@") != std::string::npos) return;
  const cairn::Result<std::string> twice = normalise(*once);
  Check(twice.has_value(), "normalised output is rejected when normalised");
  Check(*twice == *once, "normalisation is not idempotent");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  if (size == 0) return 0;
  const std::string_view raw = cairn::fuzz::AsText(data + 1, size - 1);
  switch (data[0] % 7) {
    case 0:
      Idempotent(raw,
                 [](std::string_view s) { return cairn::NormaliseEmail(s); });
      break;
    case 1: {
      // Region from the first two bytes; numbers written in E.164 (the
      // output) must not need it.
      const std::string_view region = raw.substr(0, 2);
      const std::string_view number = raw.size() > 2 ? raw.substr(2) : "";
      const auto once = cairn::NormalisePhone(number, region);
      if (once) {
        Check(IsValidUtf8(*once), "phone output is not valid UTF-8");
        const auto twice = cairn::NormalisePhone(*once, "");
        Check(twice.has_value(), "E.164 output is rejected without a region");
        Check(*twice == *once, "phone normalisation is not idempotent");
      }
      break;
    }
    case 2:
      Idempotent(
          raw,
          [](std::string_view s) {
            return cairn::NormaliseHandle(s, {"examplesocial"});
          },
          /*is_handle=*/true);
      break;
    case 3:
      Idempotent(raw,
                 [](std::string_view s) { return cairn::NormaliseDevice(s); });
      break;
    case 4:
      Idempotent(raw,
                 [](std::string_view s) { return cairn::NormaliseUrl(s); });
      break;
    case 5:
      Idempotent(raw,
                 [](std::string_view s) { return cairn::NormaliseCustom(s); });
      break;
    case 6: {
      // The dispatcher: kind up to the first ':' (unknown kinds included).
      const auto colon = raw.find(':');
      if (colon == std::string_view::npos) break;
      cairn::NormaliseOptions options;
      options.default_region = "GB";
      options.custom_kinds.insert("x-custom");
      const auto result = cairn::Normalise(raw.substr(0, colon),
                                           raw.substr(colon + 1), options);
      if (!result) Check(!result.error().message.empty(), "no message");
      break;
    }
  }
  return 0;
}
