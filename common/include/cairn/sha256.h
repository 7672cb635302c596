// SHA-256 (FIPS 180-4) for the hub's and SDK's digests: receipts,
// the idempotency digest of a submission.
//
// Through OpenSSL rather than libsodium: OpenSSL uses the CPU's SHA
// extensions or AVX2, and libsodium's portable C ran at a fifth of its
// speed on the project machine (docs/performance.md). Both give the same
// digest; the tests check the FIPS 180-2 examples.
#ifndef CAIRN_SHA256_H_
#define CAIRN_SHA256_H_

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

struct evp_md_ctx_st;

namespace cairn {

using Sha256Digest = std::array<std::uint8_t, 32>;

// Incremental hashing: Update any number of times, then Final once.
// Not copyable; one instance per thread. Throws std::bad_alloc when OpenSSL
// cannot allocate its context, the only way its SHA-256 fails.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  Sha256& Update(std::span<const std::uint8_t> bytes);
  Sha256& Update(std::string_view bytes);
  Sha256Digest Final();

 private:
  evp_md_ctx_st* ctx_;
};

// SHA-256 of `bytes` in one call.
Sha256Digest Sha256Of(std::string_view bytes);
Sha256Digest Sha256Of(std::span<const std::uint8_t> bytes);

}  // namespace cairn

#endif  // CAIRN_SHA256_H_
