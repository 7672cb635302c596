// The hub's Ed25519 signing keys: receipts (cairn/receipt.h) and audit-log
// checkpoints are signed with the current key; older keys stay published so
// that what they signed still verifies (docs/adr/0005-hub-keys.md).
//
// On disk, one directory (default <data_dir>/keys) holds per key:
//   <key_id>.key  the 32-byte Ed25519 seed as 64 hex characters, mode 0600
//   <key_id>.pub  TOML: key_id, algorithm, public_key (base64), valid_from,
//                 valid_until (RFC 3339; absent for the current key)
// key_id = "hk_" + the first 16 hex characters of SHA-256(public key).
// and one file for the whole keyring:
//   signed-until  one RFC 3339 time, no earlier than any time a key has
//                 signed (HubKeyring::SigningFloor says why)
#ifndef CAIRN_SERVER_KEYS_HUB_KEYRING_H_
#define CAIRN_SERVER_KEYS_HUB_KEYRING_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <vector>

#include "cairn/result.h"
#include "cairn/wire/me.h"
#include "server/src/store/records.h"
#include "server/src/store/store.h"

namespace cairn::server {

struct HubPublicKey {
  std::string key_id;
  std::array<std::uint8_t, 32> public_key{};
  sys_seconds valid_from{};
  std::optional<sys_seconds> valid_until;  // nullopt: the current key

  bool operator==(const HubPublicKey&) const = default;
};

struct HubSignature {
  std::string key_id;
  std::array<std::uint8_t, 64> signature{};
};

// The wire form announced in /v1/me (public key as base64).
wire::HubKey ToWireKey(const HubPublicKey& key);
std::vector<wire::HubKey> ToWireKeys(const std::vector<HubPublicKey>& keys);

// Thread-safe: Sign and PublicKeys may run concurrently with Rotate.
class HubKeyring {
 public:
  // Loads every key in `dir`. When the directory holds no key (or does not
  // exist) and `create_if_empty`, creates it (mode 0700) and a first key;
  // otherwise that is kNotFound. Refuses (kPermissionDenied) a private key
  // file readable or writable by group or others, naming the file and
  // `chmod 600`. `clock` dates new keys and what SignNamed signs.
  static Result<std::shared_ptr<HubKeyring>> Open(
      const std::filesystem::path& dir, bool create_if_empty, Clock clock);

  HubKeyring(const HubKeyring&) = delete;
  HubKeyring& operator=(const HubKeyring&) = delete;
  ~HubKeyring();

  // Signs `message` with the current key.
  HubSignature Sign(std::span<const std::uint8_t> message) const;

  // Signs the message `build(key_id, at)` with the current key, for
  // messages that name their own key id and time (receipts, audit
  // checkpoints): a concurrent Rotate cannot make the named key and the
  // signing key differ. `at` is the keyring's time (SigningFloor), read
  // under the same lock as the choice of key: Rotate reads its time under
  // the exclusive lock, so `at` lies within the key's validity as
  // published (not before its valid_from, not after the valid_until a
  // later rotation gives it) — a time read before the call could precede
  // a rotation and then name a key not yet valid, which verifiers rightly
  // call forged. Before returning, makes sure signed-until covers `at`.
  using NamedMessageBuilder = std::function<std::vector<std::uint8_t>(
      const std::string& key_id, sys_seconds at)>;
  HubSignature SignNamed(const NamedMessageBuilder& build) const;

  // The keyring's time never goes back, across restarts too: SignNamed and
  // rotations are dated max(clock, SigningFloor()), the newest time any
  // key signed or was made or retired at (signed-until, the keys'
  // valid_from and valid_until). The hub's clock can go back: cairnd
  // --clock-from-system drops the time it ran ahead by. Were signatures
  // then dated by it, a key made while it ran ahead would sign before its
  // own valid_from, and the next rotation would retire the current key
  // before times it had already signed (members' receipts and the audit
  // log's checkpoints, which then fail verification as forged). Dated
  // no earlier than the floor, they stay at it until the clock passes it.
  sys_seconds SigningFloor() const;
  // Raises SigningFloor() to `at` (never lowers it). cairnd calls it at
  // start with the newest times its database recorded (audit entry,
  // checkpoint): a keys directory restored from a backup holds an older
  // signed-until than what the hub signed since.
  void RaiseSigningFloor(sys_seconds at);

  // The current key first, then older keys, newest first.
  std::vector<HubPublicKey> PublicKeys() const;

  // A rotation in two steps, so that the hub can record it in its audit
  // log before the new key signs anything:
  //   PrepareRotation makes the new key and writes only its private file,
  //   which Open ignores without its .pub (a crash leaves the old key
  //   current); key_id names the new key and previous the current one,
  //   which stays current until the commit (only a rotation changes it, and
  //   one rotation is prepared at a time: another is kConflict);
  //   CommitRotation makes it current: its .pub is written with valid_from
  //   = now (the keyring's time: SigningFloor) and the previous key gets
  //   valid_until = now and stays
  //   published. It returns the keys as they are then (PublicKeys order,
  //   the new key first). On failure nothing changed (the prepared key is
  //   discarded);
  //   AbandonRotation discards the prepared key.
  // `key_id` must name the prepared key (else kConflict / no-op).
  struct PreparedRotation {
    std::string key_id;
    std::string previous;
  };
  Result<PreparedRotation> PrepareRotation();
  Result<std::vector<HubPublicKey>> CommitRotation(const std::string& key_id);
  void AbandonRotation(const std::string& key_id);

  // Both steps at once (tools and tests; the hub audits in between).
  Result<HubPublicKey> Rotate();

  // Ids of the private keys Open found without their .pub: rotations a
  // stop (crash, kill -9) cut short between PrepareRotation and
  // CommitRotation, never current. Kept until DiscardAbandonedKeys, so
  // that the hub can first record in its audit log that such a rotation
  // did not happen (SettleAbandonedRotations).
  std::vector<std::string> AbandonedKeys() const;
  // Removes the files of AbandonedKeys(). Returns advice for the log when
  // one could not be removed ("" otherwise).
  std::string DiscardAbandonedKeys();

  const std::filesystem::path& dir() const { return dir_; }

 private:
  struct Key;
  HubKeyring(std::filesystem::path dir, Clock clock);
  // max(clock_(), floor), raising the floor to it. Under mutex_ (shared
  // suffices: the floor is atomic).
  sys_seconds NextTime() const;
  // Makes signed-until at least `at` before a signature dated `at` leaves.
  void CoverSigned(sys_seconds at) const;

  std::filesystem::path dir_;
  Clock clock_;
  // Seconds since the epoch: the newest time signed, made or retired at.
  mutable std::atomic<std::int64_t> floor_{0};
  // What signed-until holds (seconds since the epoch): a time up to
  // kSignedUntilAhead past floor_, so that it is written once a minute
  // rather than for every signature.
  mutable std::atomic<std::int64_t> signed_until_{0};
  mutable std::mutex signed_until_mutex_;  // serialises its writes
  mutable std::shared_mutex mutex_;
  std::vector<std::shared_ptr<const Key>> keys_;  // current first
  // Serialises rotations; separate from mutex_ so that preparing a key
  // (file writes) does not hold up signing.
  mutable std::mutex rotation_mutex_;
  std::shared_ptr<Key> prepared_;       // guarded by rotation_mutex_
  std::vector<std::string> abandoned_;  // guarded by rotation_mutex_
};

// Settles the rotations a stop cut short (HubKeyring::AbandonedKeys): when
// the newest keys.rotate entry in the audit log of the database at
// `db_path` names one of them with result "ok" (its entry committed, the
// switch never came), appends a keys.rotate entry with the same details
// and result "unavailable" through `store`, so that the log no longer
// claims a rotation that did not happen; then removes the abandoned key
// files. Returns what to log (one line per abandoned key). On an error
// (the entry could not be read or written) nothing is removed, so that the
// next start settles it again.
Result<std::vector<std::string>> SettleAbandonedRotations(
    HubKeyring& keyring, Store& store, const std::filesystem::path& db_path);

// The public keys in `dir` (no private key is read): offline tools such as
// audit verify, receipt verify and restore. Current first.
Result<std::vector<HubPublicKey>> LoadHubPublicKeys(
    const std::filesystem::path& dir);

}  // namespace cairn::server

#endif  // CAIRN_SERVER_KEYS_HUB_KEYRING_H_
