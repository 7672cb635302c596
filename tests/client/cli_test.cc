// The `cairn` command against a real cairnd: every command, config
// precedence and exit codes.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "cairn/encoding.h"
#include "cairn/token.h"
#include "support/running_hub.h"

namespace cairn {
namespace {

using namespace std::chrono_literals;
using testing::CommandResult;
using testing::RunningHub;

RunningHub& Hub() {
  static std::unique_ptr<RunningHub> hub = [] {
    auto started = RunningHub::Start();
    if (!started) FAIL("cannot start cairnd: " << started.error().ToString());
    return std::move(*started);
  }();
  return *hub;
}

const std::string& KeyFile() {
  static const std::string path = [] {
    std::string p = Hub().Scratch().File("consortium.key");
    (void)WriteNewConsortiumKey(p);
    return p;
  }();
  return path;
}

// Runs cairn with a clean environment, as `member` (with the consortium
// key; none of the connection flags for ""), plus `args`.
CommandResult Cairn(const std::string& member, std::vector<std::string> args,
                    const std::string& input = {}) {
  if (!member.empty()) {
    const std::vector<std::string> flags = Hub().ConnectionFlags(member);
    args.insert(args.end(), flags.begin(), flags.end());
    args.insert(args.end(), {"--consortium-key", KeyFile()});
  }
  return testing::RunCairn(args, input);
}

std::string Unique() { return testing::RandomTokenHex().substr(0, 10); }

TEST_CASE("cli: keygen writes a 0600 key and never overwrites") {
  const std::string path = Hub().Scratch().File("new-" + Unique() + ".key");
  auto first = Cairn("", {"keygen", path});
  CHECK(first.exit_code == 0);
  CHECK_THAT(first.out, Catch::Contains("key fingerprint"));
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto second = Cairn("", {"keygen", path});
  CHECK(second.exit_code == 4);  // a local file could not be written
  CHECK_THAT(second.err, Catch::Contains("refusing to overwrite"));
}

TEST_CASE("cli: token prints kind, normalised form and the SDK's token") {
  auto r = Cairn("", {"token", "--key", KeyFile(), "--kind", "email",
                      "Jane.Doe+x@GoogleMail.com"});
  REQUIRE(r.exit_code == 0);
  auto key = LoadConsortiumKey(KeyFile());
  REQUIRE(key);
  const auto token = *Tokenise(*key, "email", "janedoe@gmail.com");
  CHECK(r.out == "email\tjanedoe@gmail.com\t" + HexEncode(token) + "\n");

  auto json = Cairn("", {"token", "--key", KeyFile(), "--kind", "phone",
                         "--region", "GB", "--json", "020 7946 0958", "12"});
  CHECK(json.exit_code == 1);
  CHECK_THAT(json.out, Catch::Contains(R"("normalised":"+442079460958")"));
  CHECK_THAT(json.err,
             Catch::Contains("value 2: phone number not valid for region GB"));
}

TEST_CASE("cli: usage and configuration errors say what to do") {
  constexpr const char* kAnyFile = CAIRN_SOURCE_DIR "/CMakeLists.txt";
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    std::string message;
  } cases[] = {
      {{"token", "--kind", "email", "a@example.com"}, 2, "cairn keygen"},
      {{"me"}, 2, "no hub URL: pass --hub"},
      {{"query", "--hub", "https://127.0.0.1:1", "--cert", "c", "--key", "k",
        "--cacert", "ca"},
       2,
       "no consortium key"},
      {{"frobnicate"}, 2, ""},
      // A missing file is exit 4, like any local file that cannot be read.
      {{"token", "--key", "/nonexistent/consortium.key", "--kind", "email",
        "a@example.com"},
       4,
       "cannot open consortium key file /nonexistent/consortium.key"},
      // The TLS files are opened first (files that exist here: their
      // contents are not read before the consortium key).
      {{"query", "--hub", "https://127.0.0.1:1", "--cert", kAnyFile, "--key",
        kAnyFile, "--cacert", kAnyFile, "--consortium-key",
        "/nonexistent/consortium.key", "--kind", "email", "a@example.com"},
       4,
       "cannot open consortium key file /nonexistent/consortium.key"},
      {{"query", "--hub", "https://127.0.0.1:1", "--cert", "c", "--key",
        kAnyFile, "--cacert", kAnyFile, "--consortium-key",
        "/nonexistent/consortium.key", "--kind", "email", "a@example.com"},
       4,
       "cannot open the client certificate 'c': No such file or directory; "
       "check --cert FILE, CAIRN_CERT or cert in the config file"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.args);
    auto r = Cairn("", c.args);
    CHECK(r.exit_code == c.exit_code);
    CHECK_THAT(r.err, Catch::Contains(c.message));
  }
}

TEST_CASE("cli: a repeatable option takes one value, not the VALUEs after it") {
  auto r =
      Cairn("", {"token", "--key", KeyFile(), "--kind", "handle",
                 "--handle-service", "myspace", "myspace:aaa", "myspace:bbb"});
  CAPTURE(r.out, r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("myspace:aaa"));
  CHECK_THAT(r.out, Catch::Contains("myspace:bbb"));
}

TEST_CASE("cli: me shows the member") {
  auto r = Cairn("alpha", {"me"});
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("member       alpha"));
  auto json = Cairn("alpha", {"me", "--json"});
  CHECK_THAT(json.out, Catch::Contains(R"("member_id":"alpha")"));
}

TEST_CASE("cli: commands that send no identifiers need no consortium key") {
  // As compliance staff run them: certificate, no consortium key.
  const std::vector<std::string> remote = {
      "--hub",    Hub().Url(),
      "--cert",   Hub().Pki().Cert("compliance"),
      "--key",    Hub().Pki().Key("compliance"),
      "--cacert", Hub().Pki().CaCert()};
  std::vector<std::string> me = {"me"};
  me.insert(me.end(), remote.begin(), remote.end());
  auto r = Cairn("", me);
  CAPTURE(r.out, r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("member       compliance"));
  // A command that tokenises still says what is missing.
  std::vector<std::string> query = {"query", "--kind", "email",
                                    "a@example.com"};
  query.insert(query.end(), remote.begin(), remote.end());
  auto refused = Cairn("", query);
  CHECK(refused.exit_code == 2);
  CHECK_THAT(refused.err, Catch::Contains("no consortium key"));
}

TEST_CASE("cli: submit, query, dispose, notifications, retract, feed") {
  const std::string tag = Unique();
  const std::string email = "ban." + tag + "@example.com";
  auto submitted = Cairn(
      "alpha", {"submit", "--kind", "email", "--category", "grooming",
                "--severity", "high", "--signal-ref", "ref-" + tag, email});
  REQUIRE(submitted.exit_code == 0);
  CHECK_THAT(submitted.out, Catch::Contains("created"));
  CHECK_THAT(submitted.err, Catch::Contains("1 created"));

  auto feed_before = Cairn("beta", {"feed", "--json"});
  REQUIRE(feed_before.exit_code == 0);
  CHECK_THAT(feed_before.out, Catch::Contains(R"("type":"added")"));
  // The feed carries tokens only.
  CHECK(feed_before.out.find(email) == std::string::npos);

  auto query = Cairn("beta", {"query", "--json", "--kind", "email",
                              "nobody." + tag + "@example.com",
                              "BAN." + tag + "@EXAMPLE.com"});
  REQUIRE(query.exit_code == 0);
  CHECK_THAT(query.out, Catch::StartsWith(R"({"row":2,"status":"match",)"));
  const auto at = query.out.find(R"("match_id":")");
  REQUIRE(at != std::string::npos);
  const std::string match_id = query.out.substr(at + 12, 34);
  CHECK_THAT(query.err, Catch::Contains("queried 2, 1 matched"));

  // A refused row is a line of the same stream, with status "error".
  auto refused = Cairn(
      "beta", {"query", "--json", "--kind", "email", "no-at-sign." + tag});
  CHECK(refused.exit_code == 1);
  CHECK_THAT(refused.out, Catch::StartsWith(R"({"row":1,"status":"error",)"));

  auto table = Cairn("beta", {"query", "--kind", "email", email});
  CHECK(table.exit_code == 0);
  CHECK_THAT(table.out, Catch::Contains("1      email   m_"));

  auto disposed = Cairn("beta", {"dispose", match_id, "--outcome", "confirmed",
                                 "--note", "reviewed"});
  CHECK(disposed.exit_code == 0);
  CHECK_THAT(disposed.out, Catch::Contains(match_id + " confirmed"));
  auto bad_outcome = Cairn("beta", {"dispose", match_id, "--outcome", "maybe"});
  CHECK(bad_outcome.exit_code == 2);

  auto retracted = Cairn(
      "alpha", {"retract", "--ref", "ref-" + tag, "--reason", "appeal_upheld"});
  CHECK(retracted.exit_code == 0);
  CHECK_THAT(retracted.out, Catch::Contains("retracted"));
  auto again = Cairn("alpha", {"retract", "--kind", "email", email});
  CHECK(again.exit_code == 0);
  CHECK_THAT(again.out, Catch::Contains("not_found"));

  auto notes = Cairn("beta", {"notifications"});
  CHECK(notes.exit_code == 0);
  CHECK_THAT(notes.out, Catch::Contains(match_id));
  CHECK_THAT(notes.out, Catch::Contains("appeal_upheld"));

  auto feed = Cairn("beta", {"feed", "--limit", "1"});
  CHECK(feed.exit_code == 0);
  CHECK_THAT(feed.out, Catch::Contains("retracted"));
  CHECK_THAT(feed.err, Catch::Contains("resume with --after"));

  // --follow keeps polling until interrupted, then reports its cursor.
  auto follow = testing::RunCommand(
      {"sh", "-c",
       RunningHub::CairnPath() + " feed --follow --interval 0.2 --hub " +
           Hub().Url() + " --cert " + Hub().Pki().Cert("beta") + " --key " +
           Hub().Pki().Key("beta") + " --cacert " + Hub().Pki().CaCert() +
           " --consortium-key " + KeyFile() +
           " & pid=$!; sleep 2; kill -TERM $pid; wait $pid"},
      30s);
  CHECK(follow.exit_code == 0);
  CHECK_THAT(follow.out, Catch::Contains("retracted"));
  CHECK_THAT(follow.err, Catch::Contains("cairn: cursor "));
}

TEST_CASE(
    "cli: a second interrupt ends feed at once, naming where to resume, while "
    "a request waits for a hub that does not answer") {
  // A listener that never accepts: the kernel completes the TCP handshake,
  // and cairn then waits for a TLS answer that never comes (connect_timeout,
  // 10 s, and its retries).
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(listener >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&address), length) == 0);
  REQUIRE(::listen(listener, 4) == 0);
  REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&address),
                        &length) == 0);
  const std::string url =
      "https://127.0.0.1:" + std::to_string(ntohs(address.sin_port));
  auto r = testing::RunCommand(
      {"sh", "-c",
       RunningHub::CairnPath() + " feed --after 41 --hub " + url + " --cert " +
           Hub().Pki().Cert("beta") + " --key " + Hub().Pki().Key("beta") +
           " --cacert " + Hub().Pki().CaCert() +
           " & pid=$!; sleep 1; kill -INT $pid; sleep 0.5; kill -INT $pid; "
           "wait $pid; echo rc=$?"},
      30s);
  ::close(listener);
  CAPTURE(r.err);
  CHECK_FALSE(r.timed_out);
  CHECK_THAT(r.out, Catch::Contains("rc=130"));  // killed by SIGINT
  CHECK_THAT(r.err, Catch::Contains("stopping once the request in flight is "
                                    "answered; interrupt again"));
  CHECK_THAT(r.err, Catch::EndsWith("cairn: interrupted; resume with --after "
                                    "41\n"));
}

TEST_CASE("cli: submit and query from CSV and JSON-lines files") {
  const std::string tag = Unique();
  const std::string csv = Hub().Scratch().File("bans-" + tag + ".csv");
  REQUIRE(testing::WriteFile(csv,
                             "kind,value,category,severity,ref\n"
                             "email,\"a." +
                                 tag + "@example.com\",sextortion,critical,f-" +
                                 tag +
                                 "-1\n"
                                 "phone,12,grooming,high,f-" +
                                 tag +
                                 "-2\n"
                                 "handle,discord:h" +
                                 tag + ",grooming,medium,f-" + tag + "-3\n"));
  auto submitted = Cairn("alpha", {"submit", "--file", csv, "--region", "GB"});
  CHECK(submitted.exit_code == 1);  // row 2 is not a valid phone number
  CHECK_THAT(submitted.err,
             Catch::Contains("row 2: phone number not valid for region GB"));
  CHECK_THAT(submitted.err,
             Catch::Contains("2 created, 0 updated, 0 duplicate, 1 failed"));

  const std::string jsonl = Hub().Scratch().File("q-" + tag + ".jsonl");
  REQUIRE(testing::WriteFile(
      jsonl, "{\"kind\":\"handle\",\"value\":\"discord:H" + tag +
                 "\"}\n"
                 "{\"kind\":\"email\",\"value\":\"a." +
                 tag +
                 "@example.com\"}\n"
                 "{\"kind\":\"email\",\"value\":\"z." +
                 tag + "@example.com\"}\n"));
  auto query = Cairn("beta", {"query", "--file", jsonl});
  CHECK(query.exit_code == 0);
  CHECK_THAT(query.err, Catch::Contains("queried 3, 2 matched"));

  // Resuming skips rows already done.
  auto resumed = Cairn("beta", {"query", "--file", jsonl, "--skip", "2"});
  CHECK(resumed.exit_code == 0);
  CHECK_THAT(resumed.err, Catch::Contains("queried 1, 0 matched"));

  auto broken =
      Cairn("beta", {"query", "--file", Hub().Scratch().File("missing.csv")});
  CHECK(broken.exit_code == 4);

  // A file that gives nothing to do is refused, not a silent success.
  const std::string header_only = Hub().Scratch().File("h-" + tag + ".csv");
  REQUIRE(testing::WriteFile(header_only, "kind,value\r\n"));
  auto nothing = Cairn("beta", {"query", "--file", header_only});
  CHECK(nothing.exit_code == 2);
  CHECK_THAT(nothing.err, Catch::Contains("has no data rows"));
  const std::string no_value = Hub().Scratch().File("nv-" + tag + ".csv");
  REQUIRE(testing::WriteFile(no_value, "kind,email\nemail,a@example.com\n"));
  auto missing_column = Cairn("beta", {"query", "--file", no_value});
  CHECK(missing_column.exit_code == 2);
  CHECK_THAT(missing_column.err,
             Catch::Contains("the header line has no 'value' column"));
}

TEST_CASE("cli: retract reports every refused row in its output") {
  const std::string tag = Unique();
  const std::string csv = Hub().Scratch().File("retract-" + tag + ".csv");
  REQUIRE(testing::WriteFile(csv,
                             "kind,value,reason\n"
                             "email,nobody." +
                                 tag +
                                 "@example.com,error\n"
                                 "phone,12,error\n"
                                 "email,x." +
                                 tag + "@example.com,mistake\n"));
  auto json =
      Cairn("alpha", {"retract", "--json", "--file", csv, "--region", "GB"});
  CHECK(json.exit_code == 1);
  CHECK_THAT(json.out, Catch::Contains(R"({"row":1,"status":"not_found")"));
  CHECK_THAT(json.out,
             Catch::Contains(R"({"row":2,"status":"error","error":"phone )"));
  CHECK_THAT(json.out,
             Catch::Contains(R"({"row":3,"status":"error","error":"reason )"
                             R"('mistake' is not one of)"));
  CHECK(json.out.find("batch item") == std::string::npos);
  CHECK_THAT(json.err, Catch::Contains("0 retracted, 1 not found, 2 failed"));

  auto table = Cairn("alpha", {"retract", "--file", csv, "--region", "GB"});
  CHECK(table.exit_code == 1);
  CHECK_THAT(table.out, Catch::Contains("2      error      phone number not"));
  CHECK_THAT(table.out, Catch::Contains("3      error      reason 'mistake'"));
  CHECK(table.out.find("batch item") == std::string::npos);
}

// Runs cairn as Cairn does, with its standard output going where the
// shell command `output` (run by bash with cairn's command line as "$@")
// sends it.
CommandResult CairnWithOutput(const std::string& member,
                              std::vector<std::string> args,
                              const std::string& output) {
  if (!member.empty()) {
    const std::vector<std::string> flags = Hub().ConnectionFlags(member);
    args.insert(args.end(), flags.begin(), flags.end());
    args.insert(args.end(), {"--consortium-key", KeyFile()});
  }
  std::vector<std::string> argv = {"env"};
  for (const char* name :
       {"CAIRN_HUB", "CAIRN_CERT", "CAIRN_KEY", "CAIRN_CACERT",
        "CAIRN_CONSORTIUM_KEY", "CAIRN_REGION", "CAIRN_HUB_PIN"}) {
    argv.insert(argv.end(), {"-u", name});
  }
  argv.insert(argv.end(), {"CAIRN_CONFIG=", "bash", "-c", output, "bash",
                           RunningHub::CairnPath()});
  argv.insert(argv.end(), args.begin(), args.end());
  return testing::RunCommand(argv, 60s);
}

// To /dev/full, where every write fails with ENOSPC.
CommandResult CairnToFullDisk(const std::string& member,
                              std::vector<std::string> args) {
  return CairnWithOutput(member, std::move(args), "exec \"$@\" > /dev/full");
}

// Into a pipe whose reader has gone: `true` has exited long before cairn
// starts a second later, so every write fails with EPIPE (and SIGPIPE).
// pipefail makes the pipeline's status cairn's.
CommandResult CairnToClosedPipe(const std::string& member,
                                std::vector<std::string> args) {
  return CairnWithOutput(member, std::move(args),
                         "set -o pipefail; { sleep 1; exec \"$@\"; } | true");
}

// "cursor X (resume ...)" on stderr: X.
std::string EndCursor(const std::string& err) {
  const std::string mark = "cairn: cursor ";
  const auto at = err.rfind(mark);
  if (at == std::string::npos) return {};
  const auto begin = at + mark.size();
  return err.substr(begin, err.find(' ', begin) - begin);
}

TEST_CASE(
    "cli: output that cannot be written is exit 4, and feed and "
    "notifications name the cursor of the last page written") {
  const std::string tag = Unique();
  const std::string email = "full." + tag + "@example.com";
  REQUIRE(Cairn("alpha", {"submit", "--kind", "email", "--category", "grooming",
                          "--severity", "high", email})
              .exit_code == 0);
  auto matched = Cairn("beta", {"query", "--kind", "email", email});
  REQUIRE(matched.exit_code == 0);

  // Read to the end, then one more event after that cursor.
  auto feed = Cairn("beta", {"feed", "--json"});
  REQUIRE(feed.exit_code == 0);
  const std::string feed_cursor = EndCursor(feed.err);
  REQUIRE_FALSE(feed_cursor.empty());
  auto notes = Cairn("beta", {"notifications", "--json"});
  REQUIRE(notes.exit_code == 0);
  const std::string notes_cursor = EndCursor(notes.err);
  REQUIRE_FALSE(notes_cursor.empty());
  // A query that matches has a line to write.
  auto query = CairnToFullDisk("beta", {"query", "--json", "--kind", "email",
                                        email, "other." + tag + "@x.org"});
  CAPTURE(query.err);
  CHECK(query.exit_code == 4);
  CHECK_THAT(query.err, Catch::Contains("cannot write"));

  REQUIRE(Cairn("alpha", {"retract", "--kind", "email", email}).exit_code == 0);

  for (const char* stream : {"feed", "notifications"}) {
    CAPTURE(stream);
    const std::string& cursor =
        std::string(stream) == "feed" ? feed_cursor : notes_cursor;
    // From a saved cursor: resume from that same cursor.
    auto r = CairnToFullDisk("beta", {stream, "--json", "--after", cursor});
    CAPTURE(r.err);
    CHECK(r.exit_code == 4);
    CHECK_THAT(r.err, Catch::Contains("cannot write"));
    CHECK_THAT(r.err, Catch::Contains("resume with --after " + cursor + "\n"));
    CHECK(r.err.find("cairn: cursor ") == std::string::npos);
    // From the start: start again.
    auto from_start = CairnToFullDisk("beta", {stream});
    CAPTURE(from_start.err);
    CHECK(from_start.exit_code == 4);
    CHECK_THAT(from_start.err, Catch::Contains("without --after"));
    CHECK(from_start.err.find("resume with") == std::string::npos);
  }

  // A reader that went away: the same, not a silent death by SIGPIPE (the
  // shell's 141) with no cursor to resume from.
  auto piped =
      CairnToClosedPipe("beta", {"feed", "--json", "--after", feed_cursor});
  CAPTURE(piped.err);
  CHECK(piped.exit_code == 4);
  CHECK_THAT(piped.err, Catch::Contains("cannot write"));
  CHECK_THAT(piped.err,
             Catch::Contains("resume with --after " + feed_cursor + "\n"));

  for (std::vector<std::string> args : {
           std::vector<std::string>{"me"},
           std::vector<std::string>{"token", "--key", KeyFile(), "--kind",
                                    "email", email},
       }) {
    CAPTURE(args);
    auto r = CairnToFullDisk(args[0] == "me" ? "alpha" : "", args);
    CHECK(r.exit_code == 4);
    CHECK_THAT(r.err, Catch::Contains("cannot write"));
  }
}

TEST_CASE(
    "cli: a cursor the hub refuses as not its own is never offered for "
    "resuming") {
  for (const char* stream : {"feed", "notifications"}) {
    CAPTURE(stream);
    auto r = Cairn("beta", {stream, "--after", "999999999"});
    CAPTURE(r.err);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.err, Catch::Contains("invalid_argument"));
    CHECK_THAT(r.err, Catch::Contains("without --after"));
    CHECK(r.err.find("resume with") == std::string::npos);
    CHECK(r.err.find("--after 999999999") == std::string::npos);
  }
}

TEST_CASE(
    "cli: a TLS file that is there but malformed or mismatched is exit 2, "
    "naming the flag") {
  constexpr const char* kNotPem = CAIRN_SOURCE_DIR "/CMakeLists.txt";
  const std::string cert = Hub().Pki().Cert("alpha");
  const std::string key = Hub().Pki().Key("alpha");
  const std::string ca = Hub().Pki().CaCert();
  struct Case {
    std::string cert, key, cacert;
    std::vector<std::string> says;
  } cases[] = {
      {kNotPem, key, ca, {"--cert FILE", "client certificate", kNotPem}},
      {cert, kNotPem, ca, {"--key FILE", "client key", kNotPem}},
      {cert, ca, ca, {"--key FILE", "client key"}},
      {cert, key, kNotPem, {"--cacert FILE", "CA bundle", kNotPem}},
      // Alpha's certificate with beta's key.
      {cert, Hub().Pki().Key("beta"), ca, {"--key FILE", "does not match"}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.cert, c.key, c.cacert);
    for (std::vector<std::string> args :
         {std::vector<std::string>{"me"},
          std::vector<std::string>{"query", "--kind", "email",
                                   "a@example.com"}}) {
      args.insert(args.end(),
                  {"--hub", Hub().Url(), "--cert", c.cert, "--key", c.key,
                   "--cacert", c.cacert, "--consortium-key", KeyFile()});
      auto r = Cairn("", args);
      CAPTURE(args, r.err);
      CHECK(r.exit_code == 2);
      for (const std::string& s : c.says) CHECK_THAT(r.err, Catch::Contains(s));
      CHECK(r.err.find("ClientOptions") == std::string::npos);
    }
  }
  // `cairn token --scheme voprf-v1` names its own flag for the key.
  auto token = Cairn(
      "", {"token", "--scheme", "voprf-v1", "--key", KeyFile(), "--hub",
           Hub().Url(), "--cert", cert, "--client-key", Hub().Pki().Key("beta"),
           "--cacert", ca, "--kind", "email", "a@example.com"});
  CAPTURE(token.err);
  CHECK(token.exit_code == 2);
  CHECK_THAT(token.err, Catch::Contains("--client-key FILE"));
}

TEST_CASE("cli: --config is taken after the command too") {
  const std::string config =
      Hub().Scratch().File("after-" + Unique() + ".toml");
  REQUIRE(testing::WriteFile(config, "hub = \"" + Hub().Url() +
                                         "\"\n"
                                         "cert = \"" +
                                         Hub().Pki().Cert("alpha") +
                                         "\"\n"
                                         "key = \"" +
                                         Hub().Pki().Key("alpha") +
                                         "\"\n"
                                         "cacert = \"" +
                                         Hub().Pki().CaCert() + "\"\n"));
  auto r = Cairn("", {"me", "--config", config});
  CAPTURE(r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("member       alpha"));
  auto before = Cairn("", {"--config", config, "me"});
  CHECK(before.exit_code == 0);
}

TEST_CASE("cli: token --help says when something is sent to the hub") {
  auto r = Cairn("", {"token", "--help"});
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("voprf-v1"));
  CHECK(r.out.find("nothing is sent anywhere)") == std::string::npos);
}

TEST_CASE("cli: config file < environment < flags") {
  const std::string config =
      Hub().Scratch().File("config-" + Unique() + ".toml");
  REQUIRE(testing::WriteFile(config,
                             "hub = \"https://127.0.0.1:1\"\n"
                             "cert = \"" +
                                 Hub().Pki().Cert("alpha") +
                                 "\"\n"
                                 "key = \"" +
                                 Hub().Pki().Key("alpha") +
                                 "\"\n"
                                 "cacert = \"" +
                                 Hub().Pki().CaCert() +
                                 "\"\n"
                                 "consortium_key = \"" +
                                 KeyFile() + "\"\n"));
  auto run = [&](std::vector<std::string> env, std::vector<std::string> args) {
    std::vector<std::string> argv = {"env", "-u", "CAIRN_HUB",
                                     "CAIRN_CONFIG=" + config};
    argv.insert(argv.end(), env.begin(), env.end());
    argv.push_back(RunningHub::CairnPath());
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::RunCommand(argv, 60s);
  };
  // The config file alone points at a dead port: unreachable.
  CHECK(run({}, {"me"}).exit_code == 3);
  // The environment overrides the file.
  auto env = run({"CAIRN_HUB=" + Hub().Url()}, {"me"});
  CHECK(env.exit_code == 0);
  CHECK_THAT(env.out, Catch::Contains("alpha"));
  // A flag overrides the environment.
  CHECK(
      run({"CAIRN_HUB=" + Hub().Url()}, {"me", "--hub", "https://127.0.0.1:1"})
          .exit_code == 3);
  // A malformed config file is a configuration error naming the file.
  const std::string bad = Hub().Scratch().File("bad-" + Unique() + ".toml");
  REQUIRE(testing::WriteFile(bad, "hubb = \"x\"\n"));
  auto r = testing::RunCommand(
      {"env", "CAIRN_CONFIG=" + bad, RunningHub::CairnPath(), "me"}, 60s);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("unknown key 'hubb'"));

  // A config file the user named must exist; only the default may be absent.
  const std::string missing =
      Hub().Scratch().File("gone-" + Unique() + ".toml");
  for (const auto& argv : std::vector<std::vector<std::string>>{
           {"env", "CAIRN_CONFIG=" + missing, RunningHub::CairnPath(), "me"},
           {"env", "CAIRN_CONFIG=", RunningHub::CairnPath(), "--config",
            missing, "me"}}) {
    CAPTURE(argv);
    auto absent = testing::RunCommand(argv, 60s);
    CHECK(absent.exit_code == 4);
    CHECK_THAT(absent.err,
               Catch::Contains("config file " + missing + " does not exist"));
  }
  auto no_default = testing::RunCommand(
      {"env", "-u", "CAIRN_CONFIG", "-u", "CAIRN_HUB",
       "XDG_CONFIG_HOME=" + missing, RunningHub::CairnPath(), "me"},
      60s);
  CHECK(no_default.exit_code == 2);
  CHECK_THAT(no_default.err, Catch::Contains("no hub URL"));
}

}  // namespace
}  // namespace cairn
