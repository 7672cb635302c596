// Request limits of a real cairnd with its default configuration, through
// curl: header size (431), Content-Length and body size (413), content type
// (415). Each answer is a JSON error body, and nothing is stored.
#include <catch2/catch.hpp>

#include "tests/integration/integration_util.h"

namespace cairn::testing {
namespace {

// Default limits from server/cairnd.example.toml.
constexpr std::size_t kHeaderBytes = 16384;
constexpr std::size_t kBodyBytes = 4194304;

struct LimitCase {
  const char* what;
  std::string method;
  std::string path;
  std::string body;
  std::vector<std::string> extra_args;
  int status;
  const char* code;
};

TEST_CASE("cairnd enforces header, body and content-type limits") {
  auto hub = RunningHub::Start();
  REQUIRE(hub);
  RunningHub& h = **hub;
  const std::string valid = SubmitBody({{.token = RandomTokenHex()}});
  // A syntactically valid body one byte over the limit: padding inside a
  // JSON string, so only the size is wrong.
  std::string over = R"({"signals":[],"pad":")";
  over.append(kBodyBytes + 1 - over.size() - 2, 'a');
  over += "\"}";
  REQUIRE(over.size() == kBodyBytes + 1);

  const std::vector<LimitCase> cases = {
      {"header block over the limit",
       "GET",
       "/v1/me",
       "",
       {"-H", "X-Padding: " + std::string(kHeaderBytes + 1, 'p')},
       431,
       "headers_too_large"},
      {"header over the limit on a POST",
       "POST",
       "/v1/signals",
       valid,
       {"-H", "X-Padding: " + std::string(kHeaderBytes + 1, 'p')},
       431,
       "headers_too_large"},
      // The body is a few bytes but Content-Length claims 1 GB: the hub must
      // answer from the header alone (otherwise it would wait for the body
      // and curl's --max-time would fail the request).
      {"Content-Length of 1 GB",
       "POST",
       "/v1/signals",
       valid,
       {"-H", "Content-Length: 1000000000", "-H", "Expect:"},
       413,
       "payload_too_large"},
      {"Content-Length of 1 GB with Expect: 100-continue",
       "POST",
       "/v1/signals",
       valid,
       {"-H", "Content-Length: 1000000000", "-H", "Expect: 100-continue"},
       413,
       "payload_too_large"},
      {"body one byte over the limit",
       "POST",
       "/v1/signals",
       over,
       {},
       413,
       "payload_too_large"},
      {"text/plain body",
       "POST",
       "/v1/signals",
       valid,
       {"-H", "Content-Type: text/plain"},
       415,
       "unsupported_media_type"},
      {"form body",
       "POST",
       "/v1/query",
       QueryBody({{"email", RandomTokenHex()}}),
       {"-H", "Content-Type: application/x-www-form-urlencoded"},
       415,
       "unsupported_media_type"},
  };
  for (const LimitCase& c : cases) {
    CAPTURE(c.what);
    const CurlReply reply =
        h.Curl("alpha", c.method, c.path, c.body, c.extra_args);
    CAPTURE(reply.status, reply.body, reply.error);
    CHECK(reply.status == c.status);
    CHECK(ErrorCodeOf(reply.body) == c.code);
    CHECK_FALSE(ErrorMessageOf(reply.body).empty());
  }

  // Nothing above was stored: alpha's feed (seen by beta) is empty...
  const CurlReply feed = h.Curl("beta", "GET", "/v1/feed");
  REQUIRE(feed.status == 200);
  auto doc = ParseJson(feed.body);
  REQUIRE_FALSE(doc.HasParseError());
  CHECK(doc["events"].Size() == 0);
  // ...and the hub still serves the valid body (control).
  const CurlReply good = h.Curl("alpha", "POST", "/v1/signals", valid);
  CHECK(good.status == 200);
  const CurlReply exactly =
      h.Curl("alpha", "GET", "/v1/me", "",
             {"-H", "X-Padding: " + std::string(kHeaderBytes / 2, 'p')});
  CHECK(exactly.status == 200);

  // At the limits exactly: a body of kBodyBytes is read and judged on its
  // content (400 for the unknown "pad" field, not 413)...
  std::string at = over;
  at.erase(at.size() - 3, 1);
  REQUIRE(at.size() == kBodyBytes);
  const CurlReply body_at = h.Curl("alpha", "POST", "/v1/signals", at);
  CHECK(body_at.status == 400);
  CHECK(ErrorCodeOf(body_at.body) == "invalid_argument");
  // ...and a header block (request line to the blank line) just under
  // kHeaderBytes is served, one just over it is 431: sent raw, so that the
  // sizes are exact. Not to the byte: with this request Beast's parser
  // admitted header blocks up to 16,441 bytes and refused 16,442 (measured
  // 2026-12-07; 57 bytes over, the size of the request line and the first
  // two fields). The margin of 256 still catches a limit wrong by more.
  auto raw_header = [](std::size_t total) {
    const std::string head =
        "GET /v1/me HTTP/1.1\r\nHost: localhost\r\nConnection: "
        "close\r\nX-Padding: ";
    const std::string tail = "\r\n\r\n";
    return head + std::string(total - head.size() - tail.size(), 'p') + tail;
  };
  for (const auto& [size, status_line] :
       {std::pair{kHeaderBytes - 256, "HTTP/1.1 200"},
        std::pair{kHeaderBytes + 256, "HTTP/1.1 431"}}) {
    CAPTURE(size);
    const std::string request = raw_header(size);
    REQUIRE(request.size() == size);
    const CommandResult r = RunCommand(
        {"openssl", "s_client", "-connect",
         "127.0.0.1:" + std::to_string(h.Port()), "-CAfile", h.Pki().CaCert(),
         "-servername", "localhost", "-ign_eof", "-quiet", "-cert",
         h.Pki().Cert("alpha"), "-key", h.Pki().Key("alpha")},
        std::chrono::seconds(30), request);
    CAPTURE(r.out);
    CHECK_FALSE(r.timed_out);
    CHECK(r.out.find(status_line) != std::string::npos);
  }
}

}  // namespace
}  // namespace cairn::testing
