// cairnctl report against a real hub (JSON, CSV, HTML), and the HTML report
// rendered by Debian's headless Chromium: it must load without any network
// request and show the figures. One screenshot is kept as
// build/.../report-example.png (copied to docs/ by hand when it changes).
#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <catch2/catch.hpp>

#include "cairn/timestamp.h"
#include "cairn/wire/reports.h"
#include "support/running_hub.h"

namespace cairn::testing {
namespace {

using namespace std::chrono_literals;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string SignalJson(const std::string& token, const std::string& category,
                       const std::string& kind = "email") {
  return R"({"kind":")" + kind + R"(","token":")" + token +
         R"(","category":")" + category +
         R"(","severity":"high","banned_at":"2026-01-05T10:00:00Z"})";
}

std::vector<std::string> MatchIds(const std::string& body) {
  std::vector<std::string> ids;
  const std::regex re("m_[0-9a-f]{32}");
  for (auto it = std::sregex_iterator(body.begin(), body.end(), re);
       it != std::sregex_iterator(); ++it) {
    ids.push_back(it->str());
  }
  return ids;
}

// A hub with a small story: alpha and beta submit, beta and alpha query,
// beta reviews (one false_positive), alpha retracts one signal.
struct ReportHub {
  std::unique_ptr<RunningHub> hub;
  std::string from, to;

  ReportHub() {
    auto started = RunningHub::Start();
    REQUIRE(started.has_value());
    hub = std::move(*started);
    const std::string t1 = RandomTokenHex(), t2 = RandomTokenHex(),
                      t3 = RandomTokenHex(), t4 = RandomTokenHex();
    auto post = [&](const std::string& who, const std::string& path,
                    const std::string& body) {
      auto r = hub->Curl(who, "POST", path, body);
      INFO(r.body);
      REQUIRE(r.status == 200);
      return r.body;
    };
    post("alpha", "/v1/signals",
         R"({"signals":[)" + SignalJson(t1, "grooming") + "," +
             SignalJson(t2, "sextortion") + "," +
             SignalJson(t3, "grooming", "phone") + "]}");
    post("beta", "/v1/signals",
         R"({"signals":[)" + SignalJson(t1, "grooming") + "," +
             SignalJson(t4, "trafficking") + "]}");
    const auto matches = MatchIds(post(
        "beta", "/v1/query",
        R"({"queries":[{"kind":"email","token":")" + t1 +
            R"("},{"kind":"email","token":")" + t2 +
            R"("},{"kind":"phone","token":")" + t3 +
            R"("},{"kind":"email","token":")" + RandomTokenHex() + R"("}]})"));
    REQUIRE(matches.size() == 3);
    post("alpha", "/v1/query",
         R"({"queries":[{"kind":"email","token":")" + t4 + R"("}]})");
    post("beta", "/v1/matches/" + matches[0] + "/disposition",
         R"({"outcome":"confirmed"})");
    post("beta", "/v1/matches/" + matches[1] + "/disposition",
         R"({"outcome":"false_positive","note":"different person"})");
    post("alpha", "/v1/signals/retract",
         R"({"retractions":[{"kind":"phone","token":")" + t3 +
             R"(","reason":"appeal_upheld"}]})");
    // A two-week period ending tomorrow (UTC), so today's data is inside.
    const auto today =
        std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now());
    from = FormatTimestamp(
        std::chrono::time_point_cast<std::chrono::seconds>(today - 13 * 24h));
    to = FormatTimestamp(
        std::chrono::time_point_cast<std::chrono::seconds>(today + 24h));
  }

  // cairnctl report ... as `who` (a PKI certificate name).
  CommandResult Report(const std::string& who,
                       std::vector<std::string> args) const {
    std::vector<std::string> argv = {RunningHub::CairnctlPath(), "report"};
    argv.insert(argv.end(), args.begin(), args.end());
    for (const auto& extra :
         {std::string("--from"), from, std::string("--to"), to,
          std::string("--hub"), hub->Url(), std::string("--cert"),
          hub->Pki().Cert(who), std::string("--key"), hub->Pki().Key(who),
          std::string("--cacert"), hub->Pki().CaCert()}) {
      argv.push_back(extra);
    }
    return RunCommand(argv, 60s);
  }
};

TEST_CASE("cairnctl report summary and matches in json and csv") {
  ReportHub h;
  auto json = h.Report("compliance", {"summary", "--format", "json"});
  INFO(json.err);
  REQUIRE(json.exit_code == 0);
  auto s = wire::DecodeReportSummary(json.out);
  REQUIRE(s.has_value());
  CHECK(s->signals.submitted == 5);
  CHECK(s->signals.active == 4);
  CHECK(s->retractions.total == 1);
  CHECK(s->queries.requests == 2);
  CHECK(s->queries.tokens == 5);
  CHECK(s->matches.total == 4);
  // A querier's own signals never back its matches: one platform each.
  CHECK(s->matches.by_platforms == wire::Counts{{"1", 4}});
  CHECK(s->dispositions.reviewed == 2);
  CHECK(s->dispositions.false_positive_rate == 0.5);
  CHECK(s->rereviews.notified == 1);
  CHECK(s->rereviews.needed == 1);
  CHECK(s->daily.size() == 14);

  // --json is short for --format json, and refused with another format
  // rather than silently preferred.
  auto short_json = h.Report("compliance", {"summary", "--json"});
  INFO(short_json.err);
  REQUIRE(short_json.exit_code == 0);
  CHECK(wire::DecodeReportSummary(short_json.out).has_value());
  for (const char* format : {"csv", "html"}) {
    auto both =
        h.Report("compliance", {"matches", "--json", "--format", format});
    INFO(both.out << both.err);
    CHECK(both.exit_code == 2);
    CHECK(both.out.empty());
    CHECK(both.err.find("give only one of them") != std::string::npos);
  }
  CHECK(h.Report("compliance", {"summary", "--json", "--format", "json"})
            .exit_code == 0);

  auto csv = h.Report("compliance", {"summary", "--format", "csv"});
  REQUIRE(csv.exit_code == 0);
  CHECK(csv.out.rfind("figure,key,value\n", 0) == 0);
  CHECK(csv.out.find("\nmatches.total,,4\n") != std::string::npos);
  CHECK(csv.out.find("\ndispositions.false_positive_rate,,0.5000\n") !=
        std::string::npos);
  CHECK(csv.out.find("\nsignals.by_category,grooming,3\n") !=
        std::string::npos);

  auto matches = h.Report("compliance", {"matches", "--format", "csv"});
  REQUIRE(matches.exit_code == 0);
  CHECK(matches.out.rfind("match_id,member,at,kinds,categories,", 0) == 0);
  CHECK(std::count(matches.out.begin(), matches.out.end(), '\n') == 5);
  CHECK(matches.out.find(",false_positive,") != std::string::npos);
  CHECK(matches.out.find(",true\n") != std::string::npos);  // retracted

  // A member gets its own figures; another member's are refused.
  auto own = h.Report("beta", {"matches", "--format", "json"});
  REQUIRE(own.exit_code == 0);
  auto page = wire::DecodeReportMatchesResponse(own.out);
  REQUIRE(page.has_value());
  CHECK(page->member == "beta");
  CHECK(page->matches.size() == 3);
  auto other = h.Report("beta", {"summary", "--member", "alpha"});
  CHECK(other.exit_code == 1);
  CHECK(other.err.find("only its own") != std::string::npos);
  auto bad = h.Report("compliance", {"summary", "--from", "yesterday"});
  CHECK(bad.exit_code != 0);
}

TEST_CASE("reports of a period the purge reached into say so in every format") {
  ReportHub h;
  auto clean = h.Report("compliance", {"summary", "--format", "csv"});
  REQUIRE(clean.exit_code == 0);
  CHECK(clean.out.find("retention") == std::string::npos);
  // The retracted phone signal goes with its retraction and match rows.
  REQUIRE(h.hub->Stop().has_value());
  auto purge = RunCommand({RunningHub::CairnctlPath(), "purge", "--config",
                           h.hub->ConfigPath(), "--tombstone-days", "0"},
                          60s);
  INFO(purge.out << purge.err);
  REQUIRE(purge.exit_code == 0);
  REQUIRE(h.hub->Restart().has_value());

  const std::string note =
      "the hub has purged the signals retracted or "
      "expired at or before ";
  auto json = h.Report("compliance", {"summary", "--format", "json"});
  REQUIRE(json.exit_code == 0);
  auto s = wire::DecodeReportSummary(json.out);
  REQUIRE(s.has_value());
  CHECK(s->signals.submitted == 4);  // was 5
  CHECK(s->retractions.total == 0);  // was 1
  REQUIRE(s->retention.purge_cutoff.has_value());
  CHECK(s->retention.note.rfind(note, 0) == 0);

  auto csv = h.Report("compliance", {"summary", "--format", "csv"});
  REQUIRE(csv.exit_code == 0);
  CHECK(csv.out.find("\nretention.purge_cutoff,," +
                     FormatTimestamp(*s->retention.purge_cutoff) + "\n") !=
        std::string::npos);
  CHECK(csv.out.find("\nretention.note,,\"" + note) != std::string::npos);

  auto matches = h.Report("compliance", {"matches", "--format", "csv"});
  REQUIRE(matches.exit_code == 0);
  CHECK(matches.out.rfind("# " + note, 0) == 0);
  CHECK(matches.out.find("\nmatch_id,member,at,") != std::string::npos);

  for (const char* report : {"summary", "matches"}) {
    CAPTURE(report);
    auto html = h.Report("compliance", {report, "--format", "html"});
    REQUIRE(html.exit_code == 0);
    CHECK(html.out.find("<b>Purged data:</b> " + note) != std::string::npos);
  }
}

TEST_CASE(
    "reports of a period the match retention purge reached into say so in "
    "every format") {
  ReportHub h;
  REQUIRE(h.hub->Stop().has_value());
  // The story's matches made three days ago (the hub keeps at least a
  // day), their reviews the same; then purged with a one-day match
  // retention, the signals' tombstone period (30 days) deleting nothing.
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(h.hub->DbPath().c_str(), &db) == SQLITE_OK);
  const int backdated =
      sqlite3_exec(db,
                   "UPDATE matches SET created_at = created_at - 3 * 86400;"
                   " UPDATE dispositions SET recorded_at ="
                   " recorded_at - 3 * 86400",
                   nullptr, nullptr, nullptr);
  sqlite3_close(db);
  REQUIRE(backdated == SQLITE_OK);
  auto purge =
      RunCommand({RunningHub::CairnctlPath(), "purge", "--config",
                  h.hub->ConfigPath(), "--match-retention-days", "1", "--json"},
                 60s);
  INFO(purge.out << purge.err);
  REQUIRE(purge.exit_code == 0);
  REQUIRE(purge.out.find("\"signals\":0,") != std::string::npos);
  REQUIRE(purge.out.find("\"matches\":4,") != std::string::npos);
  REQUIRE(h.hub->Restart().has_value());

  const std::string note =
      "the hub has purged the matches made, and the dispositions and "
      "notifications recorded, at or before ";
  auto json = h.Report("compliance", {"summary", "--format", "json"});
  REQUIRE(json.exit_code == 0);
  auto s = wire::DecodeReportSummary(json.out);
  REQUIRE(s.has_value());
  CHECK(s->matches.total == 0);  // was 4
  CHECK(s->dispositions.reviewed == 0);
  REQUIRE(s->retention.match_cutoff.has_value());
  CHECK(s->retention.purge_cutoff == s->retention.match_cutoff);
  CHECK(s->retention.note.rfind(note, 0) == 0);
  CHECK_THAT(s->retention.note,
             Catch::Contains("its match, disposition and re-review figures"));

  auto csv = h.Report("compliance", {"summary", "--format", "csv"});
  REQUIRE(csv.exit_code == 0);
  const std::string cutoff = FormatTimestamp(*s->retention.match_cutoff);
  CHECK(csv.out.find("\nretention.purge_cutoff,," + cutoff + "\n") !=
        std::string::npos);
  CHECK(csv.out.find("\nretention.match_cutoff,," + cutoff + "\n") !=
        std::string::npos);
  CHECK(csv.out.find("\nretention.note,,\"" + note) != std::string::npos);

  auto matches = h.Report("compliance", {"matches", "--format", "csv"});
  REQUIRE(matches.exit_code == 0);
  CHECK(matches.out.rfind("# " + note, 0) == 0);
  auto list = h.Report("compliance", {"matches", "--format", "json"});
  REQUIRE(list.exit_code == 0);
  CHECK(list.out.find("\"match_cutoff\":\"" + cutoff + "\"") !=
        std::string::npos);

  for (const char* report : {"summary", "matches"}) {
    CAPTURE(report);
    auto html = h.Report("compliance", {report, "--format", "html"});
    REQUIRE(html.exit_code == 0);
    CHECK(html.out.find("<b>Purged data:</b> " + note) != std::string::npos);
  }
}

// Chromium: Debian's package; CI installs it (install-deps.sh).
std::string ChromiumPath() {
  for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser"}) {
    if (std::filesystem::exists(p)) return p;
  }
  return {};
}

TEST_CASE("the HTML report is self-contained and renders in Chromium") {
  const std::string chromium = ChromiumPath();
  INFO("install Debian's chromium package (install-deps.sh does)");
  REQUIRE_FALSE(chromium.empty());

  ReportHub h;
  const std::string dir = h.hub->Scratch().path();
  const std::string html_path = dir + "/report.html";
  auto run = h.Report("compliance",
                      {"summary", "--format", "html", "--out", html_path});
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  const std::string html = ReadFile(html_path);
  REQUIRE(html.size() > 2000);

  // Nothing in the file can make a browser fetch anything.
  for (const char* forbidden :
       {"http://", "https://", "<script", "<link", "@import", "url(", "<img",
        "<iframe", "<object", "<embed", "src=", "href="}) {
    CAPTURE(forbidden);
    std::string lower = html;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    // The hub URL is printed as text in the footer; it is not a link.
    if (std::string_view(forbidden) == "https://") {
      const auto url = h.hub->Url();
      for (auto at = lower.find(url); at != std::string::npos;
           at = lower.find(url)) {
        lower.erase(at, url.size());
      }
    }
    CHECK(lower.find(forbidden) == std::string::npos);
  }

  // Any request Chromium would make for the page fails to resolve; the
  // page must still render completely, and the DOM must hold the figures.
  const std::string profile = dir + "/chromium-profile";
  const std::vector<std::string> common = {
      chromium,
      "--headless",
      "--disable-gpu",
      "--no-sandbox",
      "--no-first-run",
      "--disable-extensions",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--user-data-dir=" + profile,
      "--host-resolver-rules=MAP * ~NOTFOUND",
      "--window-size=1200,1600",
  };
  auto dom_argv = common;
  dom_argv.push_back("--dump-dom");
  dom_argv.push_back("file://" + html_path);
  auto dom = RunCommand(dom_argv, 120s);
  INFO(dom.err);
  REQUIRE(dom.exit_code == 0);
  CHECK(dom.out.find("Cairn compliance report") != std::string::npos);
  CHECK(dom.out.find("50.0") != std::string::npos);  // false-positive rate
  CHECK(dom.out.find("Re-reviews needed") != std::string::npos);
  CHECK(dom.out.find("<svg") != std::string::npos);
  CHECK(dom.out.find("How to read this report") != std::string::npos);

  const std::string png = dir + "/report.png";
  auto shot_argv = common;
  shot_argv.push_back("--screenshot=" + png);
  shot_argv.push_back("file://" + html_path);
  auto shot = RunCommand(shot_argv, 120s);
  INFO(shot.err);
  REQUIRE(shot.exit_code == 0);
  const std::string image = ReadFile(png);
  REQUIRE(image.size() > 10000);
  CHECK(image.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
  std::error_code ec;
  std::filesystem::copy_file(
      png, std::string(CAIRN_BINARY_DIR) + "/report-example.png",
      std::filesystem::copy_options::overwrite_existing, ec);
  CHECK_FALSE(ec);
}

}  // namespace
}  // namespace cairn::testing
