// GET /v1/audit/checkpoints: any member may page through the hub's signed
// audit checkpoints and keep them (docs/protocol.md, "Audit log").
#include <algorithm>
#include <charconv>

#include "cairn/wire/audit.h"
#include "cairn/wire/feed.h"
#include "server/src/api/api_router.h"
#include "server/src/api/call.h"

namespace cairn::server {

void ApiRouter::HandleAuditCheckpoints(const CallPtr& call) {
  auto page = wire::ParsePageRequest(call->query_string);
  if (!page) return call->Fail(page.error());
  std::uint64_t after = 0;
  if (!page->after.empty()) {
    const std::string& text = page->after;
    const auto [end, ec] =
        std::from_chars(text.data(), text.data() + text.size(), after);
    if (ec != std::errc{} || end != text.data() + text.size()) {
      return call->Fail(ErrorCode::kInvalidArgument,
                        "not a cursor this hub issued; pass the 'cursor' "
                        "value of the previous page unchanged, or an audit "
                        "sequence number",
                        "after");
    }
  }
  auto result = store_.AuditCheckpoints(after, page->limit);
  if (!result) return call->Fail(result.error());
  wire::AuditCheckpointsResponse response;
  response.checkpoints.reserve(result->checkpoints.size());
  for (const AuditCheckpoint& c : result->checkpoints) {
    response.checkpoints.push_back(
        wire::AuditCheckpoint{c.seq, c.head_hash, c.at, c.key_id, c.signature});
  }
  call->items = response.checkpoints.size();
  response.cursor = std::to_string(std::max(result->cursor, after));
  response.more = result->more;
  call->Finish(200, wire::Encode(response));
}

}  // namespace cairn::server
