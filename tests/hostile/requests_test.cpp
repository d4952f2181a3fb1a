// Hostile request bytes on the proxy's data port: malformed lines, methods, versions, every
// Content-Length / Transfer-Encoding smuggling shape, overflowing chunk sizes, oversized lines,
// headers and bodies; then hostile JSON bodies through the proxy to the reference backend. Each
// case gets its documented answer (docs/hardening.md), what reaches the upstream is checked, the
// proxy answers a normal request after every case, and the traffic log is whole at the end.
#include "tests/hostile/hostile.hpp"
#include "tests/support/catch.hpp"

using namespace stormgate;
using namespace stormgate::test::hostile;
namespace json = boost::json;

namespace {

struct shape {
  char const* name;
  std::string bytes;
  unsigned status;   // what the client must get
  bool forwarded;    // whether one request reaches the upstream
  bool closed = true;
};

std::string post(std::string const& fields, std::string const& body) {
  return "POST /api/credits/consume HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + fields + "\r\n" + body;
}

std::string many_headers(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += "X-H" + std::to_string(i) + ": v\r\n";
  return s;
}

std::vector<shape> shapes() {
  std::string const get = "GET /api/credits/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
  return {
      {"request line without target and version", "GET\r\n\r\n", 400, false},
      {"request line with two spaces", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400, false},
      {"TLS ClientHello on the plain port", std::string("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n", 15), 400, false},
      {"method with a non-token byte", "G@T / HTTP/1.1\r\nHost: x\r\n\r\n", 400, false},
      {"unknown method token (forwarded as nginx does)", "BREW /api/credits/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 200, true},
      {"HTTP/0.9 simple request", "GET /\r\n", 400, false},
      {"HTTP/0.9 request then silence", "GET /api/credits/health\r\n\r\n", 400, false},
      {"version HTTP/1.x", "GET / HTTP/1.x\r\nHost: x\r\n\r\n", 400, false},
      {"bare LF line ends", "GET / HTTP/1.1\nHost: x\n\n", 400, false},
      {"space before the colon (Transfer-Encoding : chunked)", post("Transfer-Encoding : chunked\r\n", "0\r\n\r\n"), 400, false},
      {"NUL byte in a header value", std::string("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n", 37), 400, false},
      {"Content-Length and Transfer-Encoding (CL.TE)", post("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n"), 400, false},
      {"Transfer-Encoding then Content-Length (TE.CL)", post("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", "0\r\n\r\n"), 400, false},
      {"Transfer-Encoding: chunked twice (two fields)", post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"), 400, false},
      {"Transfer-Encoding: chunked - chunked (one field)", post("Transfer-Encoding: chunked, chunked\r\n", "0\r\n\r\n0\r\n\r\n"), 501, false},
      {"Transfer-Encoding: xchunked", post("Transfer-Encoding: xchunked\r\n", "5\r\n{\"a\":\r\n0\r\n\r\n"), 501, false},
      {"Transfer-Encoding: gzip - chunked", post("Transfer-Encoding: gzip, chunked\r\n", "0\r\n\r\n"), 501, false},
      {"Transfer-Encoding: gzip then a chunked field", post("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"), 501, false},
      {"Transfer-Encoding in an HTTP/1.0 request", "POST / HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, false},
      {"Transfer-Encoding: chunked (valid - forwarded with a length)", post("Transfer-Encoding: chunked\r\n", "3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n"), 200, true},
      {"TE: chunked (hop-by-hop request field - dropped)", get + "TE: chunked\r\n\r\n", 200, true},
      {"Content-Length twice - same value", post("Content-Length: 7\r\nContent-Length: 7\r\n", "{\"a\":1}"), 200, true},
      {"Content-Length twice - differing", post("Content-Length: 7\r\nContent-Length: 8\r\n", "{\"a\":1}"), 400, false},
      {"Content-Length: 7 - 7 (comma list of one value)", post("Content-Length: 7, 7\r\n", "{\"a\":1}"), 200, true},
      {"Content-Length: 7 - 8 (comma list)", post("Content-Length: 7, 8\r\n", "{\"a\":1}"), 400, false},
      {"negative Content-Length", post("Content-Length: -1\r\n", "{}"), 400, false},
      {"Content-Length with a sign (+7)", post("Content-Length: +7\r\n", "{\"a\":1}"), 400, false},
      {"Content-Length not a number", post("Content-Length: 7abc\r\n", "{\"a\":1}"), 400, false},
      {"Content-Length that overflows 64 bits", post("Content-Length: 99999999999999999999999\r\n", "{}"), 400, false},
      {"Content-Length over the body limit (no body sent)", post("Content-Length: 65537\r\n", ""), 413, false},
      {"body over the limit", post("Content-Length: 70000\r\n", std::string(70000, 'x')), 413, false},
      {"chunk size that overflows 64 bits", post("Transfer-Encoding: chunked\r\n", "FFFFFFFFFFFFFFFFFFFFFF\r\nx\r\n0\r\n\r\n"), 400, false},
      {"chunk size 2^64-1", post("Transfer-Encoding: chunked\r\n", "FFFFFFFFFFFFFFFF\r\nx\r\n0\r\n\r\n"), 413, false},
      {"chunk size not hex", post("Transfer-Encoding: chunked\r\n", "zz\r\nx\r\n0\r\n\r\n"), 400, false},
      {"chunked body over the limit", post("Transfer-Encoding: chunked\r\n", "9C40\r\n" + std::string(40000, 'x') + "\r\n9C40\r\n" + std::string(40000, 'x') + "\r\n0\r\n\r\n"), 413, false},
      {"64 KiB header line", get + "X-Big: " + std::string(64 * 1024, 'a') + "\r\n\r\n", 431, false},
      {"64 KiB request target", "GET /" + std::string(64 * 1024, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n", 414, false},
      {"10 000 header fields", get + many_headers(10000) + "\r\n", 431, false},
  };
}

}  // namespace

TEST_CASE("hostile requests: each framing shape gets its answer - nothing smuggled reaches the upstream",
          "[hostile][requests]") {
  raw_upstream up(upstream_mode::answer);
  test::proxy_under_test px;
  px.start({{"credits", up.url()}},
           "[limits]\nheader_bytes = 8192\nbody_bytes = 65536\n[timeouts]\nrequest_ms = 1000\nidle_ms = 3000\n");
  auto rss0 = rss_kib(px.proc->pid());
  std::size_t expected_records = 0;
  for (auto const& s : shapes()) {
    INFO(s.name);
    auto before = up.requests().size();
    auto a = send_raw(px.route_url, s.bytes);
    measured(s.name, describe(a), a.ms);
    CHECK(a.status == s.status);
    CHECK(a.closed == s.closed);
    CHECK(count_answers(a.text) == 1);  // the part after a smuggled body is never answered as a request
    auto reached = up.requests();
    REQUIRE(reached.size() - before == (s.forwarded ? 1u : 0u));
    if (s.forwarded) {  // framing as the proxy writes it: one length, no Transfer-Encoding, no TE
      auto const& r = reached.back();
      CHECK(r.find("Transfer-Encoding") == std::string::npos);
      CHECK(r.find("\r\nTE:") == std::string::npos);
      auto first = r.find("Content-Length:");
      CHECK(r.find("Content-Length:", first + 1) == std::string::npos);
    }
    if (a.status != 0) ++expected_records;
    CHECK(normal_status(px.route_url) == 200);
    ++expected_records;
  }
  auto rss1 = rss_kib(px.proc->pid());
  measured("proxy RSS over the request shapes", std::to_string(rss0) + " KiB -> " + std::to_string(rss1) + " KiB", 0);
  CHECK(rss1 - rss0 < 64 * 1024);
  REQUIRE(px.proc->stop(15s) == 0);
  auto records = whole_records(px.log_path);
  auto ex = test::exchanges(records);
  CHECK(ex.size() == expected_records);
  std::size_t client_errors = 0;
  for (auto const& e : ex)
    if (e.at("outcome") == "client_error") {
      ++client_errors;
      CHECK(e.at("error").is_string());
      CHECK(e.at("resp").at("status").to_number<int>() >= 400);
    }
  std::size_t refused = 0;
  for (auto const& s : shapes()) refused += s.status >= 400 ? 1 : 0;
  CHECK(client_errors == refused);
}

TEST_CASE("hostile requests: pipelined requests are answered in order - a pipelined flood stays bounded",
          "[hostile][requests]") {
  raw_upstream up(upstream_mode::answer);
  test::proxy_under_test px;
  px.start({{"credits", up.url()}}, "[timeouts]\nrequest_ms = 1000\nidle_ms = 3000\n");
  std::string const one = "GET /api/credits/health HTTP/1.1\r\nHost: x\r\n\r\n";
  {
    std::string three = one + "POST /api/credits/consume HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n\r\n{\"a\":1}" + one;
    auto a = send_raw(px.route_url, three, 800);
    measured("3 pipelined requests in one write", std::to_string(count_answers(a.text)) + " answers", a.ms);
    CHECK(count_answers(a.text) == 3);
    CHECK(a.status == 200);
  }
  {  // 2 000 requests written before a byte is read: the proxy reads one at a time, answers all
    test::raw_conn c(px.route_url, 3000);
    std::string flood;
    for (int i = 0; i < 2000; ++i) flood += one;
    flood += "GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    auto t0 = clock::now();
    std::thread writer([&] { c.send(flood); });
    auto text = c.read_all(64 << 20);
    writer.join();
    measured("2 001 pipelined requests written before reading", std::to_string(count_answers(text)) + " answers, then closed", ms_since(t0));
    CHECK(count_answers(text) == 2001);
    CHECK(c.eof());
  }
  {  // a bad request in the middle: the ones before are answered, the 400 ends the connection
    auto a = send_raw(px.route_url, one + "BAD REQUEST\r\n\r\n" + one, 800);
    measured("pipelined good - malformed - good", std::to_string(count_answers(a.text)) + " answers (200, 400), closed", a.ms);
    CHECK(count_answers(a.text) == 2);
    CHECK(a.text.find("HTTP/1.1 400") != std::string::npos);
    CHECK(a.closed);
  }
  CHECK(normal_status(px.route_url) == 200);
  REQUIRE(px.proc->stop(15s) == 0);
  CHECK(test::exchanges(whole_records(px.log_path)).size() == 3 + 2001 + 2 + 1);
}

TEST_CASE("hostile bodies: non-UTF-8 - NUL - 1e400 - NaN - Infinity - -0 - deep nesting through the proxy to the backend",
          "[hostile][requests][json]") {
  test::upstreams be;
  be.start_backend();
  test::proxy_under_test px;
  // a mutate fault on every consume, so the proxy's own JSON path sees each body too
  px.start({{"credits", be.backend_url}},
           "[[faults]]\nname = \"x10\"\nroute = \"credits\"\nmatch = { method = \"POST\", path = \"/api/credits/consume\" }\n"
           "action = { mutate = { path = \"amount\", multiply = 10 } }\n");
  net::client direct(be.backend_url);
  REQUIRE(direct.post("/api/credits/agents", R"({"agent_id":"h1","skill_level":0.5})"));
  REQUIRE(direct.post("/api/credits/add", R"({"agent_id":"h1","amount":1000,"reason":"seed"})"));
  auto body = [](std::string const& amount) {
    return std::string(R"({"agent_id":"h1","amount":)") + amount + R"(,"reason":"r"})";
  };
  struct json_case {
    char const* name;
    std::string body;
    unsigned status;
  };
  std::string nested = std::string(100000, '[') + std::string(100000, ']');
  std::string deep_amount;
  for (int i = 0; i < 50000; ++i) deep_amount += "{\"a\":";
  deep_amount = body(deep_amount + "1" + std::string(50000, '}'));
  std::vector<json_case> cases{
      {"amount 1e400", body("1e400"), 422},
      {"amount -1e400", body("-1e400"), 422},
      {"amount NaN (bare)", body("NaN"), 422},
      {"amount Infinity (bare)", body("Infinity"), 422},
      {"amount \"NaN\" (string)", body("\"NaN\""), 422},
      {"amount \"Infinity\" (string)", body("\"Infinity\""), 422},
      {"amount -0", body("-0"), 422},
      {"amount 1e308 (x10 by the fault would overflow: the mutate is skipped, sent as is)", body("1e308"), 400},
      {"amount 1 (x10 by the fault: 10 applied)", body("1"), 200},
      {"invalid UTF-8 in a string", std::string(R"({"agent_id":"h)") + "\xff\xfe" + R"(","amount":1,"reason":"r"})", 422},
      {"raw NUL byte in a string", std::string(R"({"agent_id":"h1","amount":1,"reason":"a)") + std::string(1, '\0') + "b\"}", 422},
      {"escaped NUL in a string", std::string(R"({"agent_id":"h1","amount":1,"reason":"a\u0000b"})"), 200},
      {"100 000 nested arrays", nested, 422},
      {"50 000 nested objects as the amount", deep_amount, 422},
  };
  net::client c(px.route_url);
  for (auto const& jc : cases) {
    INFO(jc.name);
    auto t0 = clock::now();
    auto r = c.post("/api/credits/consume", jc.body);
    REQUIRE(r);
    measured(jc.name, std::to_string(r->status), ms_since(t0));
    CHECK(r->status == jc.status);
    CHECK(normal_status(px.route_url) == 200);
  }
  REQUIRE(px.proc->stop(15s) == 0);
  auto ex = test::exchanges(whole_records(px.log_path));
  CHECK(ex.size() == cases.size() * 2);
  for (auto const& e : ex) CHECK(e.at("outcome") == "ok");
}

TEST_CASE("hostile requests to the reference backend: each answered or closed - the backend goes on", "[hostile][backend]") {
  test::upstreams be;
  be.start_backend();
  std::string const get = "GET /api/credits/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
  std::vector<raw_case> cases{
      {"request line without target and version", "GET\r\n\r\n", 400},
      {"HTTP/0.9 simple request", "GET /\r\n\r\n", 400},
      {"Content-Length and Transfer-Encoding", post("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"), 400},
      {"Content-Length twice - differing", post("Content-Length: 7\r\nContent-Length: 8\r\n", "{\"a\":1}"), 400},
      {"negative Content-Length", post("Content-Length: -1\r\n", "{}"), 400},
      {"chunk size that overflows 64 bits", post("Transfer-Encoding: chunked\r\n", "FFFFFFFFFFFFFFFFFFFFFF\r\nx\r\n"), 400},
      {"Transfer-Encoding: xchunked", post("Transfer-Encoding: xchunked\r\n", "5\r\n{\"a\":\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n"), 501},
      {"Transfer-Encoding: chunked - chunked", post("Transfer-Encoding: chunked, chunked\r\n", "0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n"), 501},
      {"Transfer-Encoding in an HTTP/1.0 request", "POST / HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"body over 1 MiB", post("Content-Length: 1048577\r\n", ""), 413},
      {"64 KiB header line", get + "X-Big: " + std::string(64 * 1024, 'a') + "\r\n\r\n", 431},
      {"10 000 header fields", get + many_headers(10000) + "\r\n", 431},
      {"unknown method", "BREW /api/credits/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 405},
      {"amount 1e400", post("Content-Length: 44\r\n", R"({"agent_id":"a","amount":1e400,"reason":"r"})"), 422},
  };
  expect_answers(be.backend_url, "backend: ", cases, true);
}
