// Streams of requests: one record per exchange under load, determinism over 1 and 64 connections,
// and an admin toggle that takes effect at the next request.
#include "tests/proxy/harness.hpp"
#include "tests/support/catch.hpp"

#include <atomic>
#include <csignal>
#include <mutex>
#include <set>

using namespace stormgate;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

// Sends ops[i] for every i with i % conns == c on connection c (conns threads); returns op -> status.
std::map<std::string, unsigned> send_ops(std::string const& url, std::vector<std::string> const& ops, int conns,
                                         std::string const& target) {
  std::map<std::string, unsigned> out;
  std::mutex mu;
  std::vector<std::thread> threads;
  for (int c = 0; c < conns; ++c)
    threads.emplace_back([&, c] {
      net::client client(url);
      for (std::size_t i = static_cast<std::size_t>(c); i < ops.size(); i += static_cast<std::size_t>(conns)) {
        auto r = client.post(target, R"({"agent_id":"a","amount":1})", {{"X-Stormgate-Op", ops[i]}});
        std::lock_guard lk(mu);
        out[ops[i]] = r ? r->status : 0;
      }
    });
  for (auto& t : threads) t.join();
  return out;
}

std::set<std::string> faulted_in_log(std::vector<json::value> const& records) {
  std::set<std::string> out;
  for (auto const& e : test::exchanges(records))
    if (!e.at("faults").as_array().empty())
      out.insert(std::string(e.at("req").at("headers").at("x-stormgate-op").as_string()));
  return out;
}

}  // namespace

TEST_CASE("stream: 20 000 requests over 100 connections give exactly 20 000 exchange records",
          "[proxy][stream][log]") {
  test::upstreams up;
  up.start_backend();
  test::proxy_under_test px;
  px.start({{"credits", up.backend_url}}, "", {"--threads", "2"});
  constexpr int conns = 100, per_conn = 200;
  std::atomic<int> sent{0}, ok{0};
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < conns; ++c)
    threads.emplace_back([&, c] {
      net::client client(px.route_url);
      for (int i = 0; i < per_conn; ++i) {
        if (std::chrono::steady_clock::now() - t0 > 60s) return;
        ++sent;
        auto r = client.get("/api/credits/balance/agent-" + std::to_string(c));
        if (r && r->status == 200) ++ok;
      }
    });
  for (auto& t : threads) t.join();
  CHECK(sent == conns * per_conn);
  CHECK(ok == sent);
  auto recs = px.stop_and_read();
  auto ex = test::exchanges(recs);
  CHECK(ex.size() == static_cast<std::size_t>(sent.load()));
  std::set<std::string> ids;
  for (auto const& e : ex) ids.insert(std::string(e.at("id").as_string()));
  CHECK(ids.size() == ex.size());
  CHECK(recs.back().at("exchanges") == sent.load());
  CHECK(recs.back().at("dropped") == 0);
}

TEST_CASE("stream: the same seed and ops fault the same ops over 1 connection and over 64",
          "[proxy][stream][determinism]") {
  test::upstreams up;
  up.start_karma();
  std::vector<std::string> ops;
  for (int i = 0; i < 1000; ++i) ops.push_back("credit_storm-" + std::to_string(100000 + i));
  std::string fault = R"(
[[faults]]
name = "flaky"
route = "karma"
probability = 0.3
action = { blackout = { status = 503 } }
)";
  auto run = [&](int conns) {
    test::proxy_under_test px;
    px.start({{"karma", up.karma_url}}, fault, {"--threads", "2"});
    auto statuses = send_ops(px.route_url, ops, conns, "/score");
    std::set<std::string> by_status;
    for (auto const& [op, s] : statuses) {
      REQUIRE((s == 200 || s == 503));
      if (s == 503) by_status.insert(op);
    }
    auto by_log = faulted_in_log(px.stop_and_read());
    CHECK(by_log == by_status);
    return by_status;
  };
  auto one = run(1);
  auto many = run(64);
  CHECK(one == many);
  CHECK(one.size() > 200);
  CHECK(one.size() < 400);
}

TEST_CASE("stream: an admin toggle in the middle of a stream changes the very next request",
          "[proxy][stream][admin]") {
  test::upstreams up;
  up.start_karma();
  test::proxy_under_test px;
  px.start({{"karma", up.karma_url}});
  net::client c(px.route_url);
  std::vector<unsigned> statuses;
  for (int i = 0; i < 150; ++i) {
    if (i == 50) {
      auto r = px.admin("PUT", "/faults/karma-down", R"({"route":"karma","action":{"blackout":{"status":503}}})");
      REQUIRE(r);
      REQUIRE(r->status == 201);
    }
    if (i == 100) {
      auto r = px.admin("DELETE", "/faults/karma-down");
      REQUIRE(r);
      REQUIRE(r->status == 200);
    }
    auto r = c.post("/score", R"({"agent_id":"a","amount":1})");
    REQUIRE(r);
    statuses.push_back(r->status);
  }
  for (int i = 0; i < 150; ++i) {
    INFO("request " << i);
    CHECK(statuses[i] == ((i >= 50 && i < 100) ? 503u : 200u));
  }
  auto recs = px.stop_and_read();
  std::vector<std::string> kinds;  // the control records sit between the right exchanges
  for (auto const& r : recs)
    if (r.at("kind") != "exchange" || kinds.empty() || kinds.back() != "exchange")
      kinds.push_back(std::string(r.at("kind") == "control" ? r.at("action").as_string() : r.at("kind").as_string()));
  CHECK(kinds == std::vector<std::string>{"run", "exchange", "set", "exchange", "clear", "exchange", "run"});
}

TEST_CASE("stream: SIGTERM lets an exchange in hand finish and its record is written", "[proxy][stream][log]") {
  test::upstreams up;
  up.start_karma();
  test::proxy_under_test px;
  px.start({{"karma", up.karma_url}});
  REQUIRE(px.admin("PUT", "/faults/slow", R"({"route":"karma","action":{"delay":{"ms":600}}})"));
  std::optional<unsigned> status;
  std::thread client([&] {
    net::client c(px.route_url);
    auto r = c.post("/score", R"({"agent_id":"a","amount":1})");
    if (r) status = r->status;
  });
  std::this_thread::sleep_for(200ms);
  px.proc->signal(SIGTERM);
  client.join();
  CHECK(status == 200u);
  auto rc = px.proc->wait_exit(10s);
  CHECK(rc == 0);
  auto ex = test::exchanges(test::read_log(px.log_path));
  REQUIRE(ex.size() == 1);
  CHECK(ex[0].at("outcome") == "ok");
}

TEST_CASE("stream: a SIGTERM right after the listening lines is a clean stop, its run record written", "[proxy][stream][log]") {
  test::upstreams up;
  up.start_karma();
  // the signal comes while the proxy still starts its workers: 25 tries, each well under a second
  for (int i = 0; i < 25; ++i) {
    test::proxy_under_test px;
    px.start({{"karma", up.karma_url}});
    auto recs = px.stop_and_read();  // throws unless the exit code is 0
    REQUIRE(recs.size() >= 2);
    CHECK(recs.front().at("action") == "start");
    CHECK(recs.back().at("action") == "stop");
    CHECK(recs.back().at("signal") == "SIGTERM");
  }
}

TEST_CASE("stream: 300 connections open at once, each exchange is one whole record, a duplicated one with every copy",
          "[proxy][stream][log]") {
  test::upstreams up;
  up.start_backend();
  test::proxy_under_test px;
  px.start({{"credits", up.backend_url}},
           "[[faults]]\nname = \"dup\"\nroute = \"credits\"\nprobability = 0.2\n"
           "match = { method = \"POST\", path = \"/api/credits/consume\" }\naction = { duplicate = { copies = 2 } }\n"
           "[[faults]]\nname = \"never\"\nroute = \"credits\"\nprobability = 0.0\n"
           "match = { path = \"/api/credits/*\" }\naction = { delay = { ms = 500 } }\n");
  constexpr int conns = 300, per_conn = 20;
  std::atomic<int> connected{0}, ok{0}, sent{0};
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < conns; ++c)
    threads.emplace_back([&, c] {
      net::client client(px.route_url);
      // every connection is open before any sends: the first request opens it
      auto first = client.post("/api/credits/agents", R"({"agent_id":"agent-)" + std::to_string(c) + R"(","skill_level":1.0})",
                               {{"X-Stormgate-Op", "open-" + std::to_string(c)}});
      if (first && first->status / 100 == 2) ++ok;
      ++sent;
      ++connected;
      while (connected < conns && std::chrono::steady_clock::now() - t0 < 30s) std::this_thread::sleep_for(1ms);
      for (int i = 0; i < per_conn && std::chrono::steady_clock::now() - t0 < 60s; ++i) {
        auto op = "op-" + std::to_string(c) + "-" + std::to_string(i);
        ++sent;
        auto r = client.post("/api/credits/consume", R"({"agent_id":"agent-)" + std::to_string(c) + R"(","amount":0.5,"reason":"stream"})",
                             {{"X-Stormgate-Op", op}, {"Idempotency-Key", op}});
        if (r && r->status == 200) ++ok;
      }
    });
  for (auto& t : threads) t.join();
  REQUIRE(sent == conns * (per_conn + 1));
  CHECK(ok == sent);
  auto recs = px.stop_and_read();  // every line parses as one JSON record, or this throws
  auto ex = test::exchanges(recs);
  CHECK(ex.size() == static_cast<std::size_t>(sent.load()));
  std::map<std::string, int> seen;
  int duplicated = 0, whole = 0;
  for (auto const& e : ex) {
    auto const& o = e.as_object();
    auto op = std::string(o.at("req").at("headers").at("x-stormgate-op").as_string());
    ++seen[op];
    auto copies = o.at("faults").as_array().empty() ? 1u : 2u;
    if (copies == 2) ++duplicated;
    bool has_all = o.contains("ts") && o.contains("id") && o.contains("latency_us") && o.contains("resp") &&
                   o.at("upstream").as_array().size() == copies && o.at("resp").at("status").to_number<int>() / 100 == 2;
    if (has_all) ++whole;
  }
  CHECK(seen.size() == ex.size());  // each op exactly once
  CHECK(whole == static_cast<int>(ex.size()));
  CHECK(duplicated > conns * per_conn / 10);  // p = 0.2 over 6 000 consumes
  CHECK(recs.back().at("exchanges") == sent.load());
  CHECK(recs.back().at("dropped") == 0);
}
