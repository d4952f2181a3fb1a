// How an io_uring ring is set up: the flags tried, best first. Used by Asio's rings on the io_uring
// build (net/boost_src.cpp) and by the proxy's probe of whether this process may have one
// (proxy/io_backend.cpp), so that the probe asks exactly what the proxy will ask.
#pragma once
#include <linux/io_uring.h>

#include <cerrno>

namespace stormgate::net {

// IORING_SETUP_COOP_TASKRUN (Linux 5.19): the kernel does not interrupt the thread for each
// completion that arrives while it runs (task work signalled by IPI); the completions are gathered on
// the thread's next entry into the kernel, which the event loop makes anyway to submit and to wait.
// Without it the proxy took 40–50 % more CPU per request in bench/proxy.sh. A kernel before 5.19
// refuses the flag with EINVAL, and the ring is set up plain. IORING_SETUP_SINGLE_ISSUER is not
// asked: other threads wake a ring (a post from the admin or the main thread submits a no-op).
inline constexpr unsigned ring_flags_to_try[] = {IORING_SETUP_COOP_TASKRUN, 0};

// Calls setup(flags) for each of ring_flags_to_try until one does not fail with -EINVAL; returns
// that result (>= 0, or a negative errno).
template <class Setup>
int set_up_ring(Setup&& setup) {
  int r = -EINVAL;
  for (unsigned flags : ring_flags_to_try)
    if ((r = setup(flags)) != -EINVAL) break;
  return r;
}

}  // namespace stormgate::net
