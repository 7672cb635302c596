#include "cairn/wire/oprf.h"

#include "cairn/encoding.h"
#include "json.h"
#include "oprf_internal.h"

namespace cairn::wire {
namespace {

namespace od = internal::od;
using internal::Bits;
using internal::Mode;
using internal::Path;

constexpr std::array<std::string_view, 2> kRequestKeys = {"epoch", "elements"};
constexpr std::array<std::string_view, 3> kResponseKeys = {"epoch", "evaluated",
                                                           "proof"};
constexpr std::array<std::string_view, 5> kInfoKeys = {
    "suite", "mode", "epoch", "public_key", "elements_per_day"};

// Base64 of exactly N bytes, copied into `out`.
template <std::size_t N>
Status GetBase64Bytes(od::value& value, Path& path, std::string_view what,
                      std::array<std::uint8_t, N>& out) {
  auto text = internal::GetString(value, path);
  if (!text) return tl::unexpected<Error>(std::move(text.error()));
  auto bytes = Base64Decode(*text);
  if (!bytes) {
    return internal::Fail(path, "not standard padded base64; send " +
                                    std::string(what) +
                                    " encoded as in RFC 4648 section 4");
  }
  if (bytes->size() != N) {
    return internal::Fail(
        path, "decodes to " + std::to_string(bytes->size()) + " bytes; " +
                  std::string(what) + " is exactly " + std::to_string(N) +
                  " bytes (" + std::to_string((N + 2) / 3 * 4) +
                  " base64 characters)");
  }
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return {};
}

Result<std::uint32_t> GetEpoch(od::value& value, Path& path) {
  auto n = internal::GetUint(value, path, UINT32_MAX);
  if (!n) return tl::unexpected<Error>(std::move(n.error()));
  return static_cast<std::uint32_t>(*n);
}

void WriteBase64(internal::Writer& w, std::span<const std::uint8_t> bytes) {
  internal::WriteString(w, Base64Encode(bytes));
}

// The 400 for elements[i] that is no valid blinded element, as `path` names
// it (DecodeOprfEvaluateRequest and ValidateOprfEvaluateElements).
tl::unexpected<Error> InvalidElement(const Path& path, const Error& cause) {
  return internal::Fail(path, "not a valid blinded element (" + cause.message +
                                  "); send the output of RFC 9497 Blind for "
                                  "the ristretto255-SHA512 suite");
}

// With `validate` false, checks each element's shape only (base64 of 32
// bytes), not the curve arithmetic of ValidateElement.
Status DecodeRequest(od::object& root, Path& path, OprfEvaluateRequest& out,
                     bool validate) {
  auto seen = internal::WalkObject(
      root, kRequestKeys, Mode::kStrict, path,
      [&](std::size_t key, od::value& v) -> Status {
        if (key == 0) {
          auto epoch = GetEpoch(v, path);
          if (!epoch) return tl::unexpected<Error>(std::move(epoch.error()));
          out.epoch = *epoch;
          return {};
        }
        return internal::WalkArray(
            v, path, 1, kMaxOprfElements, true,
            [&](std::size_t, od::value& item) -> Status {
              auto& element = out.elements.emplace_back();
              CAIRN_WIRE_TRY(GetBase64Bytes(
                  item, path, "a blinded ristretto255 element", element));
              if (!validate) return {};
              if (auto valid = oprf::ValidateElement(element); !valid) {
                return InvalidElement(path, valid.error());
              }
              return {};
            });
      });
  if (!seen) return tl::unexpected<Error>(std::move(seen.error()));
  return internal::RequireFields(*seen, Bits(0, 1), kRequestKeys, path);
}

Status DecodeResponse(od::object& root, Path& path, OprfEvaluateResponse& out) {
  auto seen = internal::WalkObject(
      root, kResponseKeys, Mode::kLenient, path,
      [&](std::size_t key, od::value& v) -> Status {
        switch (key) {
          case 0: {
            auto epoch = GetEpoch(v, path);
            if (!epoch) return tl::unexpected<Error>(std::move(epoch.error()));
            out.epoch = *epoch;
            return {};
          }
          case 1:
            return internal::WalkArray(
                v, path, 1, kMaxOprfElements, false,
                [&](std::size_t, od::value& item) -> Status {
                  return GetBase64Bytes(item, path, "an evaluated element",
                                        out.evaluated.emplace_back());
                });
          default:
            return GetBase64Bytes(v, path, "a DLEQ proof (c || s)", out.proof);
        }
      });
  if (!seen) return tl::unexpected<Error>(std::move(seen.error()));
  return internal::RequireFields(*seen, Bits(0, 1, 2), kResponseKeys, path);
}

}  // namespace

namespace internal {

void WriteOprfInfo(Writer& w, const OprfInfo& info) {
  w.StartObject();
  WriteKey(w, "suite");
  WriteString(w, info.suite);
  WriteKey(w, "mode");
  WriteString(w, info.mode);
  WriteKey(w, "epoch");
  w.Uint(info.epoch);
  WriteKey(w, "public_key");
  WriteBase64(w, info.public_key);
  if (info.elements_per_day != 0) {
    WriteKey(w, "elements_per_day");
    w.Uint64(info.elements_per_day);
  }
  w.EndObject();
}

Status DecodeOprfInfoValue(od::value& value, Path& path, OprfInfo& out) {
  auto object = GetObject(value, path);
  if (!object) return tl::unexpected<Error>(std::move(object.error()));
  auto seen = WalkObject(
      *object, kInfoKeys, Mode::kLenient, path,
      [&](std::size_t key, od::value& v) -> Status {
        switch (key) {
          case 0:
          case 1: {
            auto s = GetText(v, path, 1, 64);
            if (!s) return tl::unexpected<Error>(std::move(s.error()));
            (key == 0 ? out.suite : out.mode) = std::string(*s);
            return {};
          }
          case 2: {
            auto epoch = GetEpoch(v, path);
            if (!epoch) return tl::unexpected<Error>(std::move(epoch.error()));
            out.epoch = *epoch;
            return {};
          }
          case 3:
            return GetBase64Bytes(v, path, "the hub's OPRF public key",
                                  out.public_key);
          default: {
            auto n = GetUint(v, path, UINT64_MAX);
            if (!n) return tl::unexpected<Error>(std::move(n.error()));
            out.elements_per_day = *n;
            return {};
          }
        }
      });
  if (!seen) return tl::unexpected<Error>(std::move(seen.error()));
  return RequireFields(*seen, Bits(0, 1, 2, 3), kInfoKeys, path);
}

}  // namespace internal

std::string Encode(const OprfEvaluateRequest& body) {
  rapidjson::StringBuffer buffer;
  internal::Writer w(buffer);
  w.StartObject();
  internal::WriteKey(w, "epoch");
  w.Uint(body.epoch);
  internal::WriteKey(w, "elements");
  w.StartArray();
  for (const auto& e : body.elements) WriteBase64(w, e);
  w.EndArray();
  w.EndObject();
  return internal::Take(buffer);
}

Result<OprfEvaluateRequest> DecodeOprfEvaluateRequest(std::string_view json) {
  return internal::DecodeBody<OprfEvaluateRequest>(
      json, [](od::object& root, Path& path, OprfEvaluateRequest& out) {
        return DecodeRequest(root, path, out, /*validate=*/true);
      });
}

Result<OprfEvaluateRequest> DecodeOprfEvaluateRequestShape(
    std::string_view json) {
  return internal::DecodeBody<OprfEvaluateRequest>(
      json, [](od::object& root, Path& path, OprfEvaluateRequest& out) {
        return DecodeRequest(root, path, out, /*validate=*/false);
      });
}

Status ValidateOprfEvaluateElements(std::span<const oprf::Element> elements) {
  Path path;
  path.PushKey("elements");
  for (std::size_t i = 0; i < elements.size(); ++i) {
    if (auto valid = oprf::ValidateElement(elements[i]); !valid) {
      path.PushIndex(i, /*batch=*/true);
      return InvalidElement(path, valid.error());
    }
  }
  return {};
}

std::string Encode(const OprfEvaluateResponse& body) {
  rapidjson::StringBuffer buffer;
  internal::Writer w(buffer);
  w.StartObject();
  internal::WriteKey(w, "epoch");
  w.Uint(body.epoch);
  internal::WriteKey(w, "evaluated");
  w.StartArray();
  for (const auto& e : body.evaluated) WriteBase64(w, e);
  w.EndArray();
  internal::WriteKey(w, "proof");
  WriteBase64(w, body.proof);
  w.EndObject();
  return internal::Take(buffer);
}

Result<OprfEvaluateResponse> DecodeOprfEvaluateResponse(std::string_view json) {
  return internal::DecodeBody<OprfEvaluateResponse>(json, &DecodeResponse);
}

}  // namespace cairn::wire
