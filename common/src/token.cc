#include "cairn/token.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <utility>

#include <sodium.h>

#include "cairn/encoding.h"

namespace cairn {
namespace {

constexpr std::string_view kFingerprintMessage = "cairn-v1 key fingerprint";
constexpr std::size_t kKeyHexChars = ConsortiumKey::kSize * 2;

void EnsureSodium() {
  // Without a working libsodium there is no safe randomness; continuing
  // would risk predictable keys.
  static const bool ok = sodium_init() >= 0;
  if (!ok) std::abort();
}

std::string ErrnoText(int err) { return std::strerror(err); }

// Closes a file descriptor on every path out of a function.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int Release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

std::string ModeText(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

tl::unexpected<Error> BadFormat(const std::string& path) {
  return MakeError(
      ErrorCode::kInvalidArgument,
      "consortium key file " + path +
          " is not in the expected format (one line of exactly 64 lowercase "
          "hex characters); restore it from your safety team's copy or "
          "check that the path points at the key file");
}

}  // namespace

ConsortiumKey::ConsortiumKey(std::span<const std::uint8_t, kSize> bytes) {
  std::copy(bytes.begin(), bytes.end(), bytes_.begin());
}

ConsortiumKey::ConsortiumKey(const ConsortiumKey& other)
    : bytes_(other.bytes_) {}

ConsortiumKey& ConsortiumKey::operator=(const ConsortiumKey& other) {
  bytes_ = other.bytes_;
  return *this;
}

ConsortiumKey::~ConsortiumKey() { sodium_memzero(bytes_.data(), kSize); }

ConsortiumKey ConsortiumKey::Generate() {
  EnsureSodium();
  std::array<std::uint8_t, kSize> bytes;
  randombytes_buf(bytes.data(), bytes.size());
  ConsortiumKey key(bytes);
  sodium_memzero(bytes.data(), bytes.size());
  return key;
}

std::string ConsortiumKey::Fingerprint() const {
  std::array<std::uint8_t, 16> digest;
  crypto_generichash(
      digest.data(), digest.size(),
      reinterpret_cast<const unsigned char*>(kFingerprintMessage.data()),
      kFingerprintMessage.size(), bytes_.data(), bytes_.size());
  return HexEncode(digest);
}

Result<ConsortiumKey> LoadConsortiumKey(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) {
    const int err = errno;
    return MakeError(err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                     "cannot open consortium key file " + path + ": " +
                         ErrnoText(err) +
                         "; check the path, and that this user may read it");
  }
  // fstat on the open descriptor checks the file actually read, even if the
  // path is swapped underneath us.
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return MakeError(ErrorCode::kIo, "cannot stat consortium key file " + path +
                                         ": " + ErrnoText(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "consortium key path " + path +
                         " is not a regular file; point it at the key file");
  }
  if ((st.st_mode & 077) != 0) {
    return MakeError(
        ErrorCode::kPermissionDenied,
        "consortium key file " + path + " has mode " + ModeText(st.st_mode) +
            ", so other users of this machine can read or change it; anyone "
            "holding the key can test guessed identifiers against every "
            "token of the consortium. Restrict it with `chmod 600 " +
            path + "` (and consider whether the key has leaked)");
  }

  // One byte more than a valid file may hold, to detect trailing junk.
  std::array<char, kKeyHexChars + 2> buffer{};
  std::size_t used = 0;
  while (used < buffer.size()) {
    const ssize_t n =
        ::read(fd.get(), buffer.data() + used, buffer.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return MakeError(ErrorCode::kIo, "cannot read consortium key file " +
                                           path + ": " + ErrnoText(errno));
    }
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  std::string_view text(buffer.data(), used);
  if (text.ends_with('\n')) text.remove_suffix(1);
  auto bytes = text.size() == kKeyHexChars ? HexDecode(text, true)
                                           : Result<Bytes>(BadFormat(path));
  sodium_memzero(buffer.data(), buffer.size());
  if (!bytes) return BadFormat(path);
  std::array<std::uint8_t, ConsortiumKey::kSize> raw;
  std::copy(bytes->begin(), bytes->end(), raw.begin());
  sodium_memzero(bytes->data(), bytes->size());
  const bool all_zero = sodium_is_zero(raw.data(), raw.size()) == 1;
  ConsortiumKey key(raw);
  sodium_memzero(raw.data(), raw.size());
  if (all_zero) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "consortium key file " + path +
                         " holds an all-zero key, which is not a secret; "
                         "restore the real key from your safety team's copy");
  }
  return key;
}

Status WriteNewConsortiumKey(const std::string& path) {
  EnsureSodium();
  Fd fd(::open(path.c_str(),
               O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd.get() < 0) {
    const int err = errno;
    if (err == EEXIST) {
      return MakeError(
          ErrorCode::kConflict,
          "refusing to overwrite " + path +
              ": a consortium key file (or something else) is already "
              "there. Replacing the key changes every token; if you mean to "
              "rotate it, follow docs/token-scheme.md and write the new key "
              "to a new path");
    }
    return MakeError(ErrorCode::kIo, "cannot create consortium key file " +
                                         path + ": " + ErrnoText(err) +
                                         "; check the directory exists and "
                                         "is writable");
  }
  auto fail = [&path](const std::string& what) -> Status {
    const int err = errno;
    ::unlink(path.c_str());
    return MakeError(ErrorCode::kIo,
                     "cannot " + what + " consortium key file " + path + ": " +
                         ErrnoText(err) + "; nothing was written");
  };
  // The umask may have left fewer bits; the loader insists on exactly 0600.
  if (::fchmod(fd.get(), 0600) != 0) return fail("set the mode of");

  const ConsortiumKey key = ConsortiumKey::Generate();
  std::string text = HexEncode(key.KeyBytes()) + "\n";
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t n =
        ::write(fd.get(), text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      sodium_memzero(text.data(), text.size());
      return fail("write");
    }
    written += static_cast<std::size_t>(n);
  }
  sodium_memzero(text.data(), text.size());
  if (::fsync(fd.get()) != 0) return fail("sync");
  if (::close(fd.Release()) != 0) return fail("close");

  // Make the new directory entry durable too. Best effort: some file
  // systems refuse fsync on directories, and the key itself is on disk.
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() >= 0) ::fsync(dir_fd.get());
  return {};
}

std::array<std::uint8_t, 32> HmacSha256(std::span<const std::uint8_t> key,
                                        std::string_view message) {
  std::array<std::uint8_t, 32> out;
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, key.data(), key.size());
  crypto_auth_hmacsha256_update(
      &state, reinterpret_cast<const unsigned char*>(message.data()),
      message.size());
  crypto_auth_hmacsha256_final(&state, out.data());
  sodium_memzero(&state, sizeof state);
  return out;
}

Token DeriveHmacV1Token(const ConsortiumKey& key, std::string_view kind,
                        std::string_view normalised) {
  static constexpr unsigned char kSeparator[1] = {0x00};
  auto update = [](crypto_auth_hmacsha256_state& state, std::string_view s) {
    crypto_auth_hmacsha256_update(
        &state, reinterpret_cast<const unsigned char*>(s.data()), s.size());
  };
  Token token;
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, key.KeyBytes().data(),
                              ConsortiumKey::kSize);
  update(state, kHmacV1Label);
  crypto_auth_hmacsha256_update(&state, kSeparator, 1);
  update(state, kind);
  crypto_auth_hmacsha256_update(&state, kSeparator, 1);
  update(state, normalised);
  crypto_auth_hmacsha256_final(&state, token.data());
  sodium_memzero(&state, sizeof state);
  return token;
}

Result<Token> Tokenise(const ConsortiumKey& key, std::string_view kind,
                       std::string_view raw, const NormaliseOptions& options) {
  if (!IsWellFormedKind(kind)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "identifier kind is not well formed; kinds are 2 to 32 "
                     "characters of a-z, 0-9 and '_', starting with a letter");
  }
  auto normalised = Normalise(kind, raw, options);
  if (!normalised) return tl::unexpected(normalised.error());
  return DeriveHmacV1Token(key, kind, *normalised);
}

}  // namespace cairn
