// Retention purges as members and operators meet them, against a real
// cairnd: a feed mirror further behind than the hub's tombstone period is
// refused (410 cursor_expired) instead of silently missing a retraction,
// and rebuilds from after=0; `cairn feed` says what to do; cairnctl purge
// purges with the hub's retention, never silently with the defaults; and
// cairnd refuses a match reuse window that outlives the match retention.
#include <sqlite3.h>

#include <catch2/catch.hpp>

#include "tests/integration/integration_util.h"

namespace cairn::testing {
namespace {

constexpr std::chrono::seconds kTimeout{60};

CommandResult Cairnctl(const std::vector<std::string>& args) {
  return RunCairnctl(args, kTimeout);
}

// The single integer `sql` selects; -1 on failure.
std::int64_t QueryCount(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::int64_t out = -1;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) ==
      SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      out = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return out;
}

bool Exec(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open(db_path.c_str(), &db) != SQLITE_OK) {
    sqlite3_close(db);
    return false;
  }
  const bool ok =
      sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK;
  sqlite3_close(db);
  return ok;
}

std::string RetractBody(const std::string& token) {
  return R"({"retractions":[{"kind":"email","token":")" + token +
         R"(","reason":"appeal_upheld"}]})";
}

TEST_CASE(
    "a feed mirror further behind than tombstone_days is refused, and "
    "rebuilds from after=0") {
  RunningHubOptions options;
  options.store_toml = "tombstone_days = 0\n";
  // No purge by cairnd itself during the test: cairnctl runs the one purge.
  options.extra_args = {"--expiry-interval", "3600"};
  auto hub = RunningHub::Start(options);
  REQUIRE(hub);
  RunningHub& h = **hub;
  const std::string overturned = RandomTokenHex();
  const std::string kept = RandomTokenHex();
  SignalSpec a;
  a.token = overturned;
  SignalSpec b;
  b.token = kept;
  REQUIRE(h.Curl("alpha", "POST", "/v1/signals", SubmitBody({a, b})).status ==
          200);

  // beta's mirror takes both bans, then goes offline.
  CurlReply first = h.Curl("beta", "GET", "/v1/feed");
  REQUIRE(first.status == 200);
  auto page = ParseJson(first.body);
  REQUIRE_FALSE(page.HasParseError());
  REQUIRE(page["events"].Size() == 2);
  const std::string stale = page["cursor"].GetString();

  // The first ban is overturned on appeal; the hub purges it.
  CurlReply retracted =
      h.Curl("alpha", "POST", "/v1/signals/retract", RetractBody(overturned));
  INFO(retracted.body);
  REQUIRE(retracted.status == 200);
  REQUIRE(h.Stop());
  const CommandResult purge =
      Cairnctl({"purge", "--config", h.ConfigPath(), "--json"});
  INFO(purge.out << purge.err);
  REQUIRE(purge.exit_code == 0);
  auto counts = ParseJson(purge.out);
  REQUIRE_FALSE(counts.HasParseError());
  CHECK(counts["feed_events"].GetUint64() == 2);
  REQUIRE(h.Restart());

  // beta's mirror comes back: its cursor is refused, not answered with an
  // empty page that would leave the overturned ban in place.
  CurlReply refused = h.Curl("beta", "GET", "/v1/feed?after=" + stale);
  INFO(refused.body);
  CHECK(refused.status == 410);
  CHECK(ErrorCodeOf(refused.body) == "cursor_expired");
  CHECK_THAT(ErrorMessageOf(refused.body),
             Catch::Contains("tombstone_days") && Catch::Contains("after=0"));
  CHECK(ValidateResponses("error", {refused.body}).exit_code == 0);

  // The CLI says to rebuild, not to resume where it cannot.
  // Without any configuration file or environment (RunCairn).
  const CommandResult cli = h.Cairn("beta", {"feed", "--after", stale});
  INFO(cli.out << cli.err);
  CHECK(cli.exit_code == 1);
  CHECK_THAT(cli.err, Catch::Contains("cursor " + stale + " has expired") &&
                          Catch::Contains("without --after") &&
                          Catch::Contains("cursor_expired"));
  CHECK(cli.err.find("resume with --after") == std::string::npos);

  // Rebuilt from after=0: the ban that stands, not the overturned one.
  CurlReply rebuilt = h.Curl("beta", "GET", "/v1/feed?after=0");
  REQUIRE(rebuilt.status == 200);
  CHECK(ValidateResponses("feed-response", {rebuilt.body}).exit_code == 0);
  auto events = ParseJson(rebuilt.body);
  REQUIRE_FALSE(events.HasParseError());
  REQUIRE(events["events"].Size() == 1);
  CHECK(std::string(events["events"][0]["token"].GetString()) == kept);
  CHECK_FALSE(events["more"].GetBool());
  const std::string cursor = events["cursor"].GetString();
  CurlReply next = h.Curl("beta", "GET", "/v1/feed?after=" + cursor);
  INFO(next.body);
  REQUIRE(next.status == 200);
  CHECK(ParseJson(next.body)["events"].Size() == 0);
}

TEST_CASE(
    "cairnctl purge takes the hub's retention from --config and refuses to "
    "guess it") {
  RunningHubOptions options;
  // This hub keeps departed signals longer than the default 30 days.
  options.store_toml = "tombstone_days = 60\n";
  auto hub = RunningHub::Start(options);
  REQUIRE(hub);
  RunningHub& h = **hub;
  SignalSpec spec;
  spec.token = RandomTokenHex();
  REQUIRE(h.Curl("alpha", "POST", "/v1/signals", SubmitBody({spec})).status ==
          200);
  REQUIRE(
      h.Curl("alpha", "POST", "/v1/signals/retract", RetractBody(spec.token))
          .status == 200);
  REQUIRE(h.Stop());
  // Retracted 40 days ago: within this hub's 60 days, past the default 30.
  REQUIRE(Exec(h.DbPath(),
               "UPDATE signals SET updated_at = updated_at - 40 * 86400"));

  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"purge", "--data", h.DataDir()},
        std::vector<std::string>{"purge", "--data", h.DataDir(), "--dry-run"},
        std::vector<std::string>{"purge", "--data", h.DataDir(),
                                 "--tombstone-days", "60"}}) {
    const CommandResult guessed = Cairnctl(args);
    INFO(guessed.out << guessed.err);
    CHECK(guessed.exit_code == 2);
    CHECK_THAT(guessed.err, Catch::Contains("no retention limits") &&
                                Catch::Contains("--config") &&
                                Catch::Contains("--match-retention-days"));
  }
  // Nothing was purged by those.
  CHECK(QueryCount(h.DbPath(), "SELECT count(*) FROM signals") == 1);
  const CommandResult dry =
      Cairnctl({"purge", "--config", h.ConfigPath(), "--dry-run", "--json"});
  INFO(dry.out << dry.err);
  REQUIRE(dry.exit_code == 0);
  auto counts = ParseJson(dry.out);
  REQUIRE_FALSE(counts.HasParseError());
  CHECK(counts["signals"].GetUint64() == 0);  // within the hub's 60 days

  const CommandResult kept = Cairnctl({"purge", "--config", h.ConfigPath()});
  INFO(kept.out << kept.err);
  CHECK(kept.exit_code == 0);
  CHECK_THAT(kept.out, Catch::Contains("retention (days): tombstones 60,") &&
                           Catch::Contains("signals           0"));
  CHECK(QueryCount(h.DbPath(), "SELECT count(*) FROM signals") == 1);
  // Explicit limits are the operator's decision, and are honoured.
  const CommandResult explicit_limits =
      Cairnctl({"purge", "--data", h.DataDir(), "--tombstone-days", "30",
                "--match-retention-days", "730", "--disposition-retention-days",
                "730", "--notification-retention-days", "730", "--json"});
  INFO(explicit_limits.out << explicit_limits.err);
  CHECK(explicit_limits.exit_code == 0);
  auto purged = ParseJson(explicit_limits.out);
  REQUIRE_FALSE(purged.HasParseError());
  CHECK(purged["signals"].GetUint64() == 1);
}

// Offline, cairnctl cannot tell a long stop from a step of the system
// clock: it purges by the running hub's rules against the newest time the
// database recorded (operator guide, "Retention and purge").
TEST_CASE(
    "cairnctl purge deletes by no later than an hour after the hub's newest "
    "recorded time, and never dates its audit entry before it") {
  RunningHubOptions options;
  options.store_toml = "tombstone_days = 30\n";
  options.extra_args = {"--expiry-interval", "3600"};
  auto hub = RunningHub::Start(options);
  REQUIRE(hub);
  RunningHub& h = **hub;
  auto submit_and_retract = [&h] {
    SignalSpec spec;
    spec.token = RandomTokenHex();
    REQUIRE(h.Curl("alpha", "POST", "/v1/signals", SubmitBody({spec})).status ==
            200);
    REQUIRE(
        h.Curl("alpha", "POST", "/v1/signals/retract", RetractBody(spec.token))
            .status == 200);
  };
  const std::string newest_at =
      "SELECT at FROM audit_log ORDER BY seq DESC LIMIT 1";

  // Everything the hub recorded is 40 days old: it stopped then, or the
  // system clock has since been stepped forward by 40 days. By the system
  // clock the retracted signal is past its 30 days; by an hour after the
  // recorded time it is not.
  submit_and_retract();
  REQUIRE(h.Stop());
  REQUIRE(Exec(h.DbPath(),
               "UPDATE signals SET updated_at = updated_at - 40 * 86400;"
               "UPDATE audit_log SET at = at - 40 * 86400;"
               "UPDATE audit_checkpoints SET at = at - 40 * 86400"));
  for (const bool dry_run : {true, false}) {
    std::vector<std::string> args = {"purge", "--config", h.ConfigPath(),
                                     "--json"};
    if (dry_run) args.emplace_back("--dry-run");
    const CommandResult held = Cairnctl(args);
    INFO(held.out << held.err);
    REQUIRE(held.exit_code == 0);
    auto counts = ParseJson(held.out);
    REQUIRE_FALSE(counts.HasParseError());
    CHECK(counts["signals"].GetUint64() == 0);
    CHECK_THAT(held.err,
               Catch::Contains("ahead of the newest time this hub's database "
                               "recorded") &&
                   Catch::Contains("--clock-from-system"));
  }
  CHECK(QueryCount(h.DbPath(), "SELECT count(*) FROM signals") == 1);
  // The capped purge dated its entry at the recorded time, not by the
  // clock it did not trust: a second plain purge is capped the same way.
  const std::int64_t recorded_before = QueryCount(h.DbPath(), newest_at);
  const CommandResult again = Cairnctl({"purge", "--config", h.ConfigPath()});
  INFO(again.out << again.err);
  REQUIRE(again.exit_code == 0);
  CHECK_THAT(again.err, Catch::Contains("ahead of the newest time"));
  CHECK(QueryCount(h.DbPath(), "SELECT count(*) FROM signals") == 1);
  CHECK(QueryCount(h.DbPath(), newest_at) == recorded_before);
  // The operator checked the clock: it is right.
  const CommandResult checked = Cairnctl(
      {"purge", "--config", h.ConfigPath(), "--json", "--clock-from-system"});
  INFO(checked.out << checked.err);
  REQUIRE(checked.exit_code == 0);
  auto purged = ParseJson(checked.out);
  REQUIRE_FALSE(purged.HasParseError());
  CHECK(purged["signals"].GetUint64() == 1);
  CHECK(QueryCount(h.DbPath(), "SELECT count(*) FROM signals") == 0);

  // Now the other way: the hub's newest entry is dated two days ahead of
  // the system clock (set back while cairnd was stopped). The purge deletes
  // by the system clock's earlier time (a signal retracted 29 days ago
  // stays), and dates its own entry no earlier than the recorded one.
  REQUIRE(h.Restart());
  submit_and_retract();
  REQUIRE(h.Stop());
  REQUIRE(Exec(h.DbPath(),
               "UPDATE signals SET updated_at = updated_at - 29 * 86400;"
               "UPDATE audit_log SET at = at + 2 * 86400 WHERE seq ="
               " (SELECT max(seq) FROM audit_log)"));
  const std::int64_t recorded = QueryCount(h.DbPath(), newest_at);
  const CommandResult behind = Cairnctl({"purge", "--config", h.ConfigPath()});
  INFO(behind.out << behind.err);
  REQUIRE(behind.exit_code == 0);
  CHECK_THAT(behind.out, Catch::Contains("signals           0"));
  CHECK_THAT(behind.err, Catch::Contains("behind the newest time"));
  CHECK(QueryCount(h.DbPath(), "SELECT count(*) FROM signals") == 1);
  CHECK(QueryCount(h.DbPath(),
                   "SELECT action = 'purge' FROM audit_log"
                   " ORDER BY seq DESC LIMIT 1") == 1);
  CHECK(QueryCount(h.DbPath(), newest_at) >= recorded);
}

TEST_CASE(
    "cairnd refuses a match reuse window as long as the match retention") {
  RunningHubOptions options;
  options.store_toml =
      "match_reuse_seconds = 86400\nmatch_retention_days = 1\n";
  options.register_members = false;
  auto hub = RunningHub::Start(options);
  REQUIRE_FALSE(hub);
  CHECK_THAT(hub.error().message,
             Catch::Contains("store.match_reuse_seconds (86400) is not "
                             "shorter than store.match_retention_days"));
}

}  // namespace
}  // namespace cairn::testing
