// ReportSource: the compliance reports (docs/compliance-guide.md), computed
// from the hub's SQLite database over a connection of their own.
//
// The connection is read-only and separate from the store's, so a report
// never blocks the writer and never changes anything; each report reads one
// consistent snapshot (one read transaction). Query counts come from the
// audit log (table audit_log, action "query"); on a database without that
// table they are reported as zero with audit_log_available = false. The
// retention warning of both reports (wire::ReportRetention) comes from the
// audit log's "purge" entries too.
#ifndef CAIRN_SERVER_REPORTS_REPORT_SOURCE_H_
#define CAIRN_SERVER_REPORTS_REPORT_SOURCE_H_

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "cairn/result.h"
#include "cairn/wire/reports.h"
#include "server/src/store/records.h"

namespace cairn::server {

class Database;

class ReportSource {
 public:
  // Opens `db_path` read-only. `clock` is "now" for the active-signal and
  // pending-review figures (default: the system clock). Errors: kIo when the
  // file cannot be opened, kInternal for a database that is not a hub's
  // (its tables are missing).
  static Result<std::shared_ptr<ReportSource>> Open(
      const std::filesystem::path& db_path, Clock clock = {});
  ~ReportSource();
  ReportSource(const ReportSource&) = delete;
  ReportSource& operator=(const ReportSource&) = delete;

  // Every figure of the summary for request.from <= t < request.to.
  // request.member empty: all members; otherwise only what that member did
  // (its submissions, its queries and matches, its dispositions, its
  // notifications). kNotFound for an unknown member. request.after/limit
  // are ignored.
  // Thread-safe (reports are served one at a time).
  Result<wire::ReportSummary> Summary(const wire::ReportRequest& request);

  // The period's matches (of request.member, or of all members), oldest
  // first, at most request.limit of them after the cursor request.after.
  // kInvalidArgument for a cursor this source did not hand out.
  // Thread-safe.
  Result<wire::ReportMatchesResponse> Matches(
      const wire::ReportRequest& request);

 private:
  ReportSource(std::unique_ptr<Database> db, Clock clock);

  std::mutex mutex_;
  std::unique_ptr<Database> db_;
  Clock clock_;
};

namespace report_internal {

// The audit log reads of a summary, here for a test of their query plans:
// each reads the entries of one action from a time on through a partial
// index of schema 11 (audit_queries, audit_purges), not the whole log. The
// actions are literals, as those indexes need.
// Per UTC day of [?1, ?2): successful "query" entries (of actor ?3, or of
// all when NULL) and their tokens ({"tokens":N,...}, contracts.md).
inline constexpr char kQueriesByDaySql[] =
    "SELECT at / 86400, count(*), sum(CASE WHEN json_valid(details)"
    " THEN coalesce(json_extract(details, '$.tokens'), 0) ELSE 0 END)"
    " FROM audit_log WHERE action = 'query' AND result = 'ok'"
    " AND at >= ?1 AND at < ?2 AND (?3 IS NULL OR actor = ?3) GROUP BY 1";
// Of the purges at or after ?1, the newest cut-off of each kind of row
// they deleted (NULL: none deleted that): tombstoned signals, matches,
// dispositions, notifications.
inline constexpr char kNewestPurgeSql[] =
    "SELECT max(CASE WHEN json_extract(details, '$.signals') > 0 THEN"
    "  coalesce(CAST(strftime('%s', json_extract(details,"
    "  '$.tombstone_cutoff')) AS INTEGER), at) END),"
    " max(CASE WHEN json_extract(details, '$.matches') > 0 THEN"
    "  coalesce(CAST(strftime('%s', json_extract(details,"
    "  '$.match_cutoff')) AS INTEGER), at) END),"
    " max(CASE WHEN json_extract(details, '$.dispositions') > 0 THEN"
    "  coalesce(CAST(strftime('%s', json_extract(details,"
    "  '$.disposition_cutoff')) AS INTEGER), at) END),"
    " max(CASE WHEN json_extract(details, '$.notifications') > 0 THEN"
    "  coalesce(CAST(strftime('%s', json_extract(details,"
    "  '$.notification_cutoff')) AS INTEGER), at) END)"
    " FROM audit_log WHERE action = 'purge' AND result = 'ok'"
    " AND at >= ?1 AND json_valid(details)";

}  // namespace report_internal

}  // namespace cairn::server

#endif  // CAIRN_SERVER_REPORTS_REPORT_SOURCE_H_
