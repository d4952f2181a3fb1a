// One keep-alive HTTP/1.1 connection for a load worker, awaited from a coroutine. Beast stays in
// http_client.cpp: scenarios and the driver see only this interface.
#pragma once
#include "net/net.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace stormgate::load {

struct http_request {
  std::string method = "GET";
  std::string target;  // path + query
  std::string body;    // JSON for writes
  std::vector<std::pair<std::string, std::string>> headers;
};

struct http_result {
  unsigned status = 0;  // 0: no answer
  std::string body;
  std::string error;    // "timeout" | "reset" | "connect" | "eof" | "interrupted" | other, when status == 0
  bool replayed = false;  // Idempotent-Replayed: true
  std::string fault;      // X-Stormgate-Fault: the proxy's answer for this fault rule (an injected failure)
  bool sent = false;      // the request was (at least partly) written
};

class http_client {
 public:
  http_client(boost::asio::any_io_executor ex, net::url base, std::chrono::milliseconds timeout);
  ~http_client();
  http_client(http_client const&) = delete;
  http_client& operator=(http_client const&) = delete;

  // Sends one request on the connection (connecting first when needed); never throws.
  boost::asio::awaitable<http_result> call(http_request const& req);
  // Closes the socket: an operation in flight completes with error "interrupted".
  void close();

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace stormgate::load
