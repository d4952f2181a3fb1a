// The admin API (SPEC §7) and `stormgate faults`, against a running proxy.
#include "tests/proxy/harness.hpp"
#include "tests/support/catch.hpp"

#include <algorithm>
#include <string>
#include <vector>

using namespace stormgate;
using namespace std::chrono_literals;
namespace json = boost::json;

TEST_CASE("admin: faults are set - patched - listed - cleared and reset - bad input gets a 400 naming the field",
          "[proxy][admin]") {
  test::upstreams up;
  up.start_karma();
  test::proxy_under_test px;
  px.start({{"karma", up.karma_url}});
  auto put = px.admin("PUT", "/faults/slow", R"({"route":"karma","action":{"delay":{"ms":10}},"probability":0.5})");
  REQUIRE(put);
  CHECK(put->status == 201);
  auto again = px.admin("PUT", "/faults/slow", R"({"route":"karma","action":{"delay":{"ms":20}}})");
  REQUIRE(again);
  CHECK(again->status == 200);
  auto patch = px.admin("PATCH", "/faults/slow", R"({"probability":0.25})");
  REQUIRE(patch);
  CHECK(patch->status == 200);
  auto list = px.admin("GET", "/faults");
  REQUIRE(list);
  auto faults = json::parse(list->body).as_array();
  REQUIRE(faults.size() == 1);
  CHECK(faults[0].at("probability") == 0.25);
  CHECK(faults[0].at("action") == json::parse(R"({"delay":{"ms":20,"jitter_ms":0}})"));

  struct bad {
    char const* method;
    char const* path;
    char const* body;
    unsigned status;
    char const* field;
  };
  bad rows[] = {
      {"PUT", "/faults/x", R"({"route":"karma","action":{"delay":{"ms":-5}}})", 400, "action.delay.ms"},
      {"PUT", "/faults/x", R"({"route":"nowhere","action":{"delay":{"ms":5}}})", 400, "route"},
      {"PUT", "/faults/x", R"({"name":"y","route":"karma","action":{"delay":{"ms":5}}})", 400, "name"},
      {"PUT", "/faults/x", R"({"route":"karma","action":{"delay":{"ms":5}},"probability":2})", 400, "probability"},
      {"PUT", "/faults/x", R"({not json)", 400, ""},
      {"PATCH", "/faults/nope", R"({"probability":0.1})", 404, ""},
      {"DELETE", "/faults/nope", "", 404, ""},
      {"GET", "/nothing", "", 404, ""},
      {"POST", "/faults", "", 405, ""},
  };
  for (auto const& b : rows) {
    INFO(b.method << " " << b.path << " " << b.body);
    auto r = px.admin(b.method, b.path, b.body);
    REQUIRE(r);
    CHECK(r->status == b.status);
    auto j = json::parse(r->body);
    CHECK(j.at("error").is_string());
    if (*b.field) CHECK(j.at("field") == b.field);
  }
  auto routes = px.admin("GET", "/routes");
  REQUIRE(routes);
  auto rt = json::parse(routes->body).as_array();
  REQUIRE(rt.size() == 1);
  CHECK(rt[0].at("name") == "karma");
  CHECK(rt[0].at("upstream") == json::value(up.karma_url));
  auto health = px.admin("GET", "/health");
  REQUIRE(health);
  CHECK(health->status == 200);

  net::client c(px.route_url);
  for (int i = 0; i < 20; ++i) REQUIRE(c.post("/score", R"({"agent_id":"a","amount":1})", {{"X-Stormgate-Op", "op-" + std::to_string(i)}}));
  auto metrics = px.admin("GET", "/metrics");
  REQUIRE(metrics);
  CHECK(metrics->header("content-type").starts_with("text/plain"));
  CHECK_THAT(metrics->body, Catch::Contains("stormgate_requests_total{route=\"karma\",status=\"200\"} 20"));
  CHECK_THAT(metrics->body, Catch::Contains("stormgate_upstream_latency_seconds_bucket{route=\"karma\",le=\"+Inf\"} 20"));
  CHECK_THAT(metrics->body, Catch::Contains("stormgate_faults_injected_total{kind=\"delay\",name=\"slow\"}"));
  CHECK_THAT(metrics->body, Catch::Contains("stormgate_active_faults 0"));
  CHECK_THAT(metrics->body, Catch::Contains("stormgate_traffic_log_dropped_total 0"));
  {  // the latency buckets: one snapshot, cumulative, every attempt within 10 s
    std::vector<std::uint64_t> cum;
    std::string const prefix = "stormgate_upstream_latency_seconds_bucket{route=\"karma\",le=\"";
    for (std::size_t at = metrics->body.find(prefix); at != std::string::npos; at = metrics->body.find(prefix, at + 1)) {
      auto sp = metrics->body.find("} ", at);
      cum.push_back(std::stoull(metrics->body.substr(sp + 2, metrics->body.find('\n', sp) - sp - 2)));
    }
    REQUIRE(cum.size() == 15);  // 14 edges and +Inf
    CHECK(std::is_sorted(cum.begin(), cum.end()));
    CHECK(cum[13] == 20);  // le="10"
    CHECK_THAT(metrics->body, Catch::Contains("stormgate_upstream_latency_seconds_count{route=\"karma\"} 20"));
  }
  auto stats = px.admin("GET", "/stats");
  REQUIRE(stats);
  auto karma = json::parse(stats->body).at("routes").at("karma").as_object();
  CHECK(karma.at("requests") == 20);
  CHECK(karma.at("upstream_attempts") == 20);
  auto const& lat = karma.at("upstream_latency_us").as_object();
  auto p50 = lat.at("p50").to_number<double>(), p99 = lat.at("p99").to_number<double>(),
       max = lat.at("max").to_number<double>(), mean = karma.at("upstream_latency_mean_us").to_number<double>();
  CHECK(p50 > 0);
  CHECK(p50 <= p99);
  CHECK(p99 <= max);
  CHECK(mean <= max);
  CHECK(max < 10e6);

  auto del = px.admin("DELETE", "/faults/slow");
  REQUIRE(del);
  CHECK(del->status == 200);
  REQUIRE(px.admin("PUT", "/faults/a", R"({"route":"karma","action":{"blackout":{}}})"));
  REQUIRE(px.admin("PUT", "/faults/b", R"({"route":"karma","action":{"blackout":{}}})"));
  auto reset = px.admin("POST", "/faults/reset");
  REQUIRE(reset);
  CHECK(json::parse(reset->body).at("cleared") == json::parse(R"(["a","b"])"));

  std::vector<json::value> controls;
  for (auto const& r : px.stop_and_read())
    if (r.at("kind") == "control") controls.push_back(r);
  REQUIRE(controls.size() == 7);  // set, set, set (patch), clear, set, set, reset
  CHECK(controls[0].at("action") == "set");
  CHECK(controls[2].at("fault").at("probability") == 0.25);
  CHECK(controls[3].at("action") == "clear");
  CHECK(controls[3].at("fault") == "slow");
  CHECK(controls[6].at("action") == "reset");
  CHECK(controls[6].at("cleared") == json::parse(R"(["a","b"])"));
  CHECK_FALSE(controls[6].as_object().contains("fault"));
}

TEST_CASE("admin: a configured token is required (401 without it)", "[proxy][admin]") {
  test::upstreams up;
  up.start_karma();
  test::proxy_under_test px;
  px.start({{"karma", up.karma_url}}, "", {}, {{"STORMGATE_ADMIN_TOKEN", "s3cret"}});
  auto none = px.admin("GET", "/faults");
  REQUIRE(none);
  CHECK(none->status == 401);
  auto wrong = px.admin("GET", "/faults", "", "nope");
  REQUIRE(wrong);
  CHECK(wrong->status == 401);
  auto right = px.admin("GET", "/faults", "", "s3cret");
  REQUIRE(right);
  CHECK(right->status == 200);
}

TEST_CASE("faults CLI: set from TOML and JSON - list - clear - reset - exit 64 on a bad file - 69 when unreachable",
          "[proxy][admin][cli]") {
  test::upstreams up;
  up.start_karma();
  test::proxy_under_test px;
  px.start({{"karma", up.karma_url}});
  test::temp_dir dir;
  {
    std::ofstream(dir.file("one.toml")) << "name = \"down\"\nroute = \"karma\"\naction = { blackout = { status = 503 } }\n";
    std::ofstream(dir.file("list.json")) << R"([{"name":"a","route":"karma","action":{"delay":{"ms":1}}},
      {"name":"b","route":"karma","action":{"duplicate":{"copies":2}}}])";
    std::ofstream(dir.file("bad.toml")) << "[[faults]]\nname = \"x\"\nroute = \"karma\"\n\n[faults.action.delay]\nms = -3\n";
    std::ofstream(dir.file("bad.json")) << "{\n  \"name\": \"x\",\n  \"route\": \n}\n";
  }
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"faults", "--admin-url", px.admin_url});
    test::process p(args);
    auto rc = p.wait_exit(10s);
    REQUIRE(rc);
    return std::pair{*rc, p.stdout_text() + p.stderr_text()};
  };
  CHECK(run({"set", dir.file("one.toml")}).first == 0);
  CHECK(run({"set", dir.file("list.json")}).first == 0);
  auto [rc_list, listed] = run({"list"});
  CHECK(rc_list == 0);
  CHECK_THAT(listed, Catch::Contains("\"down\"") && Catch::Contains("\"a\"") && Catch::Contains("\"b\""));
  CHECK(run({"clear", "a"}).first == 0);
  CHECK(run({"clear", "a"}).first == 64);  // 404
  auto [rc_bad, bad_text] = run({"set", dir.file("bad.toml")});
  CHECK(rc_bad == 64);
  CHECK_THAT(bad_text, Catch::Contains("bad.toml:6") && Catch::Contains("faults.0.action.delay.ms"));
  auto [rc_badj, badj_text] = run({"set", dir.file("bad.json")});
  CHECK(rc_badj == 64);
  CHECK_THAT(badj_text, Catch::Contains("bad.json:4"));
  CHECK(run({"reset"}).first == 0);
  auto list = px.admin("GET", "/faults");
  REQUIRE(list);
  CHECK(json::parse(list->body).as_array().empty());
  test::process unreachable({"faults", "--admin-url", "http://127.0.0.1:1", "list"});
  CHECK(unreachable.wait_exit(10s) == 69);
}
