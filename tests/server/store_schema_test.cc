// Schema migrations, database settings and member administration.
#include <grp.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "server/src/store/sqlite_db.h"
#include "store_test_util.h"

namespace cairn::server {
namespace {

using testing::Fingerprint;
using testing::ManualClock;
using testing::QueryInt64;
using testing::StoreFixture;
using testing::TempDir;

SqliteStoreOptions OptionsIn(const TempDir& dir, ManualClock& clock) {
  SqliteStoreOptions o;
  o.db_path = dir.path() / "hub.db";
  o.clock = clock.AsClock();
  return o;
}

TEST_CASE(
    "a new database gets the latest schema, WAL mode and no token "
    "index") {
  TempDir dir;
  ManualClock clock;
  auto store = OpenSqliteStore(OptionsIn(dir, clock));
  REQUIRE(store.has_value());
  const auto path = dir.path() / "hub.db";
  CHECK(QueryInt64(path, "PRAGMA user_version") == SqliteSchemaVersion());
  CHECK(SqliteSchemaVersion() >= 2);
  auto db = Database::Open(path, false, true, std::chrono::milliseconds(100));
  REQUIRE(db.has_value());
  auto mode = (*db)->Prepare("PRAGMA journal_mode");
  REQUIRE(mode.has_value());
  REQUIRE(mode->Step().value());
  CHECK(mode->Text(0) == "wal");
  // The token column must stay unindexed (DESIGN.md, "Platform facts").
  CHECK(QueryInt64(path,
                   "SELECT count(*) FROM sqlite_master WHERE type = 'index' "
                   "AND tbl_name = 'signals' AND sql LIKE '%token%'") == 0);
  CHECK((*store)->IsWritable());
  CHECK((*store)->ListKinds().size() == 5);
}

TEST_CASE(
    "the store records each OPRF epoch's public key, and replaces a "
    "changed one only when told to") {
  TempDir dir;
  ManualClock clock;
  const auto path = dir.path() / "hub.db";
  auto key = [](std::uint8_t fill) {
    oprf::Element e;
    e.fill(fill);
    return e;
  };
  auto recorded = [&](std::int64_t epoch) {
    auto db = Database::Open(path, false, true, std::chrono::milliseconds(100));
    REQUIRE(db.has_value());
    auto stmt = (*db)->Prepare(
        "SELECT hex(public_key) || '@' || recorded_at FROM oprf_keys"
        " WHERE epoch = ?1");
    REQUIRE(stmt.has_value());
    stmt->Bind(1, epoch);
    auto row = stmt->Step();
    REQUIRE(row.has_value());
    return *row ? stmt->Text(0) : std::string("none");
  };
  const std::string at0 =
      "@" + std::to_string(clock.Now().time_since_epoch().count());
  {
    auto o = OptionsIn(dir, clock);
    o.voprf_epochs = {1};
    o.voprf_public_keys = {{1, key(0x11)}};
    auto store = OpenSqliteStore(o);
    REQUIRE(store.has_value());
  }
  CHECK(recorded(1) == std::string(64, '1') + at0);
  CHECK(recorded(2) == "none");

  clock.Advance(std::chrono::hours(1));
  const std::string at1 =
      "@" + std::to_string(clock.Now().time_since_epoch().count());
  {
    // Same key for epoch 1 (its record keeps its time), a new epoch 2.
    auto o = OptionsIn(dir, clock);
    o.voprf_epochs = {1, 2};
    o.voprf_public_keys = {{1, key(0x11)}, {2, key(0x22)}};
    REQUIRE(OpenSqliteStore(o).has_value());
  }
  CHECK(recorded(1) == std::string(64, '1') + at0);
  CHECK(recorded(2) == std::string(64, '2') + at1);

  clock.Advance(std::chrono::hours(1));
  const std::string at2 =
      "@" + std::to_string(clock.Now().time_since_epoch().count());
  {
    // A changed key for epoch 2 is refused unless the caller allows it
    // (cairnd's --allow-new-keys), and the record stays.
    auto o = OptionsIn(dir, clock);
    o.voprf_public_keys = {{2, key(0xAB)}};
    auto refused = OpenSqliteStore(o);
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().code == ErrorCode::kConflict);
    CHECK(recorded(2) == std::string(64, '2') + at1);
  }
  {
    // Allowed, it replaces the record.
    auto o = OptionsIn(dir, clock);
    o.voprf_public_keys = {{2, key(0xAB)}};
    o.replace_recorded_oprf_keys = true;
    REQUIRE(OpenSqliteStore(o).has_value());
  }
  CHECK(recorded(1) == std::string(64, '1') + at0);
  std::string ab;
  for (int i = 0; i < 32; ++i) ab += "AB";
  CHECK(recorded(2) == ab + at2);

  {
    // A store opened without keys (cairnctl) leaves the records alone.
    REQUIRE(OpenSqliteStore(OptionsIn(dir, clock)).has_value());
  }
  CHECK(recorded(1) == std::string(64, '1') + at0);
}

// Drops the capabilities that let root ignore file modes (DAC override,
// DAC read-search, fowner) from this thread's effective set; true on
// success.
bool DropFileModeOverrides() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capget, &header, data) != 0) return false;
  for (const int cap : {CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER}) {
    data[cap / 32].effective &= ~(1U << (cap % 32));
  }
  return ::syscall(SYS_capset, &header, data) == 0;
}

// Runs `body` in a child process that is subject to file modes: when this
// one is root (root may write any file whatever its mode), as root without
// the capabilities that override them, not as another user, since a
// chroot whose / is 0700 (as the fresh-Debian CI check makes) lets no
// other user reach any path; otherwise here. Returns what `body` returned.
std::string AsUnprivileged(const std::function<std::string()>& body) {
  if (::geteuid() != 0) return body();
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    const std::string out =
        DropFileModeOverrides() ? body() : "cannot drop CAP_DAC_OVERRIDE";
    (void)!::write(fds[1], out.data(), out.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string out;
  char buffer[4096];
  for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) > 0;) {
    out.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return out;
}

TEST_CASE(
    "a database its user may not write is refused at open, naming the "
    "file and the fix") {
  TempDir dir;
  ManualClock clock;
  const SqliteStoreOptions options = OptionsIn(dir, clock);
  REQUIRE(OpenSqliteStore(options).has_value());  // made, then closed
  // The data directory stays writable (SQLite can make its -wal and -shm
  // files there); only the database file is read-only, as after a
  // careless chmod 0400 or chown.
  // As root the file belongs to nobody and nobody may write it; the
  // directory stays open to all for the -wal and -shm files.
  if (::geteuid() == 0) {
    REQUIRE(::chown(dir.path().c_str(), 65534, 65534) == 0);
    REQUIRE(::chmod(dir.path().c_str(), 0777) == 0);
    REQUIRE(::chown(options.db_path.c_str(), 65534, 65534) == 0);
  }
  REQUIRE(::chmod(options.db_path.c_str(), 0444) == 0);
  const SqliteStoreOptions& relative = options;
  const std::string outcome = AsUnprivileged([&relative]() -> std::string {
    auto store = OpenSqliteStore(relative);
    if (store) return "opened";
    return std::string(ErrorCodeName(store.error().code)) + ": " +
           store.error().message;
  });
  CHECK_THAT(outcome,
             Catch::StartsWith("io_error: ") && Catch::Contains("hub.db") &&
                 Catch::Contains("read-only") && Catch::Contains("chmod 600"));
  // Once the permission is fixed, it opens.
  REQUIRE(::chmod(options.db_path.c_str(), 0666) == 0);
  CHECK(AsUnprivileged([&relative]() -> std::string {
          return OpenSqliteStore(relative) ? "opened" : "refused";
        }) == "opened");
}

TEST_CASE(
    "run as root, a database file that is a link in a directory another "
    "user may write is refused, and one in a directory only root writes, "
    "or a plain file, opens") {
  if (::geteuid() != 0) {
    SUCCEED("needs root, as the tests run in CI");
    return;
  }
  namespace fs = std::filesystem;
  TempDir dir;
  ManualClock clock;
  SqliteStoreOptions made = OptionsIn(dir, clock);
  REQUIRE(OpenSqliteStore(made).has_value());  // root's, in root's directory
  const fs::path target = made.db_path;
  const auto bytes = [&] {
    std::ifstream in(target, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  struct Case {
    std::string name;
    uid_t dir_owner;
    mode_t dir_mode;
    // Makes what is at `at` (in the directory `in`).
    std::function<void(const fs::path& in, const fs::path& at)> plant;
    std::string refused;  // "": it opens
  };
  const auto symlink = [&](const fs::path&, const fs::path& at) {
    fs::create_symlink(target, at);
  };
  const auto hard_link = [&](const fs::path&, const fs::path& at) {
    fs::create_hard_link(target, at);
  };
  const auto plain = [&](const fs::path&, const fs::path& at) {
    fs::copy_file(target, at);
  };
  const std::vector<Case> cases = {
      {"symlink, the hub user's directory", 65534, 0700, symlink,
       "a symbolic link"},
      {"symlink, root's directory open to its group", 0, 0770, symlink,
       "a symbolic link"},
      {"symlink, root's directory open to all (sticky)", 0, 01777, symlink,
       "a symbolic link"},
      {"dangling symlink, the hub user's directory", 65534, 0700,
       [&](const fs::path& in, const fs::path& at) {
         fs::create_symlink(in / "elsewhere.db", at);
       },
       "a symbolic link"},
      {"hard link to root's file, the hub user's directory", 65534, 0700,
       hard_link, "a hard link"},
      // A second name for the directory owner's own file (cp -al).
      {"hard link to the hub user's file, the hub user's directory", 65534,
       0700,
       [&](const fs::path& in, const fs::path& at) {
         fs::copy_file(target, in / "snapshot.db");
         REQUIRE(::chown((in / "snapshot.db").c_str(), 65534, 65534) == 0);
         fs::create_hard_link(in / "snapshot.db", at);
       },
       ""},
      {"FIFO, the hub user's directory", 65534, 0700,
       [](const fs::path&, const fs::path& at) {
         REQUIRE(::mkfifo(at.c_str(), 0600) == 0);
       },
       "not a regular file"},
      {"symlink, root's own directory", 0, 0700, symlink, ""},
      {"hard link, root's own directory", 0, 0755, hard_link, ""},
      {"plain file, the hub user's directory", 65534, 0700, plain, ""},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    const fs::path in = dir.path() / "data";
    fs::remove_all(in);
    fs::create_directory(in);
    REQUIRE(::chown(in.c_str(), c.dir_owner, c.dir_owner) == 0);
    REQUIRE(::chmod(in.c_str(), c.dir_mode) == 0);
    const fs::path at = in / "cairn.db";
    c.plant(in, at);
    const std::string before = bytes();
    for (const bool create : {false, true}) {
      for (const bool read_only : {false, true}) {
        CAPTURE(create, read_only);
        auto db = Database::Open(at, create, read_only,
                                 std::chrono::milliseconds(100));
        if (c.refused.empty()) {
          CHECK(db.has_value());
          continue;
        }
        REQUIRE_FALSE(db.has_value());
        CHECK(db.error().code == ErrorCode::kIo);
        CHECK_THAT(
            db.error().message,
            Catch::Contains("refusing to open the database " + at.string() +
                            " as root: it is " + c.refused) &&
                Catch::Contains("rm " + at.string()) &&
                Catch::Contains("runuser -u cairn --"));
      }
    }
    // A store opened there (the hub's start: it writes) is refused too.
    SqliteStoreOptions there = made;
    there.db_path = at;
    CHECK(OpenSqliteStore(there).has_value() == c.refused.empty());
    // Nothing was made where a dangling link points, nor written to or
    // beside the file a refused link names.
    CHECK_FALSE(fs::exists(in / "elsewhere.db"));
    if (!c.refused.empty()) {
      CHECK(bytes() == before);
      for (const char* suffix : {"-wal", "-shm", "-journal"}) {
        CHECK_FALSE(fs::exists(target.string() + suffix));
      }
    }
  }

  // A data directory that is itself a link (to another disk) is no link
  // at the file: it opens.
  const fs::path disk = dir.path() / "disk2";
  fs::create_directory(disk);
  REQUIRE(::chown(disk.c_str(), 65534, 65534) == 0);
  fs::copy_file(target, disk / "cairn.db");
  fs::create_directory_symlink(disk, dir.path() / "linked-data");
  CHECK(Database::Open(dir.path() / "linked-data" / "cairn.db", false, false,
                       std::chrono::milliseconds(100))
            .has_value());
}

TEST_CASE("Close leaves every committed write in the database file") {
  StoreFixture f;
  REQUIRE(testing::SubmitOne(f.store(), "alpha", testing::Signal(1)));
  const std::filesystem::path path = f.Options().db_path;
  const std::filesystem::path wal = path.string() + "-wal";
  REQUIRE(std::filesystem::file_size(wal) > 0);

  SECTION("alone, it folds the WAL in and removes it") {
    CHECK(f.store().Close().has_value());
    CHECK_FALSE(std::filesystem::exists(wal));
  }
  SECTION("with another idle connection open, it folds the WAL in") {
    auto other = Database::Open(path, false, true, std::chrono::seconds(1));
    REQUIRE(other.has_value());
    {
      // A connection holds the WAL's shared memory once it has read.
      auto read = (*other)->Prepare("SELECT count(*) FROM signals");
      REQUIRE(read.has_value());
      REQUIRE(read->Step().value());
      CHECK(read->Int(0) == 1);
    }
    CHECK(f.store().Close().has_value());
    CHECK(std::filesystem::file_size(wal) == 0);
  }
  f.store_ptr().reset();
  // The file alone, read with no WAL beside it, holds the signal.
  std::filesystem::remove(wal);
  CHECK(QueryInt64(path, "SELECT count(*) FROM signals") == 1);
}

TEST_CASE(
    "unowned bindings store the bytes bound, and a finished statement keeps "
    "none of them") {
  TempDir dir;
  auto db = Database::Open(dir.path() / "t.db", true, false,
                           std::chrono::milliseconds(100));
  REQUIRE(db.has_value());
  REQUIRE((*db)->Exec("CREATE TABLE t (s TEXT, b BLOB)").has_value());
  static const char* const kInsert = "INSERT INTO t (s, b) VALUES (?1, ?2)";
  std::string text = "s_0123456789abcdef";
  std::vector<std::uint8_t> blob = {1, 2, 3};
  {
    auto insert = (*db)->Prepare(kInsert);
    REQUIRE(insert.has_value());
    insert->BindUnowned(1, text).BindBlobUnowned(2, blob);
    REQUIRE(insert->Run().has_value());
  }
  // The row holds copies: the caller's bytes may change once the statement
  // is gone.
  text.assign(text.size(), 'x');
  blob.assign(blob.size(), 9);
  // The cached statement, stepped without binding, inserts NULLs rather
  // than reading the old bytes.
  {
    auto again = (*db)->Prepare(kInsert);
    REQUIRE(again.has_value());
    REQUIRE(again->Run().has_value());
  }
  auto rows = (*db)->Prepare(
      "SELECT s, hex(b), s IS NULL, b IS NULL FROM t ORDER BY rowid");
  REQUIRE(rows.has_value());
  REQUIRE(rows->Step().value());
  CHECK(rows->Text(0) == "s_0123456789abcdef");
  CHECK(rows->Text(1) == "010203");
  REQUIRE(rows->Step().value());
  CHECK(rows->Int(2) == 1);
  CHECK(rows->Int(3) == 1);
  CHECK_FALSE(rows->Step().value());
}

TEST_CASE("opening a version-1 database migrates it and keeps its rows") {
  TempDir dir;
  ManualClock clock;
  const auto path = dir.path() / "hub.db";
  {
    auto db = Database::Open(path, true, false, std::chrono::milliseconds(100));
    REQUIRE(db.has_value());
    REQUIRE(MigrateSchema(**db, 1).has_value());
    REQUIRE((*db)
                ->Exec("INSERT INTO members (member_id, name, roles, "
                       "created_at) VALUES ('alpha', 'Alpha', 1, 5)")
                .has_value());
    REQUIRE(SchemaVersionOf(**db).value() == 1);
  }
  auto store = OpenSqliteStore(OptionsIn(dir, clock));
  REQUIRE(store.has_value());
  CHECK(QueryInt64(path, "PRAGMA user_version") == SqliteSchemaVersion());
  auto alpha = (*store)->GetMember("alpha");
  REQUIRE(alpha.has_value());
  CHECK(alpha->name == "Alpha");
  // The tables of version 2 exist and work.
  CHECK(QueryInt64(path, "SELECT count(*) FROM matches") == 0);
}

TEST_CASE("a database from a newer cairnd is refused with a clear error") {
  TempDir dir;
  ManualClock clock;
  const auto path = dir.path() / "hub.db";
  {
    auto db = Database::Open(path, true, false, std::chrono::milliseconds(100));
    REQUIRE(db.has_value());
    REQUIRE((*db)->Exec("PRAGMA user_version = 99").has_value());
  }
  auto store = OpenSqliteStore(OptionsIn(dir, clock));
  REQUIRE_FALSE(store.has_value());
  // Not "internal": nothing is broken, the binary is too old for the file.
  CHECK(store.error().code == ErrorCode::kConflict);
  CHECK_THAT(store.error().message,
             Catch::Contains("version 99") && Catch::Contains("newer cairnd"));
}

TEST_CASE("a missing database is an error when creation is off") {
  TempDir dir;
  ManualClock clock;
  auto options = OptionsIn(dir, clock);
  options.create_if_missing = false;
  auto store = OpenSqliteStore(options);
  REQUIRE_FALSE(store.has_value());
  CHECK(store.error().code == ErrorCode::kIo);
  CHECK_THAT(store.error().message, Catch::Contains("hub.db"));
}

TEST_CASE("authentication follows admin changes at once") {
  StoreFixture f;
  Store& s = f.store();
  auto alpha = s.Authenticate(Fingerprint('a'));
  REQUIRE(alpha.has_value());
  CHECK(alpha->member_id == "alpha");
  CHECK(HasRole(alpha->roles, Role::kMember));
  CHECK_FALSE(alpha->suspended);
  CHECK_FALSE(s.Authenticate(Fingerprint(4242)).has_value());

  MemberChangeCommand suspend;
  suspend.member_id = "alpha";
  suspend.change = MemberChangeCommand::Change::kSuspend;
  suspend.reason = "unpaid";
  auto suspended = s.ChangeMemberAndWait(suspend);
  REQUIRE(suspended.has_value());
  CHECK(suspended->suspended);
  auto again = s.Authenticate(Fingerprint('a'));
  REQUIRE(again.has_value());
  CHECK(again->suspended);
  CHECK(again->suspended_reason == "unpaid");

  MemberChangeCommand resume;
  resume.member_id = "alpha";
  resume.change = MemberChangeCommand::Change::kResume;
  REQUIRE(s.ChangeMemberAndWait(resume).has_value());
  CHECK_FALSE(s.Authenticate(Fingerprint('a'))->suspended);

  MemberChangeCommand add;
  add.member_id = "alpha";
  add.change = MemberChangeCommand::Change::kAddFingerprint;
  add.fingerprint = Fingerprint(77);
  REQUIRE(s.ChangeMemberAndWait(add).has_value());
  CHECK(s.Authenticate(Fingerprint(77))->member_id == "alpha");

  MemberChangeCommand revoke = add;
  revoke.change = MemberChangeCommand::Change::kRevokeFingerprint;
  auto revoked = s.ChangeMemberAndWait(revoke);
  REQUIRE(revoked.has_value());
  CHECK_FALSE(s.Authenticate(Fingerprint(77)).has_value());
  REQUIRE(revoked->fingerprints.size() == 2);
  CHECK(revoked->fingerprints[1].revoked);
  CHECK(revoked->fingerprints[1].revoked_at.has_value());

  MemberChangeCommand roles;
  roles.member_id = "alpha";
  roles.change = MemberChangeCommand::Change::kSetRoles;
  roles.roles = RoleBit(Role::kCompliance);
  REQUIRE(s.ChangeMemberAndWait(roles).has_value());
  CHECK(s.Authenticate(Fingerprint('a'))->roles == RoleBit(Role::kCompliance));
}

TEST_CASE("admin commands refuse conflicts and unknown targets") {
  StoreFixture f;
  Store& s = f.store();
  struct Case {
    const char* name;
    std::function<ErrorCode()> run;
    ErrorCode want;
  };
  auto code_of = [](auto r) {
    return r.has_value() ? ErrorCode::kInternal : r.error().code;
  };
  const Case cases[] = {
      {"duplicate member id",
       [&] {
         CreateMemberCommand c;
         c.member_id = "alpha";
         c.name = "again";
         return code_of(s.CreateMemberAndWait(c));
       },
       ErrorCode::kConflict},
      {"fingerprint of another member",
       [&] {
         CreateMemberCommand c;
         c.member_id = "delta";
         c.name = "Delta";
         c.fingerprints = {Fingerprint('a')};
         return code_of(s.CreateMemberAndWait(c));
       },
       ErrorCode::kConflict},
      {"suspend unknown member",
       [&] {
         MemberChangeCommand c;
         c.member_id = "nobody";
         return code_of(s.ChangeMemberAndWait(c));
       },
       ErrorCode::kNotFound},
      {"revoke another member's fingerprint",
       [&] {
         MemberChangeCommand c;
         c.member_id = "beta";
         c.change = MemberChangeCommand::Change::kRevokeFingerprint;
         c.fingerprint = Fingerprint('a');
         return code_of(s.ChangeMemberAndWait(c));
       },
       ErrorCode::kNotFound},
      {"add a taken fingerprint",
       [&] {
         MemberChangeCommand c;
         c.member_id = "beta";
         c.change = MemberChangeCommand::Change::kAddFingerprint;
         c.fingerprint = Fingerprint('g');
         return code_of(s.ChangeMemberAndWait(c));
       },
       ErrorCode::kConflict},
      {"malformed kind name",
       [&] {
         RegisterKindCommand c;
         c.kind = "Bad-Kind";
         return code_of(s.RegisterKindAndWait(c));
       },
       ErrorCode::kInvalidArgument},
      {"suspend the last active operator",
       [&] {
         MemberChangeCommand c;
         c.member_id = "ops";
         c.change = MemberChangeCommand::Change::kSuspend;
         c.reason = "oops";
         return code_of(s.ChangeMemberAndWait(c));
       },
       ErrorCode::kConflict},
      {"take the operator role from the last active operator",
       [&] {
         MemberChangeCommand c;
         c.member_id = "ops";
         c.change = MemberChangeCommand::Change::kSetRoles;
         c.roles = RoleBit(Role::kCompliance);
         return code_of(s.ChangeMemberAndWait(c));
       },
       ErrorCode::kConflict},
      {"revoke the last active operator's only certificate",
       [&] {
         MemberChangeCommand c;
         c.member_id = "ops";
         c.change = MemberChangeCommand::Change::kRevokeFingerprint;
         c.fingerprint = Fingerprint(1000);
         return code_of(s.ChangeMemberAndWait(c));
       },
       ErrorCode::kConflict},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    CHECK(c.run() == c.want);
  }
  CHECK(s.Authenticate(Fingerprint(1000))->member_id == "ops");
  // Nothing changed: still four members, delta absent.
  CHECK(s.ListMembers().size() == 4);
  CHECK_FALSE(s.GetMember("delta").has_value());
  CHECK(s.Authenticate(Fingerprint('a'))->member_id == "alpha");
  const auto ops = s.GetMember("ops");
  REQUIRE(ops.has_value());
  CHECK_FALSE(ops->suspended);
  CHECK(ops->roles == RoleBit(Role::kOperator));
}

TEST_CASE("an operator can be suspended or demoted while another remains") {
  StoreFixture f;
  Store& s = f.store();
  MemberChangeCommand promote;
  promote.member_id = "beta";
  promote.change = MemberChangeCommand::Change::kSetRoles;
  promote.roles = RoleBit(Role::kMember) | RoleBit(Role::kOperator);
  REQUIRE(s.ChangeMemberAndWait(promote).has_value());

  MemberChangeCommand suspend;
  suspend.member_id = "ops";
  suspend.change = MemberChangeCommand::Change::kSuspend;
  suspend.reason = "left the company";
  REQUIRE(s.ChangeMemberAndWait(suspend).has_value());
  CHECK(s.GetMember("ops")->suspended);

  // beta is now the last active operator.
  MemberChangeCommand demote;
  demote.member_id = "beta";
  demote.change = MemberChangeCommand::Change::kSetRoles;
  demote.roles = RoleBit(Role::kMember);
  auto refused = s.ChangeMemberAndWait(demote);
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().code == ErrorCode::kConflict);
  CHECK(HasRole(s.GetMember("beta")->roles, Role::kOperator));
}

TEST_CASE("an operator certificate can be revoked once another is in place") {
  StoreFixture f;
  Store& s = f.store();
  MemberChangeCommand add;
  add.member_id = "ops";
  add.change = MemberChangeCommand::Change::kAddFingerprint;
  add.fingerprint = Fingerprint(1001);
  REQUIRE(s.ChangeMemberAndWait(add).has_value());
  MemberChangeCommand revoke;
  revoke.member_id = "ops";
  revoke.change = MemberChangeCommand::Change::kRevokeFingerprint;
  revoke.fingerprint = Fingerprint(1000);
  REQUIRE(s.ChangeMemberAndWait(revoke).has_value());
  CHECK_FALSE(s.Authenticate(Fingerprint(1000)).has_value());
  CHECK(s.Authenticate(Fingerprint(1001))->member_id == "ops");
  // Now the new one is the last: refused, and it still works.
  revoke.fingerprint = Fingerprint(1001);
  auto refused = s.ChangeMemberAndWait(revoke);
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().code == ErrorCode::kConflict);
  CHECK_THAT(refused.error().message, Catch::Contains("last certificate"));
  CHECK(s.Authenticate(Fingerprint(1001))->member_id == "ops");
}

TEST_CASE("members, fingerprints and kinds survive a reopen") {
  StoreFixture f;
  RegisterKindCommand kind;
  kind.kind = "game_id";
  REQUIRE(f.store().RegisterKindAndWait(kind).has_value());
  CHECK(f.store().IsKnownKind("game_id"));
  f.Reopen();
  CHECK(f.store().IsKnownKind("game_id"));
  CHECK_FALSE(f.store().IsKnownKind("shoe_size"));
  const auto members = f.store().ListMembers();
  REQUIRE(members.size() == 4);
  CHECK(members[0].member_id == "alpha");
  CHECK(members[0].created_at == f.clock.Now());
  CHECK(f.store().Authenticate(Fingerprint(1000))->member_id == "ops");
}

}  // namespace
}  // namespace cairn::server
