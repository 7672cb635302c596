// Wire mapping of the report endpoints: query-string parsing (bad input as a
// table) and the JSON round trip of both responses.
#include <catch2/catch.hpp>

#include "cairn/timestamp.h"
#include "cairn/wire/reports.h"

namespace cairn::wire {
namespace {

Timestamp T(const char* text) { return *ParseTimestamp(text); }

TEST_CASE("report query strings parse, with percent-escapes") {
  auto r = ParseReportRequest(
      "from=2026-11-01T00%3A00%3A00Z&to=2026-12-01T00:00:00Z&member=alpha&"
      "pending_days=14",
      ReportKind::kSummary);
  REQUIRE(r.has_value());
  CHECK(r->from == T("2026-11-01T00:00:00Z"));
  CHECK(r->to == T("2026-12-01T00:00:00Z"));
  CHECK(r->member == "alpha");
  CHECK(r->pending_days == 14);

  auto m = ParseReportRequest(
      "from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z&after=17&limit=5",
      ReportKind::kMatches);
  REQUIRE(m.has_value());
  CHECK(m->after == "17");
  CHECK(m->limit == 5);
  auto m2 = ParseReportRequest(EncodeReportRequest(*m, ReportKind::kMatches),
                               ReportKind::kMatches);
  REQUIRE(m2.has_value());
  CHECK(*m2 == *m);
  auto r2 = ParseReportRequest(EncodeReportRequest(*r, ReportKind::kSummary),
                               ReportKind::kSummary);
  REQUIRE(r2.has_value());
  CHECK(*r2 == *r);
}

TEST_CASE("bad report query strings are 400s naming the parameter") {
  const std::string ok_from = "from=2026-11-01T00:00:00Z";
  const std::string ok_to = "to=2026-11-30T00:00:00Z";
  struct Case {
    std::string query;
    ReportKind kind;
    std::string field;
    std::string says;
  };
  const Case cases[] = {
      {ok_to, ReportKind::kSummary, "from", "missing the start"},
      {ok_from, ReportKind::kSummary, "to", "missing the end"},
      {"from=yesterday&" + ok_to, ReportKind::kSummary, "from", "RFC 3339"},
      {ok_from + "&to=2026-11-30", ReportKind::kSummary, "to", "RFC 3339"},
      {ok_from + "&to=2026-11-30T00:00:00+01:00", ReportKind::kSummary, "to",
       "RFC 3339"},
      {"from=2026-11-30T00:00:00Z&to=2026-11-01T00:00:00Z",
       ReportKind::kSummary, "to", "later than"},
      {"from=2026-11-01T00:00:00Z&to=2026-11-01T00:00:00Z",
       ReportKind::kSummary, "to", "later than"},
      {"from=2025-01-01T00:00:00Z&to=2026-02-06T00:00:01Z",
       ReportKind::kSummary, "to", "400 days"},
      {ok_from + "&" + ok_to + "&member=Alpha", ReportKind::kSummary, "member",
       "member id"},
      {ok_from + "&" + ok_to + "&pending_days=-1", ReportKind::kSummary,
       "pending_days", "whole number"},
      {ok_from + "&" + ok_to + "&pending_days=3651", ReportKind::kSummary,
       "pending_days", "whole number"},
      {ok_from + "&" + ok_to + "&limit=5", ReportKind::kSummary, "limit",
       "unknown query parameter"},
      {ok_from + "&" + ok_to + "&pending_days=5", ReportKind::kMatches,
       "pending_days", "unknown query parameter"},
      {ok_from + "&" + ok_to + "&limit=0", ReportKind::kMatches, "limit",
       "whole number"},
      {ok_from + "&" + ok_to + "&after=a%20b", ReportKind::kMatches, "after",
       "cursor"},
      {ok_from + "&" + ok_from + "&" + ok_to, ReportKind::kSummary, "from",
       "twice"},
      {ok_from + "%ZZ&" + ok_to, ReportKind::kSummary, "from",
       "percent-escape"},
      {ok_from + "&" + ok_to + "&colour=red", ReportKind::kSummary, "colour",
       "unknown query parameter"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.query);
    auto r = ParseReportRequest(c.query, c.kind);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == ErrorCode::kInvalidArgument);
    CHECK(r.error().field == c.field);
    CHECK(r.error().message.find(c.says) != std::string::npos);
  }
  // Exactly 400 days is allowed.
  CHECK(ParseReportRequest("from=2025-01-01T00:00:00Z&to=2026-02-05T00:00:00Z",
                           ReportKind::kSummary)
            .has_value());
}

TEST_CASE("summary JSON round-trips") {
  ReportSummary s;
  s.from = T("2026-11-01T00:00:00Z");
  s.to = T("2026-11-03T00:00:00Z");
  s.generated_at = T("2026-11-05T10:00:00Z");
  s.member = "alpha";
  s.signals = {7, {{"grooming", 5}, {"other", 2}}, {{"email", 7}}, 6};
  s.retractions = {1, {{"appeal_upheld", 1}, {"error", 0}}};
  s.queries = {false, 0, 0, "audit log not available: x"};
  s.matches = {3, {{"1", 2}, {"3", 1}}};
  s.dispositions = {2, 1, {{"confirmed", 1}, {"false_positive", 1}}, 0.5, 90};
  s.pending_reviews = {7, 1, T("2026-11-01T08:00:00Z")};
  s.rereviews = {2, 1};
  s.daily = {{"2026-11-01", 7, 0, 0, 0, 3, 2, 1},
             {"2026-11-02", 0, 1, 0, 0, 0, 0, 0}};
  s.weekly = {{"2026-10-26", 7, 1, 0, 0, 3, 2, 1}};
  s.retention = {T("2026-11-02T00:00:00Z"), T("2026-11-01T06:00:00Z"),
                 "the hub has purged ..."};
  auto decoded = DecodeReportSummary(Encode(s));
  INFO(Encode(s));
  if (!decoded) FAIL(decoded.error().ToString());
  REQUIRE(decoded.has_value());
  CHECK(*decoded == s);

  ReportSummary empty;
  empty.from = s.from;
  empty.to = s.to;
  auto e = DecodeReportSummary(Encode(empty));
  REQUIRE(e.has_value());
  CHECK(*e == empty);
  CHECK(Encode(empty).find("\"member\":null") != std::string::npos);
}

TEST_CASE("match list JSON round-trips") {
  ReportMatchesResponse r;
  r.from = T("2026-11-01T00:00:00Z");
  r.to = T("2026-11-03T00:00:00Z");
  ReportMatch m;
  m.match_id = "m_" + std::string(32, 'a');
  m.member = "gamma";
  m.at = T("2026-11-01T12:00:00Z");
  m.kinds = {"email", "phone"};
  m.categories = {Category::kGrooming, Category::kTrafficking};
  m.platforms = 2;
  m.disposition = Outcome::kFalsePositive;
  m.disposed_at = T("2026-11-01T13:00:00Z");
  m.retracted_since = true;
  r.matches = {m, ReportMatch{"m_" + std::string(32, 'b'),
                              "beta",
                              T("2026-11-02T00:00:00Z"),
                              {},
                              {},
                              1,
                              std::nullopt,
                              std::nullopt,
                              false}};
  r.cursor = "42";
  r.more = true;
  // Without match_cutoff (only the tombstone purge reached the period).
  r.retention = {T("2026-11-02T00:00:00Z"), std::nullopt,
                 "the hub has purged ..."};
  auto decoded = DecodeReportMatchesResponse(Encode(r));
  if (!decoded) FAIL(decoded.error().ToString());
  REQUIRE(decoded.has_value());
  CHECK(*decoded == r);
}

TEST_CASE("decoding reports rejects malformed bodies with a path") {
  struct Case {
    std::string json;
    std::string says;
  };
  const Case cases[] = {
      {"[]", ""},
      {R"({"from":"2026-11-01T00:00:00Z"})", "to"},
      {R"({"from":"2026-11-01T00:00:00Z","to":"2026-11-02T00:00:00Z",)"
       R"("member":null,"matches":[{"match_id":"x"}],"cursor":"1",)"
       R"("more":false})",
       "match_id"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.json);
    CHECK_FALSE(DecodeReportSummary(c.json).has_value());
    auto m = DecodeReportMatchesResponse(c.json);
    REQUIRE_FALSE(m.has_value());
    CHECK((m.error().message + " " + m.error().field).find(c.says) !=
          std::string::npos);
  }
}

TEST_CASE("report.read audit details name the report and period") {
  ReportRequest r;
  r.from = T("2026-11-01T00:00:00Z");
  r.to = T("2026-11-02T00:00:00Z");
  CHECK(EncodeReportAuditDetails(r, ReportKind::kSummary) ==
        R"({"report":"summary","from":"2026-11-01T00:00:00Z",)"
        R"("to":"2026-11-02T00:00:00Z","member":null})");
  r.member = "beta";
  CHECK(EncodeReportAuditDetails(r, ReportKind::kMatches) ==
        R"({"report":"matches","from":"2026-11-01T00:00:00Z",)"
        R"("to":"2026-11-02T00:00:00Z","member":"beta"})");
}

}  // namespace
}  // namespace cairn::wire
