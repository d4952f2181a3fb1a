// Small HTTP helpers shared by the subcommands and the tests: addresses, a synchronous
// client (admin calls, journal export, tests), and the "listening" line servers print.
#pragma once
#include "core/error.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stormgate::net {

using tcp = boost::asio::ip::tcp;

// "127.0.0.1:8000", ":8000" (loopback), "localhost:0". Port 0 asks the kernel for a free port.
core::result<tcp::endpoint> parse_listen(std::string_view text, std::string_view where);

// "http://host:port/base" -> parts; https is refused with a clear error.
struct url {
  std::string host;
  std::string port = "80";
  std::string target = "/";  // path + query, never empty
};
core::result<url> parse_url(std::string_view text, std::string_view where);
// Joins a base URL's path with a path ("/api" + "/credits" -> "/api/credits").
std::string join_target(url const& base, std::string_view path);

// Every server prints, once it accepts connections, one line per listener on stdout:
//   listening NAME http://127.0.0.1:PORT
// and flushes, so that scripts and tests started with port 0 learn the port.
void announce_listening(std::string_view name, tcp::endpoint const& ep);

struct response {
  unsigned status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string header(std::string const& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct request {
  std::string method = "GET";
  std::string url;                                          // absolute http URL
  std::string body;                                         // sent when non-empty (or method is POST/PUT/PATCH)
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. {"Idempotency-Key", "k1"}
  std::chrono::milliseconds timeout{5000};
};

// One request on a fresh connection (Connection: close). Errors (connect, timeout, reset)
// come back as an error value with exit code 69 (`unavailable`).
core::result<response> fetch(request const& req);

// Keeps one connection open for a series of requests (keep-alive), reconnecting when needed.
class client {
 public:
  explicit client(std::string base_url, std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  ~client();
  client(client const&) = delete;
  client& operator=(client const&) = delete;
  core::result<response> call(std::string_view method, std::string_view target, std::string_view body = {},
                               std::vector<std::pair<std::string, std::string>> const& headers = {});
  core::result<response> get(std::string_view target) { return call("GET", target); }
  core::result<response> post(std::string_view target, std::string_view json_body,
                               std::vector<std::pair<std::string, std::string>> const& headers = {}) {
    return call("POST", target, json_body, headers);
  }

  struct impl;  // Beast stream and buffer, kept out of this header

 private:
  impl* impl_;
};

}  // namespace stormgate::net
