// url: RFC 3986 syntax-based normalisation of http(s) URLs (profile n1).
//
// No URL library is among the project's dependencies (Boost.URL arrived
// after Boost 1.74), so the few RFC 3986 steps are written out here, with
// ICU for the host (IDNA) and inet_pton/inet_ntop for IPv6 literals.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>

#include "cairn/normalise.h"
#include "unicode.h"

namespace cairn {
namespace {

tl::unexpected<Error> Invalid(std::string message) {
  return MakeError(ErrorCode::kInvalidArgument, std::move(message));
}

char Lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 3986 section 2.3.
bool IsUnreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
}

// Characters a path (or, with '?', a query) may hold unencoded: unreserved,
// sub-delims, ':' and '@' (RFC 3986 section 3.3 and 3.4).
bool MayStayLiteral(unsigned char c, bool query) {
  if (IsUnreserved(c)) return true;
  static constexpr std::string_view kOther = "!$&'()*+,;=:@/";
  if (kOther.find(static_cast<char>(c)) != std::string_view::npos) {
    return true;
  }
  return query && c == '?';
}

void AppendEncoded(std::string& out, unsigned char c) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  out.push_back('%');
  out.push_back(kHex[c >> 4]);
  out.push_back(kHex[c & 0xF]);
}

// Decodes percent-encoded unreserved characters, uppercases the hex of the
// rest (RFC 3986 section 6.2.2.1-2) and percent-encodes bytes that may not
// appear literally (non-ASCII as UTF-8, '"', '<', '\\', ...).
Result<std::string> NormaliseComponent(std::string_view in, bool query,
                                       std::string_view what) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const auto c = static_cast<unsigned char>(in[i]);
    if (c == '%') {
      if (i + 2 >= in.size() || HexValue(in[i + 1]) < 0 ||
          HexValue(in[i + 2]) < 0) {
        return Invalid("URL " + std::string(what) +
                       " has a '%' not followed by two hex digits; write a "
                       "literal '%' as %25");
      }
      const auto decoded = static_cast<unsigned char>(HexValue(in[i + 1]) * 16 +
                                                      HexValue(in[i + 2]));
      if (IsUnreserved(decoded)) {
        out.push_back(static_cast<char>(decoded));
      } else {
        AppendEncoded(out, decoded);
      }
      i += 2;
    } else if (MayStayLiteral(c, query)) {
      out.push_back(static_cast<char>(c));
    } else {
      AppendEncoded(out, c);
    }
  }
  return out;
}

// RFC 3986 section 5.2.4.
std::string RemoveDotSegments(std::string_view in) {
  std::string out;
  auto pop_segment = [&out] {
    const std::size_t slash = out.rfind('/');
    out.erase(slash == std::string::npos ? 0 : slash);
  };
  while (!in.empty()) {
    if (in.starts_with("../")) {
      in.remove_prefix(3);
    } else if (in.starts_with("./") || in.starts_with("/./")) {
      // RFC 3986 5.2.4 steps A and B: both drop two characters.
      in.remove_prefix(2);
    } else if (in == "/.") {
      in = "/";
    } else if (in.starts_with("/../")) {
      in.remove_prefix(3);
      pop_segment();
    } else if (in == "/..") {
      in = "/";
      pop_segment();
    } else if (in == "." || in == "..") {
      in = {};
    } else {
      const std::size_t next = in.find('/', 1);
      const std::size_t n = next == std::string_view::npos ? in.size() : next;
      out.append(in.substr(0, n));
      in.remove_prefix(n);
    }
  }
  return out;
}

Result<std::string> NormaliseIpv6(std::string_view literal) {
  if (literal.find('%') != std::string_view::npos) {
    return Invalid(
        "URL host is an IPv6 literal with a zone identifier, "
        "which only means something on one machine; remove it");
  }
  const std::string text(literal);
  in6_addr address{};
  if (inet_pton(AF_INET6, text.c_str(), &address) != 1) {
    return Invalid(
        "URL host is not a valid IPv6 address between '[' and "
        "']'; check it");
  }
  char buffer[INET6_ADDRSTRLEN];
  if (inet_ntop(AF_INET6, &address, buffer, sizeof buffer) == nullptr) {
    return Invalid("URL host is not a valid IPv6 address; check it");
  }
  // Built in steps: GCC 12 at -O3 warns (-Wrestrict, a false positive) on
  // the one-expression concatenation.
  std::string host = "[";
  host += buffer;
  host += ']';
  return host;
}

}  // namespace

Result<std::string> NormaliseUrl(std::string_view raw) {
  auto trimmed = internal::DecodeAndTrim(raw, "URL");
  if (!trimmed) return tl::unexpected(trimmed.error());
  for (int32_t i = 0; i < trimmed->length(); i = trimmed->moveIndex32(i, 1)) {
    const UChar32 c = trimmed->char32At(i);
    if (internal::IsWhiteSpace(c) || internal::IsControl(c)) {
      return Invalid(
          "URL contains whitespace or a control character inside "
          "it; percent-encode spaces as %20 or check for two "
          "URLs in one field");
    }
  }
  const std::string text = internal::ToUtf8(*trimmed);
  if (text.empty()) {
    return Invalid("URL is empty; give an http:// or https:// URL");
  }

  const std::size_t colon = text.find(':');
  if (colon == std::string::npos || colon == 0) {
    return Invalid(
        "URL has no scheme; write it in full, starting with "
        "http:// or https://");
  }
  std::string scheme = text.substr(0, colon);
  for (char& c : scheme) c = Lower(c);
  if (scheme != "http" && scheme != "https") {
    // Not quoted: the text before the first ':' may be anything, a host
    // or a user name.
    return Invalid(
        "URL scheme (the part before the first ':') is not supported; "
        "only http:// and https:// URLs can be normalised");
  }
  std::string_view rest = std::string_view(text).substr(colon + 1);
  if (!rest.starts_with("//")) {
    return Invalid(
        "URL has no host: expected //host/... after the scheme, as in "
        "https://host/...");
  }
  rest.remove_prefix(2);

  const std::size_t authority_end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, authority_end);
  rest.remove_prefix(authority_end == std::string_view::npos ? rest.size()
                                                             : authority_end);
  if (authority.find('@') != std::string_view::npos) {
    return Invalid(
        "URL contains user information (user:password@ before "
        "the host); remove it, credentials must not be shared");
  }

  std::string_view host_text = authority;
  std::string_view port_text;
  if (authority.starts_with("[")) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return Invalid(
          "URL host starts with '[' but has no ']'; check the "
          "IPv6 address");
    }
    host_text = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty() && !after.starts_with(":")) {
      return Invalid(
          "URL has text after the IPv6 address that is not a "
          "port; check it");
    }
    if (!after.empty()) port_text = after.substr(1);
  } else if (const std::size_t c = authority.rfind(':');
             c != std::string_view::npos) {
    host_text = authority.substr(0, c);
    port_text = authority.substr(c + 1);
  }

  std::string host;
  if (authority.starts_with("[")) {
    auto v6 = NormaliseIpv6(host_text);
    if (!v6) return tl::unexpected(v6.error());
    host = *v6;
  } else {
    if (host_text.empty()) {
      return Invalid(
          "URL has no host; expected //host/... after the scheme, as in "
          "https://host/...");
    }
    if (host_text.find('%') != std::string_view::npos) {
      return Invalid(
          "URL host contains percent-encoding; write the host "
          "name decoded");
    }
    auto ascii = internal::DomainToAscii(
        icu::UnicodeString::fromUTF8(icu::StringPiece(
            host_text.data(), static_cast<int32_t>(host_text.size()))),
        "URL host");
    if (!ascii) return tl::unexpected(ascii.error());
    host = *ascii;
  }

  std::string port;
  if (!port_text.empty()) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(
        port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc() || end != port_text.data() + port_text.size() ||
        port_text.front() == '+' || value == 0 || value > 65535) {
      return Invalid("URL port is not a number from 1 to 65535; check it");
    }
    const bool is_default = (scheme == "http" && value == 80) ||
                            (scheme == "https" && value == 443);
    if (!is_default) port = ":" + std::to_string(value);
  }

  std::string_view path = rest.substr(0, rest.find_first_of("?#"));
  rest.remove_prefix(path.size());
  std::string_view query;
  if (rest.starts_with("?")) {
    query = rest.substr(1);
    query = query.substr(0, query.find('#'));  // the fragment is dropped
  }

  auto normal_path = NormaliseComponent(path, false, "path");
  if (!normal_path) return tl::unexpected(normal_path.error());
  std::string out_path = RemoveDotSegments(*normal_path);
  if (out_path.empty()) out_path = "/";
  auto normal_query = NormaliseComponent(query, true, "query");
  if (!normal_query) return tl::unexpected(normal_query.error());

  std::string out = scheme + "://" + host + port + out_path;
  if (!normal_query->empty()) out += "?" + *normal_query;
  return out;
}

}  // namespace cairn
