#include "cairn/wire/health.h"

#include "json.h"

namespace cairn::wire {
namespace {

namespace od = internal::od;
using internal::Bits;
using internal::Mode;
using internal::Path;

constexpr std::array<std::string_view, 4> kKeys = {"status", "store",
                                                   "store_files", "clock"};
constexpr std::string_view kFilesLost = "deleted_or_replaced";

}  // namespace

std::string Encode(const HealthResponse& body) {
  rapidjson::StringBuffer buffer;
  internal::Writer w(buffer);
  w.StartObject();
  internal::WriteKey(w, "status");
  internal::WriteString(w, body.ok ? "ok" : "degraded");
  internal::WriteKey(w, "store");
  internal::WriteString(w, body.store_writable ? "writable" : "unwritable");
  if (!body.store_files_intact) {
    internal::WriteKey(w, "store_files");
    internal::WriteString(w, kFilesLost);
  }
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
              if (key == 2) {
                if (*s != kFilesLost) {
                  return internal::Fail(
                      path, "expected \"" + std::string(kFilesLost) + "\"");
                }
                out.store_files_intact = false;
                return {};
              }
              static constexpr std::string_view kYes[] = {"ok", "writable", "",
                                                          "ok"};
              static constexpr std::string_view kNo[] = {
                  "degraded", "unwritable", "", "stepped"};
              const std::string_view yes = kYes[key];
              const std::string_view no = kNo[key];
              if (*s != yes && *s != no) {
                return internal::Fail(path, "expected \"" + std::string(yes) +
                                                "\" or \"" + std::string(no) +
                                                "\"");
              }
              bool* const field[] = {&out.ok, &out.store_writable, nullptr,
                                     &out.clock_ok};
              *field[key] = *s == yes;
              return {};
            });
        if (!seen) return tl::unexpected<Error>(std::move(seen.error()));
        return internal::RequireFields(*seen, Bits(0, 1), kKeys, path);
      });
}

}  // namespace cairn::wire
