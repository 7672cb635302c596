// Thin RAII layer over the SQLite C API for the store: one Database per
// connection with a cache of prepared statements, and a Statement handle
// that resets its statement when it goes out of scope. Internal to
// server/src/store; not thread-safe (each connection has one owner thread
// or a mutex).
#ifndef CAIRN_SERVER_STORE_SQLITE_DB_H_
#define CAIRN_SERVER_STORE_SQLITE_DB_H_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include <sqlite3.h>

#include "cairn/result.h"

namespace cairn::server {

class Statement {
 public:
  Statement(sqlite3_stmt* stmt, sqlite3* db) : stmt_(stmt), db_(db) {}
  Statement(Statement&& other) noexcept
      : stmt_(std::exchange(other.stmt_, nullptr)), db_(other.db_) {}
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement& operator=(Statement&&) = delete;
  ~Statement();

  // Parameters are 1-based, as in SQLite.
  Statement& Bind(int i, std::int64_t v);
  Statement& Bind(int i, std::string_view text);
  Statement& BindBlob(int i, std::span<const std::uint8_t> blob);
  Statement& BindNull(int i);
  // Like Bind(i, text) and BindBlob, without SQLite's copy of the bytes:
  // for the writer's multi-row INSERTs, which bind thousands of ids and
  // tokens per commit. REQUIRES: the bytes stay valid and unchanged until
  // this Statement is destroyed (which resets it and clears its bindings).
  Statement& BindUnowned(int i, std::string_view text);
  Statement& BindBlobUnowned(int i, std::span<const std::uint8_t> blob);

  // true: a row is available; false: done. Errors carry SQLite's message.
  Result<bool> Step();
  // Steps to completion, for statements that return no rows.
  Status Run();

  std::int64_t Int(int col) const;
  std::string Text(int col) const;
  std::span<const std::uint8_t> Blob(int col) const;
  bool IsNull(int col) const;

 private:
  sqlite3_stmt* stmt_;
  sqlite3* db_;
};

// How a process running as root opens a database file in a directory that
// another user may write. cairnctl runs as root in a data directory the
// hub's user owns, who could plant a link at cairn.db (or at a restore's
// staged copy) for root to read and write whatever it names. So, run as
// root, a database file in a directory not root's alone (owned by another
// user, or writable by its group or by all) that is a symbolic link, not a
// regular file, or a hard link to a file of another owner than the
// directory's (a file with a second name) is refused, and
// SQLite opens it with SQLITE_OPEN_NOFOLLOW, which checks the name again
// as it opens the file (no window between the check and the open for a
// symbolic link). SQLite 3.40 refuses a link anywhere in the name under
// that flag, so the directory's own path is resolved first: a data
// directory that is itself a link (to another disk) still works. SQLite
// opens the -journal, -wal and -shm files with O_NOFOLLOW whoever runs it,
// and puts them beside the name it opened. A file in a directory only root
// may write (a backup named as a link to the newest one), and any file
// opened by another user, are opened as before: a hub keeps following a
// link at cairn.db (a database kept on another disk).
class DatabaseFileGuard {
 public:
  // Refuses (kIo, naming the file, what it is and what to do) a file at
  // `path` that, run as root, must not be opened (above); a missing file
  // passes (SQLite creates it, or fails to open it).
  static Result<DatabaseFileGuard> Check(const std::filesystem::path& path);

  // The name and the extra flags to pass to sqlite3_open_v2.
  const std::string& name() const { return name_; }
  int flags() const { return flags_; }

  // After sqlite3_open_v2 failed on `db` (which may be null): the refusal
  // when SQLite refused the file as a symbolic link, else nullopt.
  std::optional<Error> RefusedLink(sqlite3* db) const;
  // After sqlite3_open_v2 succeeded: refuses the file when what is at the
  // path is no longer the file checked (swapped in between) or has a
  // second name by now.
  Status Recheck() const;

 private:
  DatabaseFileGuard(std::filesystem::path path, std::string name, int flags)
      : path_(std::move(path)), name_(std::move(name)), flags_(flags) {}
  std::filesystem::path path_;
  std::string name_;
  int flags_ = 0;
  uid_t directory_owner_ = 0;
  bool existed_ = false;
  std::uint64_t device_ = 0;
  std::uint64_t inode_ = 0;
};

class Database {
 public:
  // `read_only` opens without write access (the reader connection). Run as
  // root, refuses what DatabaseFileGuard refuses.
  static Result<std::unique_ptr<Database>> Open(
      const std::filesystem::path& path, bool create, bool read_only,
      std::chrono::milliseconds busy_timeout);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  Status Exec(const std::string& sql);
  // `sql` must outlive the Database (a literal): the cache keys on it.
  Result<Statement> Prepare(const char* sql);
  std::int64_t LastInsertRowid() const;
  bool InTransaction() const;
  sqlite3* handle() const { return db_; }

  // Maps an SQLite result code to a Cairn error with a message that says
  // what to do. Disk-full, I/O and locking problems are kUnavailable.
  Error ErrorFor(int rc, std::string_view doing) const;

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::unordered_map<const char*, sqlite3_stmt*> cache_;
};

// Applies the schema migrations 1..target_version in one transaction each
// (target_version <= 0 means: the latest). Refuses a database whose
// user_version is newer than this build knows.
Status MigrateSchema(Database& db, int target_version = 0);

// PRAGMA user_version of `db`.
Result<int> SchemaVersionOf(Database& db);

// The number of migrations this build has.
int LatestSchemaVersion();

}  // namespace cairn::server

#endif  // CAIRN_SERVER_STORE_SQLITE_DB_H_
