// hmac-v1 derivation: RFC 4231 vectors for the HMAC, the golden token file,
// and the consortium key file rules (docs/token-scheme.md).
#include "cairn/token.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "cairn/encoding.h"
#include "cairn/token_hash.h"

namespace cairn {
namespace {

std::string Repeat(std::string_view hex_byte, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += hex_byte;
  return out;
}

std::string Unhex(std::string_view hex) {
  auto bytes = HexDecode(hex);
  if (!bytes) return {};
  return std::string(bytes->begin(), bytes->end());
}

// The fixed key of the golden file: bytes 0x00, 0x01, ..., 0x1f.
ConsortiumKey TestKey() {
  std::array<std::uint8_t, 32> bytes;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    bytes[i] = static_cast<std::uint8_t>(i);
  }
  return ConsortiumKey(bytes);
}

TEST_CASE("HmacSha256 matches the RFC 4231 test vectors") {
  struct Vector {
    int number;
    std::string key_hex;
    std::string data;
    std::string_view mac_hex;  // shorter than 64 when the RFC truncates
  };
  const Vector vectors[] = {
      {1, Repeat("0b", 20), "Hi There",
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {2, "4a656665", "what do ya want for nothing?",
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {3, Repeat("aa", 20), Unhex(Repeat("dd", 50)),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {4, "0102030405060708090a0b0c0d0e0f10111213141516171819",
       Unhex(Repeat("cd", 50)),
       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      // Test case 5 publishes only the first 128 bits of the output, so
      // only those are compared.
      {5, Repeat("0c", 20), "Test With Truncation",
       "a3b6167473100ee06e0c796c2955552b"},
      // Keys longer than the block size are hashed first.
      {6, Repeat("aa", 131),
       "Test Using Larger Than Block-Size Key - Hash Key First",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {7, Repeat("aa", 131),
       "This is a test using a larger than block-size key and a larger than "
       "block-size data. The key needs to be hashed before being used by the "
       "HMAC algorithm.",
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
  };
  for (const Vector& v : vectors) {
    CAPTURE(v.number);
    auto key = HexDecode(v.key_hex);
    REQUIRE(key.has_value());
    const auto mac = HmacSha256(*key, v.data);
    CHECK(HexEncode(mac).substr(0, v.mac_hex.size()) == v.mac_hex);
  }
}

TEST_CASE("DeriveHmacV1Token is HMAC over the labelled message") {
  const ConsortiumKey key = TestKey();
  const std::string message =
      std::string("cairn-v1") + '\0' + "email" + '\0' + "jane@example.com";
  const auto want = HmacSha256(key.KeyBytes(), message);
  CHECK(DeriveHmacV1Token(key, "email", "jane@example.com") == want);
  // Kind and value are both bound: moving the boundary changes the token.
  CHECK(DeriveHmacV1Token(key, "email", "x") !=
        DeriveHmacV1Token(key, "phone", "x"));
  CHECK(DeriveHmacV1Token(key, "url", "a") !=
        DeriveHmacV1Token(key, "ur", "la"));
  // A different key gives a different token.
  std::array<std::uint8_t, 32> other{};
  other[0] = 1;
  CHECK(DeriveHmacV1Token(ConsortiumKey(other), "email", "x") !=
        DeriveHmacV1Token(key, "email", "x"));
}

TEST_CASE("Tokenise normalises first and reports normalisation errors") {
  const ConsortiumKey key = TestKey();
  auto a = Tokenise(key, "email", "  Jane.Doe+news@GoogleMail.com ");
  auto b = Tokenise(key, "email", "janedoe@gmail.com");
  REQUIRE(a.has_value());
  REQUIRE(b.has_value());
  CHECK(*a == *b);
  CHECK(*a == DeriveHmacV1Token(key, "email", "janedoe@gmail.com"));

  auto bad = Tokenise(key, "email", "not an address");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().code == ErrorCode::kInvalidArgument);
  auto bad_kind = Tokenise(key, "E-mail", "jane@example.com");
  REQUIRE_FALSE(bad_kind.has_value());
  CHECK_THAT(bad_kind.error().message, Catch::Contains("not well formed"));
  auto unknown = Tokenise(key, "shoe_size", "42");
  REQUIRE_FALSE(unknown.has_value());
  CHECK_THAT(unknown.error().message, Catch::Contains("unknown identifier"));
}

// Reverses the escapes of the golden file: \t \n \r \\ and \u{HEX}.
std::string Unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out.push_back(s[i]);
      continue;
    }
    const char e = s[++i];
    if (e == 't') {
      out.push_back('\t');
    } else if (e == 'n') {
      out.push_back('\n');
    } else if (e == 'r') {
      out.push_back('\r');
    } else if (e == 'u' && i + 1 < s.size() && s[i + 1] == '{') {
      const std::size_t close = s.find('}', i);
      const auto cp = static_cast<std::uint32_t>(
          std::stoul(std::string(s.substr(i + 2, close - i - 2)), nullptr, 16));
      if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
      } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
      } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
      } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
      }
      i = close;
    } else {
      out.push_back(e);  // "\\"
    }
  }
  return out;
}

TEST_CASE("golden hmac-v1 tokens are reproduced exactly") {
  std::ifstream in(std::string(CAIRN_SOURCE_DIR) +
                   "/tests/common/golden/hmac_v1_tokens.tsv");
  REQUIRE(in.good());
  const ConsortiumKey key = TestKey();
  std::set<std::string> kinds;
  int rows = 0;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> fields;
    std::stringstream split(line);
    for (std::string f; std::getline(split, f, '\t');) fields.push_back(f);
    CAPTURE(line);
    REQUIRE(fields.size() == 5);
    const std::string& kind = fields[0];
    NormaliseOptions options;
    if (fields[1] != "-") options.default_region = fields[1];
    options.custom_kinds = {"steam_id"};
    const std::string raw = Unescape(fields[2]);
    const std::string normalised = Unescape(fields[3]);

    auto got = Normalise(kind, raw, options);
    INFO((got ? std::string() : got.error().ToString()));
    REQUIRE(got.has_value());
    CHECK(*got == normalised);
    CHECK(HexEncode(DeriveHmacV1Token(key, kind, normalised)) == fields[4]);
    auto token = Tokenise(key, kind, raw, options);
    REQUIRE(token.has_value());
    CHECK(HexEncode(*token) == fields[4]);
    kinds.insert(kind);
    ++rows;
  }
  CHECK(rows >= 30);
  for (std::string_view kind : kBuiltinKinds) {
    CAPTURE(kind);
    CHECK(kinds.contains(std::string(kind)));
  }
}

// A fresh directory under the system temp dir, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "cairn-token-XXXXXX")
            .string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string File(std::string_view name) const {
    return (path_ / name).string();
  }

 private:
  std::filesystem::path path_;
};

void WriteFile(const std::string& path, std::string_view content, mode_t mode) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
  }
  REQUIRE(::chmod(path.c_str(), mode) == 0);
}

TEST_CASE("a new key file is private, loads back, and is never overwritten") {
  TempDir dir;
  const std::string path = dir.File("consortium.key");
  REQUIRE(WriteNewConsortiumKey(path).has_value());

  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  std::ifstream in(path);
  std::string content((std::istreambuf_iterator<char>(in)),
                      std::istreambuf_iterator<char>());
  REQUIRE(content.size() == 65);
  CHECK(content.back() == '\n');
  CHECK(HexDecode(content.substr(0, 64), true).has_value());

  auto key = LoadConsortiumKey(path);
  REQUIRE(key.has_value());
  CHECK(HexEncode(key->KeyBytes()) == content.substr(0, 64));

  auto again = WriteNewConsortiumKey(path);
  REQUIRE_FALSE(again.has_value());
  CHECK(again.error().code == ErrorCode::kConflict);
  CHECK_THAT(again.error().message, Catch::Contains("refusing to overwrite"));
  auto reloaded = LoadConsortiumKey(path);
  REQUIRE(reloaded.has_value());
  CHECK(reloaded->Fingerprint() == key->Fingerprint());

  // Two new keys differ.
  const std::string second = dir.File("second.key");
  REQUIRE(WriteNewConsortiumKey(second).has_value());
  auto other = LoadConsortiumKey(second);
  REQUIRE(other.has_value());
  CHECK(other->Fingerprint() != key->Fingerprint());

  auto no_dir = WriteNewConsortiumKey(dir.File("missing/dir.key"));
  REQUIRE_FALSE(no_dir.has_value());
  CHECK(no_dir.error().code == ErrorCode::kIo);
}

TEST_CASE("loading refuses key files others can read or write") {
  TempDir dir;
  const std::string hex =
      "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
  for (mode_t mode : {0644, 0640, 0604, 0620, 0602, 0660, 0666, 0610, 0601}) {
    CAPTURE(mode);
    const std::string path = dir.File("key-" + std::to_string(mode));
    WriteFile(path, hex + "\n", mode);
    auto key = LoadConsortiumKey(path);
    REQUIRE_FALSE(key.has_value());
    CHECK(key.error().code == ErrorCode::kPermissionDenied);
    CHECK_THAT(key.error().message, Catch::Contains("chmod 600 " + path) &&
                                        Catch::Contains("other users"));
  }
  for (mode_t mode : {0600, 0400}) {
    CAPTURE(mode);
    const std::string path = dir.File("ok-" + std::to_string(mode));
    WriteFile(path, hex + "\n", mode);
    auto key = LoadConsortiumKey(path);
    REQUIRE(key.has_value());
    CHECK(HexEncode(key->KeyBytes()) == hex);
    CHECK(key->Fingerprint().size() == 32);
    CHECK(key->Fingerprint().find(hex.substr(0, 8)) == std::string::npos);
  }
}

TEST_CASE("loading rejects malformed key files") {
  TempDir dir;
  const std::string hex =
      "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
  struct Case {
    std::string content;
    std::string_view message;
  };
  const Case cases[] = {
      {"", "not in the expected format"},
      {"\n", "not in the expected format"},
      {hex.substr(0, 62) + "\n", "not in the expected format"},
      {hex + "00\n", "not in the expected format"},
      {hex + "\n\n", "not in the expected format"},
      {hex + "\r\n", "not in the expected format"},
      {" " + hex + "\n", "not in the expected format"},
      {"000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F\n",
       "not in the expected format"},
      {std::string(63, '0') + "g\n", "not in the expected format"},
      {std::string(64, '0') + "\n", "all-zero key"},
  };
  int i = 0;
  for (const Case& c : cases) {
    CAPTURE(c.content);
    const std::string path = dir.File("bad-" + std::to_string(i++));
    WriteFile(path, c.content, 0600);
    auto key = LoadConsortiumKey(path);
    REQUIRE_FALSE(key.has_value());
    CHECK(key.error().code == ErrorCode::kInvalidArgument);
    CHECK_THAT(key.error().message, Catch::Contains(std::string(c.message)));
  }

  // Without the final newline the file is still accepted.
  const std::string bare = dir.File("bare");
  WriteFile(bare, hex, 0600);
  CHECK(LoadConsortiumKey(bare).has_value());

  auto missing = LoadConsortiumKey(dir.File("nope"));
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code == ErrorCode::kNotFound);
  CHECK_THAT(missing.error().message, Catch::Contains("check the path"));

  const std::string subdir = dir.File("subdir");
  std::filesystem::create_directory(subdir);
  std::filesystem::permissions(subdir, std::filesystem::perms::owner_all);
  auto directory = LoadConsortiumKey(subdir);
  REQUIRE_FALSE(directory.has_value());
  CHECK_THAT(directory.error().message, Catch::Contains("not a regular file"));
}

TEST_CASE("generated keys are random and keys copy faithfully") {
  const ConsortiumKey a = ConsortiumKey::Generate();
  const ConsortiumKey b = ConsortiumKey::Generate();
  CHECK(HexEncode(a.KeyBytes()) != HexEncode(b.KeyBytes()));
  ConsortiumKey c = a;
  CHECK(HexEncode(c.KeyBytes()) == HexEncode(a.KeyBytes()));
  c = b;
  CHECK(c.Fingerprint() == b.Fingerprint());
}

TEST_CASE("TokenHash depends on every byte and the tweak, and is stable") {
  // Flipping any one bit of the token or the tweak changes the hash; a set
  // of tokens differing only in their last bytes (what a member trying to
  // flood one bucket would submit) hashes to distinct values.
  Token base{};
  for (std::size_t i = 0; i < base.size(); ++i) {
    base[i] = static_cast<std::uint8_t>(i * 13 + 5);
  }
  const std::uint64_t h = TokenHash(base, 7);
  CHECK(TokenHash(base, 7) == h);
  std::set<std::uint64_t> seen{h};
  for (std::size_t bit = 0; bit < base.size() * 8; ++bit) {
    Token t = base;
    t[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    seen.insert(TokenHash(t, 7));
  }
  for (std::size_t bit = 0; bit < 64; ++bit) {
    seen.insert(TokenHash(base, 7 ^ (std::uint64_t{1} << bit)));
  }
  CHECK(seen.size() == 1 + 256 + 64);

  std::set<std::uint64_t> low_bits;
  for (int i = 0; i < 4096; ++i) {
    Token t{};
    t[30] = static_cast<std::uint8_t>(i >> 8);
    t[31] = static_cast<std::uint8_t>(i);
    low_bits.insert(TokenHash(t, 0) & 0xFFFF);
  }
  // 4,096 values in 65,536 buckets: a uniform hash leaves about 3,970
  // distinct; a hash ignoring the last bytes would leave 1.
  CHECK(low_bits.size() > 3800);
}

}  // namespace
}  // namespace cairn
