#include "server/src/reports/report_source.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <simdjson.h>

#include "cairn/timestamp.h"
#include "server/src/store/sqlite_db.h"

namespace cairn::server {
namespace {

constexpr std::int64_t kDaySeconds = 86400;

std::int64_t Unix(sys_seconds t) { return t.time_since_epoch().count(); }
sys_seconds FromUnix(std::int64_t s) {
  return sys_seconds{std::chrono::seconds{s}};
}

// "YYYY-MM-DD" of day number `day` (days since 1970-01-01, UTC).
std::string DayLabel(std::int64_t day) {
  return FormatTimestamp(FromUnix(day * kDaySeconds)).substr(0, 10);
}

// The Monday starting the ISO week of `day` (1970-01-01 was a Thursday).
std::int64_t WeekStart(std::int64_t day) {
  return day - (((day + 3) % 7) + 7) % 7;
}

// Floor division for days before 1970 (not expected, but exact).
std::int64_t DayOf(std::int64_t unix_seconds) {
  return unix_seconds >= 0 ? unix_seconds / kDaySeconds
                           : -((-unix_seconds + kDaySeconds - 1) / kDaySeconds);
}

// Binds ?1 from, ?2 to, ?3 member number (NULL: all members).
void BindPeriod(Statement& s, const wire::ReportRequest& r,
                std::optional<std::int64_t> member) {
  s.Bind(1, Unix(r.from)).Bind(2, Unix(r.to));
  if (member) {
    s.Bind(3, *member);
  } else {
    s.BindNull(3);
  }
}

// Runs `s` and calls on_row(Statement&) for each row.
template <typename OnRow>
Status ForEachRow(Statement& s, OnRow&& on_row) {
  while (true) {
    auto row = s.Step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return {};
    on_row(s);
  }
}

// Ends the read transaction however the report ends.
class ReadTransaction {
 public:
  explicit ReadTransaction(Database& db) : db_(db) {}
  Status Begin() { return db_.Exec("BEGIN"); }
  ~ReadTransaction() {
    if (db_.InTransaction()) (void)db_.Exec("COMMIT");
  }

 private:
  Database& db_;
};

template <typename Enum>
wire::Counts ZeroCounts(std::initializer_list<Enum> values) {
  wire::Counts out;
  for (Enum v : values) out.emplace_back(std::string(ToString(v)), 0);
  return out;
}

void AddCount(wire::Counts& counts, std::string_view name, std::uint64_t n) {
  for (auto& [key, count] : counts) {
    if (key == name) {
      count += n;
      return;
    }
  }
  counts.emplace_back(std::string(name), n);
}

constexpr std::initializer_list<Category> kCategories = {
    Category::kGrooming,       Category::kSextortion,  Category::kCsamSharing,
    Category::kCsamProduction, Category::kTrafficking, Category::kOther};
constexpr std::initializer_list<RetractReason> kReasons = {
    RetractReason::kAppealUpheld, RetractReason::kError,
    RetractReason::kDuplicate, RetractReason::kOther};
constexpr std::initializer_list<Outcome> kOutcomes = {
    Outcome::kConfirmed, Outcome::kActioned, Outcome::kNoAction,
    Outcome::kFalsePositive};

std::optional<Category> CategoryOf(std::int64_t n) {
  if (n < 0 || n > static_cast<std::int64_t>(Category::kOther)) {
    return std::nullopt;
  }
  return static_cast<Category>(n);
}

std::optional<Outcome> OutcomeOf(std::int64_t n) {
  if (n < 0 || n > static_cast<std::int64_t>(Outcome::kFalsePositive)) {
    return std::nullopt;
  }
  return static_cast<Outcome>(n);
}

// The store's numeric id of `member_id`; kNotFound if there is none.
Result<std::optional<std::int64_t>> MemberNumber(Database& db,
                                                 const std::string& member_id) {
  if (member_id.empty()) return std::optional<std::int64_t>{};
  auto s = db.Prepare("SELECT id FROM members WHERE member_id = ?1");
  if (!s) return tl::unexpected(s.error());
  s->Bind(1, member_id);
  auto row = s->Step();
  if (!row) return tl::unexpected(row.error());
  if (!*row) {
    return MakeError(ErrorCode::kNotFound,
                     "no member '" + member_id +
                         "' on this hub; check the id (cairnctl member list)",
                     "member");
  }
  return std::optional<std::int64_t>{s->Int(0)};
}

// Series buckets for every day of the period, zeros included.
class Series {
 public:
  Series(sys_seconds from, sys_seconds to)
      : first_(DayOf(Unix(from))), last_(DayOf(Unix(to) - 1)) {
    points_.resize(static_cast<std::size_t>(last_ - first_ + 1));
    for (std::int64_t d = first_; d <= last_; ++d) {
      points_[static_cast<std::size_t>(d - first_)].start = DayLabel(d);
    }
  }
  // nullptr for a day outside the period (cannot happen for rows selected
  // by the period, kept defensive).
  wire::SeriesPoint* Day(std::int64_t day) {
    if (day < first_ || day > last_) return nullptr;
    return &points_[static_cast<std::size_t>(day - first_)];
  }
  std::vector<wire::SeriesPoint> Daily() const { return points_; }
  std::vector<wire::SeriesPoint> Weekly() const {
    std::vector<wire::SeriesPoint> weeks;
    std::int64_t current = INT64_MIN;
    for (std::int64_t d = first_; d <= last_; ++d) {
      const auto& p = points_[static_cast<std::size_t>(d - first_)];
      if (WeekStart(d) != current) {
        current = WeekStart(d);
        weeks.emplace_back().start = DayLabel(current);
      }
      auto& w = weeks.back();
      w.signals += p.signals;
      w.retractions += p.retractions;
      w.queries += p.queries;
      w.tokens_queried += p.tokens_queried;
      w.matches += p.matches;
      w.dispositions += p.dispositions;
      w.false_positives += p.false_positives;
    }
    return weeks;
  }

 private:
  std::int64_t first_;
  std::int64_t last_;
  std::vector<wire::SeriesPoint> points_;
};

#define REPORT_TRY(expr)                                        \
  do {                                                          \
    if (auto report_status_ = (expr); !report_status_)          \
      return tl::unexpected(std::move(report_status_.error())); \
  } while (false)

Status Signals(Database& db, const wire::ReportRequest& r,
               std::optional<std::int64_t> member, sys_seconds now,
               wire::ReportSummary& out, Series& series) {
  out.signals.by_category = ZeroCounts(kCategories);
  {
    auto s = db.Prepare(
        "SELECT category, created_at / 86400, count(*) FROM signals"
        " WHERE created_at >= ?1 AND created_at < ?2"
        " AND (?3 IS NULL OR member = ?3) GROUP BY 1, 2");
    if (!s) return tl::unexpected(s.error());
    BindPeriod(*s, r, member);
    REPORT_TRY(ForEachRow(*s, [&](Statement& row) {
      const auto n = static_cast<std::uint64_t>(row.Int(2));
      out.signals.submitted += n;
      auto c = CategoryOf(row.Int(0));
      AddCount(out.signals.by_category, c ? ToString(*c) : "unknown", n);
      if (auto* p = series.Day(row.Int(1))) p->signals += n;
    }));
  }
  {
    // Every kind the hub knows, so a table of kinds is complete.
    auto s = db.Prepare(
        "SELECT k.name, (SELECT count(*) FROM signals s WHERE s.kind = k.id"
        " AND s.created_at >= ?1 AND s.created_at < ?2"
        " AND (?3 IS NULL OR s.member = ?3)) FROM kinds k ORDER BY k.id");
    if (!s) return tl::unexpected(s.error());
    BindPeriod(*s, r, member);
    REPORT_TRY(ForEachRow(*s, [&](Statement& row) {
      out.signals.by_kind.emplace_back(row.Text(0),
                                       static_cast<std::uint64_t>(row.Int(1)));
    }));
  }
  {
    auto s = db.Prepare(
        "SELECT count(*) FROM signals WHERE status = 0 AND expires_at > ?1"
        " AND (?3 IS NULL OR member = ?3)");
    if (!s) return tl::unexpected(s.error());
    s->Bind(1, Unix(now));
    if (member) {
      s->Bind(3, *member);
    } else {
      s->BindNull(3);
    }
    REPORT_TRY(ForEachRow(*s, [&](Statement& row) {
      out.signals.active = static_cast<std::uint64_t>(row.Int(0));
    }));
  }
  return {};
}

Status Retractions(Database& db, const wire::ReportRequest& r,
                   std::optional<std::int64_t> member, wire::ReportSummary& out,
                   Series& series) {
  out.retractions.by_reason = ZeroCounts(kReasons);
  auto s = db.Prepare(
      "SELECT r.reason, r.at / 86400, count(*) FROM retractions r"
      " JOIN signals s ON s.id = r.signal"
      " WHERE r.at >= ?1 AND r.at < ?2 AND (?3 IS NULL OR s.member = ?3)"
      " GROUP BY 1, 2");
  if (!s) return tl::unexpected(s.error());
  BindPeriod(*s, r, member);
  return ForEachRow(*s, [&](Statement& row) {
    const auto n = static_cast<std::uint64_t>(row.Int(2));
    out.retractions.total += n;
    const auto reason = row.Int(0);
    const bool known = reason >= 0 && reason <= static_cast<std::int64_t>(
                                                    RetractReason::kOther);
    AddCount(out.retractions.by_reason,
             known ? ToString(static_cast<RetractReason>(reason)) : "unknown",
             n);
    if (auto* p = series.Day(row.Int(1))) p->retractions += n;
  });
}

// Never fails: without a readable audit log the figures are zero and say so.
void Queries(Database& db, const wire::ReportRequest& r,
             wire::ReportSummary& out, Series& series) {
  auto unavailable = [&](const std::string& why) {
    out.queries = {};
    out.queries.audit_log_available = false;
    out.queries.note = "audit log not available: " + why +
                       "; query figures are zero, upgrade the hub to record "
                       "queries in its audit log";
  };
  auto exists = db.Prepare(
      "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
      " AND name = 'audit_log'");
  if (!exists) return unavailable(exists.error().message);
  auto row = exists->Step();
  if (!row || !*row || exists->Int(0) == 0) {
    return unavailable("this database has no audit_log table");
  }
  // details of "query" are {"tokens":N,"matches":[...]} (contracts.md).
  auto s = db.Prepare(report_internal::kQueriesByDaySql);
  if (!s) return unavailable(s.error().message);
  s->Bind(1, Unix(r.from)).Bind(2, Unix(r.to));
  if (r.member.empty()) {
    s->BindNull(3);
  } else {
    s->Bind(3, std::string_view(r.member));
  }
  std::vector<std::tuple<std::int64_t, std::uint64_t, std::uint64_t>> days;
  auto status = ForEachRow(*s, [&](Statement& q) {
    days.emplace_back(q.Int(0), static_cast<std::uint64_t>(q.Int(1)),
                      static_cast<std::uint64_t>(q.Int(2)));
  });
  if (!status) return unavailable(status.error().message);
  out.queries.audit_log_available = true;
  for (const auto& [day, requests, tokens] : days) {
    out.queries.requests += requests;
    out.queries.tokens += tokens;
    if (auto* p = series.Day(day)) {
      p->queries += requests;
      p->tokens_queried += tokens;
    }
  }
}

Status MatchFigures(Database& db, const wire::ReportRequest& r,
                    std::optional<std::int64_t> member, sys_seconds now,
                    wire::ReportSummary& out, Series& series) {
  {
    // A match's supporting signals are all in match_signals or all in
    // match_signals_recent (server/src/store/recent_match_signals.h), so
    // each table is counted on its own.
    auto s = db.Prepare(
        "SELECT p, count(*) FROM ("
        "SELECT count(DISTINCT s.member) AS p"
        " FROM matches m JOIN match_signals ms ON ms.match = m.id"
        " JOIN signals s ON s.id = ms.signal"
        " WHERE m.created_at >= ?1 AND m.created_at < ?2"
        " AND (?3 IS NULL OR m.member = ?3) GROUP BY m.id"
        " UNION ALL SELECT count(DISTINCT s.member) AS p"
        " FROM matches m JOIN match_signals_recent ms ON ms.match = m.id"
        " JOIN signals s ON s.id = ms.signal"
        " WHERE m.created_at >= ?1 AND m.created_at < ?2"
        " AND (?3 IS NULL OR m.member = ?3) GROUP BY m.id)"
        " GROUP BY p ORDER BY p");
    if (!s) return tl::unexpected(s.error());
    BindPeriod(*s, r, member);
    REPORT_TRY(ForEachRow(*s, [&](Statement& row) {
      out.matches.by_platforms.emplace_back(
          std::to_string(row.Int(0)), static_cast<std::uint64_t>(row.Int(1)));
    }));
  }
  {
    // One row per match of the period: its latest outcome (NULL: none yet)
    // and when it was first reviewed.
    auto s = db.Prepare(
        "SELECT m.created_at,"
        " (SELECT d.outcome FROM dispositions d WHERE d.match = m.id"
        "  ORDER BY d.id DESC LIMIT 1),"
        " (SELECT min(d.recorded_at) FROM dispositions d"
        "  WHERE d.match = m.id)"
        " FROM matches m WHERE m.created_at >= ?1 AND m.created_at < ?2"
        " AND (?3 IS NULL OR m.member = ?3)");
    if (!s) return tl::unexpected(s.error());
    BindPeriod(*s, r, member);
    auto& d = out.dispositions;
    d.by_outcome = ZeroCounts(kOutcomes);
    std::vector<std::uint64_t> waits;
    std::uint64_t false_positives = 0;
    REPORT_TRY(ForEachRow(*s, [&](Statement& row) {
      ++out.matches.total;
      if (auto* p = series.Day(DayOf(row.Int(0)))) ++p->matches;
      if (row.IsNull(1)) {
        ++d.unreviewed;
        return;
      }
      ++d.reviewed;
      auto outcome = OutcomeOf(row.Int(1));
      AddCount(d.by_outcome, outcome ? ToString(*outcome) : "unknown", 1);
      if (outcome == Outcome::kFalsePositive) ++false_positives;
      waits.push_back(static_cast<std::uint64_t>(
          std::max<std::int64_t>(0, row.Int(2) - row.Int(0))));
    }));
    if (d.reviewed > 0) {
      d.false_positive_rate = static_cast<double>(false_positives) /
                              static_cast<double>(d.reviewed);
      std::sort(waits.begin(), waits.end());
      const std::size_t n = waits.size();
      d.median_seconds_to_disposition =
          n % 2 == 1 ? waits[n / 2] : (waits[n / 2 - 1] + waits[n / 2]) / 2;
    }
  }
  {
    // Dispositions recorded per day (re-reviews included), for the charts.
    auto s = db.Prepare(
        "SELECT recorded_at / 86400, count(*), sum(outcome = 3)"
        " FROM dispositions WHERE recorded_at >= ?1 AND recorded_at < ?2"
        " AND (?3 IS NULL OR member = ?3) GROUP BY 1");
    if (!s) return tl::unexpected(s.error());
    BindPeriod(*s, r, member);
    REPORT_TRY(ForEachRow(*s, [&](Statement& row) {
      if (auto* p = series.Day(row.Int(0))) {
        p->dispositions += static_cast<std::uint64_t>(row.Int(1));
        p->false_positives += static_cast<std::uint64_t>(row.Int(2));
      }
    }));
  }
  {
    auto& p = out.pending_reviews;
    p.older_than_days = r.pending_days;
    auto s = db.Prepare(
        "SELECT count(*), min(m.created_at) FROM matches m"
        " WHERE m.created_at <= ?1 AND (?3 IS NULL OR m.member = ?3)"
        " AND NOT EXISTS (SELECT 1 FROM dispositions d WHERE d.match = m.id)");
    if (!s) return tl::unexpected(s.error());
    s->Bind(1, Unix(now) - std::int64_t{r.pending_days} * kDaySeconds);
    if (member) {
      s->Bind(3, *member);
    } else {
      s->BindNull(3);
    }
    REPORT_TRY(ForEachRow(*s, [&](Statement& row) {
      p.count = static_cast<std::uint64_t>(row.Int(0));
      if (!row.IsNull(1)) p.oldest = FromUnix(row.Int(1));
    }));
  }
  {
    // Notifications of retractions (type 1, FeedEventType::kRetracted) and
    // whether the match was reviewed again since.
    auto s = db.Prepare(
        "SELECT count(*), coalesce(sum(NOT EXISTS (SELECT 1 FROM dispositions"
        " d WHERE d.match = n.match AND CASE WHEN d.notified_seq IS NULL"
        " THEN d.recorded_at >= n.at ELSE d.notified_seq >= n.seq END)), 0)"
        " FROM notifications n WHERE n.type = 1 AND n.at >= ?1 AND n.at < ?2"
        " AND (?3 IS NULL OR n.member = ?3)");
    if (!s) return tl::unexpected(s.error());
    BindPeriod(*s, r, member);
    REPORT_TRY(ForEachRow(*s, [&](Statement& row) {
      out.rereviews.notified = static_cast<std::uint64_t>(row.Int(0));
      out.rereviews.needed = static_cast<std::uint64_t>(row.Int(1));
    }));
  }
  return {};
}

// The report's retention warning (wire::ReportRetention): set when a purge
// that deleted signals had a tombstone cut-off at or after the period's
// start, or one that deleted matches, dispositions or notifications had
// the cut-off of that retention at or after it. A purge's cut-offs are
// never later than its own audit entry, so entries before the period
// cannot reach into it and are not read. Entries of hubs that did not yet
// record a cut-off count from the entry's time, the latest the cut-off can
// have been. Without an audit log there is nothing to go by and no
// warning. `signal_figures` and `match_figures` name the report's figures
// each kind of purge can lower.
Status Retention(Database& db, const wire::ReportRequest& r,
                 std::string_view signal_figures,
                 std::string_view match_figures, wire::ReportRetention& out) {
  auto exists = db.Prepare(
      "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
      " AND name = 'audit_log'");
  if (!exists) return tl::unexpected(exists.error());
  auto has_log = exists->Step();
  if (!has_log) return tl::unexpected(has_log.error());
  if (!*has_log || exists->Int(0) == 0) return {};
  auto s = db.Prepare(report_internal::kNewestPurgeSql);
  if (!s) return tl::unexpected(s.error());
  const std::int64_t from = Unix(r.from);
  s->Bind(1, from);
  std::optional<std::int64_t> tombstone;
  std::optional<std::int64_t> records;
  REPORT_TRY(ForEachRow(*s, [&](Statement& row) {
    if (!row.IsNull(0) && row.Int(0) >= from) tombstone = row.Int(0);
    for (int col = 1; col <= 3; ++col) {
      if (!row.IsNull(col) && row.Int(col) >= from) {
        records = std::max(records.value_or(row.Int(col)), row.Int(col));
      }
    }
  }));
  if (!tombstone && !records) return {};
  std::string purged;
  std::string figures;
  if (tombstone) {
    purged = "the signals retracted or expired at or before " +
             FormatTimestamp(FromUnix(*tombstone)) +
             ", with their retractions and the record of which signals "
             "matches were made on (the tombstone period)";
    figures = std::string(signal_figures);
  }
  if (records) {
    out.match_cutoff = FromUnix(*records);
    purged += std::string(tombstone ? ", and " : "") +
              "the matches made, and the dispositions and notifications "
              "recorded, at or before " +
              FormatTimestamp(*out.match_cutoff) +
              " (their own retention periods)";
    figures +=
        std::string(tombstone ? ", and " : "") + std::string(match_figures);
  }
  out.purge_cutoff = FromUnix(
      std::max(tombstone.value_or(INT64_MIN), records.value_or(INT64_MIN)));
  out.note = "the hub has purged " + purged +
             "; this period starts before that, so " + figures +
             " may be lower than when first reported: rely on the report "
             "produced and archived within the tombstone period";
  return {};
}

tl::unexpected<Error> UnreadableList(std::string_view json) {
  return MakeError(ErrorCode::kInternal,
                   "the report query returned a list it cannot read (" +
                       std::string(json.substr(0, 80)) +
                       "); check the database with `cairnctl audit verify` "
                       "and report it");
}

// A JSON array of category numbers (SQLite json_group_array), as
// categories in ascending order; numbers this hub does not know are left
// out.
Result<std::vector<Category>> CategoriesOf(simdjson::dom::parser& parser,
                                           const std::string& json) {
  simdjson::dom::array array;
  if (parser.parse(json).get_array().get(array) != simdjson::SUCCESS) {
    return UnreadableList(json);
  }
  std::set<Category> set;
  for (simdjson::dom::element e : array) {
    std::int64_t n = 0;
    if (e.get_int64().get(n) != simdjson::SUCCESS) return UnreadableList(json);
    if (auto c = CategoryOf(n)) set.insert(*c);
  }
  return std::vector<Category>(set.begin(), set.end());
}

// A JSON array of strings (SQLite json_group_array), sorted.
Result<std::vector<std::string>> NamesOf(simdjson::dom::parser& parser,
                                         const std::string& json) {
  simdjson::dom::array array;
  if (parser.parse(json).get_array().get(array) != simdjson::SUCCESS) {
    return UnreadableList(json);
  }
  std::set<std::string> set;
  for (simdjson::dom::element e : array) {
    std::string_view name;
    if (e.get_string().get(name) != simdjson::SUCCESS) {
      return UnreadableList(json);
    }
    set.emplace(name);
  }
  return std::vector<std::string>(set.begin(), set.end());
}

}  // namespace

ReportSource::ReportSource(std::unique_ptr<Database> db, Clock clock)
    : db_(std::move(db)), clock_(std::move(clock)) {}

ReportSource::~ReportSource() = default;

Result<std::shared_ptr<ReportSource>> ReportSource::Open(
    const std::filesystem::path& db_path, Clock clock) {
  auto db = Database::Open(db_path, /*create=*/false, /*read_only=*/true,
                           std::chrono::milliseconds(5000));
  if (!db) return tl::unexpected(db.error());
  auto check = (*db)->Prepare(
      "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
      " AND name IN ('signals', 'matches', 'dispositions', 'notifications')");
  if (!check) return tl::unexpected(check.error());
  auto row = check->Step();
  if (!row) return tl::unexpected(row.error());
  if (!*row || check->Int(0) != 4) {
    return MakeError(ErrorCode::kInternal,
                     db_path.string() +
                         " is not a Cairn hub database (its tables are "
                         "missing); point the reports at the hub's cairn.db");
  }
  if (!clock) clock = SystemClock();
  return std::shared_ptr<ReportSource>(
      new ReportSource(std::move(*db), std::move(clock)));
}

Result<wire::ReportSummary> ReportSource::Summary(
    const wire::ReportRequest& request) {
  std::lock_guard lock(mutex_);
  const sys_seconds now = clock_();
  ReadTransaction transaction(*db_);
  REPORT_TRY(transaction.Begin());
  auto member = MemberNumber(*db_, request.member);
  if (!member) return tl::unexpected(member.error());

  wire::ReportSummary out;
  out.from = request.from;
  out.to = request.to;
  out.generated_at = now;
  out.member = request.member;
  REPORT_TRY(Retention(*db_, request,
                       "its signal and retraction figures (totals, "
                       "categories, kinds, reasons, daily and weekly) and "
                       "matches.by_platforms",
                       "its match, disposition and re-review figures "
                       "(totals, outcomes, daily and weekly)",
                       out.retention));
  Series series(request.from, request.to);
  REPORT_TRY(Signals(*db_, request, *member, now, out, series));
  REPORT_TRY(Retractions(*db_, request, *member, out, series));
  Queries(*db_, request, out, series);
  REPORT_TRY(MatchFigures(*db_, request, *member, now, out, series));
  out.daily = series.Daily();
  out.weekly = series.Weekly();
  return out;
}

Result<wire::ReportMatchesResponse> ReportSource::Matches(
    const wire::ReportRequest& request) {
  std::int64_t after = 0;
  if (!request.after.empty()) {
    const auto& a = request.after;
    auto [end, ec] = std::from_chars(a.data(), a.data() + a.size(), after);
    if (ec != std::errc{} || end != a.data() + a.size() || after < 0) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "unknown cursor; pass the cursor of the previous page "
                       "or omit 'after' to start at the beginning",
                       "after");
    }
  }
  std::lock_guard lock(mutex_);
  ReadTransaction transaction(*db_);
  REPORT_TRY(transaction.Begin());
  auto member = MemberNumber(*db_, request.member);
  if (!member) return tl::unexpected(member.error());

  // A match's supporting signals are all in match_signals or all in
  // match_signals_recent (server/src/store/recent_match_signals.h): each
  // figure is read from both and the empty side contributes nothing. The
  // match id is written into each arm: a UNION ALL view of the two tables
  // is materialised whole by SQLite 3.40 and indexed per query (EXPLAIN
  // QUERY PLAN: MATERIALIZE, AUTOMATIC COVERING INDEX), where these arms
  // seek each table's index by match.
  auto s = db_->Prepare(
      "SELECT m.id, m.match_id, coalesce(q.member_id, ''), m.created_at,"
      " (SELECT json_group_array(DISTINCT category) FROM ("
      "  SELECT s.category FROM match_signals ms"
      "  JOIN signals s ON s.id = ms.signal WHERE ms.match = m.id"
      "  UNION ALL SELECT s.category FROM match_signals_recent ms"
      "  JOIN signals s ON s.id = ms.signal WHERE ms.match = m.id)),"
      " (SELECT json_group_array(DISTINCT name) FROM ("
      "  SELECT k.name FROM match_signals ms"
      "  JOIN signals s ON s.id = ms.signal"
      "  JOIN kinds k ON k.id = s.kind WHERE ms.match = m.id"
      "  UNION ALL SELECT k.name FROM match_signals_recent ms"
      "  JOIN signals s ON s.id = ms.signal"
      "  JOIN kinds k ON k.id = s.kind WHERE ms.match = m.id)),"
      " (SELECT count(DISTINCT s.member) FROM match_signals ms"
      "  JOIN signals s ON s.id = ms.signal WHERE ms.match = m.id)"
      " + (SELECT count(DISTINCT s.member) FROM match_signals_recent ms"
      "  JOIN signals s ON s.id = ms.signal WHERE ms.match = m.id),"
      " (SELECT d.outcome FROM dispositions d WHERE d.match = m.id"
      "  ORDER BY d.id DESC LIMIT 1),"
      " (SELECT d.recorded_at FROM dispositions d WHERE d.match = m.id"
      "  ORDER BY d.id DESC LIMIT 1),"
      " EXISTS (SELECT 1 FROM notifications n WHERE n.match = m.id"
      "  AND n.type = 1)"
      " FROM matches m LEFT JOIN members q ON q.id = m.member"
      " WHERE m.created_at >= ?1 AND m.created_at < ?2"
      " AND (?3 IS NULL OR m.member = ?3) AND m.id > ?4"
      " ORDER BY m.id LIMIT ?5");
  if (!s) return tl::unexpected(s.error());
  BindPeriod(*s, request, *member);
  s->Bind(4, after).Bind(5, std::int64_t{request.limit} + 1);

  wire::ReportMatchesResponse out;
  out.from = request.from;
  out.to = request.to;
  out.member = request.member;
  REPORT_TRY(Retention(
      *db_, request, "the kinds, categories and platforms of its matches",
      "its list of matches and their dispositions", out.retention));
  std::int64_t last = after;
  simdjson::dom::parser json;
  Status lists;
  REPORT_TRY(ForEachRow(*s, [&](Statement& row) {
    if (!lists) return;  // returned below
    if (out.matches.size() == request.limit) {
      out.more = true;
      return;
    }
    last = row.Int(0);
    wire::ReportMatch& m = out.matches.emplace_back();
    m.match_id = row.Text(1);
    m.member = row.Text(2);
    m.at = FromUnix(row.Int(3));
    auto categories = CategoriesOf(json, row.Text(4));
    auto kinds = NamesOf(json, row.Text(5));
    if (!categories || !kinds) {
      lists = tl::unexpected(categories ? kinds.error() : categories.error());
      return;
    }
    m.categories = std::move(*categories);
    m.kinds = std::move(*kinds);
    m.platforms = static_cast<std::uint32_t>(row.Int(6));
    if (!row.IsNull(7)) m.disposition = OutcomeOf(row.Int(7));
    if (!row.IsNull(8)) m.disposed_at = FromUnix(row.Int(8));
    m.retracted_since = row.Int(9) != 0;
  }));
  REPORT_TRY(lists);
  out.cursor = std::to_string(last);
  return out;
}

}  // namespace cairn::server
