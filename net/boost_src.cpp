// The one translation unit that compiles Boost.Asio and Boost.Beast (separate compilation), once for
// each I/O backend: stormgate_net on epoll, stormgate_net_uring on io_uring (net/CMakeLists.txt).
#include <boost/asio/detail/config.hpp>

#if defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
// Asio 1.81 sets up its ring with no flags (io_uring_service::init_ring); its rings get the flags of
// net/ring_setup.hpp instead.
#include "net/ring_setup.hpp"

#include <liburing.h>

int stormgate_io_uring_queue_init(unsigned entries, io_uring* ring, unsigned flags) {
  return stormgate::net::set_up_ring([&](unsigned extra) {
    io_uring_params p{};
    p.flags = flags | extra;
    return io_uring_queue_init_params(entries, ring, &p);
  });
}
// The one call of Asio's that sets up a ring is `::io_uring_queue_init(ring_size, &ring_, 0)`.
#define io_uring_queue_init stormgate_io_uring_queue_init
#endif

#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
