#include "server/src/data_dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "cairn/whole_file.h"
#include "server/src/file_owner.h"

namespace cairn::server {
namespace {

constexpr const char* kLockFileName = "cairnd.lock";

// Only for the message naming who holds the lock: an unreadable holder
// file leaves the name out rather than failing the refusal. Read through
// the directory without following a symbolic link, and only a regular
// file's first bytes: the message must never show another file's text.
std::string ReadHolder(int dir_fd) {
  const int fd = ::openat(dir_fd, kLockFileName,
                          O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return "";
  struct stat st {};
  char buffer[128];
  ssize_t n = -1;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    n = ::pread(fd, buffer, sizeof buffer, 0);
  }
  ::close(fd);
  std::string s(buffer, n > 0 ? static_cast<std::size_t>(n) : 0);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// Refuses a lock path that is not a plain file of its own: cairnctl runs as
// root, and the directory belongs to the hub's user, who could otherwise
// point cairnd.lock at any file for root to truncate and rewrite.
Error NotAPlainFile(const std::filesystem::path& file,
                    const std::string& what) {
  return Error{ErrorCode::kIo,
               "refusing to use the lock file " + file.string() + ": it is " +
                   what +
                   ", not a regular file of its own; nothing was written. "
                   "Check why (the data directory's owner may have planted "
                   "it), then remove it (rm " +
                   file.string() + ") and run the command again",
               {},
               std::nullopt};
}

// The pid holding a flock on the file open as `fd`, from /proc/locks
// ("1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"), or "" when not
// found: for the message when the lock file's text is gone.
std::string FlockHolderPid(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return "";
  char id[64];
  std::snprintf(id, sizeof id, "%02x:%02x:%llu", major(st.st_dev),
                minor(st.st_dev), static_cast<unsigned long long>(st.st_ino));
  std::istringstream locks(
      ReadWholeFile("/proc/locks", "lock table").value_or(""));
  for (std::string line; std::getline(locks, line);) {
    std::istringstream fields(line);
    std::string n, type, mode, access, pid, file;
    fields >> n >> type;
    if (type == "->") fields >> type;  // a waiter, listed under the holder
    fields >> mode >> access >> pid >> file;
    if (type == "FLOCK" && file == id) return pid;
  }
  return "";
}

Error InUse(const std::filesystem::path& data_dir, const std::string& owner) {
  return Error{ErrorCode::kUnavailable,
               "the data directory " + data_dir.string() +
                   " is in use by another process (" +
                   (owner.empty() ? std::string("unknown") : owner) +
                   "); stop it first, or point this command at another "
                   "directory",
               {},
               std::nullopt};
}

}  // namespace

std::filesystem::path DataDirLock::FilePath(
    const std::filesystem::path& data_dir) {
  return data_dir / kLockFileName;
}

Result<std::unique_ptr<DataDirLock>> DataDirLock::Acquire(
    const std::filesystem::path& data_dir, const std::string& holder) {
  // The directory itself is the lock: unlike a lock file it cannot be
  // deleted from under a running hub, which would let a second one start
  // beside it.
  const int dir_fd =
      ::open(data_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) {
    return MakeError(ErrorCode::kIo,
                     "cannot open the data directory " + data_dir.string() +
                         ": " + std::strerror(errno) +
                         "; check that it exists and that this user may "
                         "enter it");
  }
  const auto file = FilePath(data_dir);
  if (::flock(dir_fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err == EWOULDBLOCK) {
      std::string owner = ReadHolder(dir_fd);
      if (owner.empty()) {
        const std::string pid = FlockHolderPid(dir_fd);
        if (!pid.empty()) owner = "pid " + pid;
      }
      ::close(dir_fd);
      return tl::unexpected(InUse(data_dir, owner));
    }
    ::close(dir_fd);
    return MakeError(ErrorCode::kIo, "cannot lock " + data_dir.string() + ": " +
                                         std::strerror(err));
  }
  // The lock file too: it holds the owner's pid for the message above, and
  // a hub of an earlier version locks only the file. Opened in the
  // directory already open, never through a symbolic link (O_NOFOLLOW
  // fails with ELOOP on one), without blocking on a FIFO.
  const int fd = ::openat(
      dir_fd, kLockFileName,
      O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int err = errno;
    ::close(dir_fd);
    if (err == ELOOP) {
      return tl::unexpected(NotAPlainFile(file, "a symbolic link"));
    }
    if (err == EISDIR || err == ENXIO) {  // a directory or a socket
      return tl::unexpected(NotAPlainFile(
          file, "not a regular file (a directory, FIFO or device)"));
    }
    return MakeError(ErrorCode::kIo,
                     "cannot open lock file " + file.string() + ": " +
                         std::strerror(err) +
                         "; check that the data directory exists and is "
                         "writable by this user");
  }
  // A FIFO, device or directory, or, when running as root, a hard link to
  // some other file (which has more than one name): not a lock file this
  // process made. A hard link harms nobody when the lock's own user runs
  // (the file is theirs already), and a hard-link snapshot of the data
  // directory (cp -al) must not stop the hub's next start.
  struct stat st {};
  const bool stat_ok = ::fstat(fd, &st) == 0;
  const bool foreign_link = stat_ok && st.st_nlink != 1 && ::geteuid() == 0;
  if (!stat_ok || !S_ISREG(st.st_mode) || foreign_link) {
    const bool regular = S_ISREG(st.st_mode);
    ::close(fd);
    ::close(dir_fd);
    return tl::unexpected(NotAPlainFile(
        file, regular ? "a hard link to a file with another name"
                      : "not a regular file (a directory, FIFO or device)"));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      const std::string owner = ReadHolder(dir_fd);
      ::close(dir_fd);
      return tl::unexpected(InUse(data_dir, owner));
    }
    ::close(dir_fd);
    return MakeError(ErrorCode::kIo, "cannot lock " + file.string() + ": " +
                                         std::strerror(err));
  }
  // Made by root (a cairnctl restore or purge without runuser), the file
  // would be root's, and the hub's own user could not open it to start.
  if (auto owned = GiveDirectoryOwner(dir_fd, fd, file); !owned) {
    ::close(fd);
    ::close(dir_fd);
    return tl::unexpected(owned.error());
  }
  // Best effort: the pid only improves the message a second process prints.
  const std::string text = holder + " pid " + std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) == 0) {
    (void)!::pwrite(fd, text.data(), text.size(), 0);
  }
  return std::unique_ptr<DataDirLock>(new DataDirLock(fd, dir_fd));
}

DataDirLock::~DataDirLock() {
  ::flock(fd_, LOCK_UN);
  ::close(fd_);
  ::flock(dir_fd_, LOCK_UN);
  ::close(dir_fd_);
}

}  // namespace cairn::server
