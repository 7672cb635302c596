// Online backup and offline restore of a hub's database: what `cairnctl
// backup` and `cairnctl restore` do. The hub's signing keys (<data>/keys)
// are secrets kept outside the database and are NOT part of a backup; they
// must be backed up separately (docs/operator-guide.md, "Backups").
#ifndef CAIRN_SERVER_CTL_BACKUP_H_
#define CAIRN_SERVER_CTL_BACKUP_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cairn/result.h"
#include "server/src/audit/audit_restore.h"

namespace cairn::server {

struct BackupReport {
  std::filesystem::path path;  // the backup file written
  std::uint64_t bytes = 0;     // its size
  int pages = 0;               // database pages copied
  std::string integrity;       // "ok" (anything else is an error)
  int schema_version = 0;      // PRAGMA user_version of the copy
};

// Copies the database at `db_path` to a new file `out` with SQLite's online
// backup API, in one read transaction: the copy is a consistent snapshot even
// while cairnd writes (WAL mode lets readers and the writer proceed
// together). The source is opened read-only. The copy is a single file
// (rollback-journal mode), mode 0600, checked with PRAGMA integrity_check,
// fsynced and renamed into place, so `out` either appears complete or not
// at all. REQUIRES: `out` does not exist. Thread-compatible.
Result<BackupReport> BackupDatabase(const std::filesystem::path& db_path,
                                    const std::filesystem::path& out);

// Checks an audit log: given the database file to check and the directory of
// the hub's public keys, returns a one-line summary ("intact: ...") or the
// error that names the first bad entry.
using AuditVerifier =
    std::function<Result<std::string>(const std::filesystem::path& db_path,
                                      const std::filesystem::path& keys_dir)>;

struct RestoreOptions {
  // A file made by BackupDatabase (or any copy of a hub database).
  std::filesystem::path from;
  // The data directory to restore into; created if missing. Set to mode
  // 0700 once the restore succeeds; a refused restore removes the
  // directory and lock file it created.
  std::filesystem::path data_dir;
  // The hub keys whose public halves verify the audit checkpoints.
  // Default (empty): <data_dir>/keys.
  std::filesystem::path keys_dir;
  // Replace an existing database (kept as cairn.db.replaced-<UTC time>).
  // Default: false (refuse).
  bool force = false;
  // When there is no database to replace (a lost disk): the lost hub's
  // last audit seq, so that the restore entry declares the entries after
  // the backup's as discarded and is numbered after them (no seq is used
  // twice). Refused when a database is replaced (its own last seq is used)
  // or when below the backup's last seq. Default: none (a warning).
  std::optional<std::uint64_t> after_seq;
  // Verifies the audit chain of the staged copy before it is installed.
  // Default: none (the report says "not verified").
  AuditVerifier verify_audit;
};

struct RestoreReport {
  std::filesystem::path path;  // the installed database, <data_dir>/cairn.db
  std::uint64_t bytes = 0;
  std::string integrity;  // "ok"
  int schema_version = 0;
  std::string audit;  // the verifier's summary, or "not verified"
  // Where the database that was replaced now is (with force).
  std::optional<std::filesystem::path> replaced;
  // The "hub.restore" audit entry appended to the restored log.
  std::optional<RestoreEntry> audit_entry;
  // Things the operator should fix by hand (printed on stderr).
  std::vector<std::string> warnings;
};

// Restores offline: takes the data directory's lock (DataDirLock, held by a
// running cairnd: kUnavailable) for the whole restore, copies `from` to
// <data_dir>/cairn.db.restore-tmp, checks the copy (integrity_check, a Cairn
// schema no newer than this build, the audit chain), checks that no other
// process has the current database open, reads the current database's last
// audit entry and appends a "hub.restore" entry to the copy declaring both
// heads (AppendRestoreEntry), then renames the copy over cairn.db after
// removing stale cairn.db-wal/-shm files. On any refusal the existing
// database is left untouched and the staged copy is removed. Run as root,
// the new cairn.db (and a data directory or lock file it made) gets the
// owner of the directory it is in, so the hub's user can open it
// (file_owner.h). Thread-compatible.
Result<RestoreReport> RestoreDatabase(const RestoreOptions& options);

// OK if no other process has the SQLite database at `db_path` open (or it
// does not exist); kUnavailable naming the file if one does. Detects a
// running cairnd through SQLite's own locks: an exclusive-mode transaction
// cannot start while another connection holds the database open.
Status CheckDatabaseNotInUse(const std::filesystem::path& db_path);

}  // namespace cairn::server

#endif  // CAIRN_SERVER_CTL_BACKUP_H_
