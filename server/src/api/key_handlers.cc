// POST /v1/admin/keys/rotate (operator): a new hub signing key becomes
// current; older keys stay published in /v1/me so that what they signed
// still verifies (docs/adr/0005-hub-keys.md).
#include "cairn/receipt.h"
#include "cairn/wire.h"
#include "server/src/api/api_router.h"
#include "server/src/api/call.h"
#include "server/src/keys/hub_keyring.h"

namespace cairn::server {

void ApiRouter::HandleAdminRotateKeys(const CallPtr& call) {
  if (!options_.keyring) {
    return call->Fail(ErrorCode::kNotFound,
                      "this hub has no signing keys configured; set [keys] "
                      "dir in the cairnd config and restart");
  }
  // The body is `{}` like the other admin actions; anything else is a
  // client that meant some other request, and must not rotate the key.
  if (auto decoded = wire::DecodeEmptyRequest(call->request.body()); !decoded) {
    return call->Fail(decoded.error());
  }
  auto rotated = options_.keyring->Rotate();
  AuditEvent event;
  event.request_id = call->request_id;
  event.actor = call->member.member_id;
  event.fingerprint = call->peer.fingerprint;
  event.action = "keys.rotate";
  if (rotated) {
    const auto keys = options_.keyring->PublicKeys();
    // The key that was current before is the second newest.
    const std::string previous = keys.size() > 1 ? keys[1].key_id : "";
    event.details = "{\"key_id\":\"" + rotated->key_id + "\",\"previous\":\"" +
                    previous + "\"}";
  } else {
    event.details = "{}";
    event.result = std::string(ErrorCodeName(rotated.error().code));
  }
  store_.RecordAudit(std::move(event), [call, keyring = options_.keyring,
                                        rotated](Status recorded) {
    if (!rotated) return call->Fail(rotated.error());
    if (!recorded) return call->Fail(recorded.error());
    HubKeysResponse response;
    response.hub_keys = ToWireKeys(keyring->PublicKeys());
    call->items = response.hub_keys.size();
    call->Finish(200, Encode(response));
  });
}

}  // namespace cairn::server
