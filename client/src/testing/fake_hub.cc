#include "cairn/testing/fake_hub.h"

#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <vector>

#include "cairn/encoding.h"
#include "cairn/wire.h"

namespace cairn::testing {
namespace {

std::string KeyString(const wire::TokenKey& key) {
  return key.kind + ":" + std::string(ToString(key.scheme)) + ":" +
         std::to_string(key.epoch) + ":" + HexEncode(key.token);
}

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

}  // namespace

struct FakeHub::State {
  struct Signal {
    std::string member;
    std::string signal_id;
    wire::SignalItem item;
    bool active = true;
  };
  struct MatchRecord {
    std::string member;  // who queried
    std::string key;     // KeyString
  };

  mutable std::mutex mutex;
  std::uint64_t next_id = 1;
  std::vector<Signal> signals;
  std::map<std::string, MatchRecord> matches;  // by match_id
  std::map<std::pair<std::string, std::string>, std::string>
      match_ids;                                              // (member,key)
  std::vector<std::pair<std::string, wire::FeedEvent>> feed;  // (member, e)
  std::map<std::string, std::vector<wire::Notification>> notifications;
  std::uint64_t next_seq = 1;
  int fail_status = 0;
  int fail_count = 0;

  Signal* Find(const std::string& member, const std::string& key) {
    for (auto& s : signals) {
      if (s.active && s.member == member && KeyString(s.item.key) == key)
        return &s;
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
    e.expires_at = s.item.expires_at.value_or(s.item.banned_at +
                                              std::chrono::hours(24 * 365));
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
    for (std::size_t i = 0; i < request->signals.size(); ++i) {
      const auto& item = request->signals[i];
      wire::SubmitResult result;
      result.index = i;
      if (item.expires_at && *item.expires_at < item.banned_at) {
        result.status = wire::SubmitStatus::kError;
        result.error = wire::ItemError{
            ErrorCode::kInvalidArgument, "expires_at is before banned_at",
            "signals[" + std::to_string(i) + "].expires_at"};
        response.results.push_back(result);
        continue;
      }
      Signal* existing = Find(member, KeyString(item.key));
      if (existing && existing->item == item) {
        result.status = wire::SubmitStatus::kDuplicate;
        result.signal_id = existing->signal_id;
      } else if (existing) {
        existing->item = item;
        result.status = wire::SubmitStatus::kUpdated;
        result.signal_id = existing->signal_id;
        Emit(FeedEventType::kAdded, *existing);
      } else {
        signals.push_back(Signal{member, Id('s', next_id++), item, true});
        result.status = wire::SubmitStatus::kCreated;
        result.signal_id = signals.back().signal_id;
        Emit(FeedEventType::kAdded, signals.back());
      }
      response.results.push_back(result);
    }
    return HttpReply{200, wire::Encode(response), {}};
  }

  HttpReply Retract(const std::string& member, const std::string& body) {
    auto request = wire::DecodeRetractRequest(body);
    if (!request) return ErrorReply(request.error());
    wire::RetractResponse response;
    response.request_id = Id('r', next_id++);
    for (std::size_t i = 0; i < request->retractions.size(); ++i) {
      const auto& item = request->retractions[i];
      wire::RetractResult result;
      result.index = i;
      result.status = wire::RetractStatus::kNotFound;
      for (auto& s : signals) {
        if (!s.active || s.member != member) continue;
        const bool hit = item.key ? s.item.key == *item.key
                                  : (item.ref && s.item.ref == item.ref);
        if (!hit) continue;
        s.active = false;
        result.status = wire::RetractStatus::kRetracted;
        result.signal_ids.push_back(s.signal_id);
        Emit(FeedEventType::kRetracted, s);
        Notify(KeyString(s.item.key), item.reason);
      }
      response.results.push_back(result);
    }
    return HttpReply{200, wire::Encode(response), {}};
  }

  void Notify(const std::string& key, RetractReason reason) {
    bool supported = false;
    for (const auto& s : signals) {
      supported = supported || (s.active && KeyString(s.item.key) == key);
    }
    for (const auto& [match_id, record] : matches) {
      if (record.key != key) continue;
      wire::Notification n;
      n.seq = next_seq++;
      n.match_id = match_id;
      n.type = FeedEventType::kRetracted;
      n.reason = reason;
      n.at = Now();
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
    for (std::size_t i = 0; i < request->queries.size(); ++i) {
      const std::string key = KeyString(request->queries[i]);
      wire::Match match;
      std::set<std::string> members;
      for (const auto& s : signals) {
        // Like the hub, a member's own signals never match its queries.
        if (!s.active || s.member == member || KeyString(s.item.key) != key) {
          continue;
        }
        if (members.empty()) {
          match.first_banned_at = match.last_banned_at = s.item.banned_at;
          match.max_severity = s.item.severity;
        }
        members.insert(s.member);
        match.first_banned_at =
            std::min(match.first_banned_at, s.item.banned_at);
        match.last_banned_at = std::max(match.last_banned_at, s.item.banned_at);
        match.max_severity = std::max(match.max_severity, s.item.severity);
        if (std::find(match.categories.begin(), match.categories.end(),
                      s.item.category) == match.categories.end()) {
          match.categories.push_back(s.item.category);
        }
        if (s.item.attribution &&
            std::find(match.attributed_to.begin(), match.attributed_to.end(),
                      s.member) == match.attributed_to.end()) {
          match.attributed_to.push_back(s.member);
        }
      }
      if (members.empty()) continue;
      match.index = i;
      match.kinds = {request->queries[i].kind};
      match.platforms = static_cast<std::uint32_t>(members.size());
      auto [it, inserted] =
          match_ids.emplace(std::pair{member, key}, std::string());
      if (inserted) {
        it->second = Id('m', next_id++);
        matches[it->second] = MatchRecord{member, key};
      }
      match.match_id = it->second;
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

std::size_t FakeHub::ActiveSignals() const {
  std::lock_guard lock(state_->mutex);
  std::size_t n = 0;
  for (const auto& s : state_->signals) n += s.active ? 1 : 0;
  return n;
}

HttpReply FakeHub::Handle(const std::string& member,
                          const HttpRequest& request) {
  std::lock_guard lock(state_->mutex);
  if (state_->fail_count > 0) {
    --state_->fail_count;
    HttpReply reply = ErrorReply(ErrorCode::kUnavailable,
                                 "injected failure (FakeHub::FailNext)");
    reply.status = state_->fail_status;
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
