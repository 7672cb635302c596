#include "api_test_util.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <fstream>
#include <future>
#include <sstream>

#include "cairn/vocabulary.h"
#include "cairn/wire/error.h"
#include "support/sqlite_query.h"

namespace cairn::server::apitest {

namespace {

std::string Lower(std::string s) {
  for (char& c : s) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return s;
}

// Creates a member and fails loudly: a broken fixture makes every test
// meaningless.
void MustCreate(Store& store, const std::string& id, const std::string& name,
                Role role, std::vector<std::string> fingerprints) {
  CreateMemberCommand command;
  command.member_id = id;
  command.name = name;
  command.roles = RoleBit(role);
  command.fingerprints = std::move(fingerprints);
  auto created = store.CreateMemberAndWait(std::move(command));
  if (!created) {
    throw std::runtime_error("fixture: creating member " + id +
                             " failed: " + created.error().ToString());
  }
}

void MustChange(Store& store, MemberChangeCommand command) {
  auto changed = store.ChangeMemberAndWait(std::move(command));
  if (!changed) {
    throw std::runtime_error("fixture: member change failed: " +
                             changed.error().ToString());
  }
}

std::map<std::string, std::int64_t> RowCounts(const std::string& db_path) {
  // Through the failing readers of tests/support: an unreadable database
  // must fail the test, not give two equal (empty) snapshots.
  std::map<std::string, std::int64_t> rows;
  const std::vector<std::string> tables = cairn::testing::SqlColumn(
      db_path, "SELECT name FROM sqlite_master WHERE type = 'table'");
  REQUIRE_FALSE(tables.empty());
  for (const auto& table : tables) {
    rows[table] = cairn::testing::QueryInt64(
        db_path, "SELECT count(*) FROM \"" + table + "\"");
  }
  return rows;
}

}  // namespace

std::string Response::Header(const std::string& name) const {
  const auto it = headers.find(Lower(name));
  return it == headers.end() ? std::string() : it->second;
}

Error Response::ErrorBody() const {
  auto decoded = wire::DecodeErrorBody(body);
  if (!decoded) return Error{};
  return *decoded;
}

std::string Response::ErrorCode() const {
  auto decoded = wire::DecodeErrorBody(body);
  if (!decoded) return "<not an error body>";
  return std::string(ErrorCodeName(decoded->code));
}

ApiFixture::ApiFixture(FixtureOptions options)
    : dir_("cairn-api-test"), db_path_(dir_.File("hub.db")) {
  SqliteStoreOptions store_options;
  store_options.db_path = db_path_;
  store_options.clock = [] { return sys_seconds{std::chrono::seconds{kNow}}; };
  store_options.audit_hook = std::move(options.audit_hook);
  store_options.stream_read_hook_for_testing =
      std::move(options.stream_read_hook);
  auto opened = OpenSqliteStore(store_options);
  if (!opened) {
    throw std::runtime_error("fixture: OpenSqliteStore failed: " +
                             opened.error().ToString());
  }
  store_ = std::move(*opened);

  MustCreate(*store_, "alpha", "Alpha Social", Role::kMember,
             {kAlphaFp, kAlphaRevokedFp});
  MustCreate(*store_, "beta", "Beta Chat", Role::kMember, {kBetaFp});
  MustCreate(*store_, "comply", "Compliance Office", Role::kCompliance,
             {kComplianceFp});
  MustCreate(*store_, "ops", "Hub Operator", Role::kOperator, {kOperatorFp});
  MustCreate(*store_, "gamma", "Gamma Games", Role::kMember, {kSuspendedFp});

  MemberChangeCommand revoke;
  revoke.member_id = "alpha";
  revoke.change = MemberChangeCommand::Change::kRevokeFingerprint;
  revoke.fingerprint = kAlphaRevokedFp;
  MustChange(*store_, std::move(revoke));
  MemberChangeCommand suspend;
  suspend.member_id = "gamma";
  suspend.change = MemberChangeCommand::Change::kSuspend;
  suspend.reason = "under review";
  MustChange(*store_, std::move(suspend));

  metrics_ = std::make_unique<HubMetrics>();
  ApiOptions api;
  api.rate_limits = options.rate_limits;
  api.oprf = std::move(options.oprf);
  api.keyring = std::move(options.keyring);
  api.clock_stepped = std::move(options.clock_stepped);
  api.steady_now = [this] {
    return std::chrono::steady_clock::time_point{} + std::chrono::hours(1) +
           std::chrono::milliseconds(steady_ms_.load());
  };
  router_ = std::make_unique<ApiRouter>(*store_, *metrics_, std::move(api));
}

// The router goes first: callbacks still queued in the store hold calls
// that point at the metrics.
ApiFixture::~ApiFixture() {
  router_.reset();
  store_.reset();
}

Response ApiFixture::Call(http::verb method, const std::string& target,
                          const std::string& body,
                          const std::string& fingerprint,
                          const Headers& headers) {
  HttpRequest request{method, target, 11};
  for (const auto& [name, value] : headers) request.set(name, value);
  request.body() = body;
  request.prepare_payload();
  return Answer(std::move(request), fingerprint, false);
}

namespace {

HttpRequest HeaderOnly(http::verb method, const std::string& target,
                       Headers headers) {
  HttpRequest request{method, target, 11};
  const bool has_type = std::any_of(
      headers.begin(), headers.end(),
      [](const auto& h) { return Lower(h.first) == "content-type"; });
  if ((method == http::verb::post || method == http::verb::put) && !has_type) {
    headers.emplace_back("Content-Type", "application/json");
  }
  for (const auto& [name, value] : headers) request.set(name, value);
  return request;
}

}  // namespace

bool ApiFixture::WantsBody(http::verb method, const std::string& target,
                           const std::string& fingerprint, Headers headers) {
  HttpRequest request = HeaderOnly(method, target, std::move(headers));
  request.content_length(100);
  return router_->WantsBody(
      request.base(),
      PeerIdentity{fingerprint, "CN=api-test", "127.0.0.1:40000"});
}

Response ApiFixture::CallSkippedBody(http::verb method,
                                     const std::string& target,
                                     const std::string& fingerprint,
                                     Headers headers) {
  HttpRequest request = HeaderOnly(method, target, std::move(headers));
  request.content_length(100);
  return Answer(std::move(request), fingerprint, true);
}

Response ApiFixture::Answer(HttpRequest request, const std::string& fingerprint,
                            bool body_skipped) {
  PeerIdentity peer{fingerprint, "CN=api-test", "127.0.0.1:40000"};

  auto promise = std::make_shared<std::promise<HttpResponse>>();
  auto future = promise->get_future();
  auto answered = std::make_shared<std::atomic<int>>(0);
  auto respond = [promise, answered](HttpResponse response) {
    if (answered->fetch_add(1) == 0) {
      promise->set_value(std::move(response));
    }
  };
  if (body_skipped) {
    router_->HandleSkippedBody(std::move(request), peer, std::move(respond));
  } else {
    router_->Handle(std::move(request), peer, std::move(respond));
  }
  Response out;
  if (future.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    out.body = "<no answer within 10 s>";
    return out;
  }
  HttpResponse response = future.get();
  out.status = static_cast<int>(response.result_int());
  out.body = response.body();
  for (const auto& field : response) {
    out.headers[Lower(std::string(field.name_string()))] =
        std::string(field.value());
  }
  return out;
}

Response ApiFixture::Get(const std::string& target,
                         const std::string& fingerprint) {
  return Call(http::verb::get, target, "", fingerprint);
}

Response ApiFixture::Post(const std::string& target, const std::string& body,
                          const std::string& fingerprint, Headers headers) {
  bool has_type = false;
  for (const auto& h : headers) {
    if (Lower(h.first) == "content-type") has_type = true;
  }
  if (!has_type) headers.emplace_back("Content-Type", "application/json");
  return Call(http::verb::post, target, body, fingerprint, headers);
}

Response ApiFixture::Put(const std::string& target, const std::string& body,
                         const std::string& fingerprint) {
  return Call(http::verb::put, target, body, fingerprint,
              {{"Content-Type", "application/json"}});
}

StoreSnapshot TakeSnapshot(ApiFixture& fixture) {
  StoreSnapshot s;
  Store& store = fixture.store();
  const StoreStats stats = store.Stats();
  s.transactions = stats.transactions;
  s.operations = stats.operations;
  s.index_signals = stats.index_signals;
  s.index_keys = stats.index_keys;
  std::ostringstream members;
  for (const auto& m : store.ListMembers()) {
    members << m.member_id << " roles=" << int(m.roles)
            << " suspended=" << m.suspended << " reason=" << m.suspended_reason
            << " fps=";
    for (const auto& fp : m.fingerprints) {
      members << fp.fingerprint << (fp.revoked ? "(revoked)" : "") << ",";
    }
    members << "\n";
  }
  s.members = members.str();
  for (const char* member : {"alpha", "beta", "gamma"}) {
    std::ostringstream stream;
    stream << member << " feed:";
    if (auto feed = store.Feed(member, 0, 10000)) {
      for (const auto& e : feed->events) {
        stream << " " << e.seq << "/" << int(e.type) << "/" << e.signal_id;
      }
      stream << " cursor=" << feed->cursor;
    } else {
      stream << " error " << feed.error().ToString();
    }
    stream << " notifications:";
    if (auto n = store.Notifications(member, 0, 10000)) {
      for (const auto& e : n->notifications) {
        stream << " " << e.seq << "/" << e.match_id << "/" << e.still_supported;
      }
      stream << " cursor=" << n->cursor;
    } else {
      stream << " error " << n.error().ToString();
    }
    s.streams.push_back(stream.str());
  }
  s.rows = RowCounts(fixture.db_path());
  return s;
}

bool SameData(const StoreSnapshot& a, const StoreSnapshot& b) {
  // A request the store refuses is still audited, with its error code as
  // the entry's result (docs/protocol.md, "Audit log").
  auto data_rows = [](std::map<std::string, std::int64_t> rows) {
    rows.erase("audit_log");
    rows.erase("audit_checkpoints");
    return rows;
  };
  return a.index_signals == b.index_signals && a.index_keys == b.index_keys &&
         a.members == b.members && a.streams == b.streams &&
         data_rows(a.rows) == data_rows(b.rows);
}

std::string Describe(const StoreSnapshot& s) {
  std::ostringstream out;
  out << "transactions=" << s.transactions << " operations=" << s.operations
      << " index_signals=" << s.index_signals << " index_keys=" << s.index_keys
      << "\n"
      << s.members;
  for (const auto& line : s.streams) out << line << "\n";
  for (const auto& [table, count] : s.rows) {
    out << table << "=" << count << " ";
  }
  return out.str();
}

std::string HexToken(std::uint64_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(64, '0');
  for (int i = 63; i >= 0 && n != 0; --i, n >>= 4) out[i] = kHex[n & 0xf];
  return out;
}

std::string SignalJson(std::uint64_t n, const std::string& extra,
                       const std::string& kind, const std::string& category) {
  return R"({"kind":")" + kind + R"(","token":")" + HexToken(n) +
         R"(","category":")" + category +
         R"(","severity":"high","banned_at":")" + kBannedAt + "\"" + extra +
         "}";
}

std::string SubmitBody(const std::vector<std::uint64_t>& tokens,
                       const std::string& extra) {
  std::string body = R"({"signals":[)";
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (i) body += ",";
    body += SignalJson(tokens[i], extra);
  }
  return body + "]}";
}

std::string QueryBody(const std::vector<std::uint64_t>& tokens) {
  std::string body = R"({"queries":[)";
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (i) body += ",";
    body += R"({"kind":"email","token":")" + HexToken(tokens[i]) + "\"}";
  }
  return body + "]}";
}

bool WriteFile(const std::string& path, const std::string& body) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << body;
  return static_cast<bool>(out);
}

int ValidateAgainstSchemas(
    const std::vector<std::pair<std::string, std::vector<std::string>>>& groups,
    std::string* output) {
  std::vector<std::string> argv = {
      CAIRN_PYTHON3,
      std::string(CAIRN_SOURCE_DIR) + "/tests/schemas/validate_response.py"};
  for (const auto& [schema, files] : groups) {
    if (argv.size() > 2) argv.push_back("--");
    argv.push_back(schema);
    argv.insert(argv.end(), files.begin(), files.end());
  }
  const auto result =
      cairn::testing::RunCommand(argv, std::chrono::seconds(120));
  if (output) *output += result.out + result.err;
  return result.exit_code;
}

}  // namespace cairn::server::apitest
