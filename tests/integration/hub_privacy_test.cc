// Privacy: the hub keeps no trace of tokens that matched nothing. After a
// run of non-matching queries, neither the database files nor the log hold
// any of those tokens, as hex or as raw bytes; the control (a token that
// was submitted) shows the search can find what is there.
#include <catch2/catch.hpp>

#include "cairn/encoding.h"
#include "tests/integration/integration_util.h"

namespace cairn::testing {
namespace {

struct Forms {
  std::string hex;
  std::string upper_hex;
  std::string raw;  // the 32 bytes
};

Forms FormsOf(const std::string& hex) {
  Forms f;
  f.hex = hex;
  f.upper_hex = hex;
  for (char& c : f.upper_hex) c = static_cast<char>(std::toupper(c));
  auto raw = HexDecode(hex);
  REQUIRE(raw);
  f.raw.assign(raw->begin(), raw->end());
  REQUIRE(f.raw.size() == 32);
  return f;
}

// The files that could hold a trace: the database with its WAL and shared
// memory, and the log.
std::vector<std::pair<std::string, std::string>> ReadTraces(
    const RunningHub& hub) {
  std::vector<std::pair<std::string, std::string>> files;
  for (const std::string& path :
       {hub.DbPath(), hub.DbPath() + "-wal", hub.DbPath() + "-shm",
        hub.LogPath(), hub.StderrPath()}) {
    files.emplace_back(path, ReadFileOrEmpty(path));
  }
  return files;
}

std::size_t CountTraces(
    const std::vector<std::pair<std::string, std::string>>& files,
    const std::vector<Forms>& tokens) {
  std::size_t found = 0;
  for (const auto& [path, bytes] : files) {
    for (const Forms& t : tokens) {
      for (const std::string* form : {&t.hex, &t.upper_hex, &t.raw}) {
        if (ContainsBytes(bytes, *form)) {
          UNSCOPED_INFO("token " << t.hex << " found in " << path);
          ++found;
        }
      }
    }
  }
  return found;
}

TEST_CASE("non-matching query tokens leave no trace in the db or the log") {
  // debug logging: the strictest setting an operator might run with.
  auto hub = RunningHub::Start({.log_level = "debug"});
  REQUIRE(hub);
  RunningHub& h = **hub;
  const std::string submitted = RandomTokenHex();
  REQUIRE(
      h.Curl("alpha", "POST", "/v1/signals", SubmitBody({{.token = submitted}}))
          .status == 200);

  auto beta = Connect(h, "beta");
  REQUIRE(beta);
  std::vector<Forms> misses;
  for (int request = 0; request < 40; ++request) {
    std::vector<std::pair<std::string, std::string>> queries;
    for (int i = 0; i < 25; ++i) {
      const std::string token = RandomTokenHex();
      misses.push_back(FormsOf(token));
      queries.emplace_back(i % 2 == 0 ? "email" : "phone", token);
    }
    auto reply = (*beta)->Send("POST", "/v1/query", QueryBody(queries));
    REQUIRE(reply);
    REQUIRE(reply->status == 200);
    auto doc = ParseJson(reply->body);
    REQUIRE(doc["matches"].Size() == 0);
  }
  // One query that matches, mixed with misses.
  const std::string miss_in_match = RandomTokenHex();
  misses.push_back(FormsOf(miss_in_match));
  auto hit = (*beta)->Send(
      "POST", "/v1/query",
      QueryBody({{"email", miss_in_match}, {"email", submitted}}));
  REQUIRE(hit);
  REQUIRE(ParseJson(hit->body)["matches"].Size() == 1);
  REQUIRE(misses.size() == 1001);

  // While cairnd runs (WAL not yet checkpointed)...
  const auto running = ReadTraces(h);
  CHECK(CountTraces(running, misses) == 0);
  // ...and after a clean stop.
  auto stopped = h.Stop();
  REQUIRE(stopped);
  const auto after = ReadTraces(h);
  CHECK(CountTraces(after, misses) == 0);

  // Control: the submitted token is in the database files, so the search
  // above would have found a stored token.
  std::vector<std::pair<std::string, std::string>> db_files(after.begin(),
                                                            after.begin() + 3);
  CHECK(CountTraces(db_files, {FormsOf(submitted)}) >= 1);
  CHECK_FALSE(after[0].second.empty());
}

}  // namespace
}  // namespace cairn::testing
