#include "server/src/keys/hub_keyring.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <toml++/toml.h>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <sstream>
#include <system_error>

#include "cairn/encoding.h"
#include "cairn/timestamp.h"
#include "cairn/whole_file.h"
#include "server/src/store/key_use.h"

namespace cairn::server {

struct HubKeyring::Key {
  HubPublicKey pub;
  std::array<std::uint8_t, crypto_sign_SECRETKEYBYTES> secret{};

  ~Key() { sodium_memzero(secret.data(), secret.size()); }
};

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kAlgorithm = "ed25519";
constexpr std::string_view kKeysDirRemedy =
    "check the keys directory's owner and permissions";
constexpr std::string_view kSignedUntilFile = "signed-until";
// How far signed-until runs ahead of the newest signature: it is written
// about once a minute under load, not for every receipt. After a crash,
// the next run dates its signatures up to this much late until its clock
// passes the file's time (a clean stop writes the exact time).
constexpr std::chrono::seconds kSignedUntilAhead{60};

std::int64_t EpochSeconds(sys_seconds t) {
  return t.time_since_epoch().count();
}
sys_seconds FromEpochSeconds(std::int64_t s) {
  return sys_seconds{std::chrono::seconds{s}};
}

// Raises `a` to at least `v`; returns the value it holds afterwards.
std::int64_t FetchMax(std::atomic<std::int64_t>& a, std::int64_t v) {
  std::int64_t cur = a.load();
  while (v > cur && !a.compare_exchange_weak(cur, v)) {
  }
  return std::max(cur, v);
}

tl::unexpected<Error> IoError(const fs::path& file, std::string_view doing,
                              int err) {
  return MakeError(ErrorCode::kIo,
                   "cannot " + std::string(doing) + " " + file.string() + ": " +
                       std::strerror(err) + "; " + std::string(kKeysDirRemedy));
}

// "hk_" + 16 lowercase hex (KeyIdOf).
bool IsKeyId(std::string_view name) {
  constexpr std::string_view kPrefix = "hk_";
  return name.size() == kPrefix.size() + 16 && name.starts_with(kPrefix) &&
         std::all_of(name.begin() + kPrefix.size(), name.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string KeyIdOf(const std::array<std::uint8_t, 32>& public_key) {
  std::array<std::uint8_t, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256(digest.data(), public_key.data(), public_key.size());
  return "hk_" + HexEncode(digest).substr(0, 16);
}

// Writes `text` to `file` via a temporary file, fsync and rename, so a
// crash leaves either the old or the new file. `exclusive`: fail if `file`
// exists (never overwrite a private key).
Status WriteFileAtomically(const fs::path& file, std::string_view text,
                           mode_t mode, bool exclusive) {
  if (exclusive && fs::exists(file)) {
    return MakeError(ErrorCode::kConflict,
                     file.string() +
                         " already exists; refusing to overwrite "
                         "a key file");
  }
  const fs::path tmp = file.string() + ".tmp";
  // Made anew, never written through what is at `tmp` already: a leftover
  // of a crash, or a symbolic link planted to make this process (perhaps
  // root) overwrite another file. unlink removes a link, not its target.
  if (::unlink(tmp.c_str()) != 0 && errno != ENOENT) {
    return IoError(tmp, "remove the leftover", errno);
  }
  const int fd = ::open(
      tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) return IoError(tmp, "create", errno);
  // The umask may have widened nothing but could have narrowed; make the
  // mode exact.
  if (::fchmod(fd, mode) != 0 ||
      ::write(fd, text.data(), text.size()) !=
          static_cast<ssize_t>(text.size()) ||
      ::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return IoError(tmp, "write", err);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), file.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return IoError(file, "rename into", err);
  }
  return {};
}

void SyncDirectory(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

std::string PublicFileText(const HubPublicKey& key) {
  toml::table table{
      {"key_id", key.key_id},
      {"algorithm", std::string(kAlgorithm)},
      {"public_key", Base64Encode(key.public_key)},
      {"valid_from", FormatTimestamp(key.valid_from)},
  };
  if (key.valid_until) {
    table.insert("valid_until", FormatTimestamp(*key.valid_until));
  }
  std::ostringstream out;
  out << "# Cairn hub public signing key (safe to publish).\n" << table << "\n";
  return out.str();
}

Result<HubPublicKey> ParsePublicFile(const fs::path& file) {
  auto text = ReadWholeFile(file, "hub key file", kKeysDirRemedy);
  if (!text) return tl::unexpected(text.error());
  auto bad = [&](const std::string& what) {
    return MakeError(ErrorCode::kInvalidArgument,
                     file.string() + ": " + what +
                         "; restore the file from a backup (public key files "
                         "are also listed by GET /v1/me)");
  };
  toml::table table;
  try {
    table = toml::parse(*text, file.string());
  } catch (const toml::parse_error& e) {
    return bad("not valid TOML (" + std::string(e.description()) + ")");
  }
  HubPublicKey key;
  const auto key_id = table["key_id"].value<std::string>();
  const auto algorithm = table["algorithm"].value<std::string>();
  const auto public_key = table["public_key"].value<std::string>();
  const auto valid_from = table["valid_from"].value<std::string>();
  const auto valid_until = table["valid_until"].value<std::string>();
  if (!key_id || !algorithm || !public_key || !valid_from) {
    return bad("missing key_id, algorithm, public_key or valid_from");
  }
  if (*algorithm != kAlgorithm) {
    return bad("algorithm must be \"ed25519\"");
  }
  auto bytes = Base64Decode(*public_key);
  if (!bytes || bytes->size() != key.public_key.size()) {
    return bad("public_key must be 32 bytes in base64");
  }
  std::copy(bytes->begin(), bytes->end(), key.public_key.begin());
  key.key_id = *key_id;
  if (key.key_id != KeyIdOf(key.public_key)) {
    return bad("key_id does not match the public key");
  }
  if (file.stem() != key.key_id) {
    return bad("the file name must be the key id (" + key.key_id + ".pub)");
  }
  auto from = ParseTimestamp(*valid_from);
  if (!from) return bad("valid_from: " + from.error().message);
  key.valid_from = *from;
  if (valid_until) {
    auto until = ParseTimestamp(*valid_until);
    if (!until) return bad("valid_until: " + until.error().message);
    key.valid_until = *until;
  }
  return key;
}

// Current (no valid_until) first, then by valid_from, newest first.
void SortKeys(std::vector<HubPublicKey>& keys) {
  std::stable_sort(keys.begin(), keys.end(),
                   [](const HubPublicKey& a, const HubPublicKey& b) {
                     if (a.valid_until.has_value() != b.valid_until.has_value())
                       return !a.valid_until.has_value();
                     return a.valid_from > b.valid_from;
                   });
}

Result<std::vector<HubPublicKey>> ScanPublicKeys(const fs::path& dir) {
  std::vector<HubPublicKey> keys;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->path().extension() != ".pub") continue;
    auto key = ParsePublicFile(it->path());
    if (!key) return tl::unexpected(key.error());
    keys.push_back(std::move(*key));
  }
  if (ec) return IoError(dir, "list", ec.value());
  SortKeys(keys);
  return keys;
}

Status CheckPrivateFileMode(const fs::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return IoError(file, "stat", errno);
  if ((st.st_mode & 077) != 0) {
    return MakeError(
        ErrorCode::kPermissionDenied,
        "hub private key " + file.string() +
            " is accessible by group or others; run `chmod 600 " +
            file.string() +
            "`, make sure only the hub's user owns it, and consider rotating "
            "the key (cairnctl keys rotate) if others may have read it");
  }
  return {};
}

Result<std::array<std::uint8_t, crypto_sign_SECRETKEYBYTES>> LoadSecret(
    const fs::path& file, const HubPublicKey& pub) {
  if (auto s = CheckPrivateFileMode(file); !s) return tl::unexpected(s.error());
  auto text = ReadWholeFile(file, "hub key file", kKeysDirRemedy);
  if (!text) return tl::unexpected(text.error());
  std::string_view hex = *text;
  while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r')) {
    hex.remove_suffix(1);
  }
  auto seed = HexDecode(hex);
  if (!seed || seed->size() != crypto_sign_SEEDBYTES) {
    return MakeError(ErrorCode::kInvalidArgument,
                     file.string() +
                         " is not a hub private key (64 hex characters); "
                         "restore it from a backup");
  }
  std::array<std::uint8_t, crypto_sign_PUBLICKEYBYTES> pk{};
  std::array<std::uint8_t, crypto_sign_SECRETKEYBYTES> sk{};
  crypto_sign_seed_keypair(pk.data(), sk.data(), seed->data());
  sodium_memzero(seed->data(), seed->size());
  if (pk != pub.public_key) {
    return MakeError(ErrorCode::kInvalidArgument,
                     file.string() + " does not belong to " + pub.key_id +
                         ".pub (different public key); restore the pair "
                         "from the same backup");
  }
  return sk;
}

// Makes a key pair and writes only its private file: Open ignores a .key
// without its .pub, so the key is not in use until WriteNewKey or
// HubKeyring::CommitRotation writes that. `pub_out` gets no valid_from.
Status WritePrivateKey(
    const fs::path& dir, HubPublicKey* pub_out,
    std::array<std::uint8_t, crypto_sign_SECRETKEYBYTES>* sk) {
  std::array<std::uint8_t, crypto_sign_SEEDBYTES> seed{};
  randombytes_buf(seed.data(), seed.size());
  HubPublicKey pub;
  crypto_sign_seed_keypair(pub.public_key.data(), sk->data(), seed.data());
  pub.key_id = KeyIdOf(pub.public_key);
  std::string seed_hex = HexEncode(seed) + "\n";
  sodium_memzero(seed.data(), seed.size());
  auto s =
      WriteFileAtomically(dir / (pub.key_id + ".key"), seed_hex, 0600, true);
  sodium_memzero(seed_hex.data(), seed_hex.size());
  if (!s) return s;
  *pub_out = std::move(pub);
  return {};
}

Status WriteNewKey(const fs::path& dir, sys_seconds now, HubPublicKey* pub_out,
                   std::array<std::uint8_t, crypto_sign_SECRETKEYBYTES>* sk) {
  HubPublicKey pub;
  if (auto s = WritePrivateKey(dir, &pub, sk); !s) return s;
  pub.valid_from = now;
  if (auto p = WriteFileAtomically(dir / (pub.key_id + ".pub"),
                                   PublicFileText(pub), 0644, false);
      !p) {
    return p;
  }
  SyncDirectory(dir);
  *pub_out = std::move(pub);
  return {};
}

// The time in signed-until; nullopt when there is no such file (a keys
// directory from before it existed, or a new one).
Result<std::optional<sys_seconds>> ReadSignedUntil(const fs::path& dir) {
  const fs::path file = dir / kSignedUntilFile;
  std::error_code ec;
  if (!fs::exists(file, ec)) return std::optional<sys_seconds>();
  auto text = ReadWholeFile(file, "hub keyring file", kKeysDirRemedy);
  if (!text) return tl::unexpected(text.error());
  std::string_view value = *text;
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r' ||
                            value.back() == ' ')) {
    value.remove_suffix(1);
  }
  auto at = ParseTimestamp(value);
  if (!at) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        file.string() +
            " must hold one RFC 3339 time (no earlier than any time the "
            "hub's keys signed): " +
            at.error().message +
            "; restore it from the keys backup, or delete it (the hub then "
            "dates signatures no earlier than its keys' valid_from and "
            "valid_until, which does not cover receipts signed later than "
            "those while the hub's clock ran ahead)");
  }
  return std::optional<sys_seconds>(*at);
}

Status WriteSignedUntil(const fs::path& dir, sys_seconds at) {
  auto s = WriteFileAtomically(dir / kSignedUntilFile,
                               FormatTimestamp(at) + "\n", 0644, false);
  if (s) SyncDirectory(dir);
  return s;
}

// Removes the files of a key that never became current. Returns advice to
// append to an error when its .pub could not be removed ("" otherwise; a
// .key left alone is ignored by Open).
std::string DiscardKeyFiles(const fs::path& dir, const std::string& key_id) {
  std::error_code pub_error;
  std::error_code key_error;
  const fs::path pub = dir / (key_id + ".pub");
  fs::remove(pub, pub_error);
  fs::remove(dir / (key_id + ".key"), key_error);
  SyncDirectory(dir);
  if (!pub_error) return "";
  return "; also could not remove " + pub.string() + " (" +
         pub_error.message() +
         "): remove it and its .key by hand before cairnd restarts, or that "
         "key, never used, becomes current then";
}

}  // namespace

wire::HubKey ToWireKey(const HubPublicKey& key) {
  wire::HubKey out;
  out.key_id = key.key_id;
  out.algorithm = std::string(kAlgorithm);
  out.public_key = Base64Encode(key.public_key);
  out.valid_from = key.valid_from;
  out.valid_until = key.valid_until;
  return out;
}

std::vector<wire::HubKey> ToWireKeys(const std::vector<HubPublicKey>& keys) {
  std::vector<wire::HubKey> out;
  out.reserve(keys.size());
  for (const auto& k : keys) out.push_back(ToWireKey(k));
  return out;
}

HubKeyring::HubKeyring(fs::path dir, Clock clock)
    : dir_(std::move(dir)), clock_(std::move(clock)) {}

HubKeyring::~HubKeyring() {
  // A clean stop records the newest time exactly, so that the next start
  // does not date signatures up to kSignedUntilAhead late. On failure the
  // file keeps its later time, which still covers every signature.
  const std::int64_t floor = floor_.load();
  if (floor < signed_until_.load()) {
    (void)WriteSignedUntil(dir_, FromEpochSeconds(floor));
  }
}

sys_seconds HubKeyring::NextTime() const {
  return FromEpochSeconds(FetchMax(floor_, EpochSeconds(clock_())));
}

sys_seconds HubKeyring::SigningFloor() const {
  return FromEpochSeconds(floor_.load());
}

void HubKeyring::RaiseSigningFloor(sys_seconds at) {
  FetchMax(floor_, EpochSeconds(at));
}

void HubKeyring::CoverSigned(sys_seconds at) const {
  const std::int64_t seconds = EpochSeconds(at);
  if (seconds <= signed_until_.load()) return;
  std::lock_guard lock(signed_until_mutex_);
  if (seconds <= signed_until_.load()) return;
  const sys_seconds until = at + kSignedUntilAhead;
  const Status written = WriteSignedUntil(dir_, until);
  // Also on failure, so that the write is tried again a minute later
  // rather than for every signature.
  signed_until_.store(EpochSeconds(until));
  if (!written) {
    spdlog::error(
        "cannot record the hub's newest signing time ({}): {}. Signing goes "
        "on; but until it is recorded, do not restart cairnd with "
        "--clock-from-system while its clock runs ahead of the system "
        "clock: the restarted hub could date a key rotation before "
        "signatures already made, and members' SDKs and audit verify would "
        "reject those as forged",
        FormatTimestamp(at), written.error().message);
  }
}

Result<std::shared_ptr<HubKeyring>> HubKeyring::Open(const fs::path& dir,
                                                     bool create_if_empty,
                                                     Clock clock) {
  if (sodium_init() < 0) {
    return MakeError(ErrorCode::kInternal, "libsodium failed to initialise");
  }
  if (!clock) clock = SystemClock();
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    if (!create_if_empty) {
      return MakeError(ErrorCode::kNotFound,
                       "hub keys directory " + dir.string() +
                           " does not exist; check [keys] dir in the config");
    }
    fs::create_directories(dir, ec);
    if (ec) return IoError(dir, "create", ec.value());
    fs::permissions(dir, fs::perms::owner_all, ec);
  }
  auto publics = ScanPublicKeys(dir);
  if (!publics) return tl::unexpected(publics.error());
  std::shared_ptr<HubKeyring> ring(new HubKeyring(dir, std::move(clock)));
  for (auto& pub : *publics) {
    auto sk = LoadSecret(dir / (pub.key_id + ".key"), pub);
    if (!sk) return tl::unexpected(sk.error());
    auto key = std::make_shared<Key>();
    key->pub = std::move(pub);
    key->secret = *sk;
    sodium_memzero(sk->data(), sk->size());
    ring->keys_.push_back(std::move(key));
  }
  // A <key_id>.key without its .pub is a rotation cut short (the .pub is
  // written only when the key becomes current): never used.
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    const fs::path& file = it->path();
    if (file.extension() != ".key" || !IsKeyId(file.stem().string())) continue;
    const std::string id = file.stem().string();
    if (std::none_of(ring->keys_.begin(), ring->keys_.end(),
                     [&](const auto& k) { return k->pub.key_id == id; })) {
      ring->abandoned_.push_back(id);
    }
  }
  if (ec) return IoError(dir, "list", ec.value());
  std::sort(ring->abandoned_.begin(), ring->abandoned_.end());
  auto signed_until = ReadSignedUntil(dir);
  if (!signed_until) return tl::unexpected(signed_until.error());
  std::int64_t floor = 0;
  if (*signed_until) {
    floor = EpochSeconds(**signed_until);
    ring->signed_until_.store(floor);
  }
  for (const auto& k : ring->keys_) {
    floor = std::max(floor, EpochSeconds(k->pub.valid_from));
    if (k->pub.valid_until) {
      floor = std::max(floor, EpochSeconds(*k->pub.valid_until));
    }
  }
  ring->floor_.store(floor);
  if (ring->keys_.empty()) {
    if (!create_if_empty) {
      return MakeError(ErrorCode::kNotFound,
                       "no hub signing key in " + dir.string() +
                           "; start cairnd once to create one, or restore "
                           "the keys directory from a backup");
    }
    auto key = std::make_shared<Key>();
    if (auto s = WriteNewKey(dir, ring->NextTime(), &key->pub, &key->secret);
        !s) {
      return tl::unexpected(s.error());
    }
    ring->keys_.push_back(std::move(key));
  }
  return ring;
}

HubSignature HubKeyring::Sign(std::span<const std::uint8_t> message) const {
  std::shared_lock lock(mutex_);
  const Key& key = *keys_.front();
  HubSignature out;
  out.key_id = key.pub.key_id;
  crypto_sign_detached(out.signature.data(), nullptr, message.data(),
                       message.size(), key.secret.data());
  return out;
}

HubSignature HubKeyring::SignNamed(const NamedMessageBuilder& build) const {
  std::shared_ptr<const Key> key;
  sys_seconds at;
  {
    std::shared_lock lock(mutex_);
    key = keys_.front();
    at = NextTime();
  }
  CoverSigned(at);
  // Signing with a key rotated out meanwhile is still valid: its validity
  // ends at the rotation, whose time was read after `at` (and is no
  // earlier: the keyring's time never goes back).
  const std::vector<std::uint8_t> message = build(key->pub.key_id, at);
  HubSignature out;
  out.key_id = key->pub.key_id;
  crypto_sign_detached(out.signature.data(), nullptr, message.data(),
                       message.size(), key->secret.data());
  return out;
}

std::vector<HubPublicKey> HubKeyring::PublicKeys() const {
  std::shared_lock lock(mutex_);
  std::vector<HubPublicKey> out;
  out.reserve(keys_.size());
  for (const auto& k : keys_) out.push_back(k->pub);
  return out;
}

Result<HubKeyring::PreparedRotation> HubKeyring::PrepareRotation() {
  std::lock_guard rotation(rotation_mutex_);
  if (prepared_) {
    return MakeError(ErrorCode::kConflict,
                     "another key rotation (to " + prepared_->pub.key_id +
                         ") is in progress; wait for it to finish, check "
                         "the current key (cairnctl keys list), and rotate "
                         "again only if it is still needed");
  }
  auto fresh = std::make_shared<Key>();
  if (auto s = WritePrivateKey(dir_, &fresh->pub, &fresh->secret); !s) {
    return tl::unexpected(s.error());
  }
  PreparedRotation out;
  out.key_id = fresh->pub.key_id;
  {
    std::shared_lock lock(mutex_);
    out.previous = keys_.front()->pub.key_id;
  }
  prepared_ = std::move(fresh);
  return out;
}

Result<std::vector<HubPublicKey>> HubKeyring::CommitRotation(
    const std::string& key_id) {
  std::lock_guard rotation(rotation_mutex_);
  if (!prepared_ || prepared_->pub.key_id != key_id) {
    return MakeError(
        ErrorCode::kConflict,
        "no rotation to key " + key_id + " is prepared; nothing was changed");
  }
  std::shared_ptr<Key> fresh = std::move(prepared_);
  prepared_.reset();
  // Under the exclusive lock: signers read their time under the shared
  // lock (SignNamed), so none can date a signature by the old key after
  // its valid_until, nor one by the new key before its valid_from.
  std::unique_lock lock(mutex_);
  const sys_seconds now = NextTime();
  fresh->pub.valid_from = now;
  if (auto s = WriteFileAtomically(dir_ / (key_id + ".pub"),
                                   PublicFileText(fresh->pub), 0644, false);
      !s) {
    Error e = s.error();
    e.message += DiscardKeyFiles(dir_, key_id);
    return tl::unexpected(std::move(e));
  }
  // The previous key's end of validity. Should this write fail, the new
  // .pub goes again: the next Open would otherwise make the new key
  // current (the newest without valid_until) although it never was.
  auto old = std::make_shared<Key>(*keys_.front());
  old->pub.valid_until = now;
  if (auto s = WriteFileAtomically(dir_ / (old->pub.key_id + ".pub"),
                                   PublicFileText(old->pub), 0644, false);
      !s) {
    Error e = s.error();
    e.message += DiscardKeyFiles(dir_, key_id);
    return tl::unexpected(std::move(e));
  }
  SyncDirectory(dir_);
  keys_.front() = std::move(old);
  keys_.insert(keys_.begin(), std::move(fresh));
  std::vector<HubPublicKey> out;
  out.reserve(keys_.size());
  for (const auto& k : keys_) out.push_back(k->pub);
  return out;
}

void HubKeyring::AbandonRotation(const std::string& key_id) {
  std::lock_guard rotation(rotation_mutex_);
  if (!prepared_ || prepared_->pub.key_id != key_id) return;
  prepared_.reset();
  (void)DiscardKeyFiles(dir_, key_id);
}

std::vector<std::string> HubKeyring::AbandonedKeys() const {
  std::lock_guard rotation(rotation_mutex_);
  return abandoned_;
}

std::string HubKeyring::DiscardAbandonedKeys() {
  std::lock_guard rotation(rotation_mutex_);
  std::string advice;
  for (const std::string& id : abandoned_) {
    // Only the .key: an abandoned key has no .pub (Open checked).
    std::error_code ec;
    const fs::path file = dir_ / (id + ".key");
    fs::remove(file, ec);
    if (ec) {
      advice += "; could not remove " + file.string() + " (" + ec.message() +
                "): remove it by hand (a key never used)";
    }
  }
  SyncDirectory(dir_);
  abandoned_.clear();
  return advice;
}

Result<HubPublicKey> HubKeyring::Rotate() {
  auto prepared = PrepareRotation();
  if (!prepared) return tl::unexpected(prepared.error());
  auto keys = CommitRotation(prepared->key_id);
  if (!keys) return tl::unexpected(keys.error());
  return keys->front();
}

Result<std::vector<std::string>> SettleAbandonedRotations(
    HubKeyring& keyring, Store& store, const fs::path& db_path) {
  const std::vector<std::string> abandoned = keyring.AbandonedKeys();
  if (abandoned.empty()) return std::vector<std::string>();
  auto newest = ReadNewestAuditEntry(db_path, "keys.rotate");
  if (!newest) return tl::unexpected(newest.error());
  // The details are written by the rotation handler, key_id first.
  std::string logged;
  if (*newest && (*newest)->result == "ok") {
    for (const std::string& id : abandoned) {
      if ((*newest)->details.starts_with("{\"key_id\":\"" + id + "\"")) {
        logged = id;
      }
    }
  }
  if (!logged.empty()) {
    AuditEvent failed;
    failed.actor = "hub";
    failed.action = "keys.rotate";
    failed.details = (*newest)->details;
    failed.result = std::string(ErrorCodeName(ErrorCode::kUnavailable));
    if (auto s = store.RecordAuditAndWait(std::move(failed)); !s) {
      return MakeError(
          s.error().code,
          "cannot record in the audit log that the rotation to " + logged +
              " did not happen (cairnd stopped after its keys.rotate entry "
              "and before the key became current): " +
              s.error().message +
              "; its key file stays, and the next start tries again");
    }
  }
  std::vector<std::string> lines;
  lines.reserve(abandoned.size() + 1);
  for (const std::string& id : abandoned) {
    lines.push_back(
        (keyring.dir() / (id + ".key")).string() +
        " had no .pub: a key rotation was cut short (cairnd stopped between "
        "making the key and making it current), so " +
        (id == logged
             ? "the audit log's keys.rotate entry naming it was followed by "
               "one with result unavailable; "
             : std::string("the audit log does not claim it became "
                           "current; ")) +
        "the key was never used and is removed. Check the current key with "
        "'cairnctl keys list' and rotate again if needed");
  }
  const std::string advice = keyring.DiscardAbandonedKeys();
  if (!advice.empty()) lines.push_back(advice.substr(2));
  return lines;
}

Result<std::vector<HubPublicKey>> LoadHubPublicKeys(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return MakeError(ErrorCode::kNotFound,
                     "hub keys directory " + dir.string() +
                         " does not exist; pass the hub's keys directory "
                         "(default <data_dir>/keys)");
  }
  return ScanPublicKeys(dir);
}

}  // namespace cairn::server
