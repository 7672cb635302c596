// RFC 9497 ristretto255-SHA512 OPRF/VOPRF: the RFC's known-answer vectors
// (tests/common/vectors/, a copy of ../shared/vectors/), RFC 9380's
// expand_message_xmd vectors, and rejection of malformed values.
#include "cairn/oprf.h"

#include <sodium.h>

#include <string>
#include <vector>

#include <simdjson.h>
#include <catch2/catch.hpp>

#include "cairn/encoding.h"

namespace cairn::oprf {
namespace {

std::vector<std::uint8_t> Unhex(std::string_view hex) {
  auto bytes = HexDecode(hex);
  REQUIRE(bytes.has_value());
  return *bytes;
}

template <std::size_t N>
std::array<std::uint8_t, N> UnhexArray(std::string_view hex) {
  const auto bytes = Unhex(hex);
  REQUIRE(bytes.size() == N);
  std::array<std::uint8_t, N> out;
  std::copy(bytes.begin(), bytes.end(), out.begin());
  return out;
}

Element E(std::string_view hex) { return UnhexArray<kElementSize>(hex); }
Scalar S(std::string_view hex) { return UnhexArray<kScalarSize>(hex); }

std::vector<std::string> SplitComma(std::string_view text) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    parts.emplace_back(text.substr(start, comma - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return parts;
}

// One entry of a suite's "vectors" array; batch fields split on commas.
struct TestVector {
  std::size_t batch = 0;
  std::vector<std::string> input, blind, blinded_element, evaluation_element,
      output;
  std::string proof, r;  // VOPRF only
};

struct TestSuite {
  Mode mode = Mode::kOprf;
  std::string seed, key_info, sk, pk, group_dst;
  std::vector<TestVector> vectors;
};

std::string Field(simdjson::ondemand::object& object, std::string_view key) {
  return std::string(std::string_view(object[key]));
}

// The ristretto255-SHA512 suites of modes 0 and 1 (POPRF is not built).
std::vector<TestSuite> LoadSuites() {
  const std::string path =
      CAIRN_SOURCE_DIR "/tests/common/vectors/rfc9497-ristretto255-sha512.json";
  simdjson::padded_string json = simdjson::padded_string::load(path);
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc = parser.iterate(json);
  std::vector<TestSuite> suites;
  for (simdjson::ondemand::object entry : doc.get_array()) {
    if (Field(entry, "identifier") != "ristretto255-SHA512") continue;
    const std::uint64_t mode = entry["mode"].get_uint64();
    if (mode > 1) continue;
    TestSuite suite;
    suite.mode = static_cast<Mode>(mode);
    suite.seed = Field(entry, "seed");
    suite.key_info = Field(entry, "keyInfo");
    suite.sk = Field(entry, "skSm");
    suite.group_dst = Field(entry, "groupDST");
    if (mode == 1) suite.pk = Field(entry, "pkSm");
    for (simdjson::ondemand::object v : entry["vectors"].get_array()) {
      TestVector vector;
      vector.batch = v["Batch"].get_uint64();
      vector.input = SplitComma(Field(v, "Input"));
      vector.blind = SplitComma(Field(v, "Blind"));
      vector.blinded_element = SplitComma(Field(v, "BlindedElement"));
      vector.evaluation_element = SplitComma(Field(v, "EvaluationElement"));
      vector.output = SplitComma(Field(v, "Output"));
      if (mode == 1) {
        simdjson::ondemand::object proof = v["Proof"];
        vector.proof = Field(proof, "proof");
        vector.r = Field(proof, "r");
      }
      suite.vectors.push_back(std::move(vector));
    }
    suites.push_back(std::move(suite));
  }
  return suites;
}

const std::vector<TestSuite>& Suites() {
  static const std::vector<TestSuite> suites = LoadSuites();
  return suites;
}

const TestSuite& SuiteFor(Mode mode) {
  for (const TestSuite& suite : Suites()) {
    if (suite.mode == mode) return suite;
  }
  FAIL("no suite for mode " << static_cast<int>(mode));
  std::abort();
}

KeyPair SuiteKeys(const TestSuite& suite) {
  const auto seed = UnhexArray<kSeedSize>(suite.seed);
  auto keys = DeriveKeyPair(seed, Unhex(suite.key_info), suite.mode);
  REQUIRE(keys.has_value());
  return *keys;
}

// The group order L, little-endian.
constexpr std::string_view kOrderHex =
    "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010";

TEST_CASE("ExpandMessageXmd matches RFC 9380 expand_message_xmd(SHA-512)") {
  // RFC 9380 Appendix K.3, DST "QUUX-V01-CS02-with-expander-SHA512-256".
  const std::string_view dst = "QUUX-V01-CS02-with-expander-SHA512-256";
  struct Case {
    std::string_view message;
    std::size_t length;
    std::string_view uniform_bytes;
  };
  const Case cases[] = {
      {"", 0x20,
       "6b9a7312411d92f921c6f68ca0b6380730a1a4d982c507211a90964c394179ba"},
      {"abc", 0x20,
       "0da749f12fbe5483eb066a5f595055679b976e93abe9be6f0f6318bce7aca8dc"},
      {"", 0x80,
       "41b037d1734a5f8df225dd8c7de38f851efdb45c372887be655212d07251b921"
       "b052b62eaed99b46f72f2ef4cc96bfaf254ebbbec091e1a3b9e4fb5e5b619d2e"
       "0c5414800a1d882b62bb5cd1778f098b8eb6cb399d5d9d18f5d5842cf5d13d7e"
       "b00a7cff859b605da678b318bd0e65ebff70bec88c753b159a805d2c89c55961"},
      {"abc", 0x80,
       "7f1dddd13c08b543f2e2037b14cefb255b44c83cc397c1786d975653e36a6b11"
       "bdd7732d8b38adb4a0edc26a0cef4bb45217135456e58fbca1703cd6032cb134"
       "7ee720b87972d63fbf232587043ed2901bce7f22610c0419751c065922b48843"
       "1851041310ad659e4b23520e1772ab29dcdeb2002222a363f0c2b1c972b3efe1"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.message, c.length);
    auto out = ExpandMessageXmd(AsBytes(c.message), AsBytes(dst), c.length);
    REQUIRE(out.has_value());
    CHECK(HexEncode(*out) == c.uniform_bytes);
  }
}

TEST_CASE("ExpandMessageXmd bounds the length and hashes oversize DSTs") {
  const std::string_view dst = "DST";
  struct Case {
    std::size_t length;
    bool ok;
  };
  const Case cases[] = {{0, false},     {1, true},      {16320, true},
                        {16321, false}, {65535, false}, {65536, false}};
  for (const Case& c : cases) {
    CAPTURE(c.length);
    auto out = ExpandMessageXmd(AsBytes("m"), AsBytes(dst), c.length);
    CHECK(out.has_value() == c.ok);
    if (out) CHECK(out->size() == c.length);
    if (!out) CHECK(out.error().code == ErrorCode::kInvalidArgument);
  }

  // RFC 9380 §5.3.3: a 256-byte DST acts as H("H2C-OVERSIZE-DST-" || DST).
  const std::string long_dst(256, 'x');
  const std::string prefixed = "H2C-OVERSIZE-DST-" + long_dst;
  std::array<std::uint8_t, crypto_hash_sha512_BYTES> hashed;
  crypto_hash_sha512(hashed.data(),
                     reinterpret_cast<const unsigned char*>(prefixed.data()),
                     prefixed.size());
  auto with_long = ExpandMessageXmd(AsBytes("m"), AsBytes(long_dst), 64);
  auto with_hash = ExpandMessageXmd(AsBytes("m"), hashed, 64);
  REQUIRE(with_long.has_value());
  REQUIRE(with_hash.has_value());
  CHECK(*with_long == *with_hash);
}

TEST_CASE("The vectors file holds the RFC 9497 ristretto255 suites") {
  // Guards against a loader that silently skips vectors.
  REQUIRE(Suites().size() == 2);
  CHECK(SuiteFor(Mode::kOprf).vectors.size() == 2);
  CHECK(SuiteFor(Mode::kVoprf).vectors.size() == 3);
  CHECK(SuiteFor(Mode::kVoprf).vectors[2].batch == 2);
  CHECK(SuiteFor(Mode::kVoprf).vectors[2].input.size() == 2);
}

TEST_CASE("ContextString gives the vectors' HashToGroup DST") {
  for (const TestSuite& suite : Suites()) {
    CAPTURE(static_cast<int>(suite.mode));
    std::vector<std::uint8_t> dst(AsBytes("HashToGroup-").begin(),
                                  AsBytes("HashToGroup-").end());
    const auto context = ContextString(suite.mode);
    dst.insert(dst.end(), context.begin(), context.end());
    CHECK(HexEncode(dst) == suite.group_dst);
  }
}

TEST_CASE("Generator is the ristretto255 base point") {
  CHECK(HexEncode(Generator()) ==
        "e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76");
}

TEST_CASE("DeriveKeyPair reproduces the vectors' skSm and pkSm") {
  for (const TestSuite& suite : Suites()) {
    CAPTURE(static_cast<int>(suite.mode));
    const KeyPair keys = SuiteKeys(suite);
    CHECK(HexEncode(keys.secret_key) == suite.sk);
    auto pk = PublicKeyFromSecretKey(keys.secret_key);
    REQUIRE(pk.has_value());
    CHECK(*pk == keys.public_key);
    if (!suite.pk.empty()) CHECK(HexEncode(keys.public_key) == suite.pk);
  }
}

TEST_CASE("OPRF mode reproduces every RFC 9497 vector") {
  const TestSuite& suite = SuiteFor(Mode::kOprf);
  const KeyPair keys = SuiteKeys(suite);
  int reproduced = 0;
  for (const TestVector& v : suite.vectors) {
    for (std::size_t i = 0; i < v.batch; ++i) {
      CAPTURE(v.input[i]);
      const auto input = Unhex(v.input[i]);
      auto blinded = Blind(input, Mode::kOprf, S(v.blind[i]));
      REQUIRE(blinded.has_value());
      CHECK(HexEncode(blinded->blinded_element) == v.blinded_element[i]);
      auto evaluated = BlindEvaluate(keys.secret_key, blinded->blinded_element);
      REQUIRE(evaluated.has_value());
      CHECK(HexEncode(*evaluated) == v.evaluation_element[i]);
      auto output = Finalize(input, blinded->blind, *evaluated, Mode::kOprf);
      REQUIRE(output.has_value());
      CHECK(HexEncode(*output) == v.output[i]);
      ++reproduced;
    }
  }
  CHECK(reproduced == 2);
}

TEST_CASE("VOPRF mode reproduces every RFC 9497 vector, batch included") {
  const TestSuite& suite = SuiteFor(Mode::kVoprf);
  const KeyPair keys = SuiteKeys(suite);
  int reproduced = 0;
  for (const TestVector& v : suite.vectors) {
    CAPTURE(v.input);
    REQUIRE(v.input.size() == v.batch);
    std::vector<std::vector<std::uint8_t>> inputs;
    std::vector<ByteView> input_views;
    std::vector<Scalar> blinds;
    std::vector<Element> blinded;
    for (std::size_t i = 0; i < v.batch; ++i) {
      inputs.push_back(Unhex(v.input[i]));
      auto result = Blind(inputs.back(), Mode::kVoprf, S(v.blind[i]));
      REQUIRE(result.has_value());
      CHECK(HexEncode(result->blinded_element) == v.blinded_element[i]);
      blinds.push_back(result->blind);
      blinded.push_back(result->blinded_element);
    }
    for (const auto& input : inputs) input_views.emplace_back(input);

    auto evaluation =
        BlindEvaluateBatch(keys.secret_key, keys.public_key, blinded, S(v.r));
    REQUIRE(evaluation.has_value());
    REQUIRE(evaluation->evaluated_elements.size() == v.batch);
    for (std::size_t i = 0; i < v.batch; ++i) {
      CHECK(HexEncode(evaluation->evaluated_elements[i]) ==
            v.evaluation_element[i]);
    }
    CHECK(HexEncode(evaluation->proof) == v.proof);

    // The general prover gives the same proof.
    auto proof = GenerateProof(keys.secret_key, Generator(), keys.public_key,
                               blinded, evaluation->evaluated_elements, S(v.r));
    REQUIRE(proof.has_value());
    CHECK(HexEncode(*proof) == v.proof);

    CHECK(VerifyProof(Generator(), keys.public_key, blinded,
                      evaluation->evaluated_elements, evaluation->proof)
              .has_value());
    auto outputs = FinalizeBatch(input_views, blinds, blinded,
                                 evaluation->evaluated_elements,
                                 evaluation->proof, keys.public_key);
    REQUIRE(outputs.has_value());
    REQUIRE(outputs->size() == v.batch);
    for (std::size_t i = 0; i < v.batch; ++i) {
      CHECK(HexEncode((*outputs)[i]) == v.output[i]);
      ++reproduced;
    }
  }
  CHECK(reproduced == 4);  // 1 + 1 + a batch of 2
}

TEST_CASE("Random blinds and keys round-trip in both modes") {
  const KeyPair keys = GenerateKeyPair();
  REQUIRE(ValidateElement(keys.public_key).has_value());
  const std::vector<std::string> identifiers = {
      "alice@example.com", "+447700900123", "", "handle:bob", "x"};
  std::vector<ByteView> inputs;
  std::vector<Scalar> blinds;
  std::vector<Element> blinded;
  for (const std::string& id : identifiers) {
    inputs.push_back(AsBytes(id));
    auto result = Blind(AsBytes(id), Mode::kVoprf);
    REQUIRE(result.has_value());
    blinds.push_back(result->blind);
    blinded.push_back(result->blinded_element);
  }
  auto evaluation =
      BlindEvaluateBatch(keys.secret_key, keys.public_key, blinded);
  REQUIRE(evaluation.has_value());
  auto outputs =
      FinalizeBatch(inputs, blinds, blinded, evaluation->evaluated_elements,
                    evaluation->proof, keys.public_key);
  REQUIRE(outputs.has_value());

  for (std::size_t i = 0; i < identifiers.size(); ++i) {
    CAPTURE(identifiers[i]);
    // The output depends on the input and key, never on the blind.
    auto again = Blind(inputs[i], Mode::kVoprf);
    REQUIRE(again.has_value());
    CHECK(again->blinded_element != blinded[i]);
    auto evaluated = BlindEvaluate(keys.secret_key, again->blinded_element);
    REQUIRE(evaluated.has_value());
    auto output = Finalize(inputs[i], again->blind, *evaluated, Mode::kVoprf);
    REQUIRE(output.has_value());
    CHECK(*output == (*outputs)[i]);

    // OPRF mode hashes the input under another DST: unrelated output.
    auto oprf_blind = Blind(inputs[i], Mode::kOprf);
    REQUIRE(oprf_blind.has_value());
    auto oprf_eval =
        BlindEvaluate(keys.secret_key, oprf_blind->blinded_element);
    REQUIRE(oprf_eval.has_value());
    auto oprf_output =
        Finalize(inputs[i], oprf_blind->blind, *oprf_eval, Mode::kOprf);
    REQUIRE(oprf_output.has_value());
    CHECK(*oprf_output != (*outputs)[i]);
  }
  for (std::size_t i = 1; i < outputs->size(); ++i) {
    CHECK((*outputs)[i] != (*outputs)[0]);
  }
}

// A valid VOPRF batch of three with its proof, for the negative tests.
struct Fixture {
  KeyPair keys = GenerateKeyPair();
  std::vector<std::string> identifiers = {"a@example.com", "b@example.com",
                                          "c@example.com"};
  std::vector<ByteView> inputs;
  std::vector<Scalar> blinds;
  std::vector<Element> blinded;
  BatchEvaluation evaluation;

  Fixture() {
    for (const std::string& id : identifiers) {
      inputs.push_back(AsBytes(id));
      auto result = Blind(inputs.back(), Mode::kVoprf);
      REQUIRE(result.has_value());
      blinds.push_back(result->blind);
      blinded.push_back(result->blinded_element);
    }
    auto batch = BlindEvaluateBatch(keys.secret_key, keys.public_key, blinded);
    REQUIRE(batch.has_value());
    evaluation = *batch;
    REQUIRE(VerifyProof(Generator(), keys.public_key, blinded,
                        evaluation.evaluated_elements, evaluation.proof)
                .has_value());
  }
};

TEST_CASE("VerifyProof rejects tampered proofs") {
  const Fixture f;
  struct Case {
    std::string_view name;
    std::size_t byte;  // index into c || s whose bit 0 is flipped
  };
  const Case cases[] = {{"c first byte", 0},
                        {"c middle byte", 15},
                        {"s first byte", 32},
                        {"s middle byte", 47}};
  for (const Case& c : cases) {
    CAPTURE(c.name);
    Proof proof = f.evaluation.proof;
    proof[c.byte] ^= 0x01;
    auto status = VerifyProof(Generator(), f.keys.public_key, f.blinded,
                              f.evaluation.evaluated_elements, proof);
    REQUIRE_FALSE(status.has_value());
    CHECK(status.error().code == ErrorCode::kCrypto);
    CHECK_THAT(status.error().message,
               Catch::Contains("proof does not verify"));
    CHECK_FALSE(FinalizeBatch(f.inputs, f.blinds, f.blinded,
                              f.evaluation.evaluated_elements, proof,
                              f.keys.public_key)
                    .has_value());
  }

  // c and s swapped, an all-zero proof.
  Proof swapped;
  std::copy(f.evaluation.proof.begin() + 32, f.evaluation.proof.end(),
            swapped.begin());
  std::copy(f.evaluation.proof.begin(), f.evaluation.proof.begin() + 32,
            swapped.begin() + 32);
  for (const Proof& proof : {swapped, Proof{}}) {
    auto status = VerifyProof(Generator(), f.keys.public_key, f.blinded,
                              f.evaluation.evaluated_elements, proof);
    REQUIRE_FALSE(status.has_value());
    CHECK(status.error().code == ErrorCode::kCrypto);
  }

  // A non-canonical s (s + L would verify if it were reduced) is
  // malformed, not merely wrong.
  Proof wide = f.evaluation.proof;
  const Scalar order = S(kOrderHex);
  unsigned carry = 0;
  for (std::size_t i = 0; i < 32; ++i) {
    carry += unsigned{f.evaluation.proof[32 + i]} + unsigned{order[i]};
    wide[32 + i] = static_cast<std::uint8_t>(carry & 0xff);
    carry >>= 8;
  }
  REQUIRE(carry == 0);  // s < L < 2^253, so s + L < 2^254
  auto status = VerifyProof(Generator(), f.keys.public_key, f.blinded,
                            f.evaluation.evaluated_elements, wide);
  REQUIRE_FALSE(status.has_value());
  CHECK(status.error().code == ErrorCode::kInvalidArgument);
  CHECK_THAT(status.error().message, Catch::Contains("not canonical"));
}

TEST_CASE("VerifyProof rejects a wrong public key or altered elements") {
  const Fixture f;
  const KeyPair other = GenerateKeyPair();
  auto wrong_key =
      VerifyProof(Generator(), other.public_key, f.blinded,
                  f.evaluation.evaluated_elements, f.evaluation.proof);
  REQUIRE_FALSE(wrong_key.has_value());
  CHECK(wrong_key.error().code == ErrorCode::kCrypto);
  auto finalize = FinalizeBatch(f.inputs, f.blinds, f.blinded,
                                f.evaluation.evaluated_elements,
                                f.evaluation.proof, other.public_key);
  REQUIRE_FALSE(finalize.has_value());
  CHECK(finalize.error().code == ErrorCode::kCrypto);

  // An evaluation under another key, slipped into the batch.
  auto foreign = BlindEvaluate(other.secret_key, f.blinded[1]);
  REQUIRE(foreign.has_value());
  std::vector<Element> altered = f.evaluation.evaluated_elements;
  altered[1] = *foreign;
  auto status = VerifyProof(Generator(), f.keys.public_key, f.blinded, altered,
                            f.evaluation.proof);
  REQUIRE_FALSE(status.has_value());
  CHECK(status.error().code == ErrorCode::kCrypto);

  // Evaluations returned in another order.
  std::vector<Element> reordered = f.evaluation.evaluated_elements;
  std::swap(reordered[0], reordered[2]);
  status = VerifyProof(Generator(), f.keys.public_key, f.blinded, reordered,
                       f.evaluation.proof);
  REQUIRE_FALSE(status.has_value());
  CHECK(status.error().code == ErrorCode::kCrypto);

  // A proof over a sub-batch does not cover the full batch.
  status = VerifyProof(
      Generator(), f.keys.public_key, std::span(f.blinded).first(2),
      std::span(f.evaluation.evaluated_elements).first(2), f.evaluation.proof);
  REQUIRE_FALSE(status.has_value());
  CHECK(status.error().code == ErrorCode::kCrypto);
}

// Encodings that are not valid non-identity ristretto255 elements.
struct BadElement {
  std::string_view name;
  std::string_view hex;
};
const BadElement kBadElements[] = {
    {"identity (all zero)",
     "0000000000000000000000000000000000000000000000000000000000000000"},
    {"all 0xff",
     "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"},
    {"field modulus p",
     "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"},
    {"p + 6 (non-canonical)",
     "f3ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"},
    {"negative field element",
     "0100000000000000000000000000000000000000000000000000000000000000"},
    {"high bit set",
     "e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2df6"},
    {"not a square (RFC 9496 A.2)",
     "26948d35ca62e643e26a83177332e6b6afeb9d08e4268b650f1f5bbd8d81d371"},
};

TEST_CASE("Invalid element encodings are rejected everywhere") {
  const Fixture f;
  for (const BadElement& bad : kBadElements) {
    CAPTURE(bad.name);
    const Element element = E(bad.hex);
    auto validated = ValidateElement(element);
    REQUIRE_FALSE(validated.has_value());
    CHECK(validated.error().code == ErrorCode::kInvalidArgument);
    CHECK_FALSE(ParseElement(element).has_value());

    auto evaluated = BlindEvaluate(f.keys.secret_key, element);
    REQUIRE_FALSE(evaluated.has_value());
    CHECK(evaluated.error().code == ErrorCode::kInvalidArgument);

    auto output = Finalize(f.inputs[0], f.blinds[0], element, Mode::kVoprf);
    REQUIRE_FALSE(output.has_value());
    CHECK(output.error().code == ErrorCode::kInvalidArgument);

    std::vector<Element> batch = f.blinded;
    batch[2] = element;
    auto evaluation =
        BlindEvaluateBatch(f.keys.secret_key, f.keys.public_key, batch);
    REQUIRE_FALSE(evaluation.has_value());
    CHECK(evaluation.error().code == ErrorCode::kInvalidArgument);
    CHECK(evaluation.error().index == std::optional<std::size_t>(2));

    std::vector<Element> evaluated_batch = f.evaluation.evaluated_elements;
    evaluated_batch[1] = element;
    auto status = VerifyProof(Generator(), f.keys.public_key, f.blinded,
                              evaluated_batch, f.evaluation.proof);
    REQUIRE_FALSE(status.has_value());
    CHECK(status.error().code == ErrorCode::kInvalidArgument);
    CHECK(status.error().index == std::optional<std::size_t>(1));

    auto wrong_pk =
        VerifyProof(Generator(), element, f.blinded,
                    f.evaluation.evaluated_elements, f.evaluation.proof);
    REQUIRE_FALSE(wrong_pk.has_value());
    CHECK(wrong_pk.error().code == ErrorCode::kInvalidArgument);
  }
  // The identity's message says what it is.
  CHECK_THAT(ValidateElement(Element{}).error().message,
             Catch::Contains("identity"));
}

TEST_CASE("ValidateScalar accepts exactly the canonical scalars") {
  struct Case {
    std::string_view name;
    std::string_view hex;
    bool canonical;
  };
  const Case cases[] = {
      {"zero",
       "0000000000000000000000000000000000000000000000000000000000000000",
       true},
      {"one",
       "0100000000000000000000000000000000000000000000000000000000000000",
       true},
      {"L - 1",
       "ecd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010",
       true},
      {"L", kOrderHex, false},
      {"L + 1",
       "eed3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010",
       false},
      {"2^255 (high bit only)",
       "0000000000000000000000000000000000000000000000000000000000000080",
       false},
      {"all 0xff",
       "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
       false},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    auto status = ValidateScalar(S(c.hex));
    CHECK(status.has_value() == c.canonical);
    CHECK(ParseScalar(S(c.hex)).has_value() == c.canonical);
    if (!status) {
      CHECK(status.error().code == ErrorCode::kInvalidArgument);
      CHECK_THAT(status.error().message, Catch::Contains("not canonical"));
    }
  }
}

TEST_CASE("Zero or non-canonical blinds and keys are rejected") {
  const Fixture f;
  struct Case {
    std::string_view name;
    Scalar scalar;
    const char* message;
  };
  const Case cases[] = {
      {"zero", Scalar{}, "is zero"},
      {"group order", S(kOrderHex), "not canonical"},
      {"all 0xff",
       S("ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"),
       "not canonical"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    auto blinded = Blind(AsBytes("x"), Mode::kVoprf, c.scalar);
    REQUIRE_FALSE(blinded.has_value());
    CHECK(blinded.error().code == ErrorCode::kInvalidArgument);
    CHECK_THAT(blinded.error().message, Catch::Contains("blind"));
    CHECK_THAT(blinded.error().message, Catch::Contains(c.message));

    auto output = Finalize(f.inputs[0], c.scalar,
                           f.evaluation.evaluated_elements[0], Mode::kVoprf);
    REQUIRE_FALSE(output.has_value());
    CHECK_THAT(output.error().message, Catch::Contains(c.message));

    std::vector<Scalar> blinds = f.blinds;
    blinds[1] = c.scalar;
    auto outputs = FinalizeBatch(f.inputs, blinds, f.blinded,
                                 f.evaluation.evaluated_elements,
                                 f.evaluation.proof, f.keys.public_key);
    REQUIRE_FALSE(outputs.has_value());
    CHECK(outputs.error().index == std::optional<std::size_t>(1));

    auto evaluated = BlindEvaluate(c.scalar, f.blinded[0]);
    REQUIRE_FALSE(evaluated.has_value());
    CHECK_THAT(evaluated.error().message, Catch::Contains("key"));
    CHECK_THAT(evaluated.error().message, Catch::Contains(c.message));

    CHECK_FALSE(PublicKeyFromSecretKey(c.scalar).has_value());
    CHECK_FALSE(
        BlindEvaluateBatch(c.scalar, f.keys.public_key, f.blinded).has_value());
    CHECK_FALSE(GenerateProof(c.scalar, Generator(), f.keys.public_key,
                              f.blinded, f.evaluation.evaluated_elements)
                    .has_value());
    CHECK_FALSE(BlindEvaluateBatch(f.keys.secret_key, f.keys.public_key,
                                   f.blinded, c.scalar)
                    .has_value());  // as the proof nonce r
  }
}

TEST_CASE("Batch functions reject inconsistent shapes") {
  const Fixture f;
  const KeyPair other = GenerateKeyPair();

  auto mismatched_key =
      BlindEvaluateBatch(f.keys.secret_key, other.public_key, f.blinded);
  REQUIRE_FALSE(mismatched_key.has_value());
  CHECK_THAT(mismatched_key.error().message, Catch::Contains("public key"));

  auto empty = BlindEvaluateBatch(f.keys.secret_key, f.keys.public_key, {});
  REQUIRE_FALSE(empty.has_value());
  CHECK(empty.error().code == ErrorCode::kInvalidArgument);

  auto short_d = GenerateProof(
      f.keys.secret_key, Generator(), f.keys.public_key, f.blinded,
      std::span(f.evaluation.evaluated_elements).first(2));
  REQUIRE_FALSE(short_d.has_value());
  CHECK_THAT(short_d.error().message, Catch::Contains("one evaluation"));

  auto short_blinds = FinalizeBatch(f.inputs, std::span(f.blinds).first(2),
                                    f.blinded, f.evaluation.evaluated_elements,
                                    f.evaluation.proof, f.keys.public_key);
  REQUIRE_FALSE(short_blinds.has_value());
  CHECK_THAT(short_blinds.error().message, Catch::Contains("request order"));
}

TEST_CASE("Parse functions check lengths") {
  const std::vector<std::uint8_t> short_bytes(31, 1);
  const std::vector<std::uint8_t> long_bytes(33, 1);
  for (const auto& bytes : {short_bytes, long_bytes}) {
    CAPTURE(bytes.size());
    CHECK_FALSE(ParseElement(bytes).has_value());
    CHECK_FALSE(ParseScalar(bytes).has_value());
    CHECK_FALSE(ParseProof(bytes).has_value());
  }
  auto element = ParseElement(Generator());
  REQUIRE(element.has_value());
  CHECK(*element == Generator());
  std::vector<std::uint8_t> proof(64, 0);
  CHECK(ParseProof(proof).has_value());
  proof[63] = 0xff;  // s non-canonical
  auto bad = ParseProof(proof);
  REQUIRE_FALSE(bad.has_value());
  CHECK_THAT(bad.error().message, Catch::Contains("proof s"));
}

}  // namespace
}  // namespace cairn::oprf
