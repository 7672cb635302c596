// The one project header that includes Asio, Beast and Asio's OpenSSL layer.
//
// Boost 1.74's boost/asio/awaitable.hpp uses std::exchange without including
// <utility>, which breaks under GCC 12 in C++20 mode; including it here,
// first, fixes that for every transport file. Include this header instead of
// any boost/asio or boost/beast header in server/src/transport.
#ifndef CAIRN_SERVER_TRANSPORT_ASIO_H_
#define CAIRN_SERVER_TRANSPORT_ASIO_H_

// clang-format off
#include <utility>
// clang-format on

#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace cairn::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

}  // namespace cairn::server

#endif  // CAIRN_SERVER_TRANSPORT_ASIO_H_
