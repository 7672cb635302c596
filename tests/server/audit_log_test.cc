// The audit log written by the store: one chained entry per command in the
// command's own transaction, failures logged with their error code,
// non-matching queries logged without delaying the answer, and signed
// checkpoints every N entries or T seconds.
#include <atomic>
#include <future>
#include <thread>

#include <catch2/catch.hpp>

#include "audit_test_util.h"
#include "cairn/encoding.h"
#include "server/src/audit/audit_restore.h"
#include "server/src/audit/audit_verify.h"
#include "store_test_util.h"

namespace cairn::server {
namespace {

using testing::AuditRow;
using testing::KeyOf;
using testing::ManualClock;
using testing::ReadAuditLog;
using testing::Signal;
using testing::TempDir;
using testing::TestSigningKey;

// A store whose members alpha, beta (member) and ops (operator) exist.
class AuditFixture {
 public:
  explicit AuditFixture(const TestSigningKey* key = nullptr,
                        std::uint64_t every = 1000) {
    options.db_path = dir.path() / "hub.db";
    options.clock = clock.AsClock();
    options.checkpoint_every_entries = every;
    if (key != nullptr)
      options.checkpoint_signer = key->Signer(clock.AsClock());
    Reopen();
    // ops first, as `cairnctl init` makes the first operator (offline, no
    // certificate): the store refuses admin commands of a certificate that
    // is not an operator's.
    for (const char* id : {"ops", "alpha", "beta"}) {
      CreateMemberCommand c;
      c.context = std::string_view(id) == "ops"
                      ? CommandContext{"", "cairnctl-init", ""}
                      : CommandContext{"r_create", "ops", FingerprintOf("ops")};
      c.member_id = id;
      c.name = id;
      c.roles = RoleBit(std::string_view(id) == "ops" ? Role::kOperator
                                                      : Role::kMember);
      c.fingerprints = {FingerprintOf(id)};
      REQUIRE(store->CreateMemberAndWait(c).has_value());
    }
  }

  static std::string FingerprintOf(std::string_view id) {
    return testing::Fingerprint(id[0]);
  }
  static CommandContext Ctx(std::string request_id, std::string member) {
    return {std::move(request_id), member, FingerprintOf(member)};
  }

  void Reopen() {
    store.reset();
    auto opened = OpenSqliteStore(options);
    REQUIRE(opened.has_value());
    store = std::move(*opened);
  }
  std::filesystem::path db() const { return options.db_path; }
  // Every command queued before this has committed once it returns.
  void Barrier() { REQUIRE(store->CheckpointIfDueAndWait().has_value()); }

  ManualClock clock;
  TempDir dir;
  SqliteStoreOptions options;
  std::unique_ptr<Store> store;
};

std::vector<std::string> Actions(const std::vector<AuditRow>& rows) {
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r.action);
  return out;
}

TEST_CASE(
    "every command appends a chained audit entry with who, what and "
    "the outcome") {
  AuditFixture f;
  Store& s = *f.store;
  SubmitCommand submit;
  submit.context = AuditFixture::Ctx("r_submit", "beta");
  submit.member_id = "beta";
  SignalSubmission short_lived = Signal(2);
  short_lived.expires_at = f.clock.Now() + std::chrono::hours(1);
  submit.items = {Signal(1), short_lived};
  auto submitted = s.SubmitAndWait(submit);
  REQUIRE(submitted.has_value());

  QueryCommand hit;
  hit.context = AuditFixture::Ctx("r_hit", "alpha");
  hit.member_id = "alpha";
  hit.items = {KeyOf(1), KeyOf(7)};
  auto matched = s.QueryAndWait(hit);
  REQUIRE(matched.has_value());
  REQUIRE(matched->matches.size() == 1);
  const std::string match_id = matched->matches[0].match_id;

  QueryCommand miss;
  miss.context = AuditFixture::Ctx("r_miss", "alpha");
  miss.member_id = "alpha";
  miss.items = {KeyOf(8), KeyOf(9), KeyOf(10)};
  REQUIRE(s.QueryAndWait(miss)->matches.empty());

  DisposeCommand dispose;
  dispose.context = AuditFixture::Ctx("r_dispose", "alpha");
  dispose.member_id = "alpha";
  dispose.match_id = match_id;
  dispose.outcome = Outcome::kConfirmed;
  dispose.note = "private reviewer note";
  REQUIRE(s.DisposeAndWait(dispose).has_value());

  RetractCommand retract;
  retract.context = AuditFixture::Ctx("r_retract", "beta");
  retract.member_id = "beta";
  RetractionItem item;
  item.key = KeyOf(1);
  item.reason = RetractReason::kAppealUpheld;
  retract.items = {item};
  REQUIRE(s.RetractAndWait(retract).has_value());

  MemberChangeCommand suspend;
  suspend.context = AuditFixture::Ctx("r_suspend", "ops");
  suspend.member_id = "beta";
  suspend.change = MemberChangeCommand::Change::kSuspend;
  suspend.reason = "audit";
  REQUIRE(s.ChangeMemberAndWait(suspend).has_value());

  RegisterKindCommand kind;
  kind.context = AuditFixture::Ctx("r_kind", "ops");
  kind.kind = "gamertag";
  REQUIRE(s.RegisterKindAndWait(kind).has_value());

  f.clock.Advance(std::chrono::hours(2));
  REQUIRE(s.ExpireDueAndWait()->expired == 1);
  f.Barrier();

  const auto rows = ReadAuditLog(f.db());
  REQUIRE(Actions(rows) ==
          std::vector<std::string>{"member.create", "member.create",
                                   "member.create", "submit", "query", "query",
                                   "disposition", "retract", "member.change",
                                   "kind.register", "expire"});
  for (std::size_t i = 0; i < rows.size(); ++i) {
    CAPTURE(i);
    CHECK(rows[i].seq == i + 1);
    CHECK(rows[i].result == "ok");
  }
  const AuditRow& sub = rows[3];
  CHECK(sub.actor == "beta");
  CHECK(sub.request_id == "r_submit");
  CHECK(sub.fingerprint == AuditFixture::FingerprintOf("beta"));
  CHECK(sub.details ==
        "{\"items\":2,\"created\":2,\"updated\":0,"
        "\"duplicate\":0,\"errors\":0,\"signal_ids\":[\"" +
            submitted->results[0].signal_id + "\",\"" +
            submitted->results[1].signal_id + "\"]}");
  CHECK(rows[4].details == "{\"tokens\":2,\"matches\":[\"" + match_id + "\"]}");
  CHECK(rows[5].request_id == "r_miss");
  CHECK(rows[5].details == "{\"tokens\":3,\"matches\":[]}");
  CHECK(rows[6].details ==
        "{\"match_id\":\"" + match_id + "\",\"outcome\":\"confirmed\"}");
  CHECK(rows[7].details.find("\"retracted\":1") != std::string::npos);
  CHECK(rows[8].details ==
        "{\"member_id\":\"beta\",\"change\":\"suspend\",\"reason\":\"audit\"}");
  CHECK(rows[10].actor == "hub");
  CHECK(rows[10].fingerprint.empty());
  CHECK(rows[10].details == "{\"signals\":1}");
  // Never a token, never a reviewer's note.
  for (const AuditRow& r : rows) {
    for (int t : {1, 2, 7, 8, 9, 10}) {
      CHECK(r.details.find(HexEncode(testing::TokenOf(t))) ==
            std::string::npos);
    }
    CHECK(r.details.find("private reviewer note") == std::string::npos);
  }
  CHECK(s.Stats().audit_head_seq == rows.size());

  auto report = VerifyAuditLog(f.db(), {});
  REQUIRE(report.has_value());
  CHECK(report->intact);
  CHECK(report->entries == rows.size());
}

TEST_CASE(
    "a query without matches is answered on the caller's thread, "
    "before its audit entry commits") {
  AuditFixture f;
  Store& s = *f.store;
  // Hold the writer in a batch so nothing can commit meanwhile.
  std::promise<void> release;
  auto released = release.get_future().share();
  std::atomic<bool> writer_busy{false};
  AuditEvent blocker;
  blocker.action = "report.read";
  s.RecordAudit(blocker, [](Status) {});
  s.CheckpointIfDue([&](Status) {
    writer_busy = true;
    released.wait();
  });
  while (!writer_busy) std::this_thread::yield();

  QueryCommand miss;
  miss.context = AuditFixture::Ctx("r_fast", "alpha");
  miss.member_id = "alpha";
  miss.items = {KeyOf(42)};
  bool answered = false;
  const auto caller = std::this_thread::get_id();
  std::thread::id answered_on;
  s.Query(miss, [&](Result<QueryOutcome> r) {
    REQUIRE(r.has_value());
    CHECK(r->queried == 1);
    answered = true;
    answered_on = std::this_thread::get_id();
  });
  // Answered while the writer is still blocked: it did not wait for a
  // commit.
  CHECK(answered);
  CHECK(answered_on == caller);
  release.set_value();
  f.Barrier();
  const auto rows = ReadAuditLog(f.db());
  REQUIRE(!rows.empty());
  CHECK(rows.back().request_id == "r_fast");
  CHECK(rows.back().action == "query");
  CHECK(rows.back().details == "{\"tokens\":1,\"matches\":[]}");
}

TEST_CASE("a command that fails as a whole is logged with its error code") {
  AuditFixture f;
  DisposeCommand dispose;
  dispose.context = AuditFixture::Ctx("r_bad", "alpha");
  dispose.member_id = "alpha";
  dispose.match_id = "m_00000000000000000000000000000000";
  auto r = f.store->DisposeAndWait(dispose);
  REQUIRE_FALSE(r.has_value());
  CreateMemberCommand dup;
  dup.context = AuditFixture::Ctx("r_dup", "ops");
  dup.member_id = "alpha";
  dup.name = "again";
  REQUIRE_FALSE(f.store->CreateMemberAndWait(dup).has_value());
  const auto rows = ReadAuditLog(f.db());
  REQUIRE(rows.size() == 5);
  CHECK(rows[3].action == "disposition");
  CHECK(rows[3].result == "not_found");
  CHECK(rows[3].request_id == "r_bad");
  CHECK(rows[4].action == "member.create");
  CHECK(rows[4].result == "conflict");
  CHECK(VerifyAuditLog(f.db(), {})->intact);
}

class VetoHook : public AuditHook {
 public:
  Status Append(const AuditEvent&) override {
    if (veto) return MakeError(ErrorCode::kUnavailable, "vetoed");
    return {};
  }
  std::atomic<bool> veto{false};
};

TEST_CASE("a rolled-back batch leaves no entry and no gap in the chain") {
  TempDir dir;
  ManualClock clock;
  auto hook = std::make_shared<VetoHook>();
  SqliteStoreOptions o;
  o.db_path = dir.path() / "hub.db";
  o.clock = clock.AsClock();
  o.audit_hook = hook;
  auto store = OpenSqliteStore(o);
  REQUIRE(store.has_value());
  AuditEvent e;
  e.action = "report.read";
  REQUIRE((*store)->RecordAuditAndWait(e).has_value());
  hook->veto = true;
  REQUIRE_FALSE((*store)->RecordAuditAndWait(e).has_value());
  hook->veto = false;
  e.details = "{\"n\":2}";
  REQUIRE((*store)->RecordAuditAndWait(e).has_value());
  const auto rows = ReadAuditLog(o.db_path);
  REQUIRE(rows.size() == 2);
  CHECK(rows[1].seq == 2);
  CHECK(rows[1].details == "{\"n\":2}");
  CHECK(VerifyAuditLog(o.db_path, {})->intact);
}

TEST_CASE(
    "checkpoints are signed every N entries and after the interval, "
    "and the chain continues across a reopen") {
  TestSigningKey key;
  AuditFixture f(&key, /*every=*/5);  // entries 1..3: the members
  for (int i = 0; i < 9; ++i) {
    AuditEvent e;
    e.actor = "alpha";
    e.action = "report.read";
    REQUIRE(f.store->RecordAuditAndWait(e).has_value());
  }
  // 12 entries: checkpoints at 5 and 10.
  auto page = f.store->AuditCheckpoints(0, 100);
  REQUIRE(page.has_value());
  REQUIRE(page->checkpoints.size() == 2);
  CHECK(page->checkpoints[0].seq == 5);
  CHECK(page->checkpoints[1].seq == 10);
  CHECK(page->checkpoints[0].key_id == "hk_test");
  CHECK_FALSE(page->more);

  // Nothing due by time yet; then the interval passes.
  f.Barrier();
  CHECK(f.store->AuditCheckpoints(10, 100)->checkpoints.empty());
  f.clock.Advance(f.options.checkpoint_interval);
  f.Barrier();
  auto later = f.store->AuditCheckpoints(10, 100);
  REQUIRE(later->checkpoints.size() == 1);
  CHECK(later->checkpoints[0].seq == 12);
  // No new entries: no new checkpoint however long we wait.
  f.clock.Advance(f.options.checkpoint_interval * 3);
  f.Barrier();
  CHECK(f.store->AuditCheckpoints(12, 100)->checkpoints.empty());

  auto first = f.store->AuditCheckpoints(0, 1);
  REQUIRE(first->checkpoints.size() == 1);
  CHECK(first->more);
  CHECK(first->cursor == 5);

  f.Reopen();
  for (int i = 0; i < 3; ++i) {
    AuditEvent e;
    e.action = "report.read";
    REQUIRE(f.store->RecordAuditAndWait(e).has_value());
  }
  // The reopened writer knows the last checkpoint and the oldest entry it
  // does not cover.
  f.Barrier();
  CHECK(f.store->AuditCheckpoints(12, 100)->checkpoints.empty());
  f.clock.Advance(f.options.checkpoint_interval);
  f.Barrier();
  auto after_reopen = f.store->AuditCheckpoints(12, 100);
  REQUIRE(after_reopen->checkpoints.size() == 1);
  CHECK(after_reopen->checkpoints[0].seq == 15);
  auto report = VerifyAuditLog(f.db(), key.PublicKeys());
  REQUIRE(report.has_value());
  CHECK(report->intact);
  CHECK(report->entries == 15);
  CHECK(report->checkpoints == 4);
  CHECK(report->first_at.has_value());
}

TEST_CASE(
    "a store reopened with exactly one entry after its last checkpoint "
    "signs it once the interval passes") {
  TestSigningKey key;
  AuditFixture f(&key, /*every=*/5);  // entries 1..3: the members
  for (int i = 0; i < 3; ++i) {
    AuditEvent e;
    e.actor = "alpha";
    e.action = "report.read";
    REQUIRE(f.store->RecordAuditAndWait(e).has_value());
  }
  // Checkpoint at 5; entry 6 is the only one it does not cover.
  REQUIRE(f.store->AuditCheckpoints(0, 100)->checkpoints.size() == 1);
  CHECK(f.store->AuditCheckpoints(0, 100)->checkpoints[0].seq == 5);
  CHECK(ReadAuditLog(f.db()).size() == 6);

  f.Reopen();
  f.Barrier();
  CHECK(f.store->AuditCheckpoints(5, 100)->checkpoints.empty());
  f.clock.Advance(f.options.checkpoint_interval);
  f.Barrier();
  auto signed_after = f.store->AuditCheckpoints(5, 100);
  REQUIRE(signed_after->checkpoints.size() == 1);
  CHECK(signed_after->checkpoints[0].seq == 6);
}

TEST_CASE(
    "a store opened on a log ending in an unsigned restore entry signs it "
    "at the first commit, whatever the interval") {
  TestSigningKey key;
  AuditFixture f(&key);  // entries 1..3: the members; no checkpoint yet
  f.clock.Advance(f.options.checkpoint_interval);
  f.Barrier();
  REQUIRE(f.store->AuditCheckpoints(0, 100)->checkpoints.size() == 1);
  f.store.reset();
  auto entry = AppendRestoreEntry(f.db(), "b.db", std::nullopt, std::nullopt,
                                  f.clock.Now().time_since_epoch().count());
  REQUIRE(entry.has_value());
  CHECK(entry->seq == 4);

  f.Reopen();
  f.Barrier();  // no time has passed and one entry is uncovered
  auto page = f.store->AuditCheckpoints(3, 100);
  REQUIRE(page->checkpoints.size() == 1);
  CHECK(page->checkpoints[0].seq == 4);
  // Only the restore entry is signed at once: later entries wait as usual.
  AuditEvent e;
  e.actor = "alpha";
  e.action = "report.read";
  REQUIRE(f.store->RecordAuditAndWait(e).has_value());
  f.Barrier();
  CHECK(f.store->AuditCheckpoints(4, 100)->checkpoints.empty());
  auto report = VerifyAuditLog(f.db(), key.PublicKeys());
  REQUIRE(report.has_value());
  CHECK(report->intact);
  CHECK(report->signed_seq == 4);
}

TEST_CASE("without a signer the log is chained but never checkpointed") {
  AuditFixture f(nullptr, /*every=*/1);
  f.clock.Advance(std::chrono::hours(48));
  f.Barrier();
  CHECK(f.store->AuditCheckpoints(0, 100)->checkpoints.empty());
  CHECK(ReadAuditLog(f.db()).size() == 3);
}

}  // namespace
}  // namespace cairn::server
