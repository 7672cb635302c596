#include "cairn/wire/health.h"

#include "json.h"

namespace cairn::wire {
namespace {

namespace od = internal::od;
using internal::Bits;
using internal::Mode;
using internal::Path;

constexpr std::array<std::string_view, 3> kKeys = {"status", "store", "clock"};
constexpr std::array<std::string_view, 3> kYes = {"ok", "writable", "ok"};
constexpr std::array<std::string_view, 3> kNo = {"degraded", "unwritable",
                                                 "stepped"};

}  // namespace

std::string Encode(const HealthResponse& body) {
  rapidjson::StringBuffer buffer;
  internal::Writer w(buffer);
  w.StartObject();
  internal::WriteKey(w, "status");
  internal::WriteString(w, body.ok ? "ok" : "degraded");
  internal::WriteKey(w, "store");
  internal::WriteString(w, body.store_writable ? "writable" : "unwritable");
  internal::WriteKey(w, "clock");
  internal::WriteString(w, body.clock_ok ? "ok" : "stepped");
  w.EndObject();
  return internal::Take(buffer);
}

Result<HealthResponse> DecodeHealthResponse(std::string_view json) {
  return internal::DecodeBody<HealthResponse>(
      json, [](od::object& root, Path& path, HealthResponse& out) -> Status {
        auto seen = internal::WalkObject(
            root, kKeys, Mode::kLenient, path,
            [&](std::size_t key, od::value& v) -> Status {
              auto s = internal::GetString(v, path);
              if (!s) return tl::unexpected<Error>(std::move(s.error()));
              const std::string_view yes = kYes.at(key);
              const std::string_view no = kNo.at(key);
              if (*s != yes && *s != no) {
                return internal::Fail(path, "expected \"" + std::string(yes) +
                                                "\" or \"" + std::string(no) +
                                                "\"");
              }
              bool* const field[] = {&out.ok, &out.store_writable,
                                     &out.clock_ok};
              *field[key] = *s == yes;
              return {};
            });
        if (!seen) return tl::unexpected<Error>(std::move(seen.error()));
        return internal::RequireFields(*seen, Bits(0, 1), kKeys, path);
      });
}

}  // namespace cairn::wire
