// The one translation unit that compiles Boost.Asio and Boost.Beast (separate compilation), once for
// each I/O backend: stormgate_net on epoll, stormgate_net_uring on io_uring (net/CMakeLists.txt).
#include <boost/asio/detail/config.hpp>

#if defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
// Asio 1.81 sets up its ring with no flags (io_uring_service::init_ring). Without
// IORING_SETUP_COOP_TASKRUN (Linux 5.19) the kernel interrupts the proxy's thread for each completion
// that arrives while it runs (task work signalled by IPI), which cost it ~40 % more CPU per request in
// bench/proxy.sh. With the flag the completions are gathered on the thread's next entry into the
// kernel, which the event loop makes anyway to submit and to wait. The thread that sets up a ring
// stays the one that submits to it, but other threads may wake it (a post from the admin or the main
// thread submits a no-op), so IORING_SETUP_SINGLE_ISSUER is not set.
#include <liburing.h>

#include <cerrno>

int stormgate_io_uring_queue_init(unsigned entries, io_uring* ring, unsigned flags) {
  io_uring_params p{};
  p.flags = flags | IORING_SETUP_COOP_TASKRUN;
  int r = io_uring_queue_init_params(entries, ring, &p);
  if (r == -EINVAL) {  // a kernel before 5.19: the flag unknown
    p = io_uring_params{};
    p.flags = flags;
    r = io_uring_queue_init_params(entries, ring, &p);
  }
  return r;
}
// The one call of Asio's that sets up a ring is `::io_uring_queue_init(ring_size, &ring_, 0)`.
#define io_uring_queue_init stormgate_io_uring_queue_init
#endif

#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
