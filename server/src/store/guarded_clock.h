// GuardedClock: the hub's time, safe against steps of the system clock (an
// NTP step, a VM restored from a snapshot, an operator's `date -s`).
//
// The boot clock (CLOCK_BOOTTIME: monotonic, and counting time suspended)
// never steps, so the offset between the system clock and it only changes
// when the system clock is stepped. GuardedClock watches that offset:
//
// - Now() never runs backwards: it returns max(system time, the last time
//   it returned + the steady time elapsed since). After a backward step the
//   hub keeps counting from where it was, so members' fresh banned_at
//   values are not refused as "in the future", expired signals do not match
//   again and the OPRF quota day does not go back. The hub then runs ahead
//   of the system clock until the system clock catches up, or cairnd is
//   restarted with --clock-from-system (a plain restart goes on from the
//   newest recorded time: NotBefore; operator guide, "Clock steps").
// - A forward step moves Now() forward too: the hub cannot tell which time
//   is right. So DeletionTime() (what the expiry sweep and the purge delete
//   by) is held for `deletion_hold` after it, in case the step is undone,
//   instead of expiring and purging irreversibly on a time that may be
//   wrong. Queries and submissions keep working on Now(). The hold goes by
//   what deletions go by, not by the hub's time: a forward step of the
//   system clock up to a hub time that runs ahead (a wrong step undone and
//   then made again, or a start from the recorded time) moves the deletion
//   time just as far, and is held too, unless deletions already went by
//   that late a time in this run (then nothing new can be deleted).
// - DeletionTime() is otherwise the system clock's time, never later than
//   Now(): while the hub runs ahead after a backward step, deletions go by
//   the earlier of the two times.
//
// Each step is logged (an error naming its direction and size, and what
// the operator should do) and counted; Steps() feeds the metrics and
// /healthz. cairnd also records each one in the audit log
// (RecordClockSteps): the entries written during a hold carry the stepped
// time, so a restarted hub would see no step and delete by it at once;
// instead StartHubClock restores the recorded hold, and starts one when
// the system clock is far ahead of the newest record (a forward step while
// cairnd was stopped, which cannot be told from a long stop).
#ifndef CAIRN_SERVER_STORE_GUARDED_CLOCK_H_
#define CAIRN_SERVER_STORE_GUARDED_CLOCK_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/src/store/records.h"

namespace cairn::server {

struct GuardedClockOptions {
  // A change of the system clock against the steady clock by more than this,
  // in either direction, is a step. NTP slews smaller errors and steps only
  // larger ones (chrony and ntpd step at 1 s and 128 ms), so this counts
  // only steps that can matter to times kept in whole seconds and to
  // max_clock_skew (5 min). Default: 60 s.
  std::chrono::seconds max_step{60};
  // How long after a forward step of the deletion time (the system clock's,
  // to a time deletions have not gone by in this run) the expiry sweep and
  // the purge stay held (restarted by each further such step). Longer than
  // the time an NTP daemon takes to undo a wrong step (ntpd's 900 s
  // stepout, chrony's 1024 s longest default poll); holding costs only
  // feed expiry events that come late and a purge of limits counted in
  // days that runs late. Default: 1 h.
  std::chrono::seconds deletion_hold{std::chrono::hours(1)};
  // Test seams. Default: std::chrono::system_clock, and CLOCK_BOOTTIME as a
  // steady_clock time point (guarded_clock.cc says why not steady_clock).
  std::function<std::chrono::system_clock::time_point()> system_now;
  std::function<std::chrono::steady_clock::time_point()> steady_now;
};

// A step of the system clock, or what cairnd found at start-up, for the
// audit log (action kClockStepAction, actor "hub"): the in-memory hold
// would otherwise end with the process, and a restarted hub, whose newest
// entries already carry the stepped time, would see no step.
struct ClockStepRecord {
  // "forward" and "backward": steps while running; "ahead_at_start": the
  // system clock was more than the hold ahead of the newest record at
  // start-up; "behind_at_start": more than max_step behind it.
  std::string direction;
  std::int64_t step_seconds = 0;
  sys_seconds system_time{};  // the system clock's time after the step
  // When the deletion hold it started ends, by the system clock (a reboot
  // keeps the system clock, not the boot clock); unset: no hold.
  std::optional<sys_seconds> hold_until;
  // The entry's details: {"direction","step_seconds","system_time"[,
  // "hold_until"]}, times as RFC 3339 UTC.
  std::string Details() const;
};

// The hold a hub.clock_step entry's details record (nullopt: none, or
// details that do not parse).
std::optional<sys_seconds> RecordedHoldUntil(std::string_view details);

// What the clock has seen since it was made.
struct ClockSteps {
  std::uint64_t forward = 0;   // forward steps of the system clock
  std::uint64_t backward = 0;  // backward steps of the system clock
  // The hub runs ahead of the system clock by more than max_step (after a
  // backward step, until the system clock catches up).
  bool ahead_of_system = false;
  // The expiry sweep and the purge are held after a forward step.
  bool deletions_held = false;
  bool Unresolved() const { return ahead_of_system || deletions_held; }
};

// Thread-safe. Now() takes no lock unless the offset between the two clocks
// changed since the last call (a step, or a read delayed between the two
// clocks); then it takes a mutex once to classify the change.
class GuardedClock {
 public:
  explicit GuardedClock(GuardedClockOptions options = {});
  GuardedClock(const GuardedClock&) = delete;
  GuardedClock& operator=(const GuardedClock&) = delete;

  // The hub's time: never earlier than any time it returned before.
  std::chrono::system_clock::time_point Now();
  // Now() in whole seconds, for the store.
  sys_seconds NowSeconds();
  // The time the expiry sweep and the purge cut-offs go by, in whole
  // seconds: the system clock's (never later than Now()), or nullopt while
  // they are held after a forward step.
  std::optional<sys_seconds> DeletionTime();
  ClockSteps Steps();

  // Makes the hub's time at least `floor` from now on: cairnd passes the
  // newest time its database recorded, so a system clock set back while
  // cairnd was stopped (a restored VM snapshot, a lost real-time clock) is
  // caught like a backward step while running: counted, logged and
  // reported until the system clock catches up. A system clock behind by
  // less than max_step is followed from `floor` without a report.
  void NotBefore(std::chrono::system_clock::time_point floor);

  // Start-up, with the newest time the database recorded: a system clock
  // more than deletion_hold ahead of it was stepped forward while cairnd
  // was stopped, or cairnd was stopped that long, which cannot be told
  // apart. Deletions are then held for deletion_hold from now, as after a
  // forward step while running (logged, recorded, reported), so that a
  // wrong step can be corrected before anything is deleted by it; a long
  // stop only costs an hour's delay.
  void HoldIfFarAhead(sys_seconds newest_record);

  // Start-up, with the end of a hold an earlier run recorded (by the
  // system clock): keeps deletions held until the system clock reaches it,
  // but for no longer than deletion_hold from now (a system clock set back
  // since would otherwise stretch it by as much). Not recorded again: the
  // entry that recorded it stays the newest word on it.
  void RestoreHold(sys_seconds hold_until);

  // Receives each ClockStepRecord (and those made before it was set), on
  // the thread that found the step but outside the clock's lock, so it may
  // queue a store write; it must not block on one (the store's writer
  // reads this clock).
  void SetStepRecorder(std::function<void(const ClockStepRecord&)> recorder);

 private:
  using Ns = std::int64_t;  // nanoseconds
  struct Sample {
    Ns system;
    Ns steady;
    Ns Offset() const { return system - steady; }
  };
  Sample Read() const;
  // Classifies a changed offset under mu_ (logs, counts, holds).
  Ns Slow();
  Ns SlowLocked();
  void NotBeforeLocked(std::chrono::system_clock::time_point floor);
  bool HeldLocked(Ns steady);
  // Starts (or extends) a hold to `until` (steady time) under mu_.
  void HoldLocked(Ns until);
  // Hands records made under mu_ to the recorder; call without mu_.
  void Deliver();

  GuardedClockOptions options_;
  Ns max_step_;
  // Hub time = steady time + hub_offset_; it only grows, and is at least
  // the system clock's offset.
  std::atomic<Ns> hub_offset_;
  // The offset the fast path expects (the last one classified).
  std::atomic<Ns> seen_offset_;

  std::mutex mu_;
  Ns classified_offset_;  // guarded by mu_
  ClockSteps steps_;      // guarded by mu_ (deletions_held: see hold_until_)
  Ns hold_until_ = 0;     // steady time; guarded by mu_
  // The highest system clock offset in force while deletions were not
  // held: deletions may already have gone by it, so a step back up to it
  // cannot delete anything new and needs no hold. Guarded by mu_.
  Ns released_offset_;
  std::vector<ClockStepRecord> unsent_;  // guarded by mu_

  std::mutex record_mu_;
  // Guarded by record_mu_: records wait in pending_ until a recorder is set.
  std::function<void(const ClockStepRecord&)> recorder_;
  std::vector<ClockStepRecord> pending_;
};

class Store;
struct KeyUse;

// cairnd's start-up of its clock, before anything reads it for a record,
// from what ReadKeyUse found in the database (unless --clock-from-system):
// NotBefore the newest audit entry's time, HoldIfFarAhead of it, and
// RestoreHold of a hold an earlier run recorded.
void StartHubClock(GuardedClock& clock, const KeyUse& use);

// Records each step `clock` reports (ClockStepRecord) as a hub.clock_step
// audit entry in `store`, queued with the next commit; a failure is
// logged. Call SetStepRecorder(nullptr) on the clock before `store` goes.
void RecordClockSteps(GuardedClock& clock, Store& store);

// CLOCK_BOOTTIME as a steady_clock time point: GuardedClock's default
// steady_now (exposed for its test).
std::chrono::steady_clock::time_point BootClockNow();

// The store's clocks backed by `clock` (SqliteStoreOptions::clock and
// deletion_clock).
Clock HubClock(std::shared_ptr<GuardedClock> clock);
DeletionClock HubDeletionClock(std::shared_ptr<GuardedClock> clock);

}  // namespace cairn::server

#endif  // CAIRN_SERVER_STORE_GUARDED_CLOCK_H_
