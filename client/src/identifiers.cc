#include "cairn/identifiers.h"

namespace cairn {

Identifier Identifier::Email(std::string value) {
  return Identifier("email", std::move(value));
}
Identifier Identifier::Phone(std::string value, std::string region) {
  return Identifier("phone", std::move(value), std::move(region));
}
Identifier Identifier::Handle(std::string_view service,
                              std::string_view handle) {
  std::string value;
  value.reserve(service.size() + 1 + handle.size());
  value.append(service).append(":").append(handle);
  return Identifier("handle", std::move(value));
}
Identifier Identifier::Device(std::string value) {
  return Identifier("device", std::move(value));
}
Identifier Identifier::Url(std::string value) {
  return Identifier("url", std::move(value));
}
Identifier Identifier::Custom(std::string kind, std::string value) {
  return Identifier(std::move(kind), std::move(value));
}

}  // namespace cairn
