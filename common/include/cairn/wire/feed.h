// GET /v1/feed and GET /v1/notifications: cursor-paged change streams.
#ifndef CAIRN_WIRE_FEED_H_
#define CAIRN_WIRE_FEED_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/wire/types.h"

namespace cairn::wire {

// The query string of a paged GET: "after=CURSOR&limit=N", both optional.
struct PageRequest {
  std::string after;                        // empty: from the beginning
  std::uint32_t limit = kDefaultPageLimit;  // 1..kMaxPageLimit

  bool operator==(const PageRequest&) const = default;
};

// Parses a URL query string (without the '?'). Unknown parameters, repeated
// parameters, malformed cursors and limits outside 1..kMaxPageLimit are
// kInvalidArgument with Error::field = the parameter name.
Result<PageRequest> ParsePageRequest(std::string_view query_string);
// "after=...&limit=..." (after omitted when empty).
std::string EncodePageRequest(const PageRequest& page);

struct FeedEvent {
  std::uint64_t seq = 0;
  FeedEventType type = FeedEventType::kAdded;
  // Stable per signal, reveals nothing about the submitter. A mirror keys
  // its copy on it: "added" upserts (an update re-emits "added"),
  // "retracted"/"expired" erase; two members' signals on one token differ.
  std::string signal_id;
  TokenKey key;  // "kind", "token", "scheme", "epoch" (always present)
  Category category = Category::kOther;
  Severity severity = Severity::kMedium;
  Timestamp banned_at{};
  Timestamp expires_at{};
  Timestamp at{};  // when the event happened

  bool operator==(const FeedEvent&) const = default;
};

struct FeedResponse {
  std::vector<FeedEvent> events;
  std::string cursor;  // pass as ?after= for the next page
  bool more = false;   // true if another page is ready now

  bool operator==(const FeedResponse&) const = default;
};

// A match of this member whose support changed and needs re-review.
struct Notification {
  std::uint64_t seq = 0;
  std::string match_id;
  FeedEventType type = FeedEventType::kRetracted;  // kRetracted or kExpired
  std::optional<RetractReason> reason;             // for kRetracted
  Timestamp at{};
  bool still_supported = false;  // other signals still back the match

  bool operator==(const Notification&) const = default;
};

struct NotificationsResponse {
  std::vector<Notification> notifications;
  std::string cursor;
  bool more = false;

  bool operator==(const NotificationsResponse&) const = default;
};

std::string Encode(const FeedResponse& body);
Result<FeedResponse> DecodeFeedResponse(std::string_view json);
std::string Encode(const NotificationsResponse& body);
Result<NotificationsResponse> DecodeNotificationsResponse(
    std::string_view json);

}  // namespace cairn::wire

#endif  // CAIRN_WIRE_FEED_H_
