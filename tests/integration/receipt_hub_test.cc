// Signed receipts and key rotation against a real cairnd: the SDK verifies
// receipts on submit, query and retract; `cairnctl keys rotate` makes a new
// key current while old receipts keep verifying; `cairnctl receipt verify`
// and `cairn receipt verify` check saved responses offline.

#include <chrono>
#include <fstream>
#include <memory>

#include <catch2/catch.hpp>

#include "cairn/client.h"
#include "cairn/receipt.h"
#include "support/running_hub.h"
#include "support/sqlite_query.h"

namespace cairn {
namespace {

using testing::CommandResult;
using testing::RunCairn;
using testing::RunCairnctl;
using testing::RunningHub;

constexpr std::chrono::seconds kCommandTimeout{60};

ClientOptions OptionsFor(const RunningHub& hub, const std::string& member) {
  static const ConsortiumKey key = ConsortiumKey::Generate();
  ClientOptions options;
  options.hub_url = hub.Url();
  options.cert_file = hub.Pki().Cert(member);
  options.key_file = hub.Pki().Key(member);
  options.ca_file = hub.Pki().CaCert();
  options.consortium_key = key;
  return options;
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// Rows of audit_log with `action`, read from the hub's database.
int AuditRows(const RunningHub& hub, const std::string& action) {
  // `action` is one of this file's literals, never a quote.
  return static_cast<int>(cairn::testing::QueryInt64(
      hub.DbPath(),
      "SELECT count(*) FROM audit_log WHERE action = '" + action + "'"));
}

TEST_CASE(
    "receipts: SDK verifies, rotation keeps old receipts valid, "
    "saved responses verify offline",
    "[receipt][integration]") {
  auto started = RunningHub::Start();
  REQUIRE(started);
  RunningHub& hub = **started;
  auto alpha = MakeClient(OptionsFor(hub, "alpha"));
  REQUIRE(alpha);

  auto me = alpha->Me();
  REQUIRE(me);
  REQUIRE(me->hub_keys.size() == 1);
  const std::string first_key = me->hub_keys[0].key_id;
  CHECK_FALSE(me->hub_keys[0].valid_until);

  // Submit and query through the SDK: each response's receipt verified.
  const Identifier id = Identifier::Email(
      "receipt." + testing::RandomTokenHex().substr(0, 10) + "@example.com");
  const Ban ban{id,
                Category::kGrooming,
                Severity::kHigh,
                std::chrono::floor<std::chrono::seconds>(
                    std::chrono::system_clock::now() - std::chrono::hours(1)),
                std::nullopt,
                false,
                std::nullopt};
  auto submitted = alpha->Submit({ban});
  REQUIRE(submitted);
  REQUIRE(submitted->receipts.size() == 1);
  CHECK(submitted->receipts[0].key_id == first_key);
  CHECK(submitted->receipts[0].member == "alpha");
  CHECK(submitted->receipts[0].endpoint == "/v1/signals");
  CHECK(submitted->receipts[0].request_id == submitted->request_ids[0]);

  auto beta = MakeClient(OptionsFor(hub, "beta"));
  REQUIRE(beta);
  auto queried = beta->Query({id});
  REQUIRE(queried);
  CHECK(queried->matches.size() == 1);
  REQUIRE(queried->receipts.size() == 1);
  CHECK(queried->receipts[0].member == "beta");

  // A raw query response saved with curl verifies offline with cairnctl
  // against the keys directory, with and without the request body.
  auto token = beta->Tokenise(id);
  REQUIRE(token);
  const std::string query_body = wire::Encode(wire::QueryRequest{{*token}});
  const auto reply = hub.Curl("beta", "POST", "/v1/query", query_body);
  REQUIRE(reply.status == 200);
  const std::string saved = hub.Scratch().File("query-response.json");
  const std::string request = hub.Scratch().File("query-request.json");
  WriteFile(saved, reply.body);
  WriteFile(request, query_body);
  const std::string keys_dir = hub.DataDir() + "/keys";
  CommandResult verify = RunCairnctl(
      {"receipt", "verify", saved, "--keys", keys_dir, "--request", request},
      kCommandTimeout);
  CAPTURE(verify.out, verify.err);
  CHECK(verify.exit_code == 0);
  CHECK(verify.out.find("receipt valid") != std::string::npos);
  CHECK(verify.out.find("request body matches") != std::string::npos);

  // The same file tampered with (one more platform) is refused.
  std::string tampered_body = reply.body;
  const auto at = tampered_body.find("\"platforms\":1");
  REQUIRE(at != std::string::npos);
  tampered_body.replace(at, 13, "\"platforms\":4");
  const std::string tampered = hub.Scratch().File("tampered.json");
  WriteFile(tampered, tampered_body);
  verify = RunCairnctl({"receipt", "verify", tampered, "--keys", keys_dir},
                       kCommandTimeout);
  CAPTURE(verify.out, verify.err);
  CHECK(verify.exit_code == 1);
  CHECK(verify.err.find("results in the response differ") != std::string::npos);

  // Rotate: a new current key; the old one stays published with an end.
  const int rotations_before = AuditRows(hub, "keys.rotate");
  CommandResult rotated = hub.Ctl({"keys", "rotate"});
  CAPTURE(rotated.out, rotated.err);
  REQUIRE(rotated.exit_code == 0);
  CHECK(rotated.out.find("new signing key") != std::string::npos);
  CHECK(AuditRows(hub, "keys.rotate") == rotations_before + 1);
  auto me_after = alpha->Me();
  REQUIRE(me_after);
  REQUIRE(me_after->hub_keys.size() == 2);
  const std::string second_key = me_after->hub_keys[0].key_id;
  CHECK(second_key != first_key);
  CHECK(me_after->hub_keys[1].key_id == first_key);
  CHECK(me_after->hub_keys[1].valid_until);

  // Old receipts still verify, against a saved /v1/me (offline) with both
  // CLIs, and against the keys directory.
  const std::string me_file = hub.Scratch().File("me.json");
  WriteFile(me_file, hub.Curl("beta", "GET", "/v1/me").body);
  verify = RunCairnctl(
      {"receipt", "verify", saved, "--keys-file", me_file, "--json"},
      kCommandTimeout);
  CAPTURE(verify.out, verify.err);
  CHECK(verify.exit_code == 0);
  CHECK(verify.out.find("\"valid\":true") != std::string::npos);
  CHECK(verify.out.find(first_key) != std::string::npos);
  verify = RunCairn({"receipt", "verify", saved, "--keys-file", me_file}, {},
                    kCommandTimeout);
  CAPTURE(verify.out, verify.err);
  CHECK(verify.exit_code == 0);
  CHECK(verify.out.find("receipt valid") != std::string::npos);
  verify = RunCairn({"receipt", "verify", tampered, "--keys-file", me_file}, {},
                    kCommandTimeout);
  CHECK(verify.exit_code == 1);

  // New receipts use the new key; beta's client had cached only the old
  // key and refetches the list on the unknown key id.
  auto queried_again = beta->Query({id});
  REQUIRE(queried_again);
  REQUIRE(queried_again->receipts.size() == 1);
  CHECK(queried_again->receipts[0].key_id == second_key);

  Retraction retraction = Retraction::Of(id, RetractReason::kError);
  auto retracted = alpha->Retract({retraction});
  REQUIRE(retracted);
  REQUIRE(retracted->receipts.size() == 1);
  CHECK(retracted->receipts[0].endpoint == "/v1/signals/retract");
  CHECK(retracted->receipts[0].key_id == second_key);

  // cairnctl keys list reads the same keys offline.
  CommandResult listed =
      RunCairnctl({"keys", "list", "--keys", keys_dir}, kCommandTimeout);
  CAPTURE(listed.out, listed.err);
  CHECK(listed.exit_code == 0);
  CHECK(listed.out.find(first_key) != std::string::npos);
  CHECK(listed.out.find(second_key) != std::string::npos);
}

TEST_CASE("receipts: a member cannot rotate keys", "[receipt][integration]") {
  auto started = RunningHub::Start();
  REQUIRE(started);
  const auto reply =
      (*started)->Curl("alpha", "POST", "/v1/admin/keys/rotate", "{}");
  CHECK(reply.status == 403);
  auto me = (*started)->Curl("alpha", "GET", "/v1/me");
  REQUIRE(me.status == 200);
  auto keys = DecodeHubKeysResponse(me.body);
  REQUIRE(keys);
  CHECK(keys->hub_keys.size() == 1);
}

TEST_CASE("receipts: a rotation request must have an empty body",
          "[receipt][integration]") {
  auto started = RunningHub::Start();
  REQUIRE(started);
  for (const char* body : {"garbage", "{\"rotate\":true}", "[]"}) {
    CAPTURE(body);
    const auto reply =
        (*started)->Curl("operator", "POST", "/v1/admin/keys/rotate", body);
    CHECK(reply.status == 400);
  }
  auto me = (*started)->Curl("alpha", "GET", "/v1/me");
  REQUIRE(me.status == 200);
  auto keys = DecodeHubKeysResponse(me.body);
  REQUIRE(keys);
  CHECK(keys->hub_keys.size() == 1);
  // And `{}` still rotates.
  CHECK((*started)
            ->Curl("operator", "POST", "/v1/admin/keys/rotate", "{}")
            .status == 200);
}

}  // namespace
}  // namespace cairn
