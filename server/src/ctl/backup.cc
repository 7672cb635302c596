#include "server/src/ctl/backup.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "cairn/timestamp.h"
#include "server/src/audit/audit_restore.h"
#include "server/src/data_dir_lock.h"
#include "server/src/file_owner.h"
#include "server/src/store/sqlite_db.h"
#include "server/src/store_location.h"

namespace cairn::server {
namespace {

namespace fs = std::filesystem;

struct CloseDb {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
using DbPtr = std::unique_ptr<sqlite3, CloseDb>;

// SQLITE_BUSY while another connection commits is brief; a backup retries
// for about 10 s before it gives up.
constexpr int kBusyRetries = 200;
constexpr auto kBusyPause = std::chrono::milliseconds(50);

Error MakeIoError(std::string message) {
  return Error{ErrorCode::kIo, std::move(message), {}, std::nullopt};
}

// Run as root, refuses a file that is a link (DatabaseFileGuard): the hub
// database and a restore's staged copy are in the hub user's directory.
Result<DbPtr> OpenDb(const fs::path& path, int flags, const char* doing) {
  auto guard = DatabaseFileGuard::Check(path);
  if (!guard) return tl::unexpected(guard.error());
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(guard->name().c_str(), &raw,
                                 flags | guard->flags(), nullptr);
  DbPtr db(raw);
  if (rc != SQLITE_OK) {
    if (auto link = guard->RefusedLink(raw)) return tl::unexpected(*link);
    return MakeError(ErrorCode::kIo, std::string("cannot open '") +
                                         path.string() + "' to " + doing +
                                         " (" + sqlite3_errstr(rc) +
                                         "); check the path and permissions");
  }
  if (auto same = guard->Recheck(); !same) return tl::unexpected(same.error());
  sqlite3_extended_result_codes(raw, 0);
  return db;
}

// Runs `sql` and returns the first column of every row as text.
Result<std::vector<std::string>> Rows(sqlite3* db, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &raw, nullptr);
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(raw,
                                                             sqlite3_finalize);
  std::vector<std::string> rows;
  while (rc == SQLITE_OK || rc == SQLITE_ROW) {
    rc = sqlite3_step(stmt.get());
    if (rc == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt.get(), 0);
      rows.emplace_back(text ? reinterpret_cast<const char*>(text) : "");
    }
  }
  if (rc != SQLITE_DONE) {
    std::string message = sqlite3_errstr(rc);
    if (message != sqlite3_errmsg(db)) {
      message += std::string(" (") + sqlite3_errmsg(db) + ")";
    }
    return MakeError(rc == SQLITE_BUSY || rc == SQLITE_LOCKED
                         ? ErrorCode::kUnavailable
                         : ErrorCode::kInvalidArgument,
                     std::move(message));
  }
  return rows;
}

// PRAGMA integrity_check: "ok", or the problems found, joined.
Result<std::string> IntegrityCheck(sqlite3* db) {
  auto rows = Rows(db, "PRAGMA integrity_check");
  if (!rows) return tl::unexpected(rows.error());
  std::string joined;
  for (const auto& row : *rows) {
    if (!joined.empty()) joined += "; ";
    joined += row;
  }
  return joined;
}

Result<int> UserVersion(sqlite3* db) {
  auto rows = Rows(db, "PRAGMA user_version");
  if (!rows) return tl::unexpected(rows.error());
  if (rows->empty()) return 0;
  return std::stoi(rows->front());
}

// fsyncs a file or directory so that a rename that follows is durable.
Status SyncPath(const fs::path& path, bool directory) {
  const int fd = ::open(
      path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    const std::string reason = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return tl::unexpected(MakeIoError("cannot sync '" + path.string() +
                                      "' to disk: " + reason +
                                      "; check the file system"));
  }
  ::close(fd);
  return {};
}

// Creates an empty file with mode 0600 (database copies hold sensitive
// tokens), replacing a leftover of an earlier interrupted run.
Status CreatePrivateFile(const fs::path& path) {
  std::error_code ec;
  fs::remove(path, ec);
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return tl::unexpected(MakeIoError(
        "cannot create '" + path.string() + "': " + std::strerror(errno) +
        "; check that the directory exists and is writable"));
  }
  ::close(fd);
  return {};
}

void RemoveWithSidecars(const fs::path& db) {
  std::error_code ec;
  for (const char* suffix : {"", "-journal", "-wal", "-shm"}) {
    fs::remove(db.string() + suffix, ec);
  }
}

// Copies all pages of `source` into `dest` in one step, so the copy is one
// read transaction's snapshot of the source.
Result<int> CopyPages(sqlite3* source, sqlite3* dest) {
  sqlite3_backup* backup = sqlite3_backup_init(dest, "main", source, "main");
  if (backup == nullptr) {
    return MakeError(ErrorCode::kIo, std::string("cannot start the backup: ") +
                                         sqlite3_errmsg(dest));
  }
  int rc = SQLITE_OK;
  for (int attempt = 0; attempt < kBusyRetries; ++attempt) {
    rc = sqlite3_backup_step(backup, -1);
    if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) break;
    std::this_thread::sleep_for(kBusyPause);
  }
  const int pages = sqlite3_backup_pagecount(backup);
  sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) {
    return MakeError(rc == SQLITE_BUSY || rc == SQLITE_LOCKED
                         ? ErrorCode::kUnavailable
                         : ErrorCode::kIo,
                     std::string("the backup failed: ") + sqlite3_errstr(rc) +
                         "; check free space where the backup goes and retry");
  }
  return pages;
}

std::string UtcStamp() {
  // 2026-11-23T17:05:00Z -> 20261123T170500Z: safe in a file name.
  std::string stamp =
      FormatTimestamp(std::chrono::time_point_cast<std::chrono::seconds>(
          std::chrono::system_clock::now()));
  std::string out;
  for (char c : stamp) {
    if (c != '-' && c != ':') out += c;
  }
  return out;
}

struct CheckedCopy {
  std::string integrity;
  int schema_version = 0;
};

// Checks that `path` is an intact Cairn database this build can run, and
// leaves it as a single file (rollback-journal mode). An `origin` that is
// damaged or no Cairn database at all is a --from to change, named as the
// field (cairnctl exits 2); one of a newer schema is refused (1).
Result<CheckedCopy> CheckCopy(const fs::path& path, const fs::path& origin) {
  auto db = OpenDb(path, SQLITE_OPEN_READWRITE, "check it");
  if (!db) return tl::unexpected(db.error());
  const std::string what = "'" + origin.string() + "'";
  const std::string not_a_backup =
      "; pass a file made by 'cairnctl backup' (nothing was changed)";
  auto integrity = IntegrityCheck(db->get());
  if (!integrity) {
    return MakeError(ErrorCode::kInvalidArgument,
                     what + " is not a readable SQLite database: " +
                         integrity.error().message + not_a_backup,
                     "--from");
  }
  if (*integrity != "ok") {
    return MakeError(ErrorCode::kInvalidArgument,
                     what + " fails SQLite's integrity check (" +
                         integrity->substr(0, 300) + "); use an older backup" +
                         not_a_backup,
                     "--from");
  }
  auto mode = Rows(db->get(), "PRAGMA journal_mode=DELETE");
  if (!mode) {
    return MakeError(ErrorCode::kIo, "cannot prepare the copy of " + what +
                                         ": " + mode.error().message);
  }
  auto version = UserVersion(db->get());
  auto tables = Rows(db->get(),
                     "SELECT name FROM sqlite_schema WHERE type = 'table' AND "
                     "name IN ('members', 'signals', 'fingerprints')");
  if (!version || !tables || *version < 1 || tables->size() != 3) {
    return MakeError(ErrorCode::kInvalidArgument,
                     what +
                         " is a SQLite database but not a Cairn hub "
                         "database" +
                         not_a_backup,
                     "--from");
  }
  if (*version > LatestSchemaVersion()) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        what + " has schema version " + std::to_string(*version) +
            " but this cairnctl knows at most version " +
            std::to_string(LatestSchemaVersion()) +
            "; restore it with the cairnctl of the release that made it");
  }
  return CheckedCopy{*integrity, *version};
}

// Copies `from` to `to` (a leftover there is removed first) byte for byte
// with mode 0600, gives it its directory's owner (file_owner.h) and fsyncs
// it. All through the one descriptor of a file made anew: `to` is in the
// hub's data directory, whose owner could otherwise swap in a link for
// root to write the copy through.
Status CopyFile(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::remove(to, ec);
  const fs::path dir = to.has_parent_path() ? to.parent_path() : ".";
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) {
    return tl::unexpected(MakeIoError(
        "cannot open '" + dir.string() + "': " + std::strerror(errno) +
        "; check that the directory exists and is writable"));
  }
  const int out =
      ::openat(dir_fd, to.filename().c_str(),
               O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (out < 0) {
    const int err = errno;
    ::close(dir_fd);
    return tl::unexpected(MakeIoError(
        "cannot create '" + to.string() + "': " + std::strerror(err) +
        "; check that the directory exists and is writable"));
  }
  const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  auto close_all = [&] {
    if (in >= 0) ::close(in);
    ::close(out);
    ::close(dir_fd);
  };
  auto fail = [&](const std::string& message) -> Status {
    close_all();
    return tl::unexpected(MakeIoError(message));
  };
  if (in < 0) {
    return fail("cannot open '" + from.string() + "': " + std::strerror(errno) +
                "; check the path and permissions");
  }
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(in, buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("cannot read '" + from.string() +
                  "': " + std::strerror(errno));
    }
    for (ssize_t done = 0; done < n;) {
      const ssize_t w = ::write(out, buffer + done, n - done);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        return fail("cannot copy '" + from.string() + "' to '" + to.string() +
                    "': " + std::strerror(w < 0 ? errno : EIO) +
                    "; check free space");
      }
      done += w;
    }
  }
  // Run as root, the copy (cairn.db once renamed) gets the data directory's
  // owner, so that the hub's user can open it; SQLite gives the copy's
  // -journal and -wal files the copy's owner.
  if (auto owned = GiveDirectoryOwner(dir_fd, out, to); !owned) {
    close_all();
    return owned;
  }
  if (::fsync(out) != 0) {
    return fail("cannot sync '" + to.string() + "' to disk: " +
                std::strerror(errno) + "; check the file system");
  }
  close_all();
  return {};
}

}  // namespace

Result<BackupReport> BackupDatabase(const fs::path& db_path,
                                    const fs::path& out) {
  std::error_code ec;
  if (!fs::is_regular_file(db_path, ec)) {
    return MakeError(ErrorCode::kNotFound,
                     "no hub database at '" + db_path.string() +
                         "'; pass the hub's data directory (store.data_dir) "
                         "with --data",
                     "--data");
  }
  if (fs::exists(out, ec)) {
    return MakeError(ErrorCode::kConflict,
                     std::string("'").append(out.string()) +
                         "' already exists; backups never overwrite, choose "
                         "a new --out");
  }
  // The staged name keeps a half-written copy from looking like a backup.
  const fs::path staged = out.string() + ".partial";
  if (auto s = CreatePrivateFile(staged); !s) return tl::unexpected(s.error());
  auto fail = [&staged](Error error) -> Result<BackupReport> {
    RemoveWithSidecars(staged);
    return tl::unexpected(std::move(error));
  };

  BackupReport report;
  {
    auto source = OpenDb(db_path, SQLITE_OPEN_READONLY, "back it up");
    if (!source) return fail(source.error());
    sqlite3_busy_timeout(source->get(), 5000);
    auto dest = OpenDb(staged, SQLITE_OPEN_READWRITE, "write the backup");
    if (!dest) return fail(dest.error());
    auto pages = CopyPages(source->get(), dest->get());
    if (!pages) return fail(pages.error());
    report.pages = *pages;
    source->reset();
    // A backup is one self-contained file: no -wal beside it.
    if (auto mode = Rows(dest->get(), "PRAGMA journal_mode=DELETE"); !mode) {
      return fail(mode.error());
    }
    auto integrity = IntegrityCheck(dest->get());
    if (!integrity) return fail(integrity.error());
    if (*integrity != "ok") {
      return fail(Error{ErrorCode::kInternal,
                        "the copy fails SQLite's integrity check (" +
                            integrity->substr(0, 300) +
                            "); the hub's database may be damaged: run "
                            "'sqlite3 " +
                            db_path.string() +
                            " \"PRAGMA integrity_check\"' and restore the "
                            "last good backup",
                        {},
                        std::nullopt});
    }
    report.integrity = *integrity;
    auto version = UserVersion(dest->get());
    if (!version) return fail(version.error());
    report.schema_version = *version;
  }
  if (auto s = SyncPath(staged, false); !s) return fail(s.error());
  fs::rename(staged, out, ec);
  if (ec) {
    return fail(MakeIoError("cannot rename '" + staged.string() + "' to '" +
                            out.string() + "': " + ec.message()));
  }
  const fs::path parent =
      out.has_parent_path() ? out.parent_path() : fs::path(".");
  if (auto s = SyncPath(parent, true); !s) return tl::unexpected(s.error());
  report.path = out;
  report.bytes = fs::file_size(out, ec);
  return report;
}

Status CheckDatabaseNotInUse(const fs::path& db_path) {
  std::error_code ec;
  if (!fs::exists(db_path, ec)) return {};
  auto db =
      OpenDb(db_path, SQLITE_OPEN_READWRITE, "check whether it is in use");
  if (!db) return tl::unexpected(db.error());
  // In exclusive locking mode a WAL database needs the only connection:
  // any other open connection (cairnd keeps its own open all the time)
  // makes BEGIN EXCLUSIVE fail with SQLITE_BUSY at once.
  sqlite3_busy_timeout(db->get(), 0);
  auto locked = Rows(db->get(), "PRAGMA locking_mode=EXCLUSIVE");
  if (locked) locked = Rows(db->get(), "BEGIN EXCLUSIVE");
  if (!locked && locked.error().code == ErrorCode::kUnavailable) {
    return MakeError(ErrorCode::kUnavailable,
                     "'" + db_path.string() +
                         "' is open in another process, probably a running "
                         "cairnd; stop the hub (systemctl stop cairnd) and "
                         "retry: restore is offline only");
  }
  if (locked) (void)Rows(db->get(), "COMMIT");
  // Other errors (a damaged file) do not mean the file is in use; closing
  // checkpoints and removes a leftover -wal of a cleanly closed database.
  return {};
}

namespace {

// RestoreDatabase once the data directory exists and is locked.
Result<RestoreReport> RestoreLocked(const RestoreOptions& options);

}  // namespace

Result<RestoreReport> RestoreDatabase(const RestoreOptions& options) {
  std::error_code ec;
  if (!fs::is_regular_file(options.from, ec)) {
    return MakeError(
        ErrorCode::kNotFound,
        "no backup file at '" + options.from.string() + "'; check --from",
        "--from");
  }
  const fs::path target = DatabasePath(options.data_dir);
  if (fs::exists(target, ec) && !options.force) {
    return MakeError(ErrorCode::kConflict,
                     "a hub database already exists at '" + target.string() +
                         "'; pass --force to replace it (it is kept as "
                         "cairn.db.replaced-<time>) or restore into an empty "
                         "data directory");
  }
  bool created_dir = false;
  if (!fs::exists(options.data_dir, ec)) {
    created_dir = fs::create_directories(options.data_dir, ec);
    if (ec) {
      return MakeError(ErrorCode::kIo, "cannot create the data directory '" +
                                           options.data_dir.string() +
                                           "': " + ec.message());
    }
    fs::permissions(options.data_dir, fs::perms::owner_all, ec);
    if (created_dir) {
      if (auto owned = GiveDirectoryOwner(options.data_dir); !owned) {
        fs::remove(options.data_dir, ec);
        return tl::unexpected(owned.error());
      }
    }
  }
  // A refused restore leaves no trace of itself: neither the lock file nor
  // the directory it made (a hub started there later would be confusing).
  const fs::path lock_file = DataDirLock::FilePath(options.data_dir);
  const bool lock_file_existed = fs::exists(fs::symlink_status(lock_file, ec));
  auto undo = [&] {
    std::error_code ignored;
    if (!lock_file_existed) fs::remove(lock_file, ignored);
    if (created_dir) fs::remove(options.data_dir, ignored);  // if empty
  };
  // cairnd holds this lock while it runs, and holding it here keeps a hub
  // from starting half-way through the restore.
  auto lock = DataDirLock::Acquire(options.data_dir, "cairnctl restore");
  if (!lock) {
    Error error = lock.error();
    if (error.code == ErrorCode::kUnavailable) {
      error.message += " (restore is offline only: systemctl stop cairnd)";
    } else {
      undo();
    }
    return tl::unexpected(std::move(error));
  }
  auto report = RestoreLocked(options);
  if (!report) {
    undo();  // while still holding the lock
    return report;
  }
  // The hub's data directory is private (as cairnctl init leaves it), also
  // when the operator made it beforehand with a looser umask.
  fs::permissions(options.data_dir, fs::perms::owner_all, ec);
  if (ec) {
    report->warnings.push_back("cannot set " + options.data_dir.string() +
                               " to mode 0700 (" + ec.message() +
                               "); do it yourself: chmod 700 " +
                               options.data_dir.string());
  }
  return report;
}

namespace {

Result<RestoreReport> RestoreLocked(const RestoreOptions& options) {
  std::error_code ec;
  const fs::path target = DatabasePath(options.data_dir);

  // Check the bytes that will be installed, not the original: the file
  // cannot change between the check and the rename.
  const fs::path staged = target.string() + ".restore-tmp";
  auto fail = [&staged](Error error) -> Result<RestoreReport> {
    RemoveWithSidecars(staged);
    return tl::unexpected(std::move(error));
  };
  // Run as root, the copy gets the data directory's owner (CopyFile).
  if (auto s = CopyFile(options.from, staged); !s) return fail(s.error());
  auto checked = CheckCopy(staged, options.from);
  if (!checked) return fail(checked.error());

  RestoreReport report;
  report.integrity = checked->integrity;
  report.schema_version = checked->schema_version;
  report.audit = "not verified";
  if (options.verify_audit) {
    const fs::path keys =
        options.keys_dir.empty() ? options.data_dir / "keys" : options.keys_dir;
    auto audit = options.verify_audit(staged, keys);
    if (!audit) {
      Error error = audit.error();
      error.message = "the audit log of '" + options.from.string() +
                      "' does not verify: " + error.message +
                      " (nothing was changed)";
      return fail(std::move(error));
    }
    report.audit = *audit;
  }

  // Also catches processes that do not take the lock (an older cairnd, an
  // sqlite3 shell). Only now: the check may checkpoint the old file, which
  // a refused restore must leave untouched.
  if (auto s = CheckDatabaseNotInUse(target); !s) return fail(s.error());

  // The restore is recorded in the restored log itself, numbered after the
  // current database's last entry (or --after-seq) so that no audit seq is
  // used twice (audit_restore.h). It goes into the staged copy: if anything
  // fails, nothing has changed.
  const fs::path replaced = target.string() + ".replaced-" + UtcStamp();
  std::optional<std::string> replaced_name;
  std::optional<AuditHead> replaced_head;
  if (fs::exists(target, ec)) {
    auto head = ReadAuditHead(target);
    if (!head) {
      return fail(Error{
          head.error().code,
          "cannot read the last audit entry of the current database '" +
              target.string() + "' (" + head.error().message +
              "); the restore entry needs it so that no audit seq is used "
              "twice. If that database is damaged beyond this, move it aside "
              "yourself (mv cairn.db cairn.db.damaged, and keep it) and "
              "restore again: the restore entry then records no replaced "
              "database (nothing was changed)",
          {},
          std::nullopt});
    }
    replaced_name = replaced.filename().string();
    replaced_head = *head;
    if (options.after_seq) {
      return fail(Error{ErrorCode::kInvalidArgument,
                        "--after-seq is for a data directory without a "
                        "database (a lost disk); the restore entry takes the "
                        "last audit seq of the database it replaces from "
                        "that database (" +
                            std::to_string((*head)->seq) +
                            "); drop --after-seq (nothing was changed)",
                        "--after-seq", std::nullopt});
    }
  } else if (options.after_seq) {
    // The lost log went at least as far as the backup: a smaller seq is a
    // mistyped or wrong --after-seq. Checked here to name the option;
    // AppendRestoreEntry refuses it too.
    auto backup_head = ReadAuditHead(staged);
    if (backup_head && *backup_head &&
        *options.after_seq < (*backup_head)->seq) {
      return fail(Error{
          ErrorCode::kInvalidArgument,
          "--after-seq " + std::to_string(*options.after_seq) +
              " is before the last audit entry of the backup '" +
              options.from.string() + "' (" +
              std::to_string((*backup_head)->seq) +
              "); give the lost hub's last audit seq, which is at least the "
              "backup's (the newest seq in members' saved GET "
              "/v1/audit/checkpoints answers) (nothing was changed)",
          "--after-seq", std::nullopt});
    }
    // The lost log's last entry: its seq only, its hash is not known.
    replaced_head = AuditHead{*options.after_seq, {}, 0};
  }
  const auto now = std::chrono::time_point_cast<std::chrono::seconds>(
      std::chrono::system_clock::now());
  auto entry = AppendRestoreEntry(staged, options.from.filename().string(),
                                  replaced_name, replaced_head,
                                  now.time_since_epoch().count());
  if (!entry) {
    Error error = entry.error();
    error.message = "cannot record the restore in the audit log of the copy: " +
                    error.message + " (nothing was changed)";
    return fail(std::move(error));
  }
  // A copy older than the audit log now has its tables (schema 3).
  report.schema_version = std::max(report.schema_version, 3);
  report.audit_entry = *entry;
  if (!replaced_name && !options.after_seq) {
    const std::uint64_t b = entry->declared.backup_last.seq;
    report.warnings.push_back(
        "no database was replaced, so the restore entry is numbered " +
        std::to_string(entry->seq) +
        ", right after the backup's last audit entry (" + std::to_string(b) +
        "): if the lost hub's log went further, audit seqs from " +
        std::to_string(b + 1) +
        " on will be used a second time, and members' saved checkpoints "
        "newer than the backup will read as a rewrite. To avoid it, before "
        "starting cairnd remove " +
        target.string() +
        " and restore again with --after-seq N, N being the lost hub's last "
        "audit seq (at least the newest seq in members' saved GET "
        "/v1/audit/checkpoints answers)");
  }
  RemoveWithSidecars(staged.string() + "-journal");
  if (auto s = SyncPath(staged, false); !s) return fail(s.error());

  if (fs::exists(target, ec)) {
    fs::rename(target, replaced, ec);
    if (ec) {
      return fail(MakeIoError("cannot move the current database aside to '" +
                              replaced.string() + "': " + ec.message()));
    }
    report.replaced = replaced;
  }
  // A -wal left beside cairn.db would be replayed into the restored file.
  for (const char* suffix : {"-wal", "-shm", "-journal"}) {
    fs::remove(target.string() + suffix, ec);
  }
  fs::rename(staged, target, ec);
  if (ec) {
    std::string error = "cannot rename '" + staged.string() + "' to '" +
                        target.string() + "': " + ec.message();
    // Never leave the data directory without a database: put the current
    // one back, or say exactly where it is.
    if (report.replaced) {
      std::error_code back;
      fs::rename(*report.replaced, target, back);
      error += back ? "; the current database is at '" +
                          report.replaced->string() + "': move it back to '" +
                          target.string() + "' before starting cairnd (" +
                          back.message() + ")"
                    : "; the current database was put back, nothing changed";
    }
    return fail(MakeIoError(std::move(error)));
  }
  if (auto s = SyncPath(options.data_dir, true); !s) {
    return tl::unexpected(s.error());
  }
  report.path = target;
  report.bytes = fs::file_size(target, ec);
  return report;
}

}  // namespace

}  // namespace cairn::server
