#include "cairn/certificate_names.h"

#include <arpa/inet.h>

#include <memory>
#include <string>

#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace cairn {

std::string CertificateNames(X509* certificate) {
  std::string out;
  std::unique_ptr<GENERAL_NAMES, void (*)(GENERAL_NAMES*)> names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(
          certificate, NID_subject_alt_name, nullptr, nullptr)),
      GENERAL_NAMES_free);
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    std::string entry;
    if (name->type == GEN_DNS) {
      const ASN1_IA5STRING* dns = name->d.dNSName;
      entry = "DNS:" + std::string(reinterpret_cast<const char*>(dns->data),
                                   static_cast<std::size_t>(dns->length));
    } else if (name->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* ip = name->d.iPAddress;
      char text[INET6_ADDRSTRLEN] = {};
      const int family = ip->length == 4    ? AF_INET
                         : ip->length == 16 ? AF_INET6
                                            : 0;
      if (family == 0 || !inet_ntop(family, ip->data, text, sizeof text)) {
        continue;
      }
      entry = std::string("IP:") + text;
    } else {
      continue;
    }
    if (!out.empty()) out += ", ";
    out += entry;
  }
  return out.empty() ? "none" : out;
}

}  // namespace cairn
