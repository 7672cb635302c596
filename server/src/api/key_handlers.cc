// POST /v1/admin/keys/rotate (operator): a new hub signing key becomes
// current; older keys stay published in /v1/me so that what they signed
// still verifies (docs/adr/0005-hub-keys.md).
#include <spdlog/spdlog.h>

#include "cairn/receipt.h"
#include "cairn/wire.h"
#include "server/src/api/api_router.h"
#include "server/src/api/call.h"
#include "server/src/keys/hub_keyring.h"

namespace cairn::server {

namespace {

std::string RotationDetails(const HubKeyring::PreparedRotation& rotation) {
  return "{\"key_id\":\"" + rotation.key_id + "\",\"previous\":\"" +
         rotation.previous + "\"}";
}

}  // namespace

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
  // Checked again here, after the body was read, so that no key is made
  // for an operator suspended, revoked or demoted meanwhile; the check
  // that counts is the store's, where the keys.rotate entry takes its
  // place in the commit order (RecordOperatorAction).
  if (auto refusal =
          CheckCaller(call->route, call->request, call->peer, call->member)) {
    return call->Fail(refusal->code, std::move(refusal->message));
  }
  std::shared_ptr<HubKeyring> keyring = options_.keyring;
  AuditEvent event;
  event.request_id = call->request_id;
  event.actor = call->member.member_id;
  event.fingerprint = call->peer.fingerprint;
  event.action = "keys.rotate";
  auto prepared = keyring->PrepareRotation();
  if (!prepared && prepared.error().code == ErrorCode::kConflict) {
    // Another rotation is between its audit entry and its switch; this one
    // touched nothing, like a malformed request.
    return call->Fail(prepared.error());
  }
  if (!prepared) {
    event.details = "{}";
    event.result = std::string(ErrorCodeName(prepared.error().code));
    store_.RecordAudit(
        std::move(event),
        [call, error = prepared.error()](const Status&) { call->Fail(error); });
    return;
  }
  // The audit entry commits before the new key becomes current, so that no
  // key signs anything without its keys.rotate entry in the log: an entry
  // that cannot be recorded leaves the rotation undone, and the answer can
  // say exactly that. The store appends it only if the operator still
  // holds standing there, so a rotation never follows an acknowledged
  // suspension, revocation or demotion of its operator.
  event.details = RotationDetails(*prepared);
  AuditEvent failed = event;
  // Captures the store, not the router: the router may be destroyed before
  // the store runs its queued callbacks.
  store_.RecordOperatorAction(std::move(event), [store = &store_, call, keyring,
                                                 rotation = *prepared,
                                                 failed = std::move(failed)](
                                                    const Status&
                                                        recorded) mutable {
    if (!recorded && recorded.error().code == ErrorCode::kPermissionDenied) {
      keyring->AbandonRotation(rotation.key_id);
      return call->Fail(recorded.error().code,
                        recorded.error().message +
                            "; the signing key was not rotated (" +
                            rotation.previous + " is still current)");
    }
    if (!recorded) {
      keyring->AbandonRotation(rotation.key_id);
      return call->Fail(recorded.error().code,
                        "the signing key was not rotated (" +
                            rotation.previous +
                            " is still current): its keys.rotate audit entry "
                            "could not be recorded: " +
                            recorded.error().message);
    }
    auto committed = keyring->CommitRotation(rotation.key_id);
    if (!committed) {
      // Rare (a keys-directory write failing right after the key's own
      // file was written); the log must not be left saying it happened.
      spdlog::error(
          "request_id={} keys.rotate: the audit log records the rotation to "
          "{} but it could not be made current, {} stays current: {}",
          call->request_id, rotation.key_id, rotation.previous,
          committed.error().ToString());
      failed.result = std::string(ErrorCodeName(committed.error().code));
      std::string message =
          "the signing key was not rotated (" + rotation.previous +
          " is still current): the audit log records the rotation to " +
          rotation.key_id + ", but that key could not be made current: " +
          committed.error().message;
      store->RecordAudit(
          std::move(failed), [call, message = std::move(message),
                              key_id = rotation.key_id](const Status& s) {
            call->Fail(ErrorCode::kUnavailable,
                       message +
                           (s ? "; a second keys.rotate entry records "
                                "this failure"
                              : "; the keys.rotate entry recording this "
                                "failure could not be written either (" +
                                    s.error().message +
                                    "), so the log wrongly shows " + key_id +
                                    " as made current") +
                           ". Fix the keys directory (see the hub's log), "
                           "then rotate again");
          });
      return;
    }
    HubKeysResponse response;
    response.hub_keys = ToWireKeys(*committed);
    call->items = response.hub_keys.size();
    call->Finish(200, Encode(response));
  });
}

}  // namespace cairn::server
