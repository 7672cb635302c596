// SHA-256 against the FIPS 180-2 examples (Appendix B), fed whole and in
// pieces, and against libsodium's implementation on other lengths.
#include "cairn/sha256.h"

#include <sodium.h>

#include <catch2/catch.hpp>
#include <string>

#include "cairn/encoding.h"

namespace cairn {
namespace {

TEST_CASE("SHA-256 matches the FIPS 180-2 examples") {
  struct Case {
    std::string message;
    const char* digest;
  };
  const Case cases[] = {
      {"abc",
       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
      {std::string(1000000, 'a'),
       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
      {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
  };
  for (const Case& c : cases) {
    INFO("message of " << c.message.size() << " bytes");
    CHECK(HexEncode(Sha256Of(c.message)) == c.digest);
    Sha256 pieces;
    for (std::size_t at = 0; at < c.message.size(); at += 7) {
      pieces.Update(std::string_view(c.message).substr(at, 7));
    }
    CHECK(HexEncode(pieces.Final()) == c.digest);
  }
}

TEST_CASE("SHA-256 agrees with libsodium on every length up to 300 bytes") {
  REQUIRE(sodium_init() >= 0);
  std::vector<std::uint8_t> bytes;
  for (std::size_t n = 0; n <= 300; ++n) {
    Sha256Digest expected{};
    crypto_hash_sha256(expected.data(), bytes.data(), bytes.size());
    INFO(n << " bytes");
    CHECK(Sha256Of(std::span<const std::uint8_t>(bytes)) == expected);
    bytes.push_back(static_cast<std::uint8_t>(n * 31 + 7));
  }
}

}  // namespace
}  // namespace cairn
