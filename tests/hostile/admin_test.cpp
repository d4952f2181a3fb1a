// The admin API under hostile use: a token on every route, loopback unless told otherwise, raw
// garbage and oversized requests, bad fault bodies answered 400 naming the field, and a flood of
// set/clear while 100 client connections run, losing no request and no record.
#include "tests/hostile/hostile.hpp"
#include "tests/support/catch.hpp"

#include "proxy/proxy.hpp"

#include <set>

using namespace stormgate;
using namespace stormgate::test::hostile;
namespace json = boost::json;

TEST_CASE("hostile admin: with a token every route is 401 without it - the right token passes", "[hostile][admin]") {
  raw_upstream up(upstream_mode::answer);
  test::proxy_under_test px;
  px.start({{"credits", up.url()}}, "", {}, {{"STORMGATE_ADMIN_TOKEN", "s3cret"}});
  struct call {
    char const* method;
    char const* path;
    char const* body;
  };
  std::vector<call> calls{
      {"GET", "/health", ""},          {"GET", "/faults", ""},
      {"POST", "/faults/reset", ""},   {"PUT", "/faults/f", R"({"route":"credits","action":{"delay":{"ms":1}}})"},
      {"PATCH", "/faults/f", R"({"probability":0.5})"}, {"DELETE", "/faults/f", ""},
      {"GET", "/routes", ""},          {"GET", "/stats", ""},
      {"GET", "/metrics", ""},         {"GET", "/no-such-endpoint", ""},
  };
  for (auto const& c : calls) {
    INFO(c.method << " " << c.path);
    for (std::string token : {"", "wrong", "s3cret2", "S3CRET"}) {
      auto r = px.admin(c.method, c.path, c.body, token);
      REQUIRE(r);
      CHECK(r->status == 401);
    }
    test::raw_conn raw(px.admin_url);  // other schemes than Bearer
    raw.send(std::string(c.method) + " " + c.path + " HTTP/1.1\r\nHost: x\r\nAuthorization: Basic czNjcmV0\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    CHECK(test::status_of(raw.read_all()) == 401);
  }
  measured("admin: 10 routes x 5 missing or wrong credentials", "401 each", 0);
  CHECK(px.admin("GET", "/faults", "", "s3cret")->status == 200);
  CHECK(px.admin("PUT", "/faults/f", R"({"route":"credits","action":{"delay":{"ms":1}}})", "s3cret")->status == 201);
  CHECK(px.admin("DELETE", "/faults/f", "", "s3cret")->status == 200);
  REQUIRE(px.proc->stop(15s) == 0);
  auto records = whole_records(px.log_path);
  std::size_t controls = 0;
  for (auto const& r : records) controls += r.at("kind") == "control";
  CHECK(controls == 2);  // the refused calls changed nothing
}

TEST_CASE("hostile admin: loopback by default - a bare port binds loopback", "[hostile][admin]") {
  CHECK(proxy::proxy_config{}.admin_listen.starts_with("127.0.0.1:"));
  raw_upstream up(upstream_mode::answer);
  test::temp_dir dir;
  {
    std::ofstream cfg(dir.file("p.toml"));
    cfg << "[routes.credits]\nlisten = \"127.0.0.1:0\"\nupstream = \"" << up.url() << "\"\n";
  }
  auto cfg = proxy::load_config(dir.file("p.toml"));
  REQUIRE(cfg);
  CHECK(cfg->admin_listen.starts_with("127.0.0.1:"));
  test::proxy_under_test px;
  px.start({{"credits", up.url()}}, "", {"--admin", ":0"});
  CHECK(px.admin_url.starts_with("http://127.0.0.1:"));
  measured("admin: default listen / --admin :0", proxy::proxy_config{}.admin_listen + " / " + px.admin_url, 0);
  REQUIRE(px.proc->stop(15s) == 0);
}

TEST_CASE("hostile admin: raw garbage - oversized heads and bodies - bad fault bodies get 4xx naming the field",
          "[hostile][admin]") {
  raw_upstream up(upstream_mode::answer);
  test::proxy_under_test px;
  px.start({{"credits", up.url()}}, "[timeouts]\nidle_ms = 1000\n");
  std::vector<raw_case> raws{
      {"garbage request line", "HELLO\r\n\r\n", 400},
      {"HTTP/0.9", "GET /faults\r\n\r\n", 400},
      {"Content-Length and Transfer-Encoding", "PUT /faults/f HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"head over 64 KiB", "GET /faults HTTP/1.1\r\nX-Big: " + std::string(70 * 1024, 'a') + "\r\n\r\n", 431},
      {"body over 1 MiB", "PUT /faults/f HTTP/1.1\r\nContent-Length: 1048577\r\n\r\n", 413},
      {"unknown method", "BREW /faults HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 405},
  };
  expect_answers(px.admin_url, "admin: ", raws, false);
  {  // slowloris on the admin port: closed at idle_ms (Beast's stream closes it), never held
    test::raw_conn c(px.admin_url, 3000);
    auto t0 = clock::now();
    c.send("GET /faults HTTP/1.1\r\n");
    for (int i = 0; i < 30 && !c.eof(); ++i) {
      if (!c.send("X")) break;
      std::this_thread::sleep_for(100ms);
    }
    auto got = c.read_all();
    measured("admin: slowloris (idle_ms 1000)", got.empty() ? "closed without an answer" : got.substr(0, 12), ms_since(t0));
    CHECK(ms_since(t0) < 3500);
  }
  struct body_case {
    char const* body;
    char const* field;
  };
  std::vector<body_case> bodies{
      {R"({"route":"credits"})", "action"},
      {R"({"action":{"delay":{"ms":1}}})", "route"},
      {R"({"route":"nope","action":{"delay":{"ms":1}}})", "route"},
      {R"({"route":"credits","action":{"delay":{"ms":-5}}})", "action.delay.ms"},
      {R"({"route":"credits","action":{"teleport":{}}})", "action"},
      {R"({"route":"credits","action":{"delay":{"ms":1}},"probability":2})", "probability"},
      {R"({"route":"credits","action":{"delay":{"ms":1}},"probability":"half"})", "probability"},
      {R"({"route":"credits","action":{"mutate":{"path":"amount"}}})", "action.mutate"},
      {R"({"route":"credits","action":{"delay":{"ms":1}},"match":{"json":{"path":5}}})", "match.json.path"},
      {R"({"route":"credits","action":{"delay":{"ms":1}},"window":{"after_s":-1}})", "window.after_s"},
      {R"({"name":"other","route":"credits","action":{"delay":{"ms":1}}})", "name"},
  };
  for (auto const& bc : bodies) {
    INFO(bc.body);
    auto r = px.admin("PUT", "/faults/f", bc.body);
    REQUIRE(r);
    CHECK(r->status == 400);
    auto j = json::parse(r->body);
    REQUIRE(j.as_object().contains("field"));
    CHECK(std::string(j.at("field").as_string()).starts_with(bc.field));
    measured(std::string("admin: PUT ") + bc.body, std::to_string(r->status) + " field " + std::string(j.at("field").as_string()), 0);
  }
  for (std::string bad : std::vector<std::string>{"{", "[1,2]", std::string("{\"route\":\"cr\xff\"}"), std::string(100000, '[') + std::string(100000, ']')}) {
    auto r = px.admin("PUT", "/faults/f", bad);
    REQUIRE(r);
    CHECK(r->status == 400);
  }
  CHECK(px.admin("GET", "/health")->status == 200);
  CHECK(normal_status(px.route_url) == 200);
  REQUIRE(px.proc->stop(15s) == 0);
  for (auto const& r : whole_records(px.log_path)) CHECK(r.at("kind") != "control");  // nothing was set
}

TEST_CASE("hostile admin: a set/clear flood while 100 connections run loses no request and no record",
          "[hostile][admin][heavy]") {
  raw_upstream up(upstream_mode::answer);
  test::proxy_under_test px;
  px.start({{"credits", up.url()}});
  constexpr int conns = 100, per_conn = 100;
  std::atomic<int> answered{0}, failed{0};
  std::atomic<bool> clients_done{false};
  std::atomic<int> admin_ok{0}, admin_bad{0};
  auto t0 = clock::now();
  std::thread flood([&] {
    // set and clear faults that hit every request but change nothing a client sees (a 0 ms delay,
    // a mutate of a field no request has), until the clients are done; bounded at 2 000 calls
    net::client admin(px.admin_url);
    for (int i = 0; i < 2000 && !clients_done; ++i) {
      std::string name = "f" + std::to_string(i % 4);
      auto r = i % 2 == 0
                   ? admin.call("PUT", "/faults/" + name,
                                i % 4 == 0 ? R"({"route":"credits","action":{"delay":{"ms":1}}})"
                                           : R"({"route":"credits","action":{"mutate":{"path":"nope","multiply":2}}})")
                   : admin.call("DELETE", "/faults/f" + std::to_string((i - 1) % 4));
      (r && (r->status == 200 || r->status == 201) ? admin_ok : admin_bad)++;
    }
  });
  std::vector<std::thread> clients;
  for (int c = 0; c < conns; ++c)
    clients.emplace_back([&, c] {
      net::client cl(px.route_url);
      for (int i = 0; i < per_conn; ++i) {
        auto r = cl.post("/api/credits/consume", R"({"agent_id":"a)" + std::to_string(c) + R"(","amount":1})",
                         {{"X-Stormgate-Op", "op-" + std::to_string(c) + "-" + std::to_string(i)}});
        (r && r->status == 200 ? answered : failed)++;
      }
    });
  for (auto& t : clients) t.join();
  clients_done = true;
  flood.join();
  auto ms = ms_since(t0);
  measured("admin flood: " + std::to_string(admin_ok.load()) + " set/clear calls while 100 connections x 100 requests",
           std::to_string(answered.load()) + " answered, " + std::to_string(failed.load()) + " failed", ms);
  CHECK(answered == conns * per_conn);
  CHECK(failed == 0);
  CHECK(admin_bad == 0);
  CHECK(admin_ok > 10);
  REQUIRE(px.proc->stop(15s) == 0);
  auto records = whole_records(px.log_path);
  std::size_t exchanges = 0, controls = 0, ok = 0;
  json::value stop;
  std::set<std::string> ops;
  for (auto const& r : records) {
    if (r.at("kind") == "exchange") {
      ++exchanges;
      ok += r.at("outcome") == "ok";
      ops.insert(std::string(r.at("req").at("headers").at("x-stormgate-op").as_string()));
    }
    if (r.at("kind") == "control") ++controls;
    if (r.at("kind") == "run" && r.at("action") == "stop") stop = r;
  }
  CHECK(exchanges == conns * per_conn);
  CHECK(ok == conns * per_conn);
  CHECK(ops.size() == conns * per_conn);  // each request once, none twice
  CHECK(controls == static_cast<std::size_t>(admin_ok.load()));
  REQUIRE(stop.is_object());
  CHECK(stop.at("dropped") == 0);
  CHECK(up.requests().size() == conns * per_conn);
}
