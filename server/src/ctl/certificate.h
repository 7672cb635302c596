// Certificate helpers for cairnctl (OpenSSL).
#ifndef CAIRN_SERVER_CTL_CERTIFICATE_H_
#define CAIRN_SERVER_CTL_CERTIFICATE_H_

#include <string>

#include "cairn/result.h"

namespace cairn::server {

// SHA-256 of the DER encoding of the first certificate in a PEM file, as 64
// lowercase hex: the fingerprint the hub registers members by.
Result<std::string> FingerprintOfPemFile(const std::string& path);

}  // namespace cairn::server

#endif  // CAIRN_SERVER_CTL_CERTIFICATE_H_
