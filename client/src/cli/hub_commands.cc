#include "src/cli/hub_commands.h"

#include <cstdio>
#include <optional>

#include "cairn/json_object.h"
#include "cairn/receipt.h"
#include "cairn/timestamp.h"
#include "cairn/vocabulary.h"
#include "src/cli/command_support.h"

namespace cairn::cli {
namespace {

void PrintMe(const wire::MeResponse& me) {
  std::printf("member       %s\n", me.member_id.c_str());
  std::printf("name         %s\n", me.name.c_str());
  std::printf("roles        %s\n", Join(Names(me.roles)).c_str());
  std::printf("fingerprint  %s\n", me.fingerprint.c_str());
  std::printf("max batch    %u\n", me.limits.max_batch);
  std::printf("rate limits  %u requests/s, %u items/s\n",
              me.limits.requests_per_second, me.limits.items_per_second);
  std::printf("schemes      %s\n", Join(Names(me.token_schemes)).c_str());
  // "query-idempotency": the hub answers a resent query with the matches
  // it recorded (a hub without it is older than store schema 10).
  std::printf("features     %s\n",
              me.features.empty() ? "none" : Join(me.features).c_str());
}

}  // namespace

int RunReceiptVerify(const ReceiptVerifyCommand& command,
                     const std::vector<wire::HubKey>& keys, bool json) {
  auto verified = VerifySavedResponseFile(command.file, keys, command.request);
  if (json) {
    JsonObjectWriter line;
    line.Add("file", command.file).Add("valid", verified.has_value());
    if (verified) {
      line.Add("key_id", verified->key_id)
          .Add("member", verified->member)
          .Add("request_id", verified->request_id)
          .Add("endpoint", verified->endpoint)
          .Add("at", FormatTimestamp(verified->at))
          .Add("request_checked", !command.request.empty());
    } else {
      line.Add("error", verified.error().message);
    }
    std::printf("%s\n", line.Finish().c_str());
    if (auto written = FlushOutput(); !written) {
      return FailOutput(written.error());
    }
    if (verified) return 0;
    return verified.error().code == ErrorCode::kIo ? kExitLocalFile
                                                   : kExitRefused;
  }
  if (!verified) {
    return Fail(verified.error(), verified.error().code == ErrorCode::kIo
                                      ? kExitLocalFile
                                      : kExitRefused);
  }
  std::printf("receipt valid: %s %s for member %s at %s, signed by %s\n",
              verified->endpoint.c_str(), verified->request_id.c_str(),
              verified->member.c_str(), FormatTimestamp(verified->at).c_str(),
              verified->key_id.c_str());
  std::printf("%s\n", command.request.empty()
                          ? "request body not checked (pass --request FILE "
                            "with the exact body sent to check it too)"
                          : "request body matches the receipt");
  if (auto written = FlushOutput(); !written) {
    return FailOutput(written.error());
  }
  return 0;
}

int RunMe(const Client& client, bool json) {
  auto me = client.Me();
  if (!me) return FailCall(me.error(), kRepeatReadOnly);
  if (json) {
    std::printf("%s\n", wire::Encode(*me).c_str());
  } else {
    PrintMe(*me);
  }
  if (auto written = FlushOutput(); !written) {
    return FailOutput(written.error());
  }
  return 0;
}

int RunDispose(const Client& client, const std::string& match_id,
               const std::string& outcome_text, const std::string& note,
               bool json) {
  const auto outcome = ParseOutcome(outcome_text);
  if (!outcome) {
    return Fail(
        "--outcome must be one of confirmed, actioned, no_action, "
        "false_positive",
        kExitUsage);
  }
  auto reply = client.Dispose(
      match_id, *outcome,
      note.empty() ? std::nullopt : std::optional<std::string>(note));
  if (!reply) return FailCall(reply.error(), kRepeatDispose);
  if (json) {
    std::printf("%s\n", wire::Encode(*reply).c_str());
  } else {
    std::printf("%s %s at %s\n", reply->match_id.c_str(),
                std::string(ToString(reply->outcome)).c_str(),
                FormatTimestamp(reply->recorded_at).c_str());
  }
  if (auto written = FlushOutput(); !written) {
    return FailOutput(written.error(),
                      "; the hub recorded the disposition: do not repeat it");
  }
  return 0;
}

}  // namespace cairn::cli
