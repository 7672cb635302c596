// A fresh development PKI (certs/make-dev-pki.sh) in a temporary directory.
#ifndef CAIRN_TESTS_SUPPORT_PKI_H_
#define CAIRN_TESTS_SUPPORT_PKI_H_

#include <map>
#include <memory>
#include <string>

#include "cairn/result.h"
#include "support/process.h"

namespace cairn::testing {

// Client certificate names made by the script: alpha, beta, compliance,
// operator, and the negative fixtures expired, not-yet-valid,
// other-ca-client, server-auth-only.
class TempPki {
 public:
  // Runs the script into a new temporary directory (removed on destruction).
  static Result<std::unique_ptr<TempPki>> Create();

  const std::string& dir() const { return dir_.path(); }
  std::string CaCert() const { return dir_.File("ca.crt"); }
  std::string ServerCert() const { return dir_.File("server.crt"); }
  std::string ServerKey() const { return dir_.File("server.key"); }
  std::string Cert(const std::string& name) const {
    return dir_.File(name + ".crt");
  }
  std::string Key(const std::string& name) const {
    return dir_.File(name + ".key");
  }
  // SHA-256 of the certificate's DER, 64 lowercase hex, from
  // fingerprints.txt; empty for an unknown name.
  std::string Fingerprint(const std::string& name) const;
  const std::map<std::string, std::string>& fingerprints() const {
    return fingerprints_;
  }

 private:
  TempPki() : dir_("cairn-pki") {}
  TempDir dir_;
  std::map<std::string, std::string> fingerprints_;
};

// Path of certs/make-dev-pki.sh in the source tree.
std::string DevPkiScript();

}  // namespace cairn::testing

#endif  // CAIRN_TESTS_SUPPORT_PKI_H_
