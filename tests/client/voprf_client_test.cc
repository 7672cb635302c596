// The SDK under token scheme voprf-v1, against the in-memory FakeHub with
// an OPRF evaluator in front of it (a test double of the hub's
// /v1/oprf/evaluate): transparent submit/query, proof checks, key pinning,
// batching, the per-epoch cache, and epoch rotation.
#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cairn/client.h"
#include "cairn/encoding.h"
#include "cairn/oprf.h"
#include "cairn/testing/fake_hub.h"
#include "cairn/token.h"
#include "cairn/wire.h"

namespace cairn {
namespace {

// The hub's OPRF side: answers GET /v1/me (adding the "oprf" block) and
// POST /v1/oprf/evaluate; everything else goes to the FakeHub.
class OprfFrontHub {
 public:
  explicit OprfFrontHub(std::shared_ptr<testing::FakeHub> hub)
      : hub_(std::move(hub)) {
    keys_.push_back(std::make_unique<oprf::KeyPair>(oprf::GenerateKeyPair()));
  }

  std::shared_ptr<Connection> ConnectionFor(const std::string& member);

  HttpReply Handle(const std::string& member, const HttpRequest& request) {
    if (request.target == "/v1/me") {
      HttpReply reply = hub_->Handle(member, request);
      auto me = wire::DecodeMeResponse(reply.body);
      REQUIRE(me);
      std::lock_guard lock(mu_);
      me->token_schemes.push_back(TokenScheme::kVoprfV1);
      me->oprf.emplace();
      me->oprf->epoch = Epoch();
      me->oprf->public_key = keys_.back()->public_key;
      if (hub_max_batch != 0) {
        me->limits.max_batch = static_cast<std::uint32_t>(hub_max_batch);
      }
      reply.body = wire::Encode(*me);
      return reply;
    }
    if (request.target == "/v1/oprf/evaluate") {
      ++evaluate_requests;
      auto decoded = wire::DecodeOprfEvaluateRequest(request.body);
      REQUIRE(decoded);
      std::lock_guard lock(mu_);
      elements_evaluated += decoded->elements.size();
      if (decoded->epoch <= dropped_ || decoded->epoch > keys_.size()) {
        return HttpReply{400,
                         wire::EncodeErrorBody(
                             Error{ErrorCode::kInvalidArgument,
                                   "epoch is not an OPRF key epoch of this hub",
                                   "epoch",
                                   {}}),
                         {}};
      }
      const oprf::KeyPair& key = *keys_[decoded->epoch - 1];
      auto evaluation = oprf::BlindEvaluateBatch(key.secret_key, key.public_key,
                                                 decoded->elements);
      REQUIRE(evaluation);
      wire::OprfEvaluateResponse response;
      response.epoch = decoded->epoch;
      response.evaluated = evaluation->evaluated_elements;
      response.proof = evaluation->proof;
      if (tamper_proof) response.proof[0] ^= 1;
      if (swap_first_two && response.evaluated.size() >= 2) {
        std::swap(response.evaluated[0], response.evaluated[1]);
      }
      return HttpReply{200, wire::Encode(response), {}};
    }
    return hub_->Handle(member, request);
  }

  // The token an honest hub gives `x` under epoch `epoch` (1-based).
  Token ExpectedToken(const Token& x, std::uint32_t epoch) {
    std::lock_guard lock(mu_);
    const oprf::KeyPair& key = *keys_[epoch - 1];
    auto blinded = oprf::Blind(x, oprf::Mode::kVoprf);
    auto evaluated =
        oprf::BlindEvaluate(key.secret_key, blinded->blinded_element);
    auto output =
        oprf::Finalize(x, blinded->blind, *evaluated, oprf::Mode::kVoprf);
    Token token;
    std::copy_n(output->begin(), token.size(), token.begin());
    return token;
  }

  void Rotate() {
    std::lock_guard lock(mu_);
    keys_.push_back(std::make_unique<oprf::KeyPair>(oprf::GenerateKeyPair()));
  }
  // Forgets old epochs: the hub ended the overlap.
  void DropOldEpochs() {
    std::lock_guard lock(mu_);
    for (std::size_t i = 0; i + 1 < keys_.size(); ++i) {
      keys_[i] = std::make_unique<oprf::KeyPair>(oprf::GenerateKeyPair());
    }
    dropped_ = keys_.size() - 1;
  }
  std::string PublicKeyBase64() {
    std::lock_guard lock(mu_);
    return Base64Encode(keys_.back()->public_key);
  }

  // limits.max_batch announced in /v1/me; 0: the fake hub's own.
  std::size_t hub_max_batch = 0;
  std::atomic<int> evaluate_requests{0};
  std::atomic<std::size_t> elements_evaluated{0};
  std::atomic<bool> tamper_proof{false};
  std::atomic<bool> swap_first_two{false};

 private:
  std::uint32_t Epoch() const {
    return static_cast<std::uint32_t>(keys_.size());
  }

  std::shared_ptr<testing::FakeHub> hub_;
  std::mutex mu_;
  std::vector<std::unique_ptr<oprf::KeyPair>> keys_;
  std::size_t dropped_ = 0;
};

class FrontConnection : public Connection {
 public:
  FrontConnection(OprfFrontHub* hub, std::string member)
      : hub_(hub), member_(std::move(member)) {}
  Result<HttpReply> Send(const HttpRequest& request) override {
    return hub_->Handle(member_, request);
  }

 private:
  OprfFrontHub* hub_;
  std::string member_;
};

std::shared_ptr<Connection> OprfFrontHub::ConnectionFor(
    const std::string& member) {
  return std::make_shared<FrontConnection>(this, member);
}

const ConsortiumKey& SharedKey() {
  static const ConsortiumKey key = ConsortiumKey::Generate();
  return key;
}

ClientOptions VoprfOptions() {
  ClientOptions options;
  options.consortium_key = SharedKey();
  options.token_scheme = TokenScheme::kVoprfV1;
  return options;
}

Ban BanOf(const Identifier& id) {
  return Ban{id,
             Category::kGrooming,
             Severity::kHigh,
             std::chrono::floor<std::chrono::seconds>(
                 std::chrono::system_clock::now() - std::chrono::hours(1)),
             std::nullopt,
             false,
             std::nullopt};
}

TEST_CASE("voprf client: submit and query match transparently",
          "[voprf][client]") {
  OprfFrontHub front(std::make_shared<testing::FakeHub>());
  auto alpha = MakeClient(VoprfOptions(), front.ConnectionFor("alpha"));
  auto beta = MakeClient(VoprfOptions(), front.ConnectionFor("beta"));
  REQUIRE(alpha);
  REQUIRE(beta);

  const Identifier jane = Identifier::Email("Jane.Doe@Example.com");
  const Identifier other = Identifier::Email("someone.else@example.com");
  auto submitted = alpha->Submit({BanOf(jane)});
  REQUIRE(submitted);
  CHECK(submitted->failed() == 0);

  auto result = beta->Query({other, Identifier::Email("jane.doe@example.com"),
                             Identifier::Phone("not a phone")});
  REQUIRE(result);
  REQUIRE(result->matches.size() == 1);
  CHECK(result->matches[0].index == 1);
  REQUIRE(result->failures.size() == 1);  // per-item error still per item
  CHECK(result->failures[0].index == 2);

  // The wire key is voprf-v1 under epoch 1, and the token is the first 32
  // bytes of Finalize(x) under the hub's key.
  auto key = beta->Tokenise(jane);
  REQUIRE(key);
  CHECK(key->scheme == TokenScheme::kVoprfV1);
  CHECK(key->epoch == 1);
  const Token x =
      DeriveHmacV1Token(SharedKey(), "email", "jane.doe@example.com");
  CHECK(key->token == front.ExpectedToken(x, 1));
  CHECK(key->token != x);
}

TEST_CASE("voprf client: hmac-v1 tokens computed offline do not match",
          "[voprf][client]") {
  OprfFrontHub front(std::make_shared<testing::FakeHub>());
  auto alpha = MakeClient(VoprfOptions(), front.ConnectionFor("alpha"));
  ClientOptions offline;
  offline.consortium_key = SharedKey();  // holds the key, skips the hub
  auto mallory = MakeClient(offline, front.ConnectionFor("mallory"));
  REQUIRE(alpha);
  REQUIRE(mallory);
  const Identifier phone = Identifier::Phone("+44 20 7946 0958");
  REQUIRE(alpha->Submit({BanOf(phone)}));
  auto guess = mallory->Query({phone});
  REQUIRE(guess);
  CHECK(guess->matches.empty());
  CHECK(front.evaluate_requests.load() == 1);  // only alpha's
}

TEST_CASE("voprf client: a bad proof or a wrong key is refused",
          "[voprf][client]") {
  OprfFrontHub front(std::make_shared<testing::FakeHub>());
  const std::vector<Identifier> ids = {Identifier::Email("a@example.com"),
                                       Identifier::Email("b@example.com")};
  struct Case {
    std::string name;
    bool tamper = false;
    bool swap = false;
    std::string pin;  // ClientOptions::oprf_public_key
    std::string message;
  };
  const std::vector<Case> cases = {
      {"tampered proof", true, false, "", "did not verify against public key"},
      {"swapped evaluations", false, true, "",
       "did not verify against public key"},
      {"pinned key differs", false, false,
       Base64Encode(oprf::GenerateKeyPair().public_key), "pins"},
      {"pin not a key", false, false, "AAAA", "oprf_public_key"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    front.tamper_proof = c.tamper;
    front.swap_first_two = c.swap;
    ClientOptions options = VoprfOptions();
    options.oprf_public_key = c.pin;
    auto client = MakeClient(options, front.ConnectionFor("alpha"));
    REQUIRE(client);
    auto result = client->Query(ids);
    REQUIRE_FALSE(result);
    CHECK(result.error().message.find(c.message) != std::string::npos);
    if (c.tamper || c.swap) {
      CHECK(result.error().code == ErrorCode::kCrypto);
      CHECK(result.error().message.find("do not trust these tokens") !=
            std::string::npos);
    }
    auto submitted = client->Submit({BanOf(ids[0]), BanOf(ids[1])});
    CHECK_FALSE(submitted);  // nothing is sent with unverified tokens
  }
  front.tamper_proof = false;
  front.swap_first_two = false;

  // The right pin works.
  ClientOptions pinned = VoprfOptions();
  pinned.oprf_public_key = front.PublicKeyBase64();
  auto client = MakeClient(pinned, front.ConnectionFor("alpha"));
  REQUIRE(client);
  CHECK(client->Query(ids));
}

TEST_CASE("voprf client: batches split at max_batch, one proof each",
          "[voprf][client]") {
  OprfFrontHub front(std::make_shared<testing::FakeHub>());
  ClientOptions options = VoprfOptions();
  options.max_batch = 2;
  options.token_cache_entries = 0;
  auto client = MakeClient(options, front.ConnectionFor("alpha"));
  REQUIRE(client);
  std::vector<Identifier> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(
        Identifier::Email("user" + std::to_string(i) + "@example.com"));
  }
  auto result = client->Query(ids);
  REQUIRE(result);
  CHECK(result->queried == 5);
  CHECK(front.evaluate_requests.load() == 3);
  CHECK(front.elements_evaluated.load() == 5);
}

TEST_CASE("voprf client: evaluations split at the hub's batch limit too",
          "[voprf][client]") {
  OprfFrontHub front(std::make_shared<testing::FakeHub>());
  front.hub_max_batch = 2;  // options.max_batch stays 10,000
  ClientOptions options = VoprfOptions();
  options.token_cache_entries = 0;
  auto client = MakeClient(options, front.ConnectionFor("alpha"));
  REQUIRE(client);
  std::vector<Identifier> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(
        Identifier::Email("user" + std::to_string(i) + "@example.com"));
  }
  auto result = client->Query(ids);
  REQUIRE(result);
  CHECK(result->queried == 5);
  CHECK(front.evaluate_requests.load() == 3);
  CHECK(front.elements_evaluated.load() == 5);
}

TEST_CASE("voprf client: the token cache saves evaluations",
          "[voprf][client]") {
  struct Case {
    std::size_t cache_entries;
    int second_call_requests;  // evaluate requests of the repeated query
    std::size_t second_call_elements;
  };
  const std::vector<Case> cases = {
      {100000, 0, 0},  // everything cached
      {0, 1, 3},       // cache disabled: evaluated again
      {2, 1, 1},       // bounded: 2 of 3 kept (least recently used dropped)
  };
  for (const Case& c : cases) {
    CAPTURE(c.cache_entries);
    OprfFrontHub front(std::make_shared<testing::FakeHub>());
    ClientOptions options = VoprfOptions();
    options.token_cache_entries = c.cache_entries;
    auto client = MakeClient(options, front.ConnectionFor("alpha"));
    REQUIRE(client);
    const std::vector<Identifier> ids = {Identifier::Email("a@example.com"),
                                         Identifier::Email("b@example.com"),
                                         Identifier::Email("c@example.com")};
    auto first = client->Query(ids);
    REQUIRE(first);
    CHECK(front.evaluate_requests.load() == 1);
    const std::size_t before = front.elements_evaluated.load();
    auto key_before = client->Tokenise(ids[2]);
    REQUIRE(key_before);
    front.evaluate_requests = 0;
    front.elements_evaluated = 0;
    auto second = client->Query(ids);
    REQUIRE(second);
    CHECK(front.evaluate_requests.load() == c.second_call_requests);
    CHECK(front.elements_evaluated.load() == c.second_call_elements);
    CHECK(before == 3);
    // Cached or not, the tokens are the same.
    auto key_after = client->Tokenise(ids[2]);
    REQUIRE(key_after);
    CHECK(key_after->token == key_before->token);
  }
}

TEST_CASE("voprf client: follows a key rotation", "[voprf][client]") {
  OprfFrontHub front(std::make_shared<testing::FakeHub>());
  auto client = MakeClient(VoprfOptions(), front.ConnectionFor("alpha"));
  REQUIRE(client);
  const Identifier id = Identifier::Email("rotate@example.com");
  auto first = client->Tokenise(id);
  REQUIRE(first);
  CHECK(first->epoch == 1);
  front.Rotate();
  front.DropOldEpochs();  // epoch 1 refused: the client must re-read /v1/me
  auto second = client->Tokenise(Identifier::Email("new@example.com"));
  REQUIRE(second);
  CHECK(second->epoch == 2);
  // The cache of epoch 1 is not reused under epoch 2.
  auto again = client->Tokenise(id);
  REQUIRE(again);
  CHECK(again->epoch == 2);
  CHECK(again->token != first->token);
}

}  // namespace
}  // namespace cairn
