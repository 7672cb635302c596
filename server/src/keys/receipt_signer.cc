#include "server/src/keys/receipt_signer.h"

#include "cairn/encoding.h"
#include "cairn/receipt.h"

namespace cairn::server {

wire::Receipt SignReceipt(const HubKeyring& keyring, std::string member,
                          std::string request_id, std::string_view endpoint,
                          std::string request_digest,
                          std::string results_digest) {
  wire::Receipt receipt;
  receipt.alg = std::string(kReceiptAlgorithm);
  receipt.member = std::move(member);
  receipt.request_id = std::move(request_id);
  receipt.endpoint = std::string(endpoint);
  receipt.request_digest = std::move(request_digest);
  receipt.results_digest = std::move(results_digest);
  const HubSignature signature =
      keyring.SignNamed([&](const std::string& key_id, sys_seconds at) {
        receipt.key_id = key_id;
        receipt.at = at;
        const auto digest = ReceiptDigest(receipt);
        return std::vector<std::uint8_t>(digest.begin(), digest.end());
      });
  receipt.signature = Base64Encode(signature.signature);
  return receipt;
}

}  // namespace cairn::server
