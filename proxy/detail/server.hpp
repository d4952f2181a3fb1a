// The proxy's shared state: routes, workers (one io_context and thread each), the live fault set,
// the traffic log and the metrics. Sessions live in session.cpp, the admin API in admin_api.cpp.
#pragma once
#include "faults/faults.hpp"
#include "net/net.hpp"
#include "proxy/detail/metrics.hpp"
#include "proxy/detail/record.hpp"
#include "proxy/detail/traffic_log.hpp"
#include "proxy/proxy.hpp"

#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <atomic>
#include <memory>
#include <mutex>
#include <unordered_set>
#include <vector>

namespace stormgate::proxy::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
// The data path's I/O objects name the worker's executor type: no type-erased executor per operation.
using executor = asio::io_context::executor_type;
using stream_socket = asio::basic_stream_socket<tcp, executor>;
using steady_timer =
    asio::basic_waitable_timer<std::chrono::steady_clock, asio::wait_traits<std::chrono::steady_clock>, executor>;

struct route_state {
  std::size_t index = 0;
  route cfg;
  net::url upstream;
  std::vector<tcp::endpoint> endpoints;  // resolved once at start
  tcp::endpoint bound;                   // where the listener actually listens
  std::atomic<std::uint64_t> seq{0};     // request sequence number (ids and decision keys)
};

// A kept-alive connection to an upstream, with the bytes read past the last answer.
struct upstream_conn {
  stream_socket socket;
  beast::flat_buffer buffer;
  bool inq = false;  // TCP_INQ on (proxy/detail/drained_read.hpp)
  explicit upstream_conn(asio::io_context& ioc) : socket(ioc.get_executor()) {}
};

// Something the worker must reach at shutdown; held by raw pointer, removed in the destructor.
class closable {
 public:
  virtual ~closable() = default;
  virtual void shutdown(bool force) = 0;  // runs on the worker's thread
};

// Destruction order matters: the pool goes before the io_context, whose pending handlers (sessions)
// go before the registry they remove themselves from.
struct worker {
  std::unordered_set<closable*> sessions;                         // touched only on this thread
  bool stopping = false;                                          // touched only on this thread
  asio::io_context ioc{1};
  std::vector<std::vector<std::unique_ptr<upstream_conn>>> idle;  // per route; touched only on this thread
};

class server {
 public:
  explicit server(proxy_config c);

  proxy_config cfg;
  std::vector<std::unique_ptr<route_state>> routes;
  std::vector<std::unique_ptr<worker>> workers;
  traffic_log log;
  metrics stats;
  std::atomic<std::shared_ptr<const faults::fault_set>> fault_set;
  std::mutex admin_mu;  // serialises changes of the fault set (admin thread only)
  std::atomic<std::uint64_t> conn_seq{0};
  std::atomic<std::uint64_t> exchanges{0};
  std::int64_t started_us = 0;

  route_state* find_route(std::string_view name);
  // Fault set changes (admin API and start-up); each writes its control record.
  void set_fault(faults::fault f, bool keep_state);
  bool clear_fault(std::string const& name);
  std::vector<std::string> reset_faults();
  // Every finished exchange goes through here: metrics, count, and its line in the log, formatted
  // into `line` (the session's buffer, handed back empty for its next record).
  void record(exchange_record const& r, std::size_t route_index, std::string& line);
};

// session.cpp: one client connection on a route.
void start_session(server& srv, worker& w, route_state& r, stream_socket socket);
// admin_api.cpp: one connection to the admin listener.
void start_admin_session(server& srv, worker& w, tcp::socket socket);

}  // namespace stormgate::proxy::detail
