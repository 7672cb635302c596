// Shared pieces of the integration tests: request bodies, JSON reading,
// HubConnection as a PKI member, and schema validation of real responses.
#ifndef CAIRN_TESTS_INTEGRATION_INTEGRATION_UTIL_H_
#define CAIRN_TESTS_INTEGRATION_INTEGRATION_UTIL_H_

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <rapidjson/document.h>

#include "cairn/result.h"
#include "server/src/ctl/hub_connection.h"
#include "support/running_hub.h"

namespace cairn::testing {

// One item of POST /v1/signals.
struct SignalSpec {
  std::string kind = "email";
  std::string token;  // 64 hex
  std::string category = "grooming";
  std::string severity = "high";
  std::string banned_at;  // default: 1 h before the first use, then fixed
  std::optional<std::string> expires_at;  // RFC 3339
  bool attribution = false;
  std::optional<std::string> ref;
};

std::string SignalJson(const SignalSpec& s);
// {"signals":[...]}
std::string SubmitBody(const std::vector<SignalSpec>& signals);
// {"queries":[{"kind","token"}...]}
std::string QueryBody(
    const std::vector<std::pair<std::string, std::string>>& kind_and_tokens);

// RFC 3339 UTC of now + offset.
std::string TimestampFromNow(std::chrono::seconds offset);

// Parses `json`; a document with HasParseError() on failure.
rapidjson::Document ParseJson(const std::string& json);
// doc["error"]["code"] or "" when absent.
std::string ErrorCodeOf(const std::string& json);
std::string ErrorMessageOf(const std::string& json);

// Options for a HubConnection presenting `member`'s PKI certificate.
server::HubConnectionOptions ConnectionOptions(const RunningHub& hub,
                                               const std::string& member);
Result<std::unique_ptr<server::HubConnection>> Connect(
    const RunningHub& hub, const std::string& member);

// Runs tests/schemas/validate_response.py SCHEMA FILE... on `bodies`, each
// written to a temporary file. exit_code 0 means every body is valid
// against schemas/json/SCHEMA.schema.json.
CommandResult ValidateResponses(const std::string& schema,
                                const std::vector<std::string>& bodies);
std::string ValidateResponseScript();

// Makes NAME.key and NAME.crt in the PKI directory: an ECDSA P-256 client
// certificate signed by the dev CA, valid from now for `days` days, with
// `extended_key_usage` (e.g. "clientAuth"). False if openssl failed.
bool IssueClientCert(const TempPki& pki, const std::string& name, int days,
                     const std::string& extended_key_usage = "clientAuth");

// As IssueClientCert (clientAuth), valid from a minute ago until `until`
// exactly (to the second): for certificates that expire during a test.
bool IssueClientCertUntil(const TempPki& pki, const std::string& name,
                          std::chrono::system_clock::time_point until);

// What IssueCertBetween makes.
enum class CertKind {
  kClient,  // clientAuth, new key NAME.key, signed by the dev CA
  kServer,  // like server.crt (serverAuth, localhost names, server.key's
            // key, signed by the dev CA): a replacement for it
  kSameCa,  // the dev CA again (its subject and key, so it verifies the
            // same certificates), self-signed
  kNewCa,   // another CA, new key NAME.key, self-signed
};

// Makes NAME.crt (and NAME.key when the kind has a new key) in the PKI
// directory, valid from `from` until `until` exactly (to the second). False
// if openssl failed.
bool IssueCertBetween(const TempPki& pki, const std::string& name,
                      CertKind kind, std::chrono::system_clock::time_point from,
                      std::chrono::system_clock::time_point until);

// True if `haystack` contains `needle` as bytes.
bool ContainsBytes(const std::string& haystack, const std::string& needle);

}  // namespace cairn::testing

#endif  // CAIRN_TESTS_INTEGRATION_INTEGRATION_UTIL_H_
