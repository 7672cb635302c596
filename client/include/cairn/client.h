// libcairn-client: the C++ SDK for Cairn members.
//
//   auto client = cairn::MakeClient(options);           // Result<Client>
//   auto result = client->Query({cairn::Identifier::Email("a@example.com")});
//   for (const auto& m : result->matches) { ... m.identifier ... }
//
// Raw identifiers never leave the process. Callers pass typed Identifiers;
// the SDK normalises and tokenises them in-process with the consortium key
// (which never leaves the process either) and sends only tokens. Results
// are mapped back to the caller's identifiers by position. Error messages
// name batch positions, never identifier values.
//
// Client is a cheap copyable value: copies share one Connection (a pool of
// keep-alive TLS connections). All methods are thread-safe.
//
// Batches of any size are accepted and split into requests of at most
// ClientOptions::max_batch items, and no more than the hub accepts (its
// limits.max_batch in GET /v1/me, asked once per Client the first time a
// batch has more than one item, or a query needs resending: see Query),
// each with a body of at most the hub's
// limits.max_body_bytes. Per-item problems (an invalid phone
// number, an unregistered kind) are per-item results, not call failures; a
// call fails as a whole only when the hub or the network refuses a request.
#ifndef CAIRN_CLIENT_CLIENT_H_
#define CAIRN_CLIENT_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cairn/connection.h"
#include "cairn/identifiers.h"
#include "cairn/options.h"
#include "cairn/result.h"
#include "cairn/vocabulary.h"
#include "cairn/wire.h"

namespace cairn {

// A ban to share with the other members.
struct Ban {
  Identifier identifier;
  Category category = Category::kOther;
  Severity severity = Severity::kMedium;
  std::chrono::sys_seconds banned_at{};
  // Default member initializers, so that a Ban written with designated
  // initializers may leave these out under -Wmissing-field-initializers.
  std::optional<std::chrono::sys_seconds> expires_at{};  // hub default if unset
  bool attribution = false;          // reveal this member to members that match
  std::optional<std::string> ref{};  // this member's own reference, 1..128 B
};

struct SubmitItemResult {
  std::size_t index = 0;  // position in the caller's vector
  wire::SubmitStatus status = wire::SubmitStatus::kCreated;
  std::string signal_id;       // unless status == kError
  std::optional<Error> error;  // iff status == kError
};

struct SubmitOutcome {
  std::vector<SubmitItemResult> items;   // one per input, in input order
  std::vector<std::string> request_ids;  // one per request sent
  // The hub's signed receipts, one per request that carried one (verified
  // unless ClientOptions::verify_receipts is false). Keep them as proof of
  // what the hub acknowledged; see cairn/receipt.h.
  std::vector<wire::Receipt> receipts;
  std::size_t failed() const;
};

// Names what to retract: a signal of this member by identifier or by ref.
struct Retraction {
  static Retraction Of(Identifier identifier, RetractReason reason);
  static Retraction ByRef(std::string ref, RetractReason reason);

  std::optional<Identifier> identifier;
  std::optional<std::string> ref;
  RetractReason reason = RetractReason::kOther;
};

struct RetractItemResult {
  std::size_t index = 0;
  wire::RetractStatus status = wire::RetractStatus::kRetracted;
  std::vector<std::string> signal_ids;
  std::optional<Error> error;  // iff status == kError
};

struct RetractOutcome {
  std::vector<RetractItemResult> items;  // one per input, in input order
  std::vector<std::string> request_ids;
  std::vector<wire::Receipt> receipts;  // as SubmitOutcome::receipts
  std::size_t failed() const;
};

struct QueryMatch {
  std::size_t index = 0;  // position in the caller's vector
  Identifier identifier;  // the caller's identifier
  wire::Match match;      // match.index == index
};

struct ItemFailure {
  std::size_t index = 0;
  Error error;  // "batch item 17: phone number not valid for region GB"
};

struct QueryOutcome {
  std::vector<QueryMatch> matches;    // ordered by index
  std::vector<ItemFailure> failures;  // identifiers that were not queried
  std::uint64_t queried = 0;          // identifiers the hub looked up
  std::vector<std::string> request_ids;
  std::vector<wire::Receipt> receipts;  // as SubmitOutcome::receipts
};

// A single-pass range over a paged stream (feed, notifications). Iterating
// fetches pages lazily; an error is delivered as the last element. cursor()
// is where to resume later (at-least-once: up to one page may repeat).
template <typename T>
class PagedRange {
 public:
  using Page = std::function<Result<std::pair<std::vector<T>, std::string>>(
      const std::string& after, bool* more)>;

  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = Result<T>;
    using difference_type = std::ptrdiff_t;
    using pointer = Result<T>*;
    using reference = Result<T>&;

    iterator() = default;
    explicit iterator(PagedRange* range) : range_(range) { Advance(); }
    reference operator*() const { return *range_->current_; }
    pointer operator->() const { return &*range_->current_; }
    iterator& operator++() {
      Advance();
      return *this;
    }
    bool operator==(const iterator& other) const {
      return range_ == other.range_;
    }

   private:
    void Advance() {
      if (!range_->Next()) range_ = nullptr;
    }
    PagedRange* range_ = nullptr;
  };

  PagedRange(Page page, std::string after)
      : page_(std::move(page)), cursor_(std::move(after)) {
    next_after_ = cursor_;
  }
  iterator begin() { return iterator(this); }
  iterator end() { return iterator(); }

  // Resume point: pass to Feed()/Notifications() later.
  const std::string& cursor() const { return cursor_; }

 private:
  bool Next() {
    if (done_) return false;
    if (position_ >= buffer_.size()) {
      cursor_ = next_after_;
      if (fetched_ && !more_) {
        done_ = true;
        return false;
      }
      buffer_.clear();
      position_ = 0;
      auto page = page_(next_after_, &more_);
      fetched_ = true;
      if (!page) {
        current_.emplace(tl::unexpected(page.error()));
        done_ = true;  // the error is the last element
        return true;
      }
      buffer_ = std::move(page->first);
      next_after_ = std::move(page->second);
      if (buffer_.empty()) {
        cursor_ = next_after_;
        done_ = true;
        return false;
      }
    }
    // cursor_ moves past a page only when the caller asks for what follows
    // it: the element handed out now has not been processed yet.
    current_.emplace(std::move(buffer_[position_++]));
    return true;
  }

  Page page_;
  std::string cursor_;
  std::string next_after_;
  std::vector<T> buffer_;
  std::size_t position_ = 0;
  bool fetched_ = false;
  bool more_ = false;
  bool done_ = false;
  std::optional<Result<T>> current_;
};

class Client {
 public:
  // REQUIRES: connection != nullptr.
  Client(std::shared_ptr<Connection> connection, ClientOptions options,
         const ConsortiumKey& key);
  // A client without a consortium key: it tokenises nothing, so Submit,
  // Query and Retract by identifier fail with kInvalidArgument; everything
  // else works. REQUIRES: connection != nullptr.
  Client(std::shared_ptr<Connection> connection, ClientOptions options);

  // This member: id, roles, limits, and the hub's features (the client
  // keeps whether the hub honours a query's Idempotency-Key; see Query).
  Result<wire::MeResponse> Me() const;

  // Shares bans. Safe to retry: each request carries an Idempotency-Key.
  Result<SubmitOutcome> Submit(const std::vector<Ban>& bans) const;

  // Withdraws this member's signals. Not retried once sent.
  Result<RetractOutcome> Retract(
      const std::vector<Retraction>& retractions) const;

  // Looks identifiers up. Identifiers that normalise to the same token are
  // sent once and each gets the match. Each request carries its own
  // Idempotency-Key, so it is retried like a read (see RetryPolicy): a
  // resent query is answered with the matches the hub recorded for it, not
  // with new match_ids the caller would never see. A query the caller
  // repeats itself is a new query, and records new matches.
  // Only a hub that announces the feature "query-idempotency" in GET
  // /v1/me (wire::kFeatureQueryIdempotency; cairnd from store schema 10
  // on) honours the key; an older one records new matches for each
  // resend. So a query whose attempt may have reached the hub (a lost
  // reply, a 502/503/504) is resent only after the client has learned
  // that the hub announces it: from GET /v1/me, asked then, once per
  // Client and shared by its copies, unless a batch's limits or a
  // receipt's keys or a call of Me() already fetched it. A first attempt
  // never waits for that. Against a hub that does not announce it, or when
  // GET /v1/me fails (asked again at the next resend), the query is not
  // resent: the call fails with the attempt's error (kIo for a lost reply:
  // the hub may have recorded matches) and a message saying why it was
  // not resent. Attempts that cannot have reached the hub (kUnavailable,
  // 429) are retried as ever.
  Result<QueryOutcome> Query(const std::vector<Identifier>& identifiers) const;

  // Records the outcome of human review of a match. Not retried once sent.
  Result<wire::DispositionResponse> Dispose(
      const std::string& match_id, Outcome outcome,
      std::optional<std::string> note = std::nullopt) const;

  // The hub's change stream from `after` (empty: the beginning), in pages
  // of `page_size` events, until the hub reports no more events.
  // An error of code ErrorCode::kCursorExpired means the hub purged events
  // after `after` (the cursor is older than its tombstone period): resuming
  // there would miss retractions, so clear the mirror and read again from
  // the beginning (after = ""). The same code from Notifications() means
  // notifications after the cursor were purged; read them again from the
  // beginning.
  PagedRange<wire::FeedEvent> Feed(std::string after = {},
                                   std::uint32_t page_size = 1000) const;
  // One page of the feed.
  Result<wire::FeedResponse> FeedPage(const std::string& after,
                                      std::uint32_t limit) const;

  // Changes to matches this member received (retracted/expired support).
  PagedRange<wire::Notification> Notifications(
      std::string after = {}, std::uint32_t page_size = 1000) const;
  Result<wire::NotificationsResponse> NotificationsPage(
      const std::string& after, std::uint32_t limit) const;

  // The wire key of `identifier` (normalise + hmac-v1), for callers that
  // store tokens themselves (e.g. a feed mirror).
  Result<wire::TokenKey> Tokenise(const Identifier& identifier) const;

 private:
  Client(std::shared_ptr<Connection> connection, ClientOptions options,
         std::optional<ConsortiumKey> key);
  friend Result<Client> MakeClient(ClientOptions options);
  friend Result<Client> MakeClient(ClientOptions options,
                                   std::shared_ptr<Connection> connection);

  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

// Opens the production connection (MakeHubConnection) and loads the
// consortium key (options.consortium_key or consortium_key_file, which must
// be mode 0600). Does not contact the hub; call Me() to check the setup.
Result<Client> MakeClient(ClientOptions options);

// A client over a caller-supplied connection, e.g. a fake hub in tests.
// The connection is wrapped in the retry policy options.retry, as the
// production connection is (set retry.max_attempts = 1 for none); one
// made by MakeHubConnection already retries and is not wrapped again.
Result<Client> MakeClient(ClientOptions options,
                          std::shared_ptr<Connection> connection);

}  // namespace cairn

#endif  // CAIRN_CLIENT_CLIENT_H_
