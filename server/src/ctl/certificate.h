// Certificate helpers for cairnctl (OpenSSL).
#ifndef CAIRN_SERVER_CTL_CERTIFICATE_H_
#define CAIRN_SERVER_CTL_CERTIFICATE_H_

#include <chrono>
#include <string>

#include "cairn/result.h"

namespace cairn::server {

// SHA-256 of the DER encoding of the first certificate in a PEM file, as 64
// lowercase hex: the fingerprint the hub registers members by.
Result<std::string> FingerprintOfPemFile(const std::string& path);

// The fingerprint of a certificate about to be registered to a member
// (member add --member-cert, member fingerprint add --member-cert, init
// --operator-cert). Refuses, with kInvalidArgument saying what to issue
// instead, a certificate the hub would refuse at every handshake: one that
// has expired by `now`, or one OpenSSL does not accept as a TLS client
// certificate (an extendedKeyUsage without clientAuth, such as a hub's own
// serverAuth certificate). A certificate not valid yet is accepted: it may
// have been issued ahead of a rotation. The advice fits `use`: a member of
// a running hub gets a certificate from 'cairnctl cert sign'; the first
// operator (init) has no hub to register with yet.
enum class CertificateUse { kMember, kFirstOperator };
Result<std::string> MemberFingerprintOfPemFile(
    const std::string& path, std::chrono::system_clock::time_point now,
    CertificateUse use = CertificateUse::kMember);

}  // namespace cairn::server

#endif  // CAIRN_SERVER_CTL_CERTIFICATE_H_
