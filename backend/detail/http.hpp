// The HTTP plumbing both servers share, kept in one translation unit (http.cpp) so that Beast's
// async_read/async_write are instantiated once: a keep-alive HTTP/1.1 server that hands each request
// to a handler and writes the answer it gets back, and a small async client with a connection pool.
#pragma once
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace stormgate::backend::detail {

struct http_request {
  std::string method;
  std::string target;                         // path and query as received
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string header(std::string const& lower) const {
    auto it = headers.find(lower);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct http_answer {
  unsigned status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

// Called exactly once per request, on the io thread.
using responder = std::function<void(http_answer)>;
using request_handler = std::function<void(http_request&&, responder)>;

class http_server {
 public:
  http_server(boost::asio::any_io_executor ex, boost::asio::ip::tcp::endpoint ep, request_handler handler);
  ~http_server();
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  void start();
  // Stops accepting, closes idle connections; a connection answering a request closes after its answer.
  void stop();

  struct state;

 private:
  std::shared_ptr<state> state_;
};

struct client_result {
  bool ok = false;  // an HTTP answer arrived (any status)
  unsigned status = 0;
  std::string body;
  std::string error;  // when !ok: "timeout", "connection refused", …
};

// POSTs JSON to one upstream (host:port), reusing idle connections; each call has its own deadline.
class http_client {
 public:
  http_client(boost::asio::any_io_executor ex, std::string host, std::string port, std::chrono::milliseconds timeout);
  ~http_client();
  void post(std::string target, std::string body, std::vector<std::pair<std::string, std::string>> headers,
            std::function<void(client_result)> done);

  struct state;

 private:
  std::shared_ptr<state> state_;
};

}  // namespace stormgate::backend::detail
