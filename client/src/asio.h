// The one client header that includes Asio, Beast and Asio's OpenSSL layer.
//
// Boost 1.74's boost/asio/awaitable.hpp uses std::exchange without including
// <utility>, which breaks under GCC 12 in C++20 mode; including it here,
// first, fixes that. Include this header instead of any boost/asio or
// boost/beast header in client/.
#ifndef CAIRN_CLIENT_SRC_ASIO_H_
#define CAIRN_CLIENT_SRC_ASIO_H_

// clang-format off
#include <utility>
// clang-format on

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace cairn::client_internal {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

}  // namespace cairn::client_internal

#endif  // CAIRN_CLIENT_SRC_ASIO_H_
