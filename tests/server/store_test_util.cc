#include "store_test_util.h"

#include <random>

#include <catch2/catch.hpp>

#include "cairn/encoding.h"
#include "server/src/store/sqlite_db.h"

namespace cairn::server::testing {

TempDir::TempDir() {
  std::random_device rd;
  path_ = std::filesystem::temp_directory_path() /
          ("cairn-store-test-" + std::to_string(rd()) + std::to_string(rd()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

StoreFixture::StoreFixture() {
  Reopen();
  for (const char* id : {"alpha", "beta", "gamma"}) {
    CreateMemberCommand c;
    c.member_id = id;
    c.name = std::string(id) + " platform";
    c.roles = RoleBit(Role::kMember);
    c.fingerprints = {Fingerprint(id[0])};
    REQUIRE(store_->CreateMemberAndWait(c).has_value());
  }
  CreateMemberCommand ops;
  ops.member_id = "ops";
  ops.name = "Hub operator";
  ops.roles = RoleBit(Role::kOperator);
  ops.fingerprints = {Fingerprint(1000)};
  REQUIRE(store_->CreateMemberAndWait(ops).has_value());
}

SqliteStoreOptions StoreFixture::Options() {
  SqliteStoreOptions o;
  o.db_path = dir.path() / "hub.db";
  o.clock = clock.AsClock();
  if (customise) customise(o);
  return o;
}

void StoreFixture::ReopenWith(std::function<void(SqliteStoreOptions&)> change) {
  customise = std::move(change);
  Reopen();
}

void StoreFixture::Reopen() {
  store_.reset();
  auto opened = OpenSqliteStore(Options());
  REQUIRE(opened.has_value());
  store_ = std::move(*opened);
}

std::string Fingerprint(int n) {
  std::array<std::uint8_t, 32> bytes{};
  bytes[0] = static_cast<std::uint8_t>(n & 0xff);
  bytes[1] = static_cast<std::uint8_t>(n >> 8);
  bytes[31] = 0xfe;
  return HexEncode(bytes);
}

Token TokenOf(int n) {
  // Deterministic but spread over all bytes, like real HMAC outputs.
  std::mt19937_64 rng(static_cast<std::uint64_t>(n) * 2654435761u + 17);
  Token t;
  for (auto& b : t) b = static_cast<std::uint8_t>(rng());
  return t;
}

TokenKey KeyOf(int n, std::string kind) {
  TokenKey k;
  k.kind = std::move(kind);
  k.token = TokenOf(n);
  return k;
}

SignalSubmission Signal(int token, Category category, Severity severity) {
  SignalSubmission s;
  s.key = KeyOf(token);
  s.category = category;
  s.severity = severity;
  s.banned_at = sys_seconds{std::chrono::seconds{kStart - 86400}};
  return s;
}

Result<SubmitOutcome> SubmitOne(Store& store, const std::string& member,
                                SignalSubmission item) {
  SubmitCommand c;
  c.member_id = member;
  c.items.push_back(std::move(item));
  return store.SubmitAndWait(std::move(c));
}

Result<QueryOutcome> QueryTokens(Store& store, const std::string& member,
                                 std::vector<int> tokens) {
  QueryCommand q;
  q.member_id = member;
  for (int t : tokens) q.items.push_back(KeyOf(t));
  return store.QueryAndWait(std::move(q));
}

void ExecSql(const std::filesystem::path& db_path, const std::string& sql) {
  auto db = Database::Open(db_path, false, false, std::chrono::seconds(5));
  REQUIRE(db.has_value());
  auto s = (*db)->Exec(sql);
  INFO(sql);
  REQUIRE(s.has_value());
}

// The database as schema 11 left it: no member_seq, no floors of it, and
// the head an older cairnd recorded (none before per-member cursors).
void NotificationsToSchema11(const std::filesystem::path& db) {
  ExecSql(db,
          "DROP INDEX notifications_by_member_seq;"
          " ALTER TABLE notifications DROP COLUMN member_seq;"
          " DELETE FROM seq_floors WHERE stream LIKE"
          " 'notifications_member_purged/%';"
          " DELETE FROM seq_floors WHERE stream ="
          " 'notifications_legacy';"
          " PRAGMA user_version = 11");
  REQUIRE(QueryInt64(db,
                     "SELECT count(*) FROM pragma_table_info('notifications')"
                     " WHERE name = 'member_seq'") == 0);
}

}  // namespace cairn::server::testing
