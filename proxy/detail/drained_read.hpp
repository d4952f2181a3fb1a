// async_read_drained: async_read_some without the recv() that is bound to fail.
//
// A proxy reads the upstream right after it wrote the request: the answer cannot have arrived yet.
// Asio's epoll reactor tries every read at once ("speculatively") and waits for readiness only after
// recv() said EAGAIN, because it marks a socket as drained only at end of stream. That is one wasted
// system call per exchange.
//
// This read marks the socket as drained when recv() returns less than the buffer: no data was left
// in the kernel's queue, so any later data raises a new edge. The next read then waits for that edge
// without a system call; if an edge came while no read was waiting, the reactor has already marked
// the socket readable again and the read is tried at once.
//
// One thing can be left without a new edge: an end of stream (or a reset) that arrived together with
// the data. So only a read for a new message waits unseen (`read_kind::fresh`: the answer to a request
// just sent, on a connection whose last answer was whole); a read for the rest of a message
// (`read_kind::rest`) tries recv() at once. A kept-alive connection that the upstream closed with its
// last answer is found out by the next request: the upstream answers it with a reset, which is an edge.
// Timeouts and shutdown cancel these reads like any other operation on the socket (operation_aborted).
//
// With TCP_INQ (Linux 4.18; enable_inq, once per connection) every read says how many bytes it left
// in the kernel's queue, and 1 when only an end of stream is left. A read that left nothing marks the
// socket drained; one that left data or an end of stream does not, so the next read tries recv() at
// once and sees it. Then no read needs to try recv() first, whatever it reads: not the rest of a
// message, not a client's next request (a client that half-closes after a whole request is seen at
// once), and the wasted recv() per exchange is gone on both sides.
//
// It uses the reactor's operation interface of Boost.Asio 1.26 (Boost 1.81) on epoll; on any other
// version or backend it is plain async_read_some.
#pragma once
#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/version.hpp>

#if defined(BOOST_ASIO_HAS_EPOLL) && !defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT) && BOOST_ASIO_VERSION == 102600
#define STORMGATE_DRAINED_READ 1
#include <boost/asio/detail/reactor.hpp>
#include <boost/asio/detail/reactor_op.hpp>
#include <boost/asio/detail/socket_ops.hpp>
#include <boost/asio/recycling_allocator.hpp>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <utility>
#endif

#include <boost/asio/post.hpp>

namespace stormgate::proxy::detail {

enum class read_kind { fresh, rest };

#if defined(STORMGATE_DRAINED_READ)

namespace drained {

namespace asio = boost::asio;
using error_code = boost::system::error_code;

template <class Socket>
struct access : Socket {
  static auto& impl(Socket& s) { return (s.*(&access::impl_)).get_implementation(); }
};

template <class Handler>
class read_op : public asio::detail::reactor_op {
 public:
  read_op(int fd, asio::mutable_buffer b, bool inq, Handler h)
      : reactor_op(error_code(), &perform, &complete), fd_(fd), buf_(b), inq_(inq), handler_(std::move(h)) {}

 private:
  // recv(), or with TCP_INQ recvmsg() and what it left queued (-1: not told)
  ssize_t receive(int& left) {
    if (!inq_) return ::recv(fd_, buf_.data(), buf_.size(), 0);
    iovec iov{buf_.data(), buf_.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = control;
    m.msg_controllen = sizeof control;
    auto n = ::recvmsg(fd_, &m, 0);
    if (n > 0)
      for (cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
        if (c->cmsg_level == SOL_TCP && c->cmsg_type == TCP_CM_INQ) std::memcpy(&left, CMSG_DATA(c), sizeof left);
    return n;
  }

  static status perform(reactor_op* base) {
    auto* o = static_cast<read_op*>(base);
    for (;;) {
      int left = -1;
      auto n = o->receive(left);
      if (n > 0) {
        o->bytes_transferred_ = static_cast<std::size_t>(n);
        if (left >= 0) return left == 0 ? done_and_exhausted : done;
        return o->bytes_transferred_ < o->buf_.size() ? done_and_exhausted : done;
      }
      if (n == 0) {
        o->ec_ = asio::error::eof;
        return done_and_exhausted;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return not_done;
      o->ec_ = error_code(errno, asio::error::get_system_category());
      return done;
    }
  }

  // owner is null when the io_context is destroyed with the read pending: free, do not call.
  static void complete(void* owner, asio::detail::operation* base, error_code const&, std::size_t) {
    auto* o = static_cast<read_op*>(base);
    Handler handler(std::move(o->handler_));
    error_code ec = o->ec_;
    std::size_t n = o->bytes_transferred_;
    destroy(o);
    if (owner) handler(ec, n);
  }

 public:
  // The memory comes from the thread's recycled blocks, as Asio's own operations do: no malloc per read.
  using allocator = asio::recycling_allocator<read_op>;
  static read_op* make(int fd, asio::mutable_buffer b, bool inq, Handler h) {
    auto* p = allocator().allocate(1);
    return new (p) read_op(fd, b, inq, std::move(h));
  }
  static void destroy(read_op* o) {
    o->~read_op();
    allocator().deallocate(o, 1);
  }

 private:

  int fd_;
  asio::mutable_buffer buf_;
  bool inq_;
  Handler handler_;
};

}  // namespace drained

// Turns TCP_INQ on for the socket; false when the kernel does not have it (reads then stay as above).
template <class Protocol, class Executor>
bool enable_inq(boost::asio::basic_stream_socket<Protocol, Executor>& s) {
  int one = 1;
  return ::setsockopt(s.native_handle(), IPPROTO_TCP, TCP_INQ, &one, sizeof one) == 0;
}

// `inq`: enable_inq succeeded on the socket; `kind` then does not matter.
template <class Protocol, class Executor, class Handler>
void async_read_drained(boost::asio::basic_stream_socket<Protocol, Executor>& s, boost::asio::mutable_buffer b,
                        read_kind kind, bool inq, Handler&& handler) {
  namespace asio = boost::asio;
  using socket = asio::basic_stream_socket<Protocol, Executor>;
  auto& impl = drained::access<socket>::impl(s);
  constexpr auto non_blocking = asio::detail::socket_ops::user_set_non_blocking;
  if (b.size() == 0 || !impl.reactor_data_ || (impl.state_ & non_blocking) == 0)
    return s.async_read_some(b, std::forward<Handler>(handler));
  if (kind == read_kind::rest && !inq) {  // what a drained mark may hide (an end of stream) is seen now
    drained::error_code ec;
    auto n = s.read_some(b, ec);
    if (ec != asio::error::would_block && ec != asio::error::try_again)
      return asio::post(s.get_executor(), [h = std::decay_t<Handler>(std::forward<Handler>(handler)), ec, n]() mutable {
        h(ec, n);
      });
  }
  auto& reactor = asio::use_service<asio::detail::reactor>(asio::query(s.get_executor(), asio::execution::context));
  auto* op = drained::read_op<std::decay_t<Handler>>::make(impl.socket_, b, inq, std::forward<Handler>(handler));
  reactor.start_op(asio::detail::reactor::read_op, impl.socket_, impl.reactor_data_, op, false, true);
}

#else

template <class Protocol, class Executor>
bool enable_inq(boost::asio::basic_stream_socket<Protocol, Executor>&) {
  return false;
}

template <class Protocol, class Executor, class Handler>
void async_read_drained(boost::asio::basic_stream_socket<Protocol, Executor>& s, boost::asio::mutable_buffer b,
                        read_kind, bool, Handler&& handler) {
  s.async_read_some(b, std::forward<Handler>(handler));
}

#endif

}  // namespace stormgate::proxy::detail
