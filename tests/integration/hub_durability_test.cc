// Durability: cairnd is SIGKILLed while several clients submit; after a
// restart every acknowledged signal is there and the database is intact.
#include <signal.h>
#include <sqlite3.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "support/sqlite_query.h"
#include "tests/integration/integration_util.h"

namespace cairn::testing {
namespace {

struct Acknowledged {
  std::string member;
  std::string token;
  std::string signal_id;
};

// Submits batches of `batch` signals until the connection fails (the hub
// died) or `stop` is set; records every item the hub acknowledged as
// created.
void Submitter(const RunningHub& hub, const std::string& member, int batch,
               const std::atomic<bool>& stop, std::mutex& mutex,
               std::vector<Acknowledged>& acknowledged, int& batches) {
  auto connection = Connect(hub, member);
  if (!connection) return;
  while (!stop.load()) {
    std::vector<SignalSpec> specs(batch);
    for (auto& spec : specs) spec.token = RandomTokenHex();
    auto reply = (*connection)->Send("POST", "/v1/signals", SubmitBody(specs));
    if (!reply) return;                  // the hub is gone
    if (reply->status != 200) continue;  // e.g. 429: not acknowledged
    auto doc = ParseJson(reply->body);
    if (doc.HasParseError() || !doc.HasMember("results")) continue;
    std::lock_guard lock(mutex);
    ++batches;
    for (const auto& r : doc["results"].GetArray()) {
      if (std::string(r["status"].GetString()) != "created") continue;
      const int index = r["index"].GetInt();
      acknowledged.push_back(
          {member, specs.at(index).token, r["signal_id"].GetString()});
    }
  }
}

// `count` signals with fresh tokens.
std::vector<SignalSpec> NewSignals(std::size_t count) {
  std::vector<SignalSpec> signals(count);
  for (auto& s : signals) s.token = RandomTokenHex();
  return signals;
}

// How many of `signals` the (stopped) hub's cairn.db holds.
std::int64_t CountStored(const RunningHub& h,
                         const std::vector<SignalSpec>& signals) {
  std::string in;
  for (const auto& s : signals) in += (in.empty() ? "'" : ",'") + s.token + "'";
  return QueryInt64(
      h.DbPath(),
      "SELECT count(*) FROM signals WHERE lower(hex(token)) IN (" + in + ")");
}

TEST_CASE("every acknowledged signal survives SIGKILL and the db is intact") {
  auto hub = RunningHub::Start();
  REQUIRE(hub);
  RunningHub& h = **hub;

  std::atomic<bool> stop{false};
  std::mutex mutex;
  std::vector<Acknowledged> acknowledged;
  int batches = 0;
  std::vector<std::thread> threads;
  for (const std::string member : {"alpha", "alpha", "beta", "beta"}) {
    threads.emplace_back([&, member] {
      Submitter(h, member, 100, stop, mutex, acknowledged, batches);
    });
  }
  // Let the submitters run, then kill the hub under them mid-stream.
  std::this_thread::sleep_for(std::chrono::milliseconds(2000));
  REQUIRE(h.Kill());
  stop = true;
  for (auto& t : threads) t.join();
  INFO("acknowledged " << acknowledged.size() << " signals in " << batches
                       << " batches");
  REQUIRE(acknowledged.size() >= 100);

  REQUIRE(h.Restart());

  // Query each member's acknowledged tokens as the other member.
  for (const std::string querier : {"alpha", "beta"}) {
    CAPTURE(querier);
    std::vector<std::pair<std::string, std::string>> queries;
    for (const auto& a : acknowledged) {
      if (a.member != querier) queries.emplace_back("email", a.token);
    }
    auto connection = Connect(h, querier);
    REQUIRE(connection);
    std::size_t matched = 0;
    for (std::size_t start = 0; start < queries.size(); start += 5000) {
      const std::vector<std::pair<std::string, std::string>> chunk(
          queries.begin() + start,
          queries.begin() + std::min(queries.size(), start + 5000));
      auto reply = (*connection)->Send("POST", "/v1/query", QueryBody(chunk));
      REQUIRE(reply);
      REQUIRE(reply->status == 200);
      auto doc = ParseJson(reply->body);
      REQUIRE_FALSE(doc.HasParseError());
      matched += doc["matches"].Size();
    }
    CHECK(matched == queries.size());
  }

  // Stop cleanly, then read the file itself.
  auto stopped = h.Stop();
  REQUIRE(stopped);
  CHECK(*stopped == 0);
  CHECK(SqlColumn(h.DbPath(), "PRAGMA integrity_check") ==
        std::vector<std::string>{"ok"});
  const auto ids = SqlColumn(h.DbPath(), "SELECT signal_id FROM signals");
  const std::set<std::string> stored(ids.begin(), ids.end());
  std::size_t missing = 0;
  for (const auto& a : acknowledged) missing += stored.count(a.signal_id) == 0;
  CHECK(missing == 0);
}

TEST_CASE("a clean stop leaves everything in cairn.db and no WAL beside it") {
  auto hub = RunningHub::Start();
  REQUIRE(hub);
  RunningHub& h = **hub;
  const std::vector<SignalSpec> signals = NewSignals(20);
  REQUIRE(h.Curl("alpha", "POST", "/v1/signals", SubmitBody(signals)).status ==
          200);
  // A report opens the reports' own connection too.
  REQUIRE(h.Curl("alpha", "GET",
                 "/v1/reports/"
                 "summary?from=2020-01-01T00:00:00Z&to=2021-01-01T00:00:00Z")
              .status == 200);
  auto stopped = h.Stop();
  REQUIRE(stopped);
  CHECK(*stopped == 0);
  // An operator who copies only cairn.db of a stopped hub must get every
  // acknowledged signal: nothing may be left in a -wal file.
  CHECK_FALSE(std::filesystem::exists(h.DbPath() + "-wal"));
  CHECK_FALSE(std::filesystem::exists(h.DbPath() + "-shm"));
  CHECK(CountStored(h, signals) == 20);
}

TEST_CASE("cairnd allows no core dump, which would hold its keys") {
  auto hub = RunningHub::Start({.register_members = false});
  REQUIRE(hub);
  const std::string limits =
      ReadFileOrEmpty("/proc/" + std::to_string((*hub)->Pid()) + "/limits");
  REQUIRE_FALSE(limits.empty());
  const auto at = limits.find("Max core file size");
  REQUIRE(at != std::string::npos);
  const std::string line = limits.substr(at, limits.find('\n', at) - at);
  CAPTURE(line);
  // "Max core file size        0        0        bytes"
  CHECK(line.find(" 0 ") != std::string::npos);
  CHECK(line.find("unlimited") == std::string::npos);
}

// Another cairnd on `hub`'s configuration (so its data directory), on
// another port; expected to exit.
CommandResult StartSecondHub(const RunningHub& hub) {
  return RunCommand(
      {RunningHub::CairndPath(), "--config", hub.ConfigPath(), "--listen",
       "127.0.0.1:0", "--port-file", hub.Scratch().File("ports2")},
      std::chrono::seconds(20));
}

TEST_CASE("a second cairnd on the same data directory is refused") {
  auto hub = RunningHub::Start();
  REQUIRE(hub);
  // Same data directory, another port: the store would open fine (SQLite
  // allows several connections), so only the data-directory lock stops it.
  const auto second = StartSecondHub(**hub);
  CHECK_FALSE(second.timed_out);
  CHECK(second.exit_code != 0);
  CHECK_THAT(second.err, Catch::Contains("in use by another process") &&
                             Catch::Contains("cairnd pid"));
  // The first hub still serves.
  CHECK((*hub)->Curl("alpha", "GET", "/v1/me").status == 200);
}

TEST_CASE(
    "a second cairnd is refused even after the lock file was deleted from "
    "under the first") {
  auto hub = RunningHub::Start();
  REQUIRE(hub);
  const std::string lock_file = (*hub)->DataDir() + "/cairnd.lock";
  REQUIRE(std::filesystem::remove(lock_file));
  const auto second = StartSecondHub(**hub);
  CAPTURE(second.out, second.err);
  CHECK_FALSE(second.timed_out);
  CHECK(second.exit_code != 0);
  // Without the lock file's text the kernel's lock table names the holder.
  CHECK_THAT(second.err,
             Catch::Contains("in use by another process") &&
                 Catch::Contains("pid " + std::to_string((*hub)->Pid())));
  CHECK_FALSE(std::filesystem::exists((*hub)->Scratch().File("ports2")));
  // cairnctl's offline commands take the same lock.
  const auto purge = RunCairnctl(
      {"purge", "--data", (*hub)->DataDir(), "--config", (*hub)->ConfigPath()},
      std::chrono::seconds(20));
  CAPTURE(purge.out, purge.err);
  CHECK(purge.exit_code != 0);
  CHECK_THAT(purge.err, Catch::Contains("in use by another process"));
  // The first hub still serves and writes.
  std::vector<SignalSpec> signals(1);
  signals[0].token = RandomTokenHex();
  CHECK((*hub)
            ->Curl("alpha", "POST", "/v1/signals", SubmitBody(signals))
            .status == 200);
}

// How many lines of `text` contain `needle`.
int CountLines(const std::string& text, const std::string& needle) {
  int n = 0;
  for (auto at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + needle.size())) {
    ++n;
  }
  return n;
}

// What a hub whose store file was deleted under it must show: /healthz
// degraded within 20 s (the file check runs with each expiry sweep, every
// second with --expiry-interval 1), naming the store's files.
void CheckFileLossReported(const RunningHub& h) {
  int health = 0;
  std::string health_body;
  for (int i = 0; i < 200 && health != 503; ++i) {
    const auto r = h.Curl("alpha", "GET", "/healthz");
    health = r.status;
    health_body = r.body;
    if (health != 503) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  CHECK(health == 503);
  CHECK(
      health_body ==
      R"({"status":"degraded","store":"writable","store_files":"deleted_or_replaced","clock":"ok"})");
}

TEST_CASE(
    "a deleted cairn.db-wal or cairn.db-shm is noticed: logged, /healthz "
    "degraded, and a clean stop still keeps every acknowledged write") {
  for (const std::string suffix : {"-wal", "-shm"}) {
    CAPTURE(suffix);
    // The file check runs with each expiry sweep: every second here.
    auto hub = RunningHub::Start({.extra_args = {"--expiry-interval", "1"}});
    REQUIRE(hub);
    RunningHub& h = **hub;
    const std::vector<SignalSpec> signals = NewSignals(40);
    const std::vector<SignalSpec> before(signals.begin(), signals.begin() + 20);
    const std::vector<SignalSpec> after(signals.begin() + 20, signals.end());
    REQUIRE(h.Curl("alpha", "POST", "/v1/signals", SubmitBody(before)).status ==
            200);
    REQUIRE(h.Curl("alpha", "GET", "/healthz").status == 200);
    REQUIRE(std::filesystem::remove(h.DbPath() + suffix));
    // Still acknowledged: the hub writes on into the file it has open.
    REQUIRE(h.Curl("alpha", "POST", "/v1/signals", SubmitBody(after)).status ==
            200);
    CheckFileLossReported(h);
    const std::string log = ReadFileOrEmpty(h.LogPath());
    CHECK_THAT(
        log, Catch::Contains("[error] store file check failed: " + h.DbPath() +
                             suffix + " was deleted") &&
                 Catch::Contains("stop cairnd cleanly now") &&
                 Catch::Contains("\"store_files\":\"deleted_or_replaced\""));

    // What the log tells the operator to do keeps every write.
    auto stopped = h.Stop();
    REQUIRE(stopped);
    CHECK(*stopped == 0);
    CHECK(CountStored(h, signals) == 40);
    REQUIRE(h.Restart());
    CHECK(h.Curl("alpha", "GET", "/healthz").status == 200);
  }
}

TEST_CASE(
    "a deleted cairn.db is noticed, and the recovery the log gives (freeze, "
    "copy the open file back, kill -9, start) keeps every acknowledged "
    "write") {
  // Checks every second, and checkpoints after every commit, so that
  // writes after the deletion land both in the deleted file and in -wal.
  RunningHubOptions options;
  options.extra_args = {"--expiry-interval", "1"};
  options.store_toml = "wal_checkpoint_pages = 1\n";
  auto hub = RunningHub::Start(options);
  REQUIRE(hub);
  RunningHub& h = **hub;
  const std::vector<SignalSpec> signals = NewSignals(60);
  const auto part = [&signals](int i) {
    return std::vector<SignalSpec>(signals.begin() + i * 20,
                                   signals.begin() + (i + 1) * 20);
  };
  REQUIRE(h.Curl("alpha", "POST", "/v1/signals", SubmitBody(part(0))).status ==
          200);
  REQUIRE(std::filesystem::remove(h.DbPath()));
  // Still acknowledged: the hub writes on into the file it has open.
  REQUIRE(h.Curl("alpha", "POST", "/v1/signals", SubmitBody(part(1))).status ==
          200);
  CheckFileLossReported(h);
  CHECK_THAT(ReadFileOrEmpty(h.LogPath()),
             Catch::Contains("[error] store file check failed: " + h.DbPath() +
                             " is gone (deleted or renamed)") &&
                 Catch::Contains("kill -STOP"));
  REQUIRE(h.Curl("alpha", "POST", "/v1/signals", SubmitBody(part(2))).status ==
          200);

  // operator-guide.md, "Files never to delete".
  const pid_t pid = h.Pid();
  REQUIRE(::kill(pid, SIGSTOP) == 0);
  std::string open_copy;
  for (const auto& fd : std::filesystem::directory_iterator(
           "/proc/" + std::to_string(pid) + "/fd")) {
    std::error_code ec;
    const auto target = std::filesystem::read_symlink(fd.path(), ec);
    if (!ec && target.string() == h.DbPath() + " (deleted)") {
      open_copy = fd.path().string();
    }
  }
  REQUIRE_FALSE(open_copy.empty());
  std::filesystem::copy_file(open_copy, h.DbPath());
  REQUIRE(h.Kill());
  REQUIRE(h.Restart());
  CHECK(h.Curl("alpha", "GET", "/healthz").status == 200);
  auto stopped = h.Stop();
  REQUIRE(stopped);
  CHECK(*stopped == 0);
  CHECK(SqlColumn(h.DbPath(), "PRAGMA integrity_check") ==
        std::vector<std::string>{"ok"});
  CHECK(CountStored(h, signals) == 60);
}

// In the start-up warning about a write-ahead log left behind.
constexpr char kUncleanStop[] = "-wal (";

// Five signals acknowledged, then kill -9: the write-ahead log is left.
void KillUnderWrites(RunningHub& h) {
  REQUIRE(h.Curl("alpha", "POST", "/v1/signals", SubmitBody(NewSignals(5)))
              .status == 200);
  REQUIRE(h.Kill());
  REQUIRE(std::filesystem::exists(h.DbPath() + "-wal"));
}

// Restarts `h` after KillUnderWrites: the start warns, once, that the
// previous run did not stop cleanly.
void RestartWarnsOfUncleanStop(RunningHub& h) {
  REQUIRE(h.Restart());
  const std::string log = ReadFileOrEmpty(h.LogPath());
  CHECK(CountLines(log, kUncleanStop) == 1);
  CHECK_THAT(log, Catch::Contains("[warning] " + h.DbPath() + "-wal (") &&
                      Catch::Contains("did not stop cleanly"));
}

TEST_CASE(
    "cairnd logs a start-up banner, and warns when the previous run left "
    "its write-ahead log behind") {
  auto hub = RunningHub::Start();
  REQUIRE(hub);
  RunningHub& h = **hub;
  std::string log = ReadFileOrEmpty(h.LogPath());
  CHECK_THAT(log,
             Catch::Contains("[info] cairnd ") &&
                 Catch::Contains(" starting: pid " + std::to_string(h.Pid())) &&
                 Catch::Contains("data directory " + h.DataDir()));
  CHECK(CountLines(log, kUncleanStop) == 0);

  // A clean stop leaves nothing to recover: no warning at the next start.
  REQUIRE(h.Stop());
  REQUIRE(h.Restart());
  log = ReadFileOrEmpty(h.LogPath());
  CHECK(CountLines(log, " starting: pid ") == 2);
  CHECK(CountLines(log, kUncleanStop) == 0);

  // kill -9 leaves the write-ahead log: the next start says so.
  KillUnderWrites(h);
  RestartWarnsOfUncleanStop(h);
}

TEST_CASE(
    "a read-only look at a stopped hub's database does not make the next "
    "start warn of a crash, and a kill -9 is still reported") {
  auto hub = RunningHub::Start();
  REQUIRE(hub);
  RunningHub& h = **hub;
  const std::string wal = h.DbPath() + "-wal";
  const auto verify = [&h] {
    const CommandResult r =
        RunCairnctl({"audit", "verify", "--data", h.DataDir()});
    CAPTURE(r.out, r.err);
    CHECK(r.exit_code == 0);
  };

  auto stopped = h.Stop();
  REQUIRE(stopped);
  REQUIRE(*stopped == 0);
  REQUIRE_FALSE(std::filesystem::exists(wal));
  // A read-only connection creates the log and cannot delete it: it is left
  // empty, with nothing in it to recover.
  verify();
  REQUIRE(std::filesystem::exists(wal));
  CHECK(std::filesystem::file_size(wal) == 0);
  REQUIRE(h.Restart());
  std::string log = ReadFileOrEmpty(h.LogPath());
  CHECK(CountLines(log, " starting: pid ") == 2);
  CHECK(CountLines(log, kUncleanStop) == 0);

  // A kill -9 under writes leaves frames in the log, and a read-only look
  // before the restart does not hide them.
  KillUnderWrites(h);
  verify();
  CHECK(std::filesystem::file_size(wal) > 32);
  RestartWarnsOfUncleanStop(h);
}

// Moves the newest audit entry's time `ahead` into the future, as if the
// system clock had been set back by that much since it was written.
void DateNewestAuditEntryAhead(const RunningHub& h,
                               std::chrono::seconds ahead) {
  const auto at = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch()) +
                  ahead;
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(h.DbPath().c_str(), &db) == SQLITE_OK);
  const std::string sql =
      "UPDATE audit_log SET at = " + std::to_string(at.count()) +
      " WHERE seq = (SELECT max(seq) FROM audit_log)";
  CHECK(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  CHECK(sqlite3_changes(db) == 1);
  sqlite3_close(db);
}

TEST_CASE(
    "a system clock behind the newest recorded time at start-up is reported "
    "and the hub goes on from that time, unless --clock-from-system") {
  auto hub = RunningHub::Start();
  REQUIRE(hub);
  RunningHub& h = **hub;
  REQUIRE(h.Curl("alpha", "POST", "/v1/signals",
                 SubmitBody({SignalSpec{.token = RandomTokenHex()}}))
              .status == 200);
  REQUIRE(h.Stop());
  DateNewestAuditEntryAhead(h, std::chrono::hours(2));

  REQUIRE(h.Restart());
  const std::string log = ReadFileOrEmpty(h.LogPath());
  CHECK_THAT(log, Catch::Contains("behind the newest time this hub's "
                                  "database recorded"));
  const auto health = h.Curl("alpha", "GET", "/healthz");
  CHECK(health.status == 200);
  CHECK_THAT(health.body, Catch::Contains(R"("clock":"stepped")"));
  CHECK(h.Metric("cairn_clock_step_unresolved") == 1.0);
  // New records are dated from the recorded time on, not before it.
  REQUIRE(h.Curl("alpha", "POST", "/v1/signals",
                 SubmitBody({SignalSpec{.token = RandomTokenHex()}}))
              .status == 200);
  const std::int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count();
  CHECK(QueryInt64(h.DbPath(), "SELECT max(at) FROM audit_log") >= now + 7000);

  REQUIRE(h.RestartWith({"--clock-from-system"}));
  CHECK(h.Metric("cairn_clock_step_unresolved") == 0.0);
  CHECK_THAT(h.Curl("alpha", "GET", "/healthz").body,
             Catch::Contains(R"("clock":"ok")"));
  CHECK_THAT(ReadFileOrEmpty(h.LogPath()),
             Catch::Contains("--clock-from-system: starting from the system "
                             "clock's time"));
  // The previous run signed receipts and checkpoints two hours ahead: the
  // keyring's time does not go back with the hub's, and the log says so.
  CHECK_THAT(ReadFileOrEmpty(h.LogPath()),
             Catch::Contains("the hub's signing keys have signed or been "
                             "made as late as") &&
                 Catch::Contains("receipts, audit checkpoints and key "
                                 "rotations are dated"));
}

// Dates every audit entry `back` into the past, as if the system clock had
// been stepped forward by that much while cairnd was stopped.
void DateAuditLogBack(const RunningHub& h, std::chrono::seconds back) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(h.DbPath().c_str(), &db) == SQLITE_OK);
  const std::string sql =
      "UPDATE audit_log SET at = at - " + std::to_string(back.count());
  CHECK(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  CHECK(sqlite3_changes(db) > 0);
  sqlite3_close(db);
}

TEST_CASE(
    "a system clock far ahead of the newest record at start-up holds "
    "deletions, the hold is in the audit log and outlives a restart, and "
    "cairnctl purge keeps to it") {
  auto hub = RunningHub::Start();
  REQUIRE(hub);
  RunningHub& h = **hub;
  REQUIRE(h.Curl("alpha", "POST", "/v1/signals",
                 SubmitBody({SignalSpec{.token = RandomTokenHex()}}))
              .status == 200);
  REQUIRE(h.Stop());
  // Stopped for two hours, or the clock stepped forward by two meanwhile.
  DateAuditLogBack(h, std::chrono::hours(2));

  REQUIRE(h.Restart());
  CHECK_THAT(ReadFileOrEmpty(h.LogPath()),
             Catch::Contains("ahead of the newest time this hub's database "
                             "recorded") &&
                 Catch::Contains("sweep and the purge are held for 60 min"));
  auto health = h.Curl("alpha", "GET", "/healthz");
  CHECK(health.status == 200);
  CHECK_THAT(health.body, Catch::Contains(R"("clock":"stepped")"));
  CHECK(h.Metric("cairn_clock_step_unresolved") == 1.0);
  // The entry the hub wrote then is dated now: the next start sees no gap.
  REQUIRE(h.Curl("alpha", "POST", "/v1/signals",
                 SubmitBody({SignalSpec{.token = RandomTokenHex()}}))
              .status == 200);
  REQUIRE(h.Stop());
  CHECK(QueryInt64(h.DbPath(),
                   "SELECT count(*) FROM audit_log WHERE action ="
                   " 'hub.clock_step' AND actor = 'hub' AND details LIKE"
                   " '{\"direction\":\"ahead_at_start\",%\"hold_until\":%'") ==
        1);

  // The hold is not over: cairnctl purge purges nothing (and exits 0, as
  // cairnd's held purge is no failure), unless told the clock is right.
  const CommandResult held =
      RunCairnctl({"purge", "--config", h.ConfigPath(), "--json"},
                  std::chrono::seconds(60));
  INFO(held.out << held.err);
  CHECK(held.exit_code == 0);
  CHECK_THAT(held.out, Catch::Contains(R"("held":true)"));
  CHECK_THAT(held.err, Catch::Contains("hub.clock_step") &&
                           Catch::Contains("--clock-from-system"));
  CHECK(QueryInt64(h.DbPath(),
                   "SELECT count(*) FROM audit_log WHERE action = 'purge'") ==
        0);
  const CommandResult checked = RunCairnctl(
      {"purge", "--config", h.ConfigPath(), "--json", "--clock-from-system"},
      std::chrono::seconds(60));
  INFO(checked.out << checked.err);
  CHECK(checked.exit_code == 0);
  CHECK_THAT(checked.out, !Catch::Contains(R"("held")"));
  CHECK(QueryInt64(h.DbPath(),
                   "SELECT count(*) FROM audit_log WHERE action = 'purge'") ==
        1);

  REQUIRE(h.Restart());
  CHECK_THAT(ReadFileOrEmpty(h.LogPath()),
             Catch::Contains("the audit log records a step of the system "
                             "clock whose deletion hold lasts until"));
  health = h.Curl("alpha", "GET", "/healthz");
  CHECK(health.status == 200);
  CHECK_THAT(health.body, Catch::Contains(R"("clock":"stepped")"));
  CHECK(h.Metric("cairn_clock_step_unresolved") == 1.0);

  // The operator checked the clock: it is right.
  REQUIRE(h.RestartWith({"--clock-from-system"}));
  CHECK(h.Metric("cairn_clock_step_unresolved") == 0.0);
  CHECK_THAT(h.Curl("alpha", "GET", "/healthz").body,
             Catch::Contains(R"("clock":"ok")"));
}

}  // namespace
}  // namespace cairn::testing
