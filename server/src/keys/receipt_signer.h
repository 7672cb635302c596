// Makes the signed receipts of submit, retract and query responses
// (format and digests: common/include/cairn/receipt.h).
#ifndef CAIRN_SERVER_KEYS_RECEIPT_SIGNER_H_
#define CAIRN_SERVER_KEYS_RECEIPT_SIGNER_H_

#include <string>
#include <string_view>

#include "cairn/wire/types.h"
#include "server/src/keys/hub_keyring.h"

namespace cairn::server {

// A receipt signed with the keyring's current key and dated by the
// keyring's clock at signing (HubKeyring::SignNamed: within that key's
// validity even across a rotation).
// `request_digest` is Sha256Hex(request body); `results_digest` is
// ResultsDigest(results) of the response being sent. Thread-safe.
wire::Receipt SignReceipt(const HubKeyring& keyring, std::string member,
                          std::string request_id, std::string_view endpoint,
                          std::string request_digest,
                          std::string results_digest);

}  // namespace cairn::server

#endif  // CAIRN_SERVER_KEYS_RECEIPT_SIGNER_H_
