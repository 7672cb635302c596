#include "cairn/wire/health.h"

#include "json.h"

namespace cairn::wire {
namespace {

namespace od = internal::od;
using internal::Bits;
using internal::Mode;
using internal::Path;

constexpr std::array<std::string_view, 3> kKeys = {"status", "store",
                                                   "store_files"};
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
              const std::string_view yes = key == 0 ? "ok" : "writable";
              const std::string_view no = key == 0 ? "degraded" : "unwritable";
              if (*s != yes && *s != no) {
                return internal::Fail(path, "expected \"" + std::string(yes) +
                                                "\" or \"" + std::string(no) +
                                                "\"");
              }
              (key == 0 ? out.ok : out.store_writable) = *s == yes;
              return {};
            });
        if (!seen) return tl::unexpected<Error>(std::move(seen.error()));
        return internal::RequireFields(*seen, Bits(0, 1), kKeys, path);
      });
}

}  // namespace cairn::wire
