#include "cairn/client.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <ctime>
#include <mutex>
#include <unordered_map>

#include <openssl/rand.h>

#include "cairn/encoding.h"
#include "cairn/normalise.h"
#include "cairn/receipt.h"
#include "cairn/token.h"
#include "src/certificates.h"
#include "src/reply_error.h"
#include "src/retry.h"
#include "src/voprf_tokeniser.h"

namespace cairn {

namespace {

struct RequestLimits {
  std::size_t items = 1;
  std::uint64_t body_bytes = UINT64_MAX;
};

}  // namespace

struct Client::Impl {
  Impl(std::shared_ptr<Connection> c, ClientOptions o,
       std::optional<ConsortiumKey> k)
      : connection(std::move(c)), options(std::move(o)), key(std::move(k)) {}

  std::shared_ptr<Connection> connection;
  ClientOptions options;
  std::optional<ConsortiumKey> key;  // none: a client that only reads
  NormaliseOptions normalise;
  std::string fingerprint;  // of options.cert_file; may be empty
  std::size_t max_batch = wire::kMaxBatch;

  // The hub's receipt keys (GET /v1/me) and this member's id, fetched on
  // the first receipt and again when a receipt names an unknown key.
  mutable std::mutex keys_mutex;
  mutable std::optional<std::vector<wire::HubKey>> hub_keys;
  mutable std::string member_id;
  // The hub's batch and body limits (limits.max_batch, max_body_bytes),
  // from the same GET /v1/me.
  mutable std::optional<std::size_t> hub_max_batch;
  mutable std::uint64_t hub_max_body = 0;
  // Whether the hub honours a query's Idempotency-Key (it announces
  // wire::kFeatureQueryIdempotency in GET /v1/me), from the same GET
  // /v1/me. Unknown until then. All of these are also kept from a GET
  // /v1/me the caller makes (Me()).
  mutable std::optional<bool> hub_query_keys;

  Result<wire::TokenKey> TokenKeyOf(const Identifier& id) const;
  // voprf-v1 only (else null): derives tokens through the hub's OPRF.
  std::shared_ptr<client_internal::VoprfTokeniser> voprf;
  // The wire keys of many identifiers under options.token_scheme: per-item
  // errors inside, a failed hub evaluation (voprf-v1) as the outer error.
  // A null entry yields an item error (callers skip it).
  Result<std::vector<Result<wire::TokenKey>>> TokenKeysOf(
      const std::vector<const Identifier*>& ids) const;
  Result<std::vector<wire::HubKey>> HubKeys(bool refresh) const;
  // REQUIRE: keys_mutex. GET /v1/me into hub_keys, member_id,
  // hub_max_batch, hub_max_body and hub_query_keys.
  Status FetchMeLocked() const;
  // REQUIRE: keys_mutex. Keeps what FetchMeLocked keeps from `me`.
  void RememberLocked(const wire::MeResponse& me) const;
  // How `count` items are split into requests: at most max_batch items,
  // and no more items or body bytes than the hub accepts (asked once, and
  // only when count > 1).
  Result<RequestLimits> Limits(std::size_t count) const;
  // Whether the hub honours a query's Idempotency-Key: from the cache, or
  // asked (GET /v1/me) the first time. Only a successful answer is kept.
  Result<bool> QueryKeysHonoured() const;
  // Verifies `receipt` (unless verification is off) and appends it to `out`.
  // `results_digest` is computed only when there is something to verify.
  Status CheckReceipt(const std::optional<wire::Receipt>& receipt,
                      std::string_view endpoint, const std::string& request_id,
                      const std::string& request_digest,
                      const std::function<std::string()>& results_digest,
                      std::vector<wire::Receipt>* out) const;
  // One exchange; a non-2xx answer is an error (client_internal::ReplyError).
  Result<std::string> Call(const HttpRequest& request) const;
};

namespace {

bool IsBuiltinKind(std::string_view kind) {
  return std::find(kBuiltinKinds.begin(), kBuiltinKinds.end(), kind) !=
         kBuiltinKinds.end();
}

// The key under which duplicates are detected: what the hub compares
// (common/src/wire: kind, scheme, epoch and token), in one string. The kind
// cannot contain NUL, so the fixed-width fields after it cannot collide.
std::string DedupKey(const wire::TokenKey& key) {
  std::string out = key.kind;
  out.push_back('\0');
  out.push_back(static_cast<char>(key.scheme));
  for (int shift = 0; shift < 32; shift += 8) {
    out.push_back(static_cast<char>((key.epoch >> shift) & 0xff));
  }
  out.append(reinterpret_cast<const char*>(key.token.data()), key.token.size());
  return out;
}

// A submit batch may name one token under several categories (a member can
// ban an account for grooming and for sextortion); the hub refuses only
// the same token and category twice.
std::string SubmitDedupKey(const wire::TokenKey& key, Category category) {
  std::string out = DedupKey(key);
  out.push_back(static_cast<char>(category));
  return out;
}

// What is wrong with a ref, by the hub's rule (which otherwise refuses the
// whole request), or nullopt.
std::optional<Error> RefProblem(const std::optional<std::string>& ref) {
  if (!ref) return std::nullopt;
  auto checked = wire::CheckText(*ref, 1, wire::kMaxRefBytes);
  if (checked) return std::nullopt;
  return Error{
      ErrorCode::kInvalidArgument, "ref " + checked.error().message, "ref", {}};
}

Error ItemError(std::size_t index, const Error& cause) {
  Error error = cause;
  error.message = "batch item " + std::to_string(index) + ": " + cause.message;
  error.index = index;
  return error;
}

std::string NewIdempotencyKey() {
  std::uint8_t bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    // Falls back to a key that is still unique per process and call.
    static std::atomic<std::uint64_t> counter{0};
    return "cairn-fallback-" + std::to_string(::time(nullptr)) + "-" +
           std::to_string(counter++);
  }
  return "cairn-" + HexEncode(bytes);
}

Error WithContext(Error error, std::size_t request, std::size_t requests,
                  const std::string& done) {
  if (requests > 1) {
    error.message = "request " + std::to_string(request + 1) + " of " +
                    std::to_string(requests) + " failed: " + error.message +
                    done;
  }
  return error;
}

// The item k of a field path "<array>[k]..." (as the hub names a field of
// one request's item), or nullopt for other fields.
std::optional<std::size_t> FieldItem(std::string_view field,
                                     std::string_view array) {
  if (!field.starts_with(array) || field.size() <= array.size() ||
      field[array.size()] != '[') {
    return std::nullopt;
  }
  std::size_t k = 0;
  const char* first = field.data() + array.size() + 1;
  const char* last = field.data() + field.size();
  const auto [end, ec] = std::from_chars(first, last, k);
  if (ec != std::errc() || end == first || end == last || *end != ']') {
    return std::nullopt;
  }
  return k;
}

// `field` with its item number replaced by the caller's position: the hub
// counts the items of one request, which after dropping refused items and
// splitting the batch is not the caller's vector.
std::string RebaseField(const std::string& field, std::string_view array,
                        std::size_t caller) {
  if (!FieldItem(field, array)) return field;
  return std::string(array) + "[" + std::to_string(caller) + "]" +
         field.substr(field.find(']') + 1);
}

// A whole-request error of the request holding items [begin, end) of the
// sent list, its field and index rebased to the caller's position
// (`caller(k)` for the sent item k).
template <typename Caller>
Error ToCallerPosition(Error error, std::string_view array, std::size_t begin,
                       std::size_t end, const Caller& caller) {
  std::optional<std::size_t> k = FieldItem(error.field, array);
  if (!k) k = error.index;
  if (!k || *k >= end - begin) return error;
  const std::size_t position = caller(begin + *k);
  error.field = RebaseField(error.field, array, position);
  error.index = position;
  return error;
}

Error FromItemError(std::size_t index, const wire::ItemError& e,
                    std::string_view array) {
  Error error;
  error.code = e.code;
  error.message = e.message;
  error.field = RebaseField(e.field, array, index);
  return ItemError(index, error);
}

// One request of a split batch: items [begin, end) and their encoded body.
struct Chunk {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::string body;
};

// Appends [begin, end) to `out`, split further while its body is over
// limits.body_bytes. A single item is sent whatever its size: the hub's 413
// then says what is wrong.
template <typename Encode>
void FitChunk(std::size_t begin, std::size_t end, const RequestLimits& limits,
              const Encode& encode, std::vector<Chunk>* out) {
  std::string body = encode(begin, end);
  const std::size_t items = end - begin;
  if (body.size() <= limits.body_bytes || items == 1) {
    out->push_back(Chunk{begin, end, std::move(body)});
    return;
  }
  // Items vary in size, so the proportional pieces are checked again.
  const std::uint64_t pieces = std::min<std::uint64_t>(
      items, (body.size() + limits.body_bytes - 1) / limits.body_bytes);
  body = {};
  for (std::uint64_t p = 0; p < pieces; ++p) {
    FitChunk(begin + items * p / pieces, begin + items * (p + 1) / pieces,
             limits, encode, out);
  }
}

// Splits `count` items into requests of at most limits.items items and
// limits.body_bytes encoded bytes. encode(begin, end) returns the body of
// items [begin, end). In the common case every body is encoded once, as
// the count split alone would.
template <typename Encode>
std::vector<Chunk> PlanRequests(std::size_t count, const RequestLimits& limits,
                                const Encode& encode) {
  std::vector<Chunk> out;
  const std::size_t batch = std::max<std::size_t>(1, limits.items);
  for (std::size_t begin = 0; begin < count; begin += batch) {
    FitChunk(begin, std::min(count, begin + batch), limits, encode, &out);
  }
  return out;
}

// An item the hub's answer left out: the hub's bug, but the caller must
// not take it for done.
Error UnansweredItem(std::size_t index, const std::string& request_id,
                     std::string_view what_to_do) {
  return ItemError(
      index, Error{ErrorCode::kInternal,
                   "the hub's answer to request " + request_id +
                       " did not include this item, so it may not have been "
                       "processed; " +
                       std::string(what_to_do) +
                       ", and report the request id to the hub operator",
                   {},
                   {}});
}

}  // namespace

Result<wire::TokenKey> Client::Impl::TokenKeyOf(const Identifier& id) const {
  const NormaliseOptions* options = &normalise;
  std::optional<NormaliseOptions> adjusted;
  const bool custom = !IsBuiltinKind(id.kind()) &&
                      IsWellFormedKind(id.kind()) &&
                      !normalise.custom_kinds.contains(id.kind());
  if (custom ||
      (!id.region().empty() && id.region() != normalise.default_region)) {
    adjusted = normalise;
    if (!id.region().empty()) adjusted->default_region = id.region();
    if (custom) adjusted->custom_kinds.insert(id.kind());
    options = &*adjusted;
  }
  auto token = cairn::Tokenise(*key, id.kind(), id.value(), *options);
  if (!token) return tl::unexpected(token.error());
  wire::TokenKey out;
  out.kind = id.kind();
  out.token = *token;
  return out;
}

Result<std::vector<Result<wire::TokenKey>>> Client::Impl::TokenKeysOf(
    const std::vector<const Identifier*>& ids) const {
  if (!key && std::any_of(ids.begin(), ids.end(),
                          [](const Identifier* id) { return id != nullptr; })) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "this client has no consortium key, so it cannot turn "
                     "identifiers into tokens; set "
                     "ClientOptions::consortium_key_file (the CLI: "
                     "--consortium-key) to submit, query or retract by "
                     "identifier",
                     "consortium_key_file");
  }
  std::vector<Result<wire::TokenKey>> keys;
  keys.reserve(ids.size());
  for (const Identifier* id : ids) {
    if (id == nullptr) {
      keys.push_back(MakeError(ErrorCode::kInvalidArgument, "no identifier"));
    } else {
      keys.push_back(TokenKeyOf(*id));
    }
  }
  if (!voprf) return keys;
  // voprf-v1: the hmac-v1 value x is the OPRF input; the token needs the
  // hub's evaluation, one batched request per max_batch inputs.
  std::vector<Token> inputs;
  std::vector<std::size_t> at;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (!keys[i]) continue;
    inputs.push_back(keys[i]->token);
    at.push_back(i);
  }
  if (inputs.empty()) return keys;
  auto derived = voprf->Derive(inputs);
  if (!derived) return tl::unexpected(derived.error());
  for (std::size_t k = 0; k < at.size(); ++k) {
    wire::TokenKey& key = *keys[at[k]];
    key.token = derived->tokens[k];
    key.scheme = TokenScheme::kVoprfV1;
    key.epoch = derived->epoch;
  }
  return keys;
}

Status Client::Impl::FetchMeLocked() const {
  auto body = Call(HttpRequest{"GET", "/v1/me", {}, {}, true});
  if (!body) return tl::unexpected(body.error());
  auto me = wire::DecodeMeResponse(*body);
  if (!me) return tl::unexpected(me.error());
  RememberLocked(*me);
  return {};
}

void Client::Impl::RememberLocked(const wire::MeResponse& me) const {
  hub_keys = me.hub_keys;
  member_id = me.member_id;
  hub_max_batch = std::max<std::size_t>(1, me.limits.max_batch);
  hub_max_body = me.limits.max_body_bytes;
  hub_query_keys = me.Supports(wire::kFeatureQueryIdempotency);
}

Result<bool> Client::Impl::QueryKeysHonoured() const {
  std::lock_guard lock(keys_mutex);
  if (!hub_query_keys) {
    if (auto s = FetchMeLocked(); !s) return tl::unexpected(s.error());
  }
  return *hub_query_keys;
}

Result<std::vector<wire::HubKey>> Client::Impl::HubKeys(bool refresh) const {
  std::lock_guard lock(keys_mutex);
  if (!hub_keys || refresh) {
    if (auto s = FetchMeLocked(); !s) return tl::unexpected(s.error());
  }
  return *hub_keys;
}

Result<RequestLimits> Client::Impl::Limits(std::size_t count) const {
  // One item always fits (items are far below any sane body limit): no need
  // to ask the hub.
  if (count <= 1) return RequestLimits{max_batch, UINT64_MAX};
  std::lock_guard lock(keys_mutex);
  if (!hub_max_batch) {
    if (auto s = FetchMeLocked(); !s) {
      Error e = s.error();
      e.message =
          "cannot learn the hub's batch limit (GET /v1/me): " + e.message;
      return tl::unexpected(std::move(e));
    }
  }
  // A hub that announces no body limit (0) is held to none.
  return RequestLimits{std::min(max_batch, *hub_max_batch),
                       hub_max_body == 0 ? UINT64_MAX : hub_max_body};
}

Status Client::Impl::CheckReceipt(
    const std::optional<wire::Receipt>& receipt, std::string_view endpoint,
    const std::string& request_id, const std::string& request_digest,
    const std::function<std::string()>& results_digest,
    std::vector<wire::Receipt>* out) const {
  if (!options.verify_receipts) {
    if (receipt) out->push_back(*receipt);
    return {};
  }
  if (!receipt) {
    // Whether an answer must carry a receipt depends on whether the hub
    // publishes signing keys: ask it (GET /v1/me) if this client has not
    // yet, so that the first answer of a client is held to the same rule as
    // later ones, whatever its size.
    auto keys = HubKeys(false);
    if (!keys) {
      Error error = keys.error();
      error.message = "the hub's answer to request " + request_id +
                      " carries no receipt, and whether it must cannot be "
                      "checked: the hub's signing keys (GET /v1/me) could "
                      "not be fetched: " +
                      error.message;
      return tl::unexpected(std::move(error));
    }
    if (!keys->empty()) {
      return MakeError(ErrorCode::kCrypto,
                       "the hub publishes signing keys but its answer to "
                       "request " +
                           request_id +
                           " carries no receipt; report this to the hub "
                           "operator (or set verify_receipts = false)");
    }
    return {};
  }
  ReceiptExpectation expected;
  expected.endpoint = std::string(endpoint);
  expected.request_id = request_id;
  expected.results_digest = results_digest();
  expected.request_digest = request_digest;
  Status verified;
  for (bool refresh : {false, true}) {
    auto keys = HubKeys(refresh);
    if (!keys) return tl::unexpected(keys.error());
    {
      std::lock_guard lock(keys_mutex);
      expected.member = member_id;
    }
    verified = VerifyReceipt(*receipt, expected, *keys);
    if (verified || verified.error().code != ErrorCode::kNotFound) break;
  }
  if (!verified) {
    Error error = verified.error();
    error.code = ErrorCode::kCrypto;
    error.message = "the hub's receipt for request " + request_id +
                    " does not verify: " + error.message;
    return tl::unexpected(std::move(error));
  }
  out->push_back(*receipt);
  return {};
}

Result<std::string> Client::Impl::Call(const HttpRequest& request) const {
  auto reply = connection->Send(request);
  if (!reply) return tl::unexpected(reply.error());
  if (reply->status < 200 || reply->status > 299) {
    return tl::unexpected(
        client_internal::ReplyError(*reply, options.retry, fingerprint));
  }
  return std::move(reply->body);
}

std::size_t SubmitOutcome::failed() const {
  return static_cast<std::size_t>(std::count_if(
      items.begin(), items.end(),
      [](const auto& i) { return i.status == wire::SubmitStatus::kError; }));
}

std::size_t RetractOutcome::failed() const {
  return static_cast<std::size_t>(std::count_if(
      items.begin(), items.end(),
      [](const auto& i) { return i.status == wire::RetractStatus::kError; }));
}

Retraction Retraction::Of(Identifier identifier, RetractReason reason) {
  Retraction r;
  r.identifier = std::move(identifier);
  r.reason = reason;
  return r;
}

Retraction Retraction::ByRef(std::string ref, RetractReason reason) {
  Retraction r;
  r.ref = std::move(ref);
  r.reason = reason;
  return r;
}

Client::Client(std::shared_ptr<Connection> connection, ClientOptions options,
               const ConsortiumKey& key)
    : Client(std::move(connection), std::move(options),
             std::optional<ConsortiumKey>(key)) {}

Client::Client(std::shared_ptr<Connection> connection, ClientOptions options)
    : Client(std::move(connection), std::move(options),
             std::optional<ConsortiumKey>()) {}

Client::Client(std::shared_ptr<Connection> connection, ClientOptions options,
               std::optional<ConsortiumKey> key) {
  auto impl = std::make_shared<Impl>(std::move(connection), std::move(options),
                                     std::move(key));
  impl->normalise.default_region = impl->options.default_region;
  impl->normalise.extra_handle_services.insert(
      impl->options.extra_handle_services.begin(),
      impl->options.extra_handle_services.end());
  impl->normalise.custom_kinds.insert(impl->options.custom_kinds.begin(),
                                      impl->options.custom_kinds.end());
  impl->max_batch =
      std::clamp<std::size_t>(impl->options.max_batch, 1, wire::kMaxBatch);
  if (impl->options.token_scheme == TokenScheme::kVoprfV1) {
    const Impl* self = impl.get();  // the tokeniser dies with *impl
    impl->voprf = std::make_shared<client_internal::VoprfTokeniser>(
        [self](const HttpRequest& request) { return self->Call(request); },
        impl->options.oprf_public_key, impl->options.token_cache_entries,
        impl->max_batch);
  }
  if (!impl->options.cert_file.empty()) {
    if (auto fp =
            client_internal::CertificateFingerprint(impl->options.cert_file)) {
      impl->fingerprint = std::move(*fp);
    }
  }
  impl_ = std::move(impl);
}

Result<wire::TokenKey> Client::Tokenise(const Identifier& identifier) const {
  auto keys = impl_->TokenKeysOf({&identifier});
  if (!keys) return tl::unexpected(keys.error());
  return std::move(keys->front());
}

Result<wire::MeResponse> Client::Me() const {
  auto body = impl_->Call(HttpRequest{"GET", "/v1/me", {}, {}, true});
  if (!body) return tl::unexpected(body.error());
  auto me = wire::DecodeMeResponse(*body);
  if (me) {
    // Saves the client asking again (a query's resend, a batch's limits,
    // a receipt's keys).
    std::lock_guard lock(impl_->keys_mutex);
    impl_->RememberLocked(*me);
  }
  return me;
}

Result<SubmitOutcome> Client::Submit(const std::vector<Ban>& bans) const {
  SubmitOutcome outcome;
  outcome.items.resize(bans.size());
  std::vector<wire::SignalItem> signals;
  std::vector<std::size_t> origin;  // signals[k] came from bans[origin[k]]
  signals.reserve(bans.size());
  origin.reserve(bans.size());
  std::unordered_map<std::string, std::size_t> seen;
  std::vector<const Identifier*> identifiers;
  identifiers.reserve(bans.size());
  for (const Ban& ban : bans) identifiers.push_back(&ban.identifier);
  auto keys = impl_->TokenKeysOf(identifiers);
  if (!keys) return tl::unexpected(keys.error());
  for (std::size_t i = 0; i < bans.size(); ++i) {
    auto& item = outcome.items[i];
    item.index = i;
    const Ban& ban = bans[i];
    auto& key = (*keys)[i];
    std::optional<Error> problem;
    if (!key) {
      problem = key.error();
    } else if (auto bad = RefProblem(ban.ref)) {
      problem = std::move(*bad);
    } else if (auto [it, inserted] =
                   seen.emplace(SubmitDedupKey(*key, ban.category), i);
               !inserted) {
      problem = Error{ErrorCode::kInvalidArgument,
                      "same identifier and category as batch item " +
                          std::to_string(it->second) +
                          " after normalisation; submit it once",
                      {},
                      {}};
    }
    if (problem) {
      item.status = wire::SubmitStatus::kError;
      item.error = ItemError(i, *problem);
      continue;
    }
    wire::SignalItem signal;
    signal.key = std::move(*key);
    signal.category = ban.category;
    signal.severity = ban.severity;
    signal.banned_at = ban.banned_at;
    signal.expires_at = ban.expires_at;
    signal.attribution = ban.attribution;
    signal.ref = ban.ref;
    signals.push_back(std::move(signal));
    origin.push_back(i);
  }
  const auto limits = impl_->Limits(signals.size());
  if (!limits) return tl::unexpected(limits.error());
  // The items are moved into the body for encoding and back, not copied.
  auto plan = PlanRequests(
      signals.size(), *limits, [&](std::size_t begin, std::size_t end) {
        wire::SubmitSignalsRequest body;
        body.signals.assign(std::make_move_iterator(signals.begin() + begin),
                            std::make_move_iterator(signals.begin() + end));
        std::string encoded = wire::Encode(body);
        std::move(body.signals.begin(), body.signals.end(),
                  signals.begin() + begin);
        return encoded;
      });
  const std::size_t requests = plan.size();
  for (std::size_t r = 0; r < requests; ++r) {
    const std::size_t begin = plan[r].begin;
    const std::size_t end = plan[r].end;
    HttpRequest request{"POST",
                        "/v1/signals",
                        std::move(plan[r].body),
                        {{"Idempotency-Key", NewIdempotencyKey()}},
                        true};
    const std::string request_digest =
        impl_->options.verify_receipts ? Sha256Hex(request.body) : "";
    auto reply = impl_->Call(request);
    if (!reply) {
      return tl::unexpected(WithContext(
          ToCallerPosition(reply.error(), "signals", begin, end,
                           [&](std::size_t k) { return origin[k]; }),
          r, requests,
          "; earlier requests were stored, and submitting the same bans "
          "again is safe"));
    }
    auto decoded = wire::DecodeSubmitSignalsResponse(*reply);
    if (!decoded) return tl::unexpected(decoded.error());
    outcome.request_ids.push_back(decoded->request_id);
    if (auto s = impl_->CheckReceipt(
            decoded->receipt, kSubmitEndpoint, decoded->request_id,
            request_digest, [&] { return ResultsDigest(decoded->results); },
            &outcome.receipts);
        !s) {
      return tl::unexpected(s.error());
    }
    std::vector<bool> answered(end - begin, false);
    for (auto& result : decoded->results) {
      if (result.index >= end - begin) continue;  // ignore a hub bug
      answered[result.index] = true;
      auto& item = outcome.items[origin[begin + result.index]];
      item.status = result.status;
      item.signal_id = std::move(result.signal_id);
      if (result.error) {
        item.error = FromItemError(item.index, *result.error, "signals");
      }
    }
    // An unanswered item left at its default status would pass for created.
    for (std::size_t k = 0; k < answered.size(); ++k) {
      if (answered[k]) continue;
      auto& item = outcome.items[origin[begin + k]];
      item.status = wire::SubmitStatus::kError;
      item.error = UnansweredItem(item.index, decoded->request_id,
                                  "submit it again (resubmitting is safe)");
    }
  }
  return outcome;
}

Result<RetractOutcome> Client::Retract(
    const std::vector<Retraction>& retractions) const {
  RetractOutcome outcome;
  std::vector<const Identifier*> identifiers;
  identifiers.reserve(retractions.size());
  for (const Retraction& r : retractions) {
    identifiers.push_back(r.identifier ? &*r.identifier : nullptr);
  }
  auto keys = impl_->TokenKeysOf(identifiers);
  if (!keys) return tl::unexpected(keys.error());
  outcome.items.resize(retractions.size());
  std::vector<wire::RetractItem> wire_items;
  std::vector<std::size_t> origin;
  std::unordered_map<std::string, std::size_t> seen;
  for (std::size_t i = 0; i < retractions.size(); ++i) {
    auto& item = outcome.items[i];
    item.index = i;
    const Retraction& r = retractions[i];
    wire::RetractItem wire_item;
    wire_item.reason = r.reason;
    std::optional<Error> problem;
    std::string dedup;
    if (r.identifier.has_value() == r.ref.has_value()) {
      problem = Error{ErrorCode::kInvalidArgument,
                      "name either an identifier or a ref, not both or none",
                      {},
                      {}};
    } else if (r.identifier) {
      auto& key = (*keys)[i];
      if (!key) {
        problem = key.error();
      } else {
        dedup = "k" + DedupKey(*key);
        wire_item.key = std::move(*key);
      }
    } else if (auto bad = RefProblem(r.ref)) {
      problem = std::move(*bad);
    } else {
      dedup = "r" + *r.ref;
      wire_item.ref = r.ref;
    }
    if (!problem) {
      if (auto [it, inserted] = seen.emplace(dedup, i); !inserted) {
        problem = Error{ErrorCode::kInvalidArgument,
                        "same signal as batch item " +
                            std::to_string(it->second) + "; retract it once",
                        {},
                        {}};
      }
    }
    if (problem) {
      item.status = wire::RetractStatus::kError;
      item.error = ItemError(i, *problem);
      continue;
    }
    wire_items.push_back(std::move(wire_item));
    origin.push_back(i);
  }
  const auto limits = impl_->Limits(wire_items.size());
  if (!limits) return tl::unexpected(limits.error());
  auto plan = PlanRequests(
      wire_items.size(), *limits, [&](std::size_t begin, std::size_t end) {
        wire::RetractRequest body;
        body.retractions.assign(
            std::make_move_iterator(wire_items.begin() + begin),
            std::make_move_iterator(wire_items.begin() + end));
        std::string encoded = wire::Encode(body);
        std::move(body.retractions.begin(), body.retractions.end(),
                  wire_items.begin() + begin);
        return encoded;
      });
  const std::size_t requests = plan.size();
  for (std::size_t q = 0; q < requests; ++q) {
    const std::size_t begin = plan[q].begin;
    const std::size_t end = plan[q].end;
    std::string encoded = std::move(plan[q].body);
    const std::string request_digest =
        impl_->options.verify_receipts ? Sha256Hex(encoded) : "";
    auto reply = impl_->Call(HttpRequest{
        "POST", "/v1/signals/retract", std::move(encoded), {}, false});
    if (!reply) {
      return tl::unexpected(WithContext(
          ToCallerPosition(reply.error(), "retractions", begin, end,
                           [&](std::size_t k) { return origin[k]; }),
          q, requests,
          "; earlier requests were applied (retracting them again reports "
          "not_found)"));
    }
    auto decoded = wire::DecodeRetractResponse(*reply);
    if (!decoded) return tl::unexpected(decoded.error());
    outcome.request_ids.push_back(decoded->request_id);
    if (auto s = impl_->CheckReceipt(
            decoded->receipt, kRetractEndpoint, decoded->request_id,
            request_digest, [&] { return ResultsDigest(decoded->results); },
            &outcome.receipts);
        !s) {
      return tl::unexpected(s.error());
    }
    std::vector<bool> answered(end - begin, false);
    for (auto& result : decoded->results) {
      if (result.index >= end - begin) continue;
      answered[result.index] = true;
      auto& item = outcome.items[origin[begin + result.index]];
      item.status = result.status;
      item.signal_ids = std::move(result.signal_ids);
      if (result.error) {
        item.error = FromItemError(item.index, *result.error, "retractions");
      }
    }
    // An unanswered item left at its default status would pass for
    // retracted.
    for (std::size_t k = 0; k < answered.size(); ++k) {
      if (answered[k]) continue;
      auto& item = outcome.items[origin[begin + k]];
      item.status = wire::RetractStatus::kError;
      item.error = UnansweredItem(
          item.index, decoded->request_id,
          "retract it again (an item already retracted then reports "
          "not_found)");
    }
  }
  return outcome;
}

Result<QueryOutcome> Client::Query(
    const std::vector<Identifier>& identifiers) const {
  QueryOutcome outcome;
  std::vector<wire::TokenKey> keys;
  std::vector<std::vector<std::size_t>> origins;  // keys[k] -> input indices
  std::unordered_map<std::string, std::size_t> position;
  keys.reserve(identifiers.size());
  origins.reserve(identifiers.size());
  std::vector<const Identifier*> pointers;
  pointers.reserve(identifiers.size());
  for (const Identifier& id : identifiers) pointers.push_back(&id);
  auto tokenised = impl_->TokenKeysOf(pointers);
  if (!tokenised) return tl::unexpected(tokenised.error());
  for (std::size_t i = 0; i < identifiers.size(); ++i) {
    auto& key = (*tokenised)[i];
    if (!key) {
      outcome.failures.push_back({i, ItemError(i, key.error())});
      continue;
    }
    auto [it, inserted] = position.emplace(DedupKey(*key), keys.size());
    if (inserted) {
      keys.push_back(std::move(*key));
      origins.push_back({i});
    } else {
      origins[it->second].push_back(i);
    }
  }
  const auto limits = impl_->Limits(keys.size());
  if (!limits) return tl::unexpected(limits.error());
  auto plan = PlanRequests(
      keys.size(), *limits, [&](std::size_t begin, std::size_t end) {
        wire::QueryRequest body;
        body.queries.assign(std::make_move_iterator(keys.begin() + begin),
                            std::make_move_iterator(keys.begin() + end));
        std::string encoded = wire::Encode(body);
        std::move(body.queries.begin(), body.queries.end(),
                  keys.begin() + begin);
        return encoded;
      });
  const std::size_t requests = plan.size();
  for (std::size_t q = 0; q < requests; ++q) {
    const std::size_t begin = plan[q].begin;
    const std::size_t end = plan[q].end;
    std::string encoded = std::move(plan[q].body);
    const std::string request_digest =
        impl_->options.verify_receipts ? Sha256Hex(encoded) : "";
    // Each query request carries its own Idempotency-Key, so the retry
    // layer may resend it like a submit: a hub that recorded matches for
    // it answers the resend with those matches (docs/protocol.md), rather
    // than recording new ones this client would never see. A hub before
    // schema 10 ignores the key, so an attempt that may have reached the
    // hub is resent only once the hub has said (GET /v1/me, asked then,
    // once per Client) that it honours it. The first attempt asks nothing.
    //
    // Why a resend was refused, for the caller's error. Shared with the
    // check, which a copy of the request may outlive this call with.
    auto not_resent = std::make_shared<std::string>();
    HttpRequest request{"POST",
                        "/v1/query",
                        std::move(encoded),
                        {{"Idempotency-Key", NewIdempotencyKey()}},
                        true};
    // Weak: a connection that keeps the requests it was sent (a test's
    // recording one) would otherwise keep the client alive, and itself.
    request.may_resend = [weak = std::weak_ptr<const Impl>(impl_), not_resent] {
      const auto impl = weak.lock();
      if (!impl) return false;
      auto honoured = impl->QueryKeysHonoured();
      if (honoured && *honoured) return true;
      if (honoured) {
        *not_resent =
            "the hub does not announce the feature \"" +
            std::string(wire::kFeatureQueryIdempotency) +
            "\" in GET /v1/me, so it may ignore a query's Idempotency-Key "
            "(cairnd before store schema 10) and a resend could record a "
            "second set of matches; the hub may have recorded matches for "
            "these identifiers that this client never saw: query again if "
            "you need the answer (that records new matches), and ask the "
            "hub operator to upgrade the hub";
      } else {
        *not_resent =
            "whether the hub honours a query's Idempotency-Key could not be "
            "learned (GET /v1/me failed: " +
            honoured.error().message +
            "), and a resend to a hub that ignores the key would record a "
            "second set of matches; query again if you need the answer";
      }
      return false;
    };
    auto reply = impl_->Call(request);
    if (!reply && !not_resent->empty()) {
      reply.error().message += "; not resent: " + *not_resent;
    }
    if (!reply) {
      // Identifiers that tokenise alike are sent once: the first is named.
      return tl::unexpected(WithContext(
          ToCallerPosition(reply.error(), "queries", begin, end,
                           [&](std::size_t k) { return origins[k].front(); }),
          q, requests, ""));
    }
    auto decoded = wire::DecodeQueryResponse(*reply);
    if (!decoded) return tl::unexpected(decoded.error());
    outcome.request_ids.push_back(decoded->request_id);
    if (auto s = impl_->CheckReceipt(
            decoded->receipt, kQueryEndpoint, decoded->request_id,
            request_digest, [&] { return ResultsDigest(decoded->matches); },
            &outcome.receipts);
        !s) {
      return tl::unexpected(s.error());
    }
    for (const auto& match : decoded->matches) {
      if (match.index >= end - begin) continue;
      for (std::size_t i : origins[begin + match.index]) {
        QueryMatch m{i, identifiers[i], match};
        m.match.index = i;
        outcome.matches.push_back(std::move(m));
      }
    }
    for (std::size_t k = begin; k < end; ++k)
      outcome.queried += origins[k].size();
  }
  std::sort(outcome.matches.begin(), outcome.matches.end(),
            [](const QueryMatch& a, const QueryMatch& b) {
              return a.index < b.index;
            });
  return outcome;
}

Result<wire::DispositionResponse> Client::Dispose(
    const std::string& match_id, Outcome outcome,
    std::optional<std::string> note) const {
  if (!wire::IsWellFormedMatchId(match_id)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "match id must be \"m_\" followed by 32 lowercase hex "
                     "characters, as returned by Query",
                     "match_id");
  }
  if (note) {
    // Checked here, as the hub would: it refuses the request otherwise.
    if (auto checked = wire::CheckText(*note, 0, wire::kMaxNoteBytes, true);
        !checked) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "note " + checked.error().message, "note");
    }
  }
  wire::DispositionRequest body;
  body.outcome = outcome;
  body.note = std::move(note);
  auto reply =
      impl_->Call(HttpRequest{"POST",
                              "/v1/matches/" + match_id + "/disposition",
                              wire::Encode(body),
                              {},
                              false});
  if (!reply) return tl::unexpected(reply.error());
  return wire::DecodeDispositionResponse(*reply);
}

Result<wire::FeedResponse> Client::FeedPage(const std::string& after,
                                            std::uint32_t limit) const {
  auto reply = impl_->Call(
      HttpRequest{"GET",
                  "/v1/feed?" + wire::EncodePageRequest({after, limit}),
                  {},
                  {},
                  true});
  if (!reply) return tl::unexpected(reply.error());
  return wire::DecodeFeedResponse(*reply);
}

Result<wire::NotificationsResponse> Client::NotificationsPage(
    const std::string& after, std::uint32_t limit) const {
  auto reply = impl_->Call(HttpRequest{
      "GET",
      "/v1/notifications?" + wire::EncodePageRequest({after, limit}),
      {},
      {},
      true});
  if (!reply) return tl::unexpected(reply.error());
  return wire::DecodeNotificationsResponse(*reply);
}

PagedRange<wire::FeedEvent> Client::Feed(std::string after,
                                         std::uint32_t page_size) const {
  Client self = *this;
  return PagedRange<wire::FeedEvent>(
      [self, page_size](const std::string& from, bool* more)
          -> Result<std::pair<std::vector<wire::FeedEvent>, std::string>> {
        auto page = self.FeedPage(from, page_size);
        if (!page) return tl::unexpected(page.error());
        *more = page->more;
        return std::pair{std::move(page->events), std::move(page->cursor)};
      },
      std::move(after));
}

PagedRange<wire::Notification> Client::Notifications(
    std::string after, std::uint32_t page_size) const {
  Client self = *this;
  return PagedRange<wire::Notification>(
      [self, page_size](const std::string& from, bool* more)
          -> Result<std::pair<std::vector<wire::Notification>, std::string>> {
        auto page = self.NotificationsPage(from, page_size);
        if (!page) return tl::unexpected(page.error());
        *more = page->more;
        return std::pair{std::move(page->notifications),
                         std::move(page->cursor)};
      },
      std::move(after));
}

namespace {

// nullopt only when the options allow a client without a key.
Result<std::optional<ConsortiumKey>> KeyFor(const ClientOptions& options) {
  if (options.consortium_key) return options.consortium_key;
  if (options.consortium_key_file.empty()) {
    if (!options.require_consortium_key) {
      return std::optional<ConsortiumKey>();
    }
    return MakeError(
        ErrorCode::kInvalidArgument,
        "no consortium key: set ClientOptions::consortium_key_file "
        "(create one with `cairn keygen FILE`; every member of "
        "the hub must use the same key)",
        "consortium_key_file");
  }
  auto loaded = LoadConsortiumKey(options.consortium_key_file);
  if (!loaded) return tl::unexpected(loaded.error());
  return std::optional<ConsortiumKey>(std::move(*loaded));
}

}  // namespace

Result<Client> MakeClient(ClientOptions options,
                          std::shared_ptr<Connection> connection) {
  if (!connection) {
    return MakeError(ErrorCode::kInvalidArgument, "connection is null");
  }
  auto key = KeyFor(options);
  if (!key) return tl::unexpected(key.error());
  // The same retry policy as the production connection, so that a fake or
  // custom connection sees the client the hub would.
  auto retrying = client_internal::MakeRetryingConnection(std::move(connection),
                                                          options.retry);
  return Client(std::move(retrying), std::move(options), std::move(*key));
}

Result<Client> MakeClient(ClientOptions options) {
  auto key = KeyFor(options);
  if (!key) return tl::unexpected(key.error());
  auto connection = MakeHubConnection(options);
  if (!connection) return tl::unexpected(connection.error());
  return Client(std::move(*connection), std::move(options), std::move(*key));
}

}  // namespace cairn
