#include "server/src/store/standing.h"

namespace cairn::server {

std::string RevokedCertificateMessage(std::string_view fingerprint) {
  // A revoked certificate cannot be registered again (409), so asking the
  // operator to register it would send the member the wrong way.
  return "the client certificate (SHA-256 fingerprint " +
         std::string(fingerprint) +
         ") has been revoked by the hub operator; use a new certificate and "
         "ask the operator to register it";
}

std::string UnregisteredCertificateMessage(std::string_view fingerprint) {
  return "the client certificate (SHA-256 fingerprint " +
         std::string(fingerprint) +
         ") is not registered to any member of this hub; ask the hub "
         "operator to register it";
}

std::string SuspendedMemberMessage(std::string_view member_id,
                                   std::string_view reason) {
  std::string message = "member '" + std::string(member_id) + "' is suspended";
  if (!reason.empty()) message += " (" + std::string(reason) + ")";
  message += "; contact the hub operator";
  return message;
}

std::string MissingRoleMessage(Role role, std::string_view member_id) {
  return "this endpoint needs the '" + std::string(ToString(role)) +
         "' role, which member '" + std::string(member_id) + "' does not have";
}

}  // namespace cairn::server
