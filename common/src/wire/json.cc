#include "json.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <functional>
#include <vector>

#include "cairn/token_hash.h"

namespace cairn::wire::internal {

static_assert(kJsonPadding >= simdjson::SIMDJSON_PADDING,
              "kJsonPadding must cover simdjson's read-ahead");

std::string Path::ToString() const {
  std::string out;
  const std::size_t n = size_ < kMaxSegments ? size_ : kMaxSegments;
  for (std::size_t i = 0; i < n; ++i) {
    const auto& s = segments_[i];
    if (s.is_index) {
      out += '[';
      out += std::to_string(s.index);
      out += ']';
    } else {
      if (!out.empty()) out += '.';
      out += s.key;
    }
  }
  return out;
}

std::optional<std::size_t> Path::BatchIndex() const {
  const std::size_t n = size_ < kMaxSegments ? size_ : kMaxSegments;
  for (std::size_t i = 0; i < n; ++i) {
    if (segments_[i].is_index && segments_[i].batch) return segments_[i].index;
  }
  return std::nullopt;
}

tl::unexpected<Error> Fail(const Path& path, std::string message) {
  return tl::unexpected<Error>(Error{ErrorCode::kInvalidArgument,
                                     std::move(message), path.ToString(),
                                     path.BatchIndex()});
}

tl::unexpected<Error> FailJson(const Path& path, simdjson::error_code error,
                               std::string_view expected) {
  switch (error) {
    case simdjson::INCORRECT_TYPE:
      return Fail(path, "expected " + std::string(expected));
    case simdjson::NUMBER_OUT_OF_RANGE:
    case simdjson::NUMBER_ERROR:
      return Fail(path,
                  "number out of range; see the field's bounds in "
                  "schemas/openapi.yaml");
    case simdjson::EMPTY:
      return Fail(path, "the request body is empty; send a JSON object");
    case simdjson::DEPTH_ERROR:
      return Fail(path, "JSON nested too deeply; send the documented shape");
    default:
      return Fail(path, std::string("the body is not valid JSON (") +
                            simdjson::error_message(error) +
                            "); send one UTF-8 JSON object");
  }
}

namespace {

od::parser& ThreadParser() {
  thread_local od::parser parser;
  return parser;
}

std::string& ThreadBuffer() {
  thread_local std::string buffer;
  return buffer;
}

bool IsTextControl(unsigned char c, unsigned char next, bool allow_newlines) {
  if (c < 0x20)
    return !(allow_newlines && (c == '\n' || c == '\r' || c == '\t'));
  if (c == 0x7f) return true;
  // C1 controls U+0080..U+009F are 0xC2 0x80..0x9F in UTF-8.
  return c == 0xc2 && next >= 0x80 && next <= 0x9f;
}

template <typename E>
Result<E> GetEnum(od::value& value, Path& path,
                  std::optional<E> (*parse)(std::string_view),
                  std::string_view allowed) {
  auto s = GetString(value, path);
  if (!s) return tl::unexpected<Error>(std::move(s.error()));
  if (auto parsed = parse(*s)) return *parsed;
  return Fail(path, "unknown value; use one of " + std::string(allowed));
}

}  // namespace

Result<od::object> StartObject(std::string_view json, std::size_t capacity,
                               od::document& doc) {
  Path root;
  auto& parser = ThreadParser();
  simdjson::error_code err;
  if (capacity >= json.size() + kJsonPadding) {
    err = parser.iterate(json.data(), json.size(), capacity).get(doc);
  } else {
    auto& buffer = ThreadBuffer();
    buffer.assign(json);
    buffer.append(kJsonPadding, ' ');
    err = parser.iterate(buffer.data(), json.size(), buffer.size()).get(doc);
  }
  if (err) return FailJson(root, err, "a JSON object");
  od::object object;
  if (auto e = doc.get_object().get(object)) {
    return FailJson(root, e, "a JSON object at the top level");
  }
  return object;
}

Status FinishDocument(od::document& doc) {
  const char* location = nullptr;
  if (doc.current_location().get(location) == simdjson::SUCCESS) {
    return Fail(Path{},
                "unexpected content after the JSON object; send "
                "exactly one object");
  }
  return {};
}

Result<od::object> GetObject(od::value& value, Path& path) {
  od::object object;
  if (auto err = value.get_object().get(object)) {
    return FailJson(path, err, "an object");
  }
  return object;
}

Result<std::string_view> GetString(od::value& value, Path& path) {
  std::string_view s;
  if (auto err = value.get_string().get(s))
    return FailJson(path, err, "a string");
  return s;
}

Result<std::string_view> GetText(od::value& value, Path& path,
                                 std::size_t min_bytes, std::size_t max_bytes,
                                 bool allow_newlines) {
  auto s = GetString(value, path);
  if (!s) return s;
  if (auto checked = CheckText(*s, min_bytes, max_bytes, allow_newlines);
      !checked) {
    return Fail(path, std::move(checked.error().message));
  }
  return s;
}

Result<std::uint64_t> GetUint(od::value& value, Path& path, std::uint64_t max) {
  std::uint64_t n = 0;
  const std::string range = "a whole number from 0 to " + std::to_string(max);
  if (auto err = value.get_uint64().get(n)) {
    if (err == simdjson::INCORRECT_TYPE || err == simdjson::NUMBER_ERROR ||
        err == simdjson::NUMBER_OUT_OF_RANGE) {
      return Fail(path, "expected " + range);
    }
    return FailJson(path, err, range);
  }
  if (n > max) return Fail(path, "expected " + range);
  return n;
}

Result<bool> GetBool(od::value& value, Path& path) {
  bool b = false;
  if (auto err = value.get_bool().get(b)) {
    return FailJson(path, err, "true or false");
  }
  return b;
}

namespace {

// 64 lowercase hex characters at `text` into `out`; false if any is not
// lowercase hex. The query path decodes up to 10,000 tokens per request and
// this loop was a quarter of its decode time, hence SSE2 (part of x86-64's
// baseline, so no dispatch is needed) with a table-driven fallback.
bool DecodeHexToken(const unsigned char* text, Token& out) {
#if defined(__SSE2__)
  const __m128i below_zero = _mm_set1_epi8('0' - 1);
  const __m128i above_nine = _mm_set1_epi8('9' + 1);
  const __m128i below_a = _mm_set1_epi8('a' - 1);
  const __m128i above_f = _mm_set1_epi8('f' + 1);
  const __m128i zero = _mm_set1_epi8('0');
  const __m128i a_minus_ten = _mm_set1_epi8('a' - 10);
  const __m128i high_nibble = _mm_set1_epi16(0x00f0);
  int valid = 0xffff;
  __m128i packed[2];
  for (int half = 0; half < 2; ++half) {
    __m128i nibbles[2];
    for (int part = 0; part < 2; ++part) {
      const __m128i v = _mm_loadu_si128(
          reinterpret_cast<const __m128i*>(text + 32 * half + 16 * part));
      // Signed compares: bytes >= 0x80 are negative and fail both ranges.
      const __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, below_zero),
                                          _mm_cmplt_epi8(v, above_nine));
      const __m128i letter =
          _mm_and_si128(_mm_cmpgt_epi8(v, below_a), _mm_cmplt_epi8(v, above_f));
      valid &= _mm_movemask_epi8(_mm_or_si128(digit, letter));
      nibbles[part] =
          _mm_or_si128(_mm_and_si128(digit, _mm_sub_epi8(v, zero)),
                       _mm_and_si128(letter, _mm_sub_epi8(v, a_minus_ten)));
    }
    // Each 16-bit lane holds (first char's nibble, second char's nibble);
    // the byte is first << 4 | second.
    __m128i bytes[2];
    for (int part = 0; part < 2; ++part) {
      bytes[part] = _mm_or_si128(
          _mm_and_si128(_mm_slli_epi16(nibbles[part], 4), high_nibble),
          _mm_srli_epi16(nibbles[part], 8));
    }
    packed[half] = _mm_packus_epi16(bytes[0], bytes[1]);
  }
  if (valid != 0xffff) return false;
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out.data()), packed[0]);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out.data() + 16), packed[1]);
  return true;
#else
  // Nibble value of each byte for lowercase hex, 0xff for anything else. A
  // table rather than comparisons: token digits are random, so a branchy
  // decoder mispredicts on every other character (measured 3x slower on the
  // 10,000-token query path).
  static constexpr std::array<std::uint8_t, 256> kLowerHexNibble = [] {
    std::array<std::uint8_t, 256> table{};
    table.fill(0xff);
    for (int c = '0'; c <= '9'; ++c)
      table[c] = static_cast<std::uint8_t>(c - '0');
    for (int c = 'a'; c <= 'f'; ++c) {
      table[c] = static_cast<std::uint8_t>(c - 'a' + 10);
    }
    return table;
  }();
  std::uint8_t invalid = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::uint8_t hi = kLowerHexNibble[text[2 * i]];
    const std::uint8_t lo = kLowerHexNibble[text[2 * i + 1]];
    invalid |= hi | lo;
    out[i] = static_cast<std::uint8_t>((hi << 4) | (lo & 0x0f));
  }
  // Valid nibbles are < 16, so any 0xff leaves the high bits set.
  return (invalid & 0xf0) == 0;
#endif
}

// The slow path for a token written with JSON escapes ("\u0030..."): the
// same text as a standalone JSON string, unescaped by simdjson. `raw`
// points just past the opening quote of a string simdjson has validated.
std::optional<std::string> UnescapeRaw(const char* raw) {
  std::size_t end = 0;
  while (raw[end] != '"') end += raw[end] == '\\' ? 2 : 1;
  if (std::memchr(raw, '\\', end) == nullptr) return std::nullopt;
  simdjson::padded_string json(std::string("\"") + std::string(raw, end) +
                               "\"");
  od::parser parser;
  od::document doc;
  std::string_view text;
  if (parser.iterate(json).get(doc) || doc.get_string().get(text)) {
    return std::nullopt;
  }
  return std::string(text);
}

}  // namespace

Status GetToken(od::value& value, Path& path, Token& out) {
  // The raw string avoids simdjson's unescape-and-copy of 64 characters per
  // token: valid hex never contains a quote or a backslash, so reading the
  // text as it stands in the body is exact. The document is padded
  // (kJsonPadding), so reading 65 bytes from inside it stays in bounds even
  // when the string is shorter.
  od::raw_json_string raw;
  if (auto err = value.get_raw_json_string().get(raw)) {
    return FailJson(path, err, "a string");
  }
  const auto* text = reinterpret_cast<const unsigned char*>(raw.raw());
  if (DecodeHexToken(text, out) && text[2 * out.size()] == '"') return {};
  if (auto unescaped = UnescapeRaw(raw.raw())) {
    if (unescaped->size() == 2 * out.size()) {
      const auto* u = reinterpret_cast<const unsigned char*>(unescaped->data());
      if (DecodeHexToken(u, out)) return {};
    }
  }
  return Fail(path,
              "expected 64 lowercase hex characters (a 32-byte token; "
              "uppercase hex is not accepted)");
}

Result<std::string_view> GetKind(od::value& value, Path& path) {
  auto s = GetString(value, path);
  if (!s) return s;
  if (!IsWellFormedKind(*s)) {
    return Fail(path,
                "expected a kind: \"email\", \"phone\", \"handle\", "
                "\"device\", \"url\" or a registered custom kind matching "
                "^[a-z][a-z0-9_]{1,31}$");
  }
  return s;
}

Result<TokenScheme> GetScheme(od::value& value, Path& path) {
  return GetEnum<TokenScheme>(value, path, &ParseTokenScheme,
                              "\"hmac-v1\", \"voprf-v1\"");
}

Result<Timestamp> GetTimestamp(od::value& value, Path& path) {
  auto s = GetString(value, path);
  if (!s) return tl::unexpected<Error>(std::move(s.error()));
  auto t = ParseTimestamp(*s);
  if (!t) return Fail(path, std::move(t.error().message));
  return *t;
}

Result<Category> GetCategory(od::value& value, Path& path) {
  return GetEnum<Category>(value, path, &ParseCategory,
                           "\"grooming\", \"sextortion\", \"csam_sharing\", "
                           "\"csam_production\", \"trafficking\", \"other\"");
}

Result<Severity> GetSeverity(od::value& value, Path& path) {
  return GetEnum<Severity>(value, path, &ParseSeverity,
                           "\"low\", \"medium\", \"high\", \"critical\"");
}

Result<RetractReason> GetRetractReason(od::value& value, Path& path) {
  return GetEnum<RetractReason>(
      value, path, &ParseRetractReason,
      "\"appeal_upheld\", \"error\", \"duplicate\", \"other\"");
}

Result<Outcome> GetOutcome(od::value& value, Path& path) {
  return GetEnum<Outcome>(
      value, path, &ParseOutcome,
      "\"confirmed\", \"actioned\", \"no_action\", \"false_positive\"");
}

Result<Role> GetRole(od::value& value, Path& path) {
  return GetEnum<Role>(value, path, &ParseRole,
                       "\"member\", \"compliance\", \"operator\"");
}

Result<FeedEventType> GetFeedEventType(od::value& value, Path& path) {
  return GetEnum<FeedEventType>(value, path, &ParseFeedEventType,
                                "\"added\", \"retracted\", \"expired\"");
}

Result<std::string_view> GetShaped(od::value& value, Path& path,
                                   bool (*is_valid)(std::string_view),
                                   std::string_view what) {
  auto s = GetString(value, path);
  if (!s) return s;
  if (!is_valid(*s)) return Fail(path, "expected " + std::string(what));
  return s;
}

Result<ItemError> GetItemError(od::value& value, Path& path) {
  static constexpr std::array<std::string_view, 3> kKeys = {"code", "message",
                                                            "field"};
  auto object = GetObject(value, path);
  if (!object) return tl::unexpected<Error>(std::move(object.error()));
  ItemError out;
  auto seen = WalkObject(*object, kKeys, Mode::kLenient, path,
                         [&](std::size_t key, od::value& v) -> Status {
                           auto s = GetString(v, path);
                           if (!s)
                             return tl::unexpected<Error>(std::move(s.error()));
                           if (key == 0) {
                             auto code = ErrorCodeFromName(*s);
                             // A code this client does not know yet is still an
                             // error.
                             out.code = code.value_or(ErrorCode::kInternal);
                           } else if (key == 1) {
                             out.message = std::string(*s);
                           } else {
                             out.field = std::string(*s);
                           }
                           return {};
                         });
  if (!seen) return tl::unexpected<Error>(std::move(seen.error()));
  CAIRN_WIRE_TRY(RequireFields(*seen, Bits(0, 1), kKeys, path));
  return out;
}

Status GetRoles(od::value& value, Path& path, std::vector<Role>& out) {
  return WalkArray(value, path, 1, 3, false,
                   [&](std::size_t, od::value& item) -> Status {
                     auto role = GetRole(item, path);
                     if (!role) {
                       return tl::unexpected<Error>(std::move(role.error()));
                     }
                     for (Role r : out) {
                       if (r == *role) {
                         return Fail(path, "role listed twice; list it once");
                       }
                     }
                     out.push_back(*role);
                     return {};
                   });
}

void WriteRoles(Writer& w, const std::vector<Role>& roles) {
  w.StartArray();
  for (Role r : roles) WriteString(w, ToString(r));
  w.EndArray();
}

Result<Receipt> GetReceipt(od::value& value, Path& path) {
  static constexpr std::array<std::string_view, 9> kReceiptKeys = {
      "key_id",   "alg",      "member",         "request_id",
      "at",       "endpoint", "request_digest", "results_digest",
      "signature"};
  auto object = GetObject(value, path);
  if (!object) return tl::unexpected<Error>(std::move(object.error()));
  Receipt out;
  auto seen = WalkObject(
      *object, kReceiptKeys, Mode::kLenient, path,
      [&](std::size_t key, od::value& v) -> Status {
        switch (key) {
          case 2: {
            auto id = GetShaped(v, path, &IsWellFormedMemberId,
                                "a member id (^[a-z][a-z0-9-]{1,31}$)");
            if (!id) return tl::unexpected<Error>(std::move(id.error()));
            out.member = std::string(*id);
            return {};
          }
          case 3: {
            auto id = GetShaped(v, path, &IsWellFormedRequestId,
                                "\"r_\" and 32 lowercase hex");
            if (!id) return tl::unexpected<Error>(std::move(id.error()));
            out.request_id = std::string(*id);
            return {};
          }
          case 4: {
            auto t = GetTimestamp(v, path);
            if (!t) return tl::unexpected<Error>(std::move(t.error()));
            out.at = *t;
            return {};
          }
          case 6:
          case 7: {
            auto d = GetShaped(
                v, path, [](std::string_view s) { return IsLowerHex(s, 64); },
                "64 lowercase hex characters");
            if (!d) return tl::unexpected<Error>(std::move(d.error()));
            (key == 6 ? out.request_digest : out.results_digest) =
                std::string(*d);
            return {};
          }
          default: {
            auto text = GetText(v, path, 1, 256);
            if (!text) return tl::unexpected<Error>(std::move(text.error()));
            (key == 0   ? out.key_id
             : key == 1 ? out.alg
             : key == 5 ? out.endpoint
                        : out.signature) = std::string(*text);
            return {};
          }
        }
      });
  if (!seen) return tl::unexpected<Error>(std::move(seen.error()));
  CAIRN_WIRE_TRY(RequireFields(*seen, 0x1ff, kReceiptKeys, path));
  return out;
}

tl::unexpected<Error> FailDuplicate(std::string_view array, Duplicate dup,
                                    std::string_view same) {
  Path path;
  path.PushKey(array);
  path.PushIndex(dup.later, true);
  return Fail(path, "duplicates " + std::string(array) + "[" +
                        std::to_string(dup.earlier) + "] (same " +
                        std::string(same) + "); remove one of them");
}

std::vector<std::uint32_t>& DuplicateTable(std::size_t count) {
  thread_local std::vector<std::uint32_t> table;
  std::size_t size = 16;
  while (size < 2 * count) size <<= 1;
  table.assign(size, UINT32_MAX);
  return table;
}

namespace {

// Batch items are attacker-chosen, so duplicate detection hashes with a
// process-random SipHash key: crafted collisions cannot make it quadratic.
const unsigned char* HashKey() {
  static const auto* key = [] {
    static unsigned char k[crypto_shorthash_KEYBYTES];
    if (sodium_init() < 0) std::abort();
    randombytes_buf(k, sizeof k);
    return k;
  }();
  return key;
}

}  // namespace

std::uint64_t KeyedHash(std::string_view bytes) {
  unsigned char out[crypto_shorthash_BYTES];
  crypto_shorthash(out, reinterpret_cast<const unsigned char*>(bytes.data()),
                   bytes.size(), HashKey());
  std::uint64_t h = 0;
  std::memcpy(&h, out, sizeof h);
  return h;
}

std::uint64_t TokenKeyHasher::operator()(const TokenKey& key) {
  if (!have_last_ || key.kind != last_kind_) {
    last_kind_ = key.kind;
    last_kind_hash_ = KeyedHash(key.kind);
    have_last_ = true;
  }
  return TokenHash(key.token, last_kind_hash_ ^
                                  (std::uint64_t{key.epoch} << 8) ^
                                  static_cast<std::uint8_t>(key.scheme));
}

Status DecodeTokenKeyField(std::size_t field, od::value& value, Path& path,
                           TokenKey& key) {
  switch (field) {
    case kKind: {
      auto kind = GetKind(value, path);
      if (!kind) return tl::unexpected<Error>(std::move(kind.error()));
      key.kind.assign(kind->data(), kind->size());
      return {};
    }
    case kToken:
      return GetToken(value, path, key.token);
    case kScheme: {
      auto scheme = GetScheme(value, path);
      if (!scheme) return tl::unexpected<Error>(std::move(scheme.error()));
      key.scheme = *scheme;
      return {};
    }
    case kEpoch: {
      auto epoch = GetUint(value, path, UINT32_MAX);
      if (!epoch) return tl::unexpected<Error>(std::move(epoch.error()));
      key.epoch = static_cast<std::uint32_t>(*epoch);
      return {};
    }
    default:
      return {};
  }
}

void WriteKey(Writer& w, std::string_view key) {
  w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
}

void WriteString(Writer& w, std::string_view value) {
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

void WriteToken(Writer& w, const Token& token) {
  static constexpr char kHex[] = "0123456789abcdef";
  char out[64];
  for (std::size_t i = 0; i < token.size(); ++i) {
    out[2 * i] = kHex[token[i] >> 4];
    out[2 * i + 1] = kHex[token[i] & 0xf];
  }
  // Hex never needs escaping: skip the Writer's per-character escape scan,
  // which cost more than the rest of a query item's encoding.
  char quoted[sizeof out + 2];
  quoted[0] = '"';
  std::memcpy(quoted + 1, out, sizeof out);
  quoted[sizeof quoted - 1] = '"';
  w.RawValue(quoted, sizeof quoted, rapidjson::kStringType);
}

void WriteTimestamp(Writer& w, Timestamp t) {
  char out[20];
  FormatTimestampTo(t, out);
  w.String(out, sizeof out);
}

void WriteTokenKey(Writer& w, const TokenKey& key, bool always) {
  WriteKey(w, "kind");
  WriteString(w, key.kind);
  WriteKey(w, "token");
  WriteToken(w, key.token);
  if (always || key.scheme != TokenScheme::kHmacV1) {
    WriteKey(w, "scheme");
    WriteString(w, ToString(key.scheme));
  }
  if (always || key.epoch != 0) {
    WriteKey(w, "epoch");
    w.Uint(key.epoch);
  }
}

void WriteItemError(Writer& w, const ItemError& error) {
  w.StartObject();
  WriteKey(w, "code");
  WriteString(w, ErrorCodeName(error.code));
  WriteKey(w, "message");
  WriteString(w, error.message);
  if (!error.field.empty()) {
    WriteKey(w, "field");
    WriteString(w, error.field);
  }
  w.EndObject();
}

void WriteRaw(Writer& w, std::string_view json) {
  w.RawValue(json.data(), json.size(), rapidjson::kObjectType);
}

void WriteReceipt(Writer& w, const Receipt& receipt) {
  w.StartObject();
  WriteKey(w, "key_id");
  WriteString(w, receipt.key_id);
  WriteKey(w, "alg");
  WriteString(w, receipt.alg);
  WriteKey(w, "member");
  WriteString(w, receipt.member);
  WriteKey(w, "request_id");
  WriteString(w, receipt.request_id);
  WriteKey(w, "at");
  WriteTimestamp(w, receipt.at);
  WriteKey(w, "endpoint");
  WriteString(w, receipt.endpoint);
  WriteKey(w, "request_digest");
  WriteString(w, receipt.request_digest);
  WriteKey(w, "results_digest");
  WriteString(w, receipt.results_digest);
  WriteKey(w, "signature");
  WriteString(w, receipt.signature);
  w.EndObject();
}

std::string Take(rapidjson::StringBuffer& buffer) {
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace cairn::wire::internal

namespace cairn::wire {

Status CheckText(std::string_view text, std::size_t min_bytes,
                 std::size_t max_bytes, bool allow_newlines) {
  if (text.size() < min_bytes) {
    return MakeError(ErrorCode::kInvalidArgument,
                     min_bytes == 1
                         ? std::string("must not be empty")
                         : "too short: at least " + std::to_string(min_bytes) +
                               " bytes required");
  }
  if (text.size() > max_bytes) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "too long: at most " + std::to_string(max_bytes) +
                         " bytes (UTF-8) allowed; shorten it");
  }
  // A decoded string is valid UTF-8 (the parser checks the whole
  // document); one about to be sent may not be.
  if (!simdjson::validate_utf8(text.data(), text.size())) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "is not valid UTF-8; send the text in UTF-8");
  }
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const unsigned char next = i + 1 < text.size() ? p[i + 1] : 0;
    if (internal::IsTextControl(p[i], next, allow_newlines)) {
      return MakeError(ErrorCode::kInvalidArgument,
                       "contains a control character; remove it");
    }
  }
  return {};
}

}  // namespace cairn::wire
