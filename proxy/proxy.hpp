// stormgate proxy (SPEC §2, §7): an HTTP/1.1 reverse proxy with named routes, seeded per-request
// faults, a live admin API and a traffic log; and `stormgate faults`, the admin API's client.
#pragma once
#include "core/error.hpp"
#include "faults/faults.hpp"
#include "net/net.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace stormgate::proxy {

struct route {
  std::string name;      // "credits"
  std::string listen;    // "127.0.0.1:8080" as configured
  std::string upstream;  // "http://127.0.0.1:8000"
};

struct proxy_config {
  std::vector<route> routes;
  std::string admin_listen = "127.0.0.1:8474";
  std::string admin_token;  // "" = no auth

  std::string traffic_log;                     // "" = no log
  std::uint64_t log_rotate_bytes = 0;          // 0 = never rotate
  std::size_t log_body_limit = 64 * 1024;      // bodies above this are logged as {bytes, sha256}
  std::size_t log_queue = 65536;               // records waiting for the writer; when full: counted as dropped
  std::vector<std::string> log_headers;        // extra request headers to log (lower-case)

  std::size_t header_limit = 8 * 1024;             // → 431
  std::size_t body_limit = 8 * 1024 * 1024;        // request body → 413
  std::size_t response_body_limit = 64 * 1024 * 1024;  // upstream answer above this → 502
  std::size_t max_connections = 10000;             // client connections at once, all routes; more are closed at accept

  std::chrono::milliseconds idle_timeout{30000};     // keep-alive client with nothing to say: closed
  std::chrono::milliseconds request_timeout{10000};  // a started request must arrive whole within this → 408
  std::chrono::milliseconds connect_timeout{2000};   // upstream connect → 504 (refused: 502)
  std::chrono::milliseconds upstream_timeout{30000}; // upstream answer → 504
  std::chrono::milliseconds hang_timeout{60000};     // blackout{mode:hang} holds the client this long
  std::chrono::milliseconds shutdown_grace{5000};    // SIGTERM: exchanges in hand get this long

  std::uint64_t seed = 0;
  int threads = 1;
  std::size_t max_active_faults = 0;  // 0 = no cap
  std::vector<faults::fault> faults;  // set at start
  std::string source;                 // the config file, "" when flags only
};

// Reads the proxy's TOML file; every error names file:line:col and the key.
core::result<proxy_config> load_config(std::string const& path);
// "NAME=LISTEN->UPSTREAM", e.g. "credits=127.0.0.1:8080->http://127.0.0.1:8000".
core::result<route> parse_route_flag(std::string_view text);
// Checks routes, addresses and fault routes; `where` prefixes errors.
core::result<void> validate(proxy_config const& cfg);

// Runs until SIGTERM/SIGINT, then drains and flushes. Returns an exit code.
int run_proxy(proxy_config cfg);

// The proxy's I/O is Asio's, on epoll in this library and on io_uring in its twin
// stormgate_proxy_uring, built into the binary stormgate-proxy-uring (proxy/CMakeLists.txt).
// `stormgate proxy --io` chooses between them (app/cmd_proxy.cpp).
char const* io_backend();        // "epoll" or "io_uring": what this build runs on
std::string io_uring_refusal();  // "" when this process may set up an io_uring ring, else why not

// `stormgate faults --admin-url URL [--token T] list | set FILE | clear NAME | reset`.
struct faults_command {
  std::string admin_url;
  std::string token;
  std::string verb;  // list, set, clear, reset
  std::string arg;   // FILE for set, NAME for clear
};
int run_faults_command(faults_command const& cmd);
// A .toml or .json file holding one fault or a list of them; errors name file:line.
core::result<std::vector<boost::json::value>> read_fault_file(std::string const& path);

}  // namespace stormgate::proxy
