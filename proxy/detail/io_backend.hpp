// The event loop's backend this build of the proxy runs on: Asio's io_uring backend in
// stormgate_proxy_uring, its epoll reactor in stormgate_proxy (proxy/CMakeLists.txt). The places
// where the two must act differently ask this one constant.
#pragma once
#include <boost/asio/detail/config.hpp>

namespace stormgate::proxy::detail {

#if defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
inline constexpr bool on_io_uring = true;
#else
inline constexpr bool on_io_uring = false;
#endif

}  // namespace stormgate::proxy::detail
