// Every example in schemas/examples/ against the C++ wire types: valid
// bodies decode, re-encode and decode to the same struct; invalid request
// bodies fail with the field path listed in expected-fields.tsv.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>

#include "cairn/receipt.h"
#include "cairn/wire.h"
#include "cairn/wire/reports.h"

namespace cairn::wire {
namespace {

namespace fs = std::filesystem;

struct Codec {
  bool is_request;
  // Decodes, and on success checks Decode(Encode(x)) == x.
  std::function<Status(const std::string&, bool*)> round_trip;
};

template <typename T>
Codec Make(bool is_request, Result<T> (*decode)(std::string_view)) {
  return {is_request, [decode](const std::string& json, bool* equal) -> Status {
            auto first = decode(json);
            if (!first) return tl::unexpected<Error>(first.error());
            auto second = decode(Encode(*first));
            *equal = second.has_value() && *second == *first;
            return {};
          }};
}

const std::map<std::string, Codec>& Codecs() {
  static const std::map<std::string, Codec> codecs = {
      {"signals-request", Make(true, &DecodeSubmitSignalsRequest)},
      {"retract-request", Make(true, &DecodeRetractRequest)},
      {"query-request", Make(true, &DecodeQueryRequest)},
      {"disposition-request", Make(true, &DecodeDispositionRequest)},
      {"create-member-request", Make(true, &DecodeCreateMemberRequest)},
      {"suspend-member-request", Make(true, &DecodeSuspendMemberRequest)},
      {"add-fingerprint-request", Make(true, &DecodeAddFingerprintRequest)},
      {"set-roles-request", Make(true, &DecodeSetRolesRequest)},
      {"empty-request", Make(true, &DecodeEmptyRequest)},
      {"register-kind-request", Make(true, &DecodeRegisterKindRequest)},
      {"kind-list-response", Make(false, &DecodeKindListResponse)},
      {"me-response", Make(false, &DecodeMeResponse)},
      {"signals-response", Make(false, &DecodeSubmitSignalsResponse)},
      {"retract-response", Make(false, &DecodeRetractResponse)},
      {"query-response", Make(false, &DecodeQueryResponse)},
      {"disposition-response", Make(false, &DecodeDispositionResponse)},
      {"feed-response", Make(false, &DecodeFeedResponse)},
      {"notifications-response", Make(false, &DecodeNotificationsResponse)},
      {"health-response", Make(false, &DecodeHealthResponse)},
      {"member", Make(false, &DecodeMember)},
      {"member-list-response", Make(false, &DecodeMemberListResponse)},
      {"oprf-evaluate-request", Make(true, &DecodeOprfEvaluateRequest)},
      {"oprf-evaluate-response", Make(false, &DecodeOprfEvaluateResponse)},
      {"audit-checkpoints-response",
       Make(false, &DecodeAuditCheckpointsResponse)},
      {"hub-keys-response", Make(false, &cairn::DecodeHubKeysResponse)},
      {"report-summary-response", Make(false, &DecodeReportSummary)},
      {"report-matches-response", Make(false, &DecodeReportMatchesResponse)},
  };
  return codecs;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::map<std::string, std::string> ExpectedFields(const fs::path& dir) {
  std::map<std::string, std::string> fields;
  std::ifstream in(dir / "expected-fields.tsv");
  std::string line;
  while (std::getline(in, line)) {
    const auto tab = line.find('\t');
    if (tab != std::string::npos) {
      fields[line.substr(0, tab)] = line.substr(tab + 1);
    }
  }
  return fields;
}

TEST_CASE("every schema example round-trips through the wire types") {
  const fs::path examples = fs::path(CAIRN_SOURCE_DIR) / "schemas/examples";
  REQUIRE(fs::is_directory(examples));
  int valid = 0, invalid = 0;
  for (const auto& [body, codec] : Codecs()) {
    const fs::path dir = examples / body;
    CAPTURE(body);
    REQUIRE(fs::is_directory(dir));
    const auto fields = ExpectedFields(dir);
    for (const auto& entry : fs::directory_iterator(dir)) {
      const std::string name = entry.path().filename().string();
      if (entry.path().extension() != ".json") continue;
      CAPTURE(name);
      const std::string json = ReadFile(entry.path());
      bool equal = false;
      if (name.rfind("valid-", 0) == 0) {
        auto status = codec.round_trip(json, &equal);
        INFO((status ? std::string() : status.error().ToString()));
        CHECK(status.has_value());
        CHECK(equal);
        ++valid;
      } else if (codec.is_request) {
        REQUIRE(fields.count(name) == 1);
        auto status = codec.round_trip(json, &equal);
        REQUIRE_FALSE(status.has_value());
        CHECK(status.error().code == ErrorCode::kInvalidArgument);
        CHECK(status.error().field == fields.at(name));
        ++invalid;
      }
    }
  }
  CHECK(valid >= 19);
  CHECK(invalid >= 34);
}

TEST_CASE("error examples decode with DecodeErrorBody") {
  const fs::path dir = fs::path(CAIRN_SOURCE_DIR) / "schemas/examples/error";
  auto error = DecodeErrorBody(ReadFile(dir / "valid-basic.json"));
  REQUIRE(error);
  CHECK(error->code == ErrorCode::kInvalidArgument);
  CHECK(error->field == "signals[3].token");
  CHECK(error->index == 3);
  auto again = DecodeErrorBody(EncodeErrorBody(*error));
  REQUIRE(again);
  CHECK(again->message == error->message);
}

}  // namespace
}  // namespace cairn::wire
