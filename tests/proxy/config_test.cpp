// The proxy's config file, route flags and fault files: values, and errors naming file:line and key.
#include "proxy/detail/record.hpp"
#include "proxy/detail/traffic_log.hpp"
#include "proxy/proxy.hpp"
#include "tests/support/catch.hpp"
#include "tests/support/process.hpp"

#include <boost/json.hpp>
#include <fstream>

using namespace stormgate;
namespace json = boost::json;

TEST_CASE("config: the shipped example loads", "[proxy][config]") {
  auto cfg = proxy::load_config(test::source_dir() + "/config/proxy.example.toml");
  REQUIRE(cfg);
  CHECK(cfg->seed == 42);
  REQUIRE(cfg->routes.size() == 2);
  CHECK(cfg->max_active_faults == 100);
  CHECK(cfg->log_rotate_bytes == 268435456);
  CHECK(cfg->request_timeout == std::chrono::milliseconds(10000));
  CHECK(cfg->faults.size() == 4);
  CHECK(proxy::validate(*cfg));
}

TEST_CASE("config: errors name file:line:col and the key", "[proxy][config]") {
  test::temp_dir dir;
  struct row {
    char const* toml;
    char const* where_has;
  };
  row rows[] = {
      {"seed = \"x\"\n", "proxy.toml:1:8 seed"},
      {"[routes.credits]\nlisten = \"127.0.0.1:0\"\nupstream = \"https://x\"\n", "proxy.toml:3:12 routes.credits.upstream"},
      {"[routes.credits]\nlisten = \"nowhere\"\nupstream = \"http://127.0.0.1:1\"\n", "routes.credits.listen"},
      {"[timeouts]\nidle = 5\n", "proxy.toml:2:8 timeouts.idle"},
      {"[[faults]]\nname = \"f\"\nroute = \"credits\"\nprobability = 7\naction = { delay = { ms = 1 } }\n",
       "proxy.toml:4:15 faults.0.probability"},
      {"[[faults]]\nname = \"f\"\nroute = \"credits\"\naction = { delay = { ms = -1 } }\n", "faults.0.action.delay.ms"},
  };
  for (auto const& r : rows) {
    INFO(r.toml);
    std::ofstream(dir.file("proxy.toml")) << r.toml;
    auto cfg = proxy::load_config(dir.file("proxy.toml"));
    REQUIRE_FALSE(cfg);
    CHECK_THAT(cfg.error().where, Catch::Contains(r.where_has));
    CHECK(cfg.error().code == 64);
  }
}

TEST_CASE("config: --route NAME=LISTEN->UPSTREAM", "[proxy][config]") {
  auto r = proxy::parse_route_flag("credits=127.0.0.1:8080->http://127.0.0.1:8000");
  REQUIRE(r);
  CHECK(r->name == "credits");
  CHECK(r->listen == "127.0.0.1:8080");
  CHECK(r->upstream == "http://127.0.0.1:8000");
  CHECK_FALSE(proxy::parse_route_flag("credits:8080"));
  proxy::proxy_config cfg;
  cfg.routes.push_back(*r);
  cfg.faults.push_back(faults::parse_fault(json::parse(R"({"name":"f","route":"karma","action":{"blackout":{}}})")).value());
  auto v = proxy::validate(cfg);
  REQUIRE_FALSE(v);
  CHECK_THAT(v.error().what, Catch::Contains("no route named 'karma'"));
}

TEST_CASE("traffic log: an exchange record has the fields of docs/formats.md", "[proxy][log]") {
  proxy::detail::exchange_record x;
  auto line = [&x] {
    std::string out;
    proxy::detail::format_exchange(out, x, 64);
    return json::parse(out);
  };
  x.id = "credits-17";
  x.route = "credits";
  x.conn = 4;
  x.method = "POST";
  x.target = "/api/credits/consume";
  x.req_headers = {{"x-stormgate-op", "credit_storm-000017"}};
  x.req_body = R"({"agent_id":"storm-03","amount":12.5})";
  x.faults.push_back(json::object{{"kind", "drop_response"}, {"rule", "retry-injection"}, {"status", 504}});
  x.upstream.push_back({1, 200, 2100, "", std::string_view(R"({"balance_after":987.5})")});
  x.has_resp = true;
  x.resp_status = 504;
  x.resp_body = R"j({"detail":"stormgate: response dropped (fault retry-injection)"})j";
  x.resp_content_type = "application/json";
  x.latency_us = 2400;
  x.outcome = "fault_abort";
  auto j = line();
  CHECK(j.at("v") == 1);
  CHECK(j.at("kind") == "exchange");
  CHECK(j.at("id") == "credits-17");
  CHECK(j.at("conn") == 4);
  CHECK(j.at("ts").as_string().ends_with("Z"));
  CHECK(j.at("req") == json::parse(R"({"headers":{"x-stormgate-op":"credit_storm-000017"},"body":{"agent_id":"storm-03","amount":12.5}})"));
  CHECK(j.at("upstream") == json::parse(R"([{"n":1,"status":200,"latency_us":2100,"body":{"balance_after":987.5}}])"));
  CHECK(j.at("resp").at("status") == 504);
  CHECK(j.at("resp").at("headers") == json::parse(R"({"content-type":"application/json"})"));
  CHECK(j.at("outcome") == "fault_abort");
  SECTION("a body over the limit or not JSON is {bytes, sha256}") {
    std::string long_body(100, 'a');
    x.req_body = long_body;
    auto k = line();
    CHECK(k.at("req").at("body").at("bytes") == 100);
    CHECK(k.at("req").at("body").at("sha256").as_string().size() == 64);
    x.req_body = "abc";
    CHECK(line().at("req").at("body").at("sha256") ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  }
}

TEST_CASE("traffic log: rotation by size keeps every record - oldest file first", "[proxy][log]") {
  test::temp_dir dir;
  auto path = dir.file("traffic.jsonl");
  {
    proxy::detail::traffic_log log(path, 2000, 1024);
    std::string err;
    REQUIRE(log.open(err));
    for (int i = 0; i < 100; ++i) log.push(json::object{{"v", 1}, {"kind", "control"}, {"n", i}, {"pad", std::string(50, 'x')}});
    log.stop();
    CHECK(log.written() == 100);
  }
  int n = 0, files = 0;
  auto read = [&](std::string const& f) {
    std::ifstream in(f);
    std::string line;
    while (std::getline(in, line)) CHECK(json::parse(line).at("n") == n++);
    ++files;
  };
  for (int i = 1; std::filesystem::exists(dir.file("traffic." + std::to_string(i) + ".jsonl")); ++i)
    read(dir.file("traffic." + std::to_string(i) + ".jsonl"));
  read(path);
  CHECK(n == 100);
  CHECK(files > 3);
}
