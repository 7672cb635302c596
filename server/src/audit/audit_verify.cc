#include "server/src/audit/audit_verify.h"

#include <algorithm>
#include <vector>

#include <sodium.h>

#include "cairn/timestamp.h"

#include "server/src/store/audit_chain.h"
#include "server/src/store/sqlite_db.h"

namespace cairn::server {
namespace {

using std::chrono::seconds;
using std::chrono::sys_seconds;

struct Checkpoint {
  std::uint64_t seq = 0;
  std::vector<std::uint8_t> head_hash;
  std::int64_t at = 0;
  std::string key_id;
  std::vector<std::uint8_t> signature;
  bool held = false;  // from outside the hub, not audit_checkpoints
};

bool SameBytes(std::span<const std::uint8_t> a,
               std::span<const std::uint8_t> b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

Result<std::vector<Checkpoint>> LoadCheckpoints(Database& db) {
  auto stmt = db.Prepare(
      "SELECT seq, head_hash, at, key_id, signature FROM audit_checkpoints"
      " ORDER BY seq");
  if (!stmt) return tl::unexpected(stmt.error());
  std::vector<Checkpoint> out;
  while (true) {
    auto row = stmt->Step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) break;
    Checkpoint c;
    c.seq = static_cast<std::uint64_t>(stmt->Int(0));
    auto hash = stmt->Blob(1);
    c.head_hash.assign(hash.begin(), hash.end());
    c.at = stmt->Int(2);
    c.key_id = stmt->Text(3);
    auto sig = stmt->Blob(4);
    c.signature.assign(sig.begin(), sig.end());
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace

Result<AuditVerifyReport> VerifyAuditLog(
    const std::filesystem::path& db_path, const AuditKeys& keys,
    std::span<const wire::AuditCheckpoint> held) {
  if (sodium_init() < 0) {
    return MakeError(ErrorCode::kInternal,
                     "libsodium failed to initialise; check the system's "
                     "random number source");
  }
  if (!std::filesystem::exists(db_path)) {
    return MakeError(ErrorCode::kNotFound,
                     "no hub database at " + db_path.string() +
                         "; pass the hub's data directory with --data");
  }
  auto db = Database::Open(db_path, /*create=*/false, /*read_only=*/true,
                           std::chrono::milliseconds(5000));
  if (!db) return tl::unexpected(db.error());
  auto version = SchemaVersionOf(**db);
  if (!version) return tl::unexpected(version.error());
  AuditVerifyReport report;
  report.schema_version = *version;
  if (*version < 3) {
    report.intact = true;
    report.has_audit_log = false;
    return report;
  }
  auto checkpoints = LoadCheckpoints(**db);
  if (!checkpoints) return tl::unexpected(checkpoints.error());
  for (const wire::AuditCheckpoint& h : held) {
    Checkpoint c;
    c.seq = h.seq;
    c.head_hash.assign(h.head_hash.begin(), h.head_hash.end());
    c.at = std::chrono::duration_cast<seconds>(h.at.time_since_epoch()).count();
    c.key_id = h.key_id;
    c.signature.assign(h.signature.begin(), h.signature.end());
    c.held = true;
    checkpoints->push_back(std::move(c));
  }
  std::stable_sort(
      checkpoints->begin(), checkpoints->end(),
      [](const Checkpoint& a, const Checkpoint& b) { return a.seq < b.seq; });

  // Wrap the whole walk in one read transaction so a hub writing meanwhile
  // cannot make the entries and checkpoints disagree.
  if (auto s = (*db)->Exec("BEGIN"); !s) return tl::unexpected(s.error());

  // The hash and time of the entries checkpoints cover, only those.
  struct Covered {
    AuditHash hash{};
    std::int64_t at = 0;
  };
  std::map<std::uint64_t, Covered> covered;
  for (const Checkpoint& c : *checkpoints) covered[c.seq] = {};

  auto fail = [&report](std::uint64_t seq, std::string why) {
    report.bad_seq = seq;
    report.problem = std::move(why);
  };

  auto stmt = (*db)->Prepare(
      "SELECT seq, at, actor, fingerprint, request_id, action, details,"
      " result, prev_hash, hash FROM audit_log ORDER BY seq");
  if (!stmt) return tl::unexpected(stmt.error());
  AuditHash prev{};
  std::uint64_t expected = 1;
  while (true) {
    auto row = stmt->Step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) break;
    const auto seq = static_cast<std::uint64_t>(stmt->Int(0));
    if (seq != expected) {
      fail(expected, expected == 1
                         ? "entry 1 missing (the log starts at entry " +
                               std::to_string(seq) + ")"
                         : "entry " + std::to_string(expected) +
                               " missing (gap after " +
                               std::to_string(expected - 1) + ")");
      break;
    }
    const std::string actor = stmt->Text(2), fingerprint = stmt->Text(3),
                      request_id = stmt->Text(4), action = stmt->Text(5),
                      details = stmt->Text(6), result = stmt->Text(7);
    AuditEntryFields fields;
    fields.seq = seq;
    fields.at = stmt->Int(1);
    fields.actor = actor;
    fields.fingerprint = fingerprint;
    fields.request_id = request_id;
    fields.action = action;
    fields.details = details;
    fields.result = result;
    // Contents first: an edited or moved entry is named as such even when
    // its prev_hash is off too.
    auto stored_prev = stmt->Blob(8);
    std::copy_n(stored_prev.begin(),
                std::min(stored_prev.size(), fields.prev_hash.size()),
                fields.prev_hash.begin());
    const AuditHash hash = HashAuditEntry(fields);
    if (stored_prev.size() != fields.prev_hash.size() ||
        !SameBytes(stmt->Blob(9), hash)) {
      fail(seq, "entry " + std::to_string(seq) +
                    ": hash does not match its contents");
      break;
    }
    if (!SameBytes(stored_prev, prev)) {
      fail(seq, "entry " + std::to_string(seq) +
                    ": prev_hash does not match the hash of entry " +
                    std::to_string(seq - 1) +
                    " (an entry before it was replaced or removed)");
      break;
    }
    if (auto it = covered.find(seq); it != covered.end()) {
      it->second = {hash, fields.at};
    }
    if (seq == 1) report.first_at = sys_seconds{seconds{fields.at}};
    report.last_at = sys_seconds{seconds{fields.at}};
    report.last_seq = seq;
    ++report.entries;
    prev = hash;
    ++expected;
  }
  const bool chain_ok = report.problem.empty();

  // The last entry a genuine checkpoint vouched for: a checkpoint that
  // does not hold up leaves everything after it in doubt.
  std::uint64_t vouched = 0;
  std::int64_t vouched_at = 0;
  auto fail_since_vouched = [&](std::string why) {
    fail(vouched + 1, std::move(why));
    report.last_at = vouched == 0
                         ? std::nullopt
                         : std::optional(sys_seconds{seconds{vouched_at}});
  };
  for (const Checkpoint& c : *checkpoints) {
    const std::string at =
        std::string(c.held ? "held checkpoint at " : "checkpoint at ") +
        std::to_string(c.seq) + ": ";
    // A chain problem at or before this checkpoint was reported already.
    if (!chain_ok && c.seq >= report.bad_seq) break;
    if (c.seq > report.last_seq) {
      fail(report.last_seq + 1,
           at + "it covers entry " + std::to_string(c.seq) +
               " but the log ends at entry " + std::to_string(report.last_seq) +
               " (entries after it were removed)");
      break;
    }
    const Covered& entry = covered[c.seq];
    if (!SameBytes(c.head_hash, entry.hash)) {
      fail_since_vouched(
          at + "head hash does not match entry " + std::to_string(c.seq) +
          ": an entry from " + std::to_string(vouched + 1) + " to " +
          std::to_string(c.seq) + " was rewritten and the chain recomputed");
      break;
    }
    auto key = keys.find(c.key_id);
    if (key == keys.end()) {
      // A broken chain is proof of tampering that needs no key: report
      // that, not the key that is missing.
      if (!chain_ok) break;
      report.unverifiable = true;
      fail_since_vouched(at + "signed by key '" + c.key_id +
                         "', which is not among the keys given; pass the "
                         "hub's public keys (--keys DIR)");
      break;
    }
    // Only the end of a key's period is checked: after retirement its
    // private half is no longer guarded. A checkpoint's time is taken when
    // its batch starts, so a key made current during that batch may sign
    // a time shortly before its valid_from; that proves nothing.
    const sys_seconds signed_at{seconds{c.at}};
    const AuditKey& k = key->second;
    if (k.valid_until && signed_at > *k.valid_until) {
      fail_since_vouched(at + "signed at " + FormatTimestamp(signed_at) +
                         " by key '" + c.key_id + "', which was retired at " +
                         FormatTimestamp(*k.valid_until) +
                         " (a retired key's checkpoint made later is not "
                         "genuine)");
      break;
    }
    const auto message =
        EncodeCheckpointMessage(c.seq, entry.hash, c.at, c.key_id);
    if (c.signature.size() != crypto_sign_BYTES ||
        crypto_sign_verify_detached(c.signature.data(), message.data(),
                                    message.size(), k.public_key.data()) != 0) {
      fail_since_vouched(at + "signature invalid (not made by key '" +
                         c.key_id + "' over this checkpoint)");
      break;
    }
    ++report.checkpoints;
    vouched = c.seq;
    vouched_at = entry.at;
  }
  (void)(*db)->Exec("COMMIT");
  report.intact = report.problem.empty();
  if (!report.intact && report.bad_seq <= report.last_seq) {
    // Entries from the bad one on are not vouched for.
    report.entries = report.bad_seq - 1;
    report.last_seq = report.bad_seq - 1;
  }
  if (report.entries == 0) report.first_at = report.last_at = std::nullopt;
  return report;
}

}  // namespace cairn::server
