#include "server/src/store/guarded_clock.h"

#include <time.h>

#include <algorithm>
#include <string>
#include <utility>

#include <rapidjson/document.h>
#include <spdlog/spdlog.h>

#include "cairn/json_object.h"
#include "cairn/timestamp.h"
#include "server/src/store/audit_chain.h"
#include "server/src/store/key_use.h"
#include "server/src/store/store.h"

namespace cairn::server {
namespace {

using std::chrono::nanoseconds;

constexpr std::int64_t kNsPerSecond = 1'000'000'000;
// Offsets within this of the expected one take the lock-free path: a read
// of the two clocks that a context switch separated, or a step too small
// to classify. Larger changes are classified once under the mutex.
constexpr std::int64_t kJitterNs = kNsPerSecond;

std::int64_t Seconds(std::int64_t ns) { return ns / kNsPerSecond; }

sys_seconds ToSeconds(std::int64_t system_ns) {
  return sys_seconds(std::chrono::seconds(Seconds(system_ns)));
}

std::string UtcText(std::int64_t system_ns) {
  return FormatTimestamp(ToSeconds(system_ns));
}

// Raises `a` to at least `v`; returns the value it holds afterwards.
std::int64_t FetchMax(std::atomic<std::int64_t>& a, std::int64_t v) {
  std::int64_t cur = a.load(std::memory_order_relaxed);
  while (v > cur &&
         !a.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
  return std::max(cur, v);
}

constexpr const char* kCheckNtp =
    "check this host's time synchronisation (timedatectl timesync-status, "
    "chronyc tracking or ntpq -p)";

}  // namespace

// CLOCK_BOOTTIME rather than steady_clock (CLOCK_MONOTONIC): both never
// step, but only CLOCK_BOOTTIME counts time spent suspended. The system
// clock does too (it is set from the RTC on resume), so a host resumed
// from suspend keeps its offset and is not taken for a forward step.
std::chrono::steady_clock::time_point BootClockNow() {
  timespec ts{};
  if (clock_gettime(CLOCK_BOOTTIME, &ts) != 0) {
    return std::chrono::steady_clock::now();  // never on Linux >= 2.6.39
  }
  return std::chrono::steady_clock::time_point(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::seconds(ts.tv_sec) + nanoseconds(ts.tv_nsec)));
}

GuardedClock::GuardedClock(GuardedClockOptions options)
    : options_(std::move(options)),
      max_step_(
          std::chrono::duration_cast<nanoseconds>(options_.max_step).count()) {
  if (!options_.system_now) {
    options_.system_now = [] { return std::chrono::system_clock::now(); };
  }
  if (!options_.steady_now) options_.steady_now = BootClockNow;
  const Sample s = Read();
  hub_offset_.store(s.Offset());
  seen_offset_.store(s.Offset());
  classified_offset_ = s.Offset();
  released_offset_ = s.Offset();
}

// The system clock first: a delay between the two reads then makes the
// offset look smaller, never larger, so it cannot push the hub's time
// ahead of the system clock's.
GuardedClock::Sample GuardedClock::Read() const {
  const Ns system = std::chrono::duration_cast<nanoseconds>(
                        options_.system_now().time_since_epoch())
                        .count();
  const Ns steady = std::chrono::duration_cast<nanoseconds>(
                        options_.steady_now().time_since_epoch())
                        .count();
  return Sample{system, steady};
}

std::chrono::system_clock::time_point GuardedClock::Now() {
  const Sample s = Read();
  const Ns offset = s.Offset();
  const Ns seen = seen_offset_.load(std::memory_order_acquire);
  Ns hub_ns;
  if (offset < seen - kJitterNs || offset > seen + kJitterNs) {
    hub_ns = Slow();
  } else {
    hub_ns = s.steady + FetchMax(hub_offset_, offset);
  }
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          nanoseconds(hub_ns)));
}

sys_seconds GuardedClock::NowSeconds() {
  return std::chrono::floor<std::chrono::seconds>(Now());
}

std::string ClockStepRecord::Details() const {
  JsonObjectWriter w;
  w.Add("direction", direction)
      .Add("step_seconds", static_cast<std::uint64_t>(step_seconds))
      .Add("system_time", FormatTimestamp(system_time));
  if (hold_until) w.Add("hold_until", FormatTimestamp(*hold_until));
  return w.Finish();
}

std::optional<sys_seconds> RecordedHoldUntil(std::string_view details) {
  rapidjson::Document doc;
  doc.Parse(details.data(), details.size());
  if (doc.HasParseError() || !doc.IsObject()) return std::nullopt;
  if (!doc.HasMember("hold_until") || !doc["hold_until"].IsString()) {
    return std::nullopt;
  }
  const rapidjson::Value& until = doc["hold_until"];
  auto at = ParseTimestamp(
      std::string_view(until.GetString(), until.GetStringLength()));
  if (!at) return std::nullopt;
  return *at;
}

GuardedClock::Ns GuardedClock::Slow() {
  Ns hub_ns = 0;
  {
    std::lock_guard lock(mu_);
    hub_ns = SlowLocked();
  }
  Deliver();
  return hub_ns;
}

GuardedClock::Ns GuardedClock::SlowLocked() {
  // Read again under the lock: a sample taken before another thread
  // classified the same step would look like a step back to the old time.
  const Sample s = Read();
  const Ns offset = s.Offset();
  const Ns delta = offset - classified_offset_;
  const Ns old_hub = hub_offset_.load(std::memory_order_relaxed);
  const Ns new_hub = FetchMax(hub_offset_, offset);
  const Ns gap = new_hub - offset;
  // The offset in force until now was not held for all of that time, so
  // deletions may have gone by it.
  if (!steps_.deletions_held || s.steady >= hold_until_) {
    released_offset_ = std::max(released_offset_, classified_offset_);
  }
  std::optional<ClockStepRecord> record;
  if (delta < -max_step_) {
    ++steps_.backward;
    record = ClockStepRecord{"backward", Seconds(-delta), ToSeconds(s.system),
                             std::nullopt};
  } else if (delta > max_step_) {
    ++steps_.forward;
    record = ClockStepRecord{"forward", Seconds(delta), ToSeconds(s.system),
                             std::nullopt};
  }
  if (gap > max_step_ && !steps_.ahead_of_system) {
    steps_.ahead_of_system = true;
    spdlog::error(
        "the system clock stepped back by {} s (an NTP step, a restored VM "
        "snapshot, date -s?); the hub keeps its own time, now {} s ahead of "
        "the system clock, until the system clock catches up: queries, "
        "submissions and audit entries use the hub's time, the expiry sweep "
        "and the purge the system clock's earlier one. Action: {}. If the "
        "system clock is now right and the hub's time is the wrong one (it "
        "followed an earlier wrong forward step), restart cairnd with "
        "--clock-from-system to take the system clock's time",
        Seconds(-delta), Seconds(gap), kCheckNtp);
  } else if (gap > max_step_ && delta < -max_step_) {
    spdlog::error(
        "the system clock stepped back again, by {} s; the hub's time is now "
        "{} s ahead of it. Action: {}",
        Seconds(-delta), Seconds(gap), kCheckNtp);
  } else if (gap <= max_step_ && steps_.ahead_of_system) {
    steps_.ahead_of_system = false;
    spdlog::warn(
        "the system clock has caught up with the hub's time ({} s apart): "
        "the hub follows the system clock again",
        Seconds(gap));
  }
  // Deletions go by the system clock's time (DeletionTime), so the hold
  // follows its steps, whether or not the hub's time moves with them: a
  // wrong forward step undone and then made again leaves the hub where it
  // was, but would move the deletions by the whole step.
  if (delta > max_step_ && offset > released_offset_ + max_step_) {
    const Ns hold_ns =
        std::chrono::duration_cast<nanoseconds>(options_.deletion_hold).count();
    HoldLocked(s.steady + hold_ns);
    record->hold_until = ToSeconds(s.system + hold_ns);
    const auto hold_min =
        std::chrono::duration_cast<std::chrono::minutes>(options_.deletion_hold)
            .count();
    constexpr const char* kIfWrong =
        "if the step was wrong, correct the system clock within the hold: "
        "after it, signals expire and rows are purged by the new time, and "
        "that cannot be undone";
    if (new_hub - old_hub > max_step_) {
      spdlog::error(
          "the system clock stepped forward by {} s, and the hub's time with "
          "it (by {} s, to {}); the hub cannot tell whether the new time is "
          "right, so the expiry sweep and the purge are held for {} min, in "
          "case the step is undone (queries and submissions go on). Action: "
          "{}; {}",
          Seconds(delta), Seconds(new_hub - old_hub),
          UtcText(s.steady + new_hub), hold_min, kCheckNtp, kIfWrong);
    } else {
      spdlog::error(
          "the system clock stepped forward by {} s, to {}, towards the "
          "hub's time, which ran ahead of it and did not move ({} s apart "
          "now); the expiry sweep and the purge, which go by the system "
          "clock's time and have not gone by one this late, are held for {} "
          "min, in case the step is undone (queries and submissions go on). "
          "Action: {}; {}",
          Seconds(delta), UtcText(s.system), Seconds(gap), hold_min, kCheckNtp,
          kIfWrong);
    }
  }
  if (record) unsent_.push_back(std::move(*record));
  classified_offset_ = offset;
  seen_offset_.store(offset, std::memory_order_release);
  return s.steady + new_hub;
}

void GuardedClock::HoldLocked(Ns until) {
  if (!steps_.deletions_held || until > hold_until_) hold_until_ = until;
  steps_.deletions_held = true;
}

void GuardedClock::Deliver() {
  std::vector<ClockStepRecord> records;
  {
    std::lock_guard lock(mu_);
    records.swap(unsent_);
  }
  if (records.empty()) return;
  std::lock_guard lock(record_mu_);
  for (ClockStepRecord& r : records) {
    if (recorder_) {
      recorder_(r);
    } else {
      pending_.push_back(std::move(r));
    }
  }
}

void GuardedClock::SetStepRecorder(
    std::function<void(const ClockStepRecord&)> recorder) {
  std::lock_guard lock(record_mu_);
  recorder_ = std::move(recorder);
  if (!recorder_) return;
  for (const ClockStepRecord& r : pending_) recorder_(r);
  pending_.clear();
}

void GuardedClock::HoldIfFarAhead(sys_seconds newest_record) {
  {
    std::lock_guard lock(mu_);
    const Sample s = Read();
    const Ns record_ns = std::chrono::duration_cast<nanoseconds>(
                             newest_record.time_since_epoch())
                             .count();
    const Ns ahead = s.system - record_ns;
    const Ns hold_ns =
        std::chrono::duration_cast<nanoseconds>(options_.deletion_hold).count();
    if (ahead <= hold_ns) return;
    HoldLocked(s.steady + hold_ns);
    unsent_.push_back(ClockStepRecord{"ahead_at_start", Seconds(ahead),
                                      ToSeconds(s.system),
                                      ToSeconds(s.system + hold_ns)});
    spdlog::error(
        "the system clock ({}) is {} s ahead of the newest time this hub's "
        "database recorded ({}): cairnd was stopped that long, or the clock "
        "was stepped forward while it was stopped, which cannot be told "
        "apart. The expiry sweep and the purge are held for {} min, until "
        "{}, as after a forward step while running (queries and submissions "
        "go on). Action: {}; if the clock is wrong, correct it within the "
        "hold (after it, signals expire and rows are purged by the new "
        "time, for good); if it is right (a long stop), nothing needs to be "
        "done: expiry only comes an hour late",
        UtcText(s.system), Seconds(ahead), FormatTimestamp(newest_record),
        std::chrono::duration_cast<std::chrono::minutes>(options_.deletion_hold)
            .count(),
        UtcText(s.system + hold_ns), kCheckNtp);
  }
  Deliver();
}

void GuardedClock::RestoreHold(sys_seconds hold_until) {
  std::lock_guard lock(mu_);
  const Sample s = Read();
  const Ns until_ns =
      std::chrono::duration_cast<nanoseconds>(hold_until.time_since_epoch())
          .count();
  const Ns hold_ns =
      std::chrono::duration_cast<nanoseconds>(options_.deletion_hold).count();
  const Ns left = std::min(until_ns - s.system, hold_ns);
  if (left <= 0) return;
  HoldLocked(s.steady + left);
  spdlog::error(
      "the audit log records a step of the system clock whose deletion hold "
      "lasts until {}: the expiry sweep and the purge stay held for another "
      "{} s (a restart does not end the hold; queries and submissions go "
      "on). Action: {}; if the step was wrong, correct the clock before the "
      "hold ends",
      FormatTimestamp(hold_until), Seconds(left), kCheckNtp);
}

void GuardedClock::NotBefore(std::chrono::system_clock::time_point floor) {
  {
    std::lock_guard lock(mu_);
    NotBeforeLocked(floor);
  }
  Deliver();
}

void GuardedClock::NotBeforeLocked(
    std::chrono::system_clock::time_point floor) {
  const Sample s = Read();
  const Ns floor_ns =
      std::chrono::duration_cast<nanoseconds>(floor.time_since_epoch()).count();
  // The hub offset that makes Now() == floor at this steady time.
  const Ns new_hub = FetchMax(hub_offset_, floor_ns - s.steady);
  const Ns gap = new_hub - s.Offset();
  if (gap <= max_step_ || steps_.ahead_of_system) return;
  ++steps_.backward;
  steps_.ahead_of_system = true;
  unsent_.push_back(ClockStepRecord{"behind_at_start", Seconds(gap),
                                    ToSeconds(s.system), std::nullopt});
  spdlog::error(
      "the system clock ({}) is {} s behind the newest time this hub's "
      "database recorded ({}): it was set back while cairnd was stopped (a "
      "restored VM snapshot, a lost real-time clock?). The hub goes on from "
      "the recorded time until the system clock catches up, as after a "
      "backward step while running. Action: {}. If the recorded time is "
      "the wrong one (the previous run followed a wrong forward step), "
      "start cairnd with --clock-from-system",
      UtcText(s.system), Seconds(gap), UtcText(floor_ns), kCheckNtp);
}

bool GuardedClock::HeldLocked(Ns steady) {
  if (!steps_.deletions_held) return false;
  if (steady < hold_until_) return true;
  steps_.deletions_held = false;
  spdlog::warn(
      "no forward step of the system clock for {} min: the expiry sweep and "
      "the purge resume, by the system clock's time",
      std::chrono::duration_cast<std::chrono::minutes>(options_.deletion_hold)
          .count());
  return false;
}

std::optional<sys_seconds> GuardedClock::DeletionTime() {
  const auto now = Now();  // classifies a step the last reads missed
  std::lock_guard lock(mu_);
  const Sample s = Read();
  if (HeldLocked(s.steady)) return std::nullopt;
  const auto system = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          nanoseconds(s.system)));
  return std::chrono::floor<std::chrono::seconds>(std::min(system, now));
}

ClockSteps GuardedClock::Steps() {
  Now();
  std::lock_guard lock(mu_);
  HeldLocked(Read().steady);
  return steps_;
}

void StartHubClock(GuardedClock& clock, const KeyUse& use) {
  if (!use.newest_audit_at) return;
  clock.NotBefore(*use.newest_audit_at);
  clock.HoldIfFarAhead(*use.newest_audit_at);
  if (use.recorded_hold_until) clock.RestoreHold(*use.recorded_hold_until);
}

void RecordClockSteps(GuardedClock& clock, Store& store) {
  clock.SetStepRecorder([&store](const ClockStepRecord& r) {
    AuditEvent event;
    event.actor = "hub";
    event.action = std::string(kClockStepAction);
    event.details = r.Details();
    store.RecordAudit(std::move(event), [details = r.Details()](Status s) {
      if (!s) {
        spdlog::error(
            "cannot record the clock step {} in the audit log: {}; a restart "
            "will not keep its deletion hold, so do not restart cairnd "
            "before the hold is over",
            details, s.error().ToString());
      }
    });
  });
}

Clock HubClock(std::shared_ptr<GuardedClock> clock) {
  return [clock = std::move(clock)] { return clock->NowSeconds(); };
}

DeletionClock HubDeletionClock(std::shared_ptr<GuardedClock> clock) {
  return [clock = std::move(clock)] { return clock->DeletionTime(); };
}

}  // namespace cairn::server
