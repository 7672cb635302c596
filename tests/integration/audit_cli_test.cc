// The audit log end to end: a real cairnd writes chained entries and signed
// checkpoints, members fetch the checkpoints, and the offline cairnctl audit
// verify / purge run on its data directory.
#include <sqlite3.h>

#include <filesystem>

#include <catch2/catch.hpp>

#include "tests/integration/integration_util.h"

namespace cairn::testing {
namespace {

TEST_CASE(
    "cairnd checkpoints its audit log and cairnctl verifies it "
    "offline") {
  RunningHubOptions options;
  options.extra_toml = "[audit]\ncheckpoint_every_entries = 3\n";
  auto hub = RunningHub::Start(options);
  REQUIRE(hub);
  RunningHub& h = **hub;
  const std::string token = RandomTokenHex();
  SignalSpec spec;
  spec.token = token;
  REQUIRE(h.Curl("beta", "POST", "/v1/signals", SubmitBody({spec})).status ==
          200);
  for (int i = 0; i < 3; ++i) {
    REQUIRE(h.Curl("alpha", "POST", "/v1/query",
                   QueryBody({{"email", i == 0 ? token : RandomTokenHex()}}))
                .status == 200);
  }
  // Non-matching query entries ride the next commit; this submit is one.
  REQUIRE(h.Curl("beta", "POST", "/v1/signals", SubmitBody({spec})).status ==
          200);

  CurlReply cps = h.Curl("alpha", "GET", "/v1/audit/checkpoints");
  REQUIRE(cps.status == 200);
  auto doc = ParseJson(cps.body);
  REQUIRE_FALSE(doc.HasParseError());
  REQUIRE(doc["checkpoints"].Size() >= 2);
  CHECK(ValidateResponses("audit-checkpoints-response", {cps.body}).exit_code ==
        0);

  // Offline commands refuse to run under a live hub.
  const CommandResult locked =
      RunCairnctl({"purge", "--config", h.ConfigPath()});
  CHECK(locked.exit_code == 1);
  CHECK(locked.err.find("stop cairnd") != std::string::npos);

  REQUIRE(h.Stop());
  const CommandResult ok =
      RunCairnctl({"audit", "verify", "--data", h.DataDir()});
  INFO(ok.out << ok.err);
  CHECK(ok.exit_code == 0);
  CHECK(ok.out.find("audit log intact") != std::string::npos);
  CHECK(ok.out.find(" of the hub's own, 0 held)") != std::string::npos);
  CHECK(ok.out.find("signed      through entry ") != std::string::npos);
  auto report = ParseJson(
      RunCairnctl({"audit", "verify", "--data", h.DataDir(), "--json"}).out);
  REQUIRE_FALSE(report.HasParseError());
  CHECK(report["intact"].GetBool());
  CHECK(report["checkpoints"].GetUint64() >= 2);
  CHECK(report["entries"].GetUint64() >= 9);  // 5 members + 2 submits + 3

  // The member's saved checkpoints are checked against the log too.
  const std::string held = h.Scratch().File("checkpoints.json");
  WriteFile(held, cps.body);
  auto with_held =
      ParseJson(RunCairnctl({"audit", "verify", "--data", h.DataDir(),
                             "--checkpoints", held, "--json"})
                    .out);
  REQUIRE_FALSE(with_held.HasParseError());
  CHECK(with_held["intact"].GetBool());
  CHECK(with_held["checkpoints"].GetUint64() ==
        report["checkpoints"].GetUint64() + doc["checkpoints"].Size());
  // Counted apart: the hub's own and those held outside it.
  CHECK(with_held["hub_checkpoints"].GetUint64() ==
        report["checkpoints"].GetUint64());
  CHECK(with_held["held_checkpoints"].GetUint64() == doc["checkpoints"].Size());
  CHECK(with_held["signed_seq"].GetUint64() >= 9);

  // What could not be checked is exit 2, never 1 (which means tampered).
  const std::string no_keys = h.Scratch().File("no-keys");
  std::filesystem::create_directories(no_keys);
  const CommandResult unverifiable = RunCairnctl(
      {"audit", "verify", "--data", h.DataDir(), "--keys", no_keys});
  INFO(unverifiable.out << unverifiable.err);
  CHECK(unverifiable.exit_code == 2);
  CHECK(unverifiable.out.find("CANNOT BE VERIFIED") != std::string::npos);
  CHECK(unverifiable.out.find("TAMPERED") == std::string::npos);
  // Not "verified up to 0": the chain itself was checked without keys.
  CHECK(unverifiable.out.find("verified up to") == std::string::npos);
  CHECK(unverifiable.out.find("hash chain  intact through entry " +
                              std::to_string(report["last_seq"].GetUint64())) !=
        std::string::npos);
  CHECK(unverifiable.out.find("signed      none") != std::string::npos);
  const CommandResult no_data = RunCairnctl(
      {"audit", "verify", "--data", h.Scratch().File("not-a-data-dir")});
  CHECK(no_data.exit_code == 2);
  const CommandResult bad_held = RunCairnctl(
      {"audit", "verify", "--data", h.DataDir(), "--checkpoints", no_keys});
  CHECK(bad_held.exit_code == 2);

  // A backup file is verified with --db and the hub's keys.
  const std::string backup = h.Scratch().File("cairn-backup.db");
  REQUIRE(RunCairnctl({"backup", "--data", h.DataDir(), "--out", backup})
              .exit_code == 0);
  const std::string keys = h.DataDir() + "/keys";
  const CommandResult from_file =
      RunCairnctl({"audit", "verify", "--db", backup, "--keys", keys});
  INFO(from_file.out << from_file.err);
  CHECK(from_file.exit_code == 0);
  CHECK(from_file.out.find("audit log intact") != std::string::npos);
  auto file_report =
      ParseJson(RunCairnctl({"audit", "verify", "--db", backup, "--keys", keys,
                             "--checkpoints", held, "--json"})
                    .out);
  REQUIRE_FALSE(file_report.HasParseError());
  CHECK(file_report["intact"].GetBool());
  CHECK(file_report["last_seq"].GetUint64() == report["last_seq"].GetUint64());
  CHECK(file_report["held_checkpoints"].GetUint64() ==
        doc["checkpoints"].Size());
  // What is missing or mixed up is named, exit 2.
  struct Misuse {
    std::vector<std::string> args;
    const char* message;
  };
  const Misuse misuses[] = {
      {{"--db", backup}, "--db needs --keys DIR"},
      {{"--data", backup, "--keys", keys}, "is a file, not a data directory"},
      {{"--db", h.DataDir(), "--keys", keys}, "no database file at"},
      {{"--keys", keys}, "pass either --data DIR"},
      {{"--data", h.DataDir(), "--db", backup}, "excludes"},
  };
  for (const Misuse& m : misuses) {
    std::vector<std::string> args = {"audit", "verify"};
    args.insert(args.end(), m.args.begin(), m.args.end());
    const CommandResult r = RunCairnctl(args);
    INFO(m.message << ": " << r.out << r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(m.message) != std::string::npos);
  }

  const CommandResult dry =
      RunCairnctl({"purge", "--config", h.ConfigPath(), "--dry-run", "--json"});
  INFO(dry.out << dry.err);
  CHECK(dry.exit_code == 0);
  auto counts = ParseJson(dry.out);
  REQUIRE_FALSE(counts.HasParseError());
  CHECK(counts["dry_run"].GetBool());
  CHECK(counts["signals"].GetUint64() == 0);

  const CommandResult purged =
      RunCairnctl({"purge", "--config", h.ConfigPath()});
  CHECK(purged.exit_code == 0);
  CHECK(purged.out.find("purged:") != std::string::npos);

  // The purge's own entry is not signed until the hub's next checkpoint,
  // and verify says so.
  auto after_purge = ParseJson(
      RunCairnctl({"audit", "verify", "--data", h.DataDir(), "--json"}).out);
  REQUIRE_FALSE(after_purge.HasParseError());
  const std::uint64_t signed_seq = after_purge["signed_seq"].GetUint64();
  CHECK(signed_seq < after_purge["last_seq"].GetUint64());
  const CommandResult unsigned_tail =
      RunCairnctl({"audit", "verify", "--data", h.DataDir()});
  CHECK(unsigned_tail.exit_code == 0);
  CHECK(unsigned_tail.out.find(
            "entries after seq " + std::to_string(signed_seq) +
            " are not covered by any checkpoint yet") != std::string::npos);

  // Tamper with the stopped hub's database: verify names the entry.
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(h.DbPath().c_str(), &db) == SQLITE_OK);
  CHECK(sqlite3_exec(db, "UPDATE audit_log SET details = '{}' WHERE seq = 2",
                     nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  const CommandResult bad =
      RunCairnctl({"audit", "verify", "--data", h.DataDir()});
  CHECK(bad.exit_code == 1);
  CHECK(bad.out.find("entry 2: hash does not match its contents") !=
        std::string::npos);
}

}  // namespace
}  // namespace cairn::testing
