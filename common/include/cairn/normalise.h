// Identifier normalisation, profile "n1".
//
// Before an identifier is turned into a token (cairn/token.h) it is brought to
// one canonical spelling per kind, so that two platforms holding the same
// account identifier derive the same token. The rules are specified, with
// example tables, in docs/token-scheme.md; any change to the output for any
// input is a new profile (n2, ...) because it changes every token.
//
// All functions here are pure (no I/O, no global mutable state) and safe to
// call concurrently from any number of threads.
//
// Error messages never repeat the raw identifier: errors end up in logs, and
// the whole point of Cairn is that raw identifiers do not travel.
#ifndef CAIRN_NORMALISE_H_
#define CAIRN_NORMALISE_H_

#include <functional>
#include <set>
#include <span>
#include <string>
#include <string_view>

#include "cairn/result.h"

namespace cairn {

// The normalisation profile implemented by this library.
inline constexpr std::string_view kNormalisationProfile = "n1";

// Raw identifiers longer than this many bytes are rejected before any work.
inline constexpr std::size_t kMaxRawIdentifierBytes = 4096;

struct NormaliseOptions {
  // ISO 3166-1 alpha-2 region ("GB", "US", case-insensitive) used to read
  // phone numbers written without an international prefix. Numbers that
  // start with '+' do not need it.
  // Default: "" (only international numbers are accepted).
  std::string default_region;

  // Handle services accepted in addition to BuiltinHandleServices(), as
  // lowercase ASCII names matching ^[a-z0-9][a-z0-9_.-]{0,31}$ (names that
  // do not match can never be used). The consortium agrees on these (the
  // hub knows nothing of services); every member must use the same set.
  // Default: empty.
  std::set<std::string, std::less<>> extra_handle_services;

  // Operator-registered custom identifier kinds (see IsWellFormedKind in
  // cairn/vocabulary.h). Their values get NormaliseCustom().
  // Default: empty.
  std::set<std::string, std::less<>> custom_kinds;
};

// Normalises `raw` as an identifier of `kind`: one of the built-in kinds
// ("email", "phone", "handle", "device", "url") or a kind listed in
// options.custom_kinds. Fails with kInvalidArgument for an unknown kind or an
// input that is not a valid identifier of that kind.
Result<std::string> Normalise(std::string_view kind, std::string_view raw,
                              const NormaliseOptions& options = {});

// "Jane.Doe+x@GoogleMail.com" -> "janedoe@gmail.com". Trim, NFC, lowercase,
// IDNA domain, provider rules from EmailProviderRules().
Result<std::string> NormaliseEmail(std::string_view raw);

// "020 7946 0958" with region "GB" -> "+442079460958" (E.164).
Result<std::string> NormalisePhone(std::string_view raw,
                                   std::string_view default_region);

// "Instagram:@Ｊａｎｅ" -> "instagram:jane". The service must be built in or
// listed in `extra_services`.
Result<std::string> NormaliseHandle(
    std::string_view raw,
    const std::set<std::string, std::less<>>& extra_services = {});

// Device and advertising identifiers, each form tagged with a prefix:
// "uuid:0f8fad5b-d9cb-469f-a165-70867728950e", "imei:490154203237518",
// "hex:3f2a9c41d07be865".
Result<std::string> NormaliseDevice(std::string_view raw);

// "HTTPS://Example.COM:443/a/%7euser?q=1#top" ->
// "https://example.com/a/~user?q=1". http and https only.
Result<std::string> NormaliseUrl(std::string_view raw);

// Custom kinds: trim Unicode whitespace and default-ignorable code points at
// both ends, then NFC. Rejects empty values and control characters.
Result<std::string> NormaliseCustom(std::string_view raw);

// The handle services every member knows without configuration, sorted.
std::span<const std::string_view> BuiltinHandleServices();

// True if `service` is built in or listed in `extra_services`.
bool IsKnownHandleService(
    std::string_view service,
    const std::set<std::string, std::less<>>& extra_services);

// One row of the email provider table (docs/token-scheme.md).
struct EmailProviderRule {
  std::string_view domain;            // ASCII domain as it appears
  std::string_view canonical_domain;  // domain written to the output
  bool drop_dots;                     // remove '.' from the local part
  bool strip_plus_tag;                // remove "+anything" from local part
};

// The provider table of profile n1. Domains not listed keep their local
// part unchanged (apart from NFC and lowercase).
std::span<const EmailProviderRule> EmailProviderRules();

}  // namespace cairn

#endif  // CAIRN_NORMALISE_H_
