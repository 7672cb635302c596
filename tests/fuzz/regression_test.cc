// One test per crash the fuzzers found (docs/security.md, "Fuzzing"). The
// raw crash inputs are also replayed by fuzz_replay_<harness> from
// tests/fuzz/crashes/<harness>/; these tests state the expected behaviour in
// the open, so that it survives a rewrite of the harness.
#include <catch2/catch.hpp>

#include <string>

#include "cairn/encoding.h"
#include "cairn/wire/signals.h"

namespace {

// fuzz_encoding, input "\x01": HexDecode("") handed the null data() of an
// empty vector to sodium_hex2bin, whose first argument is declared nonnull
// (UBSan: "null pointer passed as argument 1"). Empty text is valid hex for
// zero bytes.
TEST_CASE("fuzz regression: HexDecode of empty text is zero bytes") {
  struct Case {
    bool lowercase_only;
  };
  const Case cases[] = {{false}, {true}};
  for (const auto& c : cases) {
    CAPTURE(c.lowercase_only);
    const auto decoded = cairn::HexDecode("", c.lowercase_only);
    REQUIRE(decoded.has_value());
    CHECK(decoded->empty());
    CHECK(cairn::HexEncode(*decoded).empty());
  }
}

// fuzz_encoding, input "JJ\x83\x83...": libsodium 1.0.18's
// sodium_base642bin decodes some bytes >= 0x80 as base64 digits, so
// Base64Decode accepted "J\x83\x83\x83\x83\x83\x83\x83" as 6 bytes: a
// second spelling of a signature or OPRF element. Base64Decode now checks
// the alphabet itself.
TEST_CASE("fuzz regression: Base64Decode rejects bytes outside the alphabet") {
  struct Case {
    std::string text;
  };
  const Case cases[] = {
      {std::string("J\x83\x83\x83\x83\x83\x83\x83")},
      {std::string("\x83\x83\x83\x83")},
      {std::string("AA\x80=")},
      {std::string("AAAA\xff\xff\xff\xff")},
      {std::string("AA A")},
      {std::string("AA-_")},  // base64url is a different variant
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    const auto decoded = cairn::Base64Decode(c.text);
    CHECK_FALSE(decoded.has_value());
  }
  // The canonical forms still decode.
  const auto ok = cairn::Base64Decode("AAE=");
  REQUIRE(ok.has_value());
  CHECK(*ok == cairn::Bytes{0x00, 0x01});
}

// fuzz_wire, a submit response whose "duplicate" item misspelt
// "signal_id": the lenient response decoder ignored the unknown key and
// accepted an item with no signal_id, which Encode then wrote as
// "signal_id":"" that no decoder accepts. The schema requires signal_id on
// every item that is not an error; the decoder now does too.
TEST_CASE("fuzz regression: submit response items need a signal_id") {
  const std::string kRequestId = "r_1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f";
  const std::string kSignalId = "s_3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d";
  struct Case {
    std::string item;
    bool ok;
  };
  const Case cases[] = {
      {R"({"index":0,"status":"created","signal_id":")" + kSignalId + "\"}",
       true},
      {R"({"index":0,"status":"duplicate","skgnal_id":")" + kSignalId + "\"}",
       false},
      {R"({"index":0,"status":"updated"})", false},
      {R"({"index":0,"status":"error","error":{"code":"invalid_argument",)"
       R"("message":"m"}})",
       true},
  };
  for (const auto& c : cases) {
    const std::string body =
        R"({"request_id":")" + kRequestId + R"(","results":[)" + c.item + "]}";
    CAPTURE(body);
    const auto decoded = cairn::wire::DecodeSubmitSignalsResponse(body);
    CHECK(decoded.has_value() == c.ok);
    if (decoded) {
      // Whatever is accepted must survive a round trip.
      const auto again = cairn::wire::DecodeSubmitSignalsResponse(
          cairn::wire::Encode(*decoded));
      REQUIRE(again.has_value());
      CHECK(*again == *decoded);
    }
  }
}

}  // namespace
