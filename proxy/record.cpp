// format_exchange: one exchange record as one JSONL line, written field by field (docs/formats.md).
#include "core/jsonl.hpp"
#include "proxy/detail/record.hpp"
#include "proxy/detail/sha256.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <charconv>

namespace stormgate::proxy::detail {

namespace json = boost::json;

void exchange_record::clear() {
  id = route = method = target = {};
  conn = 0;
  ts = ts_end = {};
  req_headers.clear();
  req_body.reset();
  faults.clear();
  upstream.clear();
  has_resp = false;
  resp_status = 0;
  resp_body.reset();
  resp_is_upstream = false;
  resp_content_type = resp_replayed = {};
  latency_us = 0;
  outcome = {};
  error.clear();
}

namespace {

void append_body(std::string& out, std::string_view raw, std::size_t limit) {
  if (raw.size() <= limit) {
    auto first = raw.find_first_not_of(" \t\r\n");
    auto last = raw.find_last_not_of(" \t\r\n");
    if (first != std::string_view::npos && core::is_json(raw)) {
      // JSON as the peer sent it; its line breaks can only be whitespace between tokens
      auto at = out.size();
      out.append(raw.substr(first, last + 1 - first));
      for (auto i = at; i < out.size(); ++i)
        if (out[i] == '\n' || out[i] == '\r') out[i] = ' ';
      return;
    }
  }
  out.append("{\"bytes\":");
  char buf[24];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, raw.size()).ptr);
  out.append(",\"sha256\":\"");
  out.append(sha256_hex(raw));
  out.append("\"}");
}

// Writes `"key":` with a leading comma unless it is the object's first member.
class object_writer {
 public:
  explicit object_writer(std::string& out) : out_(out) { out_ += '{'; }
  void close() { out_ += '}'; }
  std::string& key(std::string_view k) {
    if (!first_) out_ += ',';
    first_ = false;
    out_ += '"';
    out_.append(k);
    out_.append("\":", 2);
    return out_;
  }
  void str(std::string_view k, std::string_view v) { core::append_json_string(key(k), v); }
  void num(std::string_view k, std::int64_t v) {
    char buf[24];
    key(k).append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
  }
  void time(std::string_view k, core::sys_us t) {
    key(k) += '"';
    core::append_rfc3339_us(out_, t);
    out_ += '"';
  }

 private:
  std::string& out_;
  bool first_ = true;
};

}  // namespace

void format_exchange(std::string& out, exchange_record const& x, std::size_t body_limit) {
  object_writer o(out);
  o.num("v", 1);
  o.str("kind", "exchange");
  o.str("id", x.id);
  o.str("route", x.route);
  o.num("conn", static_cast<std::int64_t>(x.conn));
  o.time("ts", x.ts);
  o.time("ts_end", x.ts_end);
  o.str("method", x.method);
  o.str("target", x.target);
  {
    o.key("req");
    object_writer req(out);
    req.key("headers");
    object_writer headers(out);
    for (auto const& [k, v] : x.req_headers) headers.str(k, v);
    headers.close();
    if (x.req_body) append_body(req.key("body"), *x.req_body, body_limit);
    req.close();
  }
  if (x.faults.empty()) o.key("faults").append("[]");
  else core::append_json(o.key("faults"), x.faults);
  o.key("upstream") += '[';
  std::size_t first_body_at = 0, first_body_len = 0;  // upstream[0]'s body as written: resp.body repeats it
  for (std::size_t i = 0; i < x.upstream.size(); ++i) {
    auto const& a = x.upstream[i];
    if (i > 0) out += ',';
    object_writer u(out);
    u.num("n", a.n);
    u.num("status", a.status);
    u.num("latency_us", a.latency_us);
    if (!a.error.empty()) u.str("error", a.error);
    if (a.body) {
      auto at = u.key("body").size();
      append_body(out, *a.body, body_limit);
      if (a.n == 1) first_body_at = at, first_body_len = out.size() - at;
    }
    u.close();
  }
  out += ']';
  if (x.has_resp) {
    o.key("resp");
    object_writer resp(out);
    resp.num("status", x.resp_status);
    if (!x.resp_content_type.empty() || !x.resp_replayed.empty()) {
      resp.key("headers");
      object_writer h(out);
      if (!x.resp_replayed.empty()) h.str("idempotent-replayed", x.resp_replayed);
      if (!x.resp_content_type.empty()) h.str("content-type", x.resp_content_type);
      h.close();
    }
    if (x.resp_is_upstream) {
      if (first_body_len > 0) {
        resp.key("body");
        out.reserve(out.size() + first_body_len);  // so that the copy's source stays where it is
        out.append(out, first_body_at, first_body_len);
      }
    } else if (x.resp_body) {
      append_body(resp.key("body"), *x.resp_body, body_limit);
    }
    resp.close();
  }
  o.num("latency_us", x.latency_us);
  o.str("outcome", x.outcome);
  if (!x.error.empty()) o.str("error", x.error);
  o.close();
}

}  // namespace stormgate::proxy::detail
