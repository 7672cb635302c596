// The address of a hub as users write it: "https://host:port".
#ifndef CAIRN_HUB_URL_H_
#define CAIRN_HUB_URL_H_

#include <string>
#include <string_view>

#include "cairn/result.h"

namespace cairn {

struct HubAddress {
  std::string host;  // name or IP address, IPv6 without brackets
  std::string port;  // "443" when the URL gives none
};

// Parses "https://host[:port][/...]" and "https://[v6addr][:port]"; any path
// is ignored. Errors say what form is expected.
Result<HubAddress> ParseHubUrl(std::string_view url);

}  // namespace cairn

#endif  // CAIRN_HUB_URL_H_
