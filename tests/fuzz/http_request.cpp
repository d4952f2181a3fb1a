// A client's bytes through the proxy's request path, as proxy/session.cpp reads them: a fresh
// message_reader per request (the proxy's header and body limits, eager), the bytes handed over in
// reads of a size the input chooses, pipelined requests one after the other. For each request read
// whole, what must hold:
//  - the head sent upstream (write_upstream_head) parses back, with its body, as one whole request
//    of the same method, target and body, and no bytes over: the proxy never forwards a request an
//    upstream could read differently (request smuggling);
//  - the traffic log's record of it (format_exchange) is one line of valid JSON.
// A request the parser refuses gets the proxy's own answer, whose body is JSON; its record too.
//   input: byte 0 = read size (0: all at once, else 1..255 bytes a read), then the client's bytes
#include "core/jsonl.hpp"
#include "proxy/detail/http1.hpp"
#include "proxy/detail/record.hpp"
#include "proxy/proxy.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace stormgate;
using namespace stormgate::proxy::detail;
namespace beast = boost::beast;

namespace {

[[noreturn]] void fail(char const* what, std::string_view detail) {
  std::fprintf(stderr, "http_request: %s: %.*s\n", what, static_cast<int>(detail.size()), detail.data());
  std::abort();
}

proxy::proxy_config const cfg{};

struct outcome {
  bool done = false;
  beast::error_code ec;
  std::size_t used = 0;       // bytes of the input the request took
  bool send_length = false;   // as the session decides it: a Content-Length or chunked body came
};

// Reads one request from `in` into `m`, `step` bytes a read (0: all), as the session does: what the
// parser does not take stays in the buffer and the next read appends to it.
outcome read_one(std::string_view in, std::size_t step, http_message& m, std::size_t header_limit, std::size_t body_limit) {
  message_reader<true> r(m);
  r.header_limit(static_cast<std::uint32_t>(header_limit));
  r.body_limit(body_limit);
  r.eager(true);
  outcome o;
  std::string_view buf;  // the bytes read and not yet taken by the parser
  std::size_t read = 0;
  for (int reads = 0; reads < 1 << 20; ++reads) {
    std::size_t more = step ? std::min(step, in.size() - read) : in.size() - read;
    read += more;
    buf = in.substr(o.used, read - o.used);
    while (!buf.empty()) {
      auto n = r.put(boost::asio::buffer(buf.data(), buf.size()), o.ec);
      o.used += n;
      buf.remove_prefix(n);
      if (o.ec == beast::http::error::need_more) {
        o.ec = {};
        break;
      }
      if (o.ec || r.is_done()) {
        o.done = !o.ec;
        o.send_length = o.done && (r.content_length() || r.chunked());
        return o;
      }
      if (n == 0) break;
    }
    if (read == in.size()) break;
  }
  // the client closed: as the session's read at end of stream
  r.put_eof(o.ec);
  o.done = !o.ec && r.is_done();
  o.send_length = o.done && (r.content_length() || r.chunked());
  return o;
}

void check_record(http_message const& m, bool whole, std::string_view outcome_text) {
  exchange_record x;
  x.id = "credits-1";
  x.route = "credits";
  x.outcome = outcome_text;
  if (whole) {
    x.method = m.method_text();
    x.target = m.target();
    for (auto name : {"x-stormgate-op", "idempotency-key", "x-correlation-id", "x-causation-id"})
      if (auto v = m.find(name); !v.empty()) x.req_headers.emplace_back(name, v);
    if (!m.body.empty()) x.req_body = m.body;
    x.upstream.push_back(attempt_record{1, 200, 10, "", m.body});
    x.has_resp = true;
    x.resp_status = 200;
    x.resp_is_upstream = true;
  }
  std::string line;
  format_exchange(line, x, cfg.log_body_limit);
  if (line.find('\n') != std::string::npos || !core::is_json(line)) fail("the record is not one JSON line", line);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  if (size < 1) return 0;
  std::size_t step = data[0];
  std::string_view in(reinterpret_cast<char const*>(data) + 1, size - 1);
  http_message req;
  for (int k = 0; k < 64 && !in.empty(); ++k) {
    auto o = read_one(in, step, req, cfg.header_limit, cfg.body_limit);
    if (!o.done) {
      std::string head, body;
      write_proxy_answer(head, body, 400, "stormgate: " + o.ec.message(), 11, false);
      if (!core::is_json(body)) fail("the proxy's answer is not JSON", body);
      check_record(req, false, "client_error");
      return 0;
    }
    in.remove_prefix(o.used);
    check_record(req, true, "ok");

    // what goes upstream reads back as the same request, whole, with nothing over
    std::string up;
    write_upstream_head(up, req, "credits-1", req.body.size(), o.send_length);
    up += req.body;
    http_message back;
    auto b = read_one(up, 0, back, std::uint32_t(-1), std::size_t(-1));
    if (!b.done) fail("the upstream request does not parse", up);
    if (b.used != up.size()) fail("the upstream request has bytes over", up);
    if (back.method_text() != req.method_text() || back.target() != req.target() || back.body != req.body)
      fail("the upstream request reads differently", up);
  }
  return 0;
}
