#include "transport/session.h"

#include <array>
#include <exception>
#include <optional>

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include "cairn/encoding.h"
#include "cairn/timestamp.h"
#include "cairn/wire/error.h"
#include "cairn/wire/types.h"
#include "transport/tls_context.h"

namespace cairn::server {

ServerState::ServerState(TransportConfig config, RequestHandler& handler,
                         std::shared_ptr<ssl::context> tls_context)
    : config_(std::move(config)),
      handler_(handler),
      tls_context_(std::move(tls_context)) {}

std::shared_ptr<ssl::context> ServerState::tls_context() const {
  std::lock_guard lock(mutex_);
  return tls_context_;
}

void ServerState::set_tls_context(std::shared_ptr<ssl::context> context) {
  std::lock_guard lock(mutex_);
  tls_context_ = std::move(context);
}

namespace {

std::string FormatEndpoint(const tcp::endpoint& endpoint) {
  const auto address = endpoint.address();
  return address.is_v6()
             ? fmt::format("[{}]:{}", address.to_string(), endpoint.port())
             : fmt::format("{}:{}", address.to_string(), endpoint.port());
}

}  // namespace

bool ServerState::TryReserve(std::atomic<std::size_t>& open,
                             std::size_t limit) {
  std::size_t current = open.load();
  do {
    if (current >= limit) return false;
  } while (!open.compare_exchange_weak(current, current + 1));
  return true;
}

std::array<unsigned char, 16> SourceAddressKey(
    const asio::ip::address& address) {
  std::array<unsigned char, 16> key{};
  if (address.is_v4()) {
    const auto bytes = address.to_v4().to_bytes();
    std::copy(bytes.begin(), bytes.end(), key.begin() + 12);
    key[10] = key[11] = 0xff;  // as ::ffff:a.b.c.d
    return key;
  }
  const asio::ip::address_v6 v6 = address.to_v6();
  if (v6.is_v4_mapped()) {
    return SourceAddressKey(asio::ip::make_address_v4(asio::ip::v4_mapped, v6));
  }
  const auto bytes = v6.to_bytes();
  std::copy(bytes.begin(), bytes.begin() + 8, key.begin());
  return key;
}

bool ServerState::TryOpenConnection(Budget budget, const tcp::endpoint& peer) {
  const LimitsConfig& limits = config_.limits;
  auto refuse = [&](ConnectionRefusalReason reason, std::string detail) {
    connection_refusals_.Record(reason, FormatEndpoint(peer), detail);
    return false;
  };
  if (budget == Budget::kMetrics) {
    if (!TryReserve(open_metrics_, kMaxMetricsConnections)) {
      return refuse(
          ConnectionRefusalReason::kMetricsListener,
          fmt::format("{} scrapes in progress, the most the loopback metrics "
                      "listener takes",
                      kMaxMetricsConnections));
    }
    open_.fetch_add(1);
    return true;
  }
  // Only a hint (FinishHandshake decides): while every member slot is
  // taken, a handshake would be wasted work.
  if (open_members_.load() >= limits.max_connections) {
    return refuse(ConnectionRefusalReason::kMaxConnections,
                  fmt::format("{} connections established, the configured "
                              "maximum (limits.max_connections)",
                              limits.max_connections));
  }
  if (!TryReserve(open_handshakes_, limits.max_handshakes)) {
    return refuse(ConnectionRefusalReason::kMaxHandshakes,
                  fmt::format("{} connections in the TLS handshake, the "
                              "configured maximum (limits.max_handshakes)",
                              limits.max_handshakes));
  }
  {
    std::lock_guard lock(mutex_);
    std::size_t& count =
        handshakes_per_address_[SourceAddressKey(peer.address())];
    if (count >= limits.max_handshakes_per_address) {
      open_handshakes_.fetch_sub(1);
      return refuse(ConnectionRefusalReason::kMaxHandshakesPerAddress,
                    fmt::format("{} connections from this address in the TLS "
                                "handshake, the configured maximum "
                                "(limits.max_handshakes_per_address)",
                                limits.max_handshakes_per_address));
    }
    ++count;
  }
  open_.fetch_add(1);
  return true;
}

void ServerState::ReleaseHandshake(const tcp::endpoint& peer) {
  {
    std::lock_guard lock(mutex_);
    auto it = handshakes_per_address_.find(SourceAddressKey(peer.address()));
    if (it != handshakes_per_address_.end() && --it->second == 0) {
      handshakes_per_address_.erase(it);
    }
  }
  open_handshakes_.fetch_sub(1);
}

bool ServerState::FinishHandshake(const tcp::endpoint& peer) {
  ReleaseHandshake(peer);
  if (TryReserve(open_members_, config_.limits.max_connections)) return true;
  connection_refusals_.Record(
      ConnectionRefusalReason::kMaxConnections, FormatEndpoint(peer),
      fmt::format("{} connections established, the configured maximum "
                  "(limits.max_connections); closed after its handshake",
                  config_.limits.max_connections));
  return false;
}

void ServerState::CloseConnection(std::optional<Budget> budget,
                                  const tcp::endpoint& peer) {
  if (budget == Budget::kHandshakes) {
    ReleaseHandshake(peer);
  } else if (budget == Budget::kMembers) {
    open_members_.fetch_sub(1);
  } else if (budget == Budget::kMetrics) {
    open_metrics_.fetch_sub(1);
  }
  if (open_.fetch_sub(1) != 1 || !stopping_.load()) return;
  std::function<void()> on_drained;
  {
    std::lock_guard lock(mutex_);
    on_drained = std::move(on_drained_);
    on_drained_ = nullptr;
  }
  if (on_drained && !io_closed_) on_drained();
}

bool ServerState::TryAddMember(const std::string& fingerprint) {
  std::lock_guard lock(mutex_);
  std::size_t& count = per_member_[fingerprint];
  if (count >= config_.limits.max_connections_per_member) {
    if (count == 0) per_member_.erase(fingerprint);
    return false;
  }
  ++count;
  return true;
}

void ServerState::RemoveMember(const std::string& fingerprint) {
  std::lock_guard lock(mutex_);
  auto it = per_member_.find(fingerprint);
  if (it != per_member_.end() && --it->second == 0) per_member_.erase(it);
}

void ServerState::Register(
    const std::shared_ptr<ConnectionControl>& connection) {
  std::lock_guard lock(mutex_);
  connections_.insert(connection);
}

void ServerState::Unregister(
    const std::shared_ptr<ConnectionControl>& connection) {
  std::lock_guard lock(mutex_);
  connections_.erase(connection);
}

void ServerState::BeginStop(std::function<void()> on_drained) {
  std::set<std::shared_ptr<ConnectionControl>> connections;
  {
    std::lock_guard lock(mutex_);
    on_drained_ = std::move(on_drained);
    stopping_ = true;
    connections = connections_;
  }
  // Each close runs on its connection's strand, ordered with the session's
  // own check of stopping() before it waits for the next request.
  for (const auto& connection : connections) {
    asio::post(connection->strand, [connection] {
      if (connection->stream != nullptr && !connection->busy) {
        connection->stream->cancel();
      }
    });
  }
  if (open_.load() == 0) {
    std::function<void()> callback;
    {
      std::lock_guard lock(mutex_);
      callback = std::move(on_drained_);
      on_drained_ = nullptr;
    }
    if (callback) callback();
  }
}

void ServerState::ForceCloseAll() {
  std::set<std::shared_ptr<ConnectionControl>> connections;
  {
    std::lock_guard lock(mutex_);
    connections = connections_;
  }
  for (const auto& connection : connections) {
    asio::post(connection->strand, [connection] {
      if (connection->stream != nullptr) connection->stream->close();
      if (auto abandon = std::move(connection->abandon)) abandon();
    });
  }
}

HttpResponse MakeErrorResponse(http::status status, ErrorCode code,
                               std::string message, unsigned version) {
  HttpResponse response{status, version};
  response.set(http::field::content_type, "application/json");
  // The router gives every response it answers a request id; refusals made
  // here, before the router, need one too (clients quote it to operators).
  std::array<std::uint8_t, 16> id{};
  RAND_bytes(id.data(), static_cast<int>(id.size()));
  response.set("X-Request-Id", "r_" + HexEncode(id));
  response.body() = wire::EncodeErrorBody(
      Error{code, std::move(message), std::string(), std::nullopt});
  return response;
}

namespace {

using beast::error_code;

// An answer the transport gives itself, and the error code its body names:
// made together, so that what is logged and counted cannot disagree with
// what the client was told.
struct Refusal {
  HttpResponse response;
  ErrorCode code;
};

std::string_view View(beast::string_view s) { return {s.data(), s.size()}; }

Refusal MakeRefusal(http::status status, ErrorCode code, std::string message,
                    unsigned version = 11) {
  return Refusal{MakeErrorResponse(status, code, std::move(message), version),
                 code};
}

// Hands `refusal`, answered here rather than by the handler, to the
// handler's LogRefused, so that it gets an access-log line and is counted
// like any other answer. Call before writing the answer: a client that has
// it can then find the line.
void LogRefusal(ServerState& state, const PeerIdentity& peer,
                std::string_view method, std::string_view target,
                const Refusal& refusal,
                std::chrono::steady_clock::time_point started,
                bool caller_caused = false) {
  RefusedRequest refused;
  refused.method = std::string(method);
  refused.target = std::string(target);
  refused.status = static_cast<int>(refusal.response.result_int());
  refused.error = refusal.code;
  refused.request_id = std::string(refusal.response["X-Request-Id"]);
  refused.latency = std::chrono::steady_clock::now() - started;
  refused.caller_caused = caller_caused;
  state.handler().LogRefused(refused, peer);
}

void LogRefusal(ServerState& state, const PeerIdentity& peer,
                const HttpRequestHeader& header, const Refusal& refusal,
                std::chrono::steady_clock::time_point started,
                bool caller_caused = false) {
  // The method is set once the request line is parsed, even if a later
  // header field failed or went over the header limit; until then both
  // stay empty.
  const bool parsed = !header.method_string().empty();
  LogRefusal(state, peer, parsed ? View(header.method_string()) : "",
             parsed ? View(header.target()) : "", refusal, started,
             caller_caused);
}

// What the access line of an answer the handler dropped needs of its
// request, kept without allocating: this is on every request's path, and
// the request itself has gone to the handler. A path longer than the
// buffer (far longer than any route's) is not kept, and is logged as an
// unknown endpoint.
class RequestLine {
 public:
  RequestLine(const HttpRequestHeader& header,
              std::chrono::steady_clock::time_point started)
      : method_(header.method()), started_(started) {
    const std::string_view target = View(header.target());
    const std::string_view path = target.substr(0, target.find('?'));
    if (path.size() <= path_.size()) {
      path.copy(path_.data(), path.size());
      size_ = path.size();
    }
  }
  std::string_view method() const { return View(http::to_string(method_)); }
  std::string_view path() const { return {path_.data(), size_}; }
  std::chrono::steady_clock::time_point started() const { return started_; }

 private:
  http::verb method_;
  std::size_t size_ = 0;
  std::array<char, 256> path_;
  std::chrono::steady_clock::time_point started_;
};

// Holds the coroutine's completion handler while the RequestHandler works,
// and resumes the coroutine on its strand when `respond` is called. If the
// handler drops `respond` without calling it (a bug), the request gets a 500
// rather than hanging the connection forever.
template <typename Handler>
class PendingResponse {
 public:
  // `peer` lives in the session's coroutine frame, which handler_ owns
  // while the coroutine waits for this answer.
  PendingResponse(Handler handler, std::shared_ptr<ServerState> state,
                  const PeerIdentity& peer, const RequestLine& line)
      : io_(state->io_context()),
        handler_(std::move(handler)),
        work_(asio::make_work_guard(asio::get_associated_executor(handler_))),
        state_(std::move(state)),
        peer_(peer),
        line_(line) {}

  PendingResponse(const PendingResponse&) = delete;
  PendingResponse& operator=(const PendingResponse&) = delete;

  ~PendingResponse() {
    if (!done_.exchange(true) && !state_->io_closed()) {
      // The handler wrote no access line for this request (it never
      // answered it), so the transport has it written.
      Refusal dropped = MakeRefusal(
          http::status::internal_server_error, ErrorCode::kInternal,
          "the hub dropped this request without answering; retry, and "
          "report it to the hub operator if it persists");
      LogRefusal(*state_, peer_, line_.method(), line_.path(), dropped,
                 line_.started());
      Complete(std::move(dropped.response));
    }
  }

  void Respond(HttpResponse response) {
    if (done_.exchange(true)) {
      if (!abandoned_) {
        spdlog::error(
            "RequestHandler called respond twice; ignoring the second "
            "response");
      }
      return;
    }
    Complete(std::move(response));
  }

  // The server is closing the connection (drain deadline): resume the
  // session now; a later Respond is ignored. ForceCloseAll has closed the
  // stream already, so the client normally sees the connection end rather
  // than this answer. Either way the request may be queued in the store,
  // which commits it while closing: the text must not say nothing happened.
  void Abandon() {
    if (done_.exchange(true)) return;
    abandoned_ = true;
    Complete(MakeErrorResponse(
        http::status::service_unavailable, ErrorCode::kUnavailable,
        "the hub shut down before answering, and this request may still "
        "have been carried out: once the hub is back, resend a submit with "
        "the same Idempotency-Key, and check before repeating anything "
        "else (a repeated retraction answers not_found, a repeated "
        "disposition is recorded twice)"));
  }

 private:
  void Complete(HttpResponse response) {
    auto executor = asio::get_associated_executor(handler_);
    asio::post(executor, [handler = std::move(handler_),
                          response = std::move(response)]() mutable {
      handler(std::move(response));
    });
    work_.reset();
  }

  // First, so destroyed last: handler_ and work_ hold the strand, which
  // needs the io_context alive (the handler may outlive the server).
  std::shared_ptr<asio::io_context> io_;
  Handler handler_;
  asio::executor_work_guard<asio::associated_executor_t<Handler>> work_;
  std::shared_ptr<ServerState> state_;
  const PeerIdentity& peer_;
  const RequestLine line_;
  std::atomic<bool> done_{false};
  std::atomic<bool> abandoned_{false};
};

// Awaitable adapter over RequestHandler::Handle: the I/O thread is free while
// the handler (or a store writer it hands the request to) works.
template <typename Token>
auto AsyncHandle(std::shared_ptr<ServerState> state, HttpRequest request,
                 const PeerIdentity& peer, ConnectionControl* control,
                 bool body_skipped,
                 std::chrono::steady_clock::time_point started, Token&& token) {
  return asio::async_initiate<Token, void(HttpResponse)>(
      [](auto handler, std::shared_ptr<ServerState> state, HttpRequest request,
         const PeerIdentity* peer, ConnectionControl* control,
         bool body_skipped, std::chrono::steady_clock::time_point started) {
        using Pending = PendingResponse<decltype(handler)>;
        auto pending = std::make_shared<Pending>(
            std::move(handler), state, *peer, RequestLine(request, started));
        control->abandon = [weak = std::weak_ptr<Pending>(pending)] {
          if (auto alive = weak.lock()) alive->Abandon();
        };
        auto respond = [pending](HttpResponse response) {
          pending->Respond(std::move(response));
        };
        if (body_skipped) {
          state->handler().HandleSkippedBody(std::move(request), *peer,
                                             std::move(respond));
        } else {
          state->handler().Handle(std::move(request), *peer,
                                  std::move(respond));
        }
      },
      token, std::move(state), std::move(request), &peer, control, body_skipped,
      started);
}

// Removes the connection from the server's books when the session ends.
class ConnectionGuard {
 public:
  ConnectionGuard(std::shared_ptr<ServerState> state,
                  std::shared_ptr<ConnectionControl> control,
                  ServerState::Budget budget, const tcp::endpoint& peer)
      : state_(std::move(state)),
        control_(std::move(control)),
        budget_(budget),
        peer_(peer) {
    state_->Register(control_);
  }
  ConnectionGuard(const ConnectionGuard&) = delete;
  ConnectionGuard& operator=(const ConnectionGuard&) = delete;
  ~ConnectionGuard() {
    control_->stream = nullptr;
    state_->Unregister(control_);
    state_->CloseConnection(budget_, peer_);
  }

  // The TLS handshake succeeded: moves the connection from the handshake
  // budget to the members' one; false if that is full (the connection must
  // close, and holds neither).
  bool FinishHandshake() {
    const bool established = state_->FinishHandshake(peer_);
    budget_ = established ? std::optional(ServerState::Budget::kMembers)
                          : std::nullopt;
    return established;
  }

 private:
  std::shared_ptr<ServerState> state_;
  std::shared_ptr<ConnectionControl> control_;
  std::optional<ServerState::Budget> budget_;
  const tcp::endpoint peer_;
};

// Reads and throws away up to `limit` bytes of a request body the hub has
// already answered (plus what `buffer` holds), within `timeout`, so that the
// client finishes sending and reads the answer instead of a reset. Holds
// one 16 KiB scratch buffer, whatever the body's size.
template <typename Stream>
asio::awaitable<void> DiscardBody(Stream& stream, beast::flat_buffer& buffer,
                                  std::uint64_t limit,
                                  std::chrono::nanoseconds timeout) {
  std::uint64_t discarded = buffer.size();
  buffer.consume(buffer.size());
  beast::get_lowest_layer(stream).expires_after(timeout);
  std::array<char, 16384> scratch;
  error_code ec;
  while (discarded < limit) {
    const std::size_t n = co_await stream.async_read_some(
        asio::buffer(scratch), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    discarded += n;
  }
}

enum class Mode { kServe, kRefuseMemberCap, kMetricsOnly };

Refusal BodyTooLarge(const TransportConfig& config, unsigned version) {
  return MakeRefusal(
      http::status::payload_too_large, ErrorCode::kPayloadTooLarge,
      fmt::format("the request body exceeds the hub's limit of {} bytes; "
                  "split the batch into smaller requests",
                  config.limits.body_bytes),
      version);
}

// Writes `response`; with `close`, as the connection's last (the caller
// closes it after).
template <typename Stream>
asio::awaitable<bool> WriteResponse(Stream& stream, HttpResponse& response,
                                    const TransportConfig& config,
                                    bool close = false) {
  if (close) response.keep_alive(false);
  response.prepare_payload();
  beast::get_lowest_layer(stream).expires_after(config.timeouts.write);
  error_code ec;
  co_await http::async_write(stream, response,
                             asio::redirect_error(asio::use_awaitable, ec));
  co_return !ec;
}

bool IsQuietClose(const error_code& ec) {
  return ec == beast::error::timeout || ec == asio::error::eof ||
         ec == asio::error::operation_aborted ||
         ec == asio::error::connection_reset ||
         ec == http::error::end_of_stream ||
         ec == ssl::error::stream_truncated ||
         ec == asio::error::bad_descriptor;
}

// Parses what `buffer` already holds into `parser`, up to the end of the
// header (`header_only`) or of the message, as Beast's reads would. Beast's
// async reads post their completion even when the buffer holds all they
// need, and one-token queries arrive whole in one read: parsing here saves
// each request two trips through the scheduler. Returns false when the
// parser needs bytes the buffer does not hold; Beast's async read then
// continues from where this stopped.
bool ParseBuffered(http::request_parser<http::string_body>& parser,
                   beast::flat_buffer& buffer, bool header_only,
                   error_code& ec) {
  ec = {};
  for (;;) {
    if (header_only ? parser.is_header_done() : parser.is_done()) return true;
    if (buffer.size() == 0) return false;
    const std::size_t used = parser.put(buffer.data(), ec);
    buffer.consume(used);
    if (ec == http::error::need_more) {
      ec = {};
      return false;
    }
    if (ec) return true;
    if (used == 0) return false;
  }
}

// Reads requests until the connection should close. Returns normally in all
// cases; the caller closes the stream.
template <typename Stream>
asio::awaitable<void> ServeRequests(Stream& stream,
                                    std::shared_ptr<ServerState> state,
                                    ConnectionControl& control,
                                    const PeerIdentity& peer, Mode mode) {
  const TransportConfig& config = state->config();
  beast::tcp_stream& lowest = beast::get_lowest_layer(stream);
  beast::flat_buffer buffer;
  const std::string keep_alive_timeout = fmt::format(
      "timeout={}",
      std::chrono::duration_cast<std::chrono::seconds>(config.timeouts.idle)
          .count());
  bool first = true;
  for (;;) {
    control.busy = false;
    if (state->stopping()) co_return;
    error_code ec;
    if (buffer.size() == 0) {
      // Waiting for a request: the idle (keep-alive) timeout applies, and a
      // graceful stop may cancel this read.
      lowest.expires_after(first ? config.timeouts.header_read
                                 : config.timeouts.idle);
      const std::size_t n = co_await stream.async_read_some(
          buffer.prepare(4096), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      buffer.commit(n);
    }
    first = false;
    control.busy = true;
    const auto started = std::chrono::steady_clock::now();

    http::request_parser<http::string_body> parser;
    parser.header_limit(config.limits.header_bytes);
    parser.body_limit(config.limits.body_bytes);
    if (!ParseBuffered(parser, buffer, /*header_only=*/true, ec)) {
      lowest.expires_after(config.timeouts.header_read);
      co_await http::async_read_header(
          stream, buffer, parser,
          asio::redirect_error(asio::use_awaitable, ec));
    }
    const unsigned version = parser.get().version() == 10 ? 10 : 11;
    std::optional<Refusal> refusal;
    if (ec == http::error::header_limit) {
      refusal = MakeRefusal(
          http::status::request_header_fields_too_large,
          ErrorCode::kHeadersTooLarge,
          fmt::format("the request header exceeds the hub's limit of {} bytes; "
                      "send fewer or shorter header fields",
                      config.limits.header_bytes));
    } else if (ec == http::error::body_limit) {
      refusal = BodyTooLarge(config, version);
    } else if (ec && IsQuietClose(ec)) {
      co_return;
    } else if (ec) {
      refusal =
          MakeRefusal(http::status::bad_request, ErrorCode::kInvalidArgument,
                      fmt::format("malformed HTTP request ({}); send HTTP/1.1",
                                  ec.message()));
    }
    // The handshake checked the certificate's validity; a keep-alive
    // connection may outlive it.
    if (!refusal && !ec && peer.not_after &&
        std::chrono::system_clock::now() >= *peer.not_after) {
      refusal = MakeRefusal(
          http::status::forbidden, ErrorCode::kPermissionDenied,
          fmt::format("the client certificate expired at {}; use a renewed "
                      "certificate (registered with the hub operator) and "
                      "connect again",
                      FormatTimestamp(*peer.not_after)),
          version);
    }
    if (refusal) {
      LogRefusal(*state, peer, parser.get(), *refusal, started);
      co_await WriteResponse(stream, refusal->response, config,
                             /*close=*/true);
      co_return;
    }

    // A GET or HEAD takes no body (no endpoint reads one, /healthz
    // included, which any certificate may call): refused here, whoever
    // the caller is, before any of the body is kept. Read and thrown away
    // as below, so that the client reads the answer rather than a reset.
    const bool has_body =
        parser.chunked() || parser.content_length().value_or(0) > 0;
    const std::uint64_t discard = std::min<std::uint64_t>(
        parser.content_length().value_or(config.limits.body_bytes),
        config.limits.body_bytes);
    if (has_body && (parser.get().method() == http::verb::get ||
                     parser.get().method() == http::verb::head)) {
      Refusal refused = MakeRefusal(
          http::status::bad_request, ErrorCode::kInvalidArgument,
          fmt::format("a {} request takes no body; send it without one (no "
                      "Content-Length above 0, no Transfer-Encoding)",
                      View(parser.get().method_string())),
          version);
      LogRefusal(*state, peer, parser.get(), refused, started);
      if (co_await WriteResponse(stream, refused.response, config,
                                 /*close=*/true)) {
        co_await DiscardBody(stream, buffer, discard,
                             config.timeouts.body_read);
      }
      co_return;
    }

    // A request that will be refused whatever its body says is answered
    // without keeping its body: otherwise an unregistered, revoked or
    // suspended certificate (or one over its connection limit) could make
    // the hub buffer a body per connection. The body is still read (into
    // a small scratch buffer, and thrown away) before the connection is
    // closed, because a client that is still sending when the socket
    // closes gets a reset instead of the answer (and would retry).
    //
    // Bodies up to kSmallBody are read as usual: they cost a refused caller
    // no more memory than a connection's buffers do, and asking the handler
    // first would repeat its identity checks on every one-token query
    // (measured: about 15% fewer one-token requests per second).
    constexpr std::uint64_t kSmallBody = 64 * 1024;
    const bool large_body =
        parser.chunked() || parser.content_length().value_or(0) > kSmallBody;
    const bool refuse_now = mode == Mode::kRefuseMemberCap ||
                            (mode == Mode::kServe && large_body &&
                             !state->handler().WantsBody(parser.get(), peer));
    if (refuse_now) {
      HttpResponse response;
      if (mode == Mode::kRefuseMemberCap) {
        Refusal refusal = MakeRefusal(
            http::status::service_unavailable, ErrorCode::kUnavailable,
            fmt::format("this client certificate already has {} open "
                        "connections to the hub, its maximum; reuse "
                        "connections (keep-alive) or close idle ones",
                        config.limits.max_connections_per_member));
        // A 5xx, but the caller's doing: a client reconnecting in a loop
        // would otherwise write a line per refused connection.
        LogRefusal(*state, peer, parser.get(), refusal, started,
                   /*caller_caused=*/true);
        response = std::move(refusal.response);
      } else {
        response = co_await AsyncHandle(state, parser.release(), peer, &control,
                                        /*body_skipped=*/true, started,
                                        asio::use_awaitable);
        control.abandon = nullptr;
      }
      response.version(version);
      if (!co_await WriteResponse(stream, response, config, /*close=*/true)) {
        co_return;
      }
      if (has_body) {
        co_await DiscardBody(stream, buffer, discard,
                             config.timeouts.body_read);
      }
      co_return;
    }

    if (parser.get()[http::field::expect] == "100-continue") {
      http::response<http::empty_body> go_on{http::status::continue_, 11};
      lowest.expires_after(config.timeouts.write);
      co_await http::async_write(stream, go_on,
                                 asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
    }
    if (const auto length = parser.content_length();
        length && *length <= config.limits.body_bytes) {
      // Room for the JSON decoder's read-ahead past the end, so a large
      // batch is decoded where it lies instead of being copied once more
      // (string_body's own reserve(length) then keeps this capacity).
      parser.get().body().reserve(*length + wire::kJsonPadding);
    }
    if (!ParseBuffered(parser, buffer, /*header_only=*/false, ec)) {
      lowest.expires_after(config.timeouts.body_read);
      co_await http::async_read(stream, buffer, parser,
                                asio::redirect_error(asio::use_awaitable, ec));
    }
    if (ec == http::error::body_limit) {
      Refusal refusal = BodyTooLarge(config, version);
      LogRefusal(*state, peer, parser.get(), refusal, started);
      co_await WriteResponse(stream, refusal.response, config, /*close=*/true);
      co_return;
    }
    // A timeout or a peer that went away mid-body gets no answer (Beast has
    // closed the socket on a timeout); a body the parser refused, such as
    // a malformed chunk, is the client's error and is told so.
    if (ec && (IsQuietClose(ec) || ec == http::error::partial_message)) {
      co_return;
    }
    if (ec) {
      Refusal refusal =
          MakeRefusal(http::status::bad_request, ErrorCode::kInvalidArgument,
                      fmt::format("malformed HTTP request body ({}); send a "
                                  "Content-Length body or well-formed chunks",
                                  ec.message()),
                      version);
      LogRefusal(*state, peer, parser.get(), refusal, started);
      co_await WriteResponse(stream, refusal.response, config, /*close=*/true);
      co_return;
    }

    HttpRequest request = parser.release();
    const bool keep_alive = request.keep_alive();
    HttpResponse response;
    if (mode == Mode::kMetricsOnly && (request.method() != http::verb::get ||
                                       request.target() != "/metrics")) {
      Refusal refusal = MakeRefusal(
          http::status::not_found, ErrorCode::kNotFound,
          "this plain-HTTP listener serves only GET /metrics; use the TLS "
          "listener for the API");
      LogRefusal(*state, peer, request, refusal, started);
      response = std::move(refusal.response);
    } else {
      response = co_await AsyncHandle(state, std::move(request), peer, &control,
                                      /*body_skipped=*/false, started,
                                      asio::use_awaitable);
      control.abandon = nullptr;
    }
    // The handler may end the connection with its answer (the API does
    // for a certificate that is no active member's).
    const bool handler_closes =
        http::token_list(response[http::field::connection]).exists("close");
    response.version(version);
    response.keep_alive(keep_alive && !handler_closes && !state->stopping());
    if (response.keep_alive()) {
      // Clients that pool connections (the SDK) stop reusing one well
      // before this, rather than write a request into the hub's close.
      response.set(http::field::keep_alive, keep_alive_timeout);
    }
    if (!co_await WriteResponse(stream, response, config)) co_return;
    if (!response.keep_alive()) co_return;
  }
}

// Reports a connection's refused client certificate, from inside the
// handshake (before the client hears of the refusal, so a client that
// then reads the metric sees it counted).
class HandshakeWatch final : public ClientCertificateWatcher {
 public:
  HandshakeWatch(HandshakeFailureLog& log, const std::string& peer)
      : log_(log), peer_(peer) {}

  void Refused(const RefusedClientCertificate& certificate) override {
    if (reported_) return;
    reported_ = true;
    log_.Record(HandshakeFailure{
        .peer = peer_,
        .reason = HandshakeFailureReason::kCertificate,
        .detail = certificate.reason,
        .fingerprint = certificate.fingerprint,
        .common_name = certificate.common_name,
    });
  }
  bool reported() const { return reported_; }

 private:
  HandshakeFailureLog& log_;
  const std::string& peer_;
  bool reported_ = false;
};

// Records a handshake that failed with `ec` and was not reported by the
// verify callback. The hub's own closes (a graceful or forced stop) are
// not the client's failures and are not counted.
void RecordHandshakeError(HandshakeFailureLog& log, const std::string& peer,
                          const error_code& ec,
                          std::chrono::milliseconds timeout) {
  if (ec == asio::error::operation_aborted ||
      ec == asio::error::bad_descriptor) {
    spdlog::debug("TLS handshake with {} ended by the hub: {}", peer,
                  ec.message());
    return;
  }
  HandshakeFailure failure{.peer = peer};
  std::string detail;
  if (ec == beast::error::timeout) {
    failure.reason = HandshakeFailureReason::kTimeout;
    detail = fmt::format("timed out after {} ms", timeout.count());
  } else if (ec == asio::error::eof || ec == asio::error::connection_reset ||
             ec == asio::error::broken_pipe ||
             ec == ssl::error::stream_truncated) {
    failure.reason = HandshakeFailureReason::kClosed;
    detail = "the client closed the connection (" + ec.message() + ")";
  } else if (ec.category() == asio::error::get_ssl_category() &&
             ERR_GET_REASON(static_cast<unsigned long>(
                 static_cast<unsigned int>(ec.value()))) ==
                 SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
    failure.reason = HandshakeFailureReason::kCertificate;
    detail = "the client sent no certificate";
  } else {
    failure.reason = HandshakeFailureReason::kOther;
    detail = ec.message();
  }
  failure.detail = detail;
  log.Record(failure);
}

}  // namespace

asio::awaitable<void> RunTlsSession(tcp::socket socket, tcp::endpoint remote,
                                    std::shared_ptr<ServerState> state) {
  auto control = std::make_shared<ConnectionControl>(socket.get_executor());
  ConnectionGuard guard(state, control, ServerState::Budget::kHandshakes,
                        remote);
  try {
    const std::shared_ptr<ssl::context> tls = state->tls_context();
    PeerIdentity peer;
    error_code ec;
    peer.remote_address = FormatEndpoint(remote);
    // Before the stream: its SSL points here until it is destroyed.
    HandshakeWatch watch(state->handshake_failures(), peer.remote_address);
    beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), *tls);
    WatchClientCertificate(stream.native_handle(), &watch);
    beast::tcp_stream& lowest = beast::get_lowest_layer(stream);
    control->stream = &lowest;
    if (state->stopping()) co_return;

    lowest.expires_after(state->config().timeouts.handshake);
    co_await stream.async_handshake(
        ssl::stream_base::server,
        asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (!watch.reported()) {
        RecordHandshakeError(state->handshake_failures(), peer.remote_address,
                             ec, state->config().timeouts.handshake);
      }
      co_return;
    }
    peer.fingerprint = PeerCertificateFingerprint(stream.native_handle());
    peer.subject = PeerCertificateSubject(stream.native_handle());
    peer.not_after = PeerCertificateNotAfter(stream.native_handle());
    if (peer.fingerprint.empty()) co_return;  // verify mode forbids this
    // Out of the handshake budget; into the members' one, if it has room.
    if (!guard.FinishHandshake()) {
      lowest.expires_after(std::chrono::seconds(2));
      co_await stream.async_shutdown(
          asio::redirect_error(asio::use_awaitable, ec));
      co_return;
    }

    const bool counted = state->TryAddMember(peer.fingerprint);
    co_await ServeRequests(stream, state, *control, peer,
                           counted ? Mode::kServe : Mode::kRefuseMemberCap);
    if (counted) state->RemoveMember(peer.fingerprint);

    // close_notify, briefly; the peer may already be gone.
    if (lowest.socket().is_open()) {
      lowest.expires_after(std::chrono::seconds(2));
      co_await stream.async_shutdown(
          asio::redirect_error(asio::use_awaitable, ec));
    }
  } catch (const std::exception& e) {
    spdlog::error("connection ended by an unexpected error: {}", e.what());
  }
}

asio::awaitable<void> RunMetricsSession(tcp::socket socket,
                                        tcp::endpoint remote,
                                        std::shared_ptr<ServerState> state) {
  auto control = std::make_shared<ConnectionControl>(socket.get_executor());
  ConnectionGuard guard(state, control, ServerState::Budget::kMetrics, remote);
  try {
    PeerIdentity peer;
    error_code ec;
    peer.remote_address = FormatEndpoint(remote);
    beast::tcp_stream stream(std::move(socket));
    control->stream = &stream;
    co_await ServeRequests(stream, state, *control, peer, Mode::kMetricsOnly);
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  } catch (const std::exception& e) {
    spdlog::error("metrics connection ended by an unexpected error: {}",
                  e.what());
  }
}

}  // namespace cairn::server
