#include "server/src/audit/audit_verify.h"

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>
#include <sodium.h>

#include "cairn/timestamp.h"

#include "server/src/audit/audit_restore.h"
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

// "the backup at seq 62 and the replaced database at seq 490" (or "no
// replaced database").
std::string Declared(const RestoreDeclaration& d) {
  return "the backup at seq " + std::to_string(d.backup_last.seq) +
         (d.replaced_last ? " and the replaced database at seq " +
                                std::to_string(d.replaced_last->seq)
                          : std::string(" and no replaced database"));
}

constexpr std::string_view kRotateAction = "keys.rotate";

// The key a keys.rotate entry's details name as "previous" (the key it
// retired), if they do.
std::optional<std::string> RotatedAwayKey(const std::string& details) {
  rapidjson::Document doc;
  doc.Parse(details.c_str(), details.size());
  if (doc.HasParseError() || !doc.IsObject()) return std::nullopt;
  const rapidjson::Value& root = doc;
  auto previous = root.FindMember("previous");
  if (previous == root.MemberEnd() || !previous->value.IsString()) {
    return std::nullopt;
  }
  return std::string(previous->value.GetString(),
                     previous->value.GetStringLength());
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
  std::uint64_t previous = 0;  // the seq of the entry before (0: none)
  std::int64_t previous_at = 0;
  // The time of the entry before each restore entry, by its seq.
  std::map<std::uint64_t, std::int64_t> before_restore_at;
  // The last keys.rotate entry that retired each key, by the key's id: the
  // hub writes it before it switches to the new key.
  std::map<std::string, std::uint64_t> rotated_away_at;
  while (true) {
    auto row = stmt->Step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) break;
    const auto seq = static_cast<std::uint64_t>(stmt->Int(0));
    const std::string actor = stmt->Text(2), fingerprint = stmt->Text(3),
                      request_id = stmt->Text(4), action = stmt->Text(5),
                      details = stmt->Text(6), result = stmt->Text(7);
    const bool is_restore = action == kRestoreAction;
    std::optional<RestoreDeclaration> declared;
    std::string undeclared;  // why a restore entry declares nothing usable
    if (is_restore) {
      auto parsed = ParseRestoreDetails(details);
      if (parsed) {
        declared = std::move(*parsed);
      } else {
        undeclared = parsed.error().message;
      }
    }
    const std::uint64_t expected = previous + 1;
    if (seq != expected) {
      // Only a restore entry that declares exactly this gap explains it:
      // the backup ended at the entry before the gap, the replaced
      // database at the entry before the restore entry.
      const bool declares_gap =
          declared && declared->backup_last.seq == previous &&
          declared->replaced_last && declared->replaced_last->seq == seq - 1;
      if (!declares_gap) {
        std::string why = expected == 1
                              ? "entry 1 missing (the log starts at entry " +
                                    std::to_string(seq) + ")"
                              : "entry " + std::to_string(expected) +
                                    " missing (gap after " +
                                    std::to_string(previous) + ")";
        if (is_restore) {
          why +=
              "; entry " + std::to_string(seq) + " is a restore entry, but " +
              (declared
                   ? "it declares " + Declared(*declared) +
                         ", not the backup at seq " + std::to_string(previous) +
                         " and the replaced database at seq " +
                         std::to_string(seq - 1)
                   : undeclared) +
              ", so it does not account for the gap";
        }
        fail(expected, std::move(why));
        break;
      }
    }
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
                    std::to_string(previous) +
                    " (an entry before it was replaced or removed)");
      break;
    }
    if (is_restore) {
      // A genuine restore entry follows the backup's last entry and takes
      // the seq after both heads.
      if (!declared) {
        fail(seq, "entry " + std::to_string(seq) + ": a restore entry, but " +
                      undeclared);
        break;
      }
      if (declared->backup_last.seq != previous ||
          !SameBytes(declared->backup_last.hash, prev) ||
          declared->EntrySeq() != seq) {
        fail(seq, "entry " + std::to_string(seq) +
                      ": a restore entry that declares " + Declared(*declared) +
                      ", which does not match its place in the log (the "
                      "entry before it is " +
                      std::to_string(previous) + ")");
        break;
      }
      AuditRestoreFound found;
      found.seq = seq;
      found.at = sys_seconds{seconds{fields.at}};
      found.backup = declared->backup;
      found.backup_last_seq = previous;
      if (declared->replaced_last) {
        found.replaced_last_seq = declared->replaced_last->seq;
      }
      found.discarded_from = previous + 1;
      found.discarded_to = seq - 1;
      report.restores.push_back(std::move(found));
      before_restore_at[seq] = previous_at;
    }
    if (action == kRotateAction && result == "ok") {
      if (auto previous_key = RotatedAwayKey(details)) {
        rotated_away_at[*previous_key] = seq;
      }
    }
    if (auto it = covered.find(seq); it != covered.end()) {
      it->second = {hash, fields.at};
    }
    if (report.entries == 0) report.first_at = sys_seconds{seconds{fields.at}};
    if (report.entries > 0 && fields.at < previous_at &&
        report.first_backward_seq == 0) {
      report.first_backward_seq = seq;
    }
    const sys_seconds entry_at{seconds{fields.at}};
    if (!report.latest_at || entry_at > *report.latest_at) {
      report.latest_at = entry_at;
    }
    report.last_at = entry_at;
    report.last_seq = seq;
    ++report.entries;
    prev = hash;
    previous = seq;
    previous_at = fields.at;
  }
  const bool chain_ok = report.problem.empty();
  report.chain_entries = report.entries;
  report.chain_last_seq = report.last_seq;

  // The restore whose declared gap holds `seq`, if any.
  auto discarded_by = [&report](std::uint64_t seq) -> const AuditRestoreFound* {
    for (const AuditRestoreFound& r : report.restores) {
      if (r.discarded_from <= seq && seq <= r.discarded_to) return &r;
    }
    return nullptr;
  };

  // The last entry a genuine checkpoint vouched for: a checkpoint that
  // does not hold up leaves everything after it in doubt.
  std::uint64_t vouched = 0;
  std::int64_t vouched_at = 0;
  std::int64_t vouched_signed_at = 0;
  auto fail_since_vouched = [&](std::string why) {
    fail(vouched + 1, std::move(why));
    report.last_at = vouched == 0
                         ? std::nullopt
                         : std::optional(sys_seconds{seconds{vouched_at}});
  };
  // Checks that `c` was signed over `head` by one of `keys` within the
  // key's period. Returns false, having recorded the problem (or, for a
  // missing key after a broken chain, nothing: the chain is the proof),
  // when the walk must stop.
  auto signed_genuinely = [&](const Checkpoint& c, const AuditHash& head,
                              const std::string& at) {
    auto key = keys.find(c.key_id);
    if (key == keys.end()) {
      // A broken chain is proof of tampering that needs no key: report
      // that, not the key that is missing.
      if (!chain_ok) return false;
      report.unverifiable = true;
      fail_since_vouched(at + "signed by key '" + c.key_id +
                         "', which is not among the keys given; pass the "
                         "hub's public keys (--keys DIR)");
      return false;
    }
    // Only the end of a key's period is checked: after retirement its
    // private half is no longer guarded. The hub now dates a checkpoint
    // together with choosing its key (HubKeyring::SignNamed), but earlier
    // versions dated it when its batch started, so a key made current
    // during that batch may have signed a time shortly before its
    // valid_from; logs written then must still verify, and such a time
    // proves nothing.
    //
    // Nor is a checkpoint that covers only entries before the keys.rotate
    // entry that retired its key: it was made before the rotation, whatever
    // its time says. A hub whose clock was stepped forward dates it ahead,
    // and after a restart with --clock-from-system its rotation's time, and
    // so the key's valid_until, is earlier (a forger could date it before
    // valid_until anyway: only its place in the chain tells).
    const sys_seconds signed_at{seconds{c.at}};
    const AuditKey& k = key->second;
    const auto rotated = rotated_away_at.find(c.key_id);
    const bool before_rotation =
        rotated != rotated_away_at.end() && c.seq < rotated->second;
    if (k.valid_until && signed_at > *k.valid_until && !before_rotation) {
      fail_since_vouched(at + "signed at " + FormatTimestamp(signed_at) +
                         " by key '" + c.key_id + "', which was retired at " +
                         FormatTimestamp(*k.valid_until) +
                         " (a retired key's checkpoint made later is not "
                         "genuine)");
      return false;
    }
    const auto message = EncodeCheckpointMessage(c.seq, head, c.at, c.key_id);
    if (c.signature.size() != crypto_sign_BYTES ||
        crypto_sign_verify_detached(c.signature.data(), message.data(),
                                    message.size(), k.public_key.data()) != 0) {
      fail_since_vouched(at + "signature invalid (not made by key '" +
                         c.key_id + "' over this checkpoint)");
      return false;
    }
    return true;
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
    if (const AuditRestoreFound* restore = discarded_by(c.seq)) {
      const std::string when = FormatTimestamp(restore->at);
      if (!c.held) {
        // The hub's own checkpoints come with the backup, which ends
        // before the gap: one inside it was added afterwards.
        std::string why = at;
        why += "it covers entry " + std::to_string(c.seq);
        why += ", which the restore at seq " + std::to_string(restore->seq);
        why += " (" + when + ") discarded; the hub's own checkpoints never ";
        why += "cover discarded entries, so this one was added to the log ";
        why += "afterwards";
        fail_since_vouched(why);
        break;
      }
      // Proof of what the hub held before the restore: genuine if signed,
      // but about entries this log discloses it no longer has.
      AuditHash head{};
      if (c.head_hash.size() == head.size()) {
        std::copy(c.head_hash.begin(), c.head_hash.end(), head.begin());
      }
      if (!signed_genuinely(c, head, at)) break;
      report.discarded_checkpoints.push_back(
          {c.seq, restore->seq, restore->at});
      continue;
    }
    const Covered& entry = covered[c.seq];
    if (!SameBytes(c.head_hash, entry.hash)) {
      fail_since_vouched(
          at + "head hash does not match entry " + std::to_string(c.seq) +
          ": an entry from " + std::to_string(vouched + 1) + " to " +
          std::to_string(c.seq) + " was rewritten and the chain recomputed");
      break;
    }
    if (!signed_genuinely(c, entry.hash, at)) break;
    ++report.checkpoints;
    ++(c.held ? report.held_checkpoints : report.hub_checkpoints);
    vouched = c.seq;
    vouched_at = entry.at;
    vouched_signed_at = c.at;
  }
  (void)(*db)->Exec("COMMIT");

  // A restore entry is written offline by cairnctl, without the hub's
  // keys: anyone who can write the database could append one to explain
  // away entries they deleted. Its declared gap is trusted only once a
  // genuine checkpoint covers the entry (the hub signed a head after it);
  // until then the missing entries cannot be verified, and held
  // checkpoints in the gap are not called discarded.
  if (report.problem.empty()) {
    for (const AuditRestoreFound& r : report.restores) {
      if (r.seq <= vouched || r.discarded_to < r.discarded_from) continue;
      std::string why =
          (r.discarded_from == r.discarded_to
               ? "entry " + std::to_string(r.discarded_from) + " missing"
               : "entries " + std::to_string(r.discarded_from) + " to " +
                     std::to_string(r.discarded_to) + " missing") +
          "; the restore entry at seq " + std::to_string(r.seq) +
          " declaring them discarded is not yet signed by any checkpoint, "
          "and until one covers it the declaration is only as trustworthy "
          "as the database file (start cairnd: it signs a restore entry "
          "when it opens the log, then verify again)";
      std::vector<std::uint64_t> held_in_gap;
      for (const AuditDiscardedCheckpoint& d : report.discarded_checkpoints) {
        if (d.restore_seq == r.seq) held_in_gap.push_back(d.seq);
      }
      if (!held_in_gap.empty()) {
        why += "; held checkpoint";
        why += held_in_gap.size() == 1 ? " at " : "s at ";
        for (std::size_t i = 0; i < held_in_gap.size(); ++i) {
          if (i > 0) why += ", ";
          why += std::to_string(held_in_gap[i]);
        }
        why += held_in_gap.size() == 1 ? " covers" : " cover";
        why += " entries in that gap";
      }
      report.unverifiable = true;
      report.unsigned_restore_seq = r.seq;
      fail(r.discarded_from, std::move(why));
      report.last_at =
          r.backup_last_seq == 0
              ? std::nullopt
              : std::optional(sys_seconds{seconds{before_restore_at[r.seq]}});
      break;
    }
  }
  report.intact = report.problem.empty();
  report.signed_seq = vouched;
  if (vouched > 0) report.signed_at = sys_seconds{seconds{vouched_signed_at}};
  if (!report.intact && report.bad_seq <= report.last_seq) {
    // Entries from the bad one on are not vouched for.
    report.last_seq = report.bad_seq - 1;
    std::erase_if(report.restores, [&](const AuditRestoreFound& r) {
      return r.seq > report.last_seq;
    });
    std::erase_if(report.discarded_checkpoints,
                  [&](const AuditDiscardedCheckpoint& d) {
                    return d.restore_seq > report.last_seq;
                  });
    // The entries up to last_seq, less the gaps restores declared there.
    report.entries = report.last_seq;
    for (const AuditRestoreFound& r : report.restores) {
      if (r.discarded_to >= r.discarded_from) {
        report.entries -= r.discarded_to - r.discarded_from + 1;
      }
    }
  }
  if (report.first_backward_seq > report.last_seq) {
    report.first_backward_seq = 0;
  }
  if (report.latest_at && report.last_seq < report.chain_last_seq) {
    // Cut back to the entries vouched for.
    auto latest = (*db)->Prepare(
        "SELECT max(at) FROM audit_log WHERE seq <= ?1 HAVING count(*) > 0");
    if (!latest) return tl::unexpected(latest.error());
    latest->Bind(1, static_cast<std::int64_t>(report.last_seq));
    auto row = latest->Step();
    if (!row) return tl::unexpected(row.error());
    report.latest_at = *row
                           ? std::optional(sys_seconds{seconds{latest->Int(0)}})
                           : std::nullopt;
  }
  if (report.entries == 0) {
    report.first_at = report.last_at = report.latest_at = std::nullopt;
  }
  return report;
}

}  // namespace cairn::server
