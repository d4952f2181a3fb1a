// format_exchange: one exchange record as one JSONL line, written field by field (docs/formats.md).
#include "core/jsonl.hpp"
#include "proxy/detail/record.hpp"
#include "proxy/detail/sha256.hpp"

#include "core/record_fields.hpp"

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

// The exchange's writer: an object writer, and what the parts of one record share. The record's
// objects are written from their rows in core/record_fields.hpp (STORMGATE_PUT_FIELD), the parts
// with a type of their own by the put overloads here.
struct exchange_shared {
  std::size_t body_limit;
  std::size_t first_body_at = 0, first_body_len = 0;  // upstream[0]'s body as written: resp.body repeats it
  bool in_first_attempt = false;
};
struct exchange_writer : core::json_object_writer {
  exchange_writer(std::string& out, exchange_shared& s) : core::json_object_writer(out), sh(s) {}
  exchange_shared& sh;
};

void put(exchange_writer& o, std::string_view k, body_part b) {
  if (!b.raw) return;
  auto& out = o.key(k);
  auto at = out.size();
  append_body(out, *b.raw, o.sh.body_limit);
  if (o.sh.in_first_attempt) o.sh.first_body_at = at, o.sh.first_body_len = out.size() - at;
}

void put(exchange_writer& o, std::string_view k, request_part r) {
  exchange_writer req(o.key(k), o.sh);
  exchange_writer headers(req.key("headers"), o.sh);
  for (auto const& [name, value] : r.headers) put(headers, name, value);
  headers.close();
  put(req, "body", body_part{r.body});
  req.close();
}

template <std::same_as<boost::json::array> A>  // a template: an integer does not convert to it
void put(exchange_writer& o, std::string_view k, A const& faults) {
  if (faults.empty()) o.key(k).append("[]");
  else core::append_json(o.key(k), faults);
}

void put(exchange_writer& parent, std::string_view k, attempt_headers const& rec) {
  if (!rec.replayed) return;  // none of the headers the gates read: no headers object
  exchange_writer o(parent.key(k), parent.sh);
  STORMGATE_ATTEMPT_HEADER_FIELDS(STORMGATE_PUT_FIELD)
  o.close();
}

void put(exchange_writer& parent, std::string_view k, std::vector<attempt_record> const& upstream) {
  auto& out = parent.key(k);
  out += '[';
  for (auto const& rec : upstream) {
    if (&rec != upstream.data()) out += ',';
    exchange_writer o(out, parent.sh);
    o.sh.in_first_attempt = rec.n == 1;
    STORMGATE_ATTEMPT_FIELDS(STORMGATE_PUT_FIELD)
    o.sh.in_first_attempt = false;
    o.close();
  }
  out += ']';
}

void put(exchange_writer& parent, std::string_view k, response_part r) {
  auto const& x = r.x;
  exchange_writer o(parent.key(k), parent.sh);
  put(o, "status", x.resp_status);
  if (!x.resp_content_type.empty() || !x.resp_replayed.empty()) {
    exchange_writer h(o.key("headers"), o.sh);
    if (!x.resp_replayed.empty()) put(h, "idempotent-replayed", x.resp_replayed);
    if (!x.resp_content_type.empty()) put(h, "content-type", x.resp_content_type);
    h.close();
  }
  if (x.resp_is_upstream) {
    if (auto len = o.sh.first_body_len) {
      auto& out = o.key("body");
      out.reserve(out.size() + len);  // so that the copy's source stays where it is
      out.append(out, o.sh.first_body_at, len);
    }
  } else {
    put(o, "body", body_part{x.resp_body});
  }
  o.close();
}

}  // namespace

void format_exchange(std::string& out, exchange_record const& rec, std::size_t body_limit) {
  exchange_shared sh{body_limit};
  exchange_writer o(out, sh);
  STORMGATE_EXCHANGE_FIELDS(STORMGATE_PUT_FIELD)
  o.close();
}

}  // namespace stormgate::proxy::detail
