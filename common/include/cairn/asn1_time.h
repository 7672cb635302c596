// X.509 validity times (notBefore, notAfter) as time points.
#ifndef CAIRN_ASN1_TIME_H_
#define CAIRN_ASN1_TIME_H_

#include <chrono>
#include <optional>

#include <openssl/types.h>

namespace cairn {

// The instant an ASN1_TIME names, in UTC: UTCTime ("YYMMDDHHMMSSZ", years
// 1950 to 2049) or GeneralizedTime ("YYYYMMDDHHMMSSZ"), such as a
// certificate's X509_get0_notAfter. nullopt if `time` is null or malformed.
std::optional<std::chrono::sys_seconds> Asn1TimeToSysSeconds(
    const ASN1_TIME* time);

}  // namespace cairn

#endif  // CAIRN_ASN1_TIME_H_
