// Which I/O backend this build of the proxy library runs on, and whether this process may use the
// other one. stormgate_proxy (epoll) and stormgate_proxy_uring (io_uring) compile this same file.
#include "net/ring_setup.hpp"
#include "proxy/detail/io_backend.hpp"
#include "proxy/proxy.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace stormgate::proxy {

char const* io_backend() { return detail::on_io_uring ? "io_uring" : "epoll"; }

// Sets up and closes a small ring with the flags the proxy's rings get (net/ring_setup.hpp). A
// seccomp profile that refuses io_uring gives EPERM here, and so does kernel.io_uring_disabled; a
// kernel without io_uring gives ENOSYS.
std::string io_uring_refusal() {
#if defined(__NR_io_uring_setup)
  int r = net::set_up_ring([](unsigned flags) {
    io_uring_params p;
    std::memset(&p, 0, sizeof p);
    p.flags = flags;
    long fd = ::syscall(__NR_io_uring_setup, 4, &p);
    if (fd < 0) return -errno;
    ::close(static_cast<int>(fd));
    return 0;
  });
  return r == 0 ? std::string() : std::string("io_uring_setup: ") + std::strerror(-r);
#else
  return "io_uring_setup: not on this platform";
#endif
}

}  // namespace stormgate::proxy
