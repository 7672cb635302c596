#include "src/cli/stream_commands.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <thread>

#include <fmt/format.h>

#include "cairn/encoding.h"
#include "cairn/json_object.h"
#include "cairn/timestamp.h"
#include "cairn/vocabulary.h"
#include "src/cli/command_support.h"

namespace cairn::cli {
namespace {

volatile std::sig_atomic_t g_stop = 0;

// What a second interrupt writes before cairn dies: where to resume. Kept
// by the main thread (length 0 while it rewrites the text), read by the
// signal handler, which may run on any thread.
std::array<char, 512> g_resume_line{};
std::atomic<std::size_t> g_resume_length{0};
static_assert(std::atomic<std::size_t>::is_always_lock_free);

void SetResumeLine(const std::string& line) {
  g_resume_length.store(0, std::memory_order_release);
  const std::size_t n = std::min(line.size(), g_resume_line.size());
  std::memcpy(g_resume_line.data(), line.data(), n);
  g_resume_length.store(n, std::memory_order_release);
}

// The first SIGINT or SIGTERM stops after the request in flight (which
// may wait up to request_timeout for a hub that does not answer); a second
// one ends cairn at once, after saying where to resume. Only
// async-signal-safe calls here.
extern "C" void OnStopSignal(int signal) {
  if (g_stop != 0) {
    const std::size_t n = g_resume_length.load(std::memory_order_acquire);
    if (n > 0) (void)!write(STDERR_FILENO, g_resume_line.data(), n);
    std::signal(signal, SIG_DFL);
    std::raise(signal);
    return;
  }
  g_stop = 1;
  static constexpr char kNote[] =
      "cairn: stopping once the request in flight is answered; interrupt "
      "again to quit at once\n";
  (void)!write(STDERR_FILENO, kNote, sizeof kNote - 1);
}

// How to go on from `cursor` ("" = the start of the stream).
std::string ResumeFrom(const std::string& cursor, const char* command) {
  return cursor.empty()
             ? fmt::format("run 'cairn {}' again without --after", command)
             : fmt::format("resume with --after {}", cursor);
}

// Where to go on after a failed page: the same cursor, unless the hub
// refused it (purged what follows it, or does not know it), when resuming
// there can only fail again.
void PrintResumeHint(const Error& error, const std::string& cursor,
                     const char* command) {
  if (error.code == ErrorCode::kCursorExpired) {
    std::fprintf(stderr,
                 "cairn: cursor %s has expired: the hub purged events after "
                 "it. Rebuild from the start: clear what you built from "
                 "this stream, then run 'cairn %s' without --after\n",
                 cursor.c_str(), command);
    return;
  }
  if (error.code == ErrorCode::kInvalidArgument && error.field == "after") {
    // A cursor past the end of the stream (the hub's data was restored
    // from an older backup, or the cursor is another hub's) or no cursor
    // at all: the hub will refuse it every time.
    std::fprintf(stderr,
                 "cairn: the hub refused the cursor, and will refuse it again. "
                 "Rebuild from the start: clear what you built from this "
                 "stream, then run 'cairn %s' without --after\n",
                 command);
    return;
  }
  std::fprintf(stderr, "cairn: %s\n", ResumeFrom(cursor, command).c_str());
}

// Prints pages from `command.after` on: `fetch(cursor)` gets the page after
// `cursor` (a Result of a response with `cursor` and `more`), `print(page)`
// prints its items. The cursor only moves past a page once its output has
// been written, so a failed write names the cursor to resume from without
// losing events.
template <typename Fetch, typename Print>
int PrintPages(const PageCommand& command, const char* name,
               std::string_view if_unknown, Fetch fetch, Print print) {
  std::string cursor = command.after;
  while (!g_stop) {
    SetResumeLine("cairn: interrupted; " + ResumeFrom(cursor, name) + "\n");
    auto page = fetch(cursor);
    if (!page) {
      // What was printed before is written out first (or reported).
      if (auto written = FlushOutput(); !written) {
        return FailOutput(written.error(), "; " + ResumeFrom(cursor, name));
      }
      const int code = FailCall(page.error(), if_unknown);
      PrintResumeHint(page.error(), cursor, name);
      return code;
    }
    print(*page);
    if (auto written = FlushOutput(); !written) {
      return FailOutput(
          written.error(),
          cursor.empty()
              ? "; no page was written in full: " + ResumeFrom(cursor, name)
              : fmt::format("; the events after cursor {} were not all "
                            "written: {}",
                            cursor, ResumeFrom(cursor, name)));
    }
    cursor = page->cursor;
    if (page->more) continue;
    if (!command.follow) break;
    const auto until = std::chrono::steady_clock::now() +
                       std::chrono::duration<double>(command.interval_seconds);
    while (!g_stop && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  std::fprintf(stderr, "cairn: cursor %s (resume with --after %s)\n",
               cursor.c_str(), cursor.c_str());
  return 0;
}

}  // namespace

int RunFeed(const Client& client, const PageCommand& command, bool json) {
  if (!json) {
    std::printf("%-8s %-9s %-7s %-64s %-15s %-8s %-20s %s\n", "SEQ", "TYPE",
                "KIND", "TOKEN", "CATEGORY", "SEVERITY", "BANNED_AT",
                "EXPIRES_AT");
  }
  std::signal(SIGINT, OnStopSignal);
  std::signal(SIGTERM, OnStopSignal);
  return PrintPages(
      command, "feed", kRepeatReadOnly,
      [&](const std::string& cursor) {
        return client.FeedPage(cursor, command.limit);
      },
      [&](const wire::FeedResponse& page) {
        for (const auto& e : page.events) {
          if (json) {
            std::printf("%s\n",
                        JsonObjectWriter()
                            .Add("seq", e.seq)
                            .Add("type", std::string(ToString(e.type)))
                            .Add("signal_id", e.signal_id)
                            .Add("kind", e.key.kind)
                            .Add("token", HexEncode(e.key.token))
                            .Add("category", std::string(ToString(e.category)))
                            .Add("severity", std::string(ToString(e.severity)))
                            .Add("banned_at", FormatTimestamp(e.banned_at))
                            .Add("expires_at", FormatTimestamp(e.expires_at))
                            .Add("at", FormatTimestamp(e.at))
                            .Finish()
                            .c_str());
          } else {
            std::printf("%-8llu %-9s %-7s %-64s %-15s %-8s %-20s %s\n",
                        static_cast<unsigned long long>(e.seq),
                        std::string(ToString(e.type)).c_str(),
                        e.key.kind.c_str(), HexEncode(e.key.token).c_str(),
                        std::string(ToString(e.category)).c_str(),
                        std::string(ToString(e.severity)).c_str(),
                        FormatTimestamp(e.banned_at).c_str(),
                        FormatTimestamp(e.expires_at).c_str());
          }
        }
      });
}

int RunNotifications(const Client& client, const PageCommand& command,
                     bool json) {
  if (!json) {
    std::printf("%-8s %-34s %-9s %-14s %-9s %s\n", "SEQ", "MATCH", "TYPE",
                "REASON", "SUPPORTED", "AT");
  }
  PageCommand once = command;
  once.follow = false;
  return PrintPages(
      once, "notifications", kRepeatReadOnly,
      [&](const std::string& cursor) {
        return client.NotificationsPage(cursor, command.limit);
      },
      [&](const wire::NotificationsResponse& page) {
        for (const auto& n : page.notifications) {
          const std::string reason =
              n.reason ? std::string(ToString(*n.reason)) : std::string("-");
          if (json) {
            std::printf("%s\n", JsonObjectWriter()
                                    .Add("seq", n.seq)
                                    .Add("match_id", n.match_id)
                                    .Add("type", std::string(ToString(n.type)))
                                    .Add("reason", reason)
                                    .Add("still_supported", n.still_supported)
                                    .Add("at", FormatTimestamp(n.at))
                                    .Finish()
                                    .c_str());
          } else {
            std::printf("%-8llu %-34s %-9s %-14s %-9s %s\n",
                        static_cast<unsigned long long>(n.seq),
                        n.match_id.c_str(),
                        std::string(ToString(n.type)).c_str(), reason.c_str(),
                        n.still_supported ? "yes" : "no",
                        FormatTimestamp(n.at).c_str());
          }
        }
      });
}

}  // namespace cairn::cli
