// Why a caller may not make a request: the refusals the router gives before
// it reads a request's body (ApiRouter::CheckCaller), which the store gives
// again, in the same words, when a suspension, revocation or role change
// committed between that check and the command's place in the commit order.
#ifndef CAIRN_SERVER_STORE_STANDING_H_
#define CAIRN_SERVER_STORE_STANDING_H_

#include <string>
#include <string_view>

#include "cairn/vocabulary.h"

namespace cairn::server {

// The certificate with SHA-256 `fingerprint` has been revoked.
std::string RevokedCertificateMessage(std::string_view fingerprint);
// The certificate is not an active one of any member (or not of the member
// the command is for).
std::string UnregisteredCertificateMessage(std::string_view fingerprint);
// The member is suspended; `reason` may be empty.
std::string SuspendedMemberMessage(std::string_view member_id,
                                   std::string_view reason);
// The endpoint needs `role`, which the member does not hold.
std::string MissingRoleMessage(Role role, std::string_view member_id);

}  // namespace cairn::server

#endif  // CAIRN_SERVER_STORE_STANDING_H_
