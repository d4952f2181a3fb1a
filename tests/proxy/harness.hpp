// Integration-test support for the proxy: starts the reference backend / KARMA stub and a proxy in
// front, talks raw TCP where HTTP clients would refuse to, and reads the traffic log back.
#pragma once
#include "core/jsonl.hpp"
#include "net/net.hpp"
#include "tests/support/process.hpp"

#include <arpa/inet.h>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace stormgate::test {

namespace json = boost::json;

inline std::pair<std::string, int> host_port(std::string const& url) {
  auto rest = url.substr(url.find("//") + 2);
  auto colon = rest.rfind(':');
  return {rest.substr(0, colon), std::stoi(rest.substr(colon + 1))};
}

// A raw TCP connection with bounded waits.
class raw_conn {
 public:
  explicit raw_conn(std::string const& url, int recv_timeout_ms = 3000) {
    auto [host, port] = host_port(url);
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    ::inet_pton(AF_INET, host.c_str(), &a.sin_addr);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("connect failed");
    timeval tv{recv_timeout_ms / 1000, (recv_timeout_ms % 1000) * 1000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~raw_conn() { close(); }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  bool send(std::string_view s) { return ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size()); }
  // Reads until the peer closes, `limit` bytes, or the receive timeout; returns what came.
  std::string read_all(std::size_t limit = 1 << 20) {
    std::string out;
    char buf[8192];
    while (out.size() < limit) {
      auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        eof_ = n == 0;
        reset_ = n < 0 && errno == ECONNRESET;
        break;
      }
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }
  // Reads one response whose headers carry Content-Length (enough for the proxy's own answers).
  std::string read_response() {
    std::string out;
    char buf[8192];
    while (true) {
      auto he = out.find("\r\n\r\n");
      if (he != std::string::npos) {
        auto cl = out.find("Content-Length: ");
        std::size_t len = cl == std::string::npos ? 0 : std::stoul(out.substr(cl + 16));
        if (out.size() >= he + 4 + len) return out;
      }
      auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        eof_ = n == 0;
        reset_ = n < 0 && errno == ECONNRESET;
        return out;
      }
      out.append(buf, static_cast<std::size_t>(n));
    }
  }
  bool eof() const { return eof_; }
  bool reset() const { return reset_; }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  bool eof_ = false;
  bool reset_ = false;
};

// A listening TCP socket on 127.0.0.1 with a free port (for the tests' own small upstreams).
inline int listen_loopback(int& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::listen(fd, 16);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return fd;
}

inline unsigned status_of(std::string const& response) {
  if (response.size() < 12 || response.rfind("HTTP/1.", 0) != 0) return 0;
  return static_cast<unsigned>(std::stoul(response.substr(9, 3)));
}

// All records of a traffic log (rotated files first, oldest first), parsed.
inline std::vector<json::value> read_log(std::string const& path) {
  std::vector<std::string> files;
  auto stem = path.substr(0, path.rfind('.'));
  for (int i = 1; std::filesystem::exists(stem + "." + std::to_string(i) + ".jsonl"); ++i)
    files.push_back(stem + "." + std::to_string(i) + ".jsonl");
  files.push_back(path);
  std::vector<json::value> out;
  for (auto const& f : files) {
    core::line_reader in(f);
    std::string_view line;
    while (in.next(line)) out.push_back(json::parse(json::string_view(line.data(), line.size())));
  }
  return out;
}

inline std::vector<json::value> exchanges(std::vector<json::value> const& records) {
  std::vector<json::value> out;
  for (auto const& r : records)
    if (r.at("kind") == "exchange") out.push_back(r);
  return out;
}

struct upstreams {
  temp_dir dir;
  std::unique_ptr<process> backend;
  std::unique_ptr<process> karma;
  std::string backend_url;
  std::string karma_url;

  void start_backend() {
    backend = std::make_unique<process>(std::vector<std::string>{"backend", "--listen", "127.0.0.1:0", "--journal",
                                                                 dir.file("credits.jsonl"), "--fsync", "never"});
    backend_url = backend->wait_listening("backend");
  }
  void start_karma(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"karma", "--listen", "127.0.0.1:0"};
    args.insert(args.end(), extra.begin(), extra.end());
    karma = std::make_unique<process>(args);
    karma_url = karma->wait_listening("karma");
  }
};

// A proxy with one route `credits` (and optionally `karma`), a traffic log, short timeouts.
struct proxy_under_test {
  temp_dir dir;
  std::unique_ptr<process> proc;
  std::string route_url;
  std::string admin_url;
  std::string log_path;

  // `routes`: name -> upstream URL; `extra`: TOML appended (limits, timeouts, faults, …).
  void start(std::vector<std::pair<std::string, std::string>> const& routes, std::string const& extra = {},
             std::vector<std::string> flags = {}, std::map<std::string, std::string> env = {}) {
    log_path = dir.file("traffic.jsonl");
    std::ofstream cfg(dir.file("proxy.toml"));
    cfg << "seed = 42\n";
    cfg << extra << "\n";
    for (auto const& [name, up] : routes)
      cfg << "[routes." << name << "]\nlisten = \"127.0.0.1:0\"\nupstream = \"" << up << "\"\n";
    cfg << "[admin]\nlisten = \"127.0.0.1:0\"\n";
    cfg << "[log]\npath = \"" << log_path << "\"\n";
    cfg.close();
    std::vector<std::string> args{"proxy", "--config", dir.file("proxy.toml")};
    args.insert(args.end(), flags.begin(), flags.end());
    proc = std::make_unique<process>(args, env);
    route_url = proc->wait_listening("route:" + routes.front().first);
    admin_url = proc->wait_listening("admin");
  }
  std::string route(std::string const& name) { return proc->wait_listening("route:" + name); }
  // SIGTERM, then the whole log.
  std::vector<json::value> stop_and_read() {
    auto rc = proc->stop(std::chrono::seconds(15));
    if (rc != 0) throw std::runtime_error("proxy exited " + std::to_string(rc) + ": " + proc->stderr_text());
    return read_log(log_path);
  }
  core::result<net::response> admin(std::string method, std::string path, std::string body = {},
                                     std::string token = {}) {
    net::request r;
    r.method = std::move(method);
    r.url = admin_url + path;
    r.body = std::move(body);
    if (!token.empty()) r.headers.emplace_back("Authorization", "Bearer " + token);
    return net::fetch(r);
  }
};

}  // namespace stormgate::test
