// Signed receipts (cairn/receipt.h): known-answer tests for the canonical
// digests and the Ed25519 signature (expected values computed independently
// with Python's hashlib and the openssl CLI), the tampering table, and
// verification of saved responses.
#include "cairn/receipt.h"

#include <sodium.h>

#include <functional>

#include <catch2/catch.hpp>

#include "cairn/encoding.h"
#include "cairn/timestamp.h"

namespace cairn {
namespace {

constexpr const char* kRequestBody =
    R"({"queries":[{"kind":"email","token":")"
    "abababababababababababababababababababababababababababababababab"
    R"("}]})";
// Independently computed (Python hashlib, openssl pkeyutl -rawin).
constexpr const char* kRequestDigest =
    "c4de61d47728d62a77d18c47299cc941f57f26c9d2ed6f765d15935b3cec58f6";
constexpr const char* kEmptyResultsDigest =  // SHA-256("[]")
    "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945";
constexpr const char* kReceiptDigestHex =
    "d8741a3c6b0d9fe8cf89ebad9f0745e6839110b8db9f23eec34fa2f4a996ad76";
// Ed25519 with seed 00 01 02 ... 1f over kReceiptDigestHex's bytes.
constexpr const char* kSignature =
    "GbL9mQJ2/0Sb4hYr4LF+lIbCFonIFmqBcSscOBt1Vb9Vvx44vLoz+DH0dhgSTI9AjXEA9mIc"
    "XjehonvlgVg6Ag==";
constexpr const char* kPublicKey =
    "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=";

struct TestKey {
  std::array<std::uint8_t, crypto_sign_PUBLICKEYBYTES> pk{};
  std::array<std::uint8_t, crypto_sign_SECRETKEYBYTES> sk{};
};

TestKey KeyFromSeed(std::uint8_t first) {
  REQUIRE(sodium_init() >= 0);
  std::array<std::uint8_t, crypto_sign_SEEDBYTES> seed{};
  for (std::size_t i = 0; i < seed.size(); ++i) {
    seed[i] = static_cast<std::uint8_t>(first + i);
  }
  TestKey key;
  crypto_sign_seed_keypair(key.pk.data(), key.sk.data(), seed.data());
  return key;
}

void Sign(wire::Receipt& receipt, const TestKey& key) {
  const auto digest = ReceiptDigest(receipt);
  std::array<std::uint8_t, crypto_sign_BYTES> sig{};
  crypto_sign_detached(sig.data(), nullptr, digest.data(), digest.size(),
                       key.sk.data());
  receipt.signature = Base64Encode(sig);
}

wire::HubKey PublicOf(const TestKey& key, std::string key_id) {
  wire::HubKey out;
  out.key_id = std::move(key_id);
  out.public_key = Base64Encode(key.pk);
  out.valid_from = *ParseTimestamp("2026-01-01T00:00:00Z");
  return out;
}

wire::Receipt FixedReceipt() {
  wire::Receipt r;
  r.key_id = "hk_0123456789abcdef";
  r.member = "alpha";
  r.request_id = "r_" + std::string(32, '0');
  r.at = *ParseTimestamp("2026-11-23T14:00:00Z");
  r.endpoint = "/v1/query";
  r.request_digest = kRequestDigest;
  r.results_digest = kEmptyResultsDigest;
  return r;
}

ReceiptExpectation ExpectationFor(const wire::Receipt& r) {
  ReceiptExpectation e;
  e.endpoint = r.endpoint;
  e.request_id = r.request_id;
  e.results_digest = r.results_digest;
  e.member = r.member;
  e.request_digest = r.request_digest;
  return e;
}

wire::QueryResponse SampleQueryResponse() {
  wire::QueryResponse response;
  response.request_id = "r_" + std::string(32, '7');
  response.queried = 3;
  wire::Match& m = response.matches.emplace_back();
  m.index = 1;
  m.match_id = "m_" + std::string(32, 'c');
  m.kinds = {"email"};
  m.categories = {Category::kGrooming};
  m.platforms = 2;
  m.first_banned_at = *ParseTimestamp("2026-01-02T03:04:05Z");
  m.last_banned_at = *ParseTimestamp("2026-02-02T03:04:05Z");
  m.max_severity = Severity::kHigh;
  return response;
}

TEST_CASE("receipt digests match independently computed values",
          "[receipt][kat]") {
  CHECK(Sha256Hex(kRequestBody) == kRequestDigest);
  CHECK(ResultsDigest(std::vector<wire::Match>{}) == kEmptyResultsDigest);
  CHECK(CanonicalResults(std::vector<wire::SubmitResult>{}) == "[]");
  CHECK(HexEncode(ReceiptDigest(FixedReceipt())) == kReceiptDigestHex);
  // The signature field is not part of the digest.
  wire::Receipt signed_receipt = FixedReceipt();
  signed_receipt.signature = "anything";
  CHECK(HexEncode(ReceiptDigest(signed_receipt)) == kReceiptDigestHex);
}

TEST_CASE("receipt signature with a fixed seed is the known answer",
          "[receipt][kat]") {
  const TestKey key = KeyFromSeed(0);
  CHECK(Base64Encode(key.pk) == kPublicKey);
  wire::Receipt receipt = FixedReceipt();
  Sign(receipt, key);
  CHECK(receipt.signature == kSignature);
  const std::vector<wire::HubKey> keys = {PublicOf(key, "hk_0123456789abcdef")};
  auto verified = VerifyReceipt(receipt, ExpectationFor(receipt), keys);
  CHECK(verified);
}

TEST_CASE("canonical results are the arrays the response encoder writes",
          "[receipt]") {
  wire::SubmitSignalsResponse submit;
  submit.request_id = "r_" + std::string(32, '1');
  submit.results.push_back({0, wire::SubmitStatus::kCreated,
                            "s_" + std::string(32, 'a'), std::nullopt});
  submit.results.push_back(
      {1, wire::SubmitStatus::kError, "",
       wire::ItemError{ErrorCode::kInvalidArgument, "bad kind", "kind"}});
  const std::string canonical = CanonicalResults(submit.results);
  CHECK(canonical ==
        R"([{"index":0,"status":"created","signal_id":"s_)" +
            std::string(32, 'a') +
            R"("},{"index":1,"status":"error","error":{"code":)"
            R"("invalid_argument","message":"bad kind","field":"kind"}}])");
  CHECK(wire::Encode(submit).find(canonical) != std::string::npos);

  wire::RetractResponse retract;
  retract.request_id = submit.request_id;
  retract.results.push_back({0, wire::RetractStatus::kNotFound, {}, {}});
  CHECK(CanonicalResults(retract.results) ==
        R"([{"index":0,"status":"not_found","signal_ids":[]}])");

  const auto query = SampleQueryResponse();
  CHECK(wire::Encode(query).find(CanonicalResults(query.matches)) !=
        std::string::npos);
}

TEST_CASE("tampered receipts fail verification with a clear message",
          "[receipt][bad]") {
  const TestKey key = KeyFromSeed(0);
  const TestKey other = KeyFromSeed(100);
  const std::string id = "hk_0123456789abcdef";
  struct Case {
    const char* name;
    std::function<void(wire::Receipt&, ReceiptExpectation&,
                       std::vector<wire::HubKey>&)>
        tamper;
    ErrorCode code;
    const char* message;
  };
  const Case cases[] = {
      {"changed result",
       [](auto&, auto& e, auto&) { e.results_digest = Sha256Hex("[1]"); },
       ErrorCode::kCrypto, "results in the response differ"},
      {"changed member (re-signed digest not updated)",
       [](auto& r, auto&, auto&) { r.member = "mallory"; }, ErrorCode::kCrypto,
       "signature does not verify"},
      {"changed time",
       [](auto& r, auto&, auto&) { r.at += std::chrono::hours(1); },
       ErrorCode::kCrypto, "signature does not verify"},
      {"changed results digest in the receipt",
       [](auto& r, auto&, auto&) { r.results_digest = Sha256Hex("x"); },
       ErrorCode::kCrypto, "signature does not verify"},
      {"wrong key under the same id",
       [&](auto&, auto&, auto& k) { k = {PublicOf(other, id)}; },
       ErrorCode::kCrypto, "signature does not verify"},
      {"unknown key id",
       [&](auto&, auto&, auto& k) {
         k = {PublicOf(key, "hk_ffffffffffffffff")};
       },
       ErrorCode::kNotFound, "not among the hub's published keys"},
      {"expired key id",
       [](auto&, auto&, auto& k) {
         k[0].valid_until = *ParseTimestamp("2026-06-01T00:00:00Z");
       },
       ErrorCode::kCrypto, "valid only from"},
      {"key not yet valid",
       [](auto&, auto&, auto& k) {
         k[0].valid_from = *ParseTimestamp("2026-12-01T00:00:00Z");
       },
       ErrorCode::kCrypto, "valid only from"},
      {"other request body",
       [](auto&, auto& e, auto&) { e.request_digest = Sha256Hex("{}"); },
       ErrorCode::kCrypto, "different request body"},
      {"other endpoint",
       [](auto&, auto& e, auto&) { e.endpoint = "/v1/signals"; },
       ErrorCode::kCrypto, "another kind of request"},
      {"other response",
       [](auto&, auto& e, auto&) {
         e.request_id = "r_" + std::string(32, '9');
       },
       ErrorCode::kCrypto, "another response"},
      {"issued to another member",
       [](auto&, auto& e, auto&) { e.member = "beta"; }, ErrorCode::kCrypto,
       "another member"},
      {"unsupported algorithm", [](auto& r, auto&, auto&) { r.alg = "rsa"; },
       ErrorCode::kCrypto, "not supported"},
      {"damaged signature", [](auto& r, auto&, auto&) { r.signature = "AAAA"; },
       ErrorCode::kCrypto, "not 64 bytes"},
      {"damaged public key",
       [](auto&, auto&, auto& k) { k[0].public_key = "!!"; },
       ErrorCode::kCrypto, "not 32 bytes"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    wire::Receipt receipt = FixedReceipt();
    Sign(receipt, key);
    ReceiptExpectation expected = ExpectationFor(receipt);
    std::vector<wire::HubKey> keys = {PublicOf(key, id)};
    REQUIRE(VerifyReceipt(receipt, expected, keys));
    c.tamper(receipt, expected, keys);
    auto verified = VerifyReceipt(receipt, expected, keys);
    REQUIRE_FALSE(verified);
    CAPTURE(verified.error().message);
    CHECK(verified.error().code == c.code);
    CHECK(verified.error().message.find(c.message) != std::string::npos);
  }
}

TEST_CASE("saved responses verify, also re-formatted, and tampering is found",
          "[receipt]") {
  const TestKey key = KeyFromSeed(7);
  const std::vector<wire::HubKey> keys = {PublicOf(key, "hk_aaaaaaaaaaaaaaaa")};
  wire::QueryResponse response = SampleQueryResponse();
  wire::Receipt receipt;
  receipt.key_id = "hk_aaaaaaaaaaaaaaaa";
  receipt.member = "alpha";
  receipt.request_id = response.request_id;
  receipt.at = *ParseTimestamp("2026-11-23T15:00:00Z");
  receipt.endpoint = std::string(kQueryEndpoint);
  receipt.request_digest = Sha256Hex(kRequestBody);
  receipt.results_digest = ResultsDigest(response.matches);
  Sign(receipt, key);
  response.receipt = receipt;
  const std::string json = wire::Encode(response);

  auto verified = VerifySavedResponse(json, keys, kRequestBody);
  REQUIRE(verified);
  CHECK(*verified == receipt);
  CHECK(VerifyResponseReceipt(response, kRequestBody, keys, "alpha"));
  CHECK_FALSE(VerifyResponseReceipt(response, kRequestBody, keys, "beta"));

  // Whitespace (e.g. a pretty-printer) does not matter: the results are
  // re-encoded canonically.
  std::string pretty = json;
  for (std::size_t at = pretty.find(','); at != std::string::npos;
       at = pretty.find(',', at + 3)) {
    pretty.insert(at + 1, "\n  ");
  }
  CHECK(VerifySavedResponse(pretty, keys));

  struct Bad {
    const char* name;
    std::string json;
    std::optional<std::string> request;
    const char* message;
  };
  std::string more_platforms = json;
  more_platforms.replace(more_platforms.find("\"platforms\":2"), 13,
                         "\"platforms\":5");
  wire::QueryResponse no_receipt = SampleQueryResponse();
  const Bad bad[] = {
      {"match altered", more_platforms, std::nullopt,
       "results in the response"},
      {"other request", json, std::string("{}"), "different request body"},
      {"no receipt", wire::Encode(no_receipt), std::nullopt, "no \"receipt\""},
      {"not JSON", "not json", std::nullopt, ""},
  };
  for (const Bad& b : bad) {
    CAPTURE(b.name);
    auto r = VerifySavedResponse(
        b.json, keys,
        b.request ? std::optional<std::string_view>(*b.request) : std::nullopt);
    REQUIRE_FALSE(r);
    CAPTURE(r.error().message);
    CHECK(r.error().message.find(b.message) != std::string::npos);
  }
}

TEST_CASE("hub key lists decode from /v1/me and from the rotate answer",
          "[receipt]") {
  HubKeysResponse list;
  list.hub_keys.push_back(PublicOf(KeyFromSeed(1), "hk_1111111111111111"));
  list.hub_keys.push_back(PublicOf(KeyFromSeed(2), "hk_2222222222222222"));
  list.hub_keys[1].valid_until = *ParseTimestamp("2026-11-01T00:00:00Z");
  auto decoded = DecodeHubKeysResponse(Encode(list));
  REQUIRE(decoded);
  CHECK(*decoded == list);

  wire::MeResponse me;
  me.member_id = "alpha";
  me.name = "Alpha";
  me.roles = {Role::kMember};
  me.fingerprint = std::string(64, 'a');
  me.token_schemes = {TokenScheme::kHmacV1};
  me.hub_keys = list.hub_keys;
  auto from_me = DecodeHubKeysResponse(wire::Encode(me));
  REQUIRE(from_me);
  CHECK(from_me->hub_keys == list.hub_keys);

  CHECK_FALSE(DecodeHubKeysResponse(R"({"member_id":"alpha"})"));
  CHECK_FALSE(LoadHubKeysFile("/nonexistent/me.json"));
}

}  // namespace
}  // namespace cairn
