// Signs audit-log checkpoints (server/src/store/audit_writer.h) with the
// hub's current signing key.
#ifndef CAIRN_SERVER_KEYS_CHECKPOINT_SIGNER_H_
#define CAIRN_SERVER_KEYS_CHECKPOINT_SIGNER_H_

#include <memory>

#include "server/src/keys/hub_keyring.h"
#include "server/src/store/store.h"

namespace cairn::server {

// A checkpoint signer for SqliteStoreOptions::checkpoint_signer: each
// checkpoint is dated by the keyring's clock at signing
// (HubKeyring::SignNamed), so its time is within the signing key's
// validity even when a rotation happens during the batch. REQUIRES:
// keyring != nullptr. Thread-safe.
CheckpointSigner MakeCheckpointSigner(
    std::shared_ptr<const HubKeyring> keyring);

}  // namespace cairn::server

#endif  // CAIRN_SERVER_KEYS_CHECKPOINT_SIGNER_H_
