// Typed identifiers: what callers hand to the SDK instead of tokens.
//
// An Identifier holds the raw value as the caller knows it. The SDK
// normalises and tokenises it in-process (cairn/normalise.h, cairn/token.h);
// the raw value is never sent to the hub, logged or put in an error message.
#ifndef CAIRN_CLIENT_IDENTIFIERS_H_
#define CAIRN_CLIENT_IDENTIFIERS_H_

#include <string>
#include <string_view>

namespace cairn {

class Identifier {
 public:
  // "Jane.Doe+x@GoogleMail.com"
  static Identifier Email(std::string value);
  // "020 7946 0958" with region "GB"; an empty region uses
  // ClientOptions::default_region. "+44..." needs no region.
  static Identifier Phone(std::string value, std::string region = {});
  // Handle("discord", "jane") — the service must be built in or registered.
  static Identifier Handle(std::string_view service, std::string_view handle);
  // "uuid:...", "imei:...", "hex:..." or a bare UUID/IMEI.
  static Identifier Device(std::string value);
  static Identifier Url(std::string value);
  // An operator-registered kind, ^[a-z][a-z0-9_]{1,31}$.
  static Identifier Custom(std::string kind, std::string value);

  const std::string& kind() const { return kind_; }
  const std::string& value() const { return value_; }
  // The region for phone numbers; empty: the client's default.
  const std::string& region() const { return region_; }

  bool operator==(const Identifier&) const = default;

 private:
  Identifier(std::string kind, std::string value, std::string region = {})
      : kind_(std::move(kind)),
        value_(std::move(value)),
        region_(std::move(region)) {}
  std::string kind_;
  std::string value_;
  std::string region_;
};

}  // namespace cairn

#endif  // CAIRN_CLIENT_IDENTIFIERS_H_
