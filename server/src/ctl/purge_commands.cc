// cairnctl purge: applies the retention limits offline, with the hub
// stopped (cairnd purges by itself hourly while it runs).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "cairn/timestamp.h"
#include "server/src/ctl/command.h"
#include "server/src/data_dir_lock.h"
#include "server/src/store/guarded_clock.h"
#include "server/src/store/key_use.h"
#include "server/src/store/store.h"
#include "server/src/store_location.h"
#include "server/src/transport/server_config.h"

namespace cairn::server::ctl {
namespace {

struct PurgeSettings {
  std::string data_dir;
  std::string config_path;
  // Explicit limits, in days; they override the configuration's.
  std::optional<int> tombstone_days;
  std::optional<int> match_retention_days;
  std::optional<int> disposition_retention_days;
  std::optional<int> notification_retention_days;
  bool dry_run = false;
  bool json = false;
  bool clock_from_system = false;
};

// The times an offline purge goes by, from the system clock and the newest
// time the database recorded (its newest audit entry), by the running
// hub's rules (guarded_clock.h):
// - its audit entry is dated no earlier than the recorded time, as cairnd
//   starts its clock no earlier than it, so the log's times do not go
//   back;
// - it deletes by the system clock's time, never later than an hour (the
//   hold after a forward step) after the recorded time: cairnctl cannot
//   tell a long stop from a forward step of the clock while it was
//   stopped, and it cannot watch the clock for the hour the running hub
//   holds deletions after one. A wrong later time would delete for good;
//   an earlier one only leaves rows for cairnd's next purge.
// - a deletion hold the audit log records (a hub.clock_step entry whose
//   hold_until the system clock has not reached: cairnd found a step
//   shortly before it stopped) holds this purge too, as it would hold
//   cairnd's after a restart.
// --clock-from-system takes the system clock's time for both, and ignores
// a recorded hold.
struct PurgeTimes {
  sys_seconds entry_time;  // the purge's audit entry
  sys_seconds purge_by;    // the retention cut-offs count back from this
  // Set when the system clock is more than max_step from the recorded
  // time: what the purge did about it, for stderr.
  std::string note;
  // Set while a recorded hold lasts: why nothing may be purged now.
  std::string held;
};

PurgeTimes ChoosePurgeTimes(sys_seconds system,
                            std::optional<sys_seconds> recorded,
                            bool clock_from_system,
                            std::optional<sys_seconds> hold_until = {},
                            std::uint64_t hold_seq = 0) {
  const GuardedClockOptions rules;
  PurgeTimes t{system, system, {}, {}};
  if (!clock_from_system && hold_until && *hold_until > system) {
    t.held = "the audit log records a step of the system clock (entry " +
             std::to_string(hold_seq) +
             ", hub.clock_step) whose deletion hold lasts until " +
             FormatTimestamp(*hold_until) + ", " +
             std::to_string((*hold_until - system).count()) +
             " s from now by the system clock: cairnd holds the expiry "
             "sweep and the purge until then, in case the step is undone. "
             "Check the clock (timedatectl timesync-status or chronyc "
             "tracking) and run the purge again after " +
             FormatTimestamp(*hold_until) +
             ", or now with --clock-from-system if the system clock is "
             "right";
  }
  if (!recorded) return t;
  const auto ahead = system - *recorded;
  const std::string clocks = "the system clock (" + FormatTimestamp(system) +
                             ") is " + std::to_string(std::abs(ahead.count())) +
                             " s " +
                             (ahead.count() > 0 ? "ahead of" : "behind") +
                             " the newest time this hub's database recorded (" +
                             FormatTimestamp(*recorded) + ")";
  if (clock_from_system) {
    if (std::chrono::abs(ahead) > rules.max_step) {
      t.note = clocks + "; --clock-from-system: purging by the system clock";
    }
    return t;
  }
  t.entry_time = std::max(system, *recorded);
  if (ahead > rules.deletion_hold) {
    t.purge_by = *recorded + rules.deletion_hold;
    // Dated by the untrusted clock, the entry would become the newest
    // recorded time, and the next purge would go by that clock uncapped.
    t.entry_time = *recorded;
    t.note = clocks +
             ": cairnd was stopped that long, or the clock was stepped "
             "forward since, which cannot be told apart offline. Purging by " +
             FormatTimestamp(t.purge_by) +
             " (an hour after the recorded time) instead, so that a wrong "
             "clock deletes nothing early, and dating the purge's audit "
             "entry at the recorded time; cairnd purges by its clock once "
             "it runs. If the system clock is right (check timedatectl "
             "timesync-status or chronyc tracking), run again with "
             "--clock-from-system to purge by it now";
  } else if (-ahead > rules.max_step) {
    t.note = clocks +
             ": purging by the system clock's earlier time, as cairnd "
             "would; the purge's audit entry is dated at the recorded time, "
             "so that the log's times do not go back (--clock-from-system "
             "dates it by the system clock, if the recorded time is the "
             "wrong one)";
  }
  return t;
}

// The retention limits to purge with: the hub's configuration, each
// overridden by its flag. Without --config every flag is required: the
// built-in defaults are not the hub's settings, and purging with a shorter
// one than the hub keeps would delete what it is configured to keep (a
// hub keeping tombstones longer for its slower mirrors, say).
Status ApplyLimits(const PurgeSettings& s, StoreConfig& store) {
  const std::pair<const char*, const std::optional<int>*> flags[] = {
      {"--tombstone-days", &s.tombstone_days},
      {"--match-retention-days", &s.match_retention_days},
      {"--disposition-retention-days", &s.disposition_retention_days},
      {"--notification-retention-days", &s.notification_retention_days}};
  if (s.config_path.empty()) {
    std::string missing;
    for (const auto& [flag, value] : flags) {
      if (value->has_value()) continue;
      if (!missing.empty()) missing += ", ";
      missing += flag;
    }
    if (!missing.empty()) {
      return MakeError(
          ErrorCode::kInvalidArgument,
          "no retention limits: pass --config with the hub's cairnd.toml "
          "(its [store] tombstone_days, match_retention_days, "
          "disposition_retention_days and notification_retention_days), or "
          "give every limit explicitly (missing: " +
              missing +
              "); the built-in defaults may be shorter than what the hub is "
              "configured to keep, and purged rows cannot be brought back",
          "--config");
    }
  }
  if (s.tombstone_days) store.tombstone_days = *s.tombstone_days;
  if (s.match_retention_days) {
    store.match_retention_days = *s.match_retention_days;
  }
  if (s.disposition_retention_days) {
    store.disposition_retention_days = *s.disposition_retention_days;
  }
  if (s.notification_retention_days) {
    store.notification_retention_days = *s.notification_retention_days;
  }
  return {};
}

void Print(const PurgeOutcome& o, const StoreConfig& limits,
           sys_seconds purge_by, bool json) {
  const std::pair<const char*, std::uint64_t> rows[] = {
      {"signals", o.signals},
      {"feed_events", o.feed_events},
      {"matches", o.matches},
      {"dispositions", o.dispositions},
      {"notifications", o.notifications},
      {"idempotency_keys", o.idempotency_keys}};
  if (json) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    w.StartObject();
    w.Key("dry_run");
    w.Bool(o.dry_run);
    w.Key("purge_by");
    w.String(FormatTimestamp(purge_by).c_str());
    if (o.held) {
      w.Key("held");
      w.Bool(true);
    }
    for (const auto& [name, n] : rows) {
      w.Key(name);
      w.Uint64(n);
    }
    w.EndObject();
    std::printf("%s\n", buffer.GetString());
    return;
  }
  std::printf(
      "retention (days): tombstones %d, matches %d, dispositions %d, "
      "notifications %d\n",
      limits.tombstone_days, limits.match_retention_days,
      limits.disposition_retention_days, limits.notification_retention_days);
  std::printf("retention counted back from %s\n",
              FormatTimestamp(purge_by).c_str());
  std::printf("%s\n", o.held      ? "held after a clock step, nothing purged:"
                      : o.dry_run ? "would purge (dry run, nothing deleted):"
                                  : "purged:");
  for (const auto& [name, n] : rows) {
    std::printf("  %-17s %llu\n", name, static_cast<unsigned long long>(n));
  }
}

int Purge(const PurgeSettings& s) {
  StoreConfig store;
  if (!s.config_path.empty()) {
    auto config = LoadHubConfig(s.config_path);
    if (!config) return Report(config.error(), kExitUsage);
    store = config->store;
  }
  if (!s.data_dir.empty()) store.data_dir = s.data_dir;
  if (s.data_dir.empty() && s.config_path.empty()) {
    return Report(MakeError(ErrorCode::kInvalidArgument,
                            "no data directory; pass --data DIR or --config "
                            "cairnd.toml",
                            "--data")
                      .value(),
                  kExitUsage);
  }
  if (auto limits = ApplyLimits(s, store); !limits) {
    return Report(limits.error(), kExitUsage);
  }
  const auto db_path = DatabasePath(store.data_dir);
  if (!std::filesystem::exists(db_path)) {
    return Report(MakeError(ErrorCode::kNotFound,
                            "no hub database at " + db_path.string() +
                                "; check --data or --config",
                            s.data_dir.empty() ? "--config" : "--data")
                      .value());
  }
  // The running hub holds this lock: purging under it would change rows its
  // in-memory state still describes.
  auto lock = DataDirLock::Acquire(store.data_dir, "cairnctl purge");
  if (!lock) {
    Error e = lock.error();
    e.message +=
        "; stop cairnd first (it purges by itself hourly while it "
        "runs)";
    return Report(e);
  }
  // Read under the lock: no hub writes a newer entry meanwhile.
  auto use = ReadKeyUse(db_path, /*voprf_signals=*/false);
  if (!use) return Report(use.error());
  const PurgeTimes times =
      ChoosePurgeTimes(std::chrono::floor<std::chrono::seconds>(
                           std::chrono::system_clock::now()),
                       use->newest_audit_at, s.clock_from_system,
                       use->recorded_hold_until, use->recorded_hold_seq);
  // As cairnd's held purge: nothing deleted, and not a failure (a stop,
  // purge and start script must not leave the hub stopped).
  if (!times.held.empty()) {
    std::fprintf(stderr, "cairnctl purge: %s; nothing purged\n",
                 times.held.c_str());
    PurgeOutcome none;
    none.dry_run = s.dry_run;
    none.held = true;
    Print(none, store, times.purge_by, s.json);
    return kExitOk;
  }
  if (!times.note.empty()) {
    std::fprintf(stderr, "cairnctl purge: %s\n", times.note.c_str());
  }
  SqliteStoreOptions options;
  options.db_path = db_path;
  options.create_if_missing = false;
  options.clock = [t = times.entry_time] { return t; };
  options.deletion_clock = [t = times.purge_by] {
    return std::optional<sys_seconds>(t);
  };
  options.tombstone_period = std::chrono::days(store.tombstone_days);
  options.match_retention = std::chrono::days(store.match_retention_days);
  options.disposition_retention =
      std::chrono::days(store.disposition_retention_days);
  options.notification_retention =
      std::chrono::days(store.notification_retention_days);
  auto opened = OpenSqliteStore(options);
  if (!opened) return Report(opened.error());
  PurgeCommand command;
  command.context.actor = "cairnctl";
  command.dry_run = s.dry_run;
  auto outcome = (*opened)->PurgeAndWait(command);
  if (!outcome) return Report(outcome.error());
  Print(*outcome, store, times.purge_by, s.json);
  return kExitOk;
}

}  // namespace

void AddPurgeCommands(CLI::App& app, int* exit_code) {
  auto s = std::make_shared<PurgeSettings>();
  auto* purge = app.add_subcommand(
      "purge",
      "Delete what has outlived the retention limits (offline: stop cairnd "
      "first)");
  purge->add_option("--data", s->data_dir, "Hub data directory");
  purge->add_option("--config", s->config_path,
                    "The hub's cairnd.toml, to take the retention limits "
                    "(and data directory) from; without it, give every "
                    "limit below");
  purge
      ->add_option("--tombstone-days", s->tombstone_days,
                   "Retracted and expired signals go this long after they "
                   "left the active set (overrides [store] tombstone_days)")
      ->check(CLI::Range(0, 36500));
  purge
      ->add_option("--match-retention-days", s->match_retention_days,
                   "Matches go this long after they were made (overrides "
                   "[store] match_retention_days)")
      ->check(CLI::Range(1, 36500));
  purge
      ->add_option("--disposition-retention-days",
                   s->disposition_retention_days,
                   "Dispositions go this long after they were recorded "
                   "(overrides [store] disposition_retention_days)")
      ->check(CLI::Range(1, 36500));
  purge
      ->add_option("--notification-retention-days",
                   s->notification_retention_days,
                   "Notifications go this long after they were emitted "
                   "(overrides [store] notification_retention_days)")
      ->check(CLI::Range(1, 36500));
  purge->add_flag("--dry-run", s->dry_run,
                  "Only count what would be deleted; change nothing");
  purge->add_flag("--json", s->json, "Print the counts as JSON");
  purge->add_flag("--clock-from-system", s->clock_from_system,
                  "Purge by the system clock's time even when it is more "
                  "than an hour after the newest time the database recorded "
                  "(operator guide, \"Retention and purge\")");
  purge->callback([s, exit_code] { *exit_code = Purge(*s); });
}

}  // namespace cairn::server::ctl
