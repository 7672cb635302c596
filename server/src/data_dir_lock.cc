#include "server/src/data_dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cairn/whole_file.h"

namespace cairn::server {
namespace {

// Only for the message naming who holds the lock: an unreadable holder
// file leaves the name out rather than failing the refusal.
std::string ReadHolder(const std::filesystem::path& file) {
  std::string s = ReadWholeFile(file, "lock file").value_or("");
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

}  // namespace

std::filesystem::path DataDirLock::FilePath(
    const std::filesystem::path& data_dir) {
  return data_dir / "cairnd.lock";
}

Result<std::unique_ptr<DataDirLock>> DataDirLock::Acquire(
    const std::filesystem::path& data_dir, const std::string& holder) {
  const auto file = FilePath(data_dir);
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return MakeError(ErrorCode::kIo,
                     "cannot open lock file " + file.string() + ": " +
                         std::strerror(errno) +
                         "; check that the data directory exists and is "
                         "writable by this user");
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      const std::string owner = ReadHolder(file);
      return MakeError(ErrorCode::kUnavailable,
                       "the data directory " + data_dir.string() +
                           " is in use by another process (" +
                           (owner.empty() ? std::string("unknown") : owner) +
                           "); stop it first, or point this command at "
                           "another directory");
    }
    return MakeError(ErrorCode::kIo, "cannot lock " + file.string() + ": " +
                                         std::strerror(err));
  }
  // Best effort: the pid only improves the message a second process prints.
  const std::string text = holder + " pid " + std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) == 0) {
    (void)!::pwrite(fd, text.data(), text.size(), 0);
  }
  return std::unique_ptr<DataDirLock>(new DataDirLock(fd));
}

DataDirLock::~DataDirLock() {
  ::flock(fd_, LOCK_UN);
  ::close(fd_);
}

}  // namespace cairn::server
