#include "server/src/store/wal_checkpointer.h"

#include <sqlite3.h>

namespace cairn::server {

Result<std::unique_ptr<WalCheckpointer>> WalCheckpointer::Start(
    const std::filesystem::path& path, std::chrono::milliseconds busy_timeout,
    int pages, Clock clock) {
  auto db =
      Database::Open(path, /*create=*/false, /*read_only=*/false, busy_timeout);
  if (!db) return tl::unexpected(db.error());
  // A checkpoint syncs the log before copying it and the database file
  // after, as the writer's commits do.
  if (auto s = (*db)->Exec("PRAGMA synchronous=FULL"); !s) {
    return tl::unexpected(s.error());
  }
  if (auto s = (*db)->Exec("PRAGMA wal_autocheckpoint=0"); !s) {
    return tl::unexpected(s.error());
  }
  return std::unique_ptr<WalCheckpointer>(
      new WalCheckpointer(std::move(*db), pages, std::move(clock)));
}

WalCheckpointer::WalCheckpointer(std::unique_ptr<Database> db, int pages,
                                 Clock clock)
    : db_(std::move(db)),
      pages_(pages > 0 ? pages : 1000),
      clock_(clock ? std::move(clock) : SystemClock()),
      log_("WAL checkpoint",
           "commits go on, but cairn.db-wal grows until one succeeds: check "
           "the data directory's free space (df) and permissions",
           std::chrono::seconds(10)) {
  thread_ = std::thread([this] { Run(); });
}

WalCheckpointer::~WalCheckpointer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void WalCheckpointer::Attach(Database& writer) {
  // Replaces the automatic checkpoint, which SQLite implements with this
  // same hook.
  sqlite3_wal_hook(writer.handle(), &WalCheckpointer::OnCommit, this);
}

void WalCheckpointer::Detach(Database& writer) {
  sqlite3_wal_hook(writer.handle(), nullptr, nullptr);
}

std::uint64_t WalCheckpointer::Completed() const {
  std::lock_guard lock(mutex_);
  return completed_;
}

std::uint64_t WalCheckpointer::Failed() const {
  std::lock_guard lock(mutex_);
  return failed_;
}

int WalCheckpointer::OnCommit(void* self, sqlite3*, const char*, int pages) {
  auto* me = static_cast<WalCheckpointer*>(self);
  if (pages >= me->pages_) {
    {
      std::lock_guard lock(me->mutex_);
      me->due_ = true;
    }
    me->cv_.notify_one();
  }
  return SQLITE_OK;
}

void WalCheckpointer::Run() {
  std::unique_lock lock(mutex_);
  while (true) {
    cv_.wait(lock, [this] { return due_ || stopping_; });
    if (stopping_) return;
    due_ = false;
    lock.unlock();
    int log_pages = 0, copied = 0;
    const int rc = sqlite3_wal_checkpoint_v2(
        db_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log_pages, &copied);
    // A failure (disk full, I/O error) leaves the log growing until a later
    // checkpoint succeeds; commits go on, and StoreStats counts it.
    if (rc == SQLITE_OK) {
      log_.Succeeded(clock_());
    } else {
      log_.Failed(std::string(sqlite3_errstr(rc)) + ": " +
                      sqlite3_errmsg(db_->handle()),
                  clock_());
    }
    lock.lock();
    ++(rc == SQLITE_OK ? completed_ : failed_);
  }
}

}  // namespace cairn::server
