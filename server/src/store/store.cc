#include "server/src/store/store.h"

#include <future>
#include <utility>

namespace cairn::server {

Clock SystemClock() {
  return [] {
    return std::chrono::floor<std::chrono::seconds>(
        std::chrono::system_clock::now());
  };
}

std::string FormatStreamCursor(const StreamCursor& cursor) {
  std::string out;
  if (cursor.per_member) out += kStreamCursorPerMemberMark;
  out += std::to_string(cursor.seq);
  if (cursor.purges) {
    out += kStreamCursorPurgesMark;
    out += std::to_string(*cursor.purges);
  }
  return out;
}

namespace {

// Runs an asynchronous store call and waits for its callback.
template <typename T, typename Call>
Result<T> Wait(Call&& call) {
  std::promise<Result<T>> promise;
  auto future = promise.get_future();
  call([&promise](Result<T> r) { promise.set_value(std::move(r)); });
  return future.get();
}

}  // namespace

Result<MemberRecord> Store::CreateMemberAndWait(CreateMemberCommand command) {
  return Wait<MemberRecord>(
      [&](auto done) { CreateMember(std::move(command), std::move(done)); });
}

Result<MemberRecord> Store::ChangeMemberAndWait(MemberChangeCommand command) {
  return Wait<MemberRecord>(
      [&](auto done) { ChangeMember(std::move(command), std::move(done)); });
}

Status Store::RegisterKindAndWait(RegisterKindCommand command) {
  return Wait<void>(
      [&](auto done) { RegisterKind(std::move(command), std::move(done)); });
}

Result<SubmitOutcome> Store::SubmitAndWait(SubmitCommand command) {
  return Wait<SubmitOutcome>(
      [&](auto done) { Submit(std::move(command), std::move(done)); });
}

Result<RetractOutcome> Store::RetractAndWait(RetractCommand command) {
  return Wait<RetractOutcome>(
      [&](auto done) { Retract(std::move(command), std::move(done)); });
}

Result<QueryOutcome> Store::QueryAndWait(QueryCommand command) {
  return Wait<QueryOutcome>(
      [&](auto done) { Query(std::move(command), std::move(done)); });
}

Result<DispositionRecord> Store::DisposeAndWait(DisposeCommand command) {
  return Wait<DispositionRecord>(
      [&](auto done) { Dispose(std::move(command), std::move(done)); });
}

Result<ExpireOutcome> Store::ExpireDueAndWait() {
  return Wait<ExpireOutcome>([&](auto done) { ExpireDue(std::move(done)); });
}

Status Store::RecordOprfUsageAndWait(OprfUsage usage) {
  return Wait<void>(
      [&](auto done) { RecordOprfUsage(std::move(usage), std::move(done)); });
}

Status Store::RecordAuditAndWait(AuditEvent event) {
  return Wait<void>(
      [&](auto done) { RecordAudit(std::move(event), std::move(done)); });
}

Result<PurgeOutcome> Store::PurgeAndWait(PurgeCommand command) {
  return Wait<PurgeOutcome>(
      [&](auto done) { Purge(std::move(command), std::move(done)); });
}

Status Store::CheckpointIfDueAndWait() {
  return Wait<void>([&](auto done) { CheckpointIfDue(std::move(done)); });
}

}  // namespace cairn::server
