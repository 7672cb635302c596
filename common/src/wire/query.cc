#include "cairn/wire/query.h"

#include "json.h"

namespace cairn::wire {
namespace {

namespace od = internal::od;
using internal::Bits;
using internal::Mode;
using internal::Path;

constexpr std::array<std::string_view, 4> kQueryKeys = {"kind", "token",
                                                        "scheme", "epoch"};
constexpr std::array<std::string_view, 1> kQueryRoot = {"queries"};
constexpr std::array<std::string_view, 4> kResponseRoot = {
    "request_id", "queried", "matches", "receipt"};
constexpr std::array<std::string_view, 9> kMatchKeys = {
    "index",          "match_id",     "kinds",
    "categories",     "platforms",    "first_banned_at",
    "last_banned_at", "max_severity", "attributed_to"};

// The hot path: one object walk per item, strings land in SSO storage.
Status DecodeQueryBody(od::object& root, Path& path, QueryRequest& out) {
  auto seen = internal::WalkObject(
      root, kQueryRoot, Mode::kStrict, path,
      [&](std::size_t, od::value& v) -> Status {
        return internal::WalkArray(
            v, path, 1, kMaxBatch, true,
            [&](std::size_t, od::value& item) -> Status {
              auto object = internal::GetObject(item, path);
              if (!object) {
                return tl::unexpected<Error>(std::move(object.error()));
              }
              TokenKey& key = out.queries.emplace_back();
              auto fields = internal::WalkObject(
                  *object, kQueryKeys, Mode::kStrict, path,
                  [&](std::size_t k, od::value& fv) {
                    return internal::DecodeTokenKeyField(k, fv, path, key);
                  });
              if (!fields) {
                return tl::unexpected<Error>(std::move(fields.error()));
              }
              return internal::RequireFields(
                  *fields, Bits(internal::kKind, internal::kToken), kQueryKeys,
                  path);
            });
      });
  if (!seen) return tl::unexpected<Error>(std::move(seen.error()));
  CAIRN_WIRE_TRY(internal::RequireFields(*seen, 1, kQueryRoot, path));
  const auto& q = out.queries;
  internal::TokenKeyHasher hash;
  auto dup = internal::FindFirstDuplicate(
      q.size(), [&](std::size_t i) { return hash(q[i]); },
      [&](std::size_t i, std::size_t j) { return q[i] == q[j]; });
  if (dup) {
    return internal::FailDuplicate("queries", *dup,
                                   "kind, scheme, epoch and token");
  }
  return {};
}

Status DecodeMatch(od::value& value, Path& path, Match& m) {
  auto object = internal::GetObject(value, path);
  if (!object) return tl::unexpected<Error>(std::move(object.error()));
  auto seen = internal::WalkObject(
      *object, kMatchKeys, Mode::kLenient, path,
      [&](std::size_t key, od::value& v) -> Status {
        switch (key) {
          case 0: {
            auto n = internal::GetUint(v, path, kMaxBatch - 1);
            if (!n) return tl::unexpected<Error>(std::move(n.error()));
            m.index = *n;
            return {};
          }
          case 1: {
            auto id = internal::GetShaped(v, path, &IsWellFormedMatchId,
                                          "\"m_\" and 32 lowercase hex");
            if (!id) return tl::unexpected<Error>(std::move(id.error()));
            m.match_id = std::string(*id);
            return {};
          }
          case 2:
            return internal::WalkArray(
                v, path, 1, SIZE_MAX, false,
                [&](std::size_t, od::value& item) -> Status {
                  auto kind = internal::GetKind(item, path);
                  if (!kind)
                    return tl::unexpected<Error>(std::move(kind.error()));
                  m.kinds.emplace_back(*kind);
                  return {};
                });
          case 3:
            return internal::WalkArray(
                v, path, 1, SIZE_MAX, false,
                [&](std::size_t, od::value& item) -> Status {
                  auto c = internal::GetCategory(item, path);
                  if (!c) return tl::unexpected<Error>(std::move(c.error()));
                  m.categories.push_back(*c);
                  return {};
                });
          case 4: {
            auto n = internal::GetUint(v, path, UINT32_MAX);
            if (!n) return tl::unexpected<Error>(std::move(n.error()));
            m.platforms = static_cast<std::uint32_t>(*n);
            return {};
          }
          case 5:
          case 6: {
            auto t = internal::GetTimestamp(v, path);
            if (!t) return tl::unexpected<Error>(std::move(t.error()));
            (key == 5 ? m.first_banned_at : m.last_banned_at) = *t;
            return {};
          }
          case 7: {
            auto s = internal::GetSeverity(v, path);
            if (!s) return tl::unexpected<Error>(std::move(s.error()));
            m.max_severity = *s;
            return {};
          }
          default:
            return internal::WalkArray(
                v, path, 0, SIZE_MAX, false,
                [&](std::size_t, od::value& item) -> Status {
                  auto id = internal::GetShaped(
                      item, path, &IsWellFormedMemberId, "a member id");
                  if (!id) return tl::unexpected<Error>(std::move(id.error()));
                  m.attributed_to.emplace_back(*id);
                  return {};
                });
        }
      });
  if (!seen) return tl::unexpected<Error>(std::move(seen.error()));
  return internal::RequireFields(*seen, Bits(0, 1, 2, 3, 4, 5, 6, 7),
                                 kMatchKeys, path);
}

}  // namespace

std::string Encode(const QueryRequest& body) {
  rapidjson::StringBuffer buffer;
  internal::Writer w(buffer);
  w.StartObject();
  internal::WriteKey(w, "queries");
  w.StartArray();
  for (const auto& q : body.queries) {
    w.StartObject();
    internal::WriteTokenKey(w, q, false);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return internal::Take(buffer);
}

Result<QueryRequest> DecodeQueryRequest(std::string_view json) {
  return internal::DecodeBody<QueryRequest>(json, &DecodeQueryBody);
}

Status DecodeQueryRequestInto(std::string_view json, std::size_t capacity,
                              QueryRequest* out) {
  out->queries.clear();
  return internal::DecodeInto(json, capacity, *out, &DecodeQueryBody);
}

std::string Encode(const QueryResponse& body) {
  rapidjson::StringBuffer buffer;
  internal::Writer w(buffer);
  w.StartObject();
  internal::WriteKey(w, "request_id");
  internal::WriteString(w, body.request_id);
  internal::WriteKey(w, "queried");
  w.Uint64(body.queried);
  internal::WriteKey(w, "matches");
  internal::WriteMatches(w, body.matches);
  if (body.receipt) {
    internal::WriteKey(w, "receipt");
    internal::WriteReceipt(w, *body.receipt);
  }
  w.EndObject();
  return internal::Take(buffer);
}

Result<QueryResponse> DecodeQueryResponse(std::string_view json) {
  return internal::DecodeBody<QueryResponse>(
      json, [](od::object& root, Path& path, QueryResponse& out) -> Status {
        auto seen = internal::WalkObject(
            root, kResponseRoot, Mode::kLenient, path,
            [&](std::size_t key, od::value& v) -> Status {
              switch (key) {
                case 0: {
                  auto id = internal::GetShaped(v, path, &IsWellFormedRequestId,
                                                "\"r_\" and 32 lowercase hex");
                  if (!id) return tl::unexpected<Error>(std::move(id.error()));
                  out.request_id = std::string(*id);
                  return {};
                }
                case 1: {
                  auto n = internal::GetUint(v, path, kMaxBatch);
                  if (!n) return tl::unexpected<Error>(std::move(n.error()));
                  out.queried = *n;
                  return {};
                }
                case 2:
                  return internal::WalkArray(
                      v, path, 0, kMaxBatch, false,
                      [&](std::size_t, od::value& item) -> Status {
                        return DecodeMatch(item, path,
                                           out.matches.emplace_back());
                      });
                default: {
                  auto receipt = internal::GetReceipt(v, path);
                  if (!receipt) {
                    return tl::unexpected<Error>(std::move(receipt.error()));
                  }
                  out.receipt = std::move(*receipt);
                  return {};
                }
              }
            });
        if (!seen) return tl::unexpected<Error>(std::move(seen.error()));
        return internal::RequireFields(*seen, Bits(0, 1, 2), kResponseRoot,
                                       path);
      });
}

namespace internal {

void WriteMatches(Writer& w, const std::vector<Match>& matches) {
  w.StartArray();
  for (const auto& m : matches) {
    w.StartObject();
    WriteKey(w, "index");
    w.Uint64(m.index);
    WriteKey(w, "match_id");
    WriteString(w, m.match_id);
    WriteKey(w, "kinds");
    w.StartArray();
    for (const auto& k : m.kinds) WriteString(w, k);
    w.EndArray();
    WriteKey(w, "categories");
    w.StartArray();
    for (auto c : m.categories) WriteString(w, ToString(c));
    w.EndArray();
    WriteKey(w, "platforms");
    w.Uint(m.platforms);
    WriteKey(w, "first_banned_at");
    WriteTimestamp(w, m.first_banned_at);
    WriteKey(w, "last_banned_at");
    WriteTimestamp(w, m.last_banned_at);
    WriteKey(w, "max_severity");
    WriteString(w, ToString(m.max_severity));
    if (!m.attributed_to.empty()) {
      WriteKey(w, "attributed_to");
      w.StartArray();
      for (const auto& id : m.attributed_to) WriteString(w, id);
      w.EndArray();
    }
    w.EndObject();
  }
  w.EndArray();
}

}  // namespace internal

}  // namespace cairn::wire
