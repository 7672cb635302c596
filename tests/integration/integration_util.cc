#include "tests/integration/integration_util.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <filesystem>

#include "cairn/timestamp.h"

namespace cairn::testing {

std::string TimestampFromNow(std::chrono::seconds offset) {
  return FormatTimestamp(std::chrono::time_point_cast<std::chrono::seconds>(
      std::chrono::system_clock::now() + offset));
}

std::string SignalJson(const SignalSpec& s) {
  // One default for the whole test run: computed per body, it changed when a
  // second boundary fell between two submissions of the same token, and the
  // hub rightly took the repeat as an update (hub_schema_test's
  // intermittent extra "added" feed event).
  static const std::string kDefaultBannedAt =
      TimestampFromNow(-std::chrono::hours(1));
  std::string out = fmt::format(
      R"({{"kind":"{}","token":"{}","category":"{}","severity":"{}","banned_at":"{}")",
      s.kind, s.token, s.category, s.severity,
      s.banned_at.empty() ? kDefaultBannedAt : s.banned_at);
  if (s.expires_at) out += fmt::format(R"(,"expires_at":"{}")", *s.expires_at);
  if (s.attribution) out += R"(,"attribution":true)";
  if (s.ref) out += fmt::format(R"(,"ref":"{}")", *s.ref);
  return out + "}";
}

std::string SubmitBody(const std::vector<SignalSpec>& signals) {
  std::string out = R"({"signals":[)";
  for (std::size_t i = 0; i < signals.size(); ++i) {
    if (i > 0) out += ",";
    out += SignalJson(signals[i]);
  }
  return out + "]}";
}

std::string QueryBody(
    const std::vector<std::pair<std::string, std::string>>& kind_and_tokens) {
  std::string out = R"({"queries":[)";
  for (std::size_t i = 0; i < kind_and_tokens.size(); ++i) {
    if (i > 0) out += ",";
    out += fmt::format(R"({{"kind":"{}","token":"{}"}})",
                       kind_and_tokens[i].first, kind_and_tokens[i].second);
  }
  return out + "]}";
}

rapidjson::Document ParseJson(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  return doc;
}

namespace {
std::string ErrorField(const std::string& json, const char* field) {
  auto doc = ParseJson(json);
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("error") ||
      !doc["error"].IsObject() || !doc["error"].HasMember(field) ||
      !doc["error"][field].IsString()) {
    return {};
  }
  return doc["error"][field].GetString();
}
}  // namespace

std::string ErrorCodeOf(const std::string& json) {
  return ErrorField(json, "code");
}

std::string ErrorMessageOf(const std::string& json) {
  return ErrorField(json, "message");
}

server::HubConnectionOptions ConnectionOptions(const RunningHub& hub,
                                               const std::string& member) {
  server::HubConnectionOptions options;
  options.hub_url = hub.Url();
  options.cert_file = hub.Pki().Cert(member);
  options.key_file = hub.Pki().Key(member);
  options.ca_file = hub.Pki().CaCert();
  options.timeout = std::chrono::seconds(20);
  return options;
}

Result<std::unique_ptr<server::HubConnection>> Connect(
    const RunningHub& hub, const std::string& member) {
  return server::HubConnection::Open(ConnectionOptions(hub, member));
}

std::string ValidateResponseScript() {
  return std::string(CAIRN_SOURCE_DIR) + "/tests/schemas/validate_response.py";
}

CommandResult ValidateResponses(const std::string& schema,
                                const std::vector<std::string>& bodies) {
  TempDir dir("cairn-schema");
  std::vector<std::string> argv = {CAIRN_PYTHON3, ValidateResponseScript(),
                                   schema};
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    argv.push_back(dir.File(fmt::format("{}-{}.json", schema, i)));
    WriteFile(argv.back(), bodies[i]);
  }
  return RunCommand(argv, std::chrono::seconds(60));
}

bool IssueClientCert(const TempPki& pki, const std::string& name, int days,
                     const std::string& extended_key_usage) {
  const std::string base = pki.dir() + "/" + name;
  WriteFile(base + ".ext",
            "basicConstraints=critical,CA:FALSE\n"
            "keyUsage=critical,digitalSignature\n"
            "extendedKeyUsage=" +
                extended_key_usage + "\n");
  const auto timeout = std::chrono::seconds(30);
  const std::vector<std::vector<std::string>> steps = {
      {"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
       "ec_paramgen_curve:P-256", "-out", base + ".key"},
      {"openssl", "req", "-new", "-key", base + ".key", "-subj",
       "/O=Cairn Test/CN=" + name, "-out", base + ".csr"},
      {"openssl", "x509", "-req", "-in", base + ".csr", "-CA", pki.CaCert(),
       "-CAkey", pki.dir() + "/ca.key", "-CAcreateserial", "-days",
       std::to_string(days), "-sha256", "-extfile", base + ".ext", "-out",
       base + ".crt"},
  };
  for (const auto& step : steps) {
    if (RunCommand(step, timeout).exit_code != 0) return false;
  }
  return true;
}

namespace {

std::string OpensslDate(std::chrono::system_clock::time_point t) {
  // UTC whatever TZ says (fmt formats a time_point in local time).
  return fmt::format("{:%Y%m%d%H%M%S}Z",
                     fmt::gmtime(std::chrono::system_clock::to_time_t(t)));
}

}  // namespace

bool IssueCertBetween(const TempPki& pki, const std::string& name,
                      CertKind kind, std::chrono::system_clock::time_point from,
                      std::chrono::system_clock::time_point until) {
  // `openssl x509 -req` counts validity in days only; `openssl ca` takes
  // exact dates but wants a configuration and a database of its own.
  const std::string base = pki.dir() + "/" + name;
  const std::string db = base + ".ca";
  std::filesystem::create_directories(db);
  WriteFile(db + "/index.txt", "");
  WriteFile(db + "/serial", "1000\n");
  WriteFile(db + "/ca.cnf",
            "[ca]\ndefault_ca = test_ca\n"
            "[test_ca]\ndatabase = " +
                db + "/index.txt\nserial = " + db +
                "/serial\nnew_certs_dir = " + db +
                "\ndefault_md = sha256\npolicy = any\n"
                "unique_subject = no\n"
                "[any]\ncommonName = supplied\n"
                "organizationName = optional\n"
                "[client]\nbasicConstraints = critical,CA:FALSE\n"
                "keyUsage = critical,digitalSignature\n"
                "extendedKeyUsage = clientAuth\n"
                "[server]\nbasicConstraints = critical,CA:FALSE\n"
                "keyUsage = critical,digitalSignature\n"
                "extendedKeyUsage = serverAuth\n"
                "subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1\n"
                "[root]\nbasicConstraints = critical,CA:TRUE,pathlen:0\n"
                "keyUsage = critical,keyCertSign,cRLSign\n"
                "subjectKeyIdentifier = hash\n");
  const auto timeout = std::chrono::seconds(30);
  std::vector<std::vector<std::string>> steps;
  std::string key = base + ".key";
  std::string subject = "/O=Cairn Test/CN=" + name;
  std::string extensions = "client";
  std::vector<std::string> signer = {"-cert", pki.CaCert(), "-keyfile",
                                     pki.dir() + "/ca.key"};
  switch (kind) {
    case CertKind::kClient:
      break;
    case CertKind::kServer:
      key = pki.ServerKey();
      extensions = "server";
      break;
    case CertKind::kSameCa:
      key = pki.dir() + "/ca.key";
      subject = "/O=Cairn Dev/CN=Cairn Dev Root CA";  // make-dev-pki.sh's
      extensions = "root";
      signer = {"-selfsign", "-keyfile", key, "-preserveDN"};
      break;
    case CertKind::kNewCa:
      extensions = "root";
      signer = {"-selfsign", "-keyfile", key, "-preserveDN"};
      break;
  }
  if (key == base + ".key") {
    steps.push_back({"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                     "ec_paramgen_curve:P-256", "-out", key});
  }
  steps.push_back({"openssl", "req", "-new", "-key", key, "-subj", subject,
                   "-out", base + ".csr"});
  std::vector<std::string> sign = {"openssl",     "ca",      "-batch",
                                   "-notext",     "-config", db + "/ca.cnf",
                                   "-rand_serial"};
  sign.insert(sign.end(), signer.begin(), signer.end());
  sign.insert(sign.end(), {"-extensions", extensions, "-in", base + ".csr",
                           "-out", base + ".crt", "-startdate",
                           OpensslDate(from), "-enddate", OpensslDate(until)});
  steps.push_back(std::move(sign));
  for (const auto& step : steps) {
    if (RunCommand(step, timeout).exit_code != 0) return false;
  }
  return true;
}

bool IssueClientCertUntil(const TempPki& pki, const std::string& name,
                          std::chrono::system_clock::time_point until) {
  return IssueCertBetween(
      pki, name, CertKind::kClient,
      std::chrono::system_clock::now() - std::chrono::minutes(1), until);
}

bool ContainsBytes(const std::string& haystack, const std::string& needle) {
  return !needle.empty() && haystack.find(needle) != std::string::npos;
}

}  // namespace cairn::testing
