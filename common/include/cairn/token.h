// Token derivation, scheme "hmac-v1", and the consortium key.
//
//   token = HMAC-SHA-256(consortium_key,
//                        "cairn-v1" || 0x00 || kind || 0x00 || normalised)
//
// The consortium key is shared by the members out of band and never given to
// the hub, so the hub cannot test guesses (every phone number of a country)
// against the tokens it stores. See docs/token-scheme.md.
//
// Thread-safety: every function here may be called concurrently; a
// ConsortiumKey is immutable after construction.
#ifndef CAIRN_TOKEN_H_
#define CAIRN_TOKEN_H_

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "cairn/normalise.h"
#include "cairn/result.h"
#include "cairn/vocabulary.h"

namespace cairn {

// Domain-separation label that starts every hmac-v1 message.
inline constexpr std::string_view kHmacV1Label = "cairn-v1";

// A 32-byte secret. The bytes are wiped when the object dies; there is no
// way to print or stream it (use Fingerprint() to tell keys apart).
class ConsortiumKey {
 public:
  static constexpr std::size_t kSize = 32;

  explicit ConsortiumKey(std::span<const std::uint8_t, kSize> bytes);
  ConsortiumKey(const ConsortiumKey& other);
  ConsortiumKey& operator=(const ConsortiumKey& other);
  ~ConsortiumKey();

  // A fresh key from the operating system's CSPRNG (libsodium).
  static ConsortiumKey Generate();

  // 32 lowercase hex characters that identify the key without revealing
  // it: BLAKE2b-128 keyed with the key over "cairn-v1 key fingerprint".
  // Members compare fingerprints to check they hold the same key.
  std::string Fingerprint() const;

  // The raw key bytes, for the derivation functions.
  std::span<const std::uint8_t, kSize> KeyBytes() const { return bytes_; }

 private:
  std::array<std::uint8_t, kSize> bytes_;
};

// Reads a key file: exactly 64 lowercase hex characters and one "\n" (a
// missing final newline is tolerated). Fails (kPermissionDenied) if the file
// is readable or writable by group or others, telling the user to run
// `chmod 600 FILE`, and (kInvalidArgument) on any other content.
Result<ConsortiumKey> LoadConsortiumKey(const std::string& path);

// Creates `path` with mode 0600 holding a new random key in the format read
// by LoadConsortiumKey, and syncs it to disk. Never overwrites: fails with
// kConflict if `path` exists.
Status WriteNewConsortiumKey(const std::string& path);

// HMAC-SHA-256 (RFC 2104) of `message` under a key of any length.
std::array<std::uint8_t, 32> HmacSha256(std::span<const std::uint8_t> key,
                                        std::string_view message);

// The hmac-v1 token of an already normalised identifier.
// REQUIRES: IsWellFormedKind(kind); `normalised` is the output of
// Normalise(kind, ...). Use Tokenise() unless you normalised yourself.
Token DeriveHmacV1Token(const ConsortiumKey& key, std::string_view kind,
                        std::string_view normalised);

// Normalise(kind, raw, options), then DeriveHmacV1Token.
Result<Token> Tokenise(const ConsortiumKey& key, std::string_view kind,
                       std::string_view raw,
                       const NormaliseOptions& options = {});

}  // namespace cairn

#endif  // CAIRN_TOKEN_H_
