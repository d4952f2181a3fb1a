// The proxy's HTTP/1 layer (detail/http1.hpp) and the traffic log's line format (detail/record.hpp),
// without sockets: parse what a peer sends, check what goes on.
#include "proxy/detail/http1.hpp"
#include "proxy/detail/record.hpp"
#include "tests/support/catch.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/json.hpp>

using namespace stormgate;
using namespace stormgate::proxy::detail;
namespace json = boost::json;

namespace {

// Feeds `wire` to a fresh reader in pieces of `step` bytes, as a socket might deliver it.
template <bool isRequest>
boost::beast::error_code parse(http_message& m, std::string_view wire, std::size_t step = 1 << 20,
                               std::size_t body_limit = 1 << 20) {
  message_reader<isRequest> r(m);
  r.eager(true);
  r.body_limit(body_limit);
  std::string pending;
  boost::beast::error_code ec;
  for (std::size_t at = 0; at < wire.size() && !r.is_done();) {
    auto n = std::min(step, wire.size() - at);
    pending.append(wire.substr(at, n));
    at += n;
    for (int guard = 0; guard < 100 && !pending.empty() && !r.is_done(); ++guard) {
      auto used = r.put(boost::asio::buffer(pending), ec);
      pending.erase(0, used);
      if (ec == boost::beast::http::error::need_more) {
        ec = {};
        break;
      }
      if (ec) return ec;
      if (used == 0) break;
    }
  }
  if (!r.is_done()) return boost::beast::http::error::partial_message;
  return ec;
}

}  // namespace

TEST_CASE("http1: a request is parsed into reused buffers, in one piece or byte by byte", "[proxy][http1]") {
  std::string_view wire =
      "POST /api/credits/consume?x=1 HTTP/1.1\r\nHost: a\r\nIdempotency-Key: k-1\r\nContent-Length: 5\r\n"
      "X-Other: y\r\n\r\nhello";
  for (std::size_t step : {std::size_t(1), std::size_t(7), wire.size()}) {
    http_message m;
    REQUIRE_FALSE(parse<true>(m, wire, step));
    CHECK(m.method == http::verb::post);
    CHECK(m.method_text() == "POST");
    CHECK(m.target() == "/api/credits/consume?x=1");
    CHECK(m.version == 11);
    CHECK(m.find("idempotency-key") == "k-1");
    CHECK(m.find(http::field::content_length) == "5");
    CHECK(m.find("x-missing").empty());
    CHECK(m.body == "hello");
  }
  SECTION("a chunked body arrives decoded and is sent on with its length") {
    http_message m;
    REQUIRE_FALSE(parse<true>(m, "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n"
                                 "X-Stormgate-Request-Id: forged\r\nExpect: 100-continue\r\n\r\n"
                                 "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", 3));
    CHECK(m.body == "abcde");
    std::string head;
    write_upstream_head(head, m, "credits-9", m.body.size(), true);
    CHECK(head == "POST /x HTTP/1.1\r\nX-Stormgate-Request-Id: credits-9\r\nContent-Length: 5\r\n\r\n");
  }
  SECTION("a body over the limit is refused") {
    http_message m;
    CHECK(parse<true>(m, "POST /x HTTP/1.1\r\nContent-Length: 50\r\n\r\n", 1 << 20, 10) ==
          http::error::body_limit);
  }
}

TEST_CASE("http1: the upstream's answer as the client gets it", "[proxy][http1]") {
  http_message m;
  REQUIRE_FALSE(parse<false>(m, "HTTP/1.1 201 Created Here\r\nContent-Type: application/json\r\n"
                                "Transfer-Encoding: chunked\r\nConnection: keep-alive\r\nIdempotent-Replayed: true\r\n\r\n"
                                "2\r\n{}\r\n0\r\n\r\n", 5));
  CHECK(m.status == 201);
  CHECK(m.reason() == "Created Here");
  CHECK(m.body == "{}");
  std::string head;
  write_client_head(head, m, 11, true, false);
  CHECK(head == "HTTP/1.1 201 Created Here\r\nContent-Type: application/json\r\nIdempotent-Replayed: true\r\n"
                "Content-Length: 2\r\n\r\n");
  write_client_head(head, m, 11, false, false);
  CHECK(head.ends_with("Content-Length: 2\r\nConnection: close\r\n\r\n"));
  write_client_head(head, m, 10, true, false);
  CHECK(head.starts_with("HTTP/1.0 201 "));
  CHECK(head.ends_with("Connection: keep-alive\r\n\r\n"));

  http_message no_content;
  REQUIRE_FALSE(parse<false>(no_content, "HTTP/1.1 204 No Content\r\nServer: b\r\n\r\n"));
  write_client_head(head, no_content, 11, true, false);
  CHECK(head == "HTTP/1.1 204 No Content\r\nServer: b\r\n\r\n");

  std::string body;
  write_proxy_answer(head, body, 504, "stormgate: upstream \"timeout\"", 11, false);
  CHECK(json::parse(body) == json::parse(R"({"detail":"stormgate: upstream \"timeout\""})"));
  CHECK(head == "HTTP/1.1 504 Gateway Timeout\r\nContent-Type: application/json\r\nServer: stormgate\r\n"
                "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n");
}

TEST_CASE("traffic log line: bodies as sent, one line, any bytes", "[proxy][log]") {
  exchange_record x;
  x.id = "credits-1";
  x.route = "credits";
  x.method = "POST";
  x.target = "/t";
  x.req_headers = {{"x-correlation-id", "caf\xC3\xA9-\xFF"}};
  x.req_body = "{\n  \"amount\": 12.50,\r\n  \"agent_id\": \"a\\nb\"\n}\n";
  x.upstream.push_back({1, 200, 10, "", std::string_view(R"({"balance":0.0})")});
  x.upstream.push_back({2, 0, 11, "answer: end of stream", std::nullopt});
  x.has_resp = true;
  x.resp_status = 200;
  x.resp_is_upstream = true;
  x.outcome = "ok";
  std::string out;
  format_exchange(out, x, 1024);
  CHECK(out.find('\n') == std::string::npos);
  CHECK(out.find('\r') == std::string::npos);
  CHECK(out.find(R"("balance":0.0)") != std::string::npos);  // the number as the peer wrote it
  auto j = json::parse(out);
  CHECK(j.at("req").at("body") == json::parse(R"({"amount":12.5,"agent_id":"a\nb"})"));
  CHECK(j.at("req").at("headers").at("x-correlation-id") == "caf\xC3\xA9-\xEF\xBF\xBD");
  CHECK(j.at("resp").at("body") == j.at("upstream").at(0).at("body"));
  CHECK(j.at("upstream").at(1).at("error") == "answer: end of stream");
  CHECK_FALSE(j.at("upstream").at(1).as_object().contains("body"));
  SECTION("a body that is not JSON, or JSON with trailing garbage, is {bytes, sha256}") {
    for (std::string_view bad : {"{\"a\":1} x", "{\"a\":", "   ", "\xFF"}) {
      x.req_body = bad;
      out.clear();
      format_exchange(out, x, 1024);
      CHECK(json::parse(out).at("req").at("body").at("bytes") == bad.size());
    }
  }
}
