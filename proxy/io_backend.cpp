// Which I/O backend this build of the proxy library runs on, and whether this process may use the
// other one. stormgate_proxy (epoll) and stormgate_proxy_uring (io_uring) compile this same file.
#include "proxy/proxy.hpp"

#include <boost/asio/detail/config.hpp>

#include <linux/io_uring.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace stormgate::proxy {

char const* io_backend() {
#if defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
  return "io_uring";
#else
  return "epoll";
#endif
}

// Sets up and closes a small ring with the flags net/boost_src.cpp asks for. A seccomp profile that
// refuses io_uring (Docker's default since 25.0) gives EPERM here, kernel.io_uring_disabled gives
// EPERM, a kernel without io_uring ENOSYS.
std::string io_uring_refusal() {
#if defined(__NR_io_uring_setup)
  for (unsigned flags : {unsigned{IORING_SETUP_COOP_TASKRUN}, 0u}) {
    io_uring_params p;
    std::memset(&p, 0, sizeof p);
    p.flags = flags;
    long fd = ::syscall(__NR_io_uring_setup, 4, &p);
    if (fd >= 0) {
      ::close(static_cast<int>(fd));
      return {};
    }
    if (errno != EINVAL) break;  // EINVAL: a kernel before 5.19 without COOP_TASKRUN; try without
  }
  return std::string("io_uring_setup: ") + std::strerror(errno);
#else
  return "io_uring_setup: not on this platform";
#endif
}

}  // namespace stormgate::proxy
