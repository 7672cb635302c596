// GET /v1/audit/checkpoints: any member may page through the hub's signed
// audit checkpoints and keep them (docs/protocol.md, "Audit log").
#include <algorithm>

#include "cairn/wire/audit.h"
#include "cairn/wire/feed.h"
#include "server/src/api/api_router.h"
#include "server/src/api/call.h"
#include "server/src/api/sequence_cursor.h"

namespace cairn::server {

void ApiRouter::HandleAuditCheckpoints(const CallPtr& call) {
  auto page = wire::ParsePageRequest(call->query_string);
  if (!page) return call->Fail(page.error());
  auto after = ParseSequenceCursor(page->after);
  if (!after) return call->Fail(after.error());
  auto result = store_.AuditCheckpoints(*after, page->limit);
  if (!result) return call->Fail(result.error());
  wire::AuditCheckpointsResponse response;
  response.checkpoints.reserve(result->checkpoints.size());
  for (const AuditCheckpoint& c : result->checkpoints) {
    response.checkpoints.push_back(
        wire::AuditCheckpoint{c.seq, c.head_hash, c.at, c.key_id, c.signature});
  }
  call->items = response.checkpoints.size();
  response.cursor = std::to_string(std::max(result->cursor, *after));
  response.more = result->more;
  call->Finish(200, wire::Encode(response));
}

}  // namespace cairn::server
