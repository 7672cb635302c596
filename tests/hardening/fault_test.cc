// Storage faults seen through the HTTP API, in-process (ApiRouter over a
// real SqliteStore, no sockets): a full disk (SQLite max_page_count) and
// errors injected through the Store seam. Each must reach the member as a
// 503 with a request id that the access log also carries; nothing may be
// partially acknowledged, and the hub recovers when the fault goes.
#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <optional>

#include "cairn/wire/error.h"
#include "server/src/api/api_router.h"
#include "server/src/api/metrics.h"
#include "server/src/store/store.h"
#include "support/log_capture.h"
#include "support/process.h"
#include "support/sqlite_query.h"

namespace cairn::server {
namespace {

namespace http = boost::beast::http;

const std::string kAlphaFp(64, 'a');
const std::string kBetaFp(64, 'b');
const std::string kOperatorFp(64, 'd');

// 64 hex characters encoding `n`.
std::string Token(std::uint64_t n) {
  char buffer[17];
  std::snprintf(buffer, sizeof buffer, "%016llx",
                static_cast<unsigned long long>(n));
  return std::string(48, '0') + buffer;
}

std::string SubmitBody(std::uint64_t first, int count) {
  std::string out = R"({"signals":[)";
  for (int i = 0; i < count; ++i) {
    if (i > 0) out += ",";
    out +=
        R"({"kind":"email","token":")" + Token(first + i) +
        R"(","category":"grooming","severity":"high","banned_at":"2026-01-01T00:00:00Z","ref":"r)" +
        std::to_string(first + i) + "\"}";
  }
  return out + "]}";
}

std::string QueryBody(std::uint64_t first, int count) {
  std::string out = R"({"queries":[)";
  for (int i = 0; i < count; ++i) {
    if (i > 0) out += ",";
    out += R"({"kind":"email","token":")" + Token(first + i) + "\"}";
  }
  return out + "]}";
}

// A Store that forwards to a real one, except that while a fault is armed
// every command and stream read fails with it: before it reaches the real
// store (Arm), or after the real store has run it, in place of its answer
// (ArmAfter). Authenticate, the member snapshot and the file checks keep
// working: they are served from memory or stat the files. Counts the calls
// it forwards, by method. It overrides every virtual of Store, those with
// a default too.
class FaultyStore final : public Store {
 public:
  explicit FaultyStore(Store& inner) : inner_(inner) {}

  void Arm(ErrorCode code) {
    fault_ = code;
    after_ = false;
  }
  void ArmAfter(ErrorCode code) {
    fault_ = code;
    after_ = true;
  }
  void Disarm() { fault_.reset(); }
  // Forwarded calls by method name ("Submit", "Feed", ...).
  std::map<std::string, int> Forwarded() const {
    std::lock_guard lock(calls_mu_);
    return forwarded_;
  }
  void ClearForwarded() {
    std::lock_guard lock(calls_mu_);
    forwarded_.clear();
  }
  // While held, Feed() blocks (a stand-in for a read that takes long).
  void HoldReads() {
    std::lock_guard lock(gate_mu_);
    held_ = true;
  }
  void ReleaseReads() {
    {
      std::lock_guard lock(gate_mu_);
      held_ = false;
    }
    gate_cv_.notify_all();
  }

  std::optional<AuthenticatedMember> Authenticate(
      std::string_view fingerprint_hex) const override {
    return inner_.Authenticate(fingerprint_hex);
  }
  bool IsRevokedFingerprint(std::string_view fingerprint_hex) const override {
    return inner_.IsRevokedFingerprint(fingerprint_hex);
  }
  Result<MemberRecord> GetMember(std::string_view member_id) const override {
    if (auto e = Fault()) return tl::unexpected(*e);
    return After(inner_.GetMember(member_id), "GetMember");
  }
  std::vector<MemberRecord> ListMembers() const override {
    return inner_.ListMembers();
  }
  bool IsKnownKind(std::string_view kind) const override {
    return inner_.IsKnownKind(kind);
  }
  std::vector<std::string> ListKinds() const override {
    return inner_.ListKinds();
  }
  void CreateMember(CreateMemberCommand command,
                    Callback<MemberRecord> done) override {
    if (auto e = Fault()) return done(tl::unexpected(*e));
    inner_.CreateMember(std::move(command),
                        After(std::move(done), "CreateMember"));
  }
  void ChangeMember(MemberChangeCommand command,
                    Callback<MemberRecord> done) override {
    if (auto e = Fault()) return done(tl::unexpected(*e));
    inner_.ChangeMember(std::move(command),
                        After(std::move(done), "ChangeMember"));
  }
  void RegisterKind(RegisterKindCommand command, Callback<void> done) override {
    if (auto e = Fault()) return done(tl::unexpected(*e));
    inner_.RegisterKind(std::move(command),
                        After(std::move(done), "RegisterKind"));
  }
  void Submit(SubmitCommand command, Callback<SubmitOutcome> done) override {
    if (auto e = Fault()) return done(tl::unexpected(*e));
    inner_.Submit(std::move(command), After(std::move(done), "Submit"));
  }
  void Retract(RetractCommand command, Callback<RetractOutcome> done) override {
    if (auto e = Fault()) return done(tl::unexpected(*e));
    inner_.Retract(std::move(command), After(std::move(done), "Retract"));
  }
  void Query(QueryCommand command, Callback<QueryOutcome> done) override {
    if (auto e = Fault()) return done(tl::unexpected(*e));
    inner_.Query(std::move(command), After(std::move(done), "Query"));
  }
  void Dispose(DisposeCommand command,
               Callback<DispositionRecord> done) override {
    if (auto e = Fault()) return done(tl::unexpected(*e));
    inner_.Dispose(std::move(command), After(std::move(done), "Dispose"));
  }
  void ExpireDue(Callback<ExpireOutcome> done) override {
    if (auto e = Fault()) return done(tl::unexpected(*e));
    inner_.ExpireDue(After(std::move(done), "ExpireDue"));
  }
  void RecordAudit(AuditEvent event, Callback<void> done) override {
    if (auto e = Fault()) return done(tl::unexpected(*e));
    inner_.RecordAudit(std::move(event), After(std::move(done), "RecordAudit"));
  }
  void RecordOperatorAction(AuditEvent event, Callback<void> done) override {
    if (auto e = Fault()) return done(tl::unexpected(*e));
    inner_.RecordOperatorAction(std::move(event),
                                After(std::move(done), "RecordOperatorAction"));
  }
  void RecordOprfUsage(OprfUsage usage, Callback<void> done) override {
    if (auto e = Fault()) return done(tl::unexpected(*e));
    inner_.RecordOprfUsage(std::move(usage),
                           After(std::move(done), "RecordOprfUsage"));
  }
  Result<std::vector<OprfUsage>> OprfUsageOn(std::int64_t day) const override {
    if (auto e = Fault()) return tl::unexpected(*e);
    return After(inner_.OprfUsageOn(day), "OprfUsageOn");
  }
  void Purge(PurgeCommand command, Callback<PurgeOutcome> done) override {
    if (auto e = Fault()) return done(tl::unexpected(*e));
    inner_.Purge(std::move(command), After(std::move(done), "Purge"));
  }
  void CheckpointIfDue(Callback<void> done) override {
    if (auto e = Fault()) return done(tl::unexpected(*e));
    inner_.CheckpointIfDue(After(std::move(done), "CheckpointIfDue"));
  }
  Result<AuditCheckpointPage> AuditCheckpoints(
      std::uint64_t after_seq, std::size_t limit) const override {
    if (auto e = Fault()) return tl::unexpected(*e);
    return After(inner_.AuditCheckpoints(after_seq, limit), "AuditCheckpoints");
  }
  Result<FeedPage> Feed(std::string_view member_id,
                        std::string_view fingerprint, StreamCursor after,
                        std::size_t limit) const override {
    if (auto e = Fault()) return tl::unexpected(*e);
    {
      std::unique_lock lock(gate_mu_);
      gate_cv_.wait(lock, [this] { return !held_; });
    }
    return After(inner_.Feed(member_id, fingerprint, after, limit), "Feed");
  }
  Result<NotificationPage> Notifications(std::string_view member_id,
                                         std::string_view fingerprint,
                                         StreamCursor after,
                                         std::size_t limit) const override {
    if (auto e = Fault()) return tl::unexpected(*e);
    return After(inner_.Notifications(member_id, fingerprint, after, limit),
                 "Notifications");
  }
  bool IsWritable() const override {
    return !fault_.has_value() && inner_.IsWritable();
  }
  StoreStats Stats() const override { return inner_.Stats(); }
  // Store's defaults for these report every file intact whatever the real
  // store found: /healthz behind this wrapper would never say otherwise.
  Status CheckFiles() override { return inner_.CheckFiles(); }
  bool FilesIntact() const override { return inner_.FilesIntact(); }
  // Store's default would leave the real store open.
  Status Close() override { return inner_.Close(); }

 private:
  static Error Injected(ErrorCode code) {
    return Error{code, "injected fault: disk I/O error", std::string(),
                 std::nullopt};
  }
  // The fault to answer with before forwarding, if one is armed so.
  std::optional<Error> Fault() const {
    if (!fault_ || after_) return std::nullopt;
    return Injected(*fault_);
  }
  void Note(const char* method) const {
    std::lock_guard lock(calls_mu_);
    ++forwarded_[method];
  }
  // The real store's answer to a read, or the fault armed to replace it.
  template <typename T>
  Result<T> After(Result<T> answer, const char* method) const {
    Note(method);
    if (fault_ && after_) return tl::unexpected(Injected(*fault_));
    return answer;
  }
  // `done`, or (armed to fail after) a callback that hands `done` the
  // fault in place of the real store's answer.
  template <typename T>
  Callback<T> After(Callback<T> done, const char* method) const {
    Note(method);
    if (!fault_ || !after_) return done;
    return [done = std::move(done), code = *fault_](Result<T>) {
      done(tl::unexpected(Injected(code)));
    };
  }

  Store& inner_;
  std::optional<ErrorCode> fault_;
  bool after_ = false;
  mutable std::mutex calls_mu_;
  mutable std::map<std::string, int> forwarded_;
  mutable std::mutex gate_mu_;
  mutable std::condition_variable gate_cv_;
  bool held_ = false;
};

struct Reply {
  int status = 0;
  std::string body;
  std::string request_id;
};

// A real store in a temporary directory with members alpha, beta (member)
// and ops (operator); `router_store` chooses what the router talks to.
class Hub {
 public:
  Hub() : dir_("cairn-fault-test") {
    SqliteStoreOptions options;
    options.db_path = dir_.File("hub.db");
    // The system clock, plus whatever Advance added.
    options.clock = [this] {
      return std::chrono::floor<std::chrono::seconds>(
                 std::chrono::system_clock::now()) +
             std::chrono::seconds(skew_.load());
    };
    db_path_ = options.db_path.string();
    auto opened = OpenSqliteStore(options);
    REQUIRE(opened);
    store_ = std::move(*opened);
    faulty_ = std::make_unique<FaultyStore>(*store_);
    Create("alpha", Role::kMember, kAlphaFp);
    Create("beta", Role::kMember, kBetaFp);
    Create("ops", Role::kOperator, kOperatorFp);
    router_ = std::make_unique<ApiRouter>(*faulty_, metrics_, ApiOptions{});
  }
  ~Hub() {
    router_.reset();
    store_.reset();
  }

  Reply Call(http::verb method, const std::string& target,
             const std::string& body, const std::string& fingerprint) {
    HttpRequest request{method, target, 11};
    if (!body.empty())
      request.set(http::field::content_type, "application/json");
    request.body() = body;
    request.prepare_payload();
    auto promise = std::make_shared<std::promise<HttpResponse>>();
    auto future = promise->get_future();
    auto answered = std::make_shared<std::atomic<int>>(0);
    router_->Handle(std::move(request),
                    PeerIdentity{fingerprint, "CN=fault", "127.0.0.1:1"},
                    [promise, answered](HttpResponse response) {
                      if (answered->fetch_add(1) == 0) {
                        promise->set_value(std::move(response));
                      }
                    });
    Reply reply;
    if (future.wait_for(std::chrono::seconds(20)) !=
        std::future_status::ready) {
      return reply;  // status 0: never answered
    }
    HttpResponse response = future.get();
    reply.status = static_cast<int>(response.result_int());
    reply.body = response.body();
    reply.request_id = std::string(response["X-Request-Id"]);
    return reply;
  }

  Store& store() { return *store_; }
  FaultyStore& faulty() { return *faulty_; }
  void Advance(std::chrono::seconds by) { skew_ += by.count(); }
  ApiRouter& router() { return *router_; }
  const std::string& db_path() const { return db_path_; }

  // Every row of every table, over a read-only connection: a text per
  // table, its rows in sorted order, each column typed and quoted.
  std::map<std::string, std::vector<std::string>> Dump() const {
    std::map<std::string, std::vector<std::string>> out;
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(db_path_.c_str(), &db, SQLITE_OPEN_READONLY,
                            nullptr) == SQLITE_OK);
    std::vector<std::string> tables;
    {
      sqlite3_stmt* stmt = nullptr;
      REQUIRE(sqlite3_prepare_v2(db,
                                 "SELECT name FROM sqlite_master WHERE type = "
                                 "'table' ORDER BY name",
                                 -1, &stmt, nullptr) == SQLITE_OK);
      while (sqlite3_step(stmt) == SQLITE_ROW) {
        tables.emplace_back(
            reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
      }
      sqlite3_finalize(stmt);
    }
    REQUIRE_FALSE(tables.empty());
    for (const std::string& table : tables) {
      sqlite3_stmt* stmt = nullptr;
      const std::string sql = "SELECT * FROM \"" + table + "\"";
      REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) ==
              SQLITE_OK);
      std::vector<std::string>& rows = out[table];
      while (sqlite3_step(stmt) == SQLITE_ROW) {
        std::string row;
        for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
          row += std::to_string(sqlite3_column_type(stmt, i)) + ":";
          const auto* bytes =
              static_cast<const unsigned char*>(sqlite3_column_blob(stmt, i));
          for (int b = 0; b < sqlite3_column_bytes(stmt, i); ++b) {
            static constexpr char kHex[] = "0123456789abcdef";
            row += kHex[bytes[b] >> 4];
            row += kHex[bytes[b] & 15];
          }
          row += "|";
        }
        rows.push_back(std::move(row));
      }
      sqlite3_finalize(stmt);
      std::sort(rows.begin(), rows.end());
    }
    sqlite3_close(db);
    return out;
  }

  std::int64_t Count(const std::string& sql) const {
    return cairn::testing::QueryInt64(db_path_, sql);
  }

 private:
  void Create(const std::string& id, Role role, const std::string& fp) {
    CreateMemberCommand command;
    command.member_id = id;
    command.name = id;
    command.roles = RoleBit(role);
    command.fingerprints = {fp};
    const auto created = store_->CreateMemberAndWait(std::move(command));
    REQUIRE(created);
  }

  cairn::testing::TempDir dir_;
  std::atomic<std::int64_t> skew_{0};
  std::string db_path_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<FaultyStore> faulty_;
  HubMetrics metrics_;
  std::unique_ptr<ApiRouter> router_;
};

using cairn::testing::LogCapture;

std::string CodeOf(const std::string& body) {
  auto error = wire::DecodeErrorBody(body);
  return error ? std::string(ErrorCodeName(error->code)) : "<not an error>";
}

std::string MessageOf(const std::string& body) {
  auto error = wire::DecodeErrorBody(body);
  return error ? error->message : "";
}

TEST_CASE(
    "a long read (feed page, report) does not hold the thread that handed "
    "it in") {
  Hub hub;
  hub.faulty().HoldReads();
  // Handed in from a thread of its own, so that a read run inline (which
  // would block here) fails the test instead of hanging it.
  auto promise = std::make_shared<std::promise<HttpResponse>>();
  auto feed_answer = promise->get_future();
  auto handed = std::async(std::launch::async, [&hub, promise] {
    HttpRequest request{http::verb::get, "/v1/feed", 11};
    hub.router().Handle(
        std::move(request), PeerIdentity{kBetaFp, "CN=fault", "127.0.0.1:1"},
        [promise](HttpResponse r) { promise->set_value(std::move(r)); });
  });
  const bool returned =
      handed.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
  CHECK(returned);
  // Other requests are answered while the read waits.
  CHECK(hub.Call(http::verb::get, "/v1/me", "", kAlphaFp).status == 200);
  CHECK(feed_answer.wait_for(std::chrono::milliseconds(50)) ==
        std::future_status::timeout);
  // With every page thread held (a second feed read), reports still run:
  // they have a thread of their own (this hub has none enabled, and says
  // so from that thread).
  auto second = std::make_shared<std::promise<HttpResponse>>();
  auto second_answer = second->get_future();
  hub.router().Handle(
      HttpRequest{http::verb::get, "/v1/feed", 11},
      PeerIdentity{kAlphaFp, "CN=fault", "127.0.0.1:1"},
      [second](HttpResponse r) { second->set_value(std::move(r)); });
  CHECK(hub.Call(http::verb::get,
                 "/v1/reports/summary?from=2026-01-01T00:00:00Z"
                 "&to=2026-02-01T00:00:00Z",
                 "", kAlphaFp)
            .status == 404);
  hub.faulty().ReleaseReads();
  REQUIRE(feed_answer.wait_for(std::chrono::seconds(20)) ==
          std::future_status::ready);
  CHECK(feed_answer.get().result_int() == 200);
  REQUIRE(second_answer.wait_for(std::chrono::seconds(20)) ==
          std::future_status::ready);
  CHECK(second_answer.get().result_int() == 200);
}

TEST_CASE(
    "disk full: submits get 503, nothing is half-stored, and the hub "
    "recovers") {
  LogCapture log;
  Hub hub;
  REQUIRE(hub.Call(http::verb::post, "/v1/signals", SubmitBody(1, 10), kAlphaFp)
              .status == 200);
  const std::int64_t rows_before = hub.Count("SELECT count(*) FROM signals");
  REQUIRE(rows_before == 10);
  // Freeze the file at its current size: the next growth is SQLITE_FULL.
  REQUIRE(
      RunOnSqliteWriterForTesting(hub.store(), "PRAGMA max_page_count = 1"));

  const Reply full = hub.Call(http::verb::post, "/v1/signals",
                              SubmitBody(1000, 3000), kAlphaFp);
  CAPTURE(full.body);
  CHECK(full.status == 503);
  CHECK(CodeOf(full.body) == "unavailable");
  CHECK_THAT(MessageOf(full.body), Catch::Contains("full"));
  CHECK(full.request_id.rfind("r_", 0) == 0);
  CHECK(log.Has(full.request_id, "status=503"));
  // The cause is in the log too, not only in the member's answer.
  CHECK(log.Has("store commit failed", "database or disk is full"));
  // Nothing of the batch is stored or matchable; the hub says it is not
  // writable.
  CHECK(hub.Count("SELECT count(*) FROM signals") == rows_before);
  const Reply query =
      hub.Call(http::verb::post, "/v1/query", QueryBody(1000, 3000), kBetaFp);
  // 200, or 503 if the hub must audit the query through the full writer;
  // either way nothing matches.
  CHECK((query.status == 200 || query.status == 503));
  CHECK(query.body.find("match_id") == std::string::npos);
  CHECK(hub.Call(http::verb::get, "/healthz", "", kBetaFp).status == 503);
  // Reads keep working while the disk is full.
  CHECK(hub.Call(http::verb::get, "/v1/feed", "", kBetaFp).status == 200);
  CHECK(hub.Call(http::verb::get, "/v1/me", "", kAlphaFp).status == 200);

  // Space returns: the same batch goes through, whole.
  REQUIRE(RunOnSqliteWriterForTesting(hub.store(),
                                      "PRAGMA max_page_count = 1073741823"));
  const Reply retry = hub.Call(http::verb::post, "/v1/signals",
                               SubmitBody(1000, 3000), kAlphaFp);
  CHECK(retry.status == 200);
  CHECK(hub.Count("SELECT count(*) FROM signals") == rows_before + 3000);
  // A commit failed a moment ago: /healthz stays 503 although this one got
  // through (on a nearly full disk small commits fit and large ones fail),
  // then answers 200 once none has failed for a minute.
  CHECK(hub.Call(http::verb::get, "/healthz", "", kBetaFp).status == 503);
  hub.Advance(std::chrono::seconds(60));
  CHECK(hub.Call(http::verb::get, "/healthz", "", kBetaFp).status == 200);
  const Reply matched =
      hub.Call(http::verb::post, "/v1/query", QueryBody(1000, 3), kBetaFp);
  CHECK(matched.body.find("\"index\":2") != std::string::npos);
}

TEST_CASE(
    "the fault wrapper passes the real store's file checks through: a "
    "deleted database file reaches /healthz") {
  Hub hub;
  REQUIRE(hub.faulty().CheckFiles().has_value());
  CHECK(hub.faulty().FilesIntact());
  CHECK(hub.Call(http::verb::get, "/healthz", "", kBetaFp).status == 200);

  REQUIRE(std::filesystem::remove(hub.db_path()));
  const Status checked = hub.faulty().CheckFiles();
  REQUIRE_FALSE(checked.has_value());
  CHECK_THAT(checked.error().message,
             Catch::Contains(hub.db_path() + " is gone (deleted or renamed)"));
  CHECK_FALSE(hub.faulty().FilesIntact());
  CHECK_FALSE(hub.store().FilesIntact());
  const Reply health = hub.Call(http::verb::get, "/healthz", "", kBetaFp);
  CHECK(health.status == 503);
  CHECK_THAT(health.body, Catch::Contains("deleted_or_replaced"));
}

struct FaultCase {
  const char* what;
  http::verb method;
  std::string target;
  std::string body;
  const std::string* fingerprint;
};

TEST_CASE(
    "store errors injected through the Store seam surface as 503 with "
    "a request id") {
  Hub hub;
  REQUIRE(hub.Call(http::verb::post, "/v1/signals", SubmitBody(1, 5), kBetaFp)
              .status == 200);
  const std::int64_t rows_before = hub.Count("SELECT count(*) FROM signals");
  // The fault comes before the real store (FaultyStore::Arm), so the router
  // could change something only by reaching the store some other way; the
  // next test injects it after the store has run.
  const auto data_before = hub.Dump();
  const std::vector<FaultCase> cases = {
      {"submit", http::verb::post, "/v1/signals", SubmitBody(100, 5),
       &kAlphaFp},
      {"retract", http::verb::post, "/v1/signals/retract",
       R"({"retractions":[{"ref":"r1","reason":"error"}]})", &kBetaFp},
      {"query (matching)", http::verb::post, "/v1/query", QueryBody(1, 5),
       &kAlphaFp},
      {"query (no match)", http::verb::post, "/v1/query", QueryBody(900, 5),
       &kAlphaFp},
      {"disposition", http::verb::post,
       "/v1/matches/m_00000000000000000000000000000000/disposition",
       R"({"outcome":"actioned"})", &kAlphaFp},
      {"feed", http::verb::get, "/v1/feed", "", &kAlphaFp},
      {"notifications", http::verb::get, "/v1/notifications", "", &kAlphaFp},
      {"admin: add member", http::verb::post, "/v1/admin/members",
       R"({"member_id":"delta","name":"Delta","roles":["member"]})",
       &kOperatorFp},
      {"admin: suspend", http::verb::post, "/v1/admin/members/beta/suspend",
       R"({"reason":"test"})", &kOperatorFp},
  };
  for (const ErrorCode code : {ErrorCode::kUnavailable, ErrorCode::kIo}) {
    for (const FaultCase& c : cases) {
      CAPTURE(ErrorCodeName(code), c.what);
      LogCapture log;
      hub.faulty().Arm(code);
      const Reply reply = hub.Call(c.method, c.target, c.body, *c.fingerprint);
      hub.faulty().Disarm();
      CAPTURE(reply.body);
      CHECK(reply.status == 503);
      CHECK(CodeOf(reply.body) == "unavailable");
      CHECK_FALSE(MessageOf(reply.body).empty());
      CHECK(reply.request_id.rfind("r_", 0) == 0);
      CHECK(log.Has(reply.request_id, "status=503"));
    }
  }
  // Nothing changed (no row of any table), and everything works again once
  // the fault is gone.
  CHECK(hub.Count("SELECT count(*) FROM signals") == rows_before);
  CHECK(hub.Dump() == data_before);
  CHECK(hub.Call(http::verb::post, "/v1/signals", SubmitBody(100, 5), kAlphaFp)
            .status == 200);
  CHECK(hub.Call(http::verb::get, "/v1/feed", "", kAlphaFp).status == 200);
}

TEST_CASE(
    "a store error after the store has run is a 503, and the router does "
    "not send the command again") {
  Hub hub;
  REQUIRE(hub.Call(http::verb::post, "/v1/signals", SubmitBody(1, 5), kBetaFp)
              .status == 200);
  struct AfterCase {
    FaultCase request;
    const char* method;  // the Store call the router makes, once
    const char* action;  // its audit entry, once; nullptr: a read, none
  };
  // In this order: the suspension of beta comes last.
  const std::vector<AfterCase> cases = {
      {{"submit", http::verb::post, "/v1/signals", SubmitBody(100, 5),
        &kAlphaFp},
       "Submit",
       "submit"},
      {{"retract", http::verb::post, "/v1/signals/retract",
        R"({"retractions":[{"ref":"r1","reason":"error"}]})", &kBetaFp},
       "Retract",
       "retract"},
      {{"query (matching)", http::verb::post, "/v1/query", QueryBody(1, 5),
        &kAlphaFp},
       "Query",
       "query"},
      {{"query (no match)", http::verb::post, "/v1/query", QueryBody(900, 5),
        &kAlphaFp},
       "Query",
       "query"},
      {{"disposition", http::verb::post,
        "/v1/matches/m_00000000000000000000000000000000/disposition",
        R"({"outcome":"actioned"})", &kAlphaFp},
       "Dispose",
       "disposition"},
      {{"feed", http::verb::get, "/v1/feed", "", &kAlphaFp}, "Feed", nullptr},
      {{"notifications", http::verb::get, "/v1/notifications", "", &kAlphaFp},
       "Notifications",
       nullptr},
      {{"admin: add member", http::verb::post, "/v1/admin/members",
        R"({"member_id":"delta","name":"Delta","roles":["member"]})",
        &kOperatorFp},
       "CreateMember",
       "member.create"},
      {{"admin: suspend", http::verb::post, "/v1/admin/members/beta/suspend",
        R"({"reason":"test"})", &kOperatorFp},
       "ChangeMember",
       "member.change"},
  };
  // Entries without matches join the next commit: flush before counting.
  const auto audited = [&hub](const char* action) {
    REQUIRE(hub.store().CheckpointIfDueAndWait().has_value());
    return hub.Count(std::string("SELECT count(*) FROM audit_log WHERE "
                                 "action = '") +
                     action + "'");
  };
  for (const AfterCase& c : cases) {
    CAPTURE(c.request.what);
    const std::int64_t audited_before = c.action ? audited(c.action) : 0;
    const std::int64_t total_before =
        hub.Count("SELECT count(*) FROM audit_log");
    hub.faulty().ClearForwarded();
    hub.faulty().ArmAfter(ErrorCode::kUnavailable);
    const Reply reply = hub.Call(c.request.method, c.request.target,
                                 c.request.body, *c.request.fingerprint);
    hub.faulty().Disarm();
    CAPTURE(reply.body);
    CHECK(reply.status == 503);
    CHECK(CodeOf(reply.body) == "unavailable");
    CHECK(reply.request_id.rfind("r_", 0) == 0);
    auto forwarded = hub.faulty().Forwarded();
    CHECK(forwarded[c.method] == 1);
    // The store ran the command once: one entry for it, none for a read.
    REQUIRE(hub.store().CheckpointIfDueAndWait().has_value());
    const std::int64_t total_after =
        hub.Count("SELECT count(*) FROM audit_log");
    if (c.action) {
      CHECK(audited(c.action) == audited_before + 1);
      CHECK(total_after == total_before + 1);
    } else {
      CHECK(total_after == total_before);
    }
  }
  // The submit answered with 503 was stored all the same: its five signals
  // beside beta's five. (A 503 does not say nothing happened; a retry with
  // the same body finds duplicates.)
  CHECK(hub.Count("SELECT count(*) FROM signals") == 10);
}

}  // namespace
}  // namespace cairn::server
