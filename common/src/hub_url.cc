#include "cairn/hub_url.h"

namespace cairn {

Result<HubAddress> ParseHubUrl(std::string_view url) {
  constexpr std::string_view kScheme = "https://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "hub URL '" + std::string(url) +
                         "' must start with https:// (e.g. "
                         "https://hub.example:8443)");
  }
  std::string_view rest = url.substr(kScheme.size());
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    rest = rest.substr(0, slash);
  }
  HubAddress out;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "hub URL '" + std::string(url) +
                           "' has an unterminated IPv6 address");
    }
    out.host = std::string(rest.substr(1, close - 1));
    rest = rest.substr(close + 1);
    if (!rest.empty() && rest.front() == ':') out.port = rest.substr(1);
  } else {
    const auto colon = rest.rfind(':');
    out.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) out.port = rest.substr(colon + 1);
  }
  if (out.port.empty()) out.port = "443";
  if (out.host.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "hub URL '" + std::string(url) + "' has no host");
  }
  for (char c : out.port) {
    if (c < '0' || c > '9') {
      return MakeError(
          ErrorCode::kInvalidArgument,
          "hub URL '" + std::string(url) + "' has a port that is not a number");
    }
  }
  return out;
}

}  // namespace cairn
