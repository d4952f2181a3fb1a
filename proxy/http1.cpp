// http_message, its reader and the head writers (detail/http1.hpp).
#include "proxy/detail/http1.hpp"

#include "core/jsonl.hpp"

#include <boost/beast/http/status.hpp>
#include <algorithm>
#include <charconv>

namespace stormgate::proxy::detail {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
           return lower(x) == lower(y);
         });
}

void append_number(std::string& out, std::uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ", 2);
  out.append(value);
  out.append("\r\n", 2);
}

void append_status_line(std::string& out, int version, unsigned status, std::string_view reason) {
  out.append(version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ", 9);
  append_number(out, status);
  out += ' ';
  if (reason.empty()) reason = http::obsolete_reason(static_cast<http::status>(status));
  out.append(reason);
  out.append("\r\n", 2);
}

void append_connection(std::string& out, int version, bool keep_alive) {
  if (version >= 11 && !keep_alive) out.append("Connection: close\r\n");
  if (version < 11 && keep_alive) out.append("Connection: keep-alive\r\n");
}

bool hop_by_hop(http::field id) {
  switch (id) {
    case http::field::connection:
    case http::field::keep_alive:
    case http::field::proxy_connection:
    case http::field::transfer_encoding:
    case http::field::content_length:
    case http::field::upgrade:
    case http::field::te:
    case http::field::trailer:
      return true;
    default:
      return false;
  }
}

}  // namespace

std::string_view http_message::find(http::field id) const {
  for (auto const& f : fields)
    if (f.id == id) return value(f);
  return {};
}

std::string_view http_message::find(std::string_view lower_name) const {
  for (auto const& f : fields)
    if (iequals(name(f), lower_name)) return value(f);
  return {};
}

void http_message::clear() {
  method = http::verb::unknown;
  status = 0;
  version = 11;
  line.clear();
  method_len = 0;
  fields_text.clear();
  fields.clear();
  if (body.capacity() > 64 * 1024) std::string().swap(body);
  else body.clear();
}

template <bool isRequest>
void message_reader<isRequest>::on_request_impl(http::verb method, string_view method_str, string_view target,
                                                int version, error_code&) {
  m_.method = method;
  m_.version = version;
  m_.line.assign(method_str.data(), method_str.size());
  m_.method_len = method_str.size();
  m_.line.append(target.data(), target.size());
}

template <bool isRequest>
void message_reader<isRequest>::on_response_impl(int code, string_view reason, int version, error_code&) {
  m_.status = static_cast<unsigned>(code);
  m_.version = version;
  m_.line.assign(reason.data(), reason.size());
}

template <bool isRequest>
void message_reader<isRequest>::on_field_impl(http::field name, string_view name_string, string_view value,
                                              error_code&) {
  auto at = static_cast<std::uint32_t>(m_.fields_text.size());
  m_.fields_text.append(name_string.data(), name_string.size());
  m_.fields_text.append(value.data(), value.size());
  m_.fields.push_back({name, at, static_cast<std::uint32_t>(name_string.size()), static_cast<std::uint32_t>(value.size())});
}

boost::system::error_code make_error_code(framing_error e) {
  struct category final : boost::system::error_category {
    char const* name() const noexcept override { return "stormgate.framing"; }
    std::string message(int ev) const override {
      return ev == static_cast<int>(framing_error::unsupported_transfer_coding)
                 ? "transfer coding not implemented (only \"chunked\")"
                 : "Transfer-Encoding in an HTTP/1.0 request";
    }
  };
  static category const cat;
  return {static_cast<int>(e), cat};
}

template <bool isRequest>
void message_reader<isRequest>::on_header_impl(error_code& ec) {
  if constexpr (isRequest) {
    for (auto const& f : m_.fields) {
      if (f.id != http::field::transfer_encoding) continue;
      if (m_.version < 11) ec = framing_error::transfer_coding_in_http10;
      else if (!iequals(m_.value(f), "chunked")) ec = framing_error::unsupported_transfer_coding;
      if (ec) return;
    }
  }
}

template <bool isRequest>
void message_reader<isRequest>::on_body_init_impl(boost::optional<std::uint64_t> const& content_length, error_code&) {
  // the parser has checked the length against its body limit already
  if (content_length) m_.body.reserve(static_cast<std::size_t>(*content_length));
}

template <bool isRequest>
std::size_t message_reader<isRequest>::on_body_impl(string_view body, error_code&) {
  m_.body.append(body.data(), body.size());
  return body.size();
}

template <bool isRequest>
void message_reader<isRequest>::on_chunk_header_impl(std::uint64_t, string_view, error_code&) {}

template <bool isRequest>
std::size_t message_reader<isRequest>::on_chunk_body_impl(std::uint64_t, string_view body, error_code&) {
  m_.body.append(body.data(), body.size());
  return body.size();
}

template <bool isRequest>
void message_reader<isRequest>::on_finish_impl(error_code&) {}

template class message_reader<true>;
template class message_reader<false>;

void write_upstream_head(std::string& out, http_message const& req, std::string_view request_id,
                         std::size_t body_size, bool send_length) {
  out.clear();
  out.append(req.method_text());
  out += ' ';
  out.append(req.target());
  out.append(" HTTP/1.1\r\n", 11);
  for (auto const& f : req.fields) {
    if (hop_by_hop(f.id) || f.id == http::field::expect) continue;
    if (f.id == http::field::unknown && iequals(req.name(f), "x-stormgate-request-id")) continue;
    append_field(out, req.name(f), req.value(f));
  }
  append_field(out, "X-Stormgate-Request-Id", request_id);
  if (send_length) {
    out.append("Content-Length: ", 16);
    append_number(out, body_size);
    out.append("\r\n", 2);
  }
  out.append("\r\n", 2);
}

void write_client_head(std::string& out, http_message const& res, int version, bool keep_alive, bool head_request) {
  out.clear();
  append_status_line(out, version, res.status, res.reason());
  for (auto const& f : res.fields)
    if (!hop_by_hop(f.id)) append_field(out, res.name(f), res.value(f));
  bool no_body = res.status / 100 == 1 || res.status == 204 || res.status == 304;
  if (head_request) {
    if (auto n = res.find(http::field::content_length); !n.empty()) append_field(out, "Content-Length", n);
  } else if (!no_body) {
    out.append("Content-Length: ", 16);
    append_number(out, res.body.size());
    out.append("\r\n", 2);
  }
  append_connection(out, version, keep_alive);
  out.append("\r\n", 2);
}

void write_proxy_answer(std::string& head, std::string& body, unsigned status, std::string_view detail, int version,
                        bool keep_alive, std::string_view fault_rule) {
  body.assign("{\"detail\":");
  core::append_json_string(body, detail);
  body += '}';
  head.clear();
  append_status_line(head, version, status, {});
  head.append("Content-Type: application/json\r\nServer: stormgate\r\nContent-Length: ");
  append_number(head, body.size());
  head.append("\r\n", 2);
  if (!fault_rule.empty()) {
    head.append("X-Stormgate-Fault: ");
    head.append(fault_rule);
    head.append("\r\n", 2);
  }
  append_connection(head, version, keep_alive);
  head.append("\r\n", 2);
}

}  // namespace stormgate::proxy::detail
