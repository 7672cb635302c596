// GET /v1/reports/summary and GET /v1/reports/matches.
//
// Who sees what: the compliance role sees every member and may name one with
// member=; a member sees only itself (member= another id is 403, no member=
// means its own). Any other role (operator only) gets 403. Every read
// appends "report.read" to the audit log without waiting for it.
#include <spdlog/spdlog.h>

#include "cairn/wire/reports.h"
#include "server/src/api/api_router.h"
#include "server/src/api/call.h"
#include "server/src/reports/report_source.h"

namespace cairn::server {
namespace {

// Parses the request and applies the visibility rules; on failure the call
// has been answered.
std::optional<wire::ReportRequest> Authorise(const ApiRouter::CallPtr& call,
                                             wire::ReportKind kind) {
  const auto& me = call->member;
  const bool compliance = HasRole(me.roles, Role::kCompliance);
  if (!compliance && !HasRole(me.roles, Role::kMember)) {
    call->Fail(ErrorCode::kPermissionDenied,
               "reports need the 'compliance' role (all members) or the "
               "'member' role (your own figures); member '" +
                   me.member_id + "' has neither");
    return std::nullopt;
  }
  auto request = wire::ParseReportRequest(call->query_string, kind);
  if (!request) {
    call->Fail(request.error());
    return std::nullopt;
  }
  if (!compliance) {
    if (!request->member.empty() && request->member != me.member_id) {
      call->Fail(ErrorCode::kPermissionDenied,
                 "member '" + me.member_id +
                     "' may read only its own reports; omit member= or ask "
                     "a compliance officer for other members' figures",
                 "member");
      return std::nullopt;
    }
    request->member = me.member_id;
  }
  return std::move(*request);
}

}  // namespace

void ApiRouter::HandleReportsSummary(const CallPtr& call) {
  if (!options_.reports) {
    return call->Fail(ErrorCode::kNotFound,
                      "reports are not enabled on this hub; ask the hub "
                      "operator");
  }
  auto request = Authorise(call, wire::ReportKind::kSummary);
  if (!request) return;
  auto summary = options_.reports->Summary(*request);
  if (!summary) return call->Fail(summary.error());
  call->AuditWithoutWaiting(
      store_, "report.read",
      wire::EncodeReportAuditDetails(*request, wire::ReportKind::kSummary));
  call->Finish(200, wire::Encode(*summary));
}

void ApiRouter::HandleReportsMatches(const CallPtr& call) {
  if (!options_.reports) {
    return call->Fail(ErrorCode::kNotFound,
                      "reports are not enabled on this hub; ask the hub "
                      "operator");
  }
  auto request = Authorise(call, wire::ReportKind::kMatches);
  if (!request) return;
  auto page = options_.reports->Matches(*request);
  if (!page) return call->Fail(page.error());
  call->AuditWithoutWaiting(
      store_, "report.read",
      wire::EncodeReportAuditDetails(*request, wire::ReportKind::kMatches));
  call->items = page->matches.size();
  call->Finish(200, wire::Encode(*page));
}

}  // namespace cairn::server
