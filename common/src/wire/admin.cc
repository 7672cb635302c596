#include "cairn/wire/admin.h"

#include "json.h"

namespace cairn::wire {
namespace {

namespace od = internal::od;
using internal::Bits;
using internal::Mode;
using internal::Path;

constexpr std::array<std::string_view, 7> kMemberKeys = {
    "member_id",        "name",        "roles", "status", "created_at",
    "suspended_reason", "fingerprints"};
constexpr std::array<std::string_view, 4> kFingerprintKeys = {
    "fingerprint", "status", "added_at", "revoked_at"};
constexpr std::array<std::string_view, 1> kListKeys = {"members"};
constexpr std::array<std::string_view, 4> kCreateKeys = {
    "member_id", "name", "roles", "fingerprints"};
constexpr std::array<std::string_view, 1> kSuspendKeys = {"reason"};
constexpr std::array<std::string_view, 1> kAddFingerprintKeys = {"fingerprint"};
constexpr std::array<std::string_view, 1> kRolesKeys = {"roles"};
constexpr std::array<std::string_view, 0> kNoKeys = {};
constexpr std::array<std::string_view, 1> kRegisterKindKeys = {"kind"};
constexpr std::array<std::string_view, 1> kKindListKeys = {"kinds"};
constexpr std::array<std::string_view, 2> kKindInfoKeys = {"name", "builtin"};
constexpr std::string_view kKindShape =
    "a kind name: 2..32 characters of a-z, 0-9 and '_', starting with a "
    "letter";

constexpr std::string_view kMemberIdShape =
    "a member id: 2..32 characters, lowercase letters, digits and '-', "
    "starting with a letter";
constexpr std::string_view kFingerprintShape =
    "64 lowercase hex characters (SHA-256 of the certificate DER)";

Result<std::string_view> GetMemberId(od::value& v, Path& path) {
  return internal::GetShaped(v, path, &IsWellFormedMemberId, kMemberIdShape);
}

Result<std::string_view> GetFingerprint(od::value& v, Path& path) {
  return internal::GetShaped(v, path, &IsWellFormedFingerprint,
                             kFingerprintShape);
}

Status DecodeMemberFingerprint(od::value& value, Path& path,
                               MemberFingerprint& out) {
  auto object = internal::GetObject(value, path);
  if (!object) return tl::unexpected<Error>(std::move(object.error()));
  auto seen = internal::WalkObject(
      *object, kFingerprintKeys, Mode::kLenient, path,
      [&](std::size_t key, od::value& v) -> Status {
        if (key == 0) {
          auto fp = GetFingerprint(v, path);
          if (!fp) return tl::unexpected<Error>(std::move(fp.error()));
          out.fingerprint = std::string(*fp);
          return {};
        }
        if (key == 1) {
          auto s = internal::GetString(v, path);
          if (!s) return tl::unexpected<Error>(std::move(s.error()));
          if (*s == "active") {
            out.status = FingerprintStatus::kActive;
          } else if (*s == "revoked") {
            out.status = FingerprintStatus::kRevoked;
          } else {
            return internal::Fail(path, "expected \"active\" or \"revoked\"");
          }
          return {};
        }
        auto t = internal::GetTimestamp(v, path);
        if (!t) return tl::unexpected<Error>(std::move(t.error()));
        if (key == 2) {
          out.added_at = *t;
        } else {
          out.revoked_at = *t;
        }
        return {};
      });
  if (!seen) return tl::unexpected<Error>(std::move(seen.error()));
  return internal::RequireFields(*seen, Bits(0, 1, 2), kFingerprintKeys, path);
}

Status DecodeMemberObject(od::object& object, Path& path, Member& out) {
  auto seen = internal::WalkObject(
      object, kMemberKeys, Mode::kLenient, path,
      [&](std::size_t key, od::value& v) -> Status {
        switch (key) {
          case 0: {
            auto id = GetMemberId(v, path);
            if (!id) return tl::unexpected<Error>(std::move(id.error()));
            out.member_id = std::string(*id);
            return {};
          }
          case 1:
          case 5: {
            auto text =
                internal::GetText(v, path, key == 1 ? 1 : 0,
                                  key == 1 ? kMaxNameBytes : kMaxReasonBytes);
            if (!text) return tl::unexpected<Error>(std::move(text.error()));
            if (key == 1) {
              out.name = std::string(*text);
            } else {
              out.suspended_reason = std::string(*text);
            }
            return {};
          }
          case 2:
            return internal::GetRoles(v, path, out.roles);
          case 3: {
            auto s = internal::GetString(v, path);
            if (!s) return tl::unexpected<Error>(std::move(s.error()));
            if (*s == "active") {
              out.status = MemberStatus::kActive;
            } else if (*s == "suspended") {
              out.status = MemberStatus::kSuspended;
            } else {
              return internal::Fail(path,
                                    "expected \"active\" or \"suspended\"");
            }
            return {};
          }
          case 4: {
            auto t = internal::GetTimestamp(v, path);
            if (!t) return tl::unexpected<Error>(std::move(t.error()));
            out.created_at = *t;
            return {};
          }
          default:
            return internal::WalkArray(
                v, path, 0, SIZE_MAX, false,
                [&](std::size_t, od::value& item) -> Status {
                  return DecodeMemberFingerprint(
                      item, path, out.fingerprints.emplace_back());
                });
        }
      });
  if (!seen) return tl::unexpected<Error>(std::move(seen.error()));
  return internal::RequireFields(*seen, Bits(0, 1, 2, 3, 4, 6), kMemberKeys,
                                 path);
}

void WriteMember(internal::Writer& w, const Member& m) {
  w.StartObject();
  internal::WriteKey(w, "member_id");
  internal::WriteString(w, m.member_id);
  internal::WriteKey(w, "name");
  internal::WriteString(w, m.name);
  internal::WriteKey(w, "roles");
  internal::WriteRoles(w, m.roles);
  internal::WriteKey(w, "status");
  internal::WriteString(w, ToString(m.status));
  internal::WriteKey(w, "created_at");
  internal::WriteTimestamp(w, m.created_at);
  if (m.suspended_reason) {
    internal::WriteKey(w, "suspended_reason");
    internal::WriteString(w, *m.suspended_reason);
  }
  internal::WriteKey(w, "fingerprints");
  w.StartArray();
  for (const auto& f : m.fingerprints) {
    w.StartObject();
    internal::WriteKey(w, "fingerprint");
    internal::WriteString(w, f.fingerprint);
    internal::WriteKey(w, "status");
    internal::WriteString(w, ToString(f.status));
    internal::WriteKey(w, "added_at");
    internal::WriteTimestamp(w, f.added_at);
    if (f.revoked_at) {
      internal::WriteKey(w, "revoked_at");
      internal::WriteTimestamp(w, *f.revoked_at);
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

}  // namespace

std::string_view ToString(MemberStatus v) {
  return v == MemberStatus::kActive ? "active" : "suspended";
}

std::string_view ToString(FingerprintStatus v) {
  return v == FingerprintStatus::kActive ? "active" : "revoked";
}

std::string Encode(const Member& body) {
  rapidjson::StringBuffer buffer;
  internal::Writer w(buffer);
  WriteMember(w, body);
  return internal::Take(buffer);
}

Result<Member> DecodeMember(std::string_view json) {
  return internal::DecodeBody<Member>(json, &DecodeMemberObject);
}

std::string Encode(const MemberListResponse& body) {
  rapidjson::StringBuffer buffer;
  internal::Writer w(buffer);
  w.StartObject();
  internal::WriteKey(w, "members");
  w.StartArray();
  for (const auto& m : body.members) WriteMember(w, m);
  w.EndArray();
  w.EndObject();
  return internal::Take(buffer);
}

Result<MemberListResponse> DecodeMemberListResponse(std::string_view json) {
  return internal::DecodeBody<MemberListResponse>(
      json,
      [](od::object& root, Path& path, MemberListResponse& out) -> Status {
        auto seen = internal::WalkObject(
            root, kListKeys, Mode::kLenient, path,
            [&](std::size_t, od::value& v) -> Status {
              return internal::WalkArray(
                  v, path, 0, SIZE_MAX, false,
                  [&](std::size_t, od::value& item) -> Status {
                    auto object = internal::GetObject(item, path);
                    if (!object) {
                      return tl::unexpected<Error>(std::move(object.error()));
                    }
                    return DecodeMemberObject(*object, path,
                                              out.members.emplace_back());
                  });
            });
        if (!seen) return tl::unexpected<Error>(std::move(seen.error()));
        return internal::RequireFields(*seen, Bits(0), kListKeys, path);
      });
}

std::string Encode(const CreateMemberRequest& body) {
  rapidjson::StringBuffer buffer;
  internal::Writer w(buffer);
  w.StartObject();
  internal::WriteKey(w, "member_id");
  internal::WriteString(w, body.member_id);
  internal::WriteKey(w, "name");
  internal::WriteString(w, body.name);
  internal::WriteKey(w, "roles");
  internal::WriteRoles(w, body.roles);
  if (!body.fingerprints.empty()) {
    internal::WriteKey(w, "fingerprints");
    w.StartArray();
    for (const auto& f : body.fingerprints) internal::WriteString(w, f);
    w.EndArray();
  }
  w.EndObject();
  return internal::Take(buffer);
}

Result<CreateMemberRequest> DecodeCreateMemberRequest(std::string_view json) {
  return internal::DecodeBody<CreateMemberRequest>(
      json,
      [](od::object& root, Path& path, CreateMemberRequest& out) -> Status {
        auto seen = internal::WalkObject(
            root, kCreateKeys, Mode::kStrict, path,
            [&](std::size_t key, od::value& v) -> Status {
              switch (key) {
                case 0: {
                  auto id = GetMemberId(v, path);
                  if (!id) return tl::unexpected<Error>(std::move(id.error()));
                  out.member_id = std::string(*id);
                  return {};
                }
                case 1: {
                  auto name = internal::GetText(v, path, 1, kMaxNameBytes);
                  if (!name) {
                    return tl::unexpected<Error>(std::move(name.error()));
                  }
                  out.name = std::string(*name);
                  return {};
                }
                case 2:
                  return internal::GetRoles(v, path, out.roles);
                default:
                  return internal::WalkArray(
                      v, path, 0, kMaxFingerprintsPerMember, false,
                      [&](std::size_t, od::value& item) -> Status {
                        auto fp = GetFingerprint(item, path);
                        if (!fp) {
                          return tl::unexpected<Error>(std::move(fp.error()));
                        }
                        for (const auto& f : out.fingerprints) {
                          if (f == *fp) {
                            return internal::Fail(
                                path, "fingerprint listed twice; list it once");
                          }
                        }
                        out.fingerprints.emplace_back(*fp);
                        return {};
                      });
              }
            });
        if (!seen) return tl::unexpected<Error>(std::move(seen.error()));
        return internal::RequireFields(*seen, Bits(0, 1, 2), kCreateKeys, path);
      });
}

std::string Encode(const SuspendMemberRequest& body) {
  rapidjson::StringBuffer buffer;
  internal::Writer w(buffer);
  w.StartObject();
  if (body.reason) {
    internal::WriteKey(w, "reason");
    internal::WriteString(w, *body.reason);
  }
  w.EndObject();
  return internal::Take(buffer);
}

Result<SuspendMemberRequest> DecodeSuspendMemberRequest(std::string_view json) {
  return internal::DecodeBody<SuspendMemberRequest>(
      json,
      [](od::object& root, Path& path, SuspendMemberRequest& out) -> Status {
        auto seen = internal::WalkObject(
            root, kSuspendKeys, Mode::kStrict, path,
            [&](std::size_t, od::value& v) -> Status {
              auto reason =
                  internal::GetText(v, path, 0, kMaxReasonBytes, true);
              if (!reason) {
                return tl::unexpected<Error>(std::move(reason.error()));
              }
              out.reason = std::string(*reason);
              return {};
            });
        if (!seen) return tl::unexpected<Error>(std::move(seen.error()));
        return {};
      });
}

std::string Encode(const AddFingerprintRequest& body) {
  rapidjson::StringBuffer buffer;
  internal::Writer w(buffer);
  w.StartObject();
  internal::WriteKey(w, "fingerprint");
  internal::WriteString(w, body.fingerprint);
  w.EndObject();
  return internal::Take(buffer);
}

Result<AddFingerprintRequest> DecodeAddFingerprintRequest(
    std::string_view json) {
  return internal::DecodeBody<AddFingerprintRequest>(
      json,
      [](od::object& root, Path& path, AddFingerprintRequest& out) -> Status {
        auto seen = internal::WalkObject(
            root, kAddFingerprintKeys, Mode::kStrict, path,
            [&](std::size_t, od::value& v) -> Status {
              auto fp = GetFingerprint(v, path);
              if (!fp) return tl::unexpected<Error>(std::move(fp.error()));
              out.fingerprint = std::string(*fp);
              return {};
            });
        if (!seen) return tl::unexpected<Error>(std::move(seen.error()));
        return internal::RequireFields(*seen, Bits(0), kAddFingerprintKeys,
                                       path);
      });
}

std::string Encode(const SetRolesRequest& body) {
  rapidjson::StringBuffer buffer;
  internal::Writer w(buffer);
  w.StartObject();
  internal::WriteKey(w, "roles");
  internal::WriteRoles(w, body.roles);
  w.EndObject();
  return internal::Take(buffer);
}

Result<SetRolesRequest> DecodeSetRolesRequest(std::string_view json) {
  return internal::DecodeBody<SetRolesRequest>(
      json, [](od::object& root, Path& path, SetRolesRequest& out) -> Status {
        auto seen = internal::WalkObject(
            root, kRolesKeys, Mode::kStrict, path,
            [&](std::size_t, od::value& v) -> Status {
              return internal::GetRoles(v, path, out.roles);
            });
        if (!seen) return tl::unexpected<Error>(std::move(seen.error()));
        return internal::RequireFields(*seen, Bits(0), kRolesKeys, path);
      });
}

std::string Encode(const EmptyRequest&) { return "{}"; }

Result<EmptyRequest> DecodeEmptyRequest(std::string_view json) {
  return internal::DecodeBody<EmptyRequest>(
      json, [](od::object& root, Path& path, EmptyRequest&) -> Status {
        auto seen = internal::WalkObject(
            root, kNoKeys, Mode::kStrict, path,
            [&](std::size_t, od::value&) -> Status { return {}; });
        if (!seen) return tl::unexpected<Error>(std::move(seen.error()));
        return {};
      });
}

std::string Encode(const RegisterKindRequest& body) {
  rapidjson::StringBuffer buffer;
  internal::Writer w(buffer);
  w.StartObject();
  internal::WriteKey(w, "kind");
  internal::WriteString(w, body.kind);
  w.EndObject();
  return internal::Take(buffer);
}

Result<RegisterKindRequest> DecodeRegisterKindRequest(std::string_view json) {
  return internal::DecodeBody<RegisterKindRequest>(
      json,
      [](od::object& root, Path& path, RegisterKindRequest& out) -> Status {
        auto seen = internal::WalkObject(
            root, kRegisterKindKeys, Mode::kStrict, path,
            [&](std::size_t, od::value& v) -> Status {
              auto kind =
                  internal::GetShaped(v, path, &IsWellFormedKind, kKindShape);
              if (!kind) return tl::unexpected<Error>(std::move(kind.error()));
              out.kind = std::string(*kind);
              return {};
            });
        if (!seen) return tl::unexpected<Error>(std::move(seen.error()));
        return internal::RequireFields(*seen, Bits(0), kRegisterKindKeys, path);
      });
}

std::string Encode(const KindListResponse& body) {
  rapidjson::StringBuffer buffer;
  internal::Writer w(buffer);
  w.StartObject();
  internal::WriteKey(w, "kinds");
  w.StartArray();
  for (const KindInfo& k : body.kinds) {
    w.StartObject();
    internal::WriteKey(w, "name");
    internal::WriteString(w, k.name);
    internal::WriteKey(w, "builtin");
    w.Bool(k.builtin);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return internal::Take(buffer);
}

Result<KindListResponse> DecodeKindListResponse(std::string_view json) {
  return internal::DecodeBody<KindListResponse>(
      json, [](od::object& root, Path& path, KindListResponse& out) -> Status {
        auto seen = internal::WalkObject(
            root, kKindListKeys, Mode::kLenient, path,
            [&](std::size_t, od::value& v) -> Status {
              return internal::WalkArray(
                  v, path, 0, SIZE_MAX, false,
                  [&](std::size_t, od::value& item) -> Status {
                    auto object = internal::GetObject(item, path);
                    if (!object) {
                      return tl::unexpected<Error>(std::move(object.error()));
                    }
                    KindInfo& k = out.kinds.emplace_back();
                    auto fields = internal::WalkObject(
                        *object, kKindInfoKeys, Mode::kLenient, path,
                        [&](std::size_t key, od::value& fv) -> Status {
                          if (key == 0) {
                            auto name = internal::GetShaped(
                                fv, path, &IsWellFormedKind, kKindShape);
                            if (!name) {
                              return tl::unexpected<Error>(
                                  std::move(name.error()));
                            }
                            k.name = std::string(*name);
                            return {};
                          }
                          auto b = internal::GetBool(fv, path);
                          if (!b) {
                            return tl::unexpected<Error>(std::move(b.error()));
                          }
                          k.builtin = *b;
                          return {};
                        });
                    if (!fields) {
                      return tl::unexpected<Error>(std::move(fields.error()));
                    }
                    return internal::RequireFields(*fields, Bits(0, 1),
                                                   kKindInfoKeys, path);
                  });
            });
        if (!seen) return tl::unexpected<Error>(std::move(seen.error()));
        return internal::RequireFields(*seen, Bits(0), kKindListKeys, path);
      });
}

}  // namespace cairn::wire
