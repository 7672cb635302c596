// The data tables of profile n1: built-in handle services and email provider
// rules. Changing a row changes tokens, so it needs a new profile.
#include <algorithm>
#include <array>

#include "cairn/normalise.h"

namespace cairn {
namespace {

// Sorted, lowercase ASCII.
constexpr std::array<std::string_view, 24> kBuiltinHandleServices = {
    "bluesky", "discord",  "facebook",  "github",    "instagram", "kik",
    "line",    "mastodon", "minecraft", "pinterest", "reddit",    "roblox",
    "signal",  "skype",    "snapchat",  "steam",     "telegram",  "threads",
    "tiktok",  "twitch",   "wechat",    "whatsapp",  "x",         "youtube",
};

// Why these rows (docs/token-scheme.md explains each):
// - Gmail ignores dots and everything after '+' in the local part, and
//   googlemail.com is the same mailbox namespace as gmail.com.
// - Outlook.com, iCloud, Proton, Fastmail and Yandex deliver "user+tag" to
//   "user" but treat dots as significant, so only the tag is dropped.
// - Yahoo uses '-' for disposable addresses that are separate mailboxes,
//   and '+' is not a sub-address there; nothing is stripped.
// - Every other domain keeps its local part: elsewhere "a+b" and "a.b" may
//   be different people.
constexpr std::array<EmailProviderRule, 17> kEmailProviderRules = {{
    {"fastmail.com", "fastmail.com", false, true},
    {"gmail.com", "gmail.com", true, true},
    {"googlemail.com", "gmail.com", true, true},
    {"hotmail.com", "hotmail.com", false, true},
    {"hotmail.co.uk", "hotmail.co.uk", false, true},
    {"icloud.com", "icloud.com", false, true},
    {"live.com", "live.com", false, true},
    {"mac.com", "mac.com", false, true},
    {"me.com", "me.com", false, true},
    {"msn.com", "msn.com", false, true},
    {"outlook.com", "outlook.com", false, true},
    {"pm.me", "pm.me", false, true},
    {"proton.me", "proton.me", false, true},
    {"protonmail.com", "protonmail.com", false, true},
    {"yahoo.com", "yahoo.com", false, false},
    {"yandex.com", "yandex.com", false, true},
    {"yandex.ru", "yandex.ru", false, true},
}};

}  // namespace

std::span<const std::string_view> BuiltinHandleServices() {
  return kBuiltinHandleServices;
}

bool IsKnownHandleService(
    std::string_view service,
    const std::set<std::string, std::less<>>& extra_services) {
  return std::binary_search(kBuiltinHandleServices.begin(),
                            kBuiltinHandleServices.end(), service) ||
         extra_services.contains(service);
}

std::span<const EmailProviderRule> EmailProviderRules() {
  return kEmailProviderRules;
}

}  // namespace cairn
