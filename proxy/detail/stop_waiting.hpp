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
#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/detail/config.hpp>

#include <sys/socket.h>

namespace stormgate::proxy::detail {

#if defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
inline constexpr bool stop_by_shutdown = true;
#else
inline constexpr bool stop_by_shutdown = false;
#endif

// `receive`: the receive side alone, so that an answer (a 408) can still be sent; `both`: the
// connection is done.
enum class side { receive, both };

template <class Protocol, class Executor>
void stop_waiting(boost::asio::basic_stream_socket<Protocol, Executor>& s, side which) {
  boost::system::error_code ignored;
  if (!stop_by_shutdown) {
    s.cancel(ignored);
    return;
  }
  if (s.is_open()) ::shutdown(s.native_handle(), which == side::receive ? SHUT_RD : SHUT_RDWR);
}

// At a stop: on epoll the socket is closed, which ends its wait; on io_uring it is shut down, and
// its handler, which then runs, closes it.
template <class Protocol, class Executor>
void end_socket(boost::asio::basic_stream_socket<Protocol, Executor>& s) {
  boost::system::error_code ignored;
  if (stop_by_shutdown) stop_waiting(s, side::both);
  else s.close(ignored);
}

}  // namespace stormgate::proxy::detail
