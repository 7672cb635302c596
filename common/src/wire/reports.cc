#include "cairn/wire/reports.h"

#include <charconv>

#include "cairn/timestamp.h"
#include "json.h"

namespace cairn::wire {
namespace {

namespace od = internal::od;
using internal::Path;

// ---- Query string ----------------------------------------------------------

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// nullopt for a malformed escape.
std::optional<std::string> PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int hi = HexValue(s[i + 1]);
      const int lo = HexValue(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

Result<std::uint32_t> ParseBoundedUint(std::string_view value,
                                       std::uint32_t min, std::uint32_t max,
                                       const std::string& field) {
  std::uint32_t n = 0;
  auto [end, ec] =
      std::from_chars(value.data(), value.data() + value.size(), n);
  if (value.empty() || ec != std::errc{} ||
      end != value.data() + value.size() || n < min || n > max) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "expected a whole number from " + std::to_string(min) +
                         " to " + std::to_string(max),
                     field);
  }
  return n;
}

// ---- Decoding helpers (lenient: the CLI reads what the hub sends) ----------

bool IsNull(od::value& v) {
  bool null = false;
  return !v.is_null().get(null) && null;
}

// Fields are looked up in any order, which can leave the root object part
// read; walking it once more lets the document end cleanly.
Status FinishObject(od::object& obj, Path& path) {
  bool empty = false;
  if (auto err = obj.reset().get(empty)) {
    return internal::FailJson(path, err, "an object");
  }
  for (auto field : obj) {
    std::string_view key;
    if (auto err = field.unescaped_key().get(key)) {
      return internal::FailJson(path, err, "an object");
    }
  }
  return {};
}

template <typename T>
Status Assign(Result<T> r, T& out) {
  if (!r) return tl::unexpected<Error>(std::move(r.error()));
  out = std::move(*r);
  return {};
}

// Finds `key` in `obj` (any order) and runs `read(od::value&)` on it with
// `path` extended. A missing key fails unless `optional`.
template <typename Read>
Status Field(od::object& obj, std::string_view key, Path& path, Read&& read,
             bool optional = false) {
  od::value value;
  auto err = obj.find_field_unordered(key).get(value);
  path.PushKey(key);
  if (err == simdjson::NO_SUCH_FIELD) {
    if (optional) {
      path.Pop();
      return {};
    }
    return internal::Fail(path, "missing required field; add it");
  }
  if (err) return internal::FailJson(path, err, "a value");
  CAIRN_WIRE_TRY(read(value));
  path.Pop();
  return {};
}

auto ReadUint(std::uint64_t& out, Path& path) {
  return [&out, &path](od::value& v) -> Status {
    return Assign(internal::GetUint(v, path, UINT64_MAX), out);
  };
}

auto ReadTimestamp(Timestamp& out, Path& path) {
  return [&out, &path](od::value& v) -> Status {
    return Assign(internal::GetTimestamp(v, path), out);
  };
}

// A string, or null for "absent" (stored as "").
auto ReadOptionalString(std::string& out, Path& path) {
  return [&out, &path](od::value& v) -> Status {
    if (IsNull(v)) {
      out.clear();
      return {};
    }
    auto s = internal::GetString(v, path);
    if (!s) return tl::unexpected<Error>(std::move(s.error()));
    out = std::string(*s);
    return {};
  };
}

auto ReadCounts(Counts& out, Path& path) {
  return [&out, &path](od::value& v) -> Status {
    auto obj = internal::GetObject(v, path);
    if (!obj) return tl::unexpected<Error>(std::move(obj.error()));
    out.clear();
    for (auto field : *obj) {
      std::string_view key;
      if (auto err = field.unescaped_key().get(key)) {
        return internal::FailJson(path, err, "an object");
      }
      path.PushKey(key);
      od::value value;
      if (auto err = field.value().get(value)) {
        return internal::FailJson(path, err, "a value");
      }
      auto n = internal::GetUint(value, path, UINT64_MAX);
      if (!n) return tl::unexpected<Error>(std::move(n.error()));
      out.emplace_back(std::string(key), *n);
      path.Pop();
    }
    return {};
  };
}

template <typename ReadObject>
auto ReadObjectWith(Path& path, ReadObject&& read) {
  return [&path, read](od::value& v) -> Status {
    auto obj = internal::GetObject(v, path);
    if (!obj) return tl::unexpected<Error>(std::move(obj.error()));
    return read(*obj);
  };
}

Status DecodeSeries(od::value& v, Path& path, std::vector<SeriesPoint>& out) {
  return internal::WalkArray(
      v, path, 0, 10000, false, [&](std::size_t, od::value& item) -> Status {
        auto obj = internal::GetObject(item, path);
        if (!obj) return tl::unexpected<Error>(std::move(obj.error()));
        SeriesPoint& p = out.emplace_back();
        CAIRN_WIRE_TRY(Field(*obj, "start", path, [&](od::value& s) -> Status {
          auto text = internal::GetString(s, path);
          if (!text) return Status(tl::unexpected(text.error()));
          p.start = std::string(*text);
          return Status{};
        }));
        CAIRN_WIRE_TRY(Field(*obj, "signals", path, ReadUint(p.signals, path)));
        CAIRN_WIRE_TRY(
            Field(*obj, "retractions", path, ReadUint(p.retractions, path)));
        CAIRN_WIRE_TRY(Field(*obj, "queries", path, ReadUint(p.queries, path)));
        CAIRN_WIRE_TRY(Field(*obj, "tokens_queried", path,
                             ReadUint(p.tokens_queried, path)));
        CAIRN_WIRE_TRY(Field(*obj, "matches", path, ReadUint(p.matches, path)));
        CAIRN_WIRE_TRY(
            Field(*obj, "dispositions", path, ReadUint(p.dispositions, path)));
        CAIRN_WIRE_TRY(Field(*obj, "false_positives", path,
                             ReadUint(p.false_positives, path)));
        return {};
      });
}

// "retention" (optional): {"purge_cutoff","match_cutoff" (optional),
// "note"}.
Status DecodeRetention(od::object& root, Path& path, ReportRetention& out) {
  return Field(
      root, "retention", path,
      ReadObjectWith(path,
                     [&](od::object& o) -> Status {
                       Timestamp cutoff{};
                       CAIRN_WIRE_TRY(Field(o, "purge_cutoff", path,
                                            ReadTimestamp(cutoff, path)));
                       out.purge_cutoff = cutoff;
                       Timestamp match_cutoff{};
                       bool has_match_cutoff = false;
                       CAIRN_WIRE_TRY(Field(
                           o, "match_cutoff", path,
                           [&](od::value& v) -> Status {
                             has_match_cutoff = true;
                             return ReadTimestamp(match_cutoff, path)(v);
                           },
                           /*optional=*/true));
                       if (has_match_cutoff) out.match_cutoff = match_cutoff;
                       return Field(o, "note", path,
                                    ReadOptionalString(out.note, path));
                     }),
      /*optional=*/true);
}

// ---- Encoding helpers ------------------------------------------------------

void WriteRetention(internal::Writer& w, const ReportRetention& r) {
  if (!r.purge_cutoff) return;
  internal::WriteKey(w, "retention");
  w.StartObject();
  internal::WriteKey(w, "purge_cutoff");
  internal::WriteTimestamp(w, *r.purge_cutoff);
  if (r.match_cutoff) {
    internal::WriteKey(w, "match_cutoff");
    internal::WriteTimestamp(w, *r.match_cutoff);
  }
  internal::WriteKey(w, "note");
  internal::WriteString(w, r.note);
  w.EndObject();
}

void WriteCounts(internal::Writer& w, std::string_view key,
                 const Counts& counts) {
  internal::WriteKey(w, key);
  w.StartObject();
  for (const auto& [name, count] : counts) {
    internal::WriteKey(w, name);
    w.Uint64(count);
  }
  w.EndObject();
}

void WriteMember(internal::Writer& w, const std::string& member) {
  internal::WriteKey(w, "member");
  if (member.empty()) {
    w.Null();
  } else {
    internal::WriteString(w, member);
  }
}

void WriteSeries(internal::Writer& w, std::string_view key,
                 const std::vector<SeriesPoint>& series) {
  internal::WriteKey(w, key);
  w.StartArray();
  for (const auto& p : series) {
    w.StartObject();
    internal::WriteKey(w, "start");
    internal::WriteString(w, p.start);
    internal::WriteKey(w, "signals");
    w.Uint64(p.signals);
    internal::WriteKey(w, "retractions");
    w.Uint64(p.retractions);
    internal::WriteKey(w, "queries");
    w.Uint64(p.queries);
    internal::WriteKey(w, "tokens_queried");
    w.Uint64(p.tokens_queried);
    internal::WriteKey(w, "matches");
    w.Uint64(p.matches);
    internal::WriteKey(w, "dispositions");
    w.Uint64(p.dispositions);
    internal::WriteKey(w, "false_positives");
    w.Uint64(p.false_positives);
    w.EndObject();
  }
  w.EndArray();
}

}  // namespace

Result<ReportRequest> ParseReportRequest(std::string_view query,
                                         ReportKind kind) {
  ReportRequest out;
  std::vector<std::string> seen;
  bool have_from = false, have_to = false;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{}
                                          : query.substr(amp + 1);
    if (pair.empty()) continue;
    const std::size_t eq = pair.find('=');
    const std::string name(pair.substr(0, eq));
    auto fail = [&](std::string message) {
      return MakeError(ErrorCode::kInvalidArgument, std::move(message), name);
    };
    const auto value =
        PercentDecode(eq == std::string_view::npos ? std::string_view{}
                                                   : pair.substr(eq + 1));
    if (!value) {
      return fail("malformed percent-escape; encode the value as %XX");
    }
    for (const auto& s : seen) {
      if (s == name) return fail("parameter given twice; give it once");
    }
    seen.push_back(name);
    if (name == "from" || name == "to") {
      auto t = ParseTimestamp(*value);
      if (!t) {
        return fail(
            "expected an RFC 3339 UTC time such as "
            "2026-11-01T00:00:00Z");
      }
      (name == "from" ? out.from : out.to) = *t;
      (name == "from" ? have_from : have_to) = true;
    } else if (name == "member") {
      if (!IsWellFormedMemberId(*value)) {
        return fail(
            "expected a member id (^[a-z][a-z0-9-]{1,31}$); omit it for your "
            "own report");
      }
      out.member = *value;
    } else if (name == "pending_days" && kind == ReportKind::kSummary) {
      auto n = ParseBoundedUint(*value, 0, kMaxPendingDays, name);
      if (!n) return tl::unexpected(n.error());
      out.pending_days = *n;
    } else if (name == "after" && kind == ReportKind::kMatches) {
      if (!IsWellFormedCursor(*value)) {
        return fail(
            "expected the cursor returned by the previous page; omit it to "
            "start at the beginning");
      }
      out.after = *value;
    } else if (name == "limit" && kind == ReportKind::kMatches) {
      auto n = ParseBoundedUint(*value, 1, kMaxPageLimit, name);
      if (!n) return tl::unexpected(n.error());
      out.limit = *n;
    } else {
      return fail(kind == ReportKind::kSummary
                      ? "unknown query parameter; use from, to, member and "
                        "pending_days"
                      : "unknown query parameter; use from, to, member, after "
                        "and limit");
    }
  }
  if (!have_from) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "missing the start of the period; add "
                     "from=2026-11-01T00:00:00Z (RFC 3339, UTC)",
                     "from");
  }
  if (!have_to) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "missing the end of the period; add "
                     "to=2026-12-01T00:00:00Z (RFC 3339, UTC, exclusive)",
                     "to");
  }
  if (out.from >= out.to) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the period is empty: 'to' must be later than 'from'",
                     "to");
  }
  if (out.to - out.from > std::chrono::days(kMaxReportDays)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "the period is longer than " +
                         std::to_string(kMaxReportDays) +
                         " days; ask for several shorter periods",
                     "to");
  }
  return out;
}

std::string EncodeReportRequest(const ReportRequest& request, ReportKind kind) {
  auto time = [](Timestamp t) {
    std::string s = FormatTimestamp(t);
    std::string out;
    for (char c : s) {
      if (c == ':') {
        out += "%3A";
      } else {
        out += c;
      }
    }
    return out;
  };
  std::string out = "from=" + time(request.from) + "&to=" + time(request.to);
  if (!request.member.empty()) out += "&member=" + request.member;
  if (kind == ReportKind::kSummary) {
    if (request.pending_days != kDefaultPendingDays) {
      out += "&pending_days=" + std::to_string(request.pending_days);
    }
  } else {
    if (!request.after.empty()) out += "&after=" + request.after;
    if (request.limit != kDefaultPageLimit) {
      out += "&limit=" + std::to_string(request.limit);
    }
  }
  return out;
}

std::string EncodeReportAuditDetails(const ReportRequest& request,
                                     ReportKind kind) {
  rapidjson::StringBuffer buffer;
  internal::Writer w(buffer);
  w.StartObject();
  internal::WriteKey(w, "report");
  internal::WriteString(w,
                        kind == ReportKind::kSummary ? "summary" : "matches");
  internal::WriteKey(w, "from");
  internal::WriteTimestamp(w, request.from);
  internal::WriteKey(w, "to");
  internal::WriteTimestamp(w, request.to);
  WriteMember(w, request.member);
  w.EndObject();
  return internal::Take(buffer);
}

std::string Encode(const ReportSummary& r) {
  rapidjson::StringBuffer buffer;
  internal::Writer w(buffer);
  w.StartObject();
  internal::WriteKey(w, "from");
  internal::WriteTimestamp(w, r.from);
  internal::WriteKey(w, "to");
  internal::WriteTimestamp(w, r.to);
  internal::WriteKey(w, "generated_at");
  internal::WriteTimestamp(w, r.generated_at);
  WriteMember(w, r.member);
  WriteRetention(w, r.retention);

  internal::WriteKey(w, "signals");
  w.StartObject();
  internal::WriteKey(w, "submitted");
  w.Uint64(r.signals.submitted);
  WriteCounts(w, "by_category", r.signals.by_category);
  WriteCounts(w, "by_kind", r.signals.by_kind);
  internal::WriteKey(w, "active");
  w.Uint64(r.signals.active);
  w.EndObject();

  internal::WriteKey(w, "retractions");
  w.StartObject();
  internal::WriteKey(w, "total");
  w.Uint64(r.retractions.total);
  WriteCounts(w, "by_reason", r.retractions.by_reason);
  w.EndObject();

  internal::WriteKey(w, "queries");
  w.StartObject();
  internal::WriteKey(w, "audit_log_available");
  w.Bool(r.queries.audit_log_available);
  internal::WriteKey(w, "requests");
  w.Uint64(r.queries.requests);
  internal::WriteKey(w, "tokens");
  w.Uint64(r.queries.tokens);
  if (!r.queries.note.empty()) {
    internal::WriteKey(w, "note");
    internal::WriteString(w, r.queries.note);
  }
  w.EndObject();

  internal::WriteKey(w, "matches");
  w.StartObject();
  internal::WriteKey(w, "total");
  w.Uint64(r.matches.total);
  WriteCounts(w, "by_platforms", r.matches.by_platforms);
  w.EndObject();

  internal::WriteKey(w, "dispositions");
  w.StartObject();
  internal::WriteKey(w, "reviewed");
  w.Uint64(r.dispositions.reviewed);
  internal::WriteKey(w, "unreviewed");
  w.Uint64(r.dispositions.unreviewed);
  WriteCounts(w, "by_outcome", r.dispositions.by_outcome);
  internal::WriteKey(w, "false_positive_rate");
  if (r.dispositions.false_positive_rate) {
    w.Double(*r.dispositions.false_positive_rate);
  } else {
    w.Null();
  }
  internal::WriteKey(w, "median_seconds_to_disposition");
  if (r.dispositions.median_seconds_to_disposition) {
    w.Uint64(*r.dispositions.median_seconds_to_disposition);
  } else {
    w.Null();
  }
  w.EndObject();

  internal::WriteKey(w, "pending_reviews");
  w.StartObject();
  internal::WriteKey(w, "older_than_days");
  w.Uint(r.pending_reviews.older_than_days);
  internal::WriteKey(w, "count");
  w.Uint64(r.pending_reviews.count);
  internal::WriteKey(w, "oldest");
  if (r.pending_reviews.oldest) {
    internal::WriteTimestamp(w, *r.pending_reviews.oldest);
  } else {
    w.Null();
  }
  w.EndObject();

  internal::WriteKey(w, "rereviews");
  w.StartObject();
  internal::WriteKey(w, "notified");
  w.Uint64(r.rereviews.notified);
  internal::WriteKey(w, "needed");
  w.Uint64(r.rereviews.needed);
  w.EndObject();

  WriteSeries(w, "daily", r.daily);
  WriteSeries(w, "weekly", r.weekly);
  w.EndObject();
  return internal::Take(buffer);
}

Result<ReportSummary> DecodeReportSummary(std::string_view json) {
  return internal::DecodeBody<ReportSummary>(
      json, [](od::object& root, Path& path, ReportSummary& r) -> Status {
        CAIRN_WIRE_TRY(Field(root, "from", path, ReadTimestamp(r.from, path)));
        CAIRN_WIRE_TRY(Field(root, "to", path, ReadTimestamp(r.to, path)));
        CAIRN_WIRE_TRY(Field(root, "generated_at", path,
                             ReadTimestamp(r.generated_at, path)));
        CAIRN_WIRE_TRY(
            Field(root, "member", path, ReadOptionalString(r.member, path)));
        CAIRN_WIRE_TRY(DecodeRetention(root, path, r.retention));
        CAIRN_WIRE_TRY(Field(
            root, "signals", path,
            ReadObjectWith(path, [&](od::object& o) -> Status {
              CAIRN_WIRE_TRY(Field(o, "submitted", path,
                                   ReadUint(r.signals.submitted, path)));
              CAIRN_WIRE_TRY(Field(o, "by_category", path,
                                   ReadCounts(r.signals.by_category, path)));
              CAIRN_WIRE_TRY(Field(o, "by_kind", path,
                                   ReadCounts(r.signals.by_kind, path)));
              return Field(o, "active", path, ReadUint(r.signals.active, path));
            })));
        CAIRN_WIRE_TRY(
            Field(root, "retractions", path,
                  ReadObjectWith(path, [&](od::object& o) -> Status {
                    CAIRN_WIRE_TRY(Field(o, "total", path,
                                         ReadUint(r.retractions.total, path)));
                    return Field(o, "by_reason", path,
                                 ReadCounts(r.retractions.by_reason, path));
                  })));
        CAIRN_WIRE_TRY(Field(
            root, "queries", path,
            ReadObjectWith(path, [&](od::object& o) -> Status {
              CAIRN_WIRE_TRY(Field(
                  o, "audit_log_available", path, [&](od::value& v) -> Status {
                    return Assign(internal::GetBool(v, path),
                                  r.queries.audit_log_available);
                  }));
              CAIRN_WIRE_TRY(Field(o, "requests", path,
                                   ReadUint(r.queries.requests, path)));
              CAIRN_WIRE_TRY(
                  Field(o, "tokens", path, ReadUint(r.queries.tokens, path)));
              return Field(o, "note", path,
                           ReadOptionalString(r.queries.note, path), true);
            })));
        CAIRN_WIRE_TRY(
            Field(root, "matches", path,
                  ReadObjectWith(path, [&](od::object& o) -> Status {
                    CAIRN_WIRE_TRY(Field(o, "total", path,
                                         ReadUint(r.matches.total, path)));
                    return Field(o, "by_platforms", path,
                                 ReadCounts(r.matches.by_platforms, path));
                  })));
        CAIRN_WIRE_TRY(Field(
            root, "dispositions", path,
            ReadObjectWith(path, [&](od::object& o) -> Status {
              auto& d = r.dispositions;
              CAIRN_WIRE_TRY(
                  Field(o, "reviewed", path, ReadUint(d.reviewed, path)));
              CAIRN_WIRE_TRY(
                  Field(o, "unreviewed", path, ReadUint(d.unreviewed, path)));
              CAIRN_WIRE_TRY(
                  Field(o, "by_outcome", path, ReadCounts(d.by_outcome, path)));
              CAIRN_WIRE_TRY(Field(
                  o, "false_positive_rate", path, [&](od::value& v) -> Status {
                    if (IsNull(v)) return {};
                    double rate = 0;
                    if (auto err = v.get_double().get(rate)) {
                      return internal::FailJson(path, err, "a number");
                    }
                    d.false_positive_rate = rate;
                    return {};
                  }));
              return Field(o, "median_seconds_to_disposition", path,
                           [&](od::value& v) -> Status {
                             if (IsNull(v)) return {};
                             std::uint64_t n = 0;
                             CAIRN_WIRE_TRY(Assign(
                                 internal::GetUint(v, path, UINT64_MAX), n));
                             d.median_seconds_to_disposition = n;
                             return {};
                           });
            })));
        CAIRN_WIRE_TRY(Field(
            root, "pending_reviews", path,
            ReadObjectWith(path, [&](od::object& o) -> Status {
              auto& p = r.pending_reviews;
              CAIRN_WIRE_TRY(Field(
                  o, "older_than_days", path, [&](od::value& v) -> Status {
                    std::uint64_t n = 0;
                    CAIRN_WIRE_TRY(
                        Assign(internal::GetUint(v, path, kMaxPendingDays), n));
                    p.older_than_days = static_cast<std::uint32_t>(n);
                    return Status{};
                  }));
              CAIRN_WIRE_TRY(Field(o, "count", path, ReadUint(p.count, path)));
              return Field(o, "oldest", path, [&](od::value& v) -> Status {
                if (IsNull(v)) return {};
                Timestamp t{};
                CAIRN_WIRE_TRY(Assign(internal::GetTimestamp(v, path), t));
                p.oldest = t;
                return {};
              });
            })));
        CAIRN_WIRE_TRY(Field(root, "rereviews", path,
                             ReadObjectWith(path, [&](od::object& o) -> Status {
                               CAIRN_WIRE_TRY(
                                   Field(o, "notified", path,
                                         ReadUint(r.rereviews.notified, path)));
                               return Field(o, "needed", path,
                                            ReadUint(r.rereviews.needed, path));
                             })));
        CAIRN_WIRE_TRY(Field(root, "daily", path, [&](od::value& v) -> Status {
          return DecodeSeries(v, path, r.daily);
        }));
        CAIRN_WIRE_TRY(Field(root, "weekly", path, [&](od::value& v) -> Status {
          return DecodeSeries(v, path, r.weekly);
        }));
        return FinishObject(root, path);
      });
}

std::string Encode(const ReportMatchesResponse& body) {
  rapidjson::StringBuffer buffer;
  internal::Writer w(buffer);
  w.StartObject();
  internal::WriteKey(w, "from");
  internal::WriteTimestamp(w, body.from);
  internal::WriteKey(w, "to");
  internal::WriteTimestamp(w, body.to);
  WriteMember(w, body.member);
  WriteRetention(w, body.retention);
  internal::WriteKey(w, "matches");
  w.StartArray();
  for (const auto& m : body.matches) {
    w.StartObject();
    internal::WriteKey(w, "match_id");
    internal::WriteString(w, m.match_id);
    internal::WriteKey(w, "member");
    internal::WriteString(w, m.member);
    internal::WriteKey(w, "at");
    internal::WriteTimestamp(w, m.at);
    internal::WriteKey(w, "kinds");
    w.StartArray();
    for (const auto& k : m.kinds) internal::WriteString(w, k);
    w.EndArray();
    internal::WriteKey(w, "categories");
    w.StartArray();
    for (Category c : m.categories) internal::WriteString(w, ToString(c));
    w.EndArray();
    internal::WriteKey(w, "platforms");
    w.Uint(m.platforms);
    internal::WriteKey(w, "disposition");
    if (m.disposition) {
      internal::WriteString(w, ToString(*m.disposition));
    } else {
      w.Null();
    }
    internal::WriteKey(w, "disposed_at");
    if (m.disposed_at) {
      internal::WriteTimestamp(w, *m.disposed_at);
    } else {
      w.Null();
    }
    internal::WriteKey(w, "retracted_since");
    w.Bool(m.retracted_since);
    w.EndObject();
  }
  w.EndArray();
  internal::WriteKey(w, "cursor");
  internal::WriteString(w, body.cursor);
  internal::WriteKey(w, "more");
  w.Bool(body.more);
  w.EndObject();
  return internal::Take(buffer);
}

Result<ReportMatchesResponse> DecodeReportMatchesResponse(
    std::string_view json) {
  return internal::DecodeBody<ReportMatchesResponse>(
      json,
      [](od::object& root, Path& path, ReportMatchesResponse& r) -> Status {
        CAIRN_WIRE_TRY(Field(root, "from", path, ReadTimestamp(r.from, path)));
        CAIRN_WIRE_TRY(Field(root, "to", path, ReadTimestamp(r.to, path)));
        CAIRN_WIRE_TRY(
            Field(root, "member", path, ReadOptionalString(r.member, path)));
        CAIRN_WIRE_TRY(DecodeRetention(root, path, r.retention));
        CAIRN_WIRE_TRY(
            Field(root, "matches", path, [&](od::value& v) -> Status {
              return internal::WalkArray(
                  v, path, 0, kMaxPageLimit, false,
                  [&](std::size_t, od::value& item) -> Status {
                    auto obj = internal::GetObject(item, path);
                    if (!obj)
                      return tl::unexpected<Error>(std::move(obj.error()));
                    ReportMatch& m = r.matches.emplace_back();
                    CAIRN_WIRE_TRY(Field(
                        *obj, "match_id", path, [&](od::value& s) -> Status {
                          auto id =
                              internal::GetShaped(s, path, &IsWellFormedMatchId,
                                                  "a match id (m_ + 32 hex)");
                          if (!id) return Status(tl::unexpected(id.error()));
                          m.match_id = std::string(*id);
                          return Status{};
                        }));
                    CAIRN_WIRE_TRY(Field(*obj, "member", path,
                                         ReadOptionalString(m.member, path)));
                    CAIRN_WIRE_TRY(
                        Field(*obj, "at", path, ReadTimestamp(m.at, path)));
                    CAIRN_WIRE_TRY(
                        Field(*obj, "kinds", path, [&](od::value& a) -> Status {
                          return internal::WalkArray(
                              a, path, 0, 64, false,
                              [&](std::size_t, od::value& k) -> Status {
                                auto kind = internal::GetKind(k, path);
                                if (!kind) return tl::unexpected(kind.error());
                                m.kinds.emplace_back(*kind);
                                return {};
                              });
                        }));
                    CAIRN_WIRE_TRY(Field(
                        *obj, "categories", path, [&](od::value& a) -> Status {
                          return internal::WalkArray(
                              a, path, 0, 64, false,
                              [&](std::size_t, od::value& c) -> Status {
                                auto cat = internal::GetCategory(c, path);
                                if (!cat) return tl::unexpected(cat.error());
                                m.categories.push_back(*cat);
                                return {};
                              });
                        }));
                    CAIRN_WIRE_TRY(Field(
                        *obj, "platforms", path, [&](od::value& p) -> Status {
                          std::uint64_t n = 0;
                          CAIRN_WIRE_TRY(Assign(
                              internal::GetUint(p, path, UINT32_MAX), n));
                          m.platforms = static_cast<std::uint32_t>(n);
                          return Status{};
                        }));
                    CAIRN_WIRE_TRY(Field(
                        *obj, "disposition", path, [&](od::value& d) -> Status {
                          if (IsNull(d)) return {};
                          auto o = internal::GetOutcome(d, path);
                          if (!o) return tl::unexpected(o.error());
                          m.disposition = *o;
                          return {};
                        }));
                    CAIRN_WIRE_TRY(Field(
                        *obj, "disposed_at", path, [&](od::value& d) -> Status {
                          if (IsNull(d)) return {};
                          Timestamp t{};
                          CAIRN_WIRE_TRY(
                              Assign(internal::GetTimestamp(d, path), t));
                          m.disposed_at = t;
                          return {};
                        }));
                    return Field(*obj, "retracted_since", path,
                                 [&](od::value& b) -> Status {
                                   return Assign(internal::GetBool(b, path),
                                                 m.retracted_since);
                                 });
                  });
            }));
        CAIRN_WIRE_TRY(Field(root, "cursor", path, [&](od::value& v) -> Status {
          auto c = internal::GetString(v, path);
          if (!c) return Status(tl::unexpected(c.error()));
          r.cursor = std::string(*c);
          return Status{};
        }));
        CAIRN_WIRE_TRY(Field(root, "more", path, [&](od::value& v) -> Status {
          return Assign(internal::GetBool(v, path), r.more);
        }));
        return FinishObject(root, path);
      });
}

}  // namespace cairn::wire
