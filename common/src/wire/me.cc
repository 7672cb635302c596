#include "cairn/wire/me.h"

#include <algorithm>

#include "json.h"
#include "oprf_internal.h"

namespace cairn::wire {
namespace {

namespace od = internal::od;
using internal::Bits;
using internal::Mode;
using internal::Path;

constexpr std::array<std::string_view, 9> kKeys = {
    "member_id",     "name",     "roles", "fingerprint", "limits",
    "token_schemes", "hub_keys", "oprf",  "features"};
constexpr std::array<std::string_view, 4> kLimitKeys = {
    "max_batch", "max_body_bytes", "requests_per_second", "items_per_second"};
constexpr std::array<std::string_view, 5> kHubKeyKeys = {
    "key_id", "algorithm", "public_key", "valid_from", "valid_until"};

Status DecodeLimits(od::value& value, Path& path, MemberLimits& out) {
  auto object = internal::GetObject(value, path);
  if (!object) return tl::unexpected<Error>(std::move(object.error()));
  auto seen = internal::WalkObject(
      *object, kLimitKeys, Mode::kLenient, path,
      [&](std::size_t key, od::value& v) -> Status {
        auto n = internal::GetUint(v, path, key == 1 ? UINT64_MAX : UINT32_MAX);
        if (!n) return tl::unexpected<Error>(std::move(n.error()));
        switch (key) {
          case 0:
            out.max_batch = static_cast<std::uint32_t>(*n);
            break;
          case 1:
            out.max_body_bytes = *n;
            break;
          case 2:
            out.requests_per_second = static_cast<std::uint32_t>(*n);
            break;
          default:
            out.items_per_second = static_cast<std::uint32_t>(*n);
        }
        return {};
      });
  if (!seen) return tl::unexpected<Error>(std::move(seen.error()));
  return internal::RequireFields(*seen, Bits(0, 1, 2, 3), kLimitKeys, path);
}

Status DecodeHubKey(od::value& value, Path& path, HubKey& out) {
  auto object = internal::GetObject(value, path);
  if (!object) return tl::unexpected<Error>(std::move(object.error()));
  auto seen = internal::WalkObject(
      *object, kHubKeyKeys, Mode::kLenient, path,
      [&](std::size_t key, od::value& v) -> Status {
        if (key >= 3) {
          auto t = internal::GetTimestamp(v, path);
          if (!t) return tl::unexpected<Error>(std::move(t.error()));
          if (key == 3) {
            out.valid_from = *t;
          } else {
            out.valid_until = *t;
          }
          return {};
        }
        auto s = internal::GetText(v, path, 1, 256);
        if (!s) return tl::unexpected<Error>(std::move(s.error()));
        (key == 0   ? out.key_id
         : key == 1 ? out.algorithm
                    : out.public_key) = std::string(*s);
        return {};
      });
  if (!seen) return tl::unexpected<Error>(std::move(seen.error()));
  return internal::RequireFields(*seen, Bits(0, 1, 2, 3), kHubKeyKeys, path);
}

Status DecodeMe(od::object& root, Path& path, MeResponse& out) {
  auto seen = internal::WalkObject(
      root, kKeys, Mode::kLenient, path,
      [&](std::size_t key, od::value& v) -> Status {
        switch (key) {
          case 0: {
            auto id =
                internal::GetShaped(v, path, &IsWellFormedMemberId,
                                    "a member id (^[a-z][a-z0-9-]{1,31}$)");
            if (!id) return tl::unexpected<Error>(std::move(id.error()));
            out.member_id = std::string(*id);
            return {};
          }
          case 1: {
            auto name = internal::GetText(v, path, 1, kMaxNameBytes);
            if (!name) return tl::unexpected<Error>(std::move(name.error()));
            out.name = std::string(*name);
            return {};
          }
          case 2:
            return internal::GetRoles(v, path, out.roles);
          case 3: {
            auto fp = internal::GetShaped(v, path, &IsWellFormedFingerprint,
                                          "64 lowercase hex characters");
            if (!fp) return tl::unexpected<Error>(std::move(fp.error()));
            out.fingerprint = std::string(*fp);
            return {};
          }
          case 4:
            return DecodeLimits(v, path, out.limits);
          case 5:
            return internal::WalkArray(
                v, path, 0, 16, false,
                [&](std::size_t, od::value& item) -> Status {
                  auto scheme = internal::GetScheme(item, path);
                  if (!scheme) {
                    return tl::unexpected<Error>(std::move(scheme.error()));
                  }
                  out.token_schemes.push_back(*scheme);
                  return {};
                });
          case 7:
            return internal::DecodeOprfInfoValue(v, path, out.oprf.emplace());
          case 8:
            // Any name is kept (a newer hub's are ignored by the caller),
            // so the list can grow without breaking this decoder.
            return internal::WalkArray(
                v, path, 0, kMaxFeatures, false,
                [&](std::size_t, od::value& item) -> Status {
                  auto name =
                      internal::GetText(item, path, 1, kMaxFeatureBytes);
                  if (!name) {
                    return tl::unexpected<Error>(std::move(name.error()));
                  }
                  out.features.emplace_back(*name);
                  return {};
                });
          default:
            return internal::WalkArray(
                v, path, 0, 64, false,
                [&](std::size_t, od::value& item) -> Status {
                  return DecodeHubKey(item, path, out.hub_keys.emplace_back());
                });
        }
      });
  if (!seen) return tl::unexpected<Error>(std::move(seen.error()));
  return internal::RequireFields(*seen, Bits(0, 1, 2, 3, 4, 5), kKeys, path);
}

}  // namespace

std::string Encode(const MeResponse& body) {
  rapidjson::StringBuffer buffer;
  internal::Writer w(buffer);
  w.StartObject();
  internal::WriteKey(w, "member_id");
  internal::WriteString(w, body.member_id);
  internal::WriteKey(w, "name");
  internal::WriteString(w, body.name);
  internal::WriteKey(w, "roles");
  internal::WriteRoles(w, body.roles);
  internal::WriteKey(w, "fingerprint");
  internal::WriteString(w, body.fingerprint);
  internal::WriteKey(w, "limits");
  w.StartObject();
  internal::WriteKey(w, "max_batch");
  w.Uint(body.limits.max_batch);
  internal::WriteKey(w, "max_body_bytes");
  w.Uint64(body.limits.max_body_bytes);
  internal::WriteKey(w, "requests_per_second");
  w.Uint(body.limits.requests_per_second);
  internal::WriteKey(w, "items_per_second");
  w.Uint(body.limits.items_per_second);
  w.EndObject();
  internal::WriteKey(w, "token_schemes");
  w.StartArray();
  for (auto s : body.token_schemes) internal::WriteString(w, ToString(s));
  w.EndArray();
  internal::WriteKey(w, "hub_keys");
  w.StartArray();
  for (const auto& k : body.hub_keys) {
    w.StartObject();
    internal::WriteKey(w, "key_id");
    internal::WriteString(w, k.key_id);
    internal::WriteKey(w, "algorithm");
    internal::WriteString(w, k.algorithm);
    internal::WriteKey(w, "public_key");
    internal::WriteString(w, k.public_key);
    internal::WriteKey(w, "valid_from");
    internal::WriteTimestamp(w, k.valid_from);
    if (k.valid_until) {
      internal::WriteKey(w, "valid_until");
      internal::WriteTimestamp(w, *k.valid_until);
    }
    w.EndObject();
  }
  w.EndArray();
  if (body.oprf) {
    internal::WriteKey(w, "oprf");
    internal::WriteOprfInfo(w, *body.oprf);
  }
  // Written only when there is one, as a hub without any writes nothing.
  if (!body.features.empty()) {
    internal::WriteKey(w, "features");
    w.StartArray();
    for (const auto& f : body.features) internal::WriteString(w, f);
    w.EndArray();
  }
  w.EndObject();
  return internal::Take(buffer);
}

bool MeResponse::Supports(std::string_view feature) const {
  return std::find(features.begin(), features.end(), feature) != features.end();
}

Result<MeResponse> DecodeMeResponse(std::string_view json) {
  return internal::DecodeBody<MeResponse>(json, &DecodeMe);
}

}  // namespace cairn::wire
