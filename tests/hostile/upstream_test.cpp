// The upstream misbehaving: refuses, never accepts, closes or resets before or in the middle of its
// answer, hangs before or after its head, drips, sends garbage, a head or a body over the limits, a
// chunk size that overflows. The proxy answers 502 (a broken answer) or 504 (none in time) within
// its configured timeouts, and logs each with its outcome and the attempt's error.
#include "tests/hostile/hostile.hpp"
#include "tests/support/catch.hpp"

using namespace stormgate;
using namespace stormgate::test::hostile;
namespace json = boost::json;

namespace {

int closed_port() {
  int port = 0;
  int fd = test::listen_loopback(port);
  ::close(fd);
  return port;
}

// A listener whose accept queue is full and never drained: a connect to it is never completed.
struct full_backlog {
  int fd = -1;
  int port = 0;
  std::vector<int> fillers;
  full_backlog() {
    fd = test::listen_loopback(port);
    ::listen(fd, 0);  // Linux takes a second listen() as the new backlog
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    for (int i = 0; i < 3; ++i) {  // fill the queue (non-blocking connects; the last ones stay pending)
      int c = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      ::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a);
      fillers.push_back(c);
    }
    std::this_thread::sleep_for(100ms);
  }
  ~full_backlog() {
    for (int c : fillers) ::close(c);
    ::close(fd);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
};

struct bad_upstream {
  char const* name;
  upstream_mode mode;
  unsigned status;
  char const* outcome;
  char const* error_prefix;
};

}  // namespace

TEST_CASE("hostile upstreams: each misbehaviour is a 502 or a 504 within the timeouts - logged with its error",
          "[hostile][upstream]") {
  std::vector<bad_upstream> cases{
      {"closes before a byte", upstream_mode::close_at_once, 502, "upstream_error", ""},  // send: or answer:
      {"resets before a byte", upstream_mode::reset_at_once, 502, "upstream_error", ""},
      {"resets in the middle of the body", upstream_mode::reset_mid_body, 502, "upstream_error", "answer: "},
      {"closes in the middle of the body", upstream_mode::close_mid_body, 502, "upstream_error", "answer: "},
      {"hangs before its head", upstream_mode::hang_before_head, 504, "upstream_timeout", "answer: timeout"},
      {"hangs after its head", upstream_mode::hang_after_head, 504, "upstream_timeout", "answer: timeout"},
      {"drips a byte every 100 ms", upstream_mode::drip, 504, "upstream_timeout", "answer: timeout"},
      {"answers garbage", upstream_mode::malformed, 502, "upstream_error", "answer: "},
      {"answers a bad status line", upstream_mode::bad_status, 502, "upstream_error", "answer: "},
      {"answers a 64 KiB head", upstream_mode::huge_head, 502, "upstream_error", "answer: "},
      {"answers a body over response_body_bytes", upstream_mode::huge_body, 502, "upstream_error", "answer: "},
      {"answers a chunk size that overflows", upstream_mode::bad_chunk, 502, "upstream_error", "answer: "},
  };
  std::vector<std::unique_ptr<raw_upstream>> ups;
  std::vector<std::pair<std::string, std::string>> routes;
  raw_upstream good(upstream_mode::answer);
  routes.emplace_back("credits", good.url());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    ups.push_back(std::make_unique<raw_upstream>(cases[i].mode));
    routes.emplace_back("bad" + std::to_string(i), ups.back()->url());
  }
  full_backlog never_accepts;
  routes.emplace_back("refused", "http://127.0.0.1:" + std::to_string(closed_port()));
  routes.emplace_back("noaccept", never_accepts.url());
  test::proxy_under_test px;
  px.start(routes, "[limits]\nresponse_body_bytes = 1048576\n[timeouts]\nupstream_ms = 1000\nconnect_ms = 300\n");

  cases.push_back({"refuses the connection", upstream_mode::answer, 502, "upstream_error", "connect: "});
  cases.push_back({"never accepts (connect timeout)", upstream_mode::answer, 504, "upstream_timeout", "connect: timeout"});
  for (std::size_t i = 0; i < cases.size(); ++i) {
    auto const& c = cases[i];
    INFO(c.name);
    std::string route = i < ups.size() ? "bad" + std::to_string(i) : i == ups.size() ? "refused" : "noaccept";
    auto a = send_raw(px.route(route), "GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 3000);
    measured(std::string("upstream ") + c.name, describe(a), a.ms);
    CHECK(a.status == c.status);
    CHECK(a.closed);
    double limit_ms = std::string(c.error_prefix).starts_with("connect: timeout") ? 300 : 1000;
    if (c.status == 504) {
      CHECK(a.ms >= limit_ms - 50);
      CHECK(a.ms < limit_ms + 700);
    } else {
      CHECK(a.ms < 700);
    }
    CHECK(normal_status(px.route_url) == 200);
  }
  REQUIRE(px.proc->stop(15s) == 0);
  auto ex = test::exchanges(whole_records(px.log_path));
  std::map<std::string, json::value> by_route;
  for (auto const& e : ex) by_route[std::string(e.at("route").as_string())] = e;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    auto const& c = cases[i];
    INFO(c.name);
    std::string route = i < ups.size() ? "bad" + std::to_string(i) : i == ups.size() ? "refused" : "noaccept";
    REQUIRE(by_route.count(route));
    auto const& e = by_route[route];
    CHECK(e.at("outcome") == c.outcome);
    CHECK(e.at("resp").at("status") == c.status);
    auto const& err = e.at("upstream").at(0).at("error").as_string();
    measured(std::string("upstream ") + c.name + " (log)", std::string(e.at("outcome").as_string()) + ", " + std::string(err), 0);
    CHECK(err.starts_with(c.error_prefix));
    CHECK(e.at("error") == err);
  }
  CHECK(ex.size() == cases.size() * 2);  // each case and its normal request
}
