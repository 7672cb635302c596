// GET /v1/reports/*: who may read what, bad parameters, the audit entry and
// the schema of real responses. Drives an ApiRouter with a ReportSource
// over the api test fixture's store.
#include <sqlite3.h>

#include <atomic>
#include <cctype>
#include <functional>
#include <future>
#include <memory>

#include <catch2/catch.hpp>

#include "cairn/wire/reports.h"
#include "server/api_test_util.h"
#include "server/src/reports/report_source.h"

namespace cairn::server::apitest {
namespace {

const std::string kPeriod = "from=2026-11-23T00:00:00Z&to=2026-11-24T00:00:00Z";

class ReportFixture {
 public:
  explicit ReportFixture(bool with_reports = true,
                         std::function<void(ApiOptions&)> configure = {}) {
    // alpha submits two signals, beta queries both: two matches.
    REQUIRE(fixture_.Post("/v1/signals", SubmitBody({1, 2}), kAlphaFp).status ==
            200);
    REQUIRE(fixture_.Post("/v1/query", QueryBody({1, 2, 3}), kBetaFp).status ==
            200);
    ApiOptions options;
    if (with_reports) {
      auto source = ReportSource::Open(fixture_.db_path(), [] {
        return sys_seconds{std::chrono::seconds{kNow}};
      });
      REQUIRE(source.has_value());
      options.reports = *source;
    }
    if (configure) configure(options);
    router_ = std::make_unique<ApiRouter>(fixture_.store(), fixture_.metrics(),
                                          std::move(options));
  }

  Response Get(const std::string& target, const std::string& fingerprint) {
    HttpRequest request{http::verb::get, target, 11};
    PeerIdentity peer{fingerprint, "CN=report-test", "127.0.0.1:40000"};
    auto promise = std::make_shared<std::promise<HttpResponse>>();
    auto future = promise->get_future();
    router_->Handle(std::move(request), peer,
                    [promise](HttpResponse r) { promise->set_value(r); });
    Response out;
    if (future.wait_for(std::chrono::seconds(10)) !=
        std::future_status::ready) {
      return out;
    }
    auto response = future.get();
    out.status = static_cast<int>(response.result_int());
    out.body = response.body();
    return out;
  }

  // Hands the request to the router and returns at once; the answer comes
  // through the future (with its headers).
  std::future<Response> Start(const std::string& target,
                              const std::string& fingerprint) {
    HttpRequest request{http::verb::get, target, 11};
    PeerIdentity peer{fingerprint, "CN=report-test", "127.0.0.1:40000"};
    auto promise = std::make_shared<std::promise<Response>>();
    auto future = promise->get_future();
    router_->Handle(std::move(request), peer, [promise](HttpResponse r) {
      Response out;
      out.status = static_cast<int>(r.result_int());
      out.body = r.body();
      for (const auto& field : r) {
        std::string name(field.name_string());
        for (char& c : name) c = static_cast<char>(std::tolower(c));
        out.headers[name] = std::string(field.value());
      }
      promise->set_value(std::move(out));
    });
    return future;
  }

  // Rows of audit_log with action "report.read", after the writer has
  // drained (a blocking command queues behind the audit appends).
  std::vector<std::pair<std::string, std::string>> ReportReads() {
    REQUIRE(fixture_.store().ExpireDueAndWait().has_value());
    std::vector<std::pair<std::string, std::string>> rows;
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(fixture_.db_path().c_str(), &db,
                            SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    REQUIRE(sqlite3_prepare_v2(db,
                               "SELECT actor, details FROM audit_log WHERE "
                               "action = 'report.read' ORDER BY seq",
                               -1, &stmt, nullptr) == SQLITE_OK);
    int rc = SQLITE_ROW;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      rows.emplace_back(
          reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)),
          reinterpret_cast<const char*>(sqlite3_column_text(stmt, 1)));
    }
    sqlite3_finalize(stmt);
    // An error part-way (a locked file) must fail, not end the list early.
    REQUIRE(rc == SQLITE_DONE);
    sqlite3_close(db);
    return rows;
  }

  ApiFixture& api() { return fixture_; }

 private:
  ApiFixture fixture_;
  std::unique_ptr<ApiRouter> router_;  // destroyed before the store
};

TEST_CASE("report visibility by role") {
  ReportFixture f;
  struct Case {
    std::string who;
    std::string fingerprint;
    std::string extra;  // appended to the query string
    int status;
    std::string member;  // expected "member" of a 200 answer ("" = all)
    std::uint64_t matches;
  };
  const Case cases[] = {
      {"compliance, all", kComplianceFp, "", 200, "", 2},
      {"compliance, beta", kComplianceFp, "&member=beta", 200, "beta", 2},
      {"compliance, alpha", kComplianceFp, "&member=alpha", 200, "alpha", 0},
      {"compliance, unknown", kComplianceFp, "&member=nobody", 404, "", 0},
      {"member, own by default", kBetaFp, "", 200, "beta", 2},
      {"member, own by name", kBetaFp, "&member=beta", 200, "beta", 2},
      {"member, another", kBetaFp, "&member=alpha", 403, "", 0},
      {"operator only", kOperatorFp, "", 403, "", 0},
      {"suspended", kSuspendedFp, "", 403, "", 0},
      {"unknown certificate", kUnknownFp, "", 403, "", 0},
  };
  for (const auto& c : cases) {
    CAPTURE(c.who);
    for (const char* path : {"/v1/reports/summary", "/v1/reports/matches"}) {
      CAPTURE(path);
      auto r =
          f.Get(std::string(path) + "?" + kPeriod + c.extra, c.fingerprint);
      CHECK(r.status == c.status);
      if (r.status != 200) {
        CHECK(r.ErrorBody().message.size() > 10);
        continue;
      }
      if (std::string_view(path) == "/v1/reports/summary") {
        auto s = wire::DecodeReportSummary(r.body);
        REQUIRE(s.has_value());
        CHECK(s->member == c.member);
        CHECK(s->matches.total == c.matches);
      } else {
        auto m = wire::DecodeReportMatchesResponse(r.body);
        REQUIRE(m.has_value());
        CHECK(m->member == c.member);
        CHECK(m->matches.size() == c.matches);
      }
    }
  }
}

TEST_CASE("bad report parameters are 400s naming the parameter") {
  ReportFixture f;
  // After the fixture's writes have committed (ReportReads waits for them).
  REQUIRE(f.ReportReads().empty());
  const StoreSnapshot before = TakeSnapshot(f.api());
  struct Case {
    std::string query;
    std::string field;
  };
  const Case cases[] = {
      {"", "from"},
      {"from=2026-11-23T00:00:00Z", "to"},
      {"from=2026-11-23&to=2026-11-24T00:00:00Z", "from"},
      {"from=2026-11-24T00:00:00Z&to=2026-11-23T00:00:00Z", "to"},
      {"from=2025-01-01T00:00:00Z&to=2026-11-24T00:00:00Z", "to"},
      {kPeriod + "&member=NOT_AN_ID", "member"},
      {kPeriod + "&pending_days=x", "pending_days"},
      {kPeriod + "&after=5", "after"},  // summary has no cursor
  };
  for (const auto& c : cases) {
    CAPTURE(c.query);
    auto r = f.Get("/v1/reports/summary?" + c.query, kComplianceFp);
    CHECK(r.status == 400);
    CHECK(r.ErrorCode() == "invalid_argument");
    CHECK(r.ErrorBody().field == c.field);
    CHECK_FALSE(r.ErrorBody().message.empty());
  }
  auto bad_cursor =
      f.Get("/v1/reports/matches?" + kPeriod + "&after=zz", kComplianceFp);
  CHECK(bad_cursor.status == 400);
  CHECK(bad_cursor.ErrorCode() == "invalid_argument");
  CHECK(bad_cursor.ErrorBody().field == "after");
  // A refused read is not a read: no report.read entry (ReportReads waits
  // for the writer first), and nothing else changed either.
  CHECK(f.ReportReads().empty());
  const StoreSnapshot after = TakeSnapshot(f.api());
  INFO("before:\n" << Describe(before) << "\nafter:\n" << Describe(after));
  CHECK(SameData(after, before));
  CHECK(after.rows == before.rows);  // with the audit tables
}

TEST_CASE("every report read is audited as report.read") {
  ReportFixture f;
  REQUIRE(f.Get("/v1/reports/summary?" + kPeriod, kComplianceFp).status == 200);
  REQUIRE(f.Get("/v1/reports/matches?" + kPeriod, kBetaFp).status == 200);
  REQUIRE(f.Get("/v1/reports/matches?" + kPeriod + "&member=alpha", kBetaFp)
              .status == 403);
  auto rows = f.ReportReads();
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].first == "comply");
  CHECK(rows[0].second ==
        R"({"report":"summary","from":"2026-11-23T00:00:00Z",)"
        R"("to":"2026-11-24T00:00:00Z","member":null})");
  CHECK(rows[1].first == "beta");
  CHECK(rows[1].second.find(R"("member":"beta")") != std::string::npos);
}

TEST_CASE("a hub without reports answers 404") {
  ReportFixture f(/*with_reports=*/false);
  auto r = f.Get("/v1/reports/summary?" + kPeriod, kComplianceFp);
  CHECK(r.status == 404);
  CHECK(r.ErrorBody().message.find("not enabled") != std::string::npos);
}

TEST_CASE("real report responses match their schemas") {
  ReportFixture f;
  auto summary = f.Get("/v1/reports/summary?" + kPeriod, kComplianceFp);
  auto matches = f.Get("/v1/reports/matches?" + kPeriod, kBetaFp);
  REQUIRE(summary.status == 200);
  REQUIRE(matches.status == 200);
  const std::string dir = f.api().dir();
  REQUIRE(WriteFile(dir + "/summary.json", summary.body));
  REQUIRE(WriteFile(dir + "/matches.json", matches.body));
  std::string output;
  CHECK(ValidateAgainstSchemas(
            {{"report-summary-response", {dir + "/summary.json"}},
             {"report-matches-response", {dir + "/matches.json"}}},
            &output) == 0);
  INFO(output);
}

TEST_CASE(
    "reports of a period a purge reached into carry the retention note and "
    "match their schemas") {
  ReportFixture f;
  // A purge entry of the hub's (the chain is not what reports read): it
  // deleted a signal and a match, and its cut-offs lie inside kPeriod. Written
  // far ahead of the store's own seqs so that its next appends cannot collide.
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(f.api().db_path().c_str(), &db) == SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  const std::string insert =
      "INSERT INTO audit_log (seq, at, actor, fingerprint, request_id, action,"
      " details, result, prev_hash, hash) VALUES (1000000, " +
      std::to_string(kNow) +
      ", 'hub', '', '', 'purge', '{\"signals\":1,\"feed_events\":1,"
      "\"matches\":1,\"dispositions\":0,\"notifications\":0,"
      "\"idempotency_keys\":0,\"tombstone_cutoff\":"
      "\"2026-11-23T12:00:00Z\",\"match_cutoff\":"
      "\"2026-11-23T06:00:00Z\",\"disposition_cutoff\":"
      "\"2026-11-23T06:00:00Z\",\"notification_cutoff\":"
      "\"2026-11-23T06:00:00Z\"}', 'ok', x'00', x'00')";
  CHECK(sqlite3_exec(db, insert.c_str(), nullptr, nullptr, nullptr) ==
        SQLITE_OK);
  sqlite3_close(db);

  auto summary = f.Get("/v1/reports/summary?" + kPeriod, kComplianceFp);
  auto matches = f.Get("/v1/reports/matches?" + kPeriod, kBetaFp);
  REQUIRE(summary.status == 200);
  REQUIRE(matches.status == 200);
  const std::string retention =
      R"("retention":{"purge_cutoff":"2026-11-23T12:00:00Z",)"
      R"("match_cutoff":"2026-11-23T06:00:00Z","note":"the hub )"
      R"(has purged the signals retracted or expired at or before )"
      R"(2026-11-23T12:00:00Z)";
  CHECK_THAT(summary.body, Catch::Contains(retention));
  CHECK_THAT(matches.body, Catch::Contains(retention));
  const std::string dir = f.api().dir();
  REQUIRE(WriteFile(dir + "/summary.json", summary.body));
  REQUIRE(WriteFile(dir + "/matches.json", matches.body));
  std::string output;
  CHECK(ValidateAgainstSchemas(
            {{"report-summary-response", {dir + "/summary.json"}},
             {"report-matches-response", {dir + "/matches.json"}}},
            &output) == 0);
  INFO(output);

  // The day after: nothing of it was purged, no note.
  auto later = f.Get(
      "/v1/reports/summary?from=2026-11-24T00:00:00Z&to=2026-11-25T00:00:00Z",
      kComplianceFp);
  REQUIRE(later.status == 200);
  CHECK(later.body.find("\"retention\"") == std::string::npos);
}

// The report thread serves one report at a time: each member may have one
// queued or running (a second is 429 with Retry-After, at once), and all
// members together ApiOptions::reports_pending (then 503). Another member's
// report is still queued and served.
TEST_CASE("a member's second concurrent report is 429, others are served") {
  // Holds the report thread in the first report until `release`.
  auto entered = std::make_shared<std::promise<void>>();
  auto release = std::make_shared<std::promise<void>>();
  std::shared_future<void> released = release->get_future().share();
  auto first = std::make_shared<std::atomic<bool>>(true);
  ReportFixture f(true, [&](ApiOptions& options) {
    options.reports_pending = 2;
    options.report_hook_for_testing = [entered, released, first] {
      if (!first->exchange(false)) return;
      entered->set_value();
      // Bounded: a test that fails to release must not hang.
      released.wait_for(std::chrono::seconds(10));
    };
  });
  const std::string summary = "/v1/reports/summary?" + kPeriod;
  const std::string matches = "/v1/reports/matches?" + kPeriod;

  auto beta_first = f.Start(summary, kBetaFp);
  REQUIRE(entered->get_future().wait_for(std::chrono::seconds(10)) ==
          std::future_status::ready);

  struct Case {
    std::string who;
    std::string target;
    std::string fingerprint;
    int status;
    std::string code;
  };
  // In order: beta's running report fills its own slot (summary or
  // matches alike); alpha's is queued (pending: 2, the hub's bound); the
  // compliance officer's finds the queue full.
  const std::vector<Case> refused = {
      {"beta, second summary", summary, kBetaFp, 429, "rate_limited"},
      {"beta, matches", matches, kBetaFp, 429, "rate_limited"},
  };
  for (const Case& c : refused) {
    CAPTURE(c.who);
    auto reply = f.Start(c.target, c.fingerprint);
    // Answered at once, without waiting for the report thread.
    REQUIRE(reply.wait_for(std::chrono::seconds(5)) ==
            std::future_status::ready);
    const Response r = reply.get();
    CHECK(r.status == c.status);
    CHECK(r.ErrorCode() == c.code);
    CHECK(std::stoi(r.Header("Retry-After")) >= 1);
    CHECK_THAT(r.ErrorBody().message,
               Catch::Contains("already has a report queued or running"));
  }
  auto alpha = f.Start(summary, kAlphaFp);
  auto full = f.Start(matches, kComplianceFp);
  REQUIRE(full.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
  const Response full_reply = full.get();
  CHECK(full_reply.status == 503);
  CHECK(full_reply.ErrorCode() == "unavailable");
  CHECK(std::stoi(full_reply.Header("Retry-After")) >= 1);
  // alpha's report waits behind beta's.
  CHECK(alpha.wait_for(std::chrono::milliseconds(50)) ==
        std::future_status::timeout);

  release->set_value();
  REQUIRE(beta_first.wait_for(std::chrono::seconds(10)) ==
          std::future_status::ready);
  CHECK(beta_first.get().status == 200);
  REQUIRE(alpha.wait_for(std::chrono::seconds(10)) ==
          std::future_status::ready);
  CHECK(alpha.get().status == 200);
  // Answered reports free their slots.
  CHECK(f.Get(matches, kBetaFp).status == 200);
  CHECK(f.Get(matches, kComplianceFp).status == 200);
}

}  // namespace
}  // namespace cairn::server::apitest
