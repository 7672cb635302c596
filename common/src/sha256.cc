#include "cairn/sha256.h"

#include <openssl/evp.h>

#include <new>

namespace cairn {

namespace {

// EVP's SHA-256 fails only when it cannot allocate; report that the way
// C++ reports allocation failure rather than return a wrong digest.
void Check(int ok) {
  if (ok != 1) throw std::bad_alloc();
}

// Fetched once: EVP_sha256() is a legacy handle that OpenSSL 3 resolves
// by an implicit fetch on every EVP_DigestInit (a lock and a lookup in
// its method store each time; OpenSSL's migration guide recommends
// explicit fetching where performance matters). Never freed: it lives as
// long as the process.
const EVP_MD* Sha256Md() {
  static const EVP_MD* const md = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
    return fetched != nullptr ? static_cast<const EVP_MD*>(fetched)
                              : EVP_sha256();
  }();
  return md;
}

}  // namespace

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr) throw std::bad_alloc();
  if (EVP_DigestInit_ex(ctx_, Sha256Md(), nullptr) != 1) {
    EVP_MD_CTX_free(ctx_);
    throw std::bad_alloc();
  }
}

Sha256::~Sha256() { EVP_MD_CTX_free(ctx_); }

Sha256& Sha256::Update(std::span<const std::uint8_t> bytes) {
  Check(EVP_DigestUpdate(ctx_, bytes.data(), bytes.size()));
  return *this;
}

Sha256& Sha256::Update(std::string_view bytes) {
  Check(EVP_DigestUpdate(ctx_, bytes.data(), bytes.size()));
  return *this;
}

Sha256Digest Sha256::Final() {
  Sha256Digest out{};
  Check(EVP_DigestFinal_ex(ctx_, out.data(), nullptr));
  return out;
}

Sha256Digest Sha256Of(std::string_view bytes) {
  Sha256Digest out{};
  Check(EVP_Digest(bytes.data(), bytes.size(), out.data(), nullptr,
                   Sha256Md(), nullptr));
  return out;
}

Sha256Digest Sha256Of(std::span<const std::uint8_t> bytes) {
  Sha256Digest out{};
  Check(EVP_Digest(bytes.data(), bytes.size(), out.data(), nullptr,
                   Sha256Md(), nullptr));
  return out;
}

}  // namespace cairn
