// The hub's OPRF keys for token scheme voprf-v1, one per key epoch.
//
// Each epoch N is a file <dir>/epoch-N.key (N = 1, 2, ...) holding the
// 32-byte secret scalar as 64 lowercase hex characters and a newline, mode
// 0600. The highest N is the current epoch, announced in /v1/me; older
// files still present are evaluated too, so that members can re-derive
// their tokens under the new epoch during an overlap window (delete an
// epoch's file to end it). See docs/token-scheme.md, "Scheme voprf-v1".
#ifndef CAIRN_SERVER_OPRF_OPRF_KEYRING_H_
#define CAIRN_SERVER_OPRF_OPRF_KEYRING_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include "cairn/oprf.h"
#include "cairn/result.h"

namespace cairn::server {

// Immutable after Open: thread-safe.
class OprfKeyring {
 public:
  // Loads every epoch-N.key in `dir`. When the directory holds none and
  // `create_if_empty`, creates it (mode 0700) and a random epoch 1. Fails
  // (kPermissionDenied) on a key file that group or others may access,
  // (kInvalidArgument) on a malformed or zero key, and (kNotFound) when
  // there is no key and !create_if_empty.
  static Result<std::shared_ptr<const OprfKeyring>> Open(
      const std::filesystem::path& dir, bool create_if_empty);

  std::uint32_t CurrentEpoch() const { return current_; }
  // Epochs with a key, ascending.
  std::vector<std::uint32_t> Epochs() const;
  bool HasEpoch(std::uint32_t epoch) const { return keys_.contains(epoch); }
  // REQUIRES: HasEpoch(epoch).
  const oprf::Element& PublicKey(std::uint32_t epoch) const;

  // RFC 9497 VOPRF BlindEvaluateBatch under the key of `epoch`: one
  // evaluated element per blinded element and one proof for the batch.
  // Fails (kNotFound) for an unknown epoch and (kInvalidArgument, with
  // Error::index) for an invalid element.
  Result<oprf::BatchEvaluation> Evaluate(
      std::uint32_t epoch, std::span<const oprf::Element> blinded) const;

 private:
  OprfKeyring() = default;
  std::map<std::uint32_t, std::unique_ptr<oprf::KeyPair>> keys_;
  std::uint32_t current_ = 0;
};

// Writes a new random key as epoch (highest existing + 1, or 1) into `dir`,
// creating the directory (mode 0700) if needed; never overwrites. Run as
// root, gives the file (and a directory it made) the owner of the directory
// it is in (server/src/file_owner.h). Returns the new epoch. cairnd loads
// keys at start, so restart it afterwards.
Result<std::uint32_t> CreateNextOprfEpoch(const std::filesystem::path& dir);

}  // namespace cairn::server

#endif  // CAIRN_SERVER_OPRF_OPRF_KEYRING_H_
