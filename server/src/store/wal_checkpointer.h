// Copies the write-ahead log back into the database file on a thread of
// its own, so the store's writer never does it inside a commit.
//
// SQLite's default (wal_autocheckpoint) runs the checkpoint on the
// connection whose commit crossed the threshold: the writer, then, with
// every waiting acknowledgement held up while it copies the log's pages to
// random places in the database file and syncs it. Under a steady stream
// of small commits that is a stall of tens of milliseconds every few
// commits. A PASSIVE checkpoint from another connection runs beside the
// writer instead (WAL mode allows one writer and one checkpointer at once);
// the writer's next transaction restarts the log once a checkpoint has
// copied all of it.
#ifndef CAIRN_SERVER_STORE_WAL_CHECKPOINTER_H_
#define CAIRN_SERVER_STORE_WAL_CHECKPOINTER_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>

#include "cairn/result.h"
#include "server/src/store/failure_log.h"
#include "server/src/store/records.h"
#include "server/src/store/sqlite_db.h"

namespace cairn::server {

class WalCheckpointer {
 public:
  // Opens a connection of its own to `path` and starts the thread.
  // `pages`: checkpoint once the log holds this many pages (SQLite's own
  // default is 1000, about 4 MB). `clock` times the failure log lines.
  static Result<std::unique_ptr<WalCheckpointer>> Start(
      const std::filesystem::path& path, std::chrono::milliseconds busy_timeout,
      int pages, Clock clock);

  // Stops the thread; a checkpoint under way finishes first.
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Makes `writer` hand its checkpoints to this thread: turns its automatic
  // checkpoints off and watches its log size after each commit. Call from
  // the thread that owns `writer`, before it writes; Detach before either
  // is destroyed.
  void Attach(Database& writer);
  static void Detach(Database& writer);

  // Checkpoints completed and failed so far (StoreStats).
  std::uint64_t Completed() const;
  std::uint64_t Failed() const;

 private:
  WalCheckpointer(std::unique_ptr<Database> db, int pages, Clock clock);
  static int OnCommit(void* self, sqlite3* db, const char* name, int pages);
  void Run();

  std::unique_ptr<Database> db_;  // the checkpointer thread's only
  const int pages_;
  const Clock clock_;
  RepeatingFailureLog log_;  // the checkpointer thread's only
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool due_ = false;
  bool stopping_ = false;
  std::uint64_t completed_ = 0;
  std::uint64_t failed_ = 0;
  std::thread thread_;
};

}  // namespace cairn::server

#endif  // CAIRN_SERVER_STORE_WAL_CHECKPOINTER_H_
