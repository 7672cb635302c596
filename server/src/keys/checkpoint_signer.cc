#include "server/src/keys/checkpoint_signer.h"

namespace cairn::server {

CheckpointSigner MakeCheckpointSigner(
    std::shared_ptr<const HubKeyring> keyring) {
  return [keyring = std::move(keyring)](const CheckpointMessageBuilder& build) {
    std::int64_t signed_at = 0;
    const HubSignature s =
        keyring->SignNamed([&](const std::string& key_id, sys_seconds at) {
          signed_at = at.time_since_epoch().count();
          return build(key_id, signed_at);
        });
    return CheckpointSignature{s.key_id, signed_at, s.signature};
  };
}

}  // namespace cairn::server
