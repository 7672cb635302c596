// cairnctl report summary|matches: compliance reports fetched over mTLS with
// a compliance (all members) or member (own figures) certificate, written
// as JSON, CSV or one self-contained HTML page.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>

#include "cairn/timestamp.h"
#include "cairn/wire/reports.h"
#include "server/src/ctl/command.h"
#include "server/src/ctl/report_html.h"

namespace cairn::server::ctl {
namespace {

struct ReportOptions {
  Remote remote;
  std::string from;
  std::string to;
  std::string member;
  std::uint32_t pending_days = wire::kDefaultPendingDays;
  std::string format = "json";
  CLI::Option* format_option = nullptr;  // to tell a given --format
  std::string out;
};

// --json is short for --format json. Given with another --format it is
// refused rather than silently preferred. Returns the exit code of a
// refusal, or nothing when the options agree.
std::optional<int> SettleFormat(ReportOptions& o) {
  if (!o.remote.json) return std::nullopt;
  if (o.format_option->count() > 0 && o.format != "json") {
    return Report(
        Error{ErrorCode::kInvalidArgument,
              "--json asks for JSON but --format asks for " + o.format +
                  "; give only one of them (--json is short for "
                  "--format json)",
              {},
              std::nullopt},
        kExitUsage);
  }
  o.format = "json";
  return std::nullopt;
}

// CSV field: quoted when it holds a comma, quote or line break.
std::string CsvField(std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) {
    return std::string(s);
  }
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string OptionalTime(const std::optional<wire::Timestamp>& t) {
  return t ? FormatTimestamp(*t) : std::string();
}

// Long format: one "figure,key,value" row per number, so that every figure
// and every day of the series fits one table.
std::string SummaryCsv(const wire::ReportSummary& r) {
  std::string out = "figure,key,value\n";
  auto row = [&](std::string_view figure, std::string_view key,
                 const std::string& value) {
    out +=
        CsvField(figure) + "," + CsvField(key) + "," + CsvField(value) + "\n";
  };
  auto number = [&](std::string_view figure, std::string_view key,
                    std::uint64_t n) { row(figure, key, std::to_string(n)); };
  row("period", "from", FormatTimestamp(r.from));
  row("period", "to", FormatTimestamp(r.to));
  row("period", "generated_at", FormatTimestamp(r.generated_at));
  row("period", "member", r.member.empty() ? "all" : r.member);
  if (r.retention.purge_cutoff) {
    row("retention.purge_cutoff", "",
        FormatTimestamp(*r.retention.purge_cutoff));
    if (r.retention.match_cutoff) {
      row("retention.match_cutoff", "",
          FormatTimestamp(*r.retention.match_cutoff));
    }
    row("retention.note", "", r.retention.note);
  }
  number("signals.submitted", "", r.signals.submitted);
  for (const auto& [k, n] : r.signals.by_category) {
    number("signals.by_category", k, n);
  }
  for (const auto& [k, n] : r.signals.by_kind) number("signals.by_kind", k, n);
  number("signals.active", "", r.signals.active);
  number("retractions.total", "", r.retractions.total);
  for (const auto& [k, n] : r.retractions.by_reason) {
    number("retractions.by_reason", k, n);
  }
  row("queries.audit_log_available", "",
      r.queries.audit_log_available ? "true" : "false");
  number("queries.requests", "", r.queries.requests);
  number("queries.tokens", "", r.queries.tokens);
  if (!r.queries.note.empty()) row("queries.note", "", r.queries.note);
  number("matches.total", "", r.matches.total);
  for (const auto& [k, n] : r.matches.by_platforms) {
    number("matches.by_platforms", k, n);
  }
  number("dispositions.reviewed", "", r.dispositions.reviewed);
  number("dispositions.unreviewed", "", r.dispositions.unreviewed);
  for (const auto& [k, n] : r.dispositions.by_outcome) {
    number("dispositions.by_outcome", k, n);
  }
  char rate[32] = "";
  if (r.dispositions.false_positive_rate) {
    std::snprintf(rate, sizeof rate, "%.4f",
                  *r.dispositions.false_positive_rate);
  }
  row("dispositions.false_positive_rate", "", rate);
  row("dispositions.median_seconds_to_disposition", "",
      r.dispositions.median_seconds_to_disposition
          ? std::to_string(*r.dispositions.median_seconds_to_disposition)
          : "");
  number("pending_reviews.older_than_days", "",
         r.pending_reviews.older_than_days);
  number("pending_reviews.count", "", r.pending_reviews.count);
  row("pending_reviews.oldest", "", OptionalTime(r.pending_reviews.oldest));
  number("rereviews.notified", "", r.rereviews.notified);
  number("rereviews.needed", "", r.rereviews.needed);
  for (const auto* series : {&r.daily, &r.weekly}) {
    const std::string prefix = series == &r.daily ? "daily." : "weekly.";
    for (const auto& p : *series) {
      number(prefix + "signals", p.start, p.signals);
      number(prefix + "retractions", p.start, p.retractions);
      number(prefix + "queries", p.start, p.queries);
      number(prefix + "tokens_queried", p.start, p.tokens_queried);
      number(prefix + "matches", p.start, p.matches);
      number(prefix + "dispositions", p.start, p.dispositions);
      number(prefix + "false_positives", p.start, p.false_positives);
    }
  }
  return out;
}

std::string MatchesCsv(const wire::ReportMatchesResponse& r) {
  // The retention warning as a comment line above the header, where a
  // reader opening the file sees it first.
  std::string out;
  if (r.retention.purge_cutoff) {
    std::string note = r.retention.note;
    std::replace_if(
        note.begin(), note.end(), [](char c) { return c == '\r' || c == '\n'; },
        ' ');
    out += "# " + note + "\n";
  }
  out +=
      "match_id,member,at,kinds,categories,platforms,disposition,disposed_at,"
      "retracted_since\n";
  for (const auto& m : r.matches) {
    std::string kinds, categories;
    for (const auto& k : m.kinds) {
      if (!kinds.empty()) kinds += ';';
      kinds += k;
    }
    for (Category c : m.categories) {
      if (!categories.empty()) categories += ';';
      categories += ToString(c);
    }
    out += CsvField(m.match_id) + "," + CsvField(m.member) + "," +
           FormatTimestamp(m.at) + "," + CsvField(kinds) + "," +
           CsvField(categories) + "," + std::to_string(m.platforms) + "," +
           (m.disposition ? std::string(ToString(*m.disposition)) : "") + "," +
           OptionalTime(m.disposed_at) + "," +
           (m.retracted_since ? "true" : "false") + "\n";
  }
  return out;
}

Result<wire::ReportRequest> BuildRequest(const ReportOptions& o) {
  wire::ReportRequest request;
  auto from = ParseTimestamp(o.from);
  if (!from) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "--from: " + from.error().message, "--from");
  }
  auto to = ParseTimestamp(o.to);
  if (!to) {
    return MakeError(ErrorCode::kInvalidArgument, "--to: " + to.error().message,
                     "--to");
  }
  request.from = *from;
  request.to = *to;
  request.member = o.member;
  request.pending_days = o.pending_days;
  return request;
}

// Writes `text` to --out, or to stdout without it.
int Emit(const ReportOptions& o, const std::string& text) {
  if (o.out.empty()) {
    std::cout << text;
    return kExitOk;
  }
  std::ofstream file(o.out, std::ios::binary | std::ios::trunc);
  file << text;
  file.close();
  if (!file) {
    return Report(Error{ErrorCode::kIo,
                        "cannot write '" + o.out +
                            "'; check that its directory exists and is "
                            "writable",
                        {},
                        std::nullopt});
  }
  std::fprintf(stderr, "cairnctl: wrote %s\n", o.out.c_str());
  return kExitOk;
}

int RunSummary(const ReportOptions& o) {
  auto request = BuildRequest(o);
  if (!request) return Report(request.error(), kExitUsage);
  auto reply = o.remote.Call(
      "GET",
      "/v1/reports/summary?" +
          wire::EncodeReportRequest(*request, wire::ReportKind::kSummary),
      "");
  if (!reply) return reply.error();
  if (o.format == "json") return Emit(o, *reply + "\n");
  auto summary = wire::DecodeReportSummary(*reply);
  if (!summary) return Report(summary.error());
  if (o.format == "csv") return Emit(o, SummaryCsv(*summary));
  return Emit(o, RenderSummaryHtml(*summary, o.remote.connection.hub_url));
}

int RunMatches(const ReportOptions& o) {
  auto request = BuildRequest(o);
  if (!request) return Report(request.error(), kExitUsage);
  // Follows the cursor so the output holds the whole period.
  wire::ReportMatchesResponse all;
  std::string first_page;
  std::size_t pages = 0;
  while (true) {
    auto reply = o.remote.Call(
        "GET",
        "/v1/reports/matches?" +
            wire::EncodeReportRequest(*request, wire::ReportKind::kMatches),
        "");
    if (!reply) return reply.error();
    auto page = wire::DecodeReportMatchesResponse(*reply);
    if (!page) return Report(page.error());
    if (pages++ == 0) {
      first_page = *reply;
      all.from = page->from;
      all.to = page->to;
      all.member = page->member;
      all.retention = page->retention;
    }
    for (auto& m : page->matches) all.matches.push_back(std::move(m));
    all.cursor = page->cursor;
    if (!page->more) break;
    request->after = page->cursor;
  }
  if (o.format == "json") {
    return Emit(o, pages == 1 ? first_page + "\n" : wire::Encode(all) + "\n");
  }
  if (o.format == "csv") return Emit(o, MatchesCsv(all));
  return Emit(o, RenderMatchesHtml(all, o.remote.connection.hub_url));
}

void AddCommon(CLI::App* command, ReportOptions& o) {
  command
      ->add_option("--from", o.from,
                   "Start of the period, RFC 3339 UTC "
                   "(e.g. 2026-11-01T00:00:00Z)")
      ->required();
  command
      ->add_option("--to", o.to,
                   "End of the period (exclusive), at most 400 days after "
                   "--from")
      ->required();
  command->add_option("--member", o.member,
                      "Only this member's figures (compliance role); a "
                      "member's own certificate always gets its own");
  o.format_option =
      command->add_option("--format", o.format, "json, csv or html")
          ->check(CLI::IsMember({"json", "csv", "html"}))
          ->capture_default_str();
  command->add_option("--out", o.out, "Write to FILE instead of stdout");
  o.remote.AddTo(command);
}

}  // namespace

void AddReportCommands(CLI::App& app, int* exit_code) {
  auto summary_options = std::make_shared<ReportOptions>();
  auto matches_options = std::make_shared<ReportOptions>();
  auto* report = app.add_subcommand(
      "report", "Compliance reports (compliance role, or a member's own)");
  report->require_subcommand(1);

  auto* summary = report->add_subcommand(
      "summary",
      "Figures for a period: submissions, queries, matches, "
      "dispositions, pending reviews");
  AddCommon(summary, *summary_options);
  summary
      ->add_option("--pending-days", summary_options->pending_days,
                   "A match without a disposition this many days after it "
                   "was made counts as a pending review")
      ->check(CLI::Range(0u, wire::kMaxPendingDays))
      ->capture_default_str();
  summary->callback([summary_options, exit_code] {
    if (auto refused = SettleFormat(*summary_options)) {
      *exit_code = *refused;
      return;
    }
    *exit_code = RunSummary(*summary_options);
  });

  auto* matches = report->add_subcommand(
      "matches", "The period's matches for review, with their dispositions");
  AddCommon(matches, *matches_options);
  matches->callback([matches_options, exit_code] {
    if (auto refused = SettleFormat(*matches_options)) {
      *exit_code = *refused;
      return;
    }
    *exit_code = RunMatches(*matches_options);
  });
}

}  // namespace cairn::server::ctl
