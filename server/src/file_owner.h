// Who owns the files cairnctl (and cairnd) make in a hub's data and key
// directories. Run as root (say, without `runuser -u cairn --`), a new file
// would belong to root with mode 0600 or 0700, and the hub, running as its
// own user, could not open it: its next start would fail. So a process
// running as root gives each file or directory it makes there the owner
// and group of the directory it is made in (in the documented set-up the
// data directory belongs to the hub's user); modes stay as they are. Run as
// any other user, nothing changes: new files are that user's, as usual.
#ifndef CAIRN_SERVER_FILE_OWNER_H_
#define CAIRN_SERVER_FILE_OWNER_H_

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "cairn/result.h"

namespace cairn::server {

// When this process runs as root, gives `path` (a file or directory just
// made) the owner and group of the directory holding it, without following
// a symbolic link at `path`; otherwise does nothing. Fails (kIo) when root
// cannot change it, naming the chown that would fix it.
inline Status GiveDirectoryOwner(const std::filesystem::path& path) {
  if (::geteuid() != 0) return {};
  std::filesystem::path made = path;
  if (!made.has_filename()) made = made.parent_path();  // "data/" is "data"
  const std::filesystem::path dir =
      made.has_parent_path() ? made.parent_path() : std::filesystem::path(".");
  struct stat dir_stat {};
  struct stat made_stat {};
  if (::stat(dir.c_str(), &dir_stat) != 0 ||
      ::lstat(made.c_str(), &made_stat) != 0) {
    return MakeError(ErrorCode::kIo,
                     "cannot read the owner of " + made.string() + " or of " +
                         dir.string() + ": " + std::strerror(errno));
  }
  if (made_stat.st_uid == dir_stat.st_uid &&
      made_stat.st_gid == dir_stat.st_gid) {
    return {};
  }
  if (::lchown(made.c_str(), dir_stat.st_uid, dir_stat.st_gid) != 0) {
    const std::string owner =
        std::to_string(dir_stat.st_uid) + ":" + std::to_string(dir_stat.st_gid);
    return MakeError(ErrorCode::kIo,
                     "cannot give " + made.string() +
                         " the owner of its directory " + dir.string() + " (" +
                         owner + "): " + std::strerror(errno) +
                         "; run `chown " + owner + " " + made.string() +
                         "` before starting cairnd, or run this command as "
                         "the hub's user (runuser -u cairn -- ...)");
  }
  return {};
}

// The same for a file or directory this process has open as `fd`, made in
// the directory open as `dir_fd`: by descriptor, so that whatever is at
// `path` by now (a symbolic link or hard link planted by the directory's
// owner) is never changed. `path` only names the file in the message.
inline Status GiveDirectoryOwner(int dir_fd, int fd,
                                 const std::filesystem::path& path) {
  if (::geteuid() != 0) return {};
  struct stat dir_stat {};
  struct stat made_stat {};
  if (::fstat(dir_fd, &dir_stat) != 0 || ::fstat(fd, &made_stat) != 0) {
    return MakeError(ErrorCode::kIo, "cannot read the owner of " +
                                         path.string() +
                                         " or of its "
                                         "directory: " +
                                         std::strerror(errno));
  }
  if (made_stat.st_uid == dir_stat.st_uid &&
      made_stat.st_gid == dir_stat.st_gid) {
    return {};
  }
  if (::fchown(fd, dir_stat.st_uid, dir_stat.st_gid) != 0) {
    const std::string owner =
        std::to_string(dir_stat.st_uid) + ":" + std::to_string(dir_stat.st_gid);
    return MakeError(ErrorCode::kIo,
                     "cannot give " + path.string() +
                         " the owner of its directory (" + owner +
                         "): " + std::strerror(errno) + "; run `chown " +
                         owner + " " + path.string() +
                         "` before starting cairnd, or run this command as "
                         "the hub's user (runuser -u cairn -- ...)");
  }
  return {};
}

}  // namespace cairn::server

#endif  // CAIRN_SERVER_FILE_OWNER_H_
