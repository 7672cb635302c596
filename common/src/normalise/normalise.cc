// Dispatch by kind, and the rule for operator-registered custom kinds.
#include "cairn/normalise.h"

#include "unicode.h"

namespace cairn {

Result<std::string> Normalise(std::string_view kind, std::string_view raw,
                              const NormaliseOptions& options) {
  if (kind == "email") return NormaliseEmail(raw);
  if (kind == "phone") return NormalisePhone(raw, options.default_region);
  if (kind == "handle") {
    return NormaliseHandle(raw, options.extra_handle_services);
  }
  if (kind == "device") return NormaliseDevice(raw);
  if (kind == "url") return NormaliseUrl(raw);
  if (options.custom_kinds.contains(kind)) return NormaliseCustom(raw);
  return MakeError(ErrorCode::kInvalidArgument,
                   "unknown identifier kind '" + std::string(kind) +
                       "'; use email, phone, handle, device or url, or a "
                       "custom kind registered by the hub operator");
}

Result<std::string> NormaliseCustom(std::string_view raw) {
  auto trimmed = internal::DecodeAndTrim(raw, "identifier");
  if (!trimmed) return tl::unexpected(trimmed.error());
  auto nfc = internal::Nfc(*trimmed);
  if (!nfc) return tl::unexpected(nfc.error());
  if (nfc->isEmpty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "identifier is empty after trimming whitespace; give a "
                     "value");
  }
  for (int32_t i = 0; i < nfc->length(); i = nfc->moveIndex32(i, 1)) {
    if (internal::IsControl(nfc->char32At(i))) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "identifier contains a control character (tab, "
                       "newline, NUL, ...); remove it");
    }
  }
  return internal::ToUtf8(*nfc);
}

}  // namespace cairn
