// The load client against tiny in-test HTTP servers: a server that stalls for 1 s (open loop must show
// the stall in p99), and a recording server with BRAiN's answers (requests must have BRAiN's shape).
#include "load/load.hpp"
#include "tests/load/history_check.hpp"
#include "tests/support/catch.hpp"
#include "tests/support/process.hpp"
#include "scenarios/scenarios.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using namespace stormgate;

namespace {

struct seen_request {
  std::string method, target, body;
  std::map<std::string, std::string> headers;  // lower-case
};

// A blocking HTTP/1.1 server on 127.0.0.1:0, one thread per connection; `answer` gives status and JSON body.
class stub_server {
 public:
  using handler = std::function<std::pair<unsigned, std::string>(seen_request const&)>;
  explicit stub_server(handler h) : answer_(std::move(h)), acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}) {
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { accept_loop(); });
  }
  ~stub_server() {
    stop_ = true;
    boost::system::error_code ec;
    {
      tcp::socket wake(ioc_);
      wake.connect({asio::ip::make_address("127.0.0.1"), port_}, ec);
    }
    accept_thread_.join();
    {
      std::lock_guard<std::mutex> lk(mu_);
      for (auto& s : sockets_) s->shutdown(tcp::socket::shutdown_both, ec);
    }
    for (auto& t : conn_threads_) t.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<seen_request> requests() {
    std::lock_guard<std::mutex> lk(mu_);
    return seen_;
  }

 private:
  void accept_loop() {
    while (!stop_) {
      auto sock = std::make_shared<tcp::socket>(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(*sock, ec);
      if (ec || stop_) break;
      std::lock_guard<std::mutex> lk(mu_);
      sockets_.push_back(sock);
      conn_threads_.emplace_back([this, sock] { serve(*sock); });
    }
  }
  void serve(tcp::socket& sock) {
    beast::flat_buffer buf;
    for (int i = 0; i < 100000 && !stop_; ++i) {
      http::request<http::string_body> req;
      boost::system::error_code ec;
      http::read(sock, buf, req, ec);
      if (ec) return;
      seen_request s{std::string(req.method_string()), std::string(req.target()), req.body(), {}};
      for (auto const& f : req) {
        std::string name(f.name_string());
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        s.headers[name] = std::string(f.value());
      }
      {
        std::lock_guard<std::mutex> lk(mu_);
        seen_.push_back(s);
      }
      auto [status, body] = answer_(s);
      http::response<http::string_body> res{static_cast<http::status>(status), 11};
      res.set(http::field::content_type, "application/json");
      res.body() = body;
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      http::write(sock, res, ec);
      if (ec || !req.keep_alive()) return;
    }
  }

  handler answer_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread accept_thread_;
  std::mutex mu_;
  std::vector<std::shared_ptr<tcp::socket>> sockets_;
  std::vector<std::thread> conn_threads_;
  std::vector<seen_request> seen_;
};

std::optional<json::object> scenario_stats(std::vector<json::object> const& recs, std::string const& scenario) {
  for (auto const& r : test::of_type(recs, "stats"))
    if (test::str(r, "scope") == "scenario" && test::str(r, "scenario") == scenario) return r;
  return std::nullopt;
}

}  // namespace

TEST_CASE("open loop shows a 1 s server stall in p99 (latency from the intended send time)", "[load][open-loop]") {
  using clock = std::chrono::steady_clock;
  std::mutex mu;
  std::optional<clock::time_point> first_soak;
  stub_server server([&](seen_request const& r) -> std::pair<unsigned, std::string> {
    auto op = r.headers.count("x-stormgate-op") ? r.headers.at("x-stormgate-op") : "";
    clock::time_point stall_from, stall_to;
    {
      std::lock_guard<std::mutex> lk(mu);
      if (!first_soak && op.rfind("soak-", 0) == 0 && r.method == "GET") first_soak = clock::now();
      if (!first_soak) return {200, "{}"};
      stall_from = *first_soak + std::chrono::milliseconds(1000);
      stall_to = stall_from + std::chrono::milliseconds(1000);
    }
    auto now = clock::now();
    if (now >= stall_from && now < stall_to) std::this_thread::sleep_until(stall_to);
    return {200, R"({"agent_id":"a","balance":10.0,"balance_after":9.0})"};
  });
  test::temp_dir dir;
  load::options opt{.catalog = scenarios::load_catalog()};
  opt.target = "reference";
  opt.base_url = server.url();
  opt.scenarios = {"soak"};
  opt.mix = "read";
  opt.rate = 200;
  opt.duration_s = 3.5;
  opt.concurrency = 40;
  opt.quiet = true;
  opt.history = dir.file("history.jsonl");
  REQUIRE(load::run(opt) == 0);
  auto recs = test::read_history(opt.history);
  INFO(test::well_formed(recs));
  REQUIRE(test::well_formed(recs).empty());
  auto st = scenario_stats(recs, "soak");
  REQUIRE(st);
  auto p50 = st->at("p50_us").to_number<double>();
  auto p99 = st->at("p99_us").to_number<double>();
  auto count = st->at("count").to_number<double>();
  INFO("p50 " << p50 << " p99 " << p99 << " count " << count);
  CHECK(count >= 600);        // ~3.5 s x 200/s, the stall did not cost sends
  CHECK(p50 < 100'000);       // most requests are fast
  CHECK(p99 >= 700'000);      // the stall shows: requests due during it waited up to 1 s
  bool open = false;
  for (auto const& r : test::of_type(recs, "run")) open = open || test::str(r, "mode") == "open";
  CHECK(open);
  CHECK(test::of_type(recs, "stats").size() >= 2);  // slices and the scenario summary
}

TEST_CASE("BRAiN profile: requests have the shape brain-credit-api.md describes", "[load][brain]") {
  std::mutex mu;
  std::map<std::string, double> balance;
  stub_server server([&](seen_request const& r) -> std::pair<unsigned, std::string> {
    std::lock_guard<std::mutex> lk(mu);
    if (r.target == "/api/health") return {200, R"({"status":"ok"})"};
    json::object body;
    if (!r.body.empty()) body = json::parse(r.body).as_object();
    auto agent = body.contains("agent_id") ? std::string(body.at("agent_id").as_string()) : "";
    if (r.target == "/api/credits/agents") {
      double b = body.at("skill_level").to_number<double>() * 100.0;
      balance[agent] = b;
      return {200, json::serialize(json::object{{"agent_id", agent}, {"initial_credits", b}, {"balance", b}, {"skill_level", body.at("skill_level")}})};
    }
    if (r.target == "/api/credits/add" || r.target == "/api/credits/consume" || r.target == "/api/credits/refund") {
      double a = body.at("amount").to_number<double>();
      double& b = balance[agent];
      if (r.target == "/api/credits/consume") {
        if (b < a) return {400, R"({"detail":"Insufficient credits"})"};
        b -= a;
      } else {
        b += a;
      }
      return {200, json::serialize(json::object{{"agent_id", agent}, {"amount", a}, {"balance_after", b}, {"reason", body.at("reason")}})};
    }
    if (r.target.rfind("/api/credits/balance/", 0) == 0) {
      auto id = r.target.substr(std::string("/api/credits/balance/").size());
      return {200, json::serialize(json::object{{"agent_id", id}, {"balance", balance[id]}})};
    }
    if (r.target == "/api/credits/balances") {
      json::object all;
      for (auto const& [k, v] : balance) all[k] = v;
      return {200, json::serialize(json::object{{"balances", all}, {"total_agents", balance.size()}})};
    }
    return {404, R"({"detail":"Not Found"})"};
  });
  ::setenv("STORMGATE_TARGET_TOKEN", "test-token-123", 1);
  test::temp_dir dir;
  load::options opt{.catalog = scenarios::load_catalog()};
  opt.target = "brain";
  opt.base_url = server.url();
  opt.concurrency = 5;
  opt.quiet = true;
  opt.history = dir.file("history.jsonl");
  REQUIRE(load::run(opt) == 0);  // the six scenarios (no soak)

  std::set<std::string> const brain_paths{"/api/health", "/api/credits/agents", "/api/credits/consume",
                                          "/api/credits/add", "/api/credits/refund", "/api/credits/balances"};
  auto reqs = server.requests();
  REQUIRE(reqs.size() > 100);
  int creates = 0, adds = 0, consumes = 0;
  for (auto const& r : reqs) {
    INFO(r.method << " " << r.target << " " << r.body);
    bool known = brain_paths.count(r.target) || r.target.rfind("/api/credits/balance/", 0) == 0;
    CHECK(known);
    if (r.target == "/api/health") continue;
    CHECK(r.headers.count("authorization"));
    if (r.headers.count("authorization")) CHECK(r.headers.at("authorization") == "Bearer test-token-123");
    CHECK(r.headers.count("x-stormgate-op"));
    CHECK_FALSE(r.headers.count("idempotency-key"));  // BRAiN has no client idempotency key
    if (r.method == "POST") {
      CHECK(r.headers.at("content-type") == "application/json");
      auto b = json::parse(r.body).as_object();
      CHECK(b.at("agent_id").is_string());
      if (r.target == "/api/credits/agents") {
        ++creates;
        double skill = b.at("skill_level").to_number<double>();
        CHECK(skill > 0.0);
        CHECK(skill <= 1.0);  // HTTP creation caps skill at 1.0
      } else {
        CHECK(b.at("amount").to_number<double>() > 0.0);
        CHECK(b.at("reason").is_string());
        adds += r.target == "/api/credits/add";
        consumes += r.target == "/api/credits/consume";
      }
    } else {
      CHECK(r.method == "GET");
    }
  }
  CHECK(creates == 10);  // credit_storm's agents
  CHECK(adds == 10);     // topped up from 100 to 1000
  CHECK(consumes >= 5 * 20);

  auto recs = test::read_history(opt.history);
  INFO(test::well_formed(recs));
  REQUIRE(test::well_formed(recs).empty());
  std::set<std::string> skipped;
  for (auto const& r : test::of_type(recs, "scenario"))
    if (test::str(r, "action") == "skip") skipped.insert(test::str(r, "scenario"));
  CHECK(skipped == std::set<std::string>{"synergy_anti_gaming", "approval_race", "karma_blackout", "ml_chaos", "crash_replay"});
  for (auto const& r : test::of_type(recs, "ok"))
    if (test::str(r, "f") == "consume") REQUIRE(r.at("value").as_object().contains("balance_after"));
}

TEST_CASE("load exits 64 on a missing token and 69 on an unreachable target", "[load][exit]") {
  test::temp_dir dir;
  load::options opt{.catalog = scenarios::load_catalog()};
  opt.quiet = true;
  opt.history = dir.file("h.jsonl");
  opt.target = "brain";
  opt.base_url = "http://127.0.0.1:9";
  ::unsetenv("STORMGATE_TARGET_TOKEN");
  CHECK(load::run(opt) == 64);
  opt.target = "reference";
  unsigned short port;
  {
    asio::io_context ioc;
    tcp::acceptor a(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }
  opt.base_url = "http://127.0.0.1:" + std::to_string(port);
  CHECK(load::run(opt) == 69);
  opt.scenarios = {"no_such_scenario"};
  CHECK(load::run(opt) == 64);
  opt.target = "no/such/profile.toml";
  CHECK(load::run(opt) == 64);
}
