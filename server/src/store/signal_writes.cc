// StoreWrites: submitting and retracting signals, and the departure of a
// signal from the active set that retraction and expiry share.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "cairn/json_object.h"
#include "server/src/store/batch_statements.h"
#include "server/src/store/index_keys.h"
#include "server/src/store/record_ids.h"
#include "server/src/store/store_errors.h"
#include "server/src/store/store_time.h"
#include "server/src/store/store_writes.h"
#include "server/src/store/submit_records.h"

namespace cairn::server::store_internal {

Result<SubmitOutcome> StoreWrites::Submit(BatchState& b, const SubmitCommand& c,
                                          const Sha256Digest& digest) {
  auto dir = Members(b);
  if (!dir) return tl::unexpected(*b.fatal);
  auto standing =
      CheckStanding(*dir, c.member_id, c.context.fingerprint, Role::kMember);
  if (!standing) return tl::unexpected(standing.error());
  const Directory::Member* me = *standing;
  SubmitOutcome outcome;
  if (!c.idempotency_key.empty()) {
    auto stored = IdempotencyRecord(b, me->number, c.idempotency_key, digest);
    if (!stored) return tl::unexpected(stored.error());
    if (*stored) {
      auto replay = DecodeResults(**stored);
      if (!replay) return tl::unexpected(replay.error());
      outcome.results = std::move(*replay);
      outcome.replayed = true;
      Audit(b, c.context, "submit", SubmitDetails(outcome));
      return outcome;
    }
  }
  outcome.results.reserve(c.items.size());
  // Resolved first, so that each item's index bucket (a cache miss on a
  // table of millions of keys) loads while the item before is written.
  std::vector<tl::expected<IndexKey, KeyProblem>> keys;
  keys.reserve(c.items.size());
  for (const SignalSubmission& item : c.items) {
    keys.push_back(ResolveTokenKey(options_, *dir, item.key));
  }
  for (std::size_t i = 0; i < c.items.size(); ++i) {
    if (i + 1 < keys.size() && keys[i + 1]) index_.Prefetch(*keys[i + 1]);
    SubmitItemResult r = SubmitItem(b, *me, c.items[i], keys[i], i);
    if (b.fatal) return tl::unexpected(*b.fatal);
    outcome.results.push_back(std::move(r));
  }
  if (!c.idempotency_key.empty() &&
      !KeepIdempotencyRecord(b, me->number, c.idempotency_key, digest,
                             EncodeResults(outcome.results))) {
    return tl::unexpected(*b.fatal);
  }
  Audit(b, c.context, "submit", SubmitDetails(outcome));
  return outcome;
}

Result<std::optional<std::string>> StoreWrites::IdempotencyRecord(
    BatchState& b, std::uint32_t member, std::string_view key,
    const Sha256Digest& digest) {
  std::optional<Statement> slot;
  Statement* s = Prep(b, slot, kIdempotencyLookupSql);
  if (s == nullptr) return tl::unexpected(*b.fatal);
  s->Bind(1, std::int64_t{member})
      .Bind(2, key)
      .Bind(3, b.now - options_.idempotency_window.count());
  auto row = s->Step();
  if (!row) return tl::unexpected(b.Fail(row.error()));
  if (!*row) return std::optional<std::string>();
  auto stored = s->Blob(0);
  if (!std::equal(stored.begin(), stored.end(), digest.begin(), digest.end())) {
    return MakeError(ErrorCode::kConflict,
                     "Idempotency-Key '" + std::string(key) +
                         "' was already used for a different batch; "
                         "use a new key for a new batch");
  }
  return std::optional<std::string>(s->Text(1));
}

bool StoreWrites::KeepIdempotencyRecord(BatchState& b, std::uint32_t member,
                                        std::string_view key,
                                        const Sha256Digest& digest,
                                        const std::string& results) {
  return Run(b,
             "INSERT OR REPLACE INTO idempotency"
             " (member, key, digest, results, created_at)"
             " VALUES (?1, ?2, ?3, ?4, ?5)",
             [&](Statement& s) {
               s.Bind(1, std::int64_t{member})
                   .Bind(2, key)
                   .BindBlob(3, digest)
                   .BindUnowned(4, results)
                   .Bind(5, b.now);
             });
}

std::string StoreWrites::SubmitDetails(const SubmitOutcome& outcome) {
  std::uint64_t counts[4] = {0, 0, 0, 0};
  std::vector<std::string> ids;
  for (const auto& r : outcome.results) {
    ++counts[static_cast<std::size_t>(r.status)];
    if (r.status != SubmitStatus::kError) ids.push_back(r.signal_id);
  }
  JsonObjectWriter d;
  d.Add("items", std::uint64_t{outcome.results.size()})
      .Add("created", counts[static_cast<int>(SubmitStatus::kCreated)])
      .Add("updated", counts[static_cast<int>(SubmitStatus::kUpdated)])
      .Add("duplicate", counts[static_cast<int>(SubmitStatus::kDuplicate)])
      .Add("errors", counts[static_cast<int>(SubmitStatus::kError)])
      .Add("signal_ids", ids);
  if (outcome.replayed) d.Add("replayed", true);
  return d.Finish();
}

SubmitItemResult StoreWrites::SubmitItem(
    BatchState& b, const Directory::Member& me, const SignalSubmission& item,
    const tl::expected<IndexKey, KeyProblem>& resolved, std::size_t i) {
  SubmitItemResult r;
  r.index = i;
  auto fail = [&](std::string message, const char* field) {
    r.status = SubmitStatus::kError;
    r.error = ItemError(ErrorCode::kInvalidArgument, std::move(message),
                        "signals[" + std::to_string(i) + "]." + field, i);
    return r;
  };
  if (!resolved) return fail(resolved.error().message, resolved.error().field);
  const IndexKey& key = *resolved;
  const std::int64_t banned_at = ToUnix(item.banned_at);
  if (banned_at > b.now + options_.max_clock_skew.count()) {
    return fail(
        "banned_at lies in the future; send the time the account "
        "was banned (check the clock of the submitting system)",
        "banned_at");
  }
  const std::int64_t cap = b.now + options_.max_retention.count();
  std::optional<std::int64_t> requested;
  if (item.expires_at) {
    requested = std::min(ToUnix(*item.expires_at), cap);
    if (*requested <= b.now) {
      return fail(
          "expires_at is not in the future; omit it to use the "
          "hub's default retention",
          "expires_at");
    }
    if (*requested < banned_at) {
      return fail(
          "expires_at is before banned_at; a signal must expire "
          "after the ban it records",
          "expires_at");
    }
  }
  IndexEntry entry;
  entry.banned_at = banned_at;
  entry.member = me.number;
  entry.category = item.category;
  entry.severity = item.severity;
  entry.attribution = item.attribution;

  // The member's own active signal on this token and category, if any.
  std::optional<IndexEntry> existing;
  for (const IndexEntry& e : BatchLookup(b, key, kAnyTime)) {
    if (e.member == me.number && e.category == item.category) existing = e;
  }
  // A new signal's expiry: the one requested or the hub's default.
  const std::int64_t new_expiry =
      requested.value_or(b.now + options_.default_retention.count());
  auto refuse_new_expiry = [&] {
    return fail(
        "the hub's default retention ends before banned_at; send "
        "an expires_at after banned_at",
        "banned_at");
  };
  // Lapsed by the hub's time, but not by the time the expiry sweep goes by
  // (held after a forward step of the clock, or the system clock's earlier
  // time while the hub runs ahead of it): see below.
  bool renew = false;
  if (existing && existing->expires_at <= b.now) {
    const auto deletion = DeletionTime(b);
    renew = !deletion || existing->expires_at > *deletion;
  }
  if (existing && existing->expires_at <= b.now && !renew) {
    // Lapsed, but the expiry sweep has not run yet: it no longer matches,
    // so taking it as the signal to update would acknowledge a ban that
    // never matches and expires at the next sweep. Expire it here, as the
    // sweep would, and record the resend as a new signal (checked first:
    // a refused item changes nothing).
    if (new_expiry < banned_at) return refuse_new_expiry();
    const std::vector<Departure> lapsed = {{key, existing->rowid}};
    if (!Depart(b, lapsed.front(), me.number, kStatusExpired, std::nullopt,
                {}) ||
        !NotifyMatches(b, lapsed, FeedEventType::kExpired, std::nullopt)) {
      return r;
    }
    Audit(b, HubContext(), "expire",
          JsonObjectWriter().Add("signals", std::uint64_t{1}).Finish());
    existing.reset();
  }
  if (existing) {
    entry.rowid = existing->rowid;
    // Without expires_at a resend keeps the current expiry, so re-sending
    // the same batch is a duplicate rather than an extension.
    entry.expires_at = requested.value_or(existing->expires_at);
    if (renew) {
      // Expiring it here would do what the sweep refuses to do yet, for
      // good if the clock's step is undone. Keeping its expiry would
      // acknowledge a ban that does not match by the hub's time, lost at
      // the next sweep if the step stands. So the resend renews it: the
      // same signal, with the expiry a new signal would get, in force
      // either way.
      entry.expires_at = new_expiry;
      if (entry.expires_at < banned_at) return refuse_new_expiry();
    }
    // The kept expiry was checked against the old banned_at only.
    if (entry.expires_at < banned_at) {
      return fail(
          "the signal's current expiry is before this banned_at; send an "
          "expires_at after banned_at",
          "expires_at");
    }
    // Sent twice in this command: its row must be written before it is
    // read and updated below.
    if (!b.signals.empty() && existing->rowid >= b.signals.front().rowid) {
      FlushSignals(b);
      if (b.fatal) return r;
    }
    std::optional<Statement> slot;
    Statement* s = Prep(b, slot,
                        "SELECT signal_id, coalesce(ref, '') FROM signals"
                        " WHERE id = ?1");
    if (s == nullptr) return r;
    s->Bind(1, entry.rowid);
    auto row = s->Step();
    if (!row) {
      b.Fail(row.error());
      return r;
    }
    r.signal_id = s->Text(0);
    const std::string old_ref = s->Text(1);
    slot.reset();
    const bool same_ref = item.ref.empty() || item.ref == old_ref;
    if (entry == *existing && same_ref) {
      r.status = SubmitStatus::kDuplicate;
      return r;
    }
    if (!Run(b,
             "UPDATE signals SET severity = ?2, banned_at = ?3,"
             " expires_at = ?4, attribution = ?5,"
             " ref = coalesce(?6, ref), updated_at = ?7 WHERE id = ?1",
             [&](Statement& st) {
               st.Bind(1, entry.rowid)
                   .Bind(2, static_cast<std::int64_t>(entry.severity))
                   .Bind(3, entry.banned_at)
                   .Bind(4, entry.expires_at)
                   .Bind(5, std::int64_t{entry.attribution ? 1 : 0})
                   .Bind(7, b.now);
               if (item.ref.empty()) {
                 st.BindNull(6);
               } else {
                 st.Bind(6, item.ref);
               }
             })) {
      return r;
    }
    // Mirrors upsert by signal_id, so an update is re-announced as added.
    AddFeedEvent(b, FeedEventType::kAdded, entry.rowid, me.number);
    b.Update(key, entry);
    r.status = SubmitStatus::kUpdated;
    return r;
  }

  entry.expires_at = new_expiry;
  if (entry.expires_at < banned_at) return refuse_new_expiry();
  r.signal_id = NewId("s_");
  entry.rowid = NextRowid(b, b.next_signal_rowid,
                          "SELECT coalesce(max(id), 0) FROM signals");
  if (entry.rowid < 0) return r;
  b.signals.push_back({entry.rowid, r.signal_id, key, entry, item.ref});
  AddFeedEvent(b, FeedEventType::kAdded, entry.rowid, me.number);
  b.Insert(key, entry);
  r.status = SubmitStatus::kCreated;
  return r;
}

// Marks the signal retracted/expired, emits its feed event and removes it
// from the overlay. Returns false on SQL failure.
bool StoreWrites::Depart(BatchState& b, const Departure& d,
                         std::uint32_t member, std::int64_t status,
                         std::optional<RetractReason> reason,
                         const std::string& request_id) {
  if (!Run(b,
           "UPDATE signals SET status = ?2, retract_reason = ?3,"
           " updated_at = ?4 WHERE id = ?1",
           [&](Statement& s) {
             s.Bind(1, d.rowid).Bind(2, status).Bind(4, b.now);
             if (reason) {
               s.Bind(3, static_cast<std::int64_t>(*reason));
             } else {
               s.BindNull(3);
             }
           })) {
    return false;
  }
  if (reason &&
      !Run(b,
           "INSERT OR REPLACE INTO retractions (signal, reason, request_id,"
           " at) VALUES (?1, ?2, ?3, ?4)",
           [&](Statement& s) {
             s.Bind(1, d.rowid)
                 .Bind(2, static_cast<std::int64_t>(*reason))
                 .Bind(3, request_id)
                 .Bind(4, b.now);
           })) {
    return false;
  }
  const FeedEventType type = status == kStatusExpired
                                 ? FeedEventType::kExpired
                                 : FeedEventType::kRetracted;
  AddFeedEvent(b, type, d.rowid, member);
  b.Remove(d.key, d.rowid);
  return true;
}

// One notification per match that included any departed signal, after all
// of them have left (so still_supported reflects the final state).
bool StoreWrites::NotifyMatches(BatchState& b,
                                const std::vector<Departure>& departed,
                                FeedEventType type,
                                std::optional<RetractReason> reason) {
  // Matches are found through match_signals, keyed by signal; a departing
  // signal's recent matches are settled there first.
  std::vector<std::int64_t> signals;
  signals.reserve(departed.size());
  for (const Departure& d : departed) signals.push_back(d.rowid);
  if (recent_match_signals_.MayHoldAny(signals, b.recent) &&
      !SettleRecentMatches(b)) {
    return false;
  }
  std::map<std::int64_t, std::pair<std::uint32_t, IndexKey>> matches;
  for (const Departure& d : departed) {
    std::optional<Statement> slot;
    Statement* s = Prep(b, slot,
                        "SELECT m.id, m.member FROM match_signals ms"
                        " JOIN matches m ON m.id = ms.match"
                        " WHERE ms.signal = ?1");
    if (s == nullptr) return false;
    s->Bind(1, d.rowid);
    while (true) {
      auto row = s->Step();
      if (!row) {
        b.Fail(row.error());
        return false;
      }
      if (!*row) break;
      matches.emplace(
          s->Int(0),
          std::make_pair(static_cast<std::uint32_t>(s->Int(1)), d.key));
    }
  }
  for (const auto& entry : matches) {
    // No structured bindings here: the lambda below captures them, which
    // clang-14 (the fuzz build) does not support.
    const auto match = entry.first;
    const std::uint32_t querier = entry.second.first;
    const auto& key = entry.second.second;
    bool supported = false;
    for (const IndexEntry& e : BatchLookup(b, key, b.now)) {
      if (e.member != querier) supported = true;
    }
    const std::int64_t seq =
        NextRowid(b, b.next_notification_seq, kNextNotificationSeqSql);
    if (seq < 0) return false;
    // What the member sees is its own numbering: the hub-wide seq between
    // two of its notifications would count other members' (and so how
    // often they matched a token whose retraction it sees in the feed).
    auto [own, first] = b.next_member_notification_seq.try_emplace(querier, 0);
    if (first) {
      const std::int64_t last =
          ScalarInt(b, kLastMemberNotificationSeqSql,
                    [&](Statement& s) { s.Bind(1, std::int64_t{querier}); });
      if (last < 0) return false;
      own->second = last + 1;
    }
    const std::int64_t member_seq = own->second++;
    if (!Run(b,
             "INSERT INTO notifications (member, match, type, reason,"
             " still_supported, at, seq, member_seq)"
             " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
             [&](Statement& s) {
               s.Bind(1, std::int64_t{querier})
                   .Bind(2, match)
                   .Bind(3, static_cast<std::int64_t>(type))
                   .Bind(5, std::int64_t{supported ? 1 : 0})
                   .Bind(6, b.now)
                   .Bind(7, seq)
                   .Bind(8, member_seq);
               if (reason) {
                 s.Bind(4, static_cast<std::int64_t>(*reason));
               } else {
                 s.BindNull(4);
               }
             })) {
      return false;
    }
  }
  return true;
}

Result<RetractOutcome> StoreWrites::Retract(BatchState& b,
                                            const RetractCommand& c) {
  auto dir = Members(b);
  if (!dir) return tl::unexpected(*b.fatal);
  auto standing =
      CheckStanding(*dir, c.member_id, c.context.fingerprint, Role::kMember);
  if (!standing) return tl::unexpected(standing.error());
  const Directory::Member* me = *standing;
  RetractOutcome outcome;
  std::map<std::optional<RetractReason>, std::vector<Departure>> by_reason;
  std::size_t retracted = 0;
  for (std::size_t i = 0; i < c.items.size(); ++i) {
    const RetractionItem& item = c.items[i];
    RetractItemResult r;
    r.index = i;
    std::vector<Departure> targets;
    if (item.key) {
      // Like submit: a token this hub cannot hold is an error that says
      // why, not "not found".
      auto key = ResolveTokenKey(options_, *dir, *item.key);
      if (!key) {
        r.status = RetractStatus::kError;
        r.error = ItemError(
            ErrorCode::kInvalidArgument, std::move(key.error().message),
            "retractions[" + std::to_string(i) + "]." + key.error().field, i);
        outcome.results.push_back(std::move(r));
        continue;
      }
      for (const IndexEntry& e : BatchLookup(b, *key, kAnyTime)) {
        if (e.member == me->number) targets.push_back({*key, e.rowid});
      }
    } else if (!item.ref.empty()) {
      std::optional<Statement> slot;
      Statement* s = Prep(b, slot,
                          "SELECT id, kind, scheme, epoch, token FROM signals"
                          " WHERE member = ?1 AND ref = ?2 AND status = 0");
      if (s == nullptr) return tl::unexpected(*b.fatal);
      s->Bind(1, me->number).Bind(2, item.ref);
      while (true) {
        auto row = s->Step();
        if (!row) return tl::unexpected(b.Fail(row.error()));
        if (!*row) break;
        Departure d;
        d.rowid = s->Int(0);
        d.key = ReadIndexKey(*s, 1);
        targets.push_back(d);
      }
    }
    for (const Departure& d : targets) {
      std::optional<Statement> slot;
      Statement* s =
          Prep(b, slot, "SELECT signal_id FROM signals WHERE id = ?1");
      if (s == nullptr) return tl::unexpected(*b.fatal);
      s->Bind(1, d.rowid);
      auto row = s->Step();
      if (!row) return tl::unexpected(b.Fail(row.error()));
      if (*row) r.signal_ids.push_back(s->Text(0));
      slot.reset();
      if (!Depart(b, d, me->number, kStatusRetracted, item.reason,
                  c.context.request_id)) {
        return tl::unexpected(*b.fatal);
      }
      by_reason[item.reason].push_back(d);
    }
    r.status =
        targets.empty() ? RetractStatus::kNotFound : RetractStatus::kRetracted;
    retracted += targets.size();
    outcome.results.push_back(std::move(r));
  }
  for (const auto& [reason, departed] : by_reason) {
    if (!NotifyMatches(b, departed, FeedEventType::kRetracted, reason)) {
      return tl::unexpected(*b.fatal);
    }
  }
  std::vector<std::string> ids;
  for (const auto& r : outcome.results) {
    ids.insert(ids.end(), r.signal_ids.begin(), r.signal_ids.end());
  }
  Audit(b, c.context, "retract",
        JsonObjectWriter()
            .Add("items", std::uint64_t{c.items.size()})
            .Add("retracted", std::uint64_t{retracted})
            .Add("signal_ids", ids)
            .Finish());
  return outcome;
}

}  // namespace cairn::server::store_internal
