// Internal helpers shared by the wire codecs: a per-thread simdjson parser,
// field paths for error messages, strict/lenient object walking, value
// checks, and RapidJSON writer helpers. Not part of the public API.
#ifndef CAIRN_COMMON_SRC_WIRE_JSON_H_
#define CAIRN_COMMON_SRC_WIRE_JSON_H_

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <simdjson.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cairn/result.h"
#include "cairn/timestamp.h"
#include "cairn/vocabulary.h"
#include "cairn/wire/query.h"
#include "cairn/wire/signals.h"
#include "cairn/wire/types.h"

// Propagates the error of a Status/Result expression from a function that
// returns any Result<T>.
#define CAIRN_WIRE_TRY(expr)                                   \
  do {                                                         \
    if (auto cairn_wire_status_ = (expr); !cairn_wire_status_) \
      return tl::unexpected<::cairn::Error>(                   \
          std::move(cairn_wire_status_.error()));              \
  } while (false)

namespace cairn::wire::internal {

namespace od = simdjson::ondemand;

// The path of the value being decoded, kept as segments so that the happy
// path never builds strings.
class Path {
 public:
  void PushKey(std::string_view key) {
    if (size_ < kMaxSegments) segments_[size_] = {key, 0, false, false};
    ++size_;
  }
  // `batch` marks the index of a request's top-level batch array; errors
  // below it carry Error::index.
  void PushIndex(std::size_t index, bool batch = false) {
    if (size_ < kMaxSegments) segments_[size_] = {{}, index, true, batch};
    ++size_;
  }
  void Pop() { --size_; }

  std::string ToString() const;
  std::optional<std::size_t> BatchIndex() const;

 private:
  struct Segment {
    std::string_view key;
    std::size_t index;
    bool is_index;
    bool batch;
  };
  static constexpr std::size_t kMaxSegments = 8;
  std::array<Segment, kMaxSegments> segments_{};
  std::size_t size_ = 0;
};

// kInvalidArgument at `path` with `message`.
tl::unexpected<Error> Fail(const Path& path, std::string message);
// Maps a simdjson error at `path` to a message; `expected` names the wanted
// type for INCORRECT_TYPE ("a string", "an array", ...).
tl::unexpected<Error> FailJson(const Path& path, simdjson::error_code error,
                               std::string_view expected);

// Starts decoding `json` with this thread's parser. Copies into a padded
// per-thread buffer unless capacity >= json.size() + kJsonPadding.
Result<od::object> StartObject(std::string_view json, std::size_t capacity,
                               od::document& doc);
// Fails if anything but whitespace follows the root value.
Status FinishDocument(od::document& doc);

enum class Mode { kStrict, kLenient };

// Walks the fields of `obj`. For a key in `keys` calls
// `on_field(key_index, od::value&)` with `path` extended by the key; unknown
// keys fail in kStrict mode and are skipped in kLenient mode; a repeated key
// always fails. Returns the bit set of keys seen.
template <std::size_t N, typename OnField>
Result<std::uint32_t> WalkObject(od::object& obj,
                                 const std::array<std::string_view, N>& keys,
                                 Mode mode, Path& path, OnField&& on_field) {
  static_assert(N <= 32);
  std::uint32_t seen = 0;
  for (auto field : obj) {
    std::string_view key;
    if (auto err = field.unescaped_key().get(key)) {
      return FailJson(path, err, "an object");
    }
    std::size_t i = 0;
    while (i < N && keys[i] != key) ++i;
    if (i == N) {
      if (mode == Mode::kLenient) continue;  // simdjson skips the value
      path.PushKey(key);
      return Fail(path,
                  "unknown field; remove it or fix its spelling (field names "
                  "are case-sensitive, see schemas/openapi.yaml)");
    }
    path.PushKey(keys[i]);
    if (seen & (1u << i)) {
      return Fail(path, "field appears twice in one object; send it once");
    }
    seen |= 1u << i;
    od::value value;
    if (auto err = field.value().get(value))
      return FailJson(path, err, "a value");
    CAIRN_WIRE_TRY(on_field(i, value));
    path.Pop();
  }
  return seen;
}

// Fails naming the first key of `keys` whose bit is in `required` but not in
// `seen`.
template <std::size_t N>
Status RequireFields(std::uint32_t seen, std::uint32_t required,
                     const std::array<std::string_view, N>& keys, Path& path) {
  const std::uint32_t missing = required & ~seen;
  if (missing == 0) return {};
  for (std::size_t i = 0; i < N; ++i) {
    if (missing & (1u << i)) {
      path.PushKey(keys[i]);
      return Fail(path, "missing required field; add it");
    }
  }
  return {};
}

// Bit mask helper: Bits(0, 2) == 0b101.
template <typename... I>
constexpr std::uint32_t Bits(I... i) {
  return ((1u << static_cast<unsigned>(i)) | ... | 0u);
}

// Calls on_item(index, od::value&) for each element with `path` extended by
// [index]. Fails unless min_items <= size <= max_items.
template <typename OnItem>
Status WalkArray(od::value& value, Path& path, std::size_t min_items,
                 std::size_t max_items, bool batch, OnItem&& on_item) {
  od::array array;
  if (auto err = value.get_array().get(array)) {
    return FailJson(path, err, "an array");
  }
  std::size_t index = 0;
  for (auto element : array) {
    od::value item;
    path.PushIndex(index, batch);
    if (auto err = element.get(item)) return FailJson(path, err, "a value");
    if (index >= max_items) {
      path.Pop();
      return Fail(path, "too many items: at most " + std::to_string(max_items) +
                            " allowed; split the request");
    }
    CAIRN_WIRE_TRY(on_item(index, item));
    path.Pop();
    ++index;
  }
  if (index < min_items) {
    return Fail(path, min_items == 1
                          ? std::string("must not be empty; send at least one "
                                        "item")
                          : "too few items: at least " +
                                std::to_string(min_items) + " required");
  }
  return {};
}

// Value readers. Each fails with a message naming the expected shape.
Result<od::object> GetObject(od::value& value, Path& path);
Result<std::string_view> GetString(od::value& value, Path& path);
// A string of min..max bytes without control characters (C0, DEL, C1);
// `allow_newlines` permits \n, \r and \t (free text such as notes).
Result<std::string_view> GetText(od::value& value, Path& path,
                                 std::size_t min_bytes, std::size_t max_bytes,
                                 bool allow_newlines = false);
Result<std::uint64_t> GetUint(od::value& value, Path& path, std::uint64_t max);
Result<bool> GetBool(od::value& value, Path& path);
Status GetToken(od::value& value, Path& path, Token& out);
Result<std::string_view> GetKind(od::value& value, Path& path);
Result<TokenScheme> GetScheme(od::value& value, Path& path);
Result<Timestamp> GetTimestamp(od::value& value, Path& path);
Result<Category> GetCategory(od::value& value, Path& path);
Result<Severity> GetSeverity(od::value& value, Path& path);
Result<RetractReason> GetRetractReason(od::value& value, Path& path);
Result<Outcome> GetOutcome(od::value& value, Path& path);
Result<Role> GetRole(od::value& value, Path& path);
Result<FeedEventType> GetFeedEventType(od::value& value, Path& path);
// A string checked by `is_valid`; `what` completes "expected ...".
Result<std::string_view> GetShaped(od::value& value, Path& path,
                                   bool (*is_valid)(std::string_view),
                                   std::string_view what);
// A list of 1..3 distinct roles.
Status GetRoles(od::value& value, Path& path, std::vector<Role>& out);
void WriteRoles(rapidjson::Writer<rapidjson::StringBuffer>& w,
                const std::vector<Role>& roles);
// An item error object {"code","message","field"?} (lenient).
Result<ItemError> GetItemError(od::value& value, Path& path);
// A receipt object (lenient: unknown fields are ignored).
Result<Receipt> GetReceipt(od::value& value, Path& path);

struct Duplicate {
  std::size_t later;
  std::size_t earlier;
};

std::vector<std::uint32_t>& DuplicateTable(std::size_t count);

// Finds the first item (in order) equal to an earlier one, using a
// per-thread open-addressing table. `hash(i)` and `equal(i, j)` describe the
// items. Returns nullopt when all items are distinct.
template <typename Hash, typename Equal>
std::optional<Duplicate> FindFirstDuplicate(std::size_t count, Hash&& hash,
                                            Equal&& equal) {
  auto& table = DuplicateTable(count);
  const std::size_t mask = table.size() - 1;
  constexpr std::uint32_t kEmpty = UINT32_MAX;
  for (std::size_t i = 0; i < count; ++i) {
    std::size_t slot = static_cast<std::size_t>(hash(i)) & mask;
    while (true) {
      const std::uint32_t j = table[slot];
      if (j == kEmpty) {
        table[slot] = static_cast<std::uint32_t>(i);
        break;
      }
      if (equal(j, i)) return Duplicate{i, j};
      slot = (slot + 1) & mask;
    }
  }
  return std::nullopt;
}

// SipHash-2-4 (libsodium) under a per-process random key.
std::uint64_t KeyedHash(std::string_view bytes);

// Hashes token keys for duplicate detection: TokenHash (keyed NH, a few
// nanoseconds) of the token, tweaked by the scheme, the epoch and the
// kind's KeyedHash. The kind's hash is remembered from the previous call,
// since a batch is nearly always of one or two kinds.
class TokenKeyHasher {
 public:
  std::uint64_t operator()(const TokenKey& key);

 private:
  std::string last_kind_;
  std::uint64_t last_kind_hash_ = 0;
  bool have_last_ = false;
};

// Decodes the kind/token/scheme/epoch members of an object; keys are
// handled by the caller's WalkObject, which forwards to this per key.
enum TokenKeyField : std::size_t { kKind, kToken, kScheme, kEpoch };
Status DecodeTokenKeyField(std::size_t field, od::value& value, Path& path,
                           TokenKey& key);

// Decodes one request/response body: starts the document, runs
// `body(od::object&, Path&, T&)`, then checks nothing trails the object.
template <typename T, typename Body>
Status DecodeInto(std::string_view json, std::size_t capacity, T& out,
                  Body&& body) {
  od::document doc;
  auto object = StartObject(json, capacity, doc);
  if (!object) return tl::unexpected<Error>(std::move(object.error()));
  Path path;
  CAIRN_WIRE_TRY(body(*object, path, out));
  return FinishDocument(doc);
}

template <typename T, typename Body>
Result<T> DecodeBody(std::string_view json, Body&& body) {
  T out;
  CAIRN_WIRE_TRY(DecodeInto(json, 0, out, std::forward<Body>(body)));
  return out;
}

// Fails at path "<array>[later]" with Error::index = later.
tl::unexpected<Error> FailDuplicate(std::string_view array, Duplicate dup,
                                    std::string_view same);

// ---- Encoding ----
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void WriteKey(Writer& w, std::string_view key);
void WriteString(Writer& w, std::string_view value);
void WriteToken(Writer& w, const Token& token);
void WriteTimestamp(Writer& w, Timestamp t);
// Writes kind, token and, unless `always` is false and they hold their
// defaults, scheme and epoch.
void WriteTokenKey(Writer& w, const TokenKey& key, bool always);
void WriteItemError(Writer& w, const ItemError& error);
void WriteRaw(Writer& w, std::string_view json);
void WriteReceipt(Writer& w, const Receipt& receipt);
// The results/matches arrays of the batch responses. Receipts digest these
// exact encodings (cairn/receipt.h), so responses are written with them too.
void WriteSubmitResults(Writer& w, const std::vector<SubmitResult>& results);
void WriteRetractResults(Writer& w, const std::vector<RetractResult>& results);
void WriteMatches(Writer& w, const std::vector<Match>& matches);
std::string Take(rapidjson::StringBuffer& buffer);

// Formats into a 20-byte buffer without allocating.
void FormatTimestampTo(Timestamp t, char (&out)[20]);

// ---- Pages ----

// Decodes {"<items>":[...],"cursor":"...","more":bool}.
template <typename Body, typename Item, typename DecodeItem>
Result<Body> DecodePage(std::string_view json,
                        const std::array<std::string_view, 3>& keys,
                        std::vector<Item> Body::*items,
                        DecodeItem decode_item) {
  return DecodeBody<Body>(
      json, [&](od::object& root, Path& path, Body& out) -> Status {
        auto seen = WalkObject(
            root, keys, Mode::kLenient, path,
            [&](std::size_t key, od::value& v) -> Status {
              if (key == 0) {
                return WalkArray(v, path, 0, kMaxPageLimit, false,
                                 [&](std::size_t, od::value& item) -> Status {
                                   return decode_item(
                                       item, path, (out.*items).emplace_back());
                                 });
              }
              if (key == 1) {
                auto c =
                    GetShaped(v, path, &IsWellFormedCursor,
                              "a cursor of 1..64 characters [A-Za-z0-9._~-]");
                if (!c) return tl::unexpected<Error>(std::move(c.error()));
                out.cursor = std::string(*c);
                return {};
              }
              auto b = GetBool(v, path);
              if (!b) return tl::unexpected<Error>(std::move(b.error()));
              out.more = *b;
              return {};
            });
        if (!seen) return tl::unexpected<Error>(std::move(seen.error()));
        return RequireFields(*seen, Bits(0, 1, 2), keys, path);
      });
}

// Ends a page written as {"<items>":[ ...: closes the array, then writes
// the cursor and more members and closes the object.
inline void WritePageTail(Writer& w, const std::string& cursor, bool more) {
  w.EndArray();
  WriteKey(w, "cursor");
  WriteString(w, cursor);
  WriteKey(w, "more");
  w.Bool(more);
  w.EndObject();
}

}  // namespace cairn::wire::internal

#endif  // CAIRN_COMMON_SRC_WIRE_JSON_H_
