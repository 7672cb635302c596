#include "server/src/store/audit_writer.h"

#include <exception>

namespace cairn::server {

Status AuditWriter::Load(Database& db) {
  Head head;
  std::string last_action;
  {
    auto last = LastAuditEntry(db, &last_action);
    if (!last) return tl::unexpected(last.error());
    head.seq = last->seq;
    head.hash = last->hash;
  }
  {
    auto stmt =
        db.Prepare("SELECT coalesce(max(seq), 0) FROM audit_checkpoints");
    if (!stmt) return tl::unexpected(stmt.error());
    auto row = stmt->Step();
    if (!row) return tl::unexpected(row.error());
    head.checkpoint_seq = static_cast<std::uint64_t>(stmt->Int(0));
  }
  {
    // The first entry after the checkpoint: not always checkpoint_seq + 1,
    // since a restore entry may follow a gap (server/src/audit/
    // audit_restore.h).
    auto stmt = db.Prepare(
        "SELECT at FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT 1");
    if (!stmt) return tl::unexpected(stmt.error());
    stmt->Bind(1, static_cast<std::int64_t>(head.checkpoint_seq));
    auto row = stmt->Step();
    if (!row) return tl::unexpected(row.error());
    if (*row) head.oldest_uncovered_at = stmt->Int(0);
  }
  // A restore entry nobody has signed yet: the verifier does not trust its
  // declaration until a checkpoint covers it, so sign at the first chance.
  head.checkpoint_now =
      head.seq > head.checkpoint_seq && last_action == kRestoreAction;
  committed_ = staged_ = head;
  return {};
}

Status AuditWriter::Append(Database& db, const std::vector<AuditEvent>& events,
                           AuditHook* hook) {
  for (const AuditEvent& event : events) {
    if (hook != nullptr) {
      if (auto s = hook->Append(event); !s) return s;
    }
    AuditEntryFields fields;
    fields.seq = staged_.seq + 1;
    fields.at = event.at.time_since_epoch().count();
    fields.actor = event.actor;
    fields.fingerprint = event.fingerprint;
    fields.request_id = event.request_id;
    fields.action = event.action;
    fields.details = event.details;
    fields.result = event.result;
    fields.prev_hash = staged_.hash;
    auto hash = AppendAuditEntry(db, fields);
    if (!hash) return tl::unexpected(hash.error());
    staged_.seq = fields.seq;
    staged_.hash = *hash;
    if (!staged_.oldest_uncovered_at) staged_.oldest_uncovered_at = fields.at;
  }
  return {};
}

Status AuditWriter::CheckpointIfDue(Database& db, std::int64_t now) {
  if (!options_.signer || staged_.seq <= staged_.checkpoint_seq) return {};
  const std::uint64_t uncovered = staged_.seq - staged_.checkpoint_seq;
  const bool by_count =
      options_.every_entries > 0 && uncovered >= options_.every_entries;
  const bool by_time =
      staged_.oldest_uncovered_at &&
      now - *staged_.oldest_uncovered_at >= options_.interval.count();
  if (!by_count && !by_time && !staged_.checkpoint_now) return {};

  CheckpointSignature signature;
  try {
    signature =
        options_.signer([&](const std::string& key_id, std::int64_t at) {
          return EncodeCheckpointMessage(staged_.seq, staged_.hash, at, key_id);
        });
  } catch (const std::exception&) {
    // The checkpoint is retried with the next batch; the entries stay
    // chained meanwhile.
    return {};
  }
  if (signature.key_id.empty()) return {};

  auto stmt = db.Prepare(
      "INSERT INTO audit_checkpoints (seq, head_hash, at, key_id, signature)"
      " VALUES (?1, ?2, ?3, ?4, ?5)");
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->Bind(1, static_cast<std::int64_t>(staged_.seq))
      .BindBlob(2, staged_.hash)
      .Bind(3, signature.at)
      .Bind(4, signature.key_id)
      .BindBlob(5, signature.signature);
  if (auto s = stmt->Run(); !s) return s;
  staged_.checkpoint_seq = staged_.seq;
  staged_.oldest_uncovered_at.reset();
  staged_.checkpoint_now = false;
  return {};
}

}  // namespace cairn::server
