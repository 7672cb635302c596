#include "cairn/testing/fake_hub.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string_view>
#include <vector>

#include "cairn/encoding.h"
#include "cairn/vocabulary.h"
#include "cairn/wire.h"

namespace cairn::testing {
namespace {

std::string Id(char prefix, std::uint64_t n) {
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%c_%032llx", prefix,
                static_cast<unsigned long long>(n));
  return buffer;
}

wire::Timestamp Now() {
  return std::chrono::floor<std::chrono::seconds>(
      std::chrono::system_clock::now());
}

HttpReply ErrorReply(ErrorCode code, std::string message,
                     std::string field = {}) {
  Error error{code, std::move(message), std::move(field), std::nullopt};
  return HttpReply{HttpStatusFor(code), wire::EncodeErrorBody(error), {}};
}

HttpReply ErrorReply(const Error& error) {
  return HttpReply{HttpStatusFor(error.code), wire::EncodeErrorBody(error), {}};
}

// The code the hub sends with an error reply of `status` (500: kInternal,
// 503: kUnavailable), or nullopt for a status it never sends (502, 504,
// 501...: only a proxy in front of it does).
std::optional<ErrorCode> HubCodeFor(int status) {
  for (ErrorCode code :
       {ErrorCode::kInvalidArgument, ErrorCode::kUnauthenticated,
        ErrorCode::kPermissionDenied, ErrorCode::kNotFound,
        ErrorCode::kMethodNotAllowed, ErrorCode::kConflict,
        ErrorCode::kPayloadTooLarge, ErrorCode::kUnsupportedMedia,
        ErrorCode::kHeadersTooLarge, ErrorCode::kRateLimited,
        ErrorCode::kUnavailable, ErrorCode::kInternal,
        ErrorCode::kCursorExpired}) {
    if (HttpStatusFor(code) == status) return code;
  }
  return std::nullopt;
}

// cairnd's defaults: how far banned_at may lie in the future
// ([store] max_clock_skew), the retention of a signal sent without
// expires_at (default_retention_days) and the cap of expires_at
// (max_retention_days).
constexpr std::chrono::seconds kMaxClockSkew{std::chrono::minutes(5)};
constexpr std::chrono::seconds kDefaultRetention{std::chrono::days(365)};
constexpr std::chrono::seconds kMaxRetention{std::chrono::days(730)};

// The hub's per-item error for a key whose kind it does not hold
// (server/src/store/index_keys.cc, ResolveTokenKey).
std::string UnregisteredKind(const std::string& kind) {
  return "kind '" + kind +
         "' is not registered on this hub; use a built-in kind or ask the "
         "operator to register it";
}

}  // namespace

struct FakeHub::State {
  struct Signal {
    std::string member;
    std::string signal_id;
    wire::SignalItem item;  // item.expires_at: always set, the actual expiry
    bool active = true;
  };
  struct MatchRecord {
    std::string member;                // who queried
    std::set<std::string> signal_ids;  // the signals that made the match
  };

  mutable std::mutex mutex;
  std::uint64_t next_id = 1;
  std::set<std::string> kinds{kBuiltinKinds.begin(), kBuiltinKinds.end()};
  std::vector<Signal> signals;
  std::map<std::string, MatchRecord> matches;                 // by match_id
  std::vector<std::pair<std::string, wire::FeedEvent>> feed;  // (member, e)
  std::map<std::string, std::vector<wire::Notification>> notifications;
  std::uint64_t next_seq = 1;
  int fail_status = 0;
  int fail_count = 0;

  // Active and not expired at `now`.
  static bool Live(const Signal& s, wire::Timestamp now) {
    return s.active && *s.item.expires_at > now;
  }

  // The member's own signal on this key and category, as the hub keys
  // signals (kind, scheme, epoch, token and category).
  Signal* Find(const std::string& member, const wire::TokenKey& key,
               Category category) {
    for (auto& s : signals) {
      if (s.active && s.member == member && s.item.key == key &&
          s.item.category == category) {
        return &s;
      }
    }
    return nullptr;
  }

  void Emit(FeedEventType type, const Signal& s) {
    wire::FeedEvent e;
    e.seq = next_seq++;
    e.type = type;
    e.signal_id = s.signal_id;
    e.key = s.item.key;
    e.category = s.item.category;
    e.severity = s.item.severity;
    e.banned_at = s.item.banned_at;
    e.expires_at = *s.item.expires_at;
    e.at = Now();
    feed.emplace_back(s.member, e);
  }

  HttpReply Me(const std::string& member) {
    wire::MeResponse me;
    me.member_id = member;
    me.name = member;
    me.roles = {Role::kMember};
    me.fingerprint = std::string(64, '0');
    me.token_schemes = {TokenScheme::kHmacV1};
    return HttpReply{200, wire::Encode(me), {}};
  }

  HttpReply Submit(const std::string& member, const std::string& body) {
    auto request = wire::DecodeSubmitSignalsRequest(body);
    if (!request) return ErrorReply(request.error());
    wire::SubmitSignalsResponse response;
    response.request_id = Id('r', next_id++);
    const wire::Timestamp now = Now();
    for (std::size_t i = 0; i < request->signals.size(); ++i) {
      wire::SubmitResult result =
          SubmitItem(member, request->signals[i], i, now);
      response.results.push_back(std::move(result));
    }
    return HttpReply{200, wire::Encode(response), {}};
  }

  // The hub's checks and outcomes for one item, in its order and with its
  // messages (server/src/store/signal_writes.cc, SubmitItem).
  wire::SubmitResult SubmitItem(const std::string& member,
                                const wire::SignalItem& item, std::size_t i,
                                wire::Timestamp now) {
    wire::SubmitResult result;
    result.index = i;
    auto fail = [&](std::string message, const char* field) {
      result.status = wire::SubmitStatus::kError;
      result.error =
          wire::ItemError{ErrorCode::kInvalidArgument, std::move(message),
                          "signals[" + std::to_string(i) + "]." + field};
      return result;
    };
    if (!kinds.contains(item.key.kind)) {
      return fail(UnregisteredKind(item.key.kind), "kind");
    }
    if (item.banned_at > now + kMaxClockSkew) {
      return fail(
          "banned_at lies in the future; send the time the account "
          "was banned (check the clock of the submitting system)",
          "banned_at");
    }
    std::optional<wire::Timestamp> requested;
    if (item.expires_at) {
      requested = std::min(*item.expires_at, now + kMaxRetention);
      if (*requested <= now) {
        return fail(
            "expires_at is not in the future; omit it to use the "
            "hub's default retention",
            "expires_at");
      }
      if (*requested < item.banned_at) {
        return fail(
            "expires_at is before banned_at; a signal must expire "
            "after the ban it records",
            "expires_at");
      }
    }
    const wire::Timestamp new_expiry =
        requested.value_or(now + kDefaultRetention);
    Signal* existing = Find(member, item.key, item.category);
    if (existing && *existing->item.expires_at <= now) {
      // Lapsed: expired as the hub's sweep would, and the resend is a new
      // signal.
      if (new_expiry < item.banned_at) {
        return fail(
            "the hub's default retention ends before banned_at; send "
            "an expires_at after banned_at",
            "banned_at");
      }
      existing->active = false;
      Emit(FeedEventType::kExpired, *existing);
      Notify({existing->signal_id}, FeedEventType::kExpired, std::nullopt);
      existing = nullptr;
    }
    if (existing) {
      wire::SignalItem updated = item;
      // Without expires_at a resend keeps the current expiry; without a ref
      // it keeps the current ref.
      updated.expires_at = requested.value_or(*existing->item.expires_at);
      if (*updated.expires_at < item.banned_at) {
        return fail(
            "the signal's current expiry is before this banned_at; send an "
            "expires_at after banned_at",
            "expires_at");
      }
      if (!updated.ref) updated.ref = existing->item.ref;
      result.signal_id = existing->signal_id;
      if (existing->item == updated) {
        result.status = wire::SubmitStatus::kDuplicate;
        return result;
      }
      existing->item = std::move(updated);
      result.status = wire::SubmitStatus::kUpdated;
      Emit(FeedEventType::kAdded, *existing);
      return result;
    }
    if (new_expiry < item.banned_at) {
      return fail(
          "the hub's default retention ends before banned_at; send "
          "an expires_at after banned_at",
          "banned_at");
    }
    wire::SignalItem stored = item;
    stored.expires_at = new_expiry;
    signals.push_back(
        Signal{member, Id('s', next_id++), std::move(stored), true});
    result.status = wire::SubmitStatus::kCreated;
    result.signal_id = signals.back().signal_id;
    Emit(FeedEventType::kAdded, signals.back());
    return result;
  }

  HttpReply Retract(const std::string& member, const std::string& body) {
    auto request = wire::DecodeRetractRequest(body);
    if (!request) return ErrorReply(request.error());
    wire::RetractResponse response;
    response.request_id = Id('r', next_id++);
    // Like the hub, one notification per match after all items are applied
    // (grouped by reason), so still_supported is the final state.
    std::map<std::optional<RetractReason>, std::vector<std::string>> departed;
    for (std::size_t i = 0; i < request->retractions.size(); ++i) {
      const auto& item = request->retractions[i];
      wire::RetractResult result;
      result.index = i;
      if (item.key && !kinds.contains(item.key->kind)) {
        result.status = wire::RetractStatus::kError;
        result.error = wire::ItemError{
            ErrorCode::kInvalidArgument, UnregisteredKind(item.key->kind),
            "retractions[" + std::to_string(i) + "].kind"};
        response.results.push_back(std::move(result));
        continue;
      }
      result.status = wire::RetractStatus::kNotFound;
      for (auto& s : signals) {
        if (!s.active || s.member != member) continue;
        // By key: the member's signals on it in every category.
        const bool hit = item.key ? s.item.key == *item.key
                                  : (item.ref && s.item.ref == item.ref);
        if (!hit) continue;
        s.active = false;
        result.status = wire::RetractStatus::kRetracted;
        result.signal_ids.push_back(s.signal_id);
        Emit(FeedEventType::kRetracted, s);
        departed[item.reason].push_back(s.signal_id);
      }
      response.results.push_back(std::move(result));
    }
    for (const auto& [reason, ids] : departed) {
      Notify({ids.begin(), ids.end()}, FeedEventType::kRetracted, reason);
    }
    return HttpReply{200, wire::Encode(response), {}};
  }

  // One notification per match that any of `departed` supported.
  void Notify(const std::set<std::string>& departed, FeedEventType type,
              std::optional<RetractReason> reason) {
    const wire::Timestamp now = Now();
    for (const auto& [match_id, record] : matches) {
      const Signal* gone = nullptr;
      for (const auto& s : signals) {
        if (departed.contains(s.signal_id) &&
            record.signal_ids.contains(s.signal_id)) {
          gone = &s;
          break;
        }
      }
      if (gone == nullptr) continue;
      // Still supported: another member's live signal on the same key.
      bool supported = false;
      for (const auto& s : signals) {
        supported = supported || (Live(s, now) && s.member != record.member &&
                                  s.item.key == gone->item.key);
      }
      wire::Notification n;
      n.seq = next_seq++;
      n.match_id = match_id;
      n.type = type;
      n.reason = reason;
      n.at = now;
      n.still_supported = supported;
      notifications[record.member].push_back(n);
    }
  }

  HttpReply Query(const std::string& member, const std::string& body) {
    auto request = wire::DecodeQueryRequest(body);
    if (!request) return ErrorReply(request.error());
    wire::QueryResponse response;
    response.request_id = Id('r', next_id++);
    response.queried = request->queries.size();
    const wire::Timestamp now = Now();
    for (std::size_t i = 0; i < request->queries.size(); ++i) {
      const wire::TokenKey& key = request->queries[i];
      wire::Match match;
      std::set<std::string> members;
      std::set<Category> categories;
      std::set<std::string> attributed;
      MatchRecord record{member, {}};
      for (const auto& s : signals) {
        // Like the hub, a member's own signals never match its queries, and
        // expired signals match nothing.
        if (!Live(s, now) || s.member == member || !(s.item.key == key)) {
          continue;
        }
        if (members.empty()) {
          match.first_banned_at = match.last_banned_at = s.item.banned_at;
          match.max_severity = s.item.severity;
        }
        members.insert(s.member);
        record.signal_ids.insert(s.signal_id);
        categories.insert(s.item.category);
        if (s.item.attribution) attributed.insert(s.member);
        match.first_banned_at =
            std::min(match.first_banned_at, s.item.banned_at);
        match.last_banned_at = std::max(match.last_banned_at, s.item.banned_at);
        match.max_severity = std::max(match.max_severity, s.item.severity);
      }
      if (members.empty()) continue;
      match.index = i;
      match.kinds = {key.kind};
      match.categories.assign(categories.begin(), categories.end());
      match.attributed_to.assign(attributed.begin(), attributed.end());
      match.platforms = static_cast<std::uint32_t>(members.size());
      // Like the hub (match_reuse_seconds = 0, its default), every query
      // that matches records a new match.
      match.match_id = Id('m', next_id++);
      matches[match.match_id] = std::move(record);
      response.matches.push_back(std::move(match));
    }
    return HttpReply{200, wire::Encode(response), {}};
  }

  HttpReply Dispose(const std::string& member, const std::string& match_id,
                    const std::string& body) {
    auto request = wire::DecodeDispositionRequest(body);
    if (!request) return ErrorReply(request.error());
    const auto it = matches.find(match_id);
    if (it == matches.end() || it->second.member != member) {
      return ErrorReply(ErrorCode::kNotFound,
                        "no match " + match_id + " for this member");
    }
    wire::DispositionResponse response{Id('r', next_id++), match_id,
                                       request->outcome, Now()};
    return HttpReply{200, wire::Encode(response), {}};
  }

  template <typename Item>
  static std::pair<std::vector<Item>, bool> Page(
      const std::vector<Item>& all, const wire::PageRequest& page) {
    std::uint64_t after = 0;
    if (!page.after.empty()) after = std::stoull(page.after);
    std::vector<Item> out;
    bool more = false;
    for (const auto& item : all) {
      if (item.seq <= after) continue;
      if (out.size() == page.limit) {
        more = true;
        break;
      }
      out.push_back(item);
    }
    return {out, more};
  }

  HttpReply Feed(const std::string& query, bool notifications_for,
                 const std::string& member) {
    auto page = wire::ParsePageRequest(query);
    if (!page) return ErrorReply(page.error());
    for (char c : page->after) {
      if (c < '0' || c > '9') {
        return ErrorReply(ErrorCode::kInvalidArgument, "unknown cursor",
                          "after");
      }
    }
    if (notifications_for) {
      auto [items, more] = Page(notifications[member], *page);
      wire::NotificationsResponse response;
      response.cursor = items.empty()
                            ? (page->after.empty() ? "0" : page->after)
                            : std::to_string(items.back().seq);
      response.notifications = std::move(items);
      response.more = more;
      return HttpReply{200, wire::Encode(response), {}};
    }
    // Like the hub, the feed carries the other members' signals.
    std::vector<wire::FeedEvent> visible;
    for (const auto& [owner, event] : feed) {
      if (owner != member) visible.push_back(event);
    }
    auto [items, more] = Page(visible, *page);
    wire::FeedResponse response;
    response.cursor = items.empty() ? (page->after.empty() ? "0" : page->after)
                                    : std::to_string(items.back().seq);
    response.events = std::move(items);
    response.more = more;
    return HttpReply{200, wire::Encode(response), {}};
  }
};

namespace {

class FakeConnection final : public Connection {
 public:
  FakeConnection(std::shared_ptr<FakeHub> hub, std::string member)
      : hub_(std::move(hub)), member_(std::move(member)) {}
  Result<HttpReply> Send(const HttpRequest& request) override {
    return hub_->Handle(member_, request);
  }

 private:
  std::shared_ptr<FakeHub> hub_;
  std::string member_;
};

}  // namespace

FakeHub::FakeHub() : state_(std::make_unique<State>()) {}
FakeHub::~FakeHub() = default;

std::shared_ptr<Connection> FakeHub::ConnectionFor(
    const std::string& member_id) {
  return std::make_shared<FakeConnection>(shared_from_this(), member_id);
}

void FakeHub::FailNext(int status, int count) {
  std::lock_guard lock(state_->mutex);
  state_->fail_status = status;
  state_->fail_count = count;
}

Status FakeHub::RegisterKind(const std::string& kind) {
  if (!IsWellFormedKind(kind)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "kind '" + kind +
                         "' is not a valid kind name; use 2-32 characters "
                         "of a-z, 0-9 and _, starting with a letter",
                     "kind");
  }
  std::lock_guard lock(state_->mutex);
  state_->kinds.insert(kind);
  return {};
}

std::size_t FakeHub::ActiveSignals() const {
  std::lock_guard lock(state_->mutex);
  std::size_t n = 0;
  const wire::Timestamp now = Now();
  for (const auto& s : state_->signals) n += State::Live(s, now) ? 1 : 0;
  return n;
}

HttpReply FakeHub::Handle(const std::string& member,
                          const HttpRequest& request) {
  std::lock_guard lock(state_->mutex);
  if (state_->fail_count > 0) {
    --state_->fail_count;
    const int status = state_->fail_status;
    constexpr std::string_view kInjected =
        "injected failure (FakeHub::FailNext)";
    HttpReply reply;
    if (auto code = HubCodeFor(status)) {
      reply = ErrorReply(*code, std::string(kInjected));
    } else {
      // As a proxy answers: no Cairn error body, so the client maps the
      // status as it would a real proxy's (a 5xx: kIo, outcome unknown).
      reply.body = "<html><body>HTTP " + std::to_string(status) + ", " +
                   std::string(kInjected) + "</body></html>";
      reply.headers.emplace_back("Content-Type", "text/html");
    }
    reply.status = status;
    if (reply.status == 429) reply.headers.emplace_back("Retry-After", "0");
    return reply;
  }
  std::string_view target = request.target;
  std::string_view query;
  if (auto q = target.find('?'); q != std::string_view::npos) {
    query = target.substr(q + 1);
    target = target.substr(0, q);
  }
  const bool get = request.method == "GET";
  if (get && target == "/v1/me") return state_->Me(member);
  if (get && target == "/v1/feed")
    return state_->Feed(std::string(query), false, member);
  if (get && target == "/v1/notifications") {
    return state_->Feed(std::string(query), true, member);
  }
  if (!get && target == "/v1/signals")
    return state_->Submit(member, request.body);
  if (!get && target == "/v1/signals/retract") {
    return state_->Retract(member, request.body);
  }
  if (!get && target == "/v1/query") return state_->Query(member, request.body);
  constexpr std::string_view kMatches = "/v1/matches/";
  constexpr std::string_view kDisposition = "/disposition";
  if (!get && target.starts_with(kMatches) && target.ends_with(kDisposition)) {
    const std::string match_id(
        target.substr(kMatches.size(),
                      target.size() - kMatches.size() - kDisposition.size()));
    return state_->Dispose(member, match_id, request.body);
  }
  return ErrorReply(
      ErrorCode::kNotFound,
      "FakeHub has no endpoint " + request.method + " " + std::string(target));
}

}  // namespace cairn::testing
