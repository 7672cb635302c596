#include "cairn/wire/disposition.h"

#include "json.h"

namespace cairn::wire {
namespace {

namespace od = internal::od;
using internal::Bits;
using internal::Mode;
using internal::Path;

constexpr std::array<std::string_view, 2> kRequestKeys = {"outcome", "note"};
constexpr std::array<std::string_view, 4> kResponseKeys = {
    "request_id", "match_id", "outcome", "recorded_at"};

}  // namespace

std::string Encode(const DispositionRequest& body) {
  rapidjson::StringBuffer buffer;
  internal::Writer w(buffer);
  w.StartObject();
  internal::WriteKey(w, "outcome");
  internal::WriteString(w, ToString(body.outcome));
  if (body.note) {
    internal::WriteKey(w, "note");
    internal::WriteString(w, *body.note);
  }
  w.EndObject();
  return internal::Take(buffer);
}

Result<DispositionRequest> DecodeDispositionRequest(std::string_view json) {
  return internal::DecodeBody<DispositionRequest>(
      json,
      [](od::object& root, Path& path, DispositionRequest& out) -> Status {
        auto seen = internal::WalkObject(
            root, kRequestKeys, Mode::kStrict, path,
            [&](std::size_t key, od::value& v) -> Status {
              if (key == 0) {
                auto o = internal::GetOutcome(v, path);
                if (!o) return tl::unexpected<Error>(std::move(o.error()));
                out.outcome = *o;
                return {};
              }
              auto note = internal::GetText(v, path, 0, kMaxNoteBytes, true);
              if (!note) return tl::unexpected<Error>(std::move(note.error()));
              out.note.emplace(*note);
              return {};
            });
        if (!seen) return tl::unexpected<Error>(std::move(seen.error()));
        return internal::RequireFields(*seen, Bits(0), kRequestKeys, path);
      });
}

std::string Encode(const DispositionResponse& body) {
  rapidjson::StringBuffer buffer;
  internal::Writer w(buffer);
  w.StartObject();
  internal::WriteKey(w, "request_id");
  internal::WriteString(w, body.request_id);
  internal::WriteKey(w, "match_id");
  internal::WriteString(w, body.match_id);
  internal::WriteKey(w, "outcome");
  internal::WriteString(w, ToString(body.outcome));
  internal::WriteKey(w, "recorded_at");
  internal::WriteTimestamp(w, body.recorded_at);
  w.EndObject();
  return internal::Take(buffer);
}

Result<DispositionResponse> DecodeDispositionResponse(std::string_view json) {
  return internal::DecodeBody<DispositionResponse>(
      json,
      [](od::object& root, Path& path, DispositionResponse& out) -> Status {
        auto seen = internal::WalkObject(
            root, kResponseKeys, Mode::kLenient, path,
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
                  auto id = internal::GetShaped(v, path, &IsWellFormedMatchId,
                                                "\"m_\" and 32 lowercase hex");
                  if (!id) return tl::unexpected<Error>(std::move(id.error()));
                  out.match_id = std::string(*id);
                  return {};
                }
                case 2: {
                  auto o = internal::GetOutcome(v, path);
                  if (!o) return tl::unexpected<Error>(std::move(o.error()));
                  out.outcome = *o;
                  return {};
                }
                default: {
                  auto t = internal::GetTimestamp(v, path);
                  if (!t) return tl::unexpected<Error>(std::move(t.error()));
                  out.recorded_at = *t;
                  return {};
                }
              }
            });
        if (!seen) return tl::unexpected<Error>(std::move(seen.error()));
        return internal::RequireFields(*seen, Bits(0, 1, 2, 3), kResponseKeys,
                                       path);
      });
}

}  // namespace cairn::wire
