#include "cairn/wire/feed.h"

#include <charconv>

#include "json.h"

namespace cairn::wire {
namespace {

namespace od = internal::od;
using internal::Bits;
using internal::Mode;
using internal::Path;

constexpr std::array<std::string_view, 3> kFeedRoot = {"events", "cursor",
                                                       "more"};
constexpr std::array<std::string_view, 3> kNotificationsRoot = {
    "notifications", "cursor", "more"};
// The first four are TokenKeyField in order.
constexpr std::array<std::string_view, 12> kEventKeys = {
    "kind",     "token",    "scheme",    "epoch",      "seq", "type",
    "category", "severity", "banned_at", "expires_at", "at",  "signal_id"};
constexpr std::array<std::string_view, 6> kNotificationKeys = {
    "seq", "match_id", "type", "reason", "at", "still_supported"};

Status DecodeEvent(od::value& value, Path& path, FeedEvent& e) {
  auto object = internal::GetObject(value, path);
  if (!object) return tl::unexpected<Error>(std::move(object.error()));
  auto seen = internal::WalkObject(
      *object, kEventKeys, Mode::kLenient, path,
      [&](std::size_t key, od::value& v) -> Status {
        if (key <= internal::kEpoch) {
          return internal::DecodeTokenKeyField(key, v, path, e.key);
        }
        switch (key) {
          case 4: {
            auto n = internal::GetUint(v, path, UINT64_MAX);
            if (!n) return tl::unexpected<Error>(std::move(n.error()));
            e.seq = *n;
            return {};
          }
          case 5: {
            auto t = internal::GetFeedEventType(v, path);
            if (!t) return tl::unexpected<Error>(std::move(t.error()));
            e.type = *t;
            return {};
          }
          case 6: {
            auto c = internal::GetCategory(v, path);
            if (!c) return tl::unexpected<Error>(std::move(c.error()));
            e.category = *c;
            return {};
          }
          case 7: {
            auto s = internal::GetSeverity(v, path);
            if (!s) return tl::unexpected<Error>(std::move(s.error()));
            e.severity = *s;
            return {};
          }
          case 11: {
            auto id = internal::GetShaped(v, path, &IsWellFormedSignalId,
                                          "\"s_\" and 32 lowercase hex");
            if (!id) return tl::unexpected<Error>(std::move(id.error()));
            e.signal_id = std::string(*id);
            return {};
          }
          default: {
            auto t = internal::GetTimestamp(v, path);
            if (!t) return tl::unexpected<Error>(std::move(t.error()));
            (key == 8 ? e.banned_at : key == 9 ? e.expires_at : e.at) = *t;
            return {};
          }
        }
      });
  if (!seen) return tl::unexpected<Error>(std::move(seen.error()));
  return internal::RequireFields(
      *seen, Bits(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), kEventKeys, path);
}

Status DecodeNotification(od::value& value, Path& path, Notification& n) {
  auto object = internal::GetObject(value, path);
  if (!object) return tl::unexpected<Error>(std::move(object.error()));
  auto seen = internal::WalkObject(
      *object, kNotificationKeys, Mode::kLenient, path,
      [&](std::size_t key, od::value& v) -> Status {
        switch (key) {
          case 0: {
            auto seq = internal::GetUint(v, path, UINT64_MAX);
            if (!seq) return tl::unexpected<Error>(std::move(seq.error()));
            n.seq = *seq;
            return {};
          }
          case 1: {
            auto id = internal::GetShaped(v, path, &IsWellFormedMatchId,
                                          "\"m_\" and 32 lowercase hex");
            if (!id) return tl::unexpected<Error>(std::move(id.error()));
            n.match_id = std::string(*id);
            return {};
          }
          case 2: {
            auto t = internal::GetFeedEventType(v, path);
            if (!t) return tl::unexpected<Error>(std::move(t.error()));
            if (*t == FeedEventType::kAdded) {
              return internal::Fail(path,
                                    "expected \"retracted\" or \"expired\"");
            }
            n.type = *t;
            return {};
          }
          case 3: {
            auto r = internal::GetRetractReason(v, path);
            if (!r) return tl::unexpected<Error>(std::move(r.error()));
            n.reason = *r;
            return {};
          }
          case 4: {
            auto t = internal::GetTimestamp(v, path);
            if (!t) return tl::unexpected<Error>(std::move(t.error()));
            n.at = *t;
            return {};
          }
          default: {
            auto b = internal::GetBool(v, path);
            if (!b) return tl::unexpected<Error>(std::move(b.error()));
            n.still_supported = *b;
            return {};
          }
        }
      });
  if (!seen) return tl::unexpected<Error>(std::move(seen.error()));
  return internal::RequireFields(*seen, Bits(0, 1, 2, 4, 5), kNotificationKeys,
                                 path);
}

}  // namespace

Result<PageRequest> ParsePageRequest(std::string_view query) {
  PageRequest page;
  bool have_after = false, have_limit = false;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{}
                                          : query.substr(amp + 1);
    if (pair.empty()) continue;
    const std::size_t eq = pair.find('=');
    const std::string_view name = pair.substr(0, eq);
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    auto fail = [&](std::string message) {
      return MakeError(ErrorCode::kInvalidArgument, std::move(message),
                       std::string(name));
    };
    if (name == "after") {
      if (have_after) return fail("parameter given twice; give it once");
      have_after = true;
      if (!IsWellFormedCursor(value)) {
        return fail(
            "expected the cursor returned by the previous page (1..64 "
            "characters [A-Za-z0-9._~-]); omit it to start at the beginning");
      }
      page.after = std::string(value);
    } else if (name == "limit") {
      if (have_limit) return fail("parameter given twice; give it once");
      have_limit = true;
      std::uint32_t limit = 0;
      auto [end, ec] =
          std::from_chars(value.data(), value.data() + value.size(), limit);
      if (ec != std::errc{} || end != value.data() + value.size() ||
          value.empty() || limit < 1 || limit > kMaxPageLimit) {
        return fail("expected a whole number from 1 to " +
                    std::to_string(kMaxPageLimit));
      }
      page.limit = limit;
    } else {
      return fail("unknown query parameter; use \"after\" and \"limit\"");
    }
  }
  return page;
}

std::string EncodePageRequest(const PageRequest& page) {
  std::string out;
  if (!page.after.empty()) {
    out += "after=";
    out += page.after;
    out += '&';
  }
  out += "limit=";
  out += std::to_string(page.limit);
  return out;
}

std::string Encode(const FeedResponse& body) {
  rapidjson::StringBuffer buffer;
  internal::Writer w(buffer);
  w.StartObject();
  internal::WriteKey(w, "events");
  w.StartArray();
  for (const auto& e : body.events) {
    w.StartObject();
    internal::WriteKey(w, "seq");
    w.Uint64(e.seq);
    internal::WriteKey(w, "type");
    internal::WriteString(w, ToString(e.type));
    internal::WriteKey(w, "signal_id");
    internal::WriteString(w, e.signal_id);
    internal::WriteTokenKey(w, e.key, true);
    internal::WriteKey(w, "category");
    internal::WriteString(w, ToString(e.category));
    internal::WriteKey(w, "severity");
    internal::WriteString(w, ToString(e.severity));
    internal::WriteKey(w, "banned_at");
    internal::WriteTimestamp(w, e.banned_at);
    internal::WriteKey(w, "expires_at");
    internal::WriteTimestamp(w, e.expires_at);
    internal::WriteKey(w, "at");
    internal::WriteTimestamp(w, e.at);
    w.EndObject();
  }
  internal::WritePageTail(w, body.cursor, body.more);
  return internal::Take(buffer);
}

Result<FeedResponse> DecodeFeedResponse(std::string_view json) {
  return internal::DecodePage<FeedResponse, FeedEvent>(
      json, kFeedRoot, &FeedResponse::events, &DecodeEvent);
}

std::string Encode(const NotificationsResponse& body) {
  rapidjson::StringBuffer buffer;
  internal::Writer w(buffer);
  w.StartObject();
  internal::WriteKey(w, "notifications");
  w.StartArray();
  for (const auto& n : body.notifications) {
    w.StartObject();
    internal::WriteKey(w, "seq");
    w.Uint64(n.seq);
    internal::WriteKey(w, "match_id");
    internal::WriteString(w, n.match_id);
    internal::WriteKey(w, "type");
    internal::WriteString(w, ToString(n.type));
    if (n.reason) {
      internal::WriteKey(w, "reason");
      internal::WriteString(w, ToString(*n.reason));
    }
    internal::WriteKey(w, "at");
    internal::WriteTimestamp(w, n.at);
    internal::WriteKey(w, "still_supported");
    w.Bool(n.still_supported);
    w.EndObject();
  }
  internal::WritePageTail(w, body.cursor, body.more);
  return internal::Take(buffer);
}

Result<NotificationsResponse> DecodeNotificationsResponse(
    std::string_view json) {
  return internal::DecodePage<NotificationsResponse, Notification>(
      json, kNotificationsRoot, &NotificationsResponse::notifications,
      &DecodeNotification);
}

}  // namespace cairn::wire
