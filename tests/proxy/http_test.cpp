// HTTP/1 semantics through the proxy, end to end: what the upstream receives (hop-by-hop fields out,
// a request id, a chunked body sent on with its length), Expect: 100-continue, HTTP/1.0 clients,
// HEAD, and a kept-alive upstream connection that the upstream closed.
#include "tests/proxy/harness.hpp"
#include "tests/support/catch.hpp"

#include <atomic>
#include <mutex>

using namespace stormgate;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

// An upstream on 127.0.0.1 that keeps every request it receives (head and Content-Length body)
// and answers each with `answer`; with `close_after`, it closes each connection after one answer
// without saying so (no "Connection: close"), as a server whose keep-alive timer ran out.
class scripted_upstream {
 public:
  scripted_upstream(std::string answer, bool close_after) : answer_(std::move(answer)), close_after_(close_after) {
    fd_ = test::listen_loopback(port_);
    thread_ = std::thread([this] { run(); });
  }
  ~scripted_upstream() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<std::string> requests() {
    std::lock_guard lk(mu_);
    return requests_;
  }
  int connections() const { return connections_; }

 private:
  void run() {
    while (!stop_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      ++connections_;
      timeval tv{0, 300000};  // a kept-alive connection with nothing more to say ends the loop below
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      std::string in;
      char buf[4096];
      for (int answered = 0; answered < 100 && !stop_;) {
        auto he = in.find("\r\n\r\n");
        if (he != std::string::npos) {
          std::size_t len = 0;
          if (auto cl = in.find("Content-Length: "); cl != std::string::npos && cl < he) len = std::stoul(in.substr(cl + 16));
          if (in.size() >= he + 4 + len) {
            {
              std::lock_guard lk(mu_);
              requests_.push_back(in.substr(0, he + 4 + len));
            }
            in.erase(0, he + 4 + len);
            ::send(c, answer_.data(), answer_.size(), MSG_NOSIGNAL);
            ++answered;
            if (close_after_) break;
            continue;
          }
        }
        auto n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        in.append(buf, static_cast<std::size_t>(n));
      }
      ::close(c);
    }
  }
  std::string answer_;
  bool close_after_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::mutex mu_;
  std::vector<std::string> requests_;
  std::thread thread_;
};

constexpr char ok_answer[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}";

}  // namespace

TEST_CASE("http: the upstream gets the request without hop-by-hop fields, with its id and length",
          "[proxy][http]") {
  scripted_upstream up(ok_answer, false);
  test::proxy_under_test px;
  px.start({{"credits", up.url()}});
  test::raw_conn c(px.route_url);
  // Expect: 100-continue: the proxy says "go on" before the client sends the body
  REQUIRE(c.send("POST /api/credits/consume HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                 "Connection: keep-alive\r\nExpect: 100-continue\r\nX-Stormgate-Request-Id: forged\r\n"
                 "Idempotency-Key: k-7\r\n\r\n"));
  char buf[64];
  auto n = ::recv(c.fd(), buf, sizeof buf, 0);
  REQUIRE(n > 0);
  CHECK(std::string_view(buf, static_cast<std::size_t>(n)) == "HTTP/1.1 100 Continue\r\n\r\n");
  REQUIRE(c.send("6\r\n{\"a\":1\r\n1\r\n}\r\n0\r\n\r\n"));
  auto answer = c.read_response();
  CHECK(test::status_of(answer) == 200);
  CHECK(answer.ends_with("{\"ok\":true}"));
  auto got = up.requests();
  REQUIRE(got.size() == 1);
  auto const& r = got[0];
  CHECK(r.starts_with("POST /api/credits/consume HTTP/1.1\r\n"));
  CHECK(r.find("Host: x\r\n") != std::string::npos);
  CHECK(r.find("Idempotency-Key: k-7\r\n") != std::string::npos);
  CHECK(r.find("X-Stormgate-Request-Id: credits-1\r\n") != std::string::npos);
  CHECK(r.find("forged") == std::string::npos);
  CHECK(r.find("Transfer-Encoding") == std::string::npos);
  CHECK(r.find("Connection") == std::string::npos);
  CHECK(r.find("Expect") == std::string::npos);
  CHECK(r.ends_with("Content-Length: 7\r\n\r\n{\"a\":1}"));
  c.close();
  auto ex = test::exchanges(px.stop_and_read());
  REQUIRE(ex.size() == 1);
  CHECK(ex[0].at("req").at("body") == json::parse(R"({"a":1})"));
  CHECK(ex[0].at("req").at("headers").at("idempotency-key") == "k-7");
  CHECK(ex[0].at("resp").at("body") == json::parse(R"({"ok":true})"));
}

TEST_CASE("http: a kept-alive upstream connection that the upstream closed is retried on a new one",
          "[proxy][http]") {
  scripted_upstream up(ok_answer, true);
  test::proxy_under_test px;
  px.start({{"credits", up.url()}});
  net::client c(px.route_url);
  for (int i = 0; i < 3; ++i) {
    auto r = c.get("/api/credits/balance/a");
    REQUIRE(r);
    CHECK(r->status == 200);
    std::this_thread::sleep_for(50ms);  // the upstream's close reaches the pooled connection
  }
  CHECK(up.connections() == 3);
  auto ex = test::exchanges(px.stop_and_read());
  REQUIRE(ex.size() == 3);
  for (auto const& x : ex) {
    CHECK(x.at("outcome") == "ok");
    CHECK(x.at("upstream").as_array().size() == 1);
  }
}

TEST_CASE("http: HTTP/1.0 clients and HEAD requests", "[proxy][http]") {
  scripted_upstream up("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Up: 1\r\n\r\n", false);
  test::proxy_under_test px;
  px.start({{"credits", up.url()}});
  SECTION("HTTP/1.0 without keep-alive: answered in 1.0, then closed") {
    test::raw_conn c(px.route_url);
    REQUIRE(c.send("HEAD /a HTTP/1.0\r\n\r\n"));
    auto all = c.read_all();
    CHECK(all.starts_with("HTTP/1.0 200 OK\r\n"));
    CHECK(all.find("Content-Length: 5\r\n") != std::string::npos);
    CHECK(all.ends_with("\r\n\r\n"));  // HEAD: no body, whatever the length says
    CHECK(c.eof());
  }
  SECTION("HTTP/1.0 with keep-alive: the connection stays for the next request") {
    test::raw_conn c(px.route_url);
    for (int i = 0; i < 2; ++i) {
      REQUIRE(c.send("HEAD /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
      std::string head;
      char ch;
      while (!head.ends_with("\r\n\r\n") && head.size() < 4096 && ::recv(c.fd(), &ch, 1, 0) == 1) head += ch;
      CHECK(head.starts_with("HTTP/1.0 200 OK\r\n"));
      CHECK(head.find("Connection: keep-alive\r\n") != std::string::npos);
      CHECK(head.find("X-Up: 1\r\n") != std::string::npos);
    }
  }
  CHECK(up.requests().size() >= 1);
  for (auto const& r : up.requests()) CHECK(r.starts_with("HEAD /a HTTP/1.1\r\n"));
}
