// Shared helpers for the store tests: a temporary data directory, a manual
// clock and shorthands for building commands.
#ifndef CAIRN_TESTS_SERVER_STORE_TEST_UTIL_H_
#define CAIRN_TESTS_SERVER_STORE_TEST_UTIL_H_

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "server/src/store/store.h"
#include "support/sqlite_query.h"

namespace cairn::server::testing {

// 2026-11-23T14:00:00Z
constexpr std::int64_t kStart = 1795442400;

class ManualClock {
 public:
  sys_seconds Now() const { return sys_seconds{std::chrono::seconds{now_}}; }
  void Advance(std::chrono::seconds s) { now_ += s.count(); }
  Clock AsClock() {
    return [this] { return Now(); };
  }

 private:
  std::atomic<std::int64_t> now_{kStart};
};

// A fresh directory under the system temp dir, removed at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A store in a temp dir with members alpha, beta, gamma (role member) and
// an operator "ops".
class StoreFixture {
 public:
  StoreFixture();
  SqliteStoreOptions Options();
  void Reopen();
  // Sets `customise` and reopens the store with it.
  void ReopenWith(std::function<void(SqliteStoreOptions&)> change);
  Store& store() { return *store_; }
  std::unique_ptr<Store>& store_ptr() { return store_; }

  ManualClock clock;
  TempDir dir;
  // Applied to Options() on every Reopen(), for tests of store options.
  std::function<void(SqliteStoreOptions&)> customise;

 private:
  std::unique_ptr<Store> store_;
};

std::string Fingerprint(int n);
Token TokenOf(int n);
TokenKey KeyOf(int n, std::string kind = "email");

SignalSubmission Signal(int token, Category category = Category::kGrooming,
                        Severity severity = Severity::kHigh);

Result<SubmitOutcome> SubmitOne(Store& store, const std::string& member,
                                SignalSubmission item);
Result<QueryOutcome> QueryTokens(Store& store, const std::string& member,
                                 std::vector<int> tokens);

// Runs `sql` on a read-write connection (tampering with copies, setting
// up old schema versions).
void ExecSql(const std::filesystem::path& db, const std::string& sql);
// Takes a closed database's notifications back to schema 11: no
// member_seq, none of its purge floors, no notifications_legacy.
void NotificationsToSchema11(const std::filesystem::path& db);
// The single integer `sql` selects (tests/support/sqlite_query.h).
using cairn::testing::QueryInt64;

}  // namespace cairn::server::testing

#endif  // CAIRN_TESTS_SERVER_STORE_TEST_UTIL_H_
