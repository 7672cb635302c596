#include "server/src/oprf/oprf_keyring.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <string>
#include <system_error>

#include <sodium.h>

#include "cairn/encoding.h"
#include "server/src/file_owner.h"

namespace cairn::server {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kPrefix = "epoch-";
constexpr std::string_view kSuffix = ".key";

// "epoch-12.key" -> 12; nullopt for any other name (and for epoch 0 or
// leading zeros, so that each epoch has exactly one file name).
std::optional<std::uint32_t> EpochOfFileName(std::string_view name) {
  if (!name.starts_with(kPrefix) || !name.ends_with(kSuffix)) return {};
  const std::string_view digits = name.substr(
      kPrefix.size(), name.size() - kPrefix.size() - kSuffix.size());
  if (digits.empty() || digits.front() == '0') return {};
  std::uint32_t epoch = 0;
  const auto [end, ec] =
      std::from_chars(digits.data(), digits.data() + digits.size(), epoch);
  if (ec != std::errc{} || end != digits.data() + digits.size()) return {};
  return epoch;
}

fs::path KeyPath(const fs::path& dir, std::uint32_t epoch) {
  return dir /
         (std::string(kPrefix) + std::to_string(epoch) + std::string(kSuffix));
}

tl::unexpected<Error> IoError(const fs::path& path, std::string_view what,
                              int error) {
  return MakeError(ErrorCode::kIo, std::string(what) + " " + path.string() +
                                       ": " + std::strerror(error) +
                                       "; check the path and permissions");
}

Result<std::unique_ptr<oprf::KeyPair>> LoadKey(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return IoError(path, "cannot open OPRF key file", errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int error = errno;
    ::close(fd);
    return IoError(path, "cannot stat OPRF key file", error);
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o",
                  static_cast<unsigned>(st.st_mode & 07777));
    return MakeError(
        ErrorCode::kPermissionDenied,
        "OPRF key file " + path.string() + " has mode " + mode +
            ", so other users of this machine can read or change it; with "
            "the key anyone can compute voprf-v1 tokens offline. Restrict "
            "it with `chmod 600 " +
            path.string() + "` (and consider whether the key has leaked)");
  }
  char buffer[80];
  const ssize_t n = ::read(fd, buffer, sizeof buffer);
  const int error = errno;
  ::close(fd);
  if (n < 0) return IoError(path, "cannot read OPRF key file", error);
  std::string_view text(buffer, static_cast<std::size_t>(n));
  if (text.ends_with('\n')) text.remove_suffix(1);
  auto bytes = text.size() == 64 ? HexDecode(text, true) : Result<Bytes>{};
  const auto malformed = [&] {
    sodium_memzero(buffer, sizeof buffer);
    return MakeError(ErrorCode::kInvalidArgument,
                     "OPRF key file " + path.string() +
                         " must hold exactly 64 lowercase hex characters (a "
                         "non-zero ristretto255 scalar) and a newline; "
                         "restore it from backup or start a new epoch with "
                         "`cairnctl oprf rotate`");
  };
  if (text.size() != 64 || !bytes) return malformed();
  auto key = std::make_unique<oprf::KeyPair>();
  std::copy(bytes->begin(), bytes->end(), key->secret_key.begin());
  sodium_memzero(bytes->data(), bytes->size());
  sodium_memzero(buffer, sizeof buffer);
  auto public_key = oprf::PublicKeyFromSecretKey(key->secret_key);
  if (!public_key) return malformed();
  key->public_key = *public_key;
  return key;
}

// Gives the directory just made at `dir` mode 0700 and (run as root) its
// parent's owner, by descriptor: whatever the parent's owner may have put
// at `dir` since is never followed (a link there is refused).
Status SecureNewDirectory(const fs::path& dir) {
  const fs::path parent =
      dir.has_parent_path() ? dir.parent_path() : fs::path(".");
  const int parent_fd =
      ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (parent_fd < 0) return IoError(parent, "cannot open directory", errno);
  const int fd = ::openat(parent_fd, dir.filename().c_str(),
                          O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    ::close(parent_fd);
    return IoError(dir, "cannot open the OPRF key directory just made", error);
  }
  Status status;
  if (::fchmod(fd, 0700) != 0) {
    status = IoError(dir, "cannot set mode 0700 on", errno);
  } else {
    status = GiveDirectoryOwner(parent_fd, fd, dir);
  }
  ::close(fd);
  ::close(parent_fd);
  return status;
}

Status EnsureDirectory(const fs::path& dir) {
  std::error_code ec;
  if (fs::create_directories(dir, ec)) {
    const fs::path made = dir.has_filename() ? dir : dir.parent_path();
    if (auto secured = SecureNewDirectory(made); !secured) return secured;
  }
  if (ec) {
    return MakeError(ErrorCode::kIo, "cannot create OPRF key directory " +
                                         dir.string() + ": " + ec.message() +
                                         "; check oprf.key_dir");
  }
  return {};
}

Result<std::vector<std::uint32_t>> ListEpochs(const fs::path& dir) {
  std::vector<std::uint32_t> epochs;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return epochs;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (auto epoch = EpochOfFileName(it->path().filename().string())) {
      epochs.push_back(*epoch);
    }
  }
  if (ec) {
    return MakeError(ErrorCode::kIo, "cannot list OPRF key directory " +
                                         dir.string() + ": " + ec.message());
  }
  std::sort(epochs.begin(), epochs.end());
  return epochs;
}

}  // namespace

Result<std::uint32_t> CreateNextOprfEpoch(const fs::path& dir) {
  if (auto made = EnsureDirectory(dir); !made) {
    return tl::unexpected(made.error());
  }
  auto epochs = ListEpochs(dir);
  if (!epochs) return tl::unexpected(epochs.error());
  const std::uint32_t epoch = epochs->empty() ? 1 : epochs->back() + 1;
  if (epoch == 0) {
    return MakeError(ErrorCode::kConflict,
                     "no OPRF epoch number left after 4294967295");
  }
  const fs::path path = KeyPath(dir, epoch);
  oprf::KeyPair key = oprf::GenerateKeyPair();
  std::string text = HexEncode(key.secret_key) + "\n";
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) {
    sodium_memzero(text.data(), text.size());
    return IoError(dir, "cannot open directory", errno);
  }
  const std::string name = path.filename().string();
  const int fd =
      ::openat(dir_fd, name.c_str(),
               O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int error = errno;
    sodium_memzero(text.data(), text.size());
    ::close(dir_fd);
    if (error == EEXIST) {
      return MakeError(ErrorCode::kConflict,
                       path.string() +
                           " already exists (another rotation at the same "
                           "time?); run the command again");
    }
    return IoError(path, "cannot create OPRF key file", error);
  }
  ::fchmod(fd, 0600);  // regardless of the umask
  const ssize_t written = ::write(fd, text.data(), text.size());
  const int write_error = errno;
  sodium_memzero(text.data(), text.size());
  const bool synced = written == 64 + 1 && ::fsync(fd) == 0;
  // Made by root (cairnctl oprf rotate without runuser), the key would be
  // root's and the hub's own user could not read it at its next start.
  // By descriptor: never whatever is at `path` by now.
  const Status owned = synced ? GiveDirectoryOwner(dir_fd, fd, path) : Status{};
  ::close(fd);
  if (!synced || !owned) {
    ::unlinkat(dir_fd, name.c_str(), 0);
    ::close(dir_fd);
    if (!owned) return tl::unexpected(owned.error());
    return IoError(path, "cannot write OPRF key file",
                   written < 0 ? write_error : EIO);
  }
  const bool dir_synced = ::fsync(dir_fd) == 0;
  const int sync_error = errno;
  ::close(dir_fd);
  if (!dir_synced) return IoError(dir, "cannot sync directory", sync_error);
  return epoch;
}

Result<std::shared_ptr<const OprfKeyring>> OprfKeyring::Open(
    const fs::path& dir, bool create_if_empty) {
  auto epochs = ListEpochs(dir);
  if (!epochs) return tl::unexpected(epochs.error());
  if (epochs->empty()) {
    if (!create_if_empty) {
      return MakeError(ErrorCode::kNotFound,
                       "no OPRF key (epoch-N.key) in " + dir.string() +
                           "; create one with `cairnctl oprf rotate`");
    }
    auto created = CreateNextOprfEpoch(dir);
    if (!created) return tl::unexpected(created.error());
    epochs->push_back(*created);
  }
  std::shared_ptr<OprfKeyring> ring(new OprfKeyring());
  for (std::uint32_t epoch : *epochs) {
    auto key = LoadKey(KeyPath(dir, epoch));
    if (!key) return tl::unexpected(key.error());
    ring->keys_.emplace(epoch, std::move(*key));
  }
  ring->current_ = epochs->back();
  return std::shared_ptr<const OprfKeyring>(std::move(ring));
}

std::vector<std::uint32_t> OprfKeyring::Epochs() const {
  std::vector<std::uint32_t> out;
  for (const auto& [epoch, key] : keys_) out.push_back(epoch);
  return out;
}

const oprf::Element& OprfKeyring::PublicKey(std::uint32_t epoch) const {
  return keys_.at(epoch)->public_key;
}

Result<oprf::BatchEvaluation> OprfKeyring::Evaluate(
    std::uint32_t epoch, std::span<const oprf::Element> blinded) const {
  const auto it = keys_.find(epoch);
  if (it == keys_.end()) {
    return MakeError(ErrorCode::kNotFound,
                     "no OPRF key for epoch " + std::to_string(epoch));
  }
  return oprf::BlindEvaluateBatch(it->second->secret_key,
                                  it->second->public_key, blinded);
}

}  // namespace cairn::server
