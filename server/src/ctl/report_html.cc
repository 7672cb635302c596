#include "server/src/ctl/report_html.h"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <vector>

#include "cairn/timestamp.h"

namespace cairn::server::ctl {
namespace {

// Periods longer than this are charted per week instead of per day.
constexpr std::size_t kMaxDailyBars = 92;

// One stylesheet for both pages. System fonts only: nothing is fetched.
constexpr const char* kStyle = R"css(
:root { --ink:#1b1f24; --muted:#5b6570; --rule:#dde1e6; --accent:#2f5d8a;
        --accent2:#c8553d; --soft:#f4f6f9; }
* { box-sizing: border-box; }
body { margin:0; background:var(--soft); color:var(--ink);
       font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto,
             "Helvetica Neue", Arial, sans-serif; }
main { max-width:1100px; margin:0 auto; padding:32px 40px 48px;
       background:#fff; }
header { border-bottom:3px solid var(--ink); padding-bottom:12px; }
h1 { font-size:26px; margin:0 0 6px; }
.meta { color:var(--muted); margin:0; }
.meta b { color:var(--ink); font-weight:600; }
h2 { font-size:17px; margin:30px 0 10px; padding-bottom:4px;
     border-bottom:1px solid var(--rule); }
h3 { font-size:14px; margin:14px 0 6px; }
.cards { display:grid; grid-template-columns:repeat(5, 1fr); gap:10px;
         margin:20px 0 4px; }
.card { border:1px solid var(--rule); border-radius:6px; padding:10px 12px; }
.card .v { font-size:24px; font-weight:650; line-height:1.2; }
.card .l { font-size:11px; color:var(--muted); text-transform:uppercase;
           letter-spacing:.04em; }
.card .d { font-size:12px; color:var(--muted); }
.card.warn { border-color:var(--accent2); }
.card.warn .v { color:var(--accent2); }
.grid2 { display:grid; grid-template-columns:1fr 1fr; gap:8px 32px; }
table { border-collapse:collapse; width:100%; font-size:13px; }
th, td { border-bottom:1px solid var(--rule); padding:4px 8px;
         text-align:left; vertical-align:top; }
th { font-weight:600; background:var(--soft); }
td.n, th.n { text-align:right; font-variant-numeric:tabular-nums; }
svg { display:block; width:100%; height:auto; }
svg text { font-size:11px; fill:var(--muted); }
svg .bar { fill:var(--accent); }
svg .bar2 { fill:var(--accent2); }
svg .line { fill:none; stroke:var(--accent); stroke-width:2; }
svg .grid { stroke:var(--rule); stroke-width:1; }
svg .axis { stroke:var(--muted); stroke-width:1; }
.legend { font-size:12px; color:var(--muted); margin:2px 0 0; }
.swatch { display:inline-block; width:10px; height:10px; margin:0 4px 0 10px;
          vertical-align:baseline; }
.note { background:var(--soft); border-left:4px solid var(--accent);
        padding:10px 16px; font-size:13px; margin-top:28px; }
.note dt { font-weight:600; margin-top:6px; }
.note dd { margin:0 0 0 0; }
.warnbox { border-left-color:var(--accent2); }
footer { margin-top:24px; font-size:12px; color:var(--muted); }
@page { size:A4; margin:14mm; }
@media print {
  body { background:#fff; font-size:12px; }
  main { max-width:none; padding:0; }
  .cards { grid-template-columns:repeat(5, 1fr); }
  .card, figure, table, .note { break-inside:avoid; }
  h2 { break-after:avoid; }
}
figure { margin:0; }
figcaption { font-size:13px; font-weight:600; margin:10px 0 4px; }
)css";

std::string Num(std::uint64_t n) {
  // Thin grouping for readability: 1 234 567.
  std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += "\u202f";
    out += digits[i];
  }
  return out;
}

std::string Percent(double rate) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f\u00a0%%", rate * 100.0);
  return buffer;
}

std::string Duration(std::uint64_t seconds) {
  const std::uint64_t minutes = seconds / 60;
  const std::uint64_t hours = minutes / 60;
  const std::uint64_t days = hours / 24;
  if (days > 0) return Num(days) + " d " + std::to_string(hours % 24) + " h";
  if (hours > 0) {
    return std::to_string(hours) + " h " + std::to_string(minutes % 60) +
           " min";
  }
  if (minutes > 0) return std::to_string(minutes) + " min";
  return std::to_string(seconds) + " s";
}

std::string Day(wire::Timestamp t) { return FormatTimestamp(t).substr(0, 10); }

// A readable period: "2026-11-01 to 2026-11-30" (to is exclusive, so the
// last day shown is the day before it at midnight).
std::string Period(wire::Timestamp from, wire::Timestamp to) {
  return Day(from) + " to " + Day(to - std::chrono::seconds(1));
}

// A round upper bound for a chart axis: 1, 2, 5 x 10^k.
std::uint64_t NiceMax(std::uint64_t max) {
  if (max <= 4) return 4;
  std::uint64_t step = 1;
  while (true) {
    for (std::uint64_t m : {1, 2, 5}) {
      if (m * step * 4 >= max) return m * step * 4;
    }
    step *= 10;
  }
}

std::string F(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", v);
  return buffer;
}

struct Bar {
  std::string label;  // x-axis label
  std::uint64_t value = 0;
  std::uint64_t part = 0;  // drawn over the bar in the second colour
};

// A vertical bar chart (or a line chart when `line`), 4 grid lines, about
// eight x labels whatever the number of bars.
std::string ColumnChart(const std::vector<Bar>& bars, bool line,
                        std::string_view description) {
  constexpr double kWidth = 520, kHeight = 190, kLeft = 44, kRight = 8,
                   kTop = 10, kBottom = 26;
  const double plot_w = kWidth - kLeft - kRight;
  const double plot_h = kHeight - kTop - kBottom;
  std::uint64_t max = 0;
  for (const auto& b : bars) max = std::max(max, b.value);
  const std::uint64_t top = NiceMax(max);
  std::string svg = "<svg viewBox=\"0 0 " + F(kWidth) + " " + F(kHeight) +
                    "\" role=\"img\" aria-label=\"" + HtmlEscape(description) +
                    "\">";
  for (int i = 0; i <= 4; ++i) {
    const double y = kTop + plot_h - plot_h * i / 4.0;
    svg += "<line class=\"" + std::string(i == 0 ? "axis" : "grid") +
           "\" x1=\"" + F(kLeft) + "\" x2=\"" + F(kWidth - kRight) +
           "\" y1=\"" + F(y) + "\" y2=\"" + F(y) + "\"/>";
    svg += "<text x=\"" + F(kLeft - 6) + "\" y=\"" + F(y + 4) +
           "\" text-anchor=\"end\">" + Num(top * i / 4) + "</text>";
  }
  const std::size_t n = std::max<std::size_t>(bars.size(), 1);
  const double slot = plot_w / static_cast<double>(n);
  const std::size_t label_every = std::max<std::size_t>(1, (n + 7) / 8);
  std::string points;
  for (std::size_t i = 0; i < bars.size(); ++i) {
    const auto& b = bars[i];
    const double h =
        plot_h * static_cast<double>(b.value) / static_cast<double>(top);
    const double x = kLeft + slot * static_cast<double>(i);
    if (line) {
      points += F(x + slot / 2) + "," + F(kTop + plot_h - h) + " ";
    } else {
      const double bw = std::max(1.0, slot * 0.72);
      const double bx = x + (slot - bw) / 2;
      svg += "<rect class=\"bar\" x=\"" + F(bx) + "\" y=\"" +
             F(kTop + plot_h - h) + "\" width=\"" + F(bw) + "\" height=\"" +
             F(h) + "\"><title>" + HtmlEscape(b.label) + ": " + Num(b.value) +
             "</title></rect>";
      if (b.part > 0) {
        const double ph =
            plot_h * static_cast<double>(b.part) / static_cast<double>(top);
        svg += "<rect class=\"bar2\" x=\"" + F(bx) + "\" y=\"" +
               F(kTop + plot_h - ph) + "\" width=\"" + F(bw) + "\" height=\"" +
               F(ph) + "\"/>";
      }
    }
    if (i % label_every == 0) {
      // "11-04" is enough under a chart whose period is in the title.
      const std::string label =
          b.label.size() == 10 ? b.label.substr(5) : b.label;
      svg += "<text x=\"" + F(x + slot / 2) + "\" y=\"" +
             F(kHeight - kBottom + 15) + "\" text-anchor=\"middle\">" +
             HtmlEscape(label) + "</text>";
    }
  }
  if (line && !points.empty()) {
    svg += "<polyline class=\"line\" points=\"" + points + "\"/>";
  }
  svg += "</svg>";
  return svg;
}

// Horizontal bars: one row per (label, value), value printed at the end.
std::string RowChart(const wire::Counts& rows, std::string_view description,
                     std::string_view highlight = {}) {
  constexpr double kWidth = 520, kRow = 24, kLabel = 130, kValue = 60;
  const double height = kRow * static_cast<double>(rows.size()) + 6;
  std::uint64_t max = 1;
  for (const auto& [name, n] : rows) max = std::max(max, n);
  std::string svg = "<svg viewBox=\"0 0 " + F(kWidth) + " " + F(height) +
                    "\" role=\"img\" aria-label=\"" + HtmlEscape(description) +
                    "\">";
  const double plot_w = kWidth - kLabel - kValue;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& [name, n] = rows[i];
    const double y = 3 + kRow * static_cast<double>(i);
    const double w = plot_w * static_cast<double>(n) / static_cast<double>(max);
    svg += "<text x=\"" + F(kLabel - 8) + "\" y=\"" + F(y + 15) +
           "\" text-anchor=\"end\">" + HtmlEscape(name) + "</text>";
    svg +=
        "<rect class=\"" +
        std::string(!highlight.empty() && name == highlight ? "bar2" : "bar") +
        "\" x=\"" + F(kLabel) + "\" y=\"" + F(y + 3) + "\" width=\"" +
        F(std::max(w, n > 0 ? 2.0 : 0.0)) + "\" height=\"" + F(kRow - 8) +
        "\"/>";
    svg += "<text x=\"" + F(kLabel + std::max(w, 0.0) + 6) + "\" y=\"" +
           F(y + 15) + "\">" + Num(n) + "</text>";
  }
  svg += "</svg>";
  return svg;
}

std::string Card(std::string_view label, const std::string& value,
                 const std::string& detail, bool warn = false) {
  return std::string("<div class=\"card") + (warn ? " warn" : "") +
         "\"><div class=\"l\">" + HtmlEscape(label) +
         "</div><div class=\"v\">" + HtmlEscape(value) +
         "</div><div class=\"d\">" + HtmlEscape(detail) + "</div></div>";
}

std::string CountsTable(std::string_view caption, std::string_view key,
                        const wire::Counts& counts) {
  std::uint64_t total = 0;
  for (const auto& [name, n] : counts) total += n;
  std::string out = "<h3>" + HtmlEscape(caption) +
                    "</h3><table><thead><tr><th>" + HtmlEscape(key) +
                    "</th><th class=\"n\">count</th><th class=\"n\">share</th>"
                    "</tr></thead><tbody>";
  for (const auto& [name, n] : counts) {
    out += "<tr><td>" + HtmlEscape(name) + "</td><td class=\"n\">" + Num(n) +
           "</td><td class=\"n\">" +
           (total > 0
                ? Percent(static_cast<double>(n) / static_cast<double>(total))
                : std::string("\u2013")) +
           "</td></tr>";
  }
  out += "<tr><th>total</th><th class=\"n\">" + Num(total) +
         "</th><th></th></tr></tbody></table>";
  return out;
}

std::string PageStart(std::string_view title) {
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, "
         "initial-scale=1\"><meta name=\"referrer\" content=\"no-referrer\">"
         "<title>" +
         HtmlEscape(title) + "</title><style>" + kStyle +
         "</style></head><body><main>";
}

std::string Generated(std::optional<wire::Timestamp> at, std::string_view hub) {
  std::string out = "<footer>Generated";
  if (at) out += " " + HtmlEscape(FormatTimestamp(*at));
  out += " by cairnctl";
  if (!hub.empty()) out += " from " + HtmlEscape(hub);
  return out +
         ". Definitions of every figure: docs/compliance-guide.md."
         "</footer>";
}

}  // namespace

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// The retention warning, above the figures it qualifies; empty without one.
std::string RetentionNote(const wire::ReportRetention& r) {
  if (!r.purge_cutoff) return {};
  return "<p class=\"note warnbox retention\"><b>Purged data:</b> " +
         HtmlEscape(r.note) + "</p>";
}

std::string RenderSummaryHtml(const wire::ReportSummary& r,
                              std::string_view hub) {
  const std::string who =
      r.member.empty() ? std::string("all members") : "member " + r.member;
  const std::string period = Period(r.from, r.to);
  std::string html =
      PageStart("Cairn compliance report \u2013 " + who + ", " + period);
  html +=
      "<header><h1>Cairn compliance report</h1><p class=\"meta\">Period "
      "<b>" +
      HtmlEscape(period) + "</b> (UTC, " + HtmlEscape(FormatTimestamp(r.from)) +
      " to " + HtmlEscape(FormatTimestamp(r.to)) +
      ", end excluded) \u00b7 Scope <b>" + HtmlEscape(who) +
      "</b> \u00b7 Generated " + HtmlEscape(FormatTimestamp(r.generated_at)) +
      "</p></header>";
  html += RetentionNote(r.retention);

  // Headline figures.
  const auto& d = r.dispositions;
  html += "<section class=\"cards\">";
  html += Card("Signals submitted", Num(r.signals.submitted),
               Num(r.signals.active) + " active now");
  html += Card("Queries",
               r.queries.audit_log_available ? Num(r.queries.requests)
                                             : std::string("n/a"),
               r.queries.audit_log_available
                   ? Num(r.queries.tokens) + " tokens looked up"
                   : std::string("audit log not available"));
  html +=
      Card("Matches", Num(r.matches.total),
           Num(d.reviewed) + " reviewed, " + Num(d.unreviewed) + " not yet");
  html += Card("False-positive rate",
               d.false_positive_rate ? Percent(*d.false_positive_rate)
                                     : std::string("\u2013"),
               "of reviewed matches");
  html += Card("Median time to review",
               d.median_seconds_to_disposition
                   ? Duration(*d.median_seconds_to_disposition)
                   : std::string("\u2013"),
               "match to first disposition");
  html += Card("Retractions", Num(r.retractions.total), "signals withdrawn");
  html +=
      Card("Pending reviews", Num(r.pending_reviews.count),
           "undisposed > " + std::to_string(r.pending_reviews.older_than_days) +
               " days (all time)",
           r.pending_reviews.count > 0);
  html += Card("Re-reviews needed", Num(r.rereviews.needed),
               "of " + Num(r.rereviews.notified) + " retraction notices",
               r.rereviews.needed > 0);
  html +=
      Card("Reviewed", Num(d.reviewed),
           r.matches.total > 0 ? Percent(static_cast<double>(d.reviewed) /
                                         static_cast<double>(r.matches.total)) +
                                     " of the period's matches"
                               : std::string("no matches in the period"));
  std::uint64_t multi = 0;
  for (const auto& [platforms, n] : r.matches.by_platforms) {
    if (platforms != "1") multi += n;
  }
  html += Card("Multi-platform matches", Num(multi),
               "backed by 2 or more platforms");
  html += "</section>";
  if (!r.queries.note.empty()) {
    html += "<p class=\"note warnbox\">" + HtmlEscape(r.queries.note) + "</p>";
  }

  // Charts over time.
  const bool weekly = r.daily.size() > kMaxDailyBars;
  const auto& series = weekly ? r.weekly : r.daily;
  const std::string per = weekly ? "per week" : "per day";
  auto bars = [&](auto value, auto part) {
    std::vector<Bar> out;
    for (const auto& p : series) {
      out.push_back(Bar{p.start, value(p), part(p)});
    }
    return out;
  };
  auto none = [](const wire::SeriesPoint&) { return std::uint64_t{0}; };
  html += "<h2>Activity " + per + "</h2><div class=\"grid2\">";
  html += "<figure><figcaption>Matches " + per + "</figcaption>" +
          ColumnChart(bars([](const auto& p) { return p.matches; }, none),
                      false, "Matches " + per) +
          "</figure>";
  html += "<figure><figcaption>Dispositions recorded " + per + "</figcaption>" +
          ColumnChart(bars([](const auto& p) { return p.dispositions; },
                           [](const auto& p) { return p.false_positives; }),
                      false, "Dispositions " + per) +
          "<p class=\"legend\"><span class=\"swatch\" "
          "style=\"background:#2f5d8a\"></span>all dispositions<span "
          "class=\"swatch\" style=\"background:#c8553d\"></span>of which "
          "false_positive</p></figure>";
  html += "<figure><figcaption>Signals submitted " + per + "</figcaption>" +
          ColumnChart(bars([](const auto& p) { return p.signals; }, none),
                      false, "Signals submitted " + per) +
          "</figure>";
  html += "<figure><figcaption>Query requests " + per + "</figcaption>" +
          ColumnChart(bars([](const auto& p) { return p.queries; }, none), true,
                      "Query requests " + per) +
          "</figure>";
  html += "</div>";

  // Review outcomes.
  wire::Counts outcomes = d.by_outcome;
  outcomes.emplace_back("not reviewed yet", d.unreviewed);
  html +=
      "<h2>Review outcomes of the period's matches</h2><div "
      "class=\"grid2\"><figure><figcaption>Latest disposition per "
      "match</figcaption>" +
      RowChart(outcomes, "Dispositions by outcome", "false_positive") +
      "</figure><div>" +
      CountsTable("Dispositions by outcome", "outcome", outcomes) +
      "</div></div>";

  // Tables.
  html += "<h2>Signals, retractions and matches</h2><div class=\"grid2\">";
  html += "<div>" +
          CountsTable("Signals submitted by category", "category",
                      r.signals.by_category) +
          "</div>";
  html += "<div>" +
          CountsTable("Signals submitted by kind", "kind", r.signals.by_kind) +
          "</div>";
  html +=
      "<div>" +
      CountsTable("Retractions by reason", "reason", r.retractions.by_reason) +
      "</div>";
  html += "<div>" +
          CountsTable("Matches by distinct platforms behind them", "platforms",
                      r.matches.by_platforms) +
          "</div>";
  html += "</div>";

  // The per-week table keeps printed reports short.
  html +=
      "<h2>Per-week figures</h2><table><thead><tr><th>week of</th>"
      "<th class=\"n\">signals</th><th class=\"n\">retractions</th>"
      "<th class=\"n\">queries</th><th class=\"n\">tokens</th>"
      "<th class=\"n\">matches</th><th class=\"n\">dispositions</th>"
      "<th class=\"n\">false positives</th></tr></thead><tbody>";
  for (const auto& p : r.weekly) {
    html += "<tr><td>" + HtmlEscape(p.start) + "</td><td class=\"n\">" +
            Num(p.signals) + "</td><td class=\"n\">" + Num(p.retractions) +
            "</td><td class=\"n\">" + Num(p.queries) + "</td><td class=\"n\">" +
            Num(p.tokens_queried) + "</td><td class=\"n\">" + Num(p.matches) +
            "</td><td class=\"n\">" + Num(p.dispositions) +
            "</td><td class=\"n\">" + Num(p.false_positives) + "</td></tr>";
  }
  html += "</tbody></table>";

  html += R"(<section class="note"><b>How to read this report</b><dl>
<dt>A match is a lead, not a verdict.</dt><dd>It means another platform banned an account with the same identifier. Every match needs a human review whose outcome is recorded as a disposition: confirmed, actioned, no_action or false_positive.</dd>
<dt>Period figures</dt><dd>Signals, retractions, queries, matches and review outcomes count what happened in the period (UTC, end excluded). Review outcomes use each match's latest disposition; the false-positive rate is false_positive / reviewed matches.</dd>
<dt>Backlog figures</dt><dd>Pending reviews counts matches of any date still without a disposition after the stated number of days. Re-reviews needed counts retraction notices in the period with no disposition recorded since: the account's ban was withdrawn by the submitting platform, so the earlier decision should be looked at again.</dd>
<dt>Privacy</dt><dd>Figures never include identifiers or tokens; non-matching queries are counted from the audit log, never stored.</dd>
</dl></section>)";
  html += Generated(r.generated_at, hub);
  html += "</main></body></html>\n";
  return html;
}

std::string RenderMatchesHtml(const wire::ReportMatchesResponse& r,
                              std::string_view hub) {
  const std::string who =
      r.member.empty() ? std::string("all members") : "member " + r.member;
  const std::string period = Period(r.from, r.to);
  std::string html =
      PageStart("Cairn matches for review \u2013 " + who + ", " + period);
  std::uint64_t reviewed = 0, retracted = 0;
  for (const auto& m : r.matches) {
    if (m.disposition) ++reviewed;
    if (m.retracted_since) ++retracted;
  }
  html += "<header><h1>Matches for review</h1><p class=\"meta\">Period <b>" +
          HtmlEscape(period) + "</b> (UTC, end excluded) \u00b7 Scope <b>" +
          HtmlEscape(who) + "</b> \u00b7 " + Num(r.matches.size()) +
          " matches, " + Num(reviewed) + " reviewed, " + Num(retracted) +
          " with a retracted signal</p></header>";
  html += RetentionNote(r.retention);
  html +=
      "<h2>Matches</h2><table><thead><tr><th>match</th><th>member</th>"
      "<th>made at</th><th>kinds</th><th>categories</th>"
      "<th class=\"n\">platforms</th><th>disposition</th>"
      "<th>disposed at</th><th>retracted since</th></tr></thead><tbody>";
  for (const auto& m : r.matches) {
    std::string kinds, categories;
    for (const auto& k : m.kinds) kinds += (kinds.empty() ? "" : ", ") + k;
    for (Category c : m.categories) {
      categories += (categories.empty() ? "" : ", ") + std::string(ToString(c));
    }
    html += "<tr><td>" + HtmlEscape(m.match_id) + "</td><td>" +
            HtmlEscape(m.member) + "</td><td>" +
            HtmlEscape(FormatTimestamp(m.at)) + "</td><td>" +
            HtmlEscape(kinds) + "</td><td>" + HtmlEscape(categories) +
            "</td><td class=\"n\">" + Num(m.platforms) + "</td><td>" +
            (m.disposition ? HtmlEscape(ToString(*m.disposition))
                           : std::string("<b>not reviewed</b>")) +
            "</td><td>" +
            (m.disposed_at ? HtmlEscape(FormatTimestamp(*m.disposed_at))
                           : std::string()) +
            "</td><td>" +
            (m.retracted_since ? std::string("<b>yes: re-review</b>")
                               : std::string("no")) +
            "</td></tr>";
  }
  html += "</tbody></table>";
  html += R"(<section class="note"><b>How to read this list</b><dl>
<dt>Each row is one match</dt><dd>made when the member's query found an identifier banned by other platforms. Platforms counts the distinct platforms whose signals backed it; submitters are not named.</dd>
<dt>Disposition</dt><dd>is the latest human review outcome. "Retracted since" means a signal behind the match was withdrawn (for example an appeal was upheld): review the decision again and record a new disposition.</dd>
</dl></section>)";
  html += Generated(std::nullopt, hub);
  html += "</main></body></html>\n";
  return html;
}

}  // namespace cairn::server::ctl
