// Support for the hostile-input suite (docs/hardening.md): a raw-socket upstream that records what
// reaches it or misbehaves on purpose, one raw exchange with its time, the "still answers a normal
// request" probe, the process's RSS, and a line for the measured table.
#pragma once
#include "tests/proxy/harness.hpp"
#include "tests/support/catch.hpp"

#include <atomic>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <poll.h>
#include <sys/resource.h>

namespace stormgate::test::hostile {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

inline double ms_since(clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock::now() - t0).count();
}

// One line per case for docs/hardening.md's "measured" column; run a test binary directly to see them.
inline void measured(std::string const& what, std::string const& result, double ms) {
  std::printf("measured | %s | %s | %.0f ms\n", what.c_str(), result.c_str(), ms);
  std::fflush(stdout);
}

// The answer a raw client got: status (0 = none), whether the proxy closed the connection after it.
struct raw_answer {
  unsigned status = 0;
  std::string text;
  bool closed = false;  // EOF or reset after the answer (read until the peer closed or 1.5 s passed)
  double ms = 0;
};

inline std::string describe(raw_answer const& a) {
  std::string s = a.status ? std::to_string(a.status) : std::string("no answer");
  return s + (a.closed ? ", closed" : ", kept open");
}

// Sends `bytes` on a fresh connection, reads everything that comes until the peer closes or
// `quiet_ms` pass without a byte; the first status line is the answer.
inline raw_answer send_raw(std::string const& url, std::string_view bytes, int quiet_ms = 1500) {
  raw_conn c(url, quiet_ms);
  auto t0 = clock::now();
  c.send(bytes);
  raw_answer a;
  a.text = c.read_all(4 << 20);
  a.ms = ms_since(t0);
  a.status = status_of(a.text);
  a.closed = c.eof() || c.reset();
  return a;
}

// One raw request and the status it must get.
struct raw_case {
  char const* name;
  std::string bytes;
  unsigned status;
};

// Sends each case on a fresh connection to `url` and checks its status; with `then_closed`, that
// the server closed after it and that `url` still answers a normal request.
inline void expect_answers(std::string const& url, std::string const& label, std::vector<raw_case> const& cases,
                           bool then_closed);

// How many HTTP answers a byte stream holds (pipelining).
inline std::size_t count_answers(std::string const& text) {
  std::size_t n = 0;
  for (auto at = text.find("HTTP/1."); at != std::string::npos; at = text.find("HTTP/1.", at + 1))
    if (at == 0 || text.compare(at - 4, 4, "\r\n\r\n") == 0 || text[at - 1] == '}') ++n;
  return n;
}

// The proxy still answers a normal request on a fresh connection (bounded: 3 s).
inline unsigned normal_status(std::string const& url) {
  net::client c(url, 3000ms);
  auto r = c.get("/api/credits/health");
  return r ? r->status : 0;
}

inline void expect_answers(std::string const& url, std::string const& label, std::vector<raw_case> const& cases,
                           bool then_closed) {
  for (auto const& c : cases) {
    INFO(c.name);
    auto a = send_raw(url, c.bytes);
    measured(label + c.name, describe(a), a.ms);
    CHECK(a.status == c.status);
    if (!then_closed) continue;
    CHECK(a.closed);
    CHECK(count_answers(a.text) == 1);  // nothing after the refused request is read as a request
    CHECK(normal_status(url) == 200);
  }
}

// Resident set of a process in KiB (0 when unknown).
inline long rss_kib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return 0;
}

// CPU time (user + system) of a process in clock ticks.
inline long cpu_ticks(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto rp = all.rfind(')');
  if (rp == std::string::npos) return 0;
  std::istringstream rest(all.substr(rp + 2));
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stol(field);
    if (i == 15) stime = std::stol(field);
  }
  return utime + stime;
}

// Every line of a plain traffic log is one whole JSON record; returns the records.
inline std::vector<json::value> whole_records(std::string const& path) {
  std::ifstream in(path);
  std::string line;
  std::vector<json::value> out;
  while (std::getline(in, line)) {
    json::error_code ec;
    auto v = json::parse(line, ec);
    if (ec || !v.is_object()) throw std::runtime_error("not a whole JSON record: " + line.substr(0, 200));
    out.push_back(std::move(v));
  }
  return out;
}

// Raises the soft open-files limit to at least `want` (bounded by the hard limit); returns what it is now.
inline rlim_t raise_nofile(rlim_t want) {
  rlimit rl{};
  ::getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < want) {
    rl.rlim_cur = std::min(want, rl.rlim_max);
    ::setrlimit(RLIMIT_NOFILE, &rl);
    ::getrlimit(RLIMIT_NOFILE, &rl);
  }
  return rl.rlim_cur;
}

// A raw-socket upstream on 127.0.0.1. In `answer` mode it reads each request (Content-Length
// bodies), records it, and answers 200 {"ok":true}, keep-alive; the other modes misbehave once per
// connection as named.
enum class upstream_mode {
  answer,
  close_at_once,      // FIN before a byte
  reset_at_once,      // RST before a byte
  reset_mid_body,     // head (Content-Length: 1000) and 100 bytes, then RST
  close_mid_body,     // head (Content-Length: 1000) and 100 bytes, then FIN
  hang_before_head,   // reads the request, never answers
  hang_after_head,    // head (Content-Length: 1000), then nothing
  drip,               // one byte of the answer every 100 ms
  malformed,          // "HELLO WORLD\r\n\r\n"
  bad_status,         // "HTTP/1.1 2x0 OK"
  huge_head,          // a 64 KiB header field
  huge_body,          // Content-Length: 2 MiB (over the test's response limit), sent whole
  big_body,           // a valid 32 MiB answer (more than the kernel's socket buffers hold)
  bad_chunk,          // chunked with a chunk size that overflows
};

class raw_upstream {
 public:
  explicit raw_upstream(upstream_mode m) : mode_(m) {
    fd_ = listen_loopback(port_);
    thread_ = std::thread([this] { accept_loop(); });
  }
  ~raw_upstream() {
    stop_ = true;
    thread_.join();
    std::vector<std::thread> ts;
    {
      std::lock_guard lk(mu_);
      for (int c : conns_) ::shutdown(c, SHUT_RDWR);
      ts.swap(handlers_);
    }
    for (auto& t : ts) t.join();
    for (int c : conns_) ::close(c);
    ::close(fd_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<std::string> requests() {
    std::lock_guard lk(mu_);
    return requests_;
  }

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      std::lock_guard lk(mu_);
      if (handlers_.size() >= 256) {  // bounded: a test never needs more
        ::close(c);
        continue;
      }
      conns_.push_back(c);
      handlers_.emplace_back([this, c] { serve(c); });
    }
  }

  // Reads one request (head and Content-Length body); "" when the connection ended first.
  std::string read_request(int c, std::string& pending) {
    char buf[8192];
    auto t0 = clock::now();
    while (!stop_ && ms_since(t0) < 10000) {
      auto he = pending.find("\r\n\r\n");
      if (he != std::string::npos) {
        std::size_t len = 0;
        std::string head = pending.substr(0, he);
        for (auto& ch : head) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (auto cl = head.find("\r\ncontent-length:"); cl != std::string::npos) len = std::stoul(head.substr(cl + 17));
        if (pending.size() >= he + 4 + len) {
          auto req = pending.substr(0, he + 4 + len);
          pending.erase(0, he + 4 + len);
          return req;
        }
      }
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      auto n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) return {};
      pending.append(buf, static_cast<std::size_t>(n));
    }
    return {};
  }

  void send_all(int c, std::string_view s) {
    while (!s.empty() && !stop_) {
      auto n = ::send(c, s.data(), s.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      s.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  void reset(int c) {
    linger l{1, 0};
    ::setsockopt(c, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    ::shutdown(c, SHUT_RDWR);
  }

  void hold(int c) {  // keeps the connection open and silent until the test ends or the peer goes
    char buf[512];
    while (!stop_) {
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 50) > 0 && ::recv(c, buf, sizeof buf, 0) <= 0) return;
    }
  }

  void serve(int c) {
    std::string pending;
    if (mode_ == upstream_mode::close_at_once) return (void)::shutdown(c, SHUT_RDWR);
    if (mode_ == upstream_mode::reset_at_once) return reset(c);
    for (int i = 0; i < 10000 && !stop_; ++i) {
      auto req = read_request(c, pending);
      if (req.empty()) return;
      {
        std::lock_guard lk(mu_);
        if (requests_.size() < 10000) requests_.push_back(req);
      }
      static constexpr std::string_view ok = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}";
      static constexpr std::string_view head1000 = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n";
      switch (mode_) {
        case upstream_mode::answer: send_all(c, ok); continue;
        case upstream_mode::reset_mid_body: send_all(c, head1000); send_all(c, std::string(100, 'x')); return reset(c);
        case upstream_mode::close_mid_body: send_all(c, head1000); send_all(c, std::string(100, 'x')); return (void)::shutdown(c, SHUT_RDWR);
        case upstream_mode::hang_before_head: return hold(c);
        case upstream_mode::hang_after_head: send_all(c, head1000); return hold(c);
        case upstream_mode::drip:
          for (char ch : ok) {
            if (stop_) return;
            send_all(c, std::string_view(&ch, 1));
            std::this_thread::sleep_for(100ms);
          }
          return hold(c);
        case upstream_mode::malformed: send_all(c, "HELLO WORLD\r\n\r\n"); return hold(c);
        case upstream_mode::bad_status: send_all(c, "HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n"); return hold(c);
        case upstream_mode::huge_head:
          send_all(c, "HTTP/1.1 200 OK\r\nX-Big: " + std::string(64 * 1024, 'h') + "\r\nContent-Length: 2\r\n\r\n{}");
          return hold(c);
        case upstream_mode::huge_body:
          send_all(c, "HTTP/1.1 200 OK\r\nContent-Length: 2097152\r\n\r\n");
          send_all(c, std::string(2097152, 'b'));
          return hold(c);
        case upstream_mode::big_body:
          send_all(c, "HTTP/1.1 200 OK\r\nContent-Length: 33554432\r\n\r\n");
          send_all(c, std::string(33554432, 'b'));
          return hold(c);
        case upstream_mode::bad_chunk:
          send_all(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFFFF\r\nx\r\n");
          return hold(c);
        default: return;
      }
    }
  }

  upstream_mode mode_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<int> conns_;
  std::vector<std::thread> handlers_;
  std::vector<std::string> requests_;
  std::thread thread_;
};

}  // namespace stormgate::test::hostile
