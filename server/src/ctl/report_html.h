// Renders compliance reports as one self-contained HTML page: inline CSS
// and inline SVG charts, print styles, no scripts and nothing fetched from
// anywhere (no fonts, images, links or imports). All text is HTML-escaped.
#ifndef CAIRN_SERVER_CTL_REPORT_HTML_H_
#define CAIRN_SERVER_CTL_REPORT_HTML_H_

#include <string>
#include <string_view>

#include "cairn/wire/reports.h"

namespace cairn::server::ctl {

// The summary report page: title, period, member, headline figures, tables,
// per-day (or per-week for long periods) charts and a "how to read this"
// note. `hub` names the hub in the title (e.g. its URL); may be empty.
std::string RenderSummaryHtml(const wire::ReportSummary& summary,
                              std::string_view hub);

// The match list page: one table row per match.
std::string RenderMatchesHtml(const wire::ReportMatchesResponse& matches,
                              std::string_view hub);

// `text` with &, <, >, " and ' escaped for HTML text and attribute values.
std::string HtmlEscape(std::string_view text);

}  // namespace cairn::server::ctl

#endif  // CAIRN_SERVER_CTL_REPORT_HTML_H_
