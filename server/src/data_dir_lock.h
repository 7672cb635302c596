// An exclusive advisory lock on a hub's data directory, so that two
// processes never serve or rewrite one database at once: a second cairnd
// would keep a stale in-memory token index, and an offline restore or purge
// under a running hub would pull the database from under it.
//
// The lock is flock(2) on the data directory itself (which, unlike a file
// in it, cannot be deleted from under the holder) and on
// <data_dir>/cairnd.lock, released by the kernel when the process exits
// (even on kill -9), so a crash never leaves a stale lock behind. The file
// holds the owner's pid for error messages only; deleting it does not
// release the lock.
#ifndef CAIRN_SERVER_DATA_DIR_LOCK_H_
#define CAIRN_SERVER_DATA_DIR_LOCK_H_

#include <filesystem>
#include <memory>
#include <string>

#include "cairn/result.h"

namespace cairn::server {

class DataDirLock {
 public:
  // Takes the lock without waiting. kUnavailable (naming the holder's pid
  // when known) if another process holds it; kIo if the lock file cannot
  // be created or the directory opened, or if <data_dir>/cairnd.lock is a
  // symbolic link, not a regular file, or (when running as root) a hard
  // link (it is never followed or written through: the directory's owner
  // could otherwise make a root cairnctl overwrite any file). `holder` is
  // written into the file, e.g. "cairnd".
  static Result<std::unique_ptr<DataDirLock>> Acquire(
      const std::filesystem::path& data_dir, const std::string& holder);

  // <data_dir>/cairnd.lock.
  static std::filesystem::path FilePath(const std::filesystem::path& data_dir);

  ~DataDirLock();  // releases the lock
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;

 private:
  DataDirLock(int fd, int dir_fd) : fd_(fd), dir_fd_(dir_fd) {}
  int fd_;      // the lock file
  int dir_fd_;  // the data directory
};

}  // namespace cairn::server

#endif  // CAIRN_SERVER_DATA_DIR_LOCK_H_
