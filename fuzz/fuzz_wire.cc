// Harness "wire": every JSON body decoder of the /v1 API (cairn/wire.h).
//
// Input: byte 0 picks the decoder (modulo the table size), the rest is the
// body. Besides memory and UB errors it checks that whatever a decoder
// accepts survives Encode -> Decode unchanged, which catches decoders that
// accept a value the encoder cannot write back (a member and the hub would
// then disagree about what was sent).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cairn/wire.h"
#include "cairn/wire/audit.h"
#include "cairn/wire/oprf.h"
#include "cairn/wire/reports.h"
#include "fuzz/fuzz_util.h"

namespace {

using cairn::fuzz::Check;

// Decode; if accepted, the encoding must decode to the same value.
template <typename T, typename Decoder>
void RoundTrip(std::string_view body, Decoder decode) {
  auto decoded = decode(body);
  if (!decoded) {
    Check(!decoded.error().message.empty(), "decode error without a message");
    return;
  }
  const std::string encoded = cairn::wire::Encode(*decoded);
  auto again = decode(encoded);
  Check(again.has_value(), "encoding of an accepted body does not decode");
  Check(*again == *decoded, "Decode(Encode(x)) != x");
}

// Decoders without an Encode overload (or whose encoder has another name).
template <typename Decoder>
void DecodeOnly(std::string_view body, Decoder decode) {
  auto decoded = decode(body);
  if (!decoded) {
    Check(!decoded.error().message.empty(), "decode error without a message");
  }
}

void QueryInto(std::string_view body) {
  namespace wire = cairn::wire;
  wire::QueryRequest into;
  // Both the in-place path (enough padding) and the copying path.
  std::string padded(body);
  padded.resize(body.size() + 64, '\0');
  const auto in_place = wire::DecodeQueryRequestInto(
      std::string_view(padded.data(), body.size()), padded.size(), &into);
  wire::QueryRequest copied;
  const auto by_copy = wire::DecodeQueryRequestInto(body, 0, &copied);
  Check(in_place.has_value() == by_copy.has_value(),
        "DecodeQueryRequestInto: in-place and copy paths disagree");
  auto plain = wire::DecodeQueryRequest(body);
  Check(plain.has_value() == by_copy.has_value(),
        "DecodeQueryRequestInto and DecodeQueryRequest disagree");
  if (plain) {
    Check(*plain == into && *plain == copied,
          "DecodeQueryRequestInto result differs from DecodeQueryRequest");
  }
}

void PageRequest(std::string_view query) {
  namespace wire = cairn::wire;
  auto page = wire::ParsePageRequest(query);
  if (!page) return;
  auto again = wire::ParsePageRequest(wire::EncodePageRequest(*page));
  Check(again.has_value(), "EncodePageRequest output does not parse");
  Check(*again == *page, "ParsePageRequest(EncodePageRequest(x)) != x");
}

void ReportQuery(std::string_view query, cairn::wire::ReportKind kind) {
  namespace wire = cairn::wire;
  auto request = wire::ParseReportRequest(query, kind);
  if (!request) return;
  auto again =
      wire::ParseReportRequest(wire::EncodeReportRequest(*request, kind), kind);
  Check(again.has_value(), "EncodeReportRequest output does not parse");
  Check(*again == *request, "ParseReportRequest(EncodeReportRequest(x)) != x");
  (void)wire::EncodeReportAuditDetails(*request, kind);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  namespace wire = cairn::wire;
  if (size == 0) return 0;
  const std::string_view body = cairn::fuzz::AsText(data + 1, size - 1);
  // Selectors keep their decoders as cases are added (the corpus and
  // tests/fuzz/crashes/wire start with them).
  switch (data[0] % 31) {
    // Request bodies (strict decoders; the hub runs these on member input).
    case 0:
      RoundTrip<wire::SubmitSignalsRequest>(body,
                                            wire::DecodeSubmitSignalsRequest);
      break;
    case 1:
      RoundTrip<wire::RetractRequest>(body, wire::DecodeRetractRequest);
      break;
    case 2:
      RoundTrip<wire::QueryRequest>(body, wire::DecodeQueryRequest);
      break;
    case 3:
      QueryInto(body);
      break;
    case 4:
      RoundTrip<wire::DispositionRequest>(body, wire::DecodeDispositionRequest);
      break;
    case 5:
      RoundTrip<wire::CreateMemberRequest>(body,
                                           wire::DecodeCreateMemberRequest);
      break;
    case 6:
      RoundTrip<wire::SuspendMemberRequest>(body,
                                            wire::DecodeSuspendMemberRequest);
      break;
    case 7:
      RoundTrip<wire::AddFingerprintRequest>(body,
                                             wire::DecodeAddFingerprintRequest);
      break;
    case 8:
      RoundTrip<wire::SetRolesRequest>(body, wire::DecodeSetRolesRequest);
      break;
    case 9:
      RoundTrip<wire::EmptyRequest>(body, wire::DecodeEmptyRequest);
      break;
    case 10:
      PageRequest(body);
      break;
    // Response bodies (lenient decoders; the SDK and cairnctl run these on
    // the hub's answers).
    case 11:
      RoundTrip<wire::SubmitSignalsResponse>(body,
                                             wire::DecodeSubmitSignalsResponse);
      break;
    case 12:
      RoundTrip<wire::RetractResponse>(body, wire::DecodeRetractResponse);
      break;
    case 13:
      RoundTrip<wire::QueryResponse>(body, wire::DecodeQueryResponse);
      break;
    case 14:
      RoundTrip<wire::DispositionResponse>(body,
                                           wire::DecodeDispositionResponse);
      break;
    case 15:
      RoundTrip<wire::FeedResponse>(body, wire::DecodeFeedResponse);
      break;
    case 16:
      RoundTrip<wire::NotificationsResponse>(body,
                                             wire::DecodeNotificationsResponse);
      break;
    case 17:
      RoundTrip<wire::MeResponse>(body, wire::DecodeMeResponse);
      break;
    case 18:
      RoundTrip<wire::HealthResponse>(body, wire::DecodeHealthResponse);
      break;
    case 19:
      RoundTrip<wire::MemberListResponse>(body, wire::DecodeMemberListResponse);
      break;
    case 20:
      DecodeOnly(body, wire::DecodeErrorBody);
      break;
    // voprf-v1, reports and the audit log (session 2 endpoints).
    case 21:
      RoundTrip<wire::OprfEvaluateRequest>(body,
                                           wire::DecodeOprfEvaluateRequest);
      break;
    case 22:
      RoundTrip<wire::OprfEvaluateResponse>(body,
                                            wire::DecodeOprfEvaluateResponse);
      break;
    case 23:
      ReportQuery(body, wire::ReportKind::kSummary);
      break;
    case 24:
      ReportQuery(body, wire::ReportKind::kMatches);
      break;
    case 25:
      RoundTrip<wire::ReportSummary>(body, wire::DecodeReportSummary);
      break;
    case 26:
      RoundTrip<wire::ReportMatchesResponse>(body,
                                             wire::DecodeReportMatchesResponse);
      break;
    case 27:
      RoundTrip<wire::AuditCheckpointsResponse>(
          body, wire::DecodeAuditCheckpointsResponse);
      break;
    case 28: {  // the hub's idempotency record of submit results
      auto decoded = wire::DecodeSubmitResults(body);
      if (!decoded) {
        Check(!decoded.error().message.empty(),
              "decode error without a message");
        break;
      }
      auto again =
          wire::DecodeSubmitResults(wire::EncodeSubmitResults(*decoded));
      Check(again.has_value(), "encoding of accepted results does not decode");
      Check(*again == *decoded, "Decode(Encode(x)) != x");
      break;
    }
    // Custom identifier kinds (cairnctl kind add|list).
    case 29:
      RoundTrip<wire::RegisterKindRequest>(body,
                                           wire::DecodeRegisterKindRequest);
      break;
    case 30:
      RoundTrip<wire::KindListResponse>(body, wire::DecodeKindListResponse);
      break;
  }
  return 0;
}
