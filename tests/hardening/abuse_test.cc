// Network abuse against a real cairnd on loopback, bounded in count and
// time: slowloris (trickled headers, stalled handshakes), connection floods
// over the cap, hostile bodies, and member isolation. Figures (latencies,
// RSS, reclaim times) are printed to stdout for docs/security.md; the
// assertions are about behaviour, with only generous liveness bounds.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "tests/hardening/hardening_util.h"
#include "tests/integration/integration_util.h"

namespace cairn::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

#if defined(__SANITIZE_ADDRESS__)
// Under AddressSanitizer a hub's RSS mostly measures ASan's quarantine (up
// to 256 MB of freed blocks held back to catch use-after-free) and its
// allocator caches rather than what the hub holds. The hubs these tests
// start inherit this environment and run without either, so the memory
// bounds below keep their meaning in the asan preset too.
const bool kAsanWithoutQuarantine = [] {
  const char* given = std::getenv("ASAN_OPTIONS");
  std::string options = given != nullptr ? given : "";
  if (!options.empty()) options += ':';
  options += "quarantine_size_mb=0:allocator_release_to_os_interval_ms=0";
  return ::setenv("ASAN_OPTIONS", options.c_str(), 1) == 0;
}();
#endif

#if defined(__SANITIZE_THREAD__)
// ThreadSanitizer maps shadow memory for everything a hub touches (several
// times its size) and never returns it, so RSS would measure the sanitizer.
// The memory bounds are checked by the same tests in the ci and asan builds;
// the tsan preset runs them for the races.
constexpr bool kRssIsTheHubs = false;
#else
constexpr bool kRssIsTheHubs = true;
#endif

const char kFastLimits[] =
    "[rate_limits]\nrequests_per_second = 100000.0\n"
    "items_per_second = 100000000.0\n"
    "[metrics]\nloopback_listen = \"127.0.0.1:0\"\n";

// Polls the open-connections gauge until it is <= `at_most` or `limit`
// passes; returns the last reading (-1 if scrapes failed).
double WaitForConnectionsAtMost(std::uint16_t metrics_port, double at_most,
                                milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  double last = -1;
  while (Clock::now() < deadline) {
    last = ScrapeGauge(metrics_port, "cairn_open_connections").value_or(-1);
    if (last >= 0 && last <= at_most) break;
    std::this_thread::sleep_for(milliseconds(200));
  }
  return last;
}

// One request as a normal member on a fresh connection (handshake
// included): GET /v1/me then a query. Returns the latency in ms, or a
// negative number if either failed.
double NormalClientRoundTrip(const RunningHub& hub) {
  const auto start = Clock::now();
  auto connection = Connect(hub, "alpha");
  if (!connection) return -1;
  auto me = (*connection)->Send("GET", "/v1/me");
  if (!me || me->status != 200) return -2;
  auto query =
      (*connection)
          ->Send("POST", "/v1/query", QueryBody({{"email", RandomTokenHex()}}));
  if (!query || query->status != 200) return -3;
  return MillisSince(start);
}

struct LatencySummary {
  double median = 0;
  double max = 0;
  int failures = 0;
};

LatencySummary Measure(const RunningHub& hub, int n) {
  std::vector<double> samples;
  LatencySummary summary;
  for (int i = 0; i < n; ++i) {
    const double ms = NormalClientRoundTrip(hub);
    if (ms < 0) {
      ++summary.failures;
    } else {
      samples.push_back(ms);
    }
  }
  if (!samples.empty()) {
    std::sort(samples.begin(), samples.end());
    summary.median = samples[samples.size() / 2];
    summary.max = samples.back();
  }
  return summary;
}

TEST_CASE("slowloris: trickled headers and stalled handshakes are reclaimed") {
  IgnoreSigpipe();
  constexpr int kTrickling = 200;
  constexpr int kStalledTcp = 150;
  constexpr int kPartialHello = 150;
  auto hub = RunningHub::Start(
      {.extra_toml =
           std::string(kFastLimits) +
           "[limits]\nmax_connections_per_member = 400\n"
           // The stalled handshakes all come from 127.0.0.1, as the
           // normal client does: budgets that hold them all, so that it
           // is the timeouts that must reclaim them.
           "max_handshakes = 1000\nmax_handshakes_per_address = 1000\n"
           "[timeouts]\nhandshake_seconds = 5\nheader_seconds = 5\n"});
  REQUIRE(hub);
  RunningHub& h = **hub;
  auto metrics_port = MetricsPort(h);
  REQUIRE(metrics_port);
  const LatencySummary quiet = Measure(h, 10);
  CHECK(quiet.failures == 0);
  const double open_before =
      ScrapeGauge(*metrics_port, "cairn_open_connections").value_or(-1);
  REQUIRE(open_before >= 0);
  const std::int64_t rss_before = RssKib(h.Pid());

  // Insiders (a valid certificate) trickling one header line at a time.
  std::vector<std::unique_ptr<RawTlsConnection>> trickling;
  for (int i = 0; i < kTrickling; ++i) {
    auto c = RawTlsConnection::Open(h, "beta");
    if (!c) break;
    if (!(*c)->Write("GET /v1/me HTTP/1.1\r\nHost: localhost\r\n")) break;
    trickling.push_back(std::move(*c));
  }
  CHECK(trickling.size() >= kTrickling / 2);
  // Outsiders: TCP connections that never start a handshake, and ones that
  // stop inside the ClientHello record.
  std::vector<std::unique_ptr<TcpConnection>> stalled;
  for (int i = 0; i < kStalledTcp + kPartialHello; ++i) {
    auto c = TcpConnection::Open(h.Port());
    if (!c) break;
    if (i >= kStalledTcp) (*c)->Send(std::string("\x16\x03\x01\x02\x00", 5));
    stalled.push_back(std::move(*c));
  }
  CHECK(stalled.size() == kStalledTcp + kPartialHello);

  std::atomic<bool> stop{false};
  std::atomic<int> cut{0};
  const auto attack_start = Clock::now();
  std::thread trickler([&] {
    std::vector<bool> alive(trickling.size(), true);
    while (!stop.load() && cut.load() < static_cast<int>(trickling.size())) {
      for (std::size_t i = 0; i < trickling.size(); ++i) {
        if (alive[i] && !trickling[i]->Write("X-Trickle: 1\r\n")) {
          alive[i] = false;
          ++cut;
        }
      }
      std::this_thread::sleep_for(milliseconds(250));
    }
  });

  const double open_during =
      ScrapeGauge(*metrics_port, "cairn_open_connections").value_or(-1);
  const LatencySummary attacked = Measure(h, 10);
  // Liveness only: every normal request was answered, within the hub's own
  // timeouts (handshake 5 s + header 5 s).
  CHECK(attacked.failures == 0);
  CHECK(attacked.max < 10000);

  // The hub's timeouts reclaim every slot: the gauge falls back to where it
  // was, the trickling connections are cut, the stalled ones closed.
  const double open_after =
      WaitForConnectionsAtMost(*metrics_port, open_before, milliseconds(60000));
  const double reclaim_ms = MillisSince(attack_start);
  CHECK(open_after <= open_before);
  const auto cut_deadline = Clock::now() + seconds(30);
  while (cut.load() < static_cast<int>(trickling.size()) &&
         Clock::now() < cut_deadline) {
    std::this_thread::sleep_for(milliseconds(100));
  }
  stop = true;
  trickler.join();
  CHECK(cut.load() == static_cast<int>(trickling.size()));
  int closed = 0;
  for (auto& c : stalled) closed += c->ClosedByPeer(milliseconds(100));
  CHECK(closed == static_cast<int>(stalled.size()));
  const std::int64_t rss_after = RssKib(h.Pid());
  if (kRssIsTheHubs) CHECK(rss_after - rss_before < 64 * 1024);
  CHECK(NormalClientRoundTrip(h) >= 0);

  std::cout << "slowloris: " << trickling.size() << " trickling + "
            << stalled.size() << " stalled connections; open connections "
            << open_before << " -> " << open_during << " -> " << open_after
            << " after " << reclaim_ms << " ms; normal client median/max "
            << quiet.median << "/" << quiet.max << " ms quiet, "
            << attacked.median << "/" << attacked.max
            << " ms under attack; RSS " << rss_before << " -> " << rss_after
            << " KiB\n";
}

TEST_CASE("a connection flood over max_handshakes is refused cleanly") {
  constexpr int kCap = 100;
  constexpr int kFlood = 400;
  // The flood's connections never start a handshake: they count against
  // max_handshakes (all from 127.0.0.1, so the per-address cap is set
  // out of the way), not against the members' max_connections.
  auto hub = RunningHub::Start(
      {.extra_toml = std::string(kFastLimits) +
                     "[limits]\nmax_handshakes = " + std::to_string(kCap) +
                     "\nmax_handshakes_per_address = 1000\n"
                     "[timeouts]\nhandshake_seconds = 5\n"});
  REQUIRE(hub);
  RunningHub& h = **hub;
  auto metrics_port = MetricsPort(h);
  REQUIRE(metrics_port);
  REQUIRE(NormalClientRoundTrip(h) >= 0);
  const std::int64_t rss_before = RssKib(h.Pid());

  std::vector<std::unique_ptr<TcpConnection>> flood;
  for (int i = 0; i < kFlood; ++i) {
    auto c = TcpConnection::Open(h.Port());
    if (!c) break;  // a refused connect is a clean refusal too
    flood.push_back(std::move(*c));
  }
  // Wait until the hub has closed the connections over the cap, rather
  // than for a fixed time that a loaded machine may not honour; bounded
  // below the 5 s handshake timeout, after which the held connections
  // within the cap would be closed too and could be counted instead.
  const int over_cap = static_cast<int>(flood.size()) - kCap;
  std::vector<bool> closed(flood.size(), false);
  int closed_at_once = 0;
  for (const auto deadline = Clock::now() + milliseconds(4000);
       closed_at_once < over_cap && Clock::now() < deadline;) {
    for (std::size_t i = 0; i < flood.size(); ++i) {
      if (!closed[i] && flood[i]->ClosedByPeer(milliseconds(0))) {
        closed[i] = true;
        ++closed_at_once;
      }
    }
    if (closed_at_once < over_cap) {
      std::this_thread::sleep_for(milliseconds(50));
    }
  }
  // The loopback metrics listener has a budget of its own, so the scrape
  // gets through the flood (-1 would mean it was refused).
  const double open_during =
      ScrapeGauge(*metrics_port, "cairn_open_connections").value_or(-1);
  REQUIRE(open_during >= 0);
  const std::int64_t rss_during = RssKib(h.Pid());
  // Over the cap, accepted connections are closed at once; the cap holds
  // (the gauge also counts the scrape's own connection).
  CHECK(open_during <= kCap + 1);
  CHECK(open_during >= kCap);
  CHECK(closed_at_once >= static_cast<int>(flood.size()) - kCap);

  const std::size_t connected = flood.size();
  flood.clear();
  // The scrape's own connection counts: 1 is "none but the scraper".
  const double open_after =
      WaitForConnectionsAtMost(*metrics_port, 1, milliseconds(30000));
  CHECK(open_after == 1);
  CHECK(NormalClientRoundTrip(h) >= 0);
  const std::int64_t rss_after = RssKib(h.Pid());
  if (kRssIsTheHubs) CHECK(rss_after - rss_before < 64 * 1024);
  std::cout << "flood: " << connected << "/" << kFlood
            << " connects over a cap of " << kCap << ": " << closed_at_once
            << " closed at once, open gauge " << open_during << " -> "
            << open_after << "; RSS " << rss_before << " -> " << rss_during
            << " -> " << rss_after << " KiB\n";
}

enum class Send {
  kHeaderOnly,     // the header; the body is never sent
  kWhole,          // header and body
  kEndlessChunks,  // header, then 64 KiB chunks just past the body limit
  kStalledChunks,  // header, one chunk, then nothing
  kHugeChunk,      // header, then a chunk size line of 4 GiB
};

struct HostileCase {
  const char* what;
  Send send;
  std::string content_length;  // "" = Transfer-Encoding: chunked
  std::string body;
  int status;        // 0 = connection closed without an answer
  const char* code;  // error code, "" for none
};

std::string Nested(char open, char close, const std::string& inner,
                   std::size_t depth) {
  return std::string(depth, open) + inner + std::string(depth, close);
}

std::string DeepObjects(std::size_t depth) {
  std::string out;
  for (std::size_t i = 0; i < depth; ++i) out += "{\"a\":";
  out += "1";
  out += std::string(depth, '}');
  return out;
}

std::string MillionZeros() {
  std::string out = "{\"signals\":[0";
  for (int i = 1; i < 1000000; ++i) out += ",0";
  return out + "]}";
}

std::string WithRef(const std::string& ref) {
  return R"({"signals":[{"kind":"email","token":")" + RandomTokenHex() +
         R"(","category":"grooming","severity":"high","banned_at":")" +
         TimestampFromNow(-std::chrono::hours(1)) + R"(","ref":")" + ref +
         "\"}]}";
}

TEST_CASE("hostile bodies are refused early with the right status") {
  IgnoreSigpipe();
  auto hub = RunningHub::Start(
      {.extra_toml = std::string(kFastLimits) +
                     "[timeouts]\nheader_seconds = 3\nbody_seconds = 3\n"});
  REQUIRE(hub);
  RunningHub& h = **hub;
  const std::int64_t rss_before = RssKib(h.Pid());
  const std::string ten_mb(10 * 1024 * 1024, 'x');
  const std::string three_mb_ref(3 * 1024 * 1024, 'r');

  const std::vector<HostileCase> cases = {
      {"Content-Length of 1 GB", Send::kHeaderOnly, "1000000000", "", 413,
       "payload_too_large"},
      {"10 MB string (honest Content-Length)", Send::kHeaderOnly,
       std::to_string(ten_mb.size() + 2), "", 413, "payload_too_large"},
      {"chunked body that never ends", Send::kEndlessChunks, "", "", 413,
       "payload_too_large"},
      {"chunk announcing 4 GiB", Send::kHugeChunk, "", "", 413,
       "payload_too_large"},
      {"chunked body that stalls", Send::kStalledChunks, "", "", 0, ""},
      {"100,000 nested arrays", Send::kWhole, "",
       "{\"signals\":" + Nested('[', ']', "", 100000) + "}", 400,
       "invalid_argument"},
      {"100,000 nested objects", Send::kWhole, "", DeepObjects(100000), 400,
       "invalid_argument"},
      {"3 MB string in a field", Send::kWhole, "", WithRef(three_mb_ref), 400,
       "invalid_argument"},
      {"invalid UTF-8 (lone continuation byte)", Send::kWhole, "",
       WithRef("case\x80x"), 400, "invalid_argument"},
      {"invalid UTF-8 (overlong '/')", Send::kWhole, "", WithRef("\xc0\xaf"),
       400, "invalid_argument"},
      {"invalid UTF-8 (surrogate)", Send::kWhole, "", WithRef("\xed\xa0\x80"),
       400, "invalid_argument"},
      {"invalid UTF-8 in a key", Send::kWhole, "", "{\"sig\xffnals\":[]}", 400,
       "invalid_argument"},
      {"a million-element array", Send::kWhole, "", MillionZeros(), 400,
       "invalid_argument"},
  };
  std::int64_t rss_peak = rss_before;
  for (const HostileCase& c : cases) {
    CAPTURE(c.what);
    auto connection = RawTlsConnection::Open(h, "alpha");
    REQUIRE(connection);
    RawTlsConnection& conn = **connection;
    std::string header =
        "POST /v1/signals HTTP/1.1\r\nHost: localhost\r\n"
        "Content-Type: application/json\r\n";
    header += c.content_length.empty()
                  ? std::string("Transfer-Encoding: chunked\r\n")
                  : "Content-Length: " + c.content_length + "\r\n";
    if (c.send == Send::kWhole) {
      header =
          "POST /v1/signals HTTP/1.1\r\nHost: localhost\r\n"
          "Content-Type: application/json\r\nContent-Length: " +
          std::to_string(c.body.size()) + "\r\n";
    }
    header += "\r\n";
    const auto start = Clock::now();
    std::size_t sent = 0;
    REQUIRE(conn.Write(header));
    switch (c.send) {
      case Send::kHeaderOnly:
        break;
      case Send::kWhole:
        conn.Write(c.body);
        sent = c.body.size();
        break;
      case Send::kEndlessChunks: {
        const std::string chunk =
            "10000\r\n" + std::string(0x10000, 'a') + "\r\n";
        // Just past the 4 MiB body limit, then wait: a client that kept on
        // sending after the refusal could lose it to the TCP reset.
        while (sent < 4u * 1024 * 1024 + 0x20000) {
          if (!conn.Write(chunk)) break;
          sent += 0x10000;
        }
        break;
      }
      case Send::kHugeChunk:
        conn.Write("100000000\r\n" + std::string(1024, 'a'));
        sent = 1024;
        break;
      case Send::kStalledChunks:
        conn.Write("5\r\nhello\r\n");
        sent = 5;
        break;
    }
    const std::string raw = c.status == 0 ? conn.ReadUntilClosed(seconds(20))
                                          : conn.ReadResponse(seconds(20));
    const double ms = MillisSince(start);
    CAPTURE(raw.substr(0, 600));
    CHECK(StatusOf(raw) == c.status);
    if (c.status != 0) {
      CHECK(ErrorCodeOf(BodyOf(raw)) == c.code);
      CHECK_FALSE(ErrorMessageOf(BodyOf(raw)).empty());
    }
    rss_peak = std::max(rss_peak, RssKib(h.Pid()));
    std::cout << "hostile body: " << c.what << " -> "
              << (StatusOf(raw) ? std::to_string(StatusOf(raw))
                                : std::string("closed"))
              << " after " << sent << " body bytes, " << ms << " ms\n";
  }

  // Nothing was stored, and the hub still serves.
  const CurlReply feed = h.Curl("beta", "GET", "/v1/feed");
  REQUIRE(feed.status == 200);
  auto doc = ParseJson(feed.body);
  REQUIRE_FALSE(doc.HasParseError());
  CHECK(doc["events"].Size() == 0);
  CHECK(NormalClientRoundTrip(h) >= 0);
  const std::int64_t rss_after = RssKib(h.Pid());
  if (kRssIsTheHubs) CHECK(rss_peak - rss_before < 256 * 1024);
  std::cout << "hostile bodies: RSS " << rss_before << " KiB before, peak "
            << rss_peak << ", after " << rss_after << "\n";
}

// ---- Member isolation ------------------------------------------------------

// The answer with every occurrence of `id` replaced, so that "your id" and
// "a made-up id" answers can be compared byte for byte.
std::string Redact(std::string text, const std::string& id) {
  if (id.empty()) return text;
  for (auto at = text.find(id); at != std::string::npos;
       at = text.find(id, at)) {
    text.replace(at, id.size(), "<ID>");
  }
  return text;
}

// `json` re-encoded without the members that differ per request.
std::string Canonical(const std::string& json) {
  rapidjson::Document doc = ParseJson(json);
  if (doc.HasParseError() || !doc.IsObject()) return json;
  doc.RemoveMember("request_id");
  doc.RemoveMember("receipt");
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  doc.Accept(writer);
  return buffer.GetString();
}

struct IsolationCase {
  const char* what;
  std::string method;
  std::string path_theirs;   // names alpha's resource
  std::string path_missing;  // names a resource that does not exist
  std::string body_theirs;
  std::string body_missing;
  std::string theirs_id;   // redacted from the answer
  std::string missing_id;  // redacted from the answer
};

TEST_CASE(
    "member isolation: another member's data is indistinguishable "
    "from none") {
  auto hub = RunningHub::Start({.extra_toml = kFastLimits});
  REQUIRE(hub);
  RunningHub& h = **hub;
  // alpha's data: a signal with a ref, a match (alpha queried beta's
  // signal), and a notification (beta retracts that signal at the end).
  const std::string alpha_token = RandomTokenHex();
  const std::string beta_token = RandomTokenHex();
  REQUIRE(h.Curl("alpha", "POST", "/v1/signals",
                 SubmitBody({{.token = alpha_token, .ref = "alpha-case-1"}}))
              .status == 200);
  REQUIRE(h.Curl("beta", "POST", "/v1/signals",
                 SubmitBody({{.token = beta_token, .ref = "beta-case-1"}}))
              .status == 200);
  const CurlReply matched =
      h.Curl("alpha", "POST", "/v1/query", QueryBody({{"email", beta_token}}));
  REQUIRE(matched.status == 200);
  auto matched_doc = ParseJson(matched.body);
  REQUIRE(matched_doc["matches"].Size() == 1);
  const std::string match_id =
      matched_doc["matches"][0]["match_id"].GetString();
  const std::string missing_match = "m_" + std::string(32, '0');
  const std::string missing_token = RandomTokenHex();
  const std::string from = TimestampFromNow(-std::chrono::hours(24));
  const std::string to = TimestampFromNow(std::chrono::hours(24));
  auto retract_token = [](const std::string& token) {
    return R"({"retractions":[{"kind":"email","token":")" + token +
           R"(","reason":"error"}]})";
  };
  auto retract_ref = [](const std::string& ref) {
    return R"({"retractions":[{"ref":")" + ref + R"(","reason":"error"}]})";
  };
  const std::string dispose = R"({"outcome":"false_positive"})";

  const std::vector<IsolationCase> cases = {
      {"retract alpha's signal by token", "POST", "/v1/signals/retract",
       "/v1/signals/retract", retract_token(alpha_token),
       retract_token(missing_token), "", ""},
      {"retract alpha's signal by ref", "POST", "/v1/signals/retract",
       "/v1/signals/retract", retract_ref("alpha-case-1"),
       retract_ref("no-such-case"), "", ""},
      {"dispose of alpha's match", "POST",
       "/v1/matches/" + match_id + "/disposition",
       "/v1/matches/" + missing_match + "/disposition", dispose, dispose,
       match_id, missing_match},
      {"report on alpha's matches", "GET",
       "/v1/reports/matches?from=" + from + "&to=" + to + "&member=alpha",
       "/v1/reports/matches?from=" + from + "&to=" + to + "&member=nosuch", "",
       "", "alpha", "nosuch"},
      {"report summary for alpha", "GET",
       "/v1/reports/summary?from=" + from + "&to=" + to + "&member=alpha",
       "/v1/reports/summary?from=" + from + "&to=" + to + "&member=nosuch", "",
       "", "alpha", "nosuch"},
      {"read alpha's member record (operator endpoint)", "GET",
       "/v1/admin/members/alpha", "/v1/admin/members/nosuch", "", "", "alpha",
       "nosuch"},
  };
  for (const IsolationCase& c : cases) {
    CAPTURE(c.what);
    const CurlReply theirs =
        h.Curl("beta", c.method, c.path_theirs, c.body_theirs);
    const CurlReply missing =
        h.Curl("beta", c.method, c.path_missing, c.body_missing);
    CAPTURE(theirs.status, theirs.body, missing.status, missing.body);
    CHECK(theirs.status == missing.status);
    CHECK(ErrorCodeOf(theirs.body) == ErrorCodeOf(missing.body));
    // Same answer apart from the request id, the receipt and the id the
    // caller named.
    CHECK(Redact(Canonical(theirs.body), c.theirs_id) ==
          Redact(Canonical(missing.body), c.missing_id));
    CHECK((theirs.body.find(match_id) == std::string::npos ||
           c.theirs_id == match_id));
    CHECK(theirs.body.find("alpha-case-1") == std::string::npos);
  }
  // alpha's signal survived beta's attempts; alpha's match is undisposed
  // (alpha can still dispose of it).
  CHECK(ParseJson(h.Curl("beta", "POST", "/v1/query",
                         QueryBody({{"email", alpha_token}}))
                      .body)["matches"]
            .Size() == 1);
  CHECK(h.Curl("alpha", "POST", "/v1/matches/" + match_id + "/disposition",
               dispose)
            .status == 200);

  // Reads: beta's feed carries alpha's signal without alpha's identity or
  // ref; beta's notifications are empty after beta retracts its own signal
  // (the notification goes to alpha, who matched it); beta's query answer
  // does not name alpha (no attribution).
  REQUIRE(
      h.Curl("beta", "POST", "/v1/signals/retract", retract_token(beta_token))
          .status == 200);
  const CurlReply feed = h.Curl("beta", "GET", "/v1/feed");
  REQUIRE(feed.status == 200);
  CHECK(feed.body.find(alpha_token) != std::string::npos);
  CHECK(feed.body.find("alpha") == std::string::npos);
  CHECK(feed.body.find(h.Pki().Fingerprint("alpha")) == std::string::npos);
  const CurlReply beta_notes = h.Curl("beta", "GET", "/v1/notifications");
  REQUIRE(beta_notes.status == 200);
  CHECK(ParseJson(beta_notes.body)["notifications"].Size() == 0);
  CHECK(beta_notes.body.find(match_id) == std::string::npos);
  const CurlReply alpha_notes = h.Curl("alpha", "GET", "/v1/notifications");
  REQUIRE(alpha_notes.status == 200);
  CHECK(alpha_notes.body.find(match_id) != std::string::npos);
  const CurlReply query =
      h.Curl("beta", "POST", "/v1/query", QueryBody({{"email", alpha_token}}));
  CHECK(query.body.find("alpha") == std::string::npos);
}

}  // namespace
}  // namespace cairn::testing
