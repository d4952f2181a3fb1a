// Ends what a socket waits for now, so that its handler runs with an error: a timeout, or a stop.
//
// On epoll this is Asio's cancel() (or, at a stop, close()). On io_uring it is shutdown(2), never
// Asio's cancellation: with Asio 1.81's io_uring backend a cancelled receive on a reused I/O object
// is lost, so the handler never runs and the connection stays open until the process ends
// (tests/hostile "5 000 idle connections": 4 198 to 4 853 of 5 000 closed at idle_ms, and the
// handlers left behind crashed the exit; with 3 000 connections three times, the first round closed
// all and the second lost 727; admin connections the same). A shut-down socket ends a pending
// receive with an end of stream and a pending send with an error, through the ring's own completion.
#pragma once
#include "proxy/detail/io_backend.hpp"

#include <boost/system/error_code.hpp>

#include <sys/socket.h>

namespace stormgate::proxy::detail {

inline constexpr bool stop_by_shutdown = on_io_uring;

// `receive`: the receive side alone, so that an answer (a 408) can still be sent; `both`: the
// connection is done.
enum class side { receive, both };

// `Socket`: a stream socket, or a listener (a shut-down listener ends its pending accept with EINVAL).
template <class Socket>
void stop_waiting(Socket& s, side which) {
  if (!stop_by_shutdown) {
    boost::system::error_code ignored;
    s.cancel(ignored);
    return;
  }
  if (s.is_open()) ::shutdown(s.native_handle(), which == side::receive ? SHUT_RD : SHUT_RDWR);
}

// At a stop: on epoll the socket is closed, which ends its wait; on io_uring it is shut down, and
// its handler, which then runs, closes it.
template <class Socket>
void end_socket(Socket& s) {
  boost::system::error_code ignored;
  if (stop_by_shutdown) return stop_waiting(s, side::both);
  s.close(ignored);
}

}  // namespace stormgate::proxy::detail
