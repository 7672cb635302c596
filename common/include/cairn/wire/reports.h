// GET /v1/reports/summary and GET /v1/reports/matches: compliance reports.
// docs/compliance-guide.md defines every figure; schemas/json/
// report-summary-response.schema.json and report-matches-response.schema.json
// are the contract.
#ifndef CAIRN_WIRE_REPORTS_H_
#define CAIRN_WIRE_REPORTS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cairn/wire/types.h"

namespace cairn::wire {

// A report period may span at most this many days.
inline constexpr std::int64_t kMaxReportDays = 400;
// Default and largest `pending_days`.
inline constexpr std::uint32_t kDefaultPendingDays = 7;
inline constexpr std::uint32_t kMaxPendingDays = 3650;

enum class ReportKind : std::uint8_t { kSummary, kMatches };

// The query string of both report endpoints:
//   from=RFC3339&to=RFC3339[&member=ID][&pending_days=N]      (summary)
//   from=RFC3339&to=RFC3339[&member=ID][&after=C][&limit=N]   (matches)
// The period is [from, to).
struct ReportRequest {
  Timestamp from{};
  Timestamp to{};
  std::string member;                                // empty: not given
  std::uint32_t pending_days = kDefaultPendingDays;  // summary only
  std::string after;                                 // matches only
  std::uint32_t limit = kDefaultPageLimit;           // matches only

  bool operator==(const ReportRequest&) const = default;
};

// Parses a URL query string (without '?'); percent-escapes are decoded
// (clients often send ':' as %3A). Missing from/to, malformed values,
// from >= to, a period longer than kMaxReportDays, unknown or repeated
// parameters and parameters of the other report are kInvalidArgument with
// Error::field naming the parameter.
Result<ReportRequest> ParseReportRequest(std::string_view query_string,
                                         ReportKind kind);
// The query string for `request` (':' percent-encoded; defaults omitted).
std::string EncodeReportRequest(const ReportRequest& request, ReportKind kind);

// The details of the audit entry "report.read" for one report request:
//   {"report":"summary","from":"...","to":"...","member":"alpha"|null}
std::string EncodeReportAuditDetails(const ReportRequest& request,
                                     ReportKind kind);

// Named counts in a fixed order, e.g. {"grooming", 3}. On the wire: a JSON
// object {"grooming":3,...}. Closed vocabularies list every value (zeros
// included) in vocabulary order.
using Counts = std::vector<std::pair<std::string, std::uint64_t>>;

// Set on a report whose period starts at or before the cut-off of one of
// the hub's purges (from the audit log's "purge" entries): retracted and
// expired signals that departed at or before the tombstone cut-off have
// been deleted with their retractions and match details, and matches made
// (dispositions and notifications recorded) at or before the match
// cut-off have been deleted after their own retention periods, so some of
// the period's figures may be lower than when first reported. On the wire:
// "retention":{"purge_cutoff","match_cutoff" (optional),"note"}, omitted
// when it does not apply.
struct ReportRetention {
  // The newest cut-off of the purges that reach into the period (the
  // tombstone one, or the match one when it is newer or the only one).
  // Absent: nothing to warn about.
  std::optional<Timestamp> purge_cutoff;
  // The newest cut-off of the purges that deleted matches, dispositions or
  // notifications, when it reaches into the period.
  std::optional<Timestamp> match_cutoff;
  std::string note;  // empty without purge_cutoff

  bool operator==(const ReportRetention&) const = default;
};

// One bucket of the per-day or per-week series (UTC; weeks start Monday).
struct SeriesPoint {
  std::string start;  // "YYYY-MM-DD": the day, or the Monday of the week
  std::uint64_t signals = 0;          // signals submitted
  std::uint64_t retractions = 0;      // signals retracted
  std::uint64_t queries = 0;          // query requests (audit log)
  std::uint64_t tokens_queried = 0;   // tokens in those requests
  std::uint64_t matches = 0;          // matches made
  std::uint64_t dispositions = 0;     // dispositions recorded
  std::uint64_t false_positives = 0;  // ... of which false_positive

  bool operator==(const SeriesPoint&) const = default;
};

struct ReportSummary {
  Timestamp from{};
  Timestamp to{};
  Timestamp generated_at{};
  std::string member;  // empty: all members
  ReportRetention retention;

  struct Signals {
    std::uint64_t submitted = 0;  // created in the period
    Counts by_category;
    Counts by_kind;
    std::uint64_t active = 0;  // active when the report was generated
    bool operator==(const Signals&) const = default;
  } signals;

  struct Retractions {
    std::uint64_t total = 0;
    Counts by_reason;
    bool operator==(const Retractions&) const = default;
  } retractions;

  struct Queries {
    bool audit_log_available = true;
    std::uint64_t requests = 0;
    std::uint64_t tokens = 0;
    std::string note;  // empty unless the figures are incomplete
    bool operator==(const Queries&) const = default;
  } queries;

  struct Matches {
    std::uint64_t total = 0;
    // Matches by the number of distinct platforms behind them: {"1":n,...}.
    Counts by_platforms;
    bool operator==(const Matches&) const = default;
  } matches;

  // The period's matches by their latest disposition.
  struct Dispositions {
    std::uint64_t reviewed = 0;    // matches with a disposition
    std::uint64_t unreviewed = 0;  // matches without one
    Counts by_outcome;
    std::optional<double> false_positive_rate;  // absent when none reviewed
    // Median seconds from a match to its first disposition.
    std::optional<std::uint64_t> median_seconds_to_disposition;
    bool operator==(const Dispositions&) const = default;
  } dispositions;

  // Matches of any period still without a disposition `older_than_days`
  // after they were made, when the report was generated.
  struct PendingReviews {
    std::uint32_t older_than_days = kDefaultPendingDays;
    std::uint64_t count = 0;
    std::optional<Timestamp> oldest;
    bool operator==(const PendingReviews&) const = default;
  } pending_reviews;

  // Retraction notifications in the period and how many of them have no
  // disposition recorded since.
  struct ReReviews {
    std::uint64_t notified = 0;
    std::uint64_t needed = 0;
    bool operator==(const ReReviews&) const = default;
  } rereviews;

  std::vector<SeriesPoint> daily;
  std::vector<SeriesPoint> weekly;

  bool operator==(const ReportSummary&) const = default;
};

// One row of the match list.
struct ReportMatch {
  std::string match_id;
  std::string member;  // the querying member
  Timestamp at{};      // when the match was made
  std::vector<std::string> kinds;
  std::vector<Category> categories;    // sorted, distinct
  std::uint32_t platforms = 0;         // distinct submitting members
  std::optional<Outcome> disposition;  // the latest one
  std::optional<Timestamp> disposed_at;
  bool retracted_since = false;  // a signal behind it was retracted

  bool operator==(const ReportMatch&) const = default;
};

struct ReportMatchesResponse {
  Timestamp from{};
  Timestamp to{};
  std::string member;  // empty: all members
  ReportRetention retention;
  std::vector<ReportMatch> matches;
  std::string cursor;  // pass as ?after= for the next page
  bool more = false;

  bool operator==(const ReportMatchesResponse&) const = default;
};

std::string Encode(const ReportSummary& body);
Result<ReportSummary> DecodeReportSummary(std::string_view json);
std::string Encode(const ReportMatchesResponse& body);
Result<ReportMatchesResponse> DecodeReportMatchesResponse(
    std::string_view json);

}  // namespace cairn::wire

#endif  // CAIRN_WIRE_REPORTS_H_
