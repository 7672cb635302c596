// A blocking HTTPS+mTLS connection from cairnctl to a hub's API. One
// request at a time over a keep-alive connection.
#ifndef CAIRN_SERVER_CTL_HUB_CONNECTION_H_
#define CAIRN_SERVER_CTL_HUB_CONNECTION_H_

#include <chrono>
#include <memory>
#include <string>

#include "cairn/result.h"

namespace cairn::server {

struct HubConnectionOptions {
  // "https://host:port". Default: "https://127.0.0.1:8443".
  std::string hub_url = "https://127.0.0.1:8443";
  // Connect to this IP address or host name instead of the URL's host, as
  // curl --resolve does; the hub's certificate is still checked against
  // the URL's host. Default (empty): the URL's host.
  std::string address;
  // Client certificate and key (PEM) of an operator or compliance member.
  std::string cert_file;
  std::string key_file;
  // CA bundle that signed the hub's certificate (PEM).
  std::string ca_file;
  // Connect + handshake + each request. Default: 30 s.
  std::chrono::seconds timeout{30};
};

struct HubReply {
  int status = 0;
  std::string body;
};

class HubConnection {
 public:
  // Connects and completes the TLS handshake, verifying the hub's
  // certificate against ca_file and its name against the URL's host. A hub
  // certificate that fails that check, and a TLS alert by which the hub
  // refuses cert_file, are kPermissionDenied; a hub that cannot be reached
  // or completes no handshake for another reason is kUnavailable; an
  // unreadable or malformed certificate, key or CA file is kIo; a malformed
  // hub_url is kInvalidArgument.
  static Result<std::unique_ptr<HubConnection>> Open(
      const HubConnectionOptions& options);
  ~HubConnection();

  // Sends one request; `body` empty means none. Any HTTP status is a
  // successful reply; transport failures are errors: kPermissionDenied for
  // a TLS alert refusing cert_file (under TLS 1.3 it arrives only after
  // the handshake), kUnavailable otherwise.
  Result<HubReply> Send(std::string_view method, std::string_view target,
                        std::string_view body = {});

 private:
  struct Impl;
  explicit HubConnection(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn::server

#endif  // CAIRN_SERVER_CTL_HUB_CONNECTION_H_
