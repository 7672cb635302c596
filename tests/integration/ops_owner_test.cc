// Who may open what cairnctl leaves in a hub's directories. Run as root
// (without `runuser -u cairn --`), cairnctl gives each file and directory
// it makes in a hub's data or OPRF key directory the owner and group of the
// directory it is made in, keeping the modes, so that the hub's own user
// can still open them (server/src/file_owner.h); run as another user it
// changes nothing. cairnd says a database it may not open is a permission
// problem, with the file's owner and mode, its own user and the fix.
// `cairnctl oprf rotate` has no default directory.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "server/src/store/store.h"
#include "server/src/store_location.h"
#include "tests/integration/integration_util.h"

namespace cairn::testing {
namespace {

namespace fs = std::filesystem;
constexpr auto kTimeout = std::chrono::seconds(30);
// The hub's user in these tests: nobody, as no account of its own exists.
constexpr uid_t kHubUid = 65534;
constexpr gid_t kHubGid = 65534;

void CheckOwnerAndMode(const fs::path& path, uid_t uid, gid_t gid,
                       mode_t mode) {
  CAPTURE(path.string());
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  CHECK(st.st_uid == uid);
  CHECK(st.st_gid == gid);
  CHECK((st.st_mode & 07777) == mode);
}

// `dir` and everything in it now belong to the hub's user, as in the
// operator guide's set-up (install -d -o cairn ..., runuser for init).
void GiveToHubUser(const fs::path& dir) {
  REQUIRE(::lchown(dir.c_str(), kHubUid, kHubGid) == 0);
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    REQUIRE(::lchown(entry.path().c_str(), kHubUid, kHubGid) == 0);
  }
}

void RunOk(const std::vector<std::string>& args) {
  const CommandResult result = RunCairnctl(args, kTimeout);
  CAPTURE(args, result.out, result.err);
  REQUIRE(result.exit_code == 0);
}

// An empty hub database in `dir` (made and closed), mode 0600 as init
// makes it.
void MakeDatabase(const fs::path& dir) {
  server::SqliteStoreOptions options;
  options.db_path = server::DatabasePath(dir);
  REQUIRE(server::OpenSqliteStore(options).has_value());
  REQUIRE(::chmod(options.db_path.c_str(), 0600) == 0);
}

TEST_CASE(
    "cairnctl run as root gives what it makes in a hub's directories the "
    "owner of the directory it is made in, keeping the modes") {
  if (::geteuid() != 0) {
    SUCCEED("needs root, as the tests run in CI");
    return;
  }
  auto hub = RunningHub::Start();
  REQUIRE(hub);
  RunningHub& h = **hub;
  const fs::path data = h.DataDir();
  const std::string backup = h.Scratch().File("backup.db");
  RunOk({"backup", "--data", data.string(), "--out", backup});
  REQUIRE(h.Stop());
  GiveToHubUser(data);
  const fs::path lock = data / "cairnd.lock";
  fs::remove(lock);  // so that restore makes it anew

  // Upgrade rollback, as root (§11 step 5 before it said runuser).
  RunOk({"restore", "--from", backup, "--data", data.string(), "--force"});
  CheckOwnerAndMode(server::DatabasePath(data), kHubUid, kHubGid, 0600);
  CheckOwnerAndMode(lock, kHubUid, kHubGid, 0600);
  CheckOwnerAndMode(data, kHubUid, kHubGid, 0700);
  for (const char* suffix : {"-wal", "-shm", "-journal", ".restore-tmp"}) {
    CHECK_FALSE(fs::exists(server::DatabasePath(data).string() + suffix));
  }

  // OPRF key rotation, as root: the directory it makes and each key.
  RunOk({"oprf", "rotate", "--data", data.string()});
  RunOk({"oprf", "rotate", "--data", data.string()});
  CheckOwnerAndMode(data / "oprf", kHubUid, kHubGid, 0700);
  CheckOwnerAndMode(data / "oprf" / "epoch-1.key", kHubUid, kHubGid, 0600);
  CheckOwnerAndMode(data / "oprf" / "epoch-2.key", kHubUid, kHubGid, 0600);

  // An offline purge makes the lock file when there is none.
  fs::remove(lock);
  RunOk({"purge", "--data", data.string(), "--tombstone-days=30",
         "--match-retention-days=730", "--disposition-retention-days=730",
         "--notification-retention-days=730"});
  CheckOwnerAndMode(lock, kHubUid, kHubGid, 0600);
  CheckOwnerAndMode(server::DatabasePath(data), kHubUid, kHubGid, 0600);

  // A new hub in a directory init makes under one of the hub's user.
  TempDir parent("cairn-owner-init");
  REQUIRE(::chown(parent.path().c_str(), kHubUid, kHubGid) == 0);
  const fs::path fresh = fs::path(parent.path()) / "data";
  RunOk({"init", "--data", fresh.string(), "--operator-cert",
         h.Pki().Cert("operator")});
  CheckOwnerAndMode(fresh, kHubUid, kHubGid, 0700);
  CheckOwnerAndMode(server::DatabasePath(fresh), kHubUid, kHubGid, 0600);

  // Where root owns the directory, what is made there stays root's.
  TempDir root_owned("cairn-owner-root");
  MakeDatabase(root_owned.path());
  RunOk({"oprf", "rotate", "--data", root_owned.path()});
  CheckOwnerAndMode(fs::path(root_owned.path()) / "oprf" / "epoch-1.key", 0, 0,
                    0600);
}

std::string FileText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST_CASE(
    "cairnctl and cairnd refuse a cairnd.lock that is a symbolic link, hard "
    "link or FIFO, leaving what it names unchanged") {
  // The data directory belongs to the hub's user, who could plant
  // cairnd.lock -> /etc/shadow for the next root cairnctl to rewrite.
  auto hub = RunningHub::Start();
  REQUIRE(hub);
  RunningHub& h = **hub;
  REQUIRE(h.Stop());
  const fs::path data = h.DataDir();
  if (::geteuid() == 0) GiveToHubUser(data);
  const fs::path lock = data / "cairnd.lock";
  TempDir outside("cairn-lock-victim");
  const fs::path victim = fs::path(outside.path()) / "victim";
  const std::string victim_text = "root:secret:1:0:99999:7:::\n";
  {
    std::ofstream out(victim, std::ios::binary);
    out << victim_text;
  }
  REQUIRE(::chmod(victim.c_str(), 0640) == 0);
  struct stat victim_before {};
  REQUIRE(::stat(victim.c_str(), &victim_before) == 0);

  struct Case {
    std::string name;
    std::function<void()> plant;
    std::string what;  // in the message
  };
  const std::vector<Case> cases = {
      {"symlink to a file outside", [&] { fs::create_symlink(victim, lock); },
       "a symbolic link"},
      {"dangling symlink",
       [&] { fs::create_symlink(fs::path(outside.path()) / "new", lock); },
       "a symbolic link"},
      {"hard link to a file outside",
       [&] { fs::create_hard_link(victim, lock); }, "a hard link"},
      {"FIFO", [&] { REQUIRE(::mkfifo(lock.c_str(), 0600) == 0); },
       "not a regular file"},
      {"directory", [&] { fs::create_directory(lock); }, "not a regular file"},
  };
  const std::vector<std::string> purge = {"purge",
                                          "--data",
                                          data.string(),
                                          "--dry-run",
                                          "--tombstone-days=30",
                                          "--match-retention-days=730",
                                          "--disposition-retention-days=730",
                                          "--notification-retention-days=730"};
  for (const Case& c : cases) {
    CAPTURE(c.name);
    fs::remove_all(lock);
    c.plant();
    // cairnctl purge (as root in CI), and cairnd's start.
    const CommandResult refused = RunCairnctl(purge, kTimeout);
    const CommandResult hub_refused =
        RunCommand({RunningHub::CairndPath(), "-c", h.ConfigPath()}, kTimeout);
    for (const CommandResult* r : {&refused, &hub_refused}) {
      CAPTURE(r->out, r->err);
      CHECK_FALSE(r->timed_out);
      CHECK(r->exit_code != 0);
      CHECK_THAT(r->err, Catch::Contains("refusing to use the lock file " +
                                         lock.string()) &&
                             Catch::Contains(c.what) &&
                             Catch::Contains("rm " + lock.string()));
    }
    CHECK(FileText(victim) == victim_text);
    struct stat victim_after {};
    REQUIRE(::stat(victim.c_str(), &victim_after) == 0);
    CHECK(victim_after.st_uid == victim_before.st_uid);
    CHECK(victim_after.st_gid == victim_before.st_gid);
    CHECK((victim_after.st_mode & 07777) == 0640);
    CHECK_FALSE(fs::exists(fs::path(outside.path()) / "new"));
    // What was planted is left for the operator to look at.
    CHECK((fs::symlink_status(lock).type() != fs::file_type::regular ||
           fs::hard_link_count(lock) == 2));
  }

  // Removed, as the message says, both run again.
  fs::remove_all(lock);
  RunOk(purge);
  if (::geteuid() == 0) CheckOwnerAndMode(lock, kHubUid, kHubGid, 0600);
  REQUIRE(h.Restart());
  CHECK(FileText(lock).find("cairnd pid") == 0);
  CHECK(FileText(victim) == victim_text);
}

TEST_CASE(
    "cairnctl and cairnd run as root refuse a cairn.db that is a symbolic "
    "link, hard link, FIFO or directory in the hub user's data directory, "
    "leaving what it names unchanged") {
  // The hub's user owns the data directory and could plant cairn.db ->
  // another database (or any file) for the next root cairnctl to read and
  // write. Another user's process follows such a link (a test below).
  if (::geteuid() != 0) {
    SUCCEED("needs root, as the tests run in CI");
    return;
  }
  auto hub = RunningHub::Start();
  REQUIRE(hub);
  RunningHub& h = **hub;
  const std::string backup = h.Scratch().File("backup.db");
  RunOk({"backup", "--data", h.DataDir(), "--out", backup});
  REQUIRE(h.Stop());
  const fs::path data = h.DataDir();
  GiveToHubUser(data);
  const fs::path db = server::DatabasePath(data);
  // The hub's own database waits outside while the cases run.
  TempDir outside("cairn-db-victim");
  const fs::path kept = fs::path(outside.path()) / "kept.db";
  fs::rename(db, kept);
  for (const char* suffix : {"-wal", "-shm"}) {
    if (fs::exists(db.string() + suffix)) {
      fs::rename(db.string() + suffix, kept.string() + suffix);
    }
  }
  // Another hub database, root's, that a planted link names.
  const fs::path victim_dir = fs::path(outside.path()) / "other";
  fs::create_directory(victim_dir);
  MakeDatabase(victim_dir);
  const fs::path victim = server::DatabasePath(victim_dir);
  const std::string victim_bytes = FileText(victim);
  REQUIRE_FALSE(victim_bytes.empty());
  const fs::path dangling = fs::path(outside.path()) / "new.db";

  const std::string refusal =
      "refusing to open the database " + db.string() + " as root: it is ";
  const std::string none = "no hub database at";
  struct Case {
    std::string name;
    std::function<void()> plant;
    std::string what;  // in the refusal
    // What purge, backup, restore --force and cairnd's start say (restore
    // "": it succeeds, replacing what was planted).
    std::string purge, backup, restore, cairnd;
  };
  const std::vector<Case> cases = {
      {"symlink to another database", [&] { fs::create_symlink(victim, db); },
       "a symbolic link", refusal, refusal, refusal, refusal},
      // The others find no database through it; restore replaces the link
      // itself.
      {"dangling symlink", [&] { fs::create_symlink(dangling, db); },
       "a symbolic link", none, none, "", none},
      {"hard link to another database",
       [&] { fs::create_hard_link(victim, db); }, "a hard link", refusal,
       refusal, refusal, refusal},
      {"FIFO", [&] { REQUIRE(::mkfifo(db.c_str(), 0600) == 0); },
       "not a regular file", refusal, none, refusal, refusal},
      {"directory", [&] { fs::create_directory(db); }, "not a regular file",
       refusal, none, refusal, refusal},
  };
  const std::vector<std::string> purge = {"purge",
                                          "--data",
                                          data.string(),
                                          "--tombstone-days=30",
                                          "--match-retention-days=730",
                                          "--disposition-retention-days=730",
                                          "--notification-retention-days=730"};
  for (const Case& c : cases) {
    CAPTURE(c.name);
    fs::remove_all(db);
    c.plant();
    const std::vector<std::pair<std::string, CommandResult>> runs = {
        {c.purge, RunCairnctl(purge, kTimeout)},
        {c.backup,
         RunCairnctl({"backup", "--data", data.string(), "--out",
                      h.Scratch().File("refused-" +
                                       std::to_string(&c - &cases[0]) + ".db")},
                     kTimeout)},
        {c.cairnd, RunCommand({RunningHub::CairndPath(), "-c", h.ConfigPath()},
                              kTimeout)},
        {c.restore, RunCairnctl({"restore", "--from", backup, "--data",
                                 data.string(), "--force"},
                                kTimeout)},
    };
    for (const auto& [expected, r] : runs) {
      CAPTURE(expected, r.out, r.err);
      CHECK_FALSE(r.timed_out);
      if (expected.empty()) {
        CHECK(r.exit_code == 0);
        continue;
      }
      CHECK(r.exit_code != 0);
      CHECK_THAT(r.err, Catch::Contains(expected));
      if (expected == refusal) {
        CHECK_THAT(r.err, Catch::Contains(refusal + c.what) &&
                              Catch::Contains("rm " + db.string()) &&
                              Catch::Contains("runuser -u cairn --"));
      }
    }
    // Nothing was written through it, nor beside what it names.
    CHECK(FileText(victim) == victim_bytes);
    for (const char* suffix : {"-wal", "-shm", "-journal"}) {
      CHECK_FALSE(fs::exists(victim.string() + suffix));
    }
    CHECK_FALSE(fs::exists(fs::symlink_status(dangling)));
    if (c.restore.empty()) {
      CHECK(fs::symlink_status(db).type() == fs::file_type::regular);
    }
  }

  // With the hub's database back, both run again.
  fs::remove_all(db);
  fs::rename(kept, db);
  for (const char* suffix : {"-wal", "-shm"}) {
    if (fs::exists(kept.string() + suffix)) {
      fs::rename(kept.string() + suffix, db.string() + suffix);
    }
  }
  RunOk(purge);
  REQUIRE(h.Restart());
  CHECK(FileText(victim) == victim_bytes);
}

TEST_CASE(
    "cairnctl run as a user other than root leaves what it makes that "
    "user's") {
  if (::geteuid() != 0) {
    SUCCEED("simulating another user needs root, as the tests run in CI");
    return;
  }
  TempDir data("cairn-owner-user");
  MakeDatabase(data.path());
  GiveToHubUser(data.path());
  REQUIRE(::chmod(data.path().c_str(), 0700) == 0);
  // Another uid, which may neither chown nor own the directory, keeping
  // only the capability to override file modes: it can load cairnctl's
  // libraries even in a chroot whose / is 0700, and write into the
  // directory, but changing the owner would fail.
  const std::vector<std::string> as_other = {"setpriv",
                                             "--reuid=65533",
                                             "--regid=65533",
                                             "--clear-groups",
                                             "--inh-caps=-all,+dac_override",
                                             "--ambient-caps=+dac_override",
                                             RunningHub::CairnctlPath()};
  auto run = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = as_other;
    argv.insert(argv.end(), args.begin(), args.end());
    const CommandResult result = RunCommand(argv, kTimeout);
    CAPTURE(argv, result.out, result.err);
    CHECK(result.exit_code == 0);
  };
  run({"oprf", "rotate", "--data", data.path()});
  CheckOwnerAndMode(fs::path(data.path()) / "oprf", 65533, 65533, 0700);
  CheckOwnerAndMode(fs::path(data.path()) / "oprf" / "epoch-1.key", 65533,
                    65533, 0600);
  run({"purge", "--data", data.path(), "--tombstone-days=30",
       "--match-retention-days=730", "--disposition-retention-days=730",
       "--notification-retention-days=730"});
  CheckOwnerAndMode(fs::path(data.path()) / "cairnd.lock", 65533, 65533, 0600);
  CheckOwnerAndMode(server::DatabasePath(data.path()), kHubUid, kHubGid, 0600);
  // A second name for the lock file (a cp -al snapshot of the directory)
  // harms nobody when the lock's own user runs: only root refuses one, so
  // such a snapshot does not stop the hub's next start.
  fs::create_hard_link(fs::path(data.path()) / "cairnd.lock",
                       fs::path(data.path()) / "cairnd.lock.snapshot");
  run({"purge", "--data", data.path(), "--tombstone-days=30",
       "--match-retention-days=730", "--disposition-retention-days=730",
       "--notification-retention-days=730"});
  // Nor does a cairn.db kept elsewhere through a symbolic link stop any
  // user but root: the database is used where the link points.
  const fs::path db = server::DatabasePath(data.path());
  const fs::path elsewhere = fs::path(data.path()) / "disk2";
  fs::create_directory(elsewhere);
  fs::rename(db, elsewhere / "cairn.db");
  fs::create_symlink(elsewhere / "cairn.db", db);
  run({"purge", "--data", data.path(), "--tombstone-days=30",
       "--match-retention-days=730", "--disposition-retention-days=730",
       "--notification-retention-days=730"});
  CHECK(fs::is_symlink(db));
  CHECK(fs::is_regular_file(elsewhere / "cairn.db"));
}

TEST_CASE(
    "cairnd says a database it may not open is a permission problem, naming "
    "the file's owner and mode, its own user and the fix") {
  auto hub = RunningHub::Start();
  REQUIRE(hub);
  RunningHub& h = **hub;
  REQUIRE(h.Stop());
  const std::string db = h.DbPath();
  std::vector<std::string> argv = {RunningHub::CairndPath(), "-c",
                                   h.ConfigPath()};
  if (::geteuid() == 0) {
    // Root may open any file whatever its mode: run cairnd as root without
    // the capabilities that override file modes, on a database that
    // belongs to nobody (as in cairnctl_test's read-only case).
    REQUIRE(::chown(h.DataDir().c_str(), kHubUid, kHubGid) == 0);
    REQUIRE(::chmod(h.DataDir().c_str(), 0777) == 0);
    REQUIRE(::chown(db.c_str(), kHubUid, kHubGid) == 0);
    argv.insert(
        argv.begin(),
        {"setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner",
         "--inh-caps=-dac_override,-dac_read_search,-fowner"});
  }
  REQUIRE(::chmod(db.c_str(), 0000) == 0);
  const CommandResult refused = RunCommand(argv, kTimeout);
  CAPTURE(refused.out, refused.err);
  CHECK(refused.exit_code == 1);
  CHECK_THAT(refused.err, Catch::Contains("cannot open the database " + db));
  CHECK_THAT(refused.err, Catch::Contains("permission denied for user "));
  CHECK_THAT(refused.err, Catch::Contains("mode 0000"));
  if (::geteuid() == 0) {
    CHECK_THAT(refused.err, Catch::Contains("owner nobody (uid 65534)") ||
                                Catch::Contains("owner uid 65534"));
  }
  CHECK_THAT(refused.err, Catch::Contains("chown -R "));
  CHECK_THAT(refused.err, !Catch::Contains("cairnctl init"));

  // Given back, the hub starts.
  REQUIRE(::chmod(db.c_str(), 0600) == 0);
  REQUIRE(h.Restart());
}

TEST_CASE(
    "cairnctl oprf rotate needs --data naming a hub, or --key-dir, and "
    "writes nothing otherwise") {
  TempDir scratch("cairn-oprf-where");
  const fs::path hub = fs::path(scratch.path()) / "hub";
  fs::create_directories(hub);
  MakeDatabase(hub);
  const fs::path empty = fs::path(scratch.path()) / "empty";
  fs::create_directories(empty);
  const fs::path missing = fs::path(scratch.path()) / "missing";
  const fs::path key_dir = fs::path(scratch.path()) / "keys";
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    std::vector<std::string> message;
    fs::path made;  // the key it makes, or where none must appear
  };
  const std::vector<Case> cases = {
      {{}, 2, {"--data DIR", "--key-dir DIR"}, "data/oprf"},
      {{"--data", empty.string()},
       2,
       {"--data", "no hub database at " + (empty / "cairn.db").string()},
       empty / "oprf"},
      {{"--data", missing.string()},
       2,
       {"--data", "no hub database at " + (missing / "cairn.db").string()},
       missing},
      {{"--data", hub.string()},
       0,
       {"OPRF epoch 1 created"},
       hub / "oprf" / "epoch-1.key"},
      {{"--key-dir", key_dir.string()},
       0,
       {"OPRF epoch 1 created"},
       key_dir / "epoch-1.key"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"oprf", "rotate"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    const bool existed = fs::exists(c.made);
    const CommandResult result = RunCairnctl(args, kTimeout);
    CAPTURE(c.args, result.out, result.err);
    CHECK(result.exit_code == c.exit_code);
    const std::string& text = c.exit_code == 0 ? result.out : result.err;
    for (const std::string& part : c.message) {
      CHECK_THAT(text, Catch::Contains(part));
    }
    if (c.exit_code == 0) {
      CHECK(fs::exists(c.made));
    } else {
      CHECK(fs::exists(c.made) == existed);
    }
  }
}

}  // namespace
}  // namespace cairn::testing
