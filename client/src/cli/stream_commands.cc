#include "src/cli/stream_commands.h"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <thread>

#include "cairn/encoding.h"
#include "cairn/json_object.h"
#include "cairn/timestamp.h"
#include "cairn/vocabulary.h"
#include "src/cli/command_support.h"

namespace cairn::cli {
namespace {

volatile std::sig_atomic_t g_stop = 0;

// Where to go on after a failed page: the same cursor, unless the hub
// purged what follows it, when resuming there can only fail again.
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
  std::fprintf(stderr, "cairn: resume with --after %s\n", cursor.c_str());
}

}  // namespace

int RunFeed(const Client& client, const PageCommand& command, bool json) {
  if (!json) {
    std::printf("%-8s %-9s %-7s %-64s %-15s %-8s %-20s %s\n", "SEQ", "TYPE",
                "KIND", "TOKEN", "CATEGORY", "SEVERITY", "BANNED_AT",
                "EXPIRES_AT");
  }
  std::signal(SIGINT, [](int) { g_stop = 1; });
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  std::string cursor = command.after;
  while (!g_stop) {
    auto page = client.FeedPage(cursor, command.limit);
    if (!page) {
      PrintResumeHint(page.error(), cursor, "feed");
      return Fail(page.error(), CallExit(page.error()));
    }
    for (const auto& e : page->events) {
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
                    std::string(ToString(e.type)).c_str(), e.key.kind.c_str(),
                    HexEncode(e.key.token).c_str(),
                    std::string(ToString(e.category)).c_str(),
                    std::string(ToString(e.severity)).c_str(),
                    FormatTimestamp(e.banned_at).c_str(),
                    FormatTimestamp(e.expires_at).c_str());
      }
    }
    std::fflush(stdout);
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

int RunNotifications(const Client& client, const PageCommand& command,
                     bool json) {
  if (!json) {
    std::printf("%-8s %-34s %-9s %-14s %-9s %s\n", "SEQ", "MATCH", "TYPE",
                "REASON", "SUPPORTED", "AT");
  }
  auto range = client.Notifications(command.after, command.limit);
  for (auto& n : range) {
    if (!n) {
      PrintResumeHint(n.error(), range.cursor(), "notifications");
      return Fail(n.error(), CallExit(n.error()));
    }
    const std::string reason =
        n->reason ? std::string(ToString(*n->reason)) : std::string("-");
    if (json) {
      std::printf("%s\n", JsonObjectWriter()
                              .Add("seq", n->seq)
                              .Add("match_id", n->match_id)
                              .Add("type", std::string(ToString(n->type)))
                              .Add("reason", reason)
                              .Add("still_supported", n->still_supported)
                              .Add("at", FormatTimestamp(n->at))
                              .Finish()
                              .c_str());
    } else {
      std::printf("%-8llu %-34s %-9s %-14s %-9s %s\n",
                  static_cast<unsigned long long>(n->seq), n->match_id.c_str(),
                  std::string(ToString(n->type)).c_str(), reason.c_str(),
                  n->still_supported ? "yes" : "no",
                  FormatTimestamp(n->at).c_str());
    }
  }
  std::fprintf(stderr, "cairn: cursor %s (resume with --after %s)\n",
               range.cursor().c_str(), range.cursor().c_str());
  return 0;
}

}  // namespace cairn::cli
