// Each fault kind end to end through the real proxy in front of the reference backend, with its record.
#include "tests/proxy/harness.hpp"
#include "tests/support/catch.hpp"

using namespace stormgate;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

struct rig {
  test::upstreams up;
  test::proxy_under_test px;
  explicit rig(std::string const& extra = {}) {
    up.start_backend();
    px.start({{"credits", up.backend_url}}, extra);
  }
  void set_fault(std::string const& name, std::string const& body) {
    auto r = px.admin("PUT", "/faults/" + name, body);
    REQUIRE(r);
    REQUIRE(r->status / 100 == 2);
  }
  double balance(std::string const& agent) {
    net::client c(up.backend_url);
    auto r = c.get("/api/credits/balance/" + agent);
    REQUIRE(r);
    return json::parse(r->body).at("balance").to_number<double>();
  }
  void create(std::string const& agent) {
    net::client c(up.backend_url);
    auto r = c.post("/api/credits/agents", R"({"agent_id":")" + agent + R"(","skill_level":1.0})");
    REQUIRE(r);
    REQUIRE(r->status / 100 == 2);
  }
  json::value only_exchange() {
    auto ex = test::exchanges(px.stop_and_read());
    REQUIRE(ex.size() == 1);
    return ex.front();
  }
};

}  // namespace

TEST_CASE("e2e delay: the answer comes late and the record says by how much", "[proxy][faults][delay]") {
  rig r;
  r.set_fault("slow", R"({"route":"credits","match":{"path":"/api/credits/balance/*"},"action":{"delay":{"ms":150}}})");
  net::client c(r.px.route_url);
  auto t0 = std::chrono::steady_clock::now();
  auto res = c.get("/api/credits/balance/a1");
  auto took = std::chrono::steady_clock::now() - t0;
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(took >= 150ms);
  auto ex = r.only_exchange();
  CHECK(ex.at("faults") == json::parse(R"([{"kind":"delay","rule":"slow","ms":150}])"));
  CHECK(ex.at("outcome") == "ok");
  CHECK(ex.at("resp").at("status") == 200);
  CHECK(ex.at("latency_us").to_number<std::int64_t>() >= 150000);
  CHECK(ex.at("upstream").as_array().size() == 1);
}

TEST_CASE("e2e blackout: status - reset and hang - the upstream is never asked", "[proxy][faults][blackout]") {
  rig r("[timeouts]\nhang_ms = 300\n");
  r.set_fault("down", R"({"route":"credits","match":{"header":{"x-mode":"status"}},"action":{"blackout":{"status":503}}})");
  r.set_fault("cut", R"({"route":"credits","match":{"header":{"x-mode":"reset"}},"action":{"blackout":{"mode":"reset"}}})");
  r.set_fault("stall", R"({"route":"credits","match":{"header":{"x-mode":"hang"}},"action":{"blackout":{"mode":"hang"}}})");
  {
    test::raw_conn c(r.px.route_url);
    c.send("GET /api/credits/balance/a1 HTTP/1.1\r\nHost: x\r\nX-Mode: status\r\n\r\n");
    CHECK(test::status_of(c.read_response()) == 503);
  }
  {
    test::raw_conn c(r.px.route_url);
    c.send("GET /api/credits/balance/a1 HTTP/1.1\r\nHost: x\r\nX-Mode: reset\r\n\r\n");
    CHECK(c.read_all().empty());
    CHECK((c.reset() || c.eof()));
  }
  {
    test::raw_conn c(r.px.route_url, 5000);
    auto t0 = std::chrono::steady_clock::now();
    c.send("GET /api/credits/balance/a1 HTTP/1.1\r\nHost: x\r\nX-Mode: hang\r\n\r\n");
    CHECK(c.read_all().empty());
    CHECK(std::chrono::steady_clock::now() - t0 >= 250ms);
  }
  auto ex = test::exchanges(r.px.stop_and_read());
  REQUIRE(ex.size() == 3);
  CHECK(ex[0].at("faults") == json::parse(R"([{"kind":"blackout","rule":"down","status":503}])"));
  CHECK(ex[0].at("resp").at("status") == 503);
  CHECK(ex[1].at("faults") == json::parse(R"([{"kind":"blackout","rule":"cut","mode":"reset"}])"));
  CHECK_FALSE(ex[1].as_object().contains("resp"));
  CHECK(ex[2].at("faults") == json::parse(R"([{"kind":"blackout","rule":"stall","mode":"hang"}])"));
  CHECK_FALSE(ex[2].as_object().contains("resp"));
  for (auto const& e : ex) {
    CHECK(e.at("outcome") == "fault_abort");
    CHECK(e.at("upstream").as_array().empty());
  }
}

TEST_CASE("e2e duplicate: the backend gets the request twice - the client one answer", "[proxy][faults][duplicate]") {
  rig r;
  r.create("dup-1");
  r.set_fault("twice", R"({"route":"credits","match":{"method":"POST","path":"/api/credits/consume"},"action":{"duplicate":{"copies":2}}})");
  net::client c(r.px.route_url);
  auto res = c.post("/api/credits/consume", R"({"agent_id":"dup-1","amount":1,"reason":"dup"})");
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(json::parse(res->body).at("balance_after").to_number<double>() == Approx(99));
  CHECK(r.balance("dup-1") == Approx(98));  // no idempotency key: both copies applied
  auto ex = r.only_exchange();
  CHECK(ex.at("faults") == json::parse(R"([{"kind":"duplicate","rule":"twice","copies":2}])"));
  auto const& ups = ex.at("upstream").as_array();
  REQUIRE(ups.size() == 2);
  CHECK(ups[0].at("n") == 1);
  CHECK(ups[1].at("n") == 2);
  CHECK(ups[0].at("body").at("balance_after").to_number<double>() == Approx(99));
  CHECK(ups[1].at("body").at("balance_after").to_number<double>() == Approx(98));
  CHECK(ex.at("resp").at("body").at("balance_after").to_number<double>() == Approx(99));
  CHECK(ex.at("outcome") == "ok");
}

TEST_CASE("e2e mutate: the backend sees ×10 - the record keeps what the client sent", "[proxy][faults][mutate]") {
  rig r;
  r.create("mut-1");
  r.set_fault("x10", R"({"route":"credits","match":{"method":"POST","path":"/api/credits/consume"},"action":{"mutate":{"path":"amount","multiply":10}}})");
  net::client c(r.px.route_url);
  auto res = c.post("/api/credits/consume", R"({"agent_id":"mut-1","amount":1.5,"reason":"ml"})");
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(r.balance("mut-1") == Approx(85));
  auto text = c.post("/api/credits/consume", "not json at all", {{"Content-Type", "text/plain"}});
  REQUIRE(text);
  auto ex = test::exchanges(r.px.stop_and_read());
  REQUIRE(ex.size() == 2);
  // the ×10 amount is a whole number: written 15, as every double that is an integer (docs/formats.md)
  CHECK(ex[0].at("faults") == json::parse(R"([{"kind":"mutate","rule":"x10","path":"amount","original":1.5,"value":15}])"));
  CHECK(ex[0].at("req").at("body").at("amount") == 1.5);
  CHECK(ex[1].at("faults") ==
        json::parse(R"([{"kind":"mutate","rule":"x10","path":"amount","applied":false,"why":"body is not JSON"}])"));
  CHECK(ex[1].at("req").at("body").at("bytes") == 15);
}

TEST_CASE("e2e drop_response: the backend applied it - the client got a 504", "[proxy][faults][drop_response]") {
  rig r;
  r.create("drop-1");
  r.set_fault("retry-injection", R"({"route":"credits","match":{"method":"POST"},"action":{"drop_response":{"status":504}}})");
  net::client c(r.px.route_url);
  auto res = c.post("/api/credits/consume", R"({"agent_id":"drop-1","amount":5,"reason":"lost"})",
                    {{"Idempotency-Key", "op-7"}, {"X-Stormgate-Op", "op-7"}});
  REQUIRE(res);
  CHECK(res->status == 504);
  CHECK(r.balance("drop-1") == Approx(95));
  auto ex = r.only_exchange();
  CHECK(ex.at("faults") == json::parse(R"([{"kind":"drop_response","rule":"retry-injection","status":504}])"));
  CHECK(ex.at("upstream").at(0).at("status") == 200);
  CHECK(ex.at("upstream").at(0).at("body").at("balance_after").to_number<double>() == Approx(95));
  CHECK(ex.at("resp").at("status") == 504);
  CHECK(ex.at("resp").at("body").at("detail") == "stormgate: response dropped (fault retry-injection)");
  CHECK(ex.at("outcome") == "fault_abort");
  CHECK(ex.at("req").at("headers").at("x-stormgate-op") == "op-7");
  CHECK(ex.at("req").at("headers").at("idempotency-key") == "op-7");
}

TEST_CASE("e2e drop_response reset: the client's connection is reset after the upstream answered",
          "[proxy][faults][drop_response]") {
  rig r;
  r.create("drop-2");
  r.set_fault("cut", R"({"route":"credits","action":{"drop_response":{"mode":"reset"}}})");
  test::raw_conn c(r.px.route_url);
  std::string body = R"({"agent_id":"drop-2","amount":3,"reason":"lost"})";
  c.send("POST /api/credits/consume HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body);
  CHECK(c.read_all().empty());
  CHECK(r.balance("drop-2") == Approx(97));
  auto ex = r.only_exchange();
  CHECK(ex.at("faults") == json::parse(R"([{"kind":"drop_response","rule":"cut","mode":"reset"}])"));
  CHECK(ex.at("upstream").at(0).at("status") == 200);
  CHECK_FALSE(ex.as_object().contains("resp"));
  CHECK(ex.at("outcome") == "fault_abort");
}

TEST_CASE("e2e: faults from the config file apply from the start and are logged as control records",
          "[proxy][faults]") {
  rig r(R"([[faults]]
name = "down"
route = "credits"
action = { blackout = { status = 500 } }
)");
  net::client c(r.px.route_url);
  auto res = c.get("/api/credits/balance/a1");
  REQUIRE(res);
  CHECK(res->status == 500);
  auto recs = r.px.stop_and_read();
  REQUIRE(recs.size() >= 4);
  CHECK(recs[0].at("kind") == "run");
  CHECK(recs[0].at("action") == "start");
  CHECK(recs[1].at("kind") == "control");
  CHECK(recs[1].at("action") == "set");
  CHECK(recs[1].at("fault").at("name") == "down");
  CHECK(recs.back().at("kind") == "run");
  CHECK(recs.back().at("action") == "stop");
  CHECK(recs.back().at("exchanges") == 1);
  CHECK(recs.back().at("dropped") == 0);
}
