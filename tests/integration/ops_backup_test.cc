// cairnctl backup and restore against a running cairnd: a backup taken while
// a member submits is intact and holds every signal acknowledged before it
// began; restore refuses while the hub runs and refuses damaged files,
// leaving the target untouched; a restored data directory serves the
// signals again.
#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <mutex>
#include <string_view>
#include <thread>

#include <catch2/catch.hpp>

#include "support/sqlite_query.h"
#include "tests/integration/integration_util.h"

namespace cairn::testing {
namespace {

namespace fs = std::filesystem;
constexpr auto kTimeout = std::chrono::seconds(60);

rapidjson::Document JsonOf(const CommandResult& r) {
  CAPTURE(r.out, r.err);
  REQUIRE(r.exit_code == 0);
  auto doc = ParseJson(r.out);
  REQUIRE_FALSE(doc.HasParseError());
  REQUIRE(doc.IsObject());
  return doc;
}

// How many of `tokens` (64 hex, distinct) the signals table of `db_path`
// holds.
int CountSignals(const std::string& db_path,
                 const std::vector<std::string>& tokens) {
  std::string in;
  for (const auto& token : tokens) {
    in += (in.empty() ? "x'" : ", x'") + token + "'";
  }
  return static_cast<int>(QueryInt64(
      db_path,
      "SELECT count(DISTINCT token) FROM signals WHERE token IN (" + in + ")"));
}

// Submits batches as alpha until stopped (at most kMaxBatches) and records
// the tokens of every acknowledged batch.
class Submitter {
 public:
  static constexpr int kMaxBatches = 400;
  static constexpr int kBatchSize = 10;

  explicit Submitter(const RunningHub& hub) {
    auto connection = Connect(hub, "alpha");
    REQUIRE(connection);
    connection_ = std::move(*connection);
    thread_ = std::thread([this] { Run(); });
  }
  ~Submitter() { Stop(); }

  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::vector<std::string> Acknowledged() const {
    std::lock_guard lock(mutex_);
    return acknowledged_;
  }
  int failures() const { return failures_; }

 private:
  void Run() {
    for (int batch = 0; batch < kMaxBatches && !stop_; ++batch) {
      std::vector<SignalSpec> signals(kBatchSize);
      for (auto& s : signals) s.token = RandomTokenHex();
      auto reply =
          connection_->Send("POST", "/v1/signals", SubmitBody(signals));
      if (!reply || reply->status != 200) {
        ++failures_;
        continue;
      }
      std::lock_guard lock(mutex_);
      for (const auto& s : signals) acknowledged_.push_back(s.token);
    }
  }

  std::unique_ptr<server::HubConnection> connection_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> failures_{0};
  mutable std::mutex mutex_;
  std::vector<std::string> acknowledged_;
};

// A second cairnd on `data_dir`, with the first hub's PKI.
struct SecondHub {
  std::optional<ChildProcess> process;
  std::uint16_t port = 0;
};

SecondHub StartOn(const RunningHub& hub, const std::string& data_dir,
                  const TempDir& scratch) {
  const TempPki& pki = hub.Pki();
  const std::string config = scratch.File("second.toml");
  const std::string port_file = scratch.File("second.ports");
  REQUIRE(WriteFile(config,
                    "[listen]\naddresses = [\"127.0.0.1:0\"]\n"
                    "port_file = \"" +
                        port_file + "\"\n[tls]\ncert = \"" + pki.ServerCert() +
                        "\"\nkey = \"" + pki.ServerKey() + "\"\nca = \"" +
                        pki.CaCert() + "\"\n[store]\ndata_dir = \"" + data_dir +
                        "\"\n"));
  ChildProcess::Options options;
  options.stderr_path = scratch.File("second.stderr");
  auto child =
      ChildProcess::Start({RunningHub::CairndPath(), "--config", config,
                           "--log-file", scratch.File("second.log")},
                          options);
  REQUIRE(child);
  SecondHub second;
  second.process.emplace(std::move(*child));
  auto port = WaitForListenPort(port_file, std::chrono::seconds(20));
  CAPTURE(ReadFileOrEmpty(scratch.File("second.stderr")),
          ReadFileOrEmpty(scratch.File("second.log")));
  REQUIRE(port);
  second.port = *port;
  return second;
}

// How many of `tokens` match when beta queries the hub at `port`.
int Matches(const RunningHub& hub, std::uint16_t port,
            const std::vector<std::string>& tokens) {
  auto options = ConnectionOptions(hub, "beta");
  options.hub_url = "https://127.0.0.1:" + std::to_string(port);
  auto connection = server::HubConnection::Open(options);
  REQUIRE(connection);
  std::vector<std::pair<std::string, std::string>> queries;
  queries.reserve(tokens.size());
  for (const auto& t : tokens) queries.emplace_back("email", t);
  auto reply = (*connection)->Send("POST", "/v1/query", QueryBody(queries));
  REQUIRE(reply);
  CAPTURE(reply->body);
  REQUIRE(reply->status == 200);
  auto doc = ParseJson(reply->body);
  REQUIRE_FALSE(doc.HasParseError());
  return static_cast<int>(doc["matches"].Size());
}

// XORs 0xff into `length` bytes at the start of every page from page 2 on.
void DamagePages(const std::string& path, std::size_t page_size,
                 std::size_t length) {
  std::string bytes = ReadFileOrEmpty(path);
  REQUIRE(bytes.size() > 2 * page_size);
  for (std::size_t page = page_size; page < bytes.size(); page += page_size) {
    for (std::size_t i = 0; i < length && page + i < bytes.size(); ++i) {
      bytes[page + i] = static_cast<char>(bytes[page + i] ^ 0xff);
    }
  }
  REQUIRE(WriteFile(path, bytes));
}

TEST_CASE("backup while members submit, then restore and serve it") {
  auto hub = RunningHub::Start();
  REQUIRE(hub);
  RunningHub& h = **hub;
  const TempDir& scratch = h.Scratch();
  const std::string backup = scratch.File("cairn-backup.db");

  // Back up while alpha keeps submitting.
  Submitter submitter(h);
  for (int i = 0;
       i < 3000 && submitter.Acknowledged().size() < 3 * Submitter::kBatchSize;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const std::vector<std::string> before = submitter.Acknowledged();
  REQUIRE(before.size() >= 3 * Submitter::kBatchSize);
  auto report = JsonOf(RunCairnctl(
      {"backup", "--data", h.DataDir(), "--out", backup, "--json"}));
  submitter.Stop();
  CHECK(submitter.failures() == 0);
  const std::vector<std::string> all = submitter.Acknowledged();

  CHECK(std::string(report["integrity"].GetString()) == "ok");
  CHECK(std::string(report["path"].GetString()) == backup);
  CHECK(report["oprf_keys_not_included"].IsNull());  // no oprf/ yet
  CHECK(report["pages"].GetInt() > 0);
  CHECK(report["bytes"].GetUint64() == fs::file_size(backup));
  CHECK((fs::status(backup).permissions() & fs::perms::others_read) ==
        fs::perms::none);
  // One self-contained file.
  CHECK_FALSE(fs::exists(backup + "-wal"));
  CHECK_FALSE(fs::exists(backup + ".partial"));
  CHECK(CountSignals(backup, before) == static_cast<int>(before.size()));

  // The reminder names each secret the backup leaves out: the signing
  // keys, and the OPRF keys when the hub has them.
  fs::create_directories(fs::path(h.DataDir()) / "oprf");
  const CommandResult reminded =
      RunCairnctl({"backup", "--data", h.DataDir(), "--out", backup + ".2"});
  CAPTURE(reminded.err);
  CHECK(reminded.exit_code == 0);
  CHECK(reminded.err.find("(signing keys)") != std::string::npos);
  CHECK(reminded.err.find("(OPRF keys)") != std::string::npos);
  CHECK(reminded.err.find("NOT in the backup") != std::string::npos);
  CHECK(reminded.err.find("encrypted, after every key rotation") !=
        std::string::npos);
  // --json, which a backup job logs, names both directories too.
  auto reminded_json = JsonOf(RunCairnctl(
      {"backup", "--data", h.DataDir(), "--out", backup + ".3", "--json"}));
  CHECK(std::string(reminded_json["keys_not_included"].GetString()) ==
        h.DataDir() + "/keys");
  CHECK(std::string(reminded_json["oprf_keys_not_included"].GetString()) ==
        h.DataDir() + "/oprf");

  // A second backup to the same path is refused: backups never overwrite.
  const CommandResult again =
      RunCairnctl({"backup", "--data", h.DataDir(), "--out", backup});
  CHECK(again.exit_code == 1);
  CHECK(again.err.find("already exists") != std::string::npos);

  // Restore refuses while the hub holds the database.
  const CommandResult live = RunCairnctl(
      {"restore", "--from", backup, "--data", h.DataDir(), "--force"});
  CAPTURE(live.err);
  CHECK(live.exit_code == 1);
  CHECK(live.err.find("in use by another process") != std::string::npos);
  CHECK(live.err.find("offline") != std::string::npos);
  CHECK_FALSE(fs::exists(h.DbPath() + ".restore-tmp"));

  // Restore into a fresh directory: keys first (kept separately), then the
  // database.
  const std::string fresh = scratch.File("restored");
  fs::create_directories(fresh);
  if (fs::exists(h.DataDir() + "/keys")) {
    fs::copy(h.DataDir() + "/keys", fresh + "/keys",
             fs::copy_options::recursive);
  }
  auto restored = JsonOf(
      RunCairnctl({"restore", "--from", backup, "--data", fresh, "--json"}));
  CHECK(std::string(restored["integrity"].GetString()) == "ok");
  CHECK(restored["replaced"].IsNull());
  CHECK(fs::exists(fresh + "/cairn.db"));
  CHECK_FALSE(fs::exists(fresh + "/cairn.db.restore-tmp"));

  // A hub started on the restored directory serves the signals.
  {
    SecondHub second = StartOn(h, fresh, scratch);
    CHECK(Matches(h, second.port, before) == static_cast<int>(before.size()));
    second.process->Kill(SIGTERM);
    CHECK(second.process->Wait(std::chrono::seconds(20)) == 0);
  }

  // Refusals leave the restored database exactly as it is.
  const std::string target = fresh + "/cairn.db";
  const std::string target_bytes = ReadFileOrEmpty(target);
  REQUIRE_FALSE(target_bytes.empty());
  const std::string damaged = scratch.File("damaged.db");
  fs::copy_file(backup, damaged);
  DamagePages(damaged, 4096, 64);
  const std::string bad_header = scratch.File("bad-header.db");
  fs::copy_file(backup, bad_header);
  {
    std::string bytes = ReadFileOrEmpty(bad_header);
    for (int i = 0; i < 16; ++i) bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
    REQUIRE(WriteFile(bad_header, bytes));
  }
  const std::string text = scratch.File("notes.txt");
  REQUIRE(WriteFile(text, std::string(8192, 'x')));
  const std::string empty = scratch.File("empty.db");
  REQUIRE(WriteFile(empty, ""));
  const std::string other = scratch.File("other.db");
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(other.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES (1);",
                         nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  // An intact database whose audit log was edited after the fact.
  const std::string tampered = scratch.File("tampered.db");
  fs::copy_file(backup, tampered);
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(tampered.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db,
                         "UPDATE audit_log SET actor = 'someone-else' "
                         "WHERE seq = (SELECT min(seq) FROM audit_log)",
                         nullptr, nullptr, nullptr) == SQLITE_OK);
    CHECK(sqlite3_changes(db) == 1);
    sqlite3_close(db);
  }
  // A --from that is damaged or no Cairn database at all is a bad command
  // line (2: pass another file); a backup whose audit log does not verify is
  // refused (1), like a tampered log in audit verify.
  struct Case {
    const char* name;
    std::string file;
    int exit_code;
    const char* message;
  };
  const Case cases[] = {
      {"damaged pages", damaged, 2, "nothing was changed"},
      {"damaged header", bad_header, 2, "not a readable SQLite database"},
      {"a text file", text, 2, "not a readable SQLite database"},
      {"an empty file", empty, 2, "not a Cairn hub database"},
      {"another application's database", other, 2, "not a Cairn hub database"},
      {"a missing file", scratch.File("missing.db"), 2, "check --from"},
      {"an edited audit entry", tampered, 1, "audit log"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    const std::string original = ReadFileOrEmpty(c.file);
    const CommandResult r =
        RunCairnctl({"restore", "--from", c.file, "--data", fresh, "--force"});
    CAPTURE(r.out, r.err);
    CHECK(r.exit_code == c.exit_code);
    CHECK(r.err.find(c.message) != std::string::npos);
    CHECK(ReadFileOrEmpty(target) == target_bytes);
    CHECK(ReadFileOrEmpty(c.file) == original);
    CHECK_FALSE(fs::exists(target + ".restore-tmp"));
    int replaced = 0;
    for (const auto& entry : fs::directory_iterator(fresh)) {
      if (entry.path().filename().string().find("replaced") !=
          std::string::npos) {
        ++replaced;
      }
    }
    CHECK(replaced == 0);
  }

  // Without --force an existing database is never replaced.
  const CommandResult no_force =
      RunCairnctl({"restore", "--from", backup, "--data", fresh});
  CHECK(no_force.exit_code == 1);
  CHECK(no_force.err.find("--force") != std::string::npos);
  CHECK(ReadFileOrEmpty(target) == target_bytes);

  // The live hub was never touched and still has every signal.
  CHECK(Matches(h, h.Port(), all) == static_cast<int>(all.size()));
}

fs::perms Mode(const std::string& path) {
  return fs::status(path).permissions() & fs::perms::mask;
}

TEST_CASE("init and restore keep a hub private under umask 022") {
  auto pki = TempPki::Create();
  REQUIRE(pki);
  TempDir scratch("cairn-modes");
  const fs::perms dir_mode = fs::perms::owner_all;
  const fs::perms db_mode = fs::perms::owner_read | fs::perms::owner_write;
  struct RestoreUmask {
    mode_t old = ::umask(022);
    ~RestoreUmask() { ::umask(old); }
  } umask_022;

  const std::string hub = scratch.File("hub");
  const CommandResult init = RunCairnctl(
      {"init", "--data", hub, "--operator-cert", (*pki)->Cert("operator")});
  CAPTURE(init.out, init.err);
  REQUIRE(init.exit_code == 0);
  CHECK(Mode(hub) == dir_mode);
  CHECK(Mode(hub + "/cairn.db") == db_mode);
  const std::string backup = scratch.File("hub-backup.db");
  REQUIRE(RunCairnctl({"backup", "--data", hub, "--out", backup}).exit_code ==
          0);

  // Into a directory restore makes (with its parent), and into one the
  // operator made beforehand with mkdir.
  const std::string made = scratch.File("new/restored");
  const std::string premade = scratch.File("premade");
  fs::create_directories(premade);
  REQUIRE(Mode(premade) != dir_mode);
  for (const std::string& dir : {made, premade}) {
    CAPTURE(dir);
    const CommandResult r =
        RunCairnctl({"restore", "--from", backup, "--data", dir});
    CAPTURE(r.out, r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(Mode(dir) == dir_mode);
    CHECK(Mode(dir + "/cairn.db") == db_mode);
  }

  // A refused restore leaves neither a directory it made nor a lock file.
  const std::string text = scratch.File("notes.txt");
  REQUIRE(WriteFile(text, std::string(8192, 'x')));
  const std::string refused_new = scratch.File("refused/new");
  const std::string refused_existing = scratch.File("refused-existing");
  fs::create_directories(refused_existing);
  for (const std::string& dir : {refused_new, refused_existing}) {
    CAPTURE(dir);
    const CommandResult r =
        RunCairnctl({"restore", "--from", text, "--data", dir});
    CAPTURE(r.out, r.err);
    CHECK(r.exit_code == 2);
    CHECK_FALSE(fs::exists(dir + "/cairnd.lock"));
    CHECK_FALSE(fs::exists(dir + "/cairn.db"));
  }
  CHECK_FALSE(fs::exists(refused_new));
  CHECK(fs::is_empty(refused_existing));
}

TEST_CASE("restore --force replaces a stopped hub's database") {
  auto hub = RunningHub::Start();
  REQUIRE(hub);
  RunningHub& h = **hub;
  std::vector<SignalSpec> first(5);
  for (auto& s : first) s.token = RandomTokenHex();
  REQUIRE(h.Curl("alpha", "POST", "/v1/signals", SubmitBody(first)).status ==
          200);
  const std::string backup = h.Scratch().File("backup.db");
  REQUIRE(RunCairnctl({"backup", "--data", h.DataDir(), "--out", backup})
              .exit_code == 0);
  // Signals submitted after the backup are gone after the restore.
  std::vector<SignalSpec> later(5);
  for (auto& s : later) s.token = RandomTokenHex();
  REQUIRE(h.Curl("alpha", "POST", "/v1/signals", SubmitBody(later)).status ==
          200);

  REQUIRE(h.Stop());
  auto restored = JsonOf(RunCairnctl({"restore", "--from", backup, "--data",
                                      h.DataDir(), "--force", "--json"}));
  REQUIRE(restored["replaced"].IsString());
  const std::string replaced = restored["replaced"].GetString();
  CHECK(fs::exists(replaced));
  CHECK_FALSE(fs::exists(h.DbPath() + "-wal"));
  REQUIRE(h.Restart());

  std::vector<std::string> first_tokens, later_tokens;
  for (const auto& s : first) first_tokens.push_back(s.token);
  for (const auto& s : later) later_tokens.push_back(s.token);
  CHECK(Matches(h, h.Port(), first_tokens) == 5);
  CHECK(Matches(h, h.Port(), later_tokens) == 0);
  // The replaced database still holds the later signals.
  CHECK(CountSignals(replaced, later_tokens) == 5);
}

// cairnctl restore with rename(2) failing for sources that contain any of
// `fail_from` (':'-separated), through the LD_PRELOAD shim.
CommandResult RestoreWithFailingRename(const std::string& backup,
                                       const std::string& data_dir,
                                       const std::string& fail_from) {
  // An ASan build's runtime must otherwise come first in the library list.
  return RunCommand(
      {"env", std::string("LD_PRELOAD=") + CAIRN_FAIL_RENAME_SHIM,
       "CAIRN_TEST_FAIL_RENAME_FROM=" + fail_from,
       "ASAN_OPTIONS=verify_asan_link_order=0", RunningHub::CairnctlPath(),
       "restore", "--from", backup, "--data", data_dir, "--force"},
      kTimeout);
}

// Files in `dir` whose names contain `part`.
std::vector<std::string> FilesContaining(const std::string& dir,
                                         std::string_view part) {
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.find(part) != std::string::npos) out.push_back(entry.path());
  }
  return out;
}

TEST_CASE("restore whose final rename fails puts the current database back") {
  auto hub = RunningHub::Start();
  REQUIRE(hub);
  RunningHub& h = **hub;
  std::vector<SignalSpec> first(3);
  for (auto& s : first) s.token = RandomTokenHex();
  REQUIRE(h.Curl("alpha", "POST", "/v1/signals", SubmitBody(first)).status ==
          200);
  const std::string backup = h.Scratch().File("backup.db");
  REQUIRE(RunCairnctl({"backup", "--data", h.DataDir(), "--out", backup})
              .exit_code == 0);
  std::vector<SignalSpec> later(4);
  std::vector<std::string> later_tokens;
  for (auto& s : later) {
    s.token = RandomTokenHex();
    later_tokens.push_back(s.token);
  }
  REQUIRE(h.Curl("alpha", "POST", "/v1/signals", SubmitBody(later)).status ==
          200);
  REQUIRE(h.Stop());
  REQUIRE(CountSignals(h.DbPath(), later_tokens) == 4);

  SECTION("the current database is put back and nothing changes") {
    auto r = RestoreWithFailingRename(backup, h.DataDir(), ".restore-tmp");
    CAPTURE(r.out, r.err);
    CHECK(r.exit_code != 0);
    CHECK_THAT(r.err, Catch::Contains("cannot rename"));
    CHECK_THAT(r.err, Catch::Contains("the current database was put back, "
                                      "nothing changed"));
    // The database with the later signals is in place again, and neither
    // the staged copy nor a moved-aside file is left behind.
    CHECK(CountSignals(h.DbPath(), later_tokens) == 4);
    CHECK(FilesContaining(h.DataDir(), ".restore-tmp").empty());
    CHECK(FilesContaining(h.DataDir(), ".replaced-").empty());
    REQUIRE(h.Restart());
    CHECK(Matches(h, h.Port(), later_tokens) == 4);
  }

  SECTION("when it cannot be put back either, the error says where it is") {
    auto r = RestoreWithFailingRename(backup, h.DataDir(),
                                      ".restore-tmp:.replaced-");
    CAPTURE(r.out, r.err);
    CHECK(r.exit_code != 0);
    const auto moved = FilesContaining(h.DataDir(), ".replaced-");
    REQUIRE(moved.size() == 1);
    CHECK_THAT(r.err,
               Catch::Contains("the current database is at '" + moved[0] +
                               "': move it back to '" + h.DbPath() + "'"));
    CHECK_FALSE(fs::exists(h.DbPath()));
    CHECK(FilesContaining(h.DataDir(), ".restore-tmp").empty());
    // Following the message restores the hub as it was.
    fs::rename(moved[0], h.DbPath());
    CHECK(CountSignals(h.DbPath(), later_tokens) == 4);
    REQUIRE(h.Restart());
    CHECK(Matches(h, h.Port(), later_tokens) == 4);
  }
}

TEST_CASE(
    "restore of an older backup is recorded in the audit log: no seq is "
    "reused and members' later checkpoints are disclosed, not tampering") {
  RunningHubOptions options;
  options.extra_toml = "[audit]\ncheckpoint_every_entries = 3\n";
  auto hub = RunningHub::Start(options);
  REQUIRE(hub);
  RunningHub& h = **hub;
  auto submit = [&h](int n) {
    std::vector<SignalSpec> signals(static_cast<std::size_t>(n));
    for (auto& s : signals) s.token = RandomTokenHex();
    REQUIRE(
        h.Curl("alpha", "POST", "/v1/signals", SubmitBody(signals)).status ==
        200);
  };
  submit(2);
  const std::string backup = h.Scratch().File("cairn-older.db");
  REQUIRE(RunCairnctl({"backup", "--data", h.DataDir(), "--out", backup})
              .exit_code == 0);
  const std::int64_t backup_last =
      QueryInt64(backup, "SELECT max(seq) FROM audit_log");
  REQUIRE(backup_last > 0);

  // Entries and checkpoints after the backup, saved by a member.
  for (int i = 0; i < 4; ++i) submit(1);
  const CurlReply cps = h.Curl("beta", "GET", "/v1/audit/checkpoints");
  REQUIRE(cps.status == 200);
  const std::string held = h.Scratch().File("checkpoints.json");
  REQUIRE(WriteFile(held, cps.body));
  auto held_doc = ParseJson(cps.body);
  REQUIRE_FALSE(held_doc.HasParseError());
  std::int64_t newest_held = 0;
  for (const auto& c : held_doc["checkpoints"].GetArray()) {
    newest_held = std::max<std::int64_t>(newest_held, c["seq"].GetInt64());
  }
  REQUIRE(newest_held > backup_last);

  REQUIRE(h.Stop());
  const std::int64_t replaced_last =
      QueryInt64(h.DbPath(), "SELECT max(seq) FROM audit_log");
  REQUIRE(replaced_last >= newest_held);
  auto restored = JsonOf(RunCairnctl({"restore", "--from", backup, "--data",
                                      h.DataDir(), "--force", "--json"}));
  REQUIRE(restored["replaced"].IsString());
  const std::string replaced = restored["replaced"].GetString();
  // The restore entry comes after both logs' last entries.
  REQUIRE(restored.HasMember("restore_entry"));
  const std::int64_t restore_seq = restored["restore_entry"]["seq"].GetInt64();
  CHECK(restore_seq == replaced_last + 1);
  CHECK(restored["restore_entry"]["backup_last_seq"].GetInt64() == backup_last);
  CHECK(restored["restore_entry"]["replaced_last_seq"].GetInt64() ==
        replaced_last);
  // The replaced database, kept, still has the discarded entries.
  CHECK(QueryInt64(replaced, "SELECT max(seq) FROM audit_log") ==
        replaced_last);
  CHECK(QueryInt64(h.DbPath(),
                   "SELECT count(*) FROM audit_log WHERE action = "
                   "'hub.restore' AND actor = 'cairnctl' AND seq = " +
                       std::to_string(restore_seq)) == 1);

  // Until the hub signs a checkpoint over it, the restore entry (written
  // without the hub's keys) cannot vouch for the gap: exit 2, the gap named,
  // the member's checkpoints over it not explained away.
  {
    const CommandResult unsigned_check = RunCairnctl(
        {"audit", "verify", "--data", h.DataDir(), "--checkpoints", held});
    CAPTURE(unsigned_check.out, unsigned_check.err);
    CHECK(unsigned_check.exit_code == 2);
    CHECK_THAT(unsigned_check.out,
               Catch::Contains("audit log CANNOT BE VERIFIED: entries " +
                               std::to_string(backup_last + 1) + " to " +
                               std::to_string(replaced_last) +
                               " missing; the restore entry at seq " +
                               std::to_string(restore_seq) +
                               " declaring them discarded is not yet signed "
                               "by any checkpoint"));
    CHECK_THAT(unsigned_check.out, !Catch::Contains("discarded   "));
  }

  // The hub signs the restore entry as soon as it starts, before any
  // request.
  REQUIRE(h.Restart());
  REQUIRE(h.Stop());
  CHECK(QueryInt64(h.DbPath(),
                   "SELECT count(*) FROM audit_checkpoints WHERE seq = " +
                       std::to_string(restore_seq)) == 1);

  // The restarted hub numbers its entries after the restore entry.
  REQUIRE(h.Restart());
  submit(1);
  submit(1);
  REQUIRE(h.Stop());
  const std::string discarded_range = "seq > " + std::to_string(backup_last) +
                                      " AND seq < " +
                                      std::to_string(restore_seq);
  CHECK(QueryInt64(h.DbPath(), "SELECT count(*) FROM audit_log WHERE " +
                                   discarded_range) == 0);
  CHECK(QueryInt64(h.DbPath(),
                   "SELECT action = 'submit' FROM audit_log WHERE seq = " +
                       std::to_string(restore_seq + 1)) == 1);
  CHECK(QueryInt64(h.DbPath(), "SELECT max(seq) FROM audit_log") >=
        restore_seq + 2);

  // audit verify accepts the disclosed gap and lists the restore.
  const CommandResult text =
      RunCairnctl({"audit", "verify", "--data", h.DataDir()});
  CAPTURE(text.out, text.err);
  CHECK(text.exit_code == 0);
  CHECK_THAT(text.out, Catch::Contains("audit log intact, with 1 disclosed "
                                       "restore"));
  CHECK_THAT(text.out, Catch::Contains("restore     at entry " +
                                       std::to_string(restore_seq) + " ("));
  CHECK_THAT(text.out, Catch::Contains("from cairn-older.db"));
  CHECK_THAT(
      text.out,
      Catch::Contains("entries " + std::to_string(backup_last + 1) + " to " +
                      std::to_string(replaced_last) + " were discarded"));
  auto report =
      JsonOf(RunCairnctl({"audit", "verify", "--data", h.DataDir(), "--json"}));
  CHECK(report["intact"].GetBool());
  REQUIRE(report["restores"].Size() == 1);
  CHECK(report["restores"][0]["seq"].GetInt64() == restore_seq);
  CHECK(report["restores"][0]["backup_last_seq"].GetInt64() == backup_last);
  CHECK(report["restores"][0]["replaced_last_seq"].GetInt64() == replaced_last);

  // The member's checkpoints from before the restore: those over discarded
  // entries are reported as such, the others still match.
  const CommandResult checked = RunCairnctl(
      {"audit", "verify", "--data", h.DataDir(), "--checkpoints", held});
  CAPTURE(checked.out, checked.err);
  CHECK(checked.exit_code == 0);
  CHECK_THAT(checked.out, Catch::Contains("audit log intact"));
  CHECK_THAT(checked.out, !Catch::Contains("TAMPERED"));
  CHECK_THAT(
      checked.out,
      Catch::Contains("held checkpoint at " + std::to_string(newest_held) +
                      " describes entries the restore at seq " +
                      std::to_string(restore_seq) + " ("));
  auto with_held = JsonOf(RunCairnctl({"audit", "verify", "--data", h.DataDir(),
                                       "--checkpoints", held, "--json"}));
  CHECK(with_held["intact"].GetBool());
  std::size_t in_gap = 0;
  for (const auto& c : held_doc["checkpoints"].GetArray()) {
    if (c["seq"].GetInt64() > backup_last) ++in_gap;
  }
  CHECK(with_held["discarded_checkpoints"].Size() == in_gap);
  CHECK(with_held["discarded_checkpoints"][0]["restore_seq"].GetInt64() ==
        restore_seq);
}

TEST_CASE(
    "restore into a data directory without a database: --after-seq keeps "
    "seqs unique, and without it restore warns that seqs may be reused") {
  RunningHubOptions options;
  options.extra_toml = "[audit]\ncheckpoint_every_entries = 3\n";
  auto hub = RunningHub::Start(options);
  REQUIRE(hub);
  RunningHub& h = **hub;
  auto submit = [&h] {
    std::vector<SignalSpec> signals(1);
    signals[0].token = RandomTokenHex();
    REQUIRE(
        h.Curl("alpha", "POST", "/v1/signals", SubmitBody(signals)).status ==
        200);
  };
  submit();
  const std::string backup = h.Scratch().File("cairn-older.db");
  REQUIRE(RunCairnctl({"backup", "--data", h.DataDir(), "--out", backup})
              .exit_code == 0);
  const std::int64_t backup_last =
      QueryInt64(backup, "SELECT max(seq) FROM audit_log");
  for (int i = 0; i < 4; ++i) submit();
  const CurlReply cps = h.Curl("beta", "GET", "/v1/audit/checkpoints");
  REQUIRE(cps.status == 200);
  const std::string held = h.Scratch().File("checkpoints.json");
  REQUIRE(WriteFile(held, cps.body));
  REQUIRE(h.Stop());
  const std::int64_t lost_last =
      QueryInt64(h.DbPath(), "SELECT max(seq) FROM audit_log");
  REQUIRE(lost_last > backup_last + 1);
  // The disk is lost: no database in the data directory.
  const std::string lost = h.Scratch().File("lost.db");
  fs::rename(h.DbPath(), lost);
  for (const char* suffix : {"-wal", "-shm"}) {
    fs::remove(h.DbPath() + suffix);
  }

  SECTION("without --after-seq the restore warns") {
    const CommandResult r =
        RunCairnctl({"restore", "--from", backup, "--data", h.DataDir()});
    CAPTURE(r.out, r.err);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.err, Catch::Contains(
                          "no database was replaced, so the restore entry is "
                          "numbered " +
                          std::to_string(backup_last + 1)));
    CHECK_THAT(r.err, Catch::Contains("audit seqs from " +
                                      std::to_string(backup_last + 1) +
                                      " on will be used a second time"));
    CHECK_THAT(r.err, Catch::Contains("restore again with --after-seq N"));
  }

  SECTION("--after-seq below the backup's last seq is refused") {
    const CommandResult r =
        RunCairnctl({"restore", "--from", backup, "--data", h.DataDir(),
                     "--after-seq", std::to_string(backup_last - 1)});
    CAPTURE(r.out, r.err);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("--after-seq") &&
                          Catch::Contains("is before the last audit entry of "
                                          "the backup"));
    CHECK_FALSE(fs::exists(h.DbPath()));
  }

  SECTION("--after-seq with a database to replace is refused") {
    fs::copy_file(lost, h.DbPath());
    const CommandResult r =
        RunCairnctl({"restore", "--from", backup, "--data", h.DataDir(),
                     "--force", "--after-seq", std::to_string(lost_last)});
    CAPTURE(r.out, r.err);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err,
               Catch::Contains("--after-seq is for a data directory without "
                               "a database"));
    CHECK(QueryInt64(h.DbPath(), "SELECT max(seq) FROM audit_log") ==
          lost_last);
  }

  SECTION("--after-seq declares the lost entries and numbers after them") {
    const CommandResult r =
        RunCairnctl({"restore", "--from", backup, "--data", h.DataDir(),
                     "--after-seq", std::to_string(lost_last), "--json"});
    CAPTURE(r.out, r.err);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.err, !Catch::Contains("used a second time"));
    auto restored = JsonOf(r);
    CHECK(restored["replaced"].IsNull());
    CHECK(restored["restore_entry"]["seq"].GetInt64() == lost_last + 1);
    CHECK(restored["restore_entry"]["backup_last_seq"].GetInt64() ==
          backup_last);
    CHECK(restored["restore_entry"]["replaced_last_seq"].GetInt64() ==
          lost_last);
    // Signed once the hub has started, the gap is a disclosed restore, and
    // the member's checkpoints over it are discarded, not a rewrite.
    REQUIRE(h.Restart());
    submit();
    REQUIRE(h.Stop());
    CHECK(QueryInt64(h.DbPath(), "SELECT min(seq) FROM audit_log WHERE seq > " +
                                     std::to_string(backup_last)) ==
          lost_last + 1);
    const CommandResult checked = RunCairnctl(
        {"audit", "verify", "--data", h.DataDir(), "--checkpoints", held});
    CAPTURE(checked.out, checked.err);
    CHECK(checked.exit_code == 0);
    CHECK_THAT(checked.out,
               Catch::Contains("audit log intact, with 1 disclosed restore"));
    CHECK_THAT(
        checked.out,
        Catch::Contains("entries " + std::to_string(backup_last + 1) + " to " +
                        std::to_string(lost_last) + " were discarded"));
  }
}

}  // namespace
}  // namespace cairn::testing
