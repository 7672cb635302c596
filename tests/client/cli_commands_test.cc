// The cairn CLI's commands below the command line: which rows a source
// yields, how a submit row becomes a Ban, and the settings a client needs.
// The commands against a real hub are in cli_test.cc.
#include <catch2/catch.hpp>

#include <unistd.h>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "cairn/oprf.h"
#include "cairn/testing/fake_hub.h"
#include "cairn/token.h"
#include "cairn/wire.h"
#include "client/src/cli/batch_commands.h"
#include "client/src/cli/command_support.h"
#include "client/src/cli/hub_commands.h"
#include "client/src/cli/settings.h"
#include "client/src/cli/voprf_trace.h"
#include "tests/client/recording_connection.h"

namespace cairn::cli {
namespace {

InputRow Row(std::map<std::string, std::string, std::less<>> fields) {
  InputRow row;
  row.line = 1;
  row.fields = std::move(fields);
  return row;
}

TEST_CASE("row source: VALUE arguments and refs become numbered rows",
          "[cli]") {
  RowSource src;
  src.kind = "email";
  src.values = {"a@example.com", "b@example.com"};
  src.refs = {"case-1"};
  auto rows = src.Rows();
  REQUIRE(rows);
  REQUIRE(rows->size() == 3);
  CHECK((*rows)[0].line == 1);
  CHECK((*rows)[0].Get("kind") == "email");
  CHECK((*rows)[1].Get("value") == "b@example.com");
  CHECK((*rows)[2].line == 3);
  CHECK((*rows)[2].Get("ref") == "case-1");
  CHECK((*rows)[2].Get("value").empty());
}

TEST_CASE("row source: --skip drops the rows already done", "[cli]") {
  const auto path = std::filesystem::temp_directory_path() /
                    ("cairn-cli-rows-" + std::to_string(::getpid()) + ".csv");
  {
    std::ofstream out(path);
    out << "kind,value\nemail,a@example.com\nemail,b@example.com\n"
           "email,c@example.com\n";
  }
  RowSource src;
  src.file = path.string();
  src.skip = 2;
  auto rows = src.Rows();
  REQUIRE(rows);
  REQUIRE(rows->size() == 1);
  CHECK((*rows)[0].Get("value") == "c@example.com");
  src.skip = 10;  // past the end: nothing left, not an error
  rows = src.Rows();
  REQUIRE(rows);
  CHECK(rows->empty());
  std::filesystem::remove(path);
}

TEST_CASE("row source: refused combinations say what to give", "[cli]") {
  struct Case {
    const char* name;
    RowSource src;
    ErrorCode code;
    const char* says;
  };
  RowSource both;
  both.file = "rows.csv";
  both.kind = "email";
  both.values = {"a@example.com"};
  RowSource no_kind;
  no_kind.values = {"a@example.com"};
  RowSource missing_file;
  missing_file.file = "/nonexistent/cairn-rows.csv";
  const Case cases[] = {
      {"file and values", both, ErrorCode::kInvalidArgument, "not both"},
      {"values without kind", no_kind, ErrorCode::kInvalidArgument,
       "--kind is required"},
      {"nothing", RowSource{}, ErrorCode::kInvalidArgument, "nothing to do"},
      {"unreadable file", missing_file, ErrorCode::kIo, "cairn-rows.csv"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    auto rows = c.src.Rows();
    REQUIRE_FALSE(rows);
    CHECK(rows.error().code == c.code);
    CHECK_THAT(rows.error().message, Catch::Contains(c.says));
  }
}

// A scratch input file, removed when the test ends.
class TempInput {
 public:
  TempInput(const std::string& name, const std::string& text)
      : path_(std::filesystem::temp_directory_path() /
              ("cairn-cli-" + std::to_string(::getpid()) + "-" + name)) {
    std::ofstream out(path_, std::ios::binary);
    out << text;
  }
  ~TempInput() { std::filesystem::remove(path_); }
  TempInput(const TempInput&) = delete;
  TempInput& operator=(const TempInput&) = delete;
  std::string Path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

TEST_CASE("input files: CRLF line ends and a byte order mark are not data",
          "[cli]") {
  struct Case {
    const char* name;
    const char* file;
    std::string text;
  };
  const std::string bom = "\xEF\xBB\xBF";
  const Case cases[] = {
      {"CRLF, quoted last field", "crlf.csv",
       "kind,value,region\r\nphone,\"07400 555012\",\"GB\"\r\n"},
      {"CRLF, plain last field", "crlf-plain.csv",
       "kind,value,region\r\nphone,07400 555012,GB\r\n"},
      {"blanks after a closing quote", "blanks.csv",
       "kind,value,region\nphone, \"07400 555012\" ,\"GB\"\t\n"},
      {"BOM, CSV", "bom.csv",
       bom + "kind,value,region\nphone,07400 555012,GB\n"},
      {"BOM, .jsonl", "bom.jsonl",
       bom + R"({"kind":"phone","value":"07400 555012","region":"GB"})"
             "\n"},
      {"BOM, JSON lines detected by content", "bom.txt",
       bom + R"({"kind":"phone","value":"07400 555012","region":"GB"})"
             "\n"},
      {"BOM and CRLF, JSON lines", "bom-crlf.txt",
       bom + R"({"kind":"phone","value":"07400 555012","region":"GB"})"
             "\r\n"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    TempInput input(c.file, c.text);
    RowSource src;
    src.file = input.Path();
    auto rows = src.Rows();
    REQUIRE(rows);
    REQUIRE(rows->size() == 1);
    CHECK((*rows)[0].Get("kind") == "phone");
    CHECK((*rows)[0].Get("value") == "07400 555012");
    CHECK((*rows)[0].Get("region") == "GB");
  }
}

TEST_CASE("input files: each malformed or incomplete file is refused by name",
          "[cli]") {
  struct Case {
    const char* name;
    const char* file;
    std::string text;
    std::vector<NeededColumn> needed;
    const char* says;
  };
  const std::vector<NeededColumn> query = {{"value", "", ""},
                                           {"kind", "--kind", ""}};
  const std::vector<NeededColumn> retract = {{"value", "", "ref"},
                                             {"kind", "--kind", "ref"}};
  const Case cases[] = {
      {"text after a closing quote",
       "after-quote.csv",
       "kind,value\nemail,\"a@example.com\"x\n",
       {},
       "after-quote.csv:2: 'x' after the closing quote of field 2"},
      {"control byte after a closing quote",
       "after-quote-cr.csv",
       "kind,value\nemail,\"a@example.com\"\r,x\n",
       {},
       "after-quote-cr.csv:2: byte 0x0D after the closing quote of field 2"},
      {"empty file", "empty.csv", "", {}, "empty.csv has no data rows"},
      {"only a byte order mark",
       "bom-only.jsonl",
       "\xEF\xBB\xBF\r\n",
       {},
       "bom-only.jsonl has no data rows"},
      {"only a header", "header-only.csv", "kind,value\r\n", query,
       "header-only.csv has no data rows"},
      {"CSV without value", "no-value.csv", "kind,region\nemail,GB\n", query,
       "no-value.csv: the header line has no 'value' column; add it (the "
       "columns are kind,region)"},
      {"CSV without kind or --kind", "no-kind.csv", "value\na@example.com\n",
       query, "the header line has no 'kind' column; add it or pass --kind"},
      {"JSON line without value", "no-value.jsonl",
       "{\"kind\":\"email\",\"value\":\"a@example.com\"}\n"
       "{\"kind\":\"email\"}\n",
       query, "no-value.jsonl:2: no 'value' field; add it"},
      {"retract CSV with neither value nor ref", "retract.csv",
       "kind,reason\nemail,error\n", retract,
       "no 'value' or 'ref' column; add it"},
      {"retract CSV with value but no kind", "retract-kind.csv",
       "value,reason\na@example.com,error\n", retract,
       "no 'kind' or 'ref' column; add it or pass --kind"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    TempInput input(c.file, c.text);
    RowSource src;
    src.file = input.Path();
    auto rows = src.Rows(c.needed);
    REQUIRE_FALSE(rows);
    CHECK(rows.error().code == ErrorCode::kInvalidArgument);
    CHECK_THAT(rows.error().message, Catch::Contains(c.says));
  }
  // A ref column is enough for retract; a kind comes from --kind.
  TempInput by_ref("by-ref.csv", "ref,reason\ncase-1,error\n");
  RowSource src;
  src.file = by_ref.Path();
  CHECK(src.Rows(retract));
  TempInput values("values.csv", "value\na@example.com\n");
  src.file = values.Path();
  const std::vector<NeededColumn> query_with_kind = {{"value", "", ""}};
  CHECK(src.Rows(query_with_kind));
}

TEST_CASE("resume hint: counts the rows done from 1, with the --skip to give",
          "[cli]") {
  struct Case {
    std::size_t skip;
    std::size_t done;
    const char* says;
  };
  const Case cases[] = {
      {0, 0, "; no rows are done yet: rerun the same command to start again"},
      {0, 1, "; row 1 is done: rerun with --skip 1 to resume"},
      {0, 10000, "; rows 1..10000 are done: rerun with --skip 10000 to resume"},
      {5, 0, "; rows 1..5 are done: rerun with --skip 5 to resume"},
      {5, 10000, "; rows 1..10005 are done: rerun with --skip 10005 to resume"},
  };
  RowSource src;
  src.file = "rows.csv";
  for (const auto& c : cases) {
    CAPTURE(c.skip, c.done);
    src.skip = c.skip;
    CHECK(ResumeHint(src, c.done) == c.says);
  }
  RowSource values;
  values.kind = "email";
  values.values = {"a@example.com"};
  CHECK(ResumeHint(values, 0).empty());
}

TEST_CASE("submit rows: columns override the flags' defaults", "[cli]") {
  RowSource src;
  src.kind = "email";
  SubmitDefaults d;
  d.category = "grooming";
  d.severity = "high";
  d.banned_at = "2026-11-01T10:00:00Z";
  Settings settings;
  settings.region = "GB";

  auto plain = BanFromRow(Row({{"value", "a@example.com"}}), src, d, settings);
  REQUIRE(plain);
  CHECK(plain->identifier.kind() == "email");
  CHECK(plain->identifier.value() == "a@example.com");
  CHECK(plain->category == Category::kGrooming);
  CHECK(plain->severity == Severity::kHigh);
  CHECK(plain->banned_at ==
        std::chrono::sys_days{std::chrono::November / 1 / 2026} +
            std::chrono::hours(10));
  CHECK_FALSE(plain->expires_at);
  CHECK_FALSE(plain->attribution);
  CHECK_FALSE(plain->ref);

  auto full = BanFromRow(Row({{"kind", "phone"},
                              {"value", "020 7946 0958"},
                              {"category", "sextortion"},
                              {"severity", "critical"},
                              {"expires_at", "2027-01-01T00:00:00Z"},
                              {"attribution", "yes"},
                              {"ref", "case-9"}}),
                         src, d, settings);
  REQUIRE(full);
  CHECK(full->identifier.kind() == "phone");
  CHECK(full->identifier.region() == "GB");
  CHECK(full->category == Category::kSextortion);
  CHECK(full->severity == Severity::kCritical);
  REQUIRE(full->expires_at);
  CHECK(full->attribution);
  CHECK(full->ref == "case-9");
}

TEST_CASE("submit rows: each bad column fails its row by name", "[cli]") {
  struct Case {
    const char* column;
    const char* value;
    const char* says;
  };
  const Case cases[] = {
      {"category", "groming", "category 'groming' is not one of"},
      {"severity", "urgent", "severity 'urgent' is not one of"},
      {"banned_at", "yesterday", "banned_at 'yesterday': expected an RFC 3339"},
      {"expires_at", "2027-13-01T00:00:00Z",
       "expires_at '2027-13-01T00:00:00Z': expected"},
      // A typo must not silently decide whether the member is named.
      {"attribution", "ture", "attribution 'ture' is not one of"},
      {"attribution", "TRUE", "attribution 'TRUE' is not one of"},
  };
  RowSource src;
  src.kind = "email";
  SubmitDefaults d;
  d.category = "grooming";
  d.severity = "high";
  for (const auto& c : cases) {
    CAPTURE(c.column, c.value);
    auto ban =
        BanFromRow(Row({{"value", "a@example.com"}, {c.column, c.value}}), src,
                   d, Settings{});
    REQUIRE_FALSE(ban);
    CHECK(ban.error().code == ErrorCode::kInvalidArgument);
    CHECK_THAT(ban.error().message, Catch::Contains(c.says));
  }
  for (const char* no : {"false", "no", "0"}) {
    CAPTURE(no);
    auto ban =
        BanFromRow(Row({{"value", "a@example.com"}, {"attribution", no}}), src,
                   d, Settings{});
    REQUIRE(ban);
    CHECK_FALSE(ban->attribution);
  }
}

TEST_CASE("client settings: each missing one is named with where to set it",
          "[cli]") {
  Settings full;
  full.hub = "https://127.0.0.1:1";
  full.cert = "alpha.crt";
  full.key = "alpha.key";
  full.cacert = "ca.crt";
  full.consortium_key = "consortium.key";
  struct Case {
    std::string Settings::*field;
    const char* says;
  };
  const Case cases[] = {
      {&Settings::hub, "pass --hub"},
      {&Settings::cert, "pass --cert"},
      {&Settings::key, "pass --key"},
      {&Settings::cacert, "pass --cacert"},
      {&Settings::consortium_key, "pass --consortium-key"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.says);
    Settings s = full;
    s.*c.field = "";
    auto client = BuildClient(s, "hmac-v1");
    REQUIRE_FALSE(client);
    CHECK(client.error().code == ErrorCode::kInvalidArgument);
    CHECK_THAT(client.error().message, Catch::Contains(c.says));
  }
}

Error ErrorOf(ErrorCode code) {
  Error e;
  e.code = code;
  e.message = "test";
  return e;
}

TEST_CASE("exit codes follow the error's kind", "[cli]") {
  // The table in `cairn --help` and docs/integration-guide.md.
  struct Case {
    const char* what;
    Error error;
    int exit_code;
  };
  const Case cases[] = {
      // Nothing was done; trying again later is safe.
      {"not reached", ErrorOf(ErrorCode::kUnavailable), kExitTryLater},
      {"hub busy (503)",
       Error{ErrorCode::kUnavailable,
             "the store could not commit this request, nothing was changed", "",
             std::nullopt},
       kExitTryLater},
      {"rate limited (429)", ErrorOf(ErrorCode::kRateLimited), kExitTryLater},
      // Sent, but no answer came: it may have been carried out.
      {"reply lost", ErrorOf(ErrorCode::kIo), kExitOutcomeUnknown},
      {"hub shut down before answering (503)",
       Error{ErrorCode::kUnavailable,
             "the hub shut down before answering, and this request may still "
             "have been carried out: once the hub is back, ...",
             "", std::nullopt},
       kExitOutcomeUnknown},
      // The hub answered no.
      {"permission denied", ErrorOf(ErrorCode::kPermissionDenied),
       kExitRefused},
      {"invalid argument", ErrorOf(ErrorCode::kInvalidArgument), kExitRefused},
      {"not found", ErrorOf(ErrorCode::kNotFound), kExitRefused},
      {"conflict", ErrorOf(ErrorCode::kConflict), kExitRefused},
      {"cursor expired", ErrorOf(ErrorCode::kCursorExpired), kExitRefused},
      {"internal", ErrorOf(ErrorCode::kInternal), kExitRefused},
      {"crypto", ErrorOf(ErrorCode::kCrypto), kExitRefused},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    CHECK(CallExit(c.error) == c.exit_code);
  }
  CHECK(kExitTryLater == 3);
  CHECK(kExitLocalFile == 4);
  CHECK(kExitOutcomeUnknown == 5);
  CHECK(LocalFileExit(ErrorOf(ErrorCode::kIo)) == kExitLocalFile);
  CHECK(LocalFileExit(ErrorOf(ErrorCode::kNotFound)) == kExitLocalFile);
  CHECK(LocalFileExit(ErrorOf(ErrorCode::kInvalidArgument)) == kExitUsage);
  // A key file that others may read is there but misconfigured.
  CHECK(LocalFileExit(ErrorOf(ErrorCode::kPermissionDenied)) == kExitUsage);
}

// A hub connection that fails every request with `error`, or answers it
// with `status` and `body`.
class ScriptedConnection final : public Connection {
 public:
  explicit ScriptedConnection(Result<HttpReply> reply)
      : reply_(std::move(reply)) {}
  Result<HttpReply> Send(const HttpRequest&) override { return reply_; }

 private:
  Result<HttpReply> reply_;
};

// What `run` writes to file descriptor `fd` (`stream`'s), and its result.
template <typename Run>
std::pair<int, std::string> CaptureOutput(int fd, std::FILE* stream, Run run) {
  char path[] = "/tmp/cairn-cli-capture.XXXXXX";
  const int file = ::mkstemp(path);
  REQUIRE(file >= 0);
  std::fflush(stream);
  const int saved = ::dup(fd);
  ::dup2(file, fd);
  const int code = run();
  std::fflush(stream);
  ::dup2(saved, fd);
  ::close(saved);
  ::close(file);
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  std::filesystem::remove(path);
  return {code, text};
}

// What `run` writes to stderr, and its result.
template <typename Run>
std::pair<int, std::string> CaptureStderr(Run run) {
  return CaptureOutput(2, stderr, std::move(run));
}

TEST_CASE(
    "exit codes: a lost reply, or a proxy's 502, 504 or body-less 5xx, is "
    "'outcome unknown', a hub that answered 503 or 429 is 'try again later'",
    "[cli]") {
  struct Case {
    const char* what;
    Result<HttpReply> reply;
    int exit_code;
  };
  const Case cases[] = {
      {"lost reply",
       tl::unexpected(Error{ErrorCode::kIo,
                            "reading the hub's reply failed: end of stream; "
                            "the request may or may not have been processed",
                            "", std::nullopt}),
       kExitOutcomeUnknown},
      {"not reached",
       tl::unexpected(Error{ErrorCode::kUnavailable,
                            "cannot connect to https://127.0.0.1:1: "
                            "Connection refused",
                            "", std::nullopt}),
       kExitTryLater},
      {"hub's 503, nothing was changed",
       HttpReply{503,
                 R"({"error":{"code":"unavailable","message":"the store )"
                 R"(could not commit this request, nothing was changed"}})",
                 {}},
       kExitTryLater},
      // From a proxy in front of the hub: the request may have reached the
      // hub and been carried out, only the answer was lost.
      {"proxy's 502", HttpReply{502, "<html>502 Bad Gateway</html>", {}},
       kExitOutcomeUnknown},
      {"proxy's 504", HttpReply{504, "<html>504 Gateway Time-out</html>", {}},
       kExitOutcomeUnknown},
      {"504 with an error body",
       HttpReply{504,
                 R"({"error":{"code":"unavailable","message":"upstream )"
                 R"(timed out"}})",
                 {}},
       kExitOutcomeUnknown},
      {"body-less 500", HttpReply{500, "", {}}, kExitOutcomeUnknown},
      {"body-less 503", HttpReply{503, "Service Unavailable", {}},
       kExitOutcomeUnknown},
      {"429",
       HttpReply{429,
                 R"({"error":{"code":"rate_limited","message":"slow down"}})",
                 {}},
       kExitTryLater},
      {"403",
       HttpReply{
           403,
           R"({"error":{"code":"permission_denied","message":"suspended"}})",
           {}},
       kExitRefused},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    ClientOptions options;
    options.retry.max_attempts = 1;
    options.require_consortium_key = false;
    auto client =
        MakeClient(options, std::make_shared<ScriptedConnection>(c.reply));
    REQUIRE(client);
    auto [code, err] = CaptureStderr([&] {
      return RunDispose(*client, "m_" + std::string(32, 'a'), "confirmed", "",
                        false);
    });
    CHECK(code == c.exit_code);
    if (c.exit_code == kExitOutcomeUnknown) {
      // Never "repeating is safe" for a disposition that may be recorded.
      CHECK_THAT(err, Catch::Contains(std::string(kRepeatDispose)));
      CHECK_THAT(err, !Catch::Contains("nothing was carried out"));
    }
    CHECK(RunMe(*client, false) == c.exit_code);
  }
}

TEST_CASE(
    "cairn token --scheme voprf-v1: a hub's error reply is the SDK's error, "
    "so it exits as the other commands do",
    "[cli]") {
  struct Case {
    const char* what;
    HttpReply reply;
    int exit_code;
  };
  const Case cases[] = {
      {"proxy's 502", HttpReply{502, "<html>502 Bad Gateway</html>", {}},
       kExitOutcomeUnknown},
      {"proxy's 504", HttpReply{504, "<html>504 Gateway Time-out</html>", {}},
       kExitOutcomeUnknown},
      {"504 with an error body",
       HttpReply{504,
                 R"({"error":{"code":"unavailable","message":"upstream )"
                 R"(timed out"}})",
                 {}},
       kExitOutcomeUnknown},
      {"body-less 500", HttpReply{500, "", {}}, kExitOutcomeUnknown},
      {"body-less 503", HttpReply{503, "Service Unavailable", {}},
       kExitOutcomeUnknown},
      {"hub's 503, nothing was changed",
       HttpReply{503,
                 R"({"error":{"code":"unavailable","message":"the store )"
                 R"(could not commit this request, nothing was changed"}})",
                 {{"X-Request-Id", "r_1"}}},
       kExitTryLater},
      {"hub's 429",
       HttpReply{429,
                 R"({"error":{"code":"rate_limited","message":"slow down"}})",
                 {{"Retry-After", "7"}}},
       kExitTryLater},
      {"body-less 429", HttpReply{429, "Too Many Requests", {}}, kExitTryLater},
      {"body-less 404", HttpReply{404, "<html>not found</html>", {}},
       kExitRefused},
      {"hub's 403, certificate not registered",
       HttpReply{403,
                 R"({"error":{"code":"permission_denied","message":"the )"
                 R"(client certificate is not registered to any member"}})",
                 {}},
       kExitRefused},
      {"hub's 500",
       HttpReply{500,
                 R"({"error":{"code":"internal","message":"a )"
                 R"(bug"}})",
                 {}},
       kExitRefused},
  };
  // The hub's answer to GET /v1/me, with an OPRF key so that the trace goes
  // on to POST /v1/oprf/evaluate.
  auto hub = std::make_shared<testing::FakeHub>();
  HttpReply me = hub->Handle("alpha", HttpRequest{"GET", "/v1/me", {}, {}});
  auto decoded = wire::DecodeMeResponse(me.body);
  REQUIRE(decoded);
  decoded->oprf = wire::OprfInfo{};
  decoded->oprf->epoch = 1;
  decoded->oprf->public_key = oprf::GenerateKeyPair().public_key;
  me.body = wire::Encode(*decoded);
  const std::vector<Token> inputs(2, Token{});
  for (const auto& c : cases) {
    CAPTURE(c.what);
    ClientOptions options;
    options.retry.max_attempts = 1;
    options.require_consortium_key = false;
    // What an SDK call gets for this reply.
    auto client =
        MakeClient(options, std::make_shared<ScriptedConnection>(c.reply));
    REQUIRE(client);
    auto sdk = client->Me();
    REQUIRE_FALSE(sdk);
    CHECK(CallExit(sdk.error()) == c.exit_code);
    for (const char* failing : {"/v1/me", "/v1/oprf/evaluate"}) {
      CAPTURE(failing);
      auto connection = std::make_shared<testing::RecordingConnection>(
          [&](const HttpRequest& request) -> Result<HttpReply> {
            return request.target == failing ? c.reply : me;
          });
      auto trace = TraceVoprf(*connection, options, inputs);
      REQUIRE_FALSE(trace);
      CHECK(connection->requests().back().target == failing);
      CHECK(trace.error().code == sdk.error().code);
      CHECK(trace.error().message == sdk.error().message);
      CHECK(CallExit(trace.error()) == c.exit_code);
    }
  }
}

// Files that exist (BuildClient opens the TLS files to say why one
// cannot be read; their contents are the SDK's to check).
struct TlsFiles {
  TlsFiles() {
    std::filesystem::create_directories(dir);
    for (const std::string* path : {&cert, &key, &cacert}) {
      std::ofstream(*path) << "not checked here\n";
    }
  }
  ~TlsFiles() { std::filesystem::remove_all(dir); }
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("cairn-cli-tls-" + std::to_string(::getpid()));
  std::string cert = (dir / "alpha.crt").string();
  std::string key = (dir / "alpha.key").string();
  std::string cacert = (dir / "ca.crt").string();
};

TEST_CASE(
    "a client certificate, key or CA bundle that cannot be opened is a "
    "local file error naming the flag and the reason",
    "[cli]") {
  TlsFiles tls;
  Settings full;
  full.hub = "https://127.0.0.1:1";
  full.cert = tls.cert;
  full.key = tls.key;
  full.cacert = tls.cacert;
  full.consortium_key = "/nonexistent/cairn-consortium.key";
  struct Case {
    std::string Settings::*field;
    const char* flag;
  };
  const Case cases[] = {
      {&Settings::cert, "--cert FILE, CAIRN_CERT or cert"},
      {&Settings::key, "--key FILE, CAIRN_KEY or key"},
      {&Settings::cacert, "--cacert FILE, CAIRN_CACERT or cacert"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.flag);
    Settings s = full;
    s.*c.field = "/nonexistent/cairn-tls-file.pem";
    auto client = BuildClient(s, "hmac-v1");
    REQUIRE_FALSE(client);
    CHECK(client.error().code == ErrorCode::kNotFound);
    CHECK(LocalFileExit(client.error()) == kExitLocalFile);
    CHECK_THAT(client.error().message,
               Catch::Contains("'/nonexistent/cairn-tls-file.pem': No such "
                               "file or directory") &&
                   Catch::Contains(c.flag));
  }
}

TEST_CASE("exit codes: a missing consortium key file is a local file error",
          "[cli]") {
  const std::string path = "/nonexistent/cairn-consortium.key";
  auto key = LoadConsortiumKey(path);
  REQUIRE_FALSE(key);
  CHECK(LocalFileExit(key.error()) == kExitLocalFile);

  TlsFiles tls;
  Settings s;
  s.hub = "https://127.0.0.1:1";
  s.cert = tls.cert;
  s.key = tls.key;
  s.cacert = tls.cacert;
  s.consortium_key = path;
  auto client = BuildClient(s, "hmac-v1");
  REQUIRE_FALSE(client);
  CHECK_THAT(client.error().message, Catch::Contains(path));
  CHECK(LocalFileExit(client.error()) == kExitLocalFile);
}

TEST_CASE("settings: only the default config file may be absent", "[cli]") {
  const std::string missing = "/nonexistent/cairn/config.toml";
  auto by_default = LoadSettings(ConfigFile{missing, false});
  CHECK(by_default);
  auto none = LoadSettings(ConfigFile{"", true});
  CHECK(none);

  struct Case {
    const char* name;
    std::string path;
    ErrorCode code;
    std::string says;
  };
  const std::string directory = std::filesystem::temp_directory_path().string();
  const Case cases[] = {
      {"missing", missing, ErrorCode::kNotFound,
       "config file " + missing + " does not exist; fix the path"},
      {"unreadable (a directory)", directory, ErrorCode::kIo,
       "cannot read config file " + directory},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    auto settings = LoadSettings(ConfigFile{c.path, true});
    REQUIRE_FALSE(settings);
    CHECK(settings.error().code == c.code);
    CHECK_THAT(settings.error().message, Catch::Contains(c.says));
    CHECK(LocalFileExit(settings.error()) == kExitLocalFile);
  }
}

// What `run` writes to stdout, and its result.
template <typename Run>
std::pair<int, std::string> CaptureStdout(Run run) {
  return CaptureOutput(1, stdout, std::move(run));
}

TEST_CASE(
    "query: a refused row is a line of the table and of --json, with status "
    "error, in row order",
    "[cli]") {
  auto hub = std::make_shared<testing::FakeHub>();
  ClientOptions options;
  options.consortium_key = ConsortiumKey::Generate();
  auto alpha = MakeClient(options, hub->ConnectionFor("alpha"));
  auto beta = MakeClient(options, hub->ConnectionFor("beta"));
  REQUIRE(alpha);
  REQUIRE(beta);
  const Ban ban{Identifier::Email("banned@example.com"),
                Category::kGrooming,
                Severity::kHigh,
                std::chrono::floor<std::chrono::seconds>(
                    std::chrono::system_clock::now()),
                std::nullopt,
                false,
                std::nullopt};
  REQUIRE(alpha->Submit({ban}));
  RowSource src;
  src.kind = "email";
  src.values = {"no-at-sign", "banned@example.com", "also no at sign"};
  Settings settings;

  auto [code, table] =
      CaptureStdout([&] { return RunQuery(*beta, src, false, settings); });
  CHECK(code == kExitRefused);
  std::vector<std::string> lines;
  std::istringstream stream(table);
  for (std::string line; std::getline(stream, line);) lines.push_back(line);
  REQUIRE(lines.size() == 4);  // the header and three rows
  CHECK_THAT(lines[0], Catch::StartsWith("ROW"));
  CHECK_THAT(lines[1], Catch::StartsWith("1      email   error "));
  CHECK_THAT(lines[2], Catch::StartsWith("2      email   m_"));
  CHECK_THAT(lines[3], Catch::StartsWith("3      email   error "));

  auto [json_code, json] =
      CaptureStdout([&] { return RunQuery(*beta, src, true, settings); });
  CHECK(json_code == kExitRefused);
  lines.clear();
  std::istringstream json_stream(json);
  for (std::string line; std::getline(json_stream, line);) {
    lines.push_back(line);
  }
  REQUIRE(lines.size() == 3);
  CHECK_THAT(lines[0], Catch::StartsWith(R"({"row":1,"status":"error",)"));
  CHECK_THAT(lines[1], Catch::StartsWith(R"({"row":2,"status":"match",)"));
  CHECK_THAT(lines[2], Catch::StartsWith(R"({"row":3,"status":"error",)"));
}

}  // namespace
}  // namespace cairn::cli
