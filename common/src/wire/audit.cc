#include "cairn/wire/audit.h"

#include <algorithm>

#include "cairn/encoding.h"
#include "json.h"

namespace cairn::wire {
namespace {

namespace od = internal::od;
using internal::Bits;
using internal::Mode;
using internal::Path;

constexpr std::array<std::string_view, 3> kRootKeys = {"checkpoints", "cursor",
                                                       "more"};
constexpr std::array<std::string_view, 5> kCheckpointKeys = {
    "seq", "head_hash", "at", "key_id", "signature"};

template <std::size_t N>
Status CopyExact(const Result<Bytes>& bytes, Path& path,
                 std::array<std::uint8_t, N>& out, std::string_view what) {
  if (!bytes || bytes->size() != N) {
    return internal::Fail(path, "expected " + std::string(what));
  }
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return {};
}

Status DecodeCheckpoint(od::value& value, Path& path, AuditCheckpoint& c) {
  auto object = internal::GetObject(value, path);
  if (!object) return tl::unexpected<Error>(std::move(object.error()));
  auto seen = internal::WalkObject(
      *object, kCheckpointKeys, Mode::kLenient, path,
      [&](std::size_t key, od::value& v) -> Status {
        switch (key) {
          case 0: {
            auto n = internal::GetUint(v, path, UINT64_MAX);
            if (!n) return tl::unexpected<Error>(std::move(n.error()));
            c.seq = *n;
            return {};
          }
          case 1: {
            auto s = internal::GetString(v, path);
            if (!s) return tl::unexpected<Error>(std::move(s.error()));
            return CopyExact(HexDecode(*s, /*lowercase_only=*/true), path,
                             c.head_hash, "64 lowercase hex digits");
          }
          case 2: {
            auto t = internal::GetTimestamp(v, path);
            if (!t) return tl::unexpected<Error>(std::move(t.error()));
            c.at = *t;
            return {};
          }
          case 3: {
            auto s = internal::GetText(v, path, 1, 128);
            if (!s) return tl::unexpected<Error>(std::move(s.error()));
            c.key_id = std::string(*s);
            return {};
          }
          default: {
            auto s = internal::GetString(v, path);
            if (!s) return tl::unexpected<Error>(std::move(s.error()));
            return CopyExact(Base64Decode(*s), path, c.signature,
                             "base64 of a 64-byte Ed25519 signature");
          }
        }
      });
  if (!seen) return tl::unexpected<Error>(std::move(seen.error()));
  return internal::RequireFields(*seen, Bits(0, 1, 2, 3, 4), kCheckpointKeys,
                                 path);
}

}  // namespace

std::string Encode(const AuditCheckpointsResponse& body) {
  rapidjson::StringBuffer buffer;
  internal::Writer w(buffer);
  w.StartObject();
  internal::WriteKey(w, "checkpoints");
  w.StartArray();
  for (const AuditCheckpoint& c : body.checkpoints) {
    w.StartObject();
    internal::WriteKey(w, "seq");
    w.Uint64(c.seq);
    internal::WriteKey(w, "head_hash");
    internal::WriteString(w, HexEncode(c.head_hash));
    internal::WriteKey(w, "at");
    internal::WriteTimestamp(w, c.at);
    internal::WriteKey(w, "key_id");
    internal::WriteString(w, c.key_id);
    internal::WriteKey(w, "signature");
    internal::WriteString(w, Base64Encode(c.signature));
    w.EndObject();
  }
  internal::WritePageTail(w, body.cursor, body.more);
  return internal::Take(buffer);
}

Result<AuditCheckpointsResponse> DecodeAuditCheckpointsResponse(
    std::string_view json) {
  return internal::DecodePage<AuditCheckpointsResponse, AuditCheckpoint>(
      json, kRootKeys, &AuditCheckpointsResponse::checkpoints,
      &DecodeCheckpoint);
}

}  // namespace cairn::wire
