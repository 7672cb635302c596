#include "server/src/store/sqlite_db.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace cairn::server {

Statement::~Statement() {
  if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

Statement& Statement::Bind(int i, std::int64_t v) {
  sqlite3_bind_int64(stmt_, i, v);
  return *this;
}

Statement& Statement::Bind(int i, std::string_view text) {
  // An empty view may have a null data pointer, which SQLite would store
  // as NULL rather than as an empty string.
  sqlite3_bind_text(stmt_, i, text.empty() ? "" : text.data(),
                    static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::BindBlob(int i, std::span<const std::uint8_t> blob) {
  sqlite3_bind_blob(stmt_, i, blob.data(), static_cast<int>(blob.size()),
                    SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::BindUnowned(int i, std::string_view text) {
  sqlite3_bind_text(stmt_, i, text.empty() ? "" : text.data(),
                    static_cast<int>(text.size()), SQLITE_STATIC);
  return *this;
}

Statement& Statement::BindBlobUnowned(int i,
                                      std::span<const std::uint8_t> blob) {
  sqlite3_bind_blob(stmt_, i, blob.data(), static_cast<int>(blob.size()),
                    SQLITE_STATIC);
  return *this;
}

Statement& Statement::BindNull(int i) {
  sqlite3_bind_null(stmt_, i);
  return *this;
}

Result<bool> Statement::Step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  const char* sql = sqlite3_sql(stmt_);
  Error e{};
  e.code = (rc == SQLITE_CONSTRAINT) ? ErrorCode::kInternal
                                     : ErrorCode::kUnavailable;
  e.message = std::string("database error (") + sqlite3_errstr(rc) +
              "): " + sqlite3_errmsg(db_) + " while running: " +
              std::string(sql != nullptr ? sql : "?").substr(0, 60);
  return tl::unexpected(std::move(e));
}

Status Statement::Run() {
  while (true) {
    auto r = Step();
    if (!r) return tl::unexpected(r.error());
    if (!*r) return {};
  }
}

std::int64_t Statement::Int(int col) const {
  return sqlite3_column_int64(stmt_, col);
}

std::string Statement::Text(int col) const {
  const auto* p = sqlite3_column_text(stmt_, col);
  const int n = sqlite3_column_bytes(stmt_, col);
  return p == nullptr ? std::string()
                      : std::string(reinterpret_cast<const char*>(p),
                                    static_cast<std::size_t>(n));
}

std::span<const std::uint8_t> Statement::Blob(int col) const {
  const auto* p =
      static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_, col));
  const int n = sqlite3_column_bytes(stmt_, col);
  return {p, static_cast<std::size_t>(n)};
}

bool Statement::IsNull(int col) const {
  return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}

namespace {

std::string UserName() {
  const uid_t uid = ::geteuid();
  passwd entry{};
  passwd* found = nullptr;
  std::vector<char> buffer(16384);
  if (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) == 0 &&
      found != nullptr) {
    return found->pw_name;
  }
  return "uid " + std::to_string(uid);
}

std::string NameOf(uid_t uid) {
  passwd entry{};
  passwd* found = nullptr;
  std::vector<char> buffer(16384);
  if (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) == 0 &&
      found != nullptr) {
    return std::string(found->pw_name) + " (uid " + std::to_string(uid) + ")";
  }
  return "uid " + std::to_string(uid);
}

std::string GroupOf(gid_t gid) {
  group entry{};
  group* found = nullptr;
  std::vector<char> buffer(16384);
  if (::getgrgid_r(gid, &entry, buffer.data(), buffer.size(), &found) == 0 &&
      found != nullptr) {
    return found->gr_name;
  }
  return std::to_string(gid);
}

// "owner root (uid 0), group root, mode 0600" of `path`, or why not known.
std::string OwnerAndMode(const std::filesystem::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return std::string("owner unknown: ") + std::strerror(errno);
  }
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o",
                static_cast<unsigned>(st.st_mode & 07777));
  return "owner " + NameOf(st.st_uid) + ", group " + GroupOf(st.st_gid) +
         ", mode " + mode;
}

// The database exists but this user may not open it: typically a file
// left by a cairnctl command run as root (restore without `runuser -u
// cairn --`), which the hub's own user cannot read.
std::string PermissionMessage(const std::filesystem::path& path,
                              const char* sqlite_error) {
  const std::string file = path.string();
  const std::string dir =
      path.has_parent_path() ? path.parent_path().string() : std::string(".");
  const std::string user = UserName();
  return "cannot open the database " + file + " (" + sqlite_error +
         "): permission denied for user " + NameOf(::geteuid()) +
         ", which this process runs as (the file: " + OwnerAndMode(path) +
         "; its directory " + dir + ": " + OwnerAndMode(dir) + "). If " + user +
         " is the hub's user, give it the files (`chown -R " + user + ": " +
         dir + "`; the database mode 0600, the directory 0700) and " +
         "try again; if not, run this as the hub's user (`runuser -u USER " +
         "-- ...`), as every cairnctl command that writes there should be";
}

std::string ReadOnlyMessage(const std::filesystem::path& path) {
  const std::string file = path.string();
  const std::string dir =
      path.has_parent_path() ? path.parent_path().string() : std::string(".");
  return "the database " + file + " can only be opened read-only by user " +
         UserName() +
         " (file mode, owner or a read-only file system): writes would "
         "fail; give that user write permission on it, its -wal and -shm "
         "files and the directory " +
         dir + " (e.g. `chown USER " + file + "* && chmod 600 " + file +
         "*`), then start again";
}

// Why a process running as root does not open the database file `path`.
Error NotADatabaseOfItsOwn(const std::filesystem::path& path,
                           const std::string& what) {
  const std::string file = path.string();
  return Error{
      ErrorCode::kIo,
      "refusing to open the database " + file + " as root: it is " + what +
          ", not a regular file of its own, in a directory another user may "
          "write (who may have put it there for root to read and write "
          "whatever it names); nothing was read or written. If you made it "
          "(a database kept on another disk, say), run the "
          "command as the hub's user (runuser -u cairn -- ...), which "
          "follows it; if not, find out who put it there, remove it (rm " +
          file +
          ") and put the hub's database back at that path (or cairnctl "
          "restore the last backup)",
      {},
      std::nullopt};
}

constexpr const char* kSymbolicLink = "a symbolic link";
constexpr const char* kNotRegular =
    "not a regular file (a directory, FIFO, socket or device)";
constexpr const char* kHardLink =
    "a hard link to a file of another owner than its directory's (the file "
    "has another name too)";
constexpr const char* kReplaced =
    "a file that was moved, removed or replaced as it was opened";

}  // namespace

Result<DatabaseFileGuard> DatabaseFileGuard::Check(
    const std::filesystem::path& path) {
  if (::geteuid() != 0 || !path.has_filename()) {
    return DatabaseFileGuard(path, path.string(), 0);
  }
  // The directory's path resolved, so that SQLITE_OPEN_NOFOLLOW refuses a
  // link at the file only. Unresolvable, the name stays as it is: SQLite
  // fails to open it (or refuses a link in it).
  std::error_code ec;
  const auto dir = std::filesystem::canonical(
      path.has_parent_path() ? path.parent_path() : std::filesystem::path("."),
      ec);
  struct stat dir_stat {};
  const bool dir_known = !ec && ::stat(dir.c_str(), &dir_stat) == 0;
  if (dir_known && dir_stat.st_uid == 0 &&
      (dir_stat.st_mode & (S_IWGRP | S_IWOTH)) == 0) {
    // Only root may put a file there: what is there is root's own doing
    // (a backup kept as a link to the newest one, say).
    return DatabaseFileGuard(path, path.string(), 0);
  }
  struct stat st {};
  const bool exists = ::lstat(path.c_str(), &st) == 0;
  if (exists) {
    if (S_ISLNK(st.st_mode)) {
      return tl::unexpected(NotADatabaseOfItsOwn(path, kSymbolicLink));
    }
    if (!S_ISREG(st.st_mode)) {
      return tl::unexpected(NotADatabaseOfItsOwn(path, kNotRegular));
    }
    // A second name for a file of the directory's owner gains nobody
    // anything (its owner may write it anyway), and a hard-link snapshot
    // of the data directory (cp -al) makes one: only another owner's file
    // is refused.
    if (st.st_nlink > 1 && (!dir_known || st.st_uid != dir_stat.st_uid)) {
      return tl::unexpected(NotADatabaseOfItsOwn(path, kHardLink));
    }
  }
  DatabaseFileGuard guard(path,
                          ec ? path.string() : (dir / path.filename()).string(),
                          SQLITE_OPEN_NOFOLLOW);
  // Unknown, no owner is the directory's: every second name is refused.
  guard.directory_owner_ = dir_known ? dir_stat.st_uid : static_cast<uid_t>(-1);
  guard.existed_ = exists;
  guard.device_ = exists ? static_cast<std::uint64_t>(st.st_dev) : 0;
  guard.inode_ = exists ? static_cast<std::uint64_t>(st.st_ino) : 0;
  return guard;
}

std::optional<Error> DatabaseFileGuard::RefusedLink(sqlite3* db) const {
  if ((flags_ & SQLITE_OPEN_NOFOLLOW) == 0 || db == nullptr ||
      sqlite3_extended_errcode(db) != SQLITE_CANTOPEN_SYMLINK) {
    return std::nullopt;
  }
  return NotADatabaseOfItsOwn(path_, kSymbolicLink);
}

Status DatabaseFileGuard::Recheck() const {
  if ((flags_ & SQLITE_OPEN_NOFOLLOW) == 0) return {};
  struct stat st {};
  if (::lstat(name_.c_str(), &st) != 0) {
    return tl::unexpected(NotADatabaseOfItsOwn(path_, kReplaced));
  }
  if (S_ISLNK(st.st_mode)) {
    return tl::unexpected(NotADatabaseOfItsOwn(path_, kSymbolicLink));
  }
  if (!S_ISREG(st.st_mode)) {
    return tl::unexpected(NotADatabaseOfItsOwn(path_, kNotRegular));
  }
  if (st.st_nlink > 1 && st.st_uid != directory_owner_) {
    return tl::unexpected(NotADatabaseOfItsOwn(path_, kHardLink));
  }
  if (existed_ && (static_cast<std::uint64_t>(st.st_dev) != device_ ||
                   static_cast<std::uint64_t>(st.st_ino) != inode_)) {
    return tl::unexpected(NotADatabaseOfItsOwn(path_, kReplaced));
  }
  return {};
}

Result<std::unique_ptr<Database>> Database::Open(
    const std::filesystem::path& path, bool create, bool read_only,
    std::chrono::milliseconds busy_timeout) {
  int flags = SQLITE_OPEN_NOMUTEX;
  flags |= read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
  if (create && !read_only) flags |= SQLITE_OPEN_CREATE;
  auto guard = DatabaseFileGuard::Check(path);
  if (!guard) return tl::unexpected(guard.error());
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(guard->name().c_str(), &raw,
                                 flags | guard->flags(), nullptr);
  if (rc != SQLITE_OK) {
    const int error = raw != nullptr ? sqlite3_system_errno(raw) : 0;
    std::optional<Error> link = guard->RefusedLink(raw);
    if (raw != nullptr) sqlite3_close(raw);
    if (link) return tl::unexpected(std::move(*link));
    if (error == EACCES || error == EPERM) {
      return MakeError(ErrorCode::kIo,
                       PermissionMessage(path, sqlite3_errstr(rc)));
    }
    std::string message = "cannot open the database " + path.string() + " (" +
                          sqlite3_errstr(rc) + ")";
    message += create ? "; check that its directory exists and is writable"
                      : "; check the path (initialise a new hub with "
                        "`cairnctl init`)";
    return MakeError(ErrorCode::kIo, std::move(message));
  }
  std::unique_ptr<Database> db(new Database(raw));
  if (auto same = guard->Recheck(); !same) return tl::unexpected(same.error());
  // SQLite quietly falls back to read-only when the file is not writable:
  // the hub would start, report itself healthy and fail its first write.
  if (!read_only && sqlite3_db_readonly(raw, "main") == 1) {
    return MakeError(ErrorCode::kIo, ReadOnlyMessage(path));
  }
  sqlite3_extended_result_codes(raw, 0);
  sqlite3_busy_timeout(raw, static_cast<int>(busy_timeout.count()));
  return db;
}

Database::~Database() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close(db_);
}

Status Database::Exec(const std::string& sql) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return {};
  std::string detail = err != nullptr ? err : sqlite3_errstr(rc);
  sqlite3_free(err);
  Error e = ErrorFor(rc, "running " + sql.substr(0, 60));
  e.message += " [" + detail + "]";
  return tl::unexpected(std::move(e));
}

Result<Statement> Database::Prepare(const char* sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) return Statement(it->second, db_);
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT,
                                    &stmt, nullptr);
  if (rc != SQLITE_OK) {
    Error e = ErrorFor(rc, "preparing a statement");
    e.message += std::string(" [") + sqlite3_errmsg(db_) + "]";
    return tl::unexpected(std::move(e));
  }
  cache_.emplace(sql, stmt);
  return Statement(stmt, db_);
}

std::int64_t Database::LastInsertRowid() const {
  return sqlite3_last_insert_rowid(db_);
}

bool Database::InTransaction() const {
  return sqlite3_get_autocommit(db_) == 0;
}

Error Database::ErrorFor(int rc, std::string_view doing) const {
  Error e{};
  const std::string what = std::string("the store failed ") +
                           std::string(doing) + " (" + sqlite3_errstr(rc) + ")";
  switch (rc & 0xff) {
    case SQLITE_FULL:
      e.code = ErrorCode::kUnavailable;
      e.message = what +
                  "; the disk or the database size limit is full: "
                  "free space or raise the limit, then retry";
      break;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PROTOCOL:
      e.code = ErrorCode::kUnavailable;
      e.message = what +
                  "; check the data directory's disk and "
                  "permissions, then retry";
      break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      e.code = ErrorCode::kUnavailable;
      e.message = what +
                  "; another process holds the database: stop it "
                  "or retry later";
      break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      e.code = ErrorCode::kInternal;
      e.message = what +
                  "; the database file is damaged: restore it from "
                  "a backup";
      break;
    default:
      e.code = ErrorCode::kInternal;
      e.message = what + "; this is a bug, please report it";
      break;
  }
  return e;
}

namespace {

// Each entry is one schema version; never edit a released step, append a
// new one. Tokens get no index on purpose (see DESIGN.md, "Platform facts").
const std::vector<std::vector<const char*>>& Migrations() {
  static const std::vector<std::vector<const char*>> kSteps = {
      // 1: members, fingerprints, kinds, signals, feed.
      {
          "CREATE TABLE kinds ("
          " id INTEGER PRIMARY KEY,"
          " name TEXT NOT NULL UNIQUE,"
          " builtin INTEGER NOT NULL,"
          " created_at INTEGER NOT NULL)",
          "INSERT INTO kinds (id, name, builtin, created_at) VALUES"
          " (1, 'email', 1, 0), (2, 'phone', 1, 0), (3, 'handle', 1, 0),"
          " (4, 'device', 1, 0), (5, 'url', 1, 0)",
          "CREATE TABLE members ("
          " id INTEGER PRIMARY KEY,"
          " member_id TEXT NOT NULL UNIQUE,"
          " name TEXT NOT NULL,"
          " roles INTEGER NOT NULL,"
          " suspended INTEGER NOT NULL DEFAULT 0,"
          " suspended_reason TEXT NOT NULL DEFAULT '',"
          " created_at INTEGER NOT NULL)",
          "CREATE TABLE fingerprints ("
          " fingerprint TEXT PRIMARY KEY,"
          " member INTEGER NOT NULL REFERENCES members(id),"
          " revoked INTEGER NOT NULL DEFAULT 0,"
          " added_at INTEGER NOT NULL,"
          " revoked_at INTEGER)",
          "CREATE INDEX fingerprints_by_member ON fingerprints(member)",
          // status: 0 active, 1 retracted, 2 expired.
          "CREATE TABLE signals ("
          " id INTEGER PRIMARY KEY,"
          " signal_id TEXT NOT NULL,"
          " kind INTEGER NOT NULL,"
          " scheme INTEGER NOT NULL,"
          " epoch INTEGER NOT NULL,"
          " token BLOB NOT NULL,"
          " category INTEGER NOT NULL,"
          " severity INTEGER NOT NULL,"
          " banned_at INTEGER NOT NULL,"
          " expires_at INTEGER NOT NULL,"
          " attribution INTEGER NOT NULL,"
          " member INTEGER NOT NULL,"
          " ref TEXT,"
          " status INTEGER NOT NULL DEFAULT 0,"
          " retract_reason INTEGER,"
          " created_at INTEGER NOT NULL,"
          " updated_at INTEGER NOT NULL)",
          "CREATE INDEX signals_active_by_ref ON signals(member, ref)"
          " WHERE ref IS NOT NULL AND status = 0",
          "CREATE INDEX signals_active_by_expiry ON signals(expires_at)"
          " WHERE status = 0",
          "CREATE TABLE retractions ("
          " signal INTEGER PRIMARY KEY,"
          " reason INTEGER NOT NULL,"
          " request_id TEXT NOT NULL,"
          " at INTEGER NOT NULL)",
          // type: 0 added, 1 retracted, 2 expired (FeedEventType).
          "CREATE TABLE feed ("
          " seq INTEGER PRIMARY KEY,"
          " type INTEGER NOT NULL,"
          " signal INTEGER NOT NULL,"
          " member INTEGER NOT NULL,"
          " at INTEGER NOT NULL)",
      },
      // 2: matches, dispositions, notifications, idempotency keys.
      {
          "CREATE TABLE matches ("
          " id INTEGER PRIMARY KEY,"
          " match_id TEXT NOT NULL UNIQUE,"
          " member INTEGER NOT NULL,"
          " created_at INTEGER NOT NULL)",
          "CREATE INDEX matches_by_member ON matches(member, created_at)",
          "CREATE TABLE match_signals ("
          " signal INTEGER NOT NULL,"
          " match INTEGER NOT NULL,"
          " PRIMARY KEY (signal, match)) WITHOUT ROWID",
          "CREATE TABLE dispositions ("
          " id INTEGER PRIMARY KEY,"
          " match INTEGER NOT NULL,"
          " member INTEGER NOT NULL,"
          " outcome INTEGER NOT NULL,"
          " note TEXT NOT NULL,"
          " recorded_at INTEGER NOT NULL)",
          "CREATE INDEX dispositions_by_match ON dispositions(match)",
          "CREATE TABLE notifications ("
          " seq INTEGER PRIMARY KEY,"
          " member INTEGER NOT NULL,"
          " match INTEGER NOT NULL,"
          " type INTEGER NOT NULL,"
          " reason INTEGER,"
          " still_supported INTEGER NOT NULL,"
          " at INTEGER NOT NULL)",
          "CREATE INDEX notifications_by_member ON notifications(member, seq)",
          "CREATE TABLE idempotency ("
          " member INTEGER NOT NULL,"
          " key TEXT NOT NULL,"
          " digest BLOB NOT NULL,"
          " results TEXT NOT NULL,"
          " created_at INTEGER NOT NULL,"
          " PRIMARY KEY (member, key)) WITHOUT ROWID",
      },
      // 3: the hash-chained audit log and its signed checkpoints (layout
      // fixed by docs/protocol.md, "Audit log"; reports read audit_log),
      // plus the indexes retention purges need.
      {
          "CREATE TABLE audit_log ("
          " seq INTEGER PRIMARY KEY,"
          " at INTEGER NOT NULL,"
          " actor TEXT NOT NULL,"
          " fingerprint TEXT NOT NULL,"
          " request_id TEXT NOT NULL,"
          " action TEXT NOT NULL,"
          " details TEXT NOT NULL,"
          " result TEXT NOT NULL,"
          " prev_hash BLOB NOT NULL,"
          " hash BLOB NOT NULL)",
          "CREATE TABLE audit_checkpoints ("
          " seq INTEGER PRIMARY KEY,"
          " head_hash BLOB NOT NULL,"
          " at INTEGER NOT NULL,"
          " key_id TEXT NOT NULL,"
          " signature BLOB NOT NULL)",
          "CREATE INDEX signals_departed ON signals(updated_at)"
          " WHERE status != 0",
          "CREATE INDEX feed_by_signal ON feed(signal)",
          "CREATE INDEX match_signals_by_match ON match_signals(match)",
          "CREATE INDEX matches_by_time ON matches(created_at)",
          "CREATE INDEX notifications_by_match ON notifications(match)",
      },
      // 4: new matches' supporting signals are appended in match order and
      // settled into match_signals in bulk (recent_match_signals.h).
      {
          "CREATE TABLE match_signals_recent ("
          " match INTEGER NOT NULL,"
          " signal INTEGER NOT NULL,"
          " PRIMARY KEY (match, signal)) WITHOUT ROWID",
      },
      // 5: each member's OPRF evaluations per UTC day (the daily quota).
      {
          "CREATE TABLE oprf_usage ("
          " member INTEGER NOT NULL,"
          " day INTEGER NOT NULL,"
          " elements INTEGER NOT NULL,"
          " PRIMARY KEY (member, day)) WITHOUT ROWID",
      },
      // 6: new idempotency records keep their results as {"results": [...]}
      // in the protocol's encoding (submit_records.h), where older ones hold
      // tab-separated lines, which this version still reads. No table
      // changes, but a cairnd of schema 5 would misread the new records, so
      // the version says so. The old records are not rewritten: an SQL
      // rewrite took about 57 ms per 1,000-item record (quadratic in its
      // items), minutes for a busy hub's day of records in the first
      // start-up after the upgrade; they expire with the idempotency window
      // anyway.
      {},
      // 7: the highest feed and notification seq ever issued, kept when a
      // purge deletes the newest rows. The seqs are the streams' cursors:
      // were one issued again, a reader past it would miss the new event.
      // The writer assigns seqs above both max(seq) and this floor.
      // And each disposition's notified_seq: the newest notification about
      // its match when it was recorded (NULL for older rows), which orders
      // a review and a retraction that share a second.
      {
          "CREATE TABLE seq_floors ("
          " stream TEXT PRIMARY KEY,"
          " seq INTEGER NOT NULL) WITHOUT ROWID",
          "ALTER TABLE dispositions ADD COLUMN notified_seq INTEGER",
      },
      // 8: the public key of each OPRF key epoch the hub has served with,
      // so that a key directory other than the one this database's
      // voprf-v1 signals were made with (another hub's, or an epoch made
      // again after the directory was lost) is refused at start-up instead
      // of matching nothing (key_use.h).
      {
          "CREATE TABLE oprf_keys ("
          " epoch INTEGER PRIMARY KEY,"
          " public_key BLOB NOT NULL,"
          " recorded_at INTEGER NOT NULL)",
      },
      // 9: the hub.clock_step entries (rare) by seq, so that a start finds
      // the newest recorded deletion hold without reading the last hour
      // of the audit log (millions of query entries on a busy hub). A
      // partial index: other entries cost it nothing.
      {
          "CREATE INDEX audit_clock_steps ON audit_log(seq)"
          " WHERE action = 'hub.clock_step'",
      },
      // 10: idempotency records in a rowid table. In the WITHOUT ROWID
      // table of schema 2 a record's row is its key's b-tree cell, and a
      // 1,000-item batch's results (about 80 KB) overflow it, so every
      // comparison of a key lookup read a whole record's overflow pages:
      // 12% of the writer's time under 1,000-signal submits
      // (docs/performance.md, "Fourteenth session"). Here the key's index
      // holds (member, key, rowid) only, and created_at comes before the
      // results so that the purge's scan reads no overflow page.
      {
          "CREATE TABLE idempotency_v10 ("
          " id INTEGER PRIMARY KEY,"
          " member INTEGER NOT NULL,"
          " key TEXT NOT NULL,"
          " digest BLOB NOT NULL,"
          " created_at INTEGER NOT NULL,"
          " results TEXT NOT NULL,"
          " UNIQUE (member, key))",
          "INSERT INTO idempotency_v10 (member, key, digest, created_at,"
          " results) SELECT member, key, digest, created_at, results"
          " FROM idempotency ORDER BY created_at",
          "DROP TABLE idempotency",
          "ALTER TABLE idempotency_v10 RENAME TO idempotency",
      },
      // 11: the "query" and "purge" audit entries by time. A summary
      // report's query counts and its retention check (report_source.cc)
      // read only the period's entries of the one action through them,
      // instead of every entry of the log: on 1M entries (half of them
      // queries), a month's query counts took 0.05-0.19 s instead of
      // 0.35-0.73 s, the retention check under 1 ms instead of 0.5 s.
      // Partial indexes, like schema 9's: other entries cost them nothing,
      // and SQLite keeps reading hub.clock_step entries through
      // audit_clock_steps (an index on (action, at) would take that query
      // over, with a sort).
      {
          "CREATE INDEX audit_queries ON audit_log(at)"
          " WHERE action = 'query'",
          "CREATE INDEX audit_purges ON audit_log(at) WHERE action = 'purge'",
      },
      // 12: each member's notifications numbered on their own (member_seq:
      // 1, 2, 3... in seq order), which is what the member sees as their
      // seq and its cursor. The hub-wide seq between two of a member's
      // notifications counted other members' notifications, and so how
      // often they had matched a token whose retraction the member saw
      // (docs/threat-model.md). The writer numbers new rows
      // (kLastMemberNotificationSeqSql); existing ones are numbered here
      // through a temporary table keyed by seq, so that each row's number
      // is one lookup (a correlated count per row would be quadratic in a
      // member's notifications). Rows purged before this have no number;
      // cursors older cairnds handed out are still judged against the
      // hub-wide seq (stream_reads.cc), up to the head recorded here.
      {
          "ALTER TABLE notifications ADD COLUMN member_seq INTEGER NOT NULL"
          " DEFAULT 0",
          "CREATE TEMP TABLE notifications_member_seq_v12 ("
          " seq INTEGER PRIMARY KEY, member_seq INTEGER NOT NULL)",
          "INSERT INTO notifications_member_seq_v12 (seq, member_seq)"
          " SELECT seq, row_number() OVER (PARTITION BY member ORDER BY seq)"
          " FROM notifications",
          "UPDATE notifications SET member_seq = (SELECT t.member_seq FROM"
          " notifications_member_seq_v12 t WHERE t.seq = notifications.seq)",
          "DROP TABLE notifications_member_seq_v12",
          "CREATE UNIQUE INDEX notifications_by_member_seq ON"
          " notifications(member, member_seq)",
          // The highest hub-wide seq an older cairnd can have handed out as
          // a cursor (kNotificationsLegacyStream). A cairnd of schema 10 or 11
          // may
          // have recorded a lower one when it first ran; those of its
          // cursors above it are good too.
          "INSERT INTO seq_floors (stream, seq) SELECT"
          " 'notifications_legacy', max(coalesce((SELECT max(seq) FROM"
          " notifications), 0), coalesce((SELECT seq FROM seq_floors WHERE"
          " stream = 'notifications'), 0)) WHERE true"
          " ON CONFLICT (stream) DO UPDATE SET seq = excluded.seq",
      },
  };
  return kSteps;
}

}  // namespace

int LatestSchemaVersion() { return static_cast<int>(Migrations().size()); }

Result<int> SchemaVersionOf(Database& db) {
  auto stmt = db.Prepare("PRAGMA user_version");
  if (!stmt) return tl::unexpected(stmt.error());
  auto row = stmt->Step();
  if (!row) return tl::unexpected(row.error());
  return static_cast<int>(*row ? stmt->Int(0) : 0);
}

Status MigrateSchema(Database& db, int target_version) {
  const int latest = LatestSchemaVersion();
  if (target_version <= 0 || target_version > latest) target_version = latest;
  auto version = SchemaVersionOf(db);
  if (!version) return tl::unexpected(version.error());
  if (*version > latest) {
    // Not a fault of this program or of the file: the two do not belong
    // together, which the operator resolves.
    return MakeError(
        ErrorCode::kConflict,
        "the database has schema version " + std::to_string(*version) +
            " but this cairnd understands at most version " +
            std::to_string(latest) +
            "; run a newer cairnd or restore a backup made by this version");
  }
  for (int v = *version + 1; v <= target_version; ++v) {
    if (auto s = db.Exec("BEGIN IMMEDIATE"); !s) return s;
    for (const char* sql : Migrations()[static_cast<std::size_t>(v - 1)]) {
      if (auto s = db.Exec(sql); !s) {
        (void)db.Exec("ROLLBACK");
        s.error().message = "schema migration to version " + std::to_string(v) +
                            " failed: " + s.error().message;
        return s;
      }
    }
    if (auto s = db.Exec("PRAGMA user_version = " + std::to_string(v)); !s) {
      (void)db.Exec("ROLLBACK");
      return s;
    }
    if (auto s = db.Exec("COMMIT"); !s) {
      (void)db.Exec("ROLLBACK");
      return s;
    }
  }
  return {};
}

}  // namespace cairn::server
