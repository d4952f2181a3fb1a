// The event loop's backend (`stormgate proxy --io`, STORMGATE_IO; app/cmd_proxy.cpp): io_uring where
// this kernel and its seccomp allow it, in the binary stormgate-proxy-uring that `stormgate proxy`
// becomes; epoll when asked, or when io_uring cannot be had. /stats and the log's run record say
// which one ran.
#include "proxy/proxy.hpp"
#include "tests/proxy/harness.hpp"
#include "tests/support/catch.hpp"

#include <filesystem>
#include <string>

using namespace stormgate;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

std::string uring_binary() { return (fs::path(test::stormgate_bin()).parent_path() / "stormgate-proxy-uring").string(); }

std::string exe_of(int pid) {
  std::error_code ec;
  return fs::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec).filename().string();
}

std::string run_record_io(std::vector<boost::json::value> const& records) {
  for (auto const& r : records)
    if (r.as_object().contains("kind") && r.at("kind") == "run") return std::string(r.at("io").as_string());
  return "(no run record)";
}

}  // namespace

TEST_CASE("io: auto takes io_uring where the kernel allows it and epoll is taken when asked - /stats, the run record and the process say which",
          "[proxy][io]") {
  bool built = fs::exists(uring_binary());
  auto refusal = proxy::io_uring_refusal();
  bool uring = built && refusal.empty();
  if (!uring) WARN("io_uring is not usable here (" << (built ? refusal : uring_binary() + " not built") << "): auto must give epoll");

  test::upstreams up;
  up.start_backend();
  struct row {
    char const* io;
    std::string expect;
  };
  for (auto const& r : {row{"auto", uring ? "io_uring" : "epoll"}, row{"epoll", "epoll"}}) {
    INFO("STORMGATE_IO=" << r.io);
    test::proxy_under_test px;
    px.start({{"credits", up.backend_url}}, {}, {}, {{"STORMGATE_IO", r.io}});
    CHECK(exe_of(px.proc->pid()) == (r.expect == "io_uring" ? "stormgate-proxy-uring" : "stormgate"));
    auto stats = px.admin("GET", "/stats");
    REQUIRE(stats);
    CHECK(boost::json::parse(stats->body).at("io") == r.expect.c_str());
    for (int i = 0; i < 3; ++i) {
      net::request q;
      q.url = px.route_url + "/api/credits/balance/io-test";
      auto res = net::fetch(q);
      REQUIRE(res);
      CHECK(res->status == 200);
    }
    auto records = px.stop_and_read();
    CHECK(run_record_io(records) == r.expect);
    CHECK(test::exchanges(records).size() == 3);
    if (r.expect == "epoll" && std::string(r.io) == "auto") CHECK(px.proc->stderr_text().find("io_uring not used") != std::string::npos);
  }
}

TEST_CASE("io: without the io_uring binary auto falls back to epoll naming it - --io io_uring exits 69 naming it - the io_uring binary refuses --io epoll with 64",
          "[proxy][io]") {
  test::upstreams up;
  up.start_backend();
  std::string missing = "/nonexistent/stormgate-proxy-uring";
  {
    test::proxy_under_test px;
    px.start({{"credits", up.backend_url}}, {}, {}, {{"STORMGATE_IO", "auto"}, {"STORMGATE_PROXY_URING", missing}});
    auto stats = px.admin("GET", "/stats");
    REQUIRE(stats);
    CHECK(boost::json::parse(stats->body).at("io") == "epoll");
    px.stop_and_read();
    CHECK(px.proc->stderr_text().find("io epoll (io_uring not used: " + missing) != std::string::npos);
  }
  std::vector<std::string> args{"proxy", "--route", "credits=127.0.0.1:0->" + up.backend_url, "--admin", "127.0.0.1:0"};
  {
    auto a = args;
    a.insert(a.end(), {"--io", "io_uring"});
    test::process p(a, {{"STORMGATE_PROXY_URING", missing}});
    auto rc = p.wait_exit(10s);
    REQUIRE(rc);
    CHECK(*rc == core::exit_unavailable);
    CHECK(p.stderr_text().find("--io io_uring: " + missing) != std::string::npos);
  }
  {
    auto a = args;
    a.insert(a.end(), {"--io", "bogus"});
    test::process p(a);
    auto rc = p.wait_exit(10s);
    REQUIRE(rc);
    CHECK(*rc == core::exit_usage);
    CHECK(p.stderr_text().find("--io: 'bogus'") != std::string::npos);
  }
  if (fs::exists(uring_binary())) {
    auto a = args;
    a.insert(a.end(), {"--io", "epoll"});
    test::process p(a, {}, uring_binary());
    auto rc = p.wait_exit(10s);
    REQUIRE(rc);
    CHECK(*rc == core::exit_usage);
    CHECK(p.stderr_text().find("this is the io_uring build") != std::string::npos);
  }
}
