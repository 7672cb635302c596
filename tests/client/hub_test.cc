// The SDK against a real cairnd (tests/support/running_hub.h): the member
// story end to end, and the errors a misconfigured client gets.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "cairn/client.h"
#include "support/running_hub.h"

namespace cairn {
namespace {

using testing::RunningHub;

RunningHub& SharedHub() {
  static std::unique_ptr<RunningHub> hub = [] {
    auto started = RunningHub::Start();
    if (!started) FAIL("cannot start cairnd: " << started.error().ToString());
    return std::move(*started);
  }();
  return *hub;
}

const ConsortiumKey& SharedKey() {
  static const ConsortiumKey key = ConsortiumKey::Generate();
  return key;
}

ClientOptions OptionsFor(const RunningHub& hub, const std::string& member) {
  ClientOptions options;
  options.hub_url = hub.Url();
  options.cert_file = hub.Pki().Cert(member);
  options.key_file = hub.Pki().Key(member);
  options.ca_file = hub.Pki().CaCert();
  options.consortium_key = SharedKey();
  options.default_region = "GB";
  options.retry.initial_backoff = std::chrono::milliseconds(10);
  return options;
}

Client ClientFor(const std::string& member) {
  auto client = MakeClient(OptionsFor(SharedHub(), member));
  if (!client) FAIL(client.error().ToString());
  return *client;
}

std::chrono::sys_seconds DaysAgo(int days) {
  return std::chrono::floor<std::chrono::seconds>(
      std::chrono::system_clock::now() - std::chrono::hours(24 * days));
}

TEST_CASE("hub: Me identifies the member") {
  auto me = ClientFor("alpha").Me();
  REQUIRE(me);
  CHECK(me->member_id == "alpha");
  CHECK(me->fingerprint == SharedHub().Pki().Fingerprint("alpha"));
  CHECK(me->limits.max_batch == 10000);
}

TEST_CASE("hub: submit, query, dispose, retract, notifications, feed") {
  Client alpha = ClientFor("alpha");
  Client beta = ClientFor("beta");
  const std::string tag = testing::RandomTokenHex().substr(0, 12);
  const Identifier email = Identifier::Email("Groomer." + tag + "@example.com");
  const Identifier phone = Identifier::Phone(
      "+44 20 7946 0" + std::to_string(100 + std::rand() % 800));
  const Identifier handle = Identifier::Handle("discord", "u" + tag);
  const Identifier clean = Identifier::Email("nobody." + tag + "@example.com");

  // The feed position before this test's events. The feed shows other
  // members' signals, so beta reads it.
  std::string start;
  {
    auto feed = beta.Feed();
    for (auto& e : feed) REQUIRE(e);
    start = feed.cursor();
  }

  std::vector<Ban> bans;
  for (const auto& id : {email, phone, handle}) {
    bans.push_back(Ban{id, Category::kGrooming, Severity::kHigh, DaysAgo(1),
                       std::nullopt, true, "case-" + tag + "-" + id.kind()});
  }
  auto submitted = alpha.Submit(bans);
  REQUIRE(submitted);
  CHECK(submitted->failed() == 0);
  for (const auto& item : submitted->items) {
    CHECK(item.status == wire::SubmitStatus::kCreated);
    CHECK(wire::IsWellFormedSignalId(item.signal_id));
  }
  // Submitting the same bans again is harmless.
  auto again = alpha.Submit(bans);
  REQUIRE(again);
  CHECK(again->failed() == 0);

  // Beta finds them under other spellings of the same identifiers.
  const std::vector<Identifier> lookups = {
      clean, Identifier::Email("groomer." + tag + "@EXAMPLE.com"), handle,
      Identifier::Phone("12")};
  auto found = beta.Query(lookups);
  REQUIRE(found);
  REQUIRE(found->matches.size() == 2);
  CHECK(found->matches[0].index == 1);
  CHECK(found->matches[0].identifier == lookups[1]);
  CHECK(found->matches[0].match.platforms == 1);
  CHECK(found->matches[0].match.max_severity == Severity::kHigh);
  CHECK(found->matches[0].match.attributed_to ==
        std::vector<std::string>{"alpha"});
  CHECK(found->matches[1].index == 2);
  REQUIRE(found->failures.size() == 1);
  CHECK(found->failures[0].index == 3);
  CHECK(found->queried == 3);

  const std::string match_id = found->matches[0].match.match_id;
  auto disposed = beta.Dispose(match_id, Outcome::kConfirmed, "reviewed");
  REQUIRE(disposed);
  CHECK(disposed->match_id == match_id);
  CHECK(disposed->outcome == Outcome::kConfirmed);

  std::string notifications_start;
  {
    auto before = beta.Notifications();
    for (auto& n : before) REQUIRE(n);
    notifications_start = before.cursor();
  }

  auto retracted = alpha.Retract(
      {Retraction::Of(email, RetractReason::kAppealUpheld),
       Retraction::ByRef("case-" + tag + "-handle", RetractReason::kError),
       Retraction::Of(clean, RetractReason::kError)});
  REQUIRE(retracted);
  REQUIRE(retracted->items.size() == 3);
  CHECK(retracted->items[0].status == wire::RetractStatus::kRetracted);
  CHECK(retracted->items[1].status == wire::RetractStatus::kRetracted);
  CHECK(retracted->items[2].status == wire::RetractStatus::kNotFound);

  // Beta's match lost its support: a notification says so.
  std::vector<wire::Notification> notes;
  for (auto& n : beta.Notifications(notifications_start)) {
    REQUIRE(n);
    notes.push_back(*n);
  }
  REQUIRE_FALSE(notes.empty());
  bool saw_match = false;
  for (const auto& n : notes) {
    if (n.match_id != match_id) continue;
    saw_match = true;
    CHECK(n.type == FeedEventType::kRetracted);
    CHECK_FALSE(n.still_supported);
  }
  CHECK(saw_match);

  // The feed since `start`: three additions, two retractions, all tokens.
  int added = 0, retractions = 0;
  auto feed = beta.Feed(start, 2);
  for (auto& e : feed) {
    REQUIRE(e);
    if (e->type == FeedEventType::kAdded) ++added;
    if (e->type == FeedEventType::kRetracted) ++retractions;
  }
  CHECK(added >= 3);
  CHECK(retractions == 2);
  // Resuming from the saved cursor yields nothing new.
  int more = 0;
  for (auto& e : beta.Feed(feed.cursor())) {
    REQUIRE(e);
    ++more;
  }
  CHECK(more == 0);
}

TEST_CASE("hub: batches above 10,000 are split and all looked up") {
  Client beta = ClientFor("beta");
  std::vector<Identifier> ids;
  for (int i = 0; i < 12345; ++i) {
    ids.push_back(
        Identifier::Device("hex:" + testing::RandomTokenHex().substr(0, 16)));
  }
  auto result = beta.Query(ids);
  REQUIRE(result);
  CHECK(result->queried == ids.size());
  CHECK(result->request_ids.size() == 2);
  CHECK(result->matches.empty());
}

TEST_CASE(
    "hub: a submit over max_body_bytes is split to fit, and an oversized "
    "body gets the hub's 413, not a broken pipe") {
  auto me = ClientFor("alpha").Me();
  REQUIRE(me);
  REQUIRE(me->limits.max_body_bytes == 4194304);

  // 10,000 bans whose refs JSON must escape: about 4.6 MB in one request.
  const std::string tag = testing::RandomTokenHex().substr(0, 12);
  std::vector<Ban> bans;
  for (int i = 0; i < 10000; ++i) {
    const std::string ref(wire::kMaxRefBytes, '"');
    bans.push_back(Ban{Identifier::Email("big" + std::to_string(i) + "." + tag +
                                         "@example.com"),
                       Category::kGrooming, Severity::kHigh, DaysAgo(1),
                       std::nullopt, false, ref});
  }
  auto submitted = ClientFor("alpha").Submit(bans);
  REQUIRE(submitted);
  CHECK(submitted->failed() == 0);
  CHECK(submitted->request_ids.size() == 2);

  // Straight through the connection: the hub refuses the body by its
  // Content-Length and closes while the client is still writing.
  auto connection = MakeHubConnection(OptionsFor(SharedHub(), "alpha"));
  REQUIRE(connection);
  HttpRequest request{
      "POST", "/v1/signals", std::string(6 << 20, ' '), {}, false};
  auto reply = (*connection)->Send(request);
  REQUIRE(reply);
  CHECK(reply->status == 413);
  CHECK_THAT(reply->body, Catch::Contains("payload_too_large"));
  // The connection the hub closed is not reused: the next call works.
  auto after = (*connection)->Send(HttpRequest{"GET", "/v1/me", {}, {}, true});
  REQUIRE(after);
  CHECK(after->status == 200);
}

TEST_CASE("hub: a wrong pin is refused, the right pin is accepted") {
  auto options = OptionsFor(SharedHub(), "alpha");
  options.hub_pin = std::string(64, '0');
  auto client = MakeClient(options);
  REQUIRE(client);
  auto me = client->Me();
  REQUIRE_FALSE(me);
  CHECK_THAT(
      me.error().message,
      Catch::StartsWith("hub certificate does not match the pinned key"));

  // The right pin, computed the way the error message tells operators to.
  const auto command =
      "openssl x509 -in '" + SharedHub().Pki().ServerCert() +
      "' -pubkey -noout | openssl pkey -pubin -outform der | sha256sum";
  auto run =
      testing::RunCommand({"sh", "-c", command}, std::chrono::seconds(20));
  REQUIRE(run.exit_code == 0);
  options.hub_pin = run.out.substr(0, 64);
  auto pinned = MakeClient(options);
  REQUIRE(pinned);
  CHECK(pinned->Me());
}

TEST_CASE("hub: a consortium key file readable by others is refused") {
  const std::string path = SharedHub().Scratch().File("open.key");
  REQUIRE(WriteNewConsortiumKey(path));
  REQUIRE(::chmod(path.c_str(), 0644) == 0);
  auto options = OptionsFor(SharedHub(), "alpha");
  options.consortium_key.reset();
  options.consortium_key_file = path;
  auto client = MakeClient(options);
  REQUIRE_FALSE(client);
  CHECK(client.error().code == ErrorCode::kPermissionDenied);
  CHECK_THAT(client.error().message, Catch::Contains("chmod 600"));
}

TEST_CASE("hub: an unregistered certificate gets the registration hint") {
  testing::RunningHubOptions hub_options;
  hub_options.register_members = false;
  auto hub = RunningHub::Start(hub_options);
  REQUIRE(hub);
  auto client = MakeClient(OptionsFor(**hub, "alpha"));
  REQUIRE(client);
  auto me = client->Me();
  REQUIRE_FALSE(me);
  CHECK(me.error().code == ErrorCode::kPermissionDenied);
  std::string colon_fp;
  for (std::size_t i = 0; i < 4; i += 2) {
    if (i) colon_fp += ':';
    colon_fp +=
        static_cast<char>(std::toupper((*hub)->Pki().Fingerprint("alpha")[i]));
    colon_fp += static_cast<char>(
        std::toupper((*hub)->Pki().Fingerprint("alpha")[i + 1]));
  }
  CHECK_THAT(me.error().message,
             Catch::StartsWith("the hub rejected this client certificate "
                               "(fingerprint " +
                               colon_fp));
  CHECK_THAT(me.error().message,
             Catch::Contains("is it registered with the hub operator?"));
}

TEST_CASE(
    "hub: a client certificate the hub refuses in TLS is a permission "
    "error naming the certificate, not retried") {
  // The hub counts each refused certificate before it tells the client, so
  // a retry would show here as more than one handshake per call.
  const std::string refusals =
      "cairn_tls_handshake_failures_total{reason=\"certificate\"}";
  for (const char* name : {"other-ca-client", "expired", "not-yet-valid"}) {
    CAPTURE(name);
    auto options = OptionsFor(SharedHub(), name);
    auto client = MakeClient(options);
    REQUIRE(client);
    const std::optional<double> before = SharedHub().Metric(refusals);
    REQUIRE(before);
    auto me = client->Me();
    const std::optional<double> after = SharedHub().Metric(refusals);
    REQUIRE(after);
    CHECK(*after - *before == 1);
    REQUIRE_FALSE(me);
    CHECK(me.error().code == ErrorCode::kPermissionDenied);
    CHECK_THAT(me.error().message,
               Catch::StartsWith("the hub refused this client certificate (" +
                                 options.cert_file + ", fingerprint "));
    const std::string fp = SharedHub().Pki().Fingerprint(name);
    REQUIRE(fp.size() == 64);
    std::string colon_fp;
    for (std::size_t i = 0; i < fp.size(); i += 2) {
      if (i) colon_fp += ':';
      colon_fp += static_cast<char>(std::toupper(fp[i]));
      colon_fp += static_cast<char>(std::toupper(fp[i + 1]));
    }
    CHECK_THAT(me.error().message, Catch::Contains(colon_fp));
    CHECK_THAT(me.error().message,
               Catch::Contains("signed by the CA the hub trusts, in date"));
  }
}

// A loopback TCP relay in front of the hub that counts the connections it
// accepts. A client's TLS handshake cannot get past the hub's certificate
// before the relay has accepted and forwarded it, so once a call returns,
// the count holds every attempt it made: no waiting on the hub's metrics.
class CountingRelay {
 public:
  explicit CountingRelay(std::uint16_t hub_port) : hub_port_(hub_port) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr = Loopback(0);
    socklen_t len = sizeof addr;
    if (listener_ < 0 ||
        ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::listen(listener_, 16) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) !=
            0) {
      FAIL("cannot listen on loopback for the relay");
    }
    port_ = ntohs(addr.sin_port);
    accept_ = std::thread([this] { AcceptLoop(); });
  }
  ~CountingRelay() {
    stop_ = true;
    accept_.join();  // before pumps_, which only it adds to
    for (auto& t : pumps_) t.join();
    ::close(listener_);
  }
  CountingRelay(const CountingRelay&) = delete;
  CountingRelay& operator=(const CountingRelay&) = delete;

  std::uint16_t port() const { return port_; }
  int accepted() const { return accepted_; }

 private:
  static sockaddr_in Loopback(std::uint16_t port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return addr;
  }

  // Polls in 50 ms steps so that the destructor's stop_ is seen.
  void AcceptLoop() {
    while (!stop_) {
      pollfd p{listener_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int client = ::accept(listener_, nullptr, nullptr);
      if (client < 0) continue;
      ++accepted_;
      const int hub = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr = Loopback(hub_port_);
      if (hub < 0 || ::connect(hub, reinterpret_cast<sockaddr*>(&addr),
                               sizeof addr) != 0) {
        if (hub >= 0) ::close(hub);
        ::close(client);
        continue;
      }
      pumps_.emplace_back([this, client, hub] { Pump(client, hub); });
    }
  }

  // Copies bytes both ways until either side closes.
  void Pump(int a, int b) {
    char buf[16384];
    while (!stop_) {
      pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
      if (::poll(p, 2, 50) <= 0) continue;
      bool open = true;
      for (int i = 0; i < 2 && open; ++i) {
        if (p[i].revents == 0) continue;
        const ssize_t n = ::read(p[i].fd, buf, sizeof buf);
        if (n <= 0 ||
            ::write(p[1 - i].fd, buf, static_cast<std::size_t>(n)) != n) {
          open = false;
        }
      }
      if (!open) break;
    }
    ::close(a);
    ::close(b);
  }

  std::uint16_t hub_port_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread accept_;
  std::vector<std::thread> pumps_;
};

TEST_CASE(
    "hub: a hub certificate this client cannot verify is a permission "
    "error after one connection, not retried") {
  CountingRelay relay(SharedHub().Port());
  auto options = OptionsFor(SharedHub(), "alpha");
  options.hub_url = "https://127.0.0.1:" + std::to_string(relay.port());
  {
    // The relay itself: a well-configured client gets through it.
    auto client = MakeClient(options);
    REQUIRE(client);
    auto me = client->Me();
    REQUIRE(me);
    REQUIRE(relay.accepted() == 1);
  }
  // The test PKI's second CA did not sign the hub's certificate. Four
  // attempts are allowed; none may be used on a refusal that stays.
  options.ca_file = SharedHub().Pki().dir() + "/other-ca.crt";
  options.retry.max_attempts = 4;
  auto client = MakeClient(options);
  REQUIRE(client);
  auto me = client->Me();
  REQUIRE_FALSE(me);
  CAPTURE(me.error().message);
  CHECK(relay.accepted() == 2);
  CHECK(me.error().code == ErrorCode::kPermissionDenied);
  CHECK_THAT(me.error().message,
             Catch::Contains("the hub's certificate was refused ("));
  CHECK_THAT(me.error().message,
             Catch::Contains("check that ca_file (" + options.ca_file + ")"));
}

TEST_CASE("hub: an unreachable hub is an unavailable error after retries") {
  auto options = OptionsFor(SharedHub(), "alpha");
  options.hub_url = "https://127.0.0.1:" + std::to_string(testing::FreePort());
  options.retry.max_attempts = 2;
  auto client = MakeClient(options);
  REQUIRE(client);
  auto me = client->Me();
  REQUIRE_FALSE(me);
  CHECK(me.error().code == ErrorCode::kUnavailable);
  CHECK_THAT(me.error().message, Catch::Contains("is the hub running"));
}

TEST_CASE(
    "hub: a hub with a lower batch limit announces it, refuses larger "
    "batches, and the SDK splits to fit") {
  testing::RunningHubOptions hub_options;
  hub_options.extra_toml = "[limits]\nmax_batch = 100\n";
  auto started = RunningHub::Start(hub_options);
  REQUIRE(started);
  RunningHub& hub = **started;
  auto alpha = MakeClient(OptionsFor(hub, "alpha"));
  auto beta = MakeClient(OptionsFor(hub, "beta"));
  REQUIRE(alpha);
  REQUIRE(beta);
  auto me = alpha->Me();
  REQUIRE(me);
  CHECK(me->limits.max_batch == 100);

  // 101 items straight to the hub: one over, refused whole, nothing stored.
  std::string body = R"({"queries":[)";
  for (int i = 0; i < 101; ++i) {
    body += std::string(i == 0 ? "" : ",") + R"({"kind":"email","token":")" +
            testing::RandomTokenHex() + "\"}";
  }
  body += "]}";
  const auto refused = hub.Curl("beta", "POST", "/v1/query", body);
  CHECK(refused.status == 400);
  CHECK(refused.body.find("at most 100 per request") != std::string::npos);
  CHECK(refused.body.find(R"("field":"queries")") != std::string::npos);

  const std::string tag = testing::RandomTokenHex().substr(0, 12);
  std::vector<Identifier> ids;
  std::vector<Ban> bans;
  for (int i = 0; i < 250; ++i) {
    ids.push_back(Identifier::Email("split" + std::to_string(i) + "." + tag +
                                    "@example.com"));
    bans.push_back(Ban{ids.back(), Category::kGrooming, Severity::kHigh,
                       DaysAgo(1), std::nullopt, false, std::nullopt});
  }
  auto submitted = alpha->Submit(bans);
  REQUIRE(submitted);
  CHECK(submitted->failed() == 0);
  CHECK(submitted->request_ids.size() == 3);
  auto matched = beta->Query(ids);
  REQUIRE(matched);
  CHECK(matched->queried == 250);
  CHECK(matched->matches.size() == 250);
  CHECK(matched->request_ids.size() == 3);
}

}  // namespace
}  // namespace cairn
