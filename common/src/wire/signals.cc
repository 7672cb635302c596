#include "cairn/wire/signals.h"

#include <cstring>

#include "json.h"

namespace cairn::wire {
namespace {

using internal::Bits;
using internal::Mode;
namespace od = internal::od;
using internal::Path;

// Item keys; the first four are TokenKeyField in order.
constexpr std::array<std::string_view, 10> kSignalKeys = {
    "kind",     "token",     "scheme",     "epoch",       "category",
    "severity", "banned_at", "expires_at", "attribution", "ref"};
enum SignalKey : std::size_t {
  kCategory = 4,
  kSeverity,
  kBannedAt,
  kExpiresAt,
  kAttribution,
  kRef
};

constexpr std::array<std::string_view, 6> kRetractKeys = {
    "kind", "token", "scheme", "epoch", "ref", "reason"};
enum RetractKey : std::size_t { kRetractRef = 4, kRetractReason };

constexpr std::array<std::string_view, 1> kSignalsRoot = {"signals"};
constexpr std::array<std::string_view, 1> kRetractRoot = {"retractions"};
constexpr std::array<std::string_view, 3> kResponseRoot = {
    "request_id", "results", "receipt"};
constexpr std::array<std::string_view, 1> kResultsRecordRoot = {"results"};
constexpr std::array<std::string_view, 5> kResultKeys = {
    "index", "status", "signal_id", "error", "signal_ids"};

Status DecodeSignal(od::value& value, Path& path, SignalItem& item) {
  auto object = internal::GetObject(value, path);
  if (!object) return tl::unexpected<Error>(std::move(object.error()));
  auto seen = internal::WalkObject(
      *object, kSignalKeys, Mode::kStrict, path,
      [&](std::size_t key, od::value& v) -> Status {
        if (key <= internal::kEpoch) {
          return internal::DecodeTokenKeyField(key, v, path, item.key);
        }
        switch (key) {
          case kCategory: {
            auto c = internal::GetCategory(v, path);
            if (!c) return tl::unexpected<Error>(std::move(c.error()));
            item.category = *c;
            return {};
          }
          case kSeverity: {
            auto s = internal::GetSeverity(v, path);
            if (!s) return tl::unexpected<Error>(std::move(s.error()));
            item.severity = *s;
            return {};
          }
          case kBannedAt:
          case kExpiresAt: {
            auto t = internal::GetTimestamp(v, path);
            if (!t) return tl::unexpected<Error>(std::move(t.error()));
            if (key == kBannedAt) {
              item.banned_at = *t;
            } else {
              item.expires_at = *t;
            }
            return {};
          }
          case kAttribution: {
            auto b = internal::GetBool(v, path);
            if (!b) return tl::unexpected<Error>(std::move(b.error()));
            item.attribution = *b;
            return {};
          }
          default: {  // kRef
            auto r = internal::GetText(v, path, 1, kMaxRefBytes);
            if (!r) return tl::unexpected<Error>(std::move(r.error()));
            item.ref.emplace(*r);
            return {};
          }
        }
      });
  if (!seen) return tl::unexpected<Error>(std::move(seen.error()));
  return internal::RequireFields(
      *seen,
      Bits(internal::kKind, internal::kToken, kCategory, kSeverity, kBannedAt),
      kSignalKeys, path);
}

Status DecodeRetraction(od::value& value, Path& path, RetractItem& item) {
  auto object = internal::GetObject(value, path);
  if (!object) return tl::unexpected<Error>(std::move(object.error()));
  TokenKey key;
  auto seen = internal::WalkObject(
      *object, kRetractKeys, Mode::kStrict, path,
      [&](std::size_t k, od::value& v) -> Status {
        if (k <= internal::kEpoch) {
          return internal::DecodeTokenKeyField(k, v, path, key);
        }
        if (k == kRetractRef) {
          auto r = internal::GetText(v, path, 1, kMaxRefBytes);
          if (!r) return tl::unexpected<Error>(std::move(r.error()));
          item.ref.emplace(*r);
          return {};
        }
        auto reason = internal::GetRetractReason(v, path);
        if (!reason) return tl::unexpected<Error>(std::move(reason.error()));
        item.reason = *reason;
        return {};
      });
  if (!seen) return tl::unexpected<Error>(std::move(seen.error()));
  const std::uint32_t key_bits = Bits(internal::kKind, internal::kToken,
                                      internal::kScheme, internal::kEpoch);
  if ((*seen & Bits(kRetractRef)) && (*seen & key_bits)) {
    return internal::Fail(path,
                          "name the signal either by kind and token or by "
                          "ref, not both; remove one");
  }
  if (*seen & Bits(kRetractRef)) {
    CAIRN_WIRE_TRY(internal::RequireFields(*seen, Bits(kRetractReason),
                                           kRetractKeys, path));
    return {};
  }
  if (!(*seen & key_bits)) {
    return internal::Fail(path,
                          "missing the signal to retract; give kind and "
                          "token, or ref");
  }
  CAIRN_WIRE_TRY(internal::RequireFields(
      *seen, Bits(internal::kKind, internal::kToken, kRetractReason),
      kRetractKeys, path));
  item.key = std::move(key);
  return {};
}

Status DecodeSubmitBody(od::object& root, Path& path,
                        SubmitSignalsRequest& out) {
  auto seen = internal::WalkObject(
      root, kSignalsRoot, Mode::kStrict, path,
      [&](std::size_t, od::value& v) -> Status {
        return internal::WalkArray(v, path, 1, kMaxBatch, true,
                                   [&](std::size_t, od::value& item) -> Status {
                                     out.signals.emplace_back();
                                     return DecodeSignal(item, path,
                                                         out.signals.back());
                                   });
      });
  if (!seen) return tl::unexpected<Error>(std::move(seen.error()));
  CAIRN_WIRE_TRY(internal::RequireFields(*seen, 1, kSignalsRoot, path));
  const auto& s = out.signals;
  internal::TokenKeyHasher hash;
  auto dup = internal::FindFirstDuplicate(
      s.size(),
      [&](std::size_t i) {
        return hash(s[i].key) ^ static_cast<std::uint64_t>(s[i].category);
      },
      [&](std::size_t i, std::size_t j) {
        return s[i].key == s[j].key && s[i].category == s[j].category;
      });
  if (dup) {
    return internal::FailDuplicate("signals", *dup,
                                   "kind, scheme, epoch, token and category");
  }
  return {};
}

Status DecodeRetractBody(od::object& root, Path& path, RetractRequest& out) {
  auto seen = internal::WalkObject(
      root, kRetractRoot, Mode::kStrict, path,
      [&](std::size_t, od::value& v) -> Status {
        return internal::WalkArray(v, path, 1, kMaxBatch, true,
                                   [&](std::size_t, od::value& item) -> Status {
                                     out.retractions.emplace_back();
                                     return DecodeRetraction(
                                         item, path, out.retractions.back());
                                   });
      });
  if (!seen) return tl::unexpected<Error>(std::move(seen.error()));
  CAIRN_WIRE_TRY(internal::RequireFields(*seen, 1, kRetractRoot, path));
  const auto& r = out.retractions;
  internal::TokenKeyHasher hash;
  auto dup = internal::FindFirstDuplicate(
      r.size(),
      [&](std::size_t i) -> std::uint64_t {
        if (r[i].key) return hash(*r[i].key);
        return internal::KeyedHash(*r[i].ref);
      },
      [&](std::size_t i, std::size_t j) {
        return r[i].key == r[j].key && r[i].ref == r[j].ref;
      });
  if (dup) {
    return internal::FailDuplicate("retractions", *dup,
                                   "kind, scheme, epoch and token, or ref");
  }
  return {};
}

template <typename Status_, typename Result_>
Status DecodeResult(od::value& value, Path& path, Result_& out,
                    std::optional<Status_> (*parse)(std::string_view)) {
  auto object = internal::GetObject(value, path);
  if (!object) return tl::unexpected<Error>(std::move(object.error()));
  auto seen = internal::WalkObject(
      *object, kResultKeys, Mode::kLenient, path,
      [&](std::size_t key, od::value& v) -> Status {
        switch (key) {
          case 0: {
            auto n = internal::GetUint(v, path, kMaxBatch - 1);
            if (!n) return tl::unexpected<Error>(std::move(n.error()));
            out.index = *n;
            return {};
          }
          case 1: {
            auto s = internal::GetString(v, path);
            if (!s) return tl::unexpected<Error>(std::move(s.error()));
            auto st = parse(*s);
            if (!st) {
              return internal::Fail(path, "unknown status; update the client");
            }
            out.status = *st;
            return {};
          }
          case 3: {
            auto e = internal::GetItemError(v, path);
            if (!e) return tl::unexpected<Error>(std::move(e.error()));
            out.error = std::move(*e);
            return {};
          }
          default:
            break;
        }
        if constexpr (std::is_same_v<Result_, SubmitResult>) {
          if (key == 2) {
            auto id = internal::GetShaped(v, path, &IsWellFormedSignalId,
                                          "\"s_\" and 32 lowercase hex");
            if (!id) return tl::unexpected<Error>(std::move(id.error()));
            out.signal_id = std::string(*id);
          }
        } else {
          if (key == 4) {
            return internal::WalkArray(
                v, path, 0, SIZE_MAX, false,
                [&](std::size_t, od::value& item) -> Status {
                  auto id =
                      internal::GetShaped(item, path, &IsWellFormedSignalId,
                                          "\"s_\" and 32 lowercase hex");
                  if (!id) return tl::unexpected<Error>(std::move(id.error()));
                  out.signal_ids.emplace_back(*id);
                  return {};
                });
          }
        }
        return {};
      });
  if (!seen) return tl::unexpected<Error>(std::move(seen.error()));
  CAIRN_WIRE_TRY(internal::RequireFields(*seen, Bits(0, 1), kResultKeys, path));
  const bool is_error = out.status == Status_::kError;
  if (is_error != out.error.has_value()) {
    return internal::Fail(path, is_error
                                    ? "status \"error\" without an error object"
                                    : "error object on a successful item");
  }
  // Found by fuzz_wire: without this check an item with no signal_id was
  // accepted and re-encoded as "signal_id":"", which no decoder accepts.
  if constexpr (std::is_same_v<Result_, SubmitResult>) {
    if (!is_error && out.signal_id.empty()) {
      return internal::Fail(path,
                            "successful item without a signal_id; the hub's "
                            "answer is malformed, report it to its operator");
    }
  }
  return {};
}

std::optional<SubmitStatus> ParseSubmitStatus(std::string_view s) {
  for (auto v : {SubmitStatus::kCreated, SubmitStatus::kUpdated,
                 SubmitStatus::kDuplicate, SubmitStatus::kError}) {
    if (ToString(v) == s) return v;
  }
  return std::nullopt;
}

std::optional<RetractStatus> ParseRetractStatus(std::string_view s) {
  for (auto v : {RetractStatus::kRetracted, RetractStatus::kNotFound,
                 RetractStatus::kError}) {
    if (ToString(v) == s) return v;
  }
  return std::nullopt;
}

template <typename Body, typename StatusT>
Result<Body> DecodeBatchResponse(
    std::string_view json, std::optional<StatusT> (*parse)(std::string_view)) {
  return internal::DecodeBody<Body>(
      json, [&](od::object& root, Path& path, Body& out) -> Status {
        auto seen = internal::WalkObject(
            root, kResponseRoot, Mode::kLenient, path,
            [&](std::size_t key, od::value& v) -> Status {
              if (key == 0) {
                auto id = internal::GetShaped(v, path, &IsWellFormedRequestId,
                                              "\"r_\" and 32 lowercase hex");
                if (!id) return tl::unexpected<Error>(std::move(id.error()));
                out.request_id = std::string(*id);
                return {};
              }
              if (key == 1) {
                return internal::WalkArray(
                    v, path, 0, SIZE_MAX, false,
                    [&](std::size_t, od::value& item) -> Status {
                      out.results.emplace_back();
                      return DecodeResult<StatusT>(item, path,
                                                   out.results.back(), parse);
                    });
              }
              auto receipt = internal::GetReceipt(v, path);
              if (!receipt) {
                return tl::unexpected<Error>(std::move(receipt.error()));
              }
              out.receipt = std::move(*receipt);
              return {};
            });
        if (!seen) return tl::unexpected<Error>(std::move(seen.error()));
        return internal::RequireFields(*seen, Bits(0, 1), kResponseRoot, path);
      });
}

template <typename Result_, typename WriteResult>
void WriteResults(internal::Writer& w, const std::vector<Result_>& results,
                  WriteResult&& write_result) {
  w.StartArray();
  for (const auto& r : results) {
    w.StartObject();
    internal::WriteKey(w, "index");
    w.Uint64(r.index);
    internal::WriteKey(w, "status");
    internal::WriteString(w, ToString(r.status));
    if (r.error) {
      internal::WriteKey(w, "error");
      internal::WriteItemError(w, *r.error);
    } else {
      write_result(w, r);
    }
    w.EndObject();
  }
  w.EndArray();
}

template <typename Body, typename WriteResults_>
std::string EncodeBatchResponse(const Body& body,
                                WriteResults_&& write_results) {
  rapidjson::StringBuffer buffer;
  internal::Writer w(buffer);
  w.StartObject();
  internal::WriteKey(w, "request_id");
  internal::WriteString(w, body.request_id);
  internal::WriteKey(w, "results");
  write_results(w, body.results);
  if (body.receipt) {
    internal::WriteKey(w, "receipt");
    internal::WriteReceipt(w, *body.receipt);
  }
  w.EndObject();
  return internal::Take(buffer);
}

}  // namespace

std::string_view ToString(SubmitStatus v) {
  switch (v) {
    case SubmitStatus::kCreated:
      return "created";
    case SubmitStatus::kUpdated:
      return "updated";
    case SubmitStatus::kDuplicate:
      return "duplicate";
    case SubmitStatus::kError:
      return "error";
  }
  return "error";
}

std::string_view ToString(RetractStatus v) {
  switch (v) {
    case RetractStatus::kRetracted:
      return "retracted";
    case RetractStatus::kNotFound:
      return "not_found";
    case RetractStatus::kError:
      return "error";
  }
  return "error";
}

std::string Encode(const SubmitSignalsRequest& body) {
  rapidjson::StringBuffer buffer;
  internal::Writer w(buffer);
  w.StartObject();
  internal::WriteKey(w, "signals");
  w.StartArray();
  for (const auto& s : body.signals) {
    w.StartObject();
    internal::WriteTokenKey(w, s.key, false);
    internal::WriteKey(w, "category");
    internal::WriteString(w, ToString(s.category));
    internal::WriteKey(w, "severity");
    internal::WriteString(w, ToString(s.severity));
    internal::WriteKey(w, "banned_at");
    internal::WriteTimestamp(w, s.banned_at);
    if (s.expires_at) {
      internal::WriteKey(w, "expires_at");
      internal::WriteTimestamp(w, *s.expires_at);
    }
    if (s.attribution) {
      internal::WriteKey(w, "attribution");
      w.Bool(true);
    }
    if (s.ref) {
      internal::WriteKey(w, "ref");
      internal::WriteString(w, *s.ref);
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return internal::Take(buffer);
}

Result<SubmitSignalsRequest> DecodeSubmitSignalsRequest(std::string_view json) {
  return internal::DecodeBody<SubmitSignalsRequest>(json, &DecodeSubmitBody);
}

std::string Encode(const RetractRequest& body) {
  rapidjson::StringBuffer buffer;
  internal::Writer w(buffer);
  w.StartObject();
  internal::WriteKey(w, "retractions");
  w.StartArray();
  for (const auto& r : body.retractions) {
    w.StartObject();
    if (r.key) internal::WriteTokenKey(w, *r.key, false);
    if (r.ref) {
      internal::WriteKey(w, "ref");
      internal::WriteString(w, *r.ref);
    }
    internal::WriteKey(w, "reason");
    internal::WriteString(w, ToString(r.reason));
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return internal::Take(buffer);
}

Result<RetractRequest> DecodeRetractRequest(std::string_view json) {
  return internal::DecodeBody<RetractRequest>(json, &DecodeRetractBody);
}

std::string Encode(const SubmitSignalsResponse& body) {
  return EncodeBatchResponse(body, &internal::WriteSubmitResults);
}

std::string EncodeSubmitResults(const std::vector<SubmitResult>& results) {
  rapidjson::StringBuffer buffer;
  internal::Writer w(buffer);
  w.StartObject();
  internal::WriteKey(w, "results");
  internal::WriteSubmitResults(w, results);
  w.EndObject();
  return internal::Take(buffer);
}

Result<std::vector<SubmitResult>> DecodeSubmitResults(std::string_view json) {
  return internal::DecodeBody<std::vector<SubmitResult>>(
      json,
      [&](od::object& root, Path& path,
          std::vector<SubmitResult>& out) -> Status {
        auto seen = internal::WalkObject(
            root, kResultsRecordRoot, Mode::kStrict, path,
            [&](std::size_t, od::value& v) -> Status {
              return internal::WalkArray(
                  v, path, 0, SIZE_MAX, false,
                  [&](std::size_t, od::value& item) -> Status {
                    out.emplace_back();
                    return DecodeResult<SubmitStatus>(item, path, out.back(),
                                                      &ParseSubmitStatus);
                  });
            });
        if (!seen) return tl::unexpected<Error>(std::move(seen.error()));
        return internal::RequireFields(*seen, Bits(0), kResultsRecordRoot,
                                       path);
      });
}

Result<SubmitSignalsResponse> DecodeSubmitSignalsResponse(
    std::string_view json) {
  return DecodeBatchResponse<SubmitSignalsResponse, SubmitStatus>(
      json, &ParseSubmitStatus);
}

std::string Encode(const RetractResponse& body) {
  return EncodeBatchResponse(body, &internal::WriteRetractResults);
}

Result<RetractResponse> DecodeRetractResponse(std::string_view json) {
  return DecodeBatchResponse<RetractResponse, RetractStatus>(
      json, &ParseRetractStatus);
}

namespace internal {

void WriteSubmitResults(Writer& w, const std::vector<SubmitResult>& results) {
  WriteResults(w, results, [](Writer& w2, const SubmitResult& r) {
    WriteKey(w2, "signal_id");
    WriteString(w2, r.signal_id);
  });
}

void WriteRetractResults(Writer& w, const std::vector<RetractResult>& results) {
  WriteResults(w, results, [](Writer& w2, const RetractResult& r) {
    WriteKey(w2, "signal_ids");
    w2.StartArray();
    for (const auto& id : r.signal_ids) WriteString(w2, id);
    w2.EndArray();
  });
}

}  // namespace internal

}  // namespace cairn::wire
