// Every error the proxy owes a client (400, 408, 413, 431, 502, 504) and a client that leaves
// mid-response: each answered (or not) as it should, each with its one record, none fatal.
#include "tests/proxy/harness.hpp"
#include "tests/support/catch.hpp"

#include <atomic>

using namespace stormgate;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

// A tiny upstream on 127.0.0.1: accepts connections, reads a request head, then either never
// answers ("hang") or answers 200 with `big_bytes` of body.
class toy_upstream {
 public:
  explicit toy_upstream(std::size_t big_bytes) : big_(big_bytes) {
    fd_ = test::listen_loopback(port_);
    thread_ = std::thread([this] { run(); });
  }
  ~toy_upstream() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
    for (int c : conns_) ::close(c);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  void run() {
    while (!stop_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      conns_.push_back(c);
      timeval tv{2, 0};
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      std::string req;
      char buf[4096];
      while (req.find("\r\n\r\n") == std::string::npos) {
        auto n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        req.append(buf, static_cast<std::size_t>(n));
      }
      if (big_ == 0) continue;  // hang: never answer
      std::string head = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
                         std::to_string(big_) + "\r\n\r\n";
      ::send(c, head.data(), head.size(), MSG_NOSIGNAL);
      std::string chunk(64 * 1024, 'x');
      for (std::size_t sent = 0; sent < big_ && !stop_;) {
        auto n = ::send(c, chunk.data(), std::min(chunk.size(), big_ - sent), MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<std::size_t>(n);
      }
    }
  }
  std::size_t big_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::vector<int> conns_;
  std::thread thread_;
};

int closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

}  // namespace

TEST_CASE("errors: 400 - 431 - 413 and 408 (slowloris) are answered - logged - and the proxy goes on",
          "[proxy][errors]") {
  test::upstreams up;
  up.start_karma();
  test::proxy_under_test px;
  px.start({{"credits", up.karma_url}}, "[limits]\nheader_bytes = 1024\nbody_bytes = 1000\n[timeouts]\nrequest_ms = 400\n");
  {
    test::raw_conn c(px.route_url);
    c.send("THIS IS NOT HTTP\r\n\r\n");
    CHECK(test::status_of(c.read_response()) == 400);
  }
  {
    test::raw_conn c(px.route_url);
    c.send("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n");
    CHECK(test::status_of(c.read_response()) == 431);
  }
  {
    test::raw_conn c(px.route_url);
    c.send("POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, '{'));
    CHECK(test::status_of(c.read_response()) == 413);
  }
  {
    test::raw_conn c(px.route_url);
    auto t0 = std::chrono::steady_clock::now();
    c.send("GET /health HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < 3; ++i) {  // a header byte every 100 ms, never a whole request
      std::this_thread::sleep_for(100ms);
      c.send("X");
    }
    auto got = c.read_response();
    CHECK(test::status_of(got) == 408);
    CHECK(std::chrono::steady_clock::now() - t0 < 1500ms);
  }
  net::client ok(px.route_url);
  auto res = ok.post("/score", R"({"agent_id":"a","amount":1})");
  REQUIRE(res);
  CHECK(res->status == 200);
  auto ex = test::exchanges(px.stop_and_read());
  REQUIRE(ex.size() == 5);
  std::vector<int> statuses;
  for (auto const& e : ex) statuses.push_back(static_cast<int>(e.at("resp").at("status").to_number<int>()));
  CHECK(statuses == std::vector<int>{400, 431, 413, 408, 200});
  for (int i = 0; i < 4; ++i) {
    CHECK(ex[i].at("outcome") == "client_error");
    CHECK(ex[i].at("error").is_string());
  }
  CHECK(ex[4].at("outcome") == "ok");
}

TEST_CASE("errors: upstream down → 502 - upstream hanging → 504", "[proxy][errors]") {
  toy_upstream hanging(0);
  test::proxy_under_test px;
  px.start({{"down", "http://127.0.0.1:" + std::to_string(closed_port())}, {"slow", hanging.url()}},
           "[timeouts]\nupstream_ms = 300\nconnect_ms = 500\n");
  auto slow_url = px.route("slow");
  net::client down(px.route_url);
  auto r1 = down.get("/api/credits/balance/a");
  REQUIRE(r1);
  CHECK(r1->status == 502);
  auto r2 = down.get("/api/credits/balance/b");  // the connection stays usable
  REQUIRE(r2);
  CHECK(r2->status == 502);
  net::client slow(slow_url);
  auto t0 = std::chrono::steady_clock::now();
  auto r3 = slow.get("/x");
  REQUIRE(r3);
  CHECK(r3->status == 504);
  CHECK(std::chrono::steady_clock::now() - t0 >= 250ms);
  auto ex = test::exchanges(px.stop_and_read());
  REQUIRE(ex.size() == 3);
  CHECK(ex[0].at("outcome") == "upstream_error");
  CHECK(ex[0].at("resp").at("status") == 502);
  CHECK(ex[0].at("upstream").at(0).at("error").as_string().starts_with("connect: "));
  CHECK(ex[1].at("outcome") == "upstream_error");
  CHECK(ex[2].at("outcome") == "upstream_timeout");
  CHECK(ex[2].at("resp").at("status") == 504);
  CHECK(ex[2].at("upstream").at(0).at("error") == "answer: timeout");
}

TEST_CASE("errors: a client that disconnects mid-response gets one client_gone record", "[proxy][errors]") {
  toy_upstream big(24 * 1024 * 1024);
  test::proxy_under_test px;
  px.start({{"big", big.url()}});
  {
    test::raw_conn c(px.route_url);
    int small = 4096;
    ::setsockopt(c.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    c.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    auto first = c.read_all(64 * 1024);
    CHECK(test::status_of(first) == 200);
    ::shutdown(c.fd(), SHUT_RDWR);
  }
  // the proxy notices on its next write; wait (bounded) for the record to be counted
  for (int i = 0; i < 100; ++i) {
    auto m = px.admin("GET", "/stats");
    REQUIRE(m);
    if (json::parse(m->body).at("exchanges") == 1) break;
    std::this_thread::sleep_for(50ms);
  }
  auto ex = test::exchanges(px.stop_and_read());
  REQUIRE(ex.size() == 1);
  CHECK(ex[0].at("outcome") == "client_gone");
  CHECK_FALSE(ex[0].as_object().contains("resp"));
  CHECK(ex[0].at("upstream").at(0).at("status") == 200);
  CHECK(ex[0].at("upstream").at(0).at("body").at("bytes") == 24 * 1024 * 1024);
}
