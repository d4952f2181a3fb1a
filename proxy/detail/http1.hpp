// HTTP/1 messages as the proxy forwards them: Beast's parser fills an `http_message` that keeps
// its bytes in a few reused buffers (no allocation per field), and the head writers below build
// what goes upstream and back to the client, hop-by-hop fields taken out and lengths set.
#pragma once
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/system/error_code.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace stormgate::proxy::detail {

namespace http = boost::beast::http;

struct http_message {
  struct field_ref {
    http::field id;
    std::uint32_t at, name_len, value_len;  // into `fields_text`: the name, then the value
  };

  http::verb method = http::verb::unknown;
  unsigned status = 0;
  int version = 11;
  std::string line;  // request: method then target; response: the reason phrase
  std::size_t method_len = 0;
  std::string fields_text;
  std::vector<field_ref> fields;
  std::string body;

  std::string_view method_text() const { return std::string_view(line).substr(0, method_len); }
  std::string_view target() const { return std::string_view(line).substr(method_len); }
  std::string_view reason() const { return line; }
  std::string_view name(field_ref const& f) const { return {fields_text.data() + f.at, f.name_len}; }
  std::string_view value(field_ref const& f) const { return {fields_text.data() + f.at + f.name_len, f.value_len}; }
  // The first field of that name ("" when absent); the string form compares without case.
  std::string_view find(http::field id) const;
  std::string_view find(std::string_view name) const;

  void clear();  // keeps the buffers' room for the next message, unless a big body grew them
};

// Request framing refused beyond what Beast refuses itself (Content-Length beside Transfer-Encoding,
// two Transfer-Encoding fields, differing lengths), as nginx and Envoy do: a request's
// Transfer-Encoding must be exactly "chunked" (anything else, "chunked, chunked" included → 501),
// and an HTTP/1.0 request has none (→ 400). Beast alone would read such a body as the next request.
enum class framing_error { unsupported_transfer_coding = 1, transfer_coding_in_http10 };
boost::system::error_code make_error_code(framing_error e);

// Parses one message into an http_message (emplace a new reader per message, as Beast wants).
template <bool isRequest>
class message_reader final : public http::basic_parser<isRequest> {
 public:
  explicit message_reader(http_message& m) : m_(m) { m_.clear(); }

 private:
  using error_code = boost::beast::error_code;
  using string_view = boost::beast::string_view;
  void on_request_impl(http::verb method, string_view method_str, string_view target, int version,
                       error_code& ec) override;
  void on_response_impl(int code, string_view reason, int version, error_code& ec) override;
  void on_field_impl(http::field name, string_view name_string, string_view value, error_code& ec) override;
  void on_header_impl(error_code& ec) override;
  void on_body_init_impl(boost::optional<std::uint64_t> const& content_length, error_code& ec) override;
  std::size_t on_body_impl(string_view body, error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t size, string_view extensions, error_code& ec) override;
  std::size_t on_chunk_body_impl(std::uint64_t remain, string_view body, error_code& ec) override;
  void on_finish_impl(error_code& ec) override;

  http_message& m_;
};

extern template class message_reader<true>;
extern template class message_reader<false>;

// The request as it goes upstream: HTTP/1.1, the client's fields without the hop-by-hop ones
// (Connection, Keep-Alive, Proxy-Connection, Transfer-Encoding, Expect) and without a request id
// of its own; then `X-Stormgate-Request-Id`, and Content-Length when there is a body to send
// (a chunked body arrives decoded and leaves with its length).
void write_upstream_head(std::string& out, http_message const& req, std::string_view request_id,
                         std::size_t body_size, bool send_length);

// The upstream's answer as the client gets it: in the client's HTTP version, hop-by-hop fields out,
// Content-Length set to the body (kept as sent for HEAD; none for 1xx, 204, 304), and Connection
// saying whether the connection stays open.
void write_client_head(std::string& out, http_message const& res, int version, bool keep_alive, bool head_request);

// An answer of the proxy's own: {"detail": …} as JSON, Server: stormgate; a fault's answer also
// names the fault's rule in X-Stormgate-Fault, so a client can tell an injected failure from a real one.
void write_proxy_answer(std::string& head, std::string& body, unsigned status, std::string_view detail, int version,
                        bool keep_alive, std::string_view fault_rule = {});

}  // namespace stormgate::proxy::detail

template <>
struct boost::system::is_error_code_enum<stormgate::proxy::detail::framing_error> : std::true_type {};
