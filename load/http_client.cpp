// The load client's only Beast translation unit: async connect/write/read on one keep-alive stream.
#include "load/detail/http_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace stormgate::load {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct http_client::impl {
  impl(asio::any_io_executor ex, net::url b, std::chrono::milliseconds t)
      : base(std::move(b)), timeout(t), resolver(ex), stream(ex) {}
  net::url base;
  std::chrono::milliseconds timeout;
  tcp::resolver resolver;
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  std::string host_header;
  tcp::resolver::results_type endpoints;
  bool connected = false;
  bool closed = false;
};

http_client::http_client(asio::any_io_executor ex, net::url base, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<impl>(ex, std::move(base), timeout)) {
  impl_->host_header = impl_->base.host + ":" + impl_->base.port;
}

http_client::~http_client() = default;

void http_client::close() {
  impl_->closed = true;
  beast::error_code ec;
  impl_->stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  impl_->stream.socket().close(ec);
  impl_->connected = false;
}

namespace {

std::string error_word(beast::error_code const& ec, bool closed) {
  if (closed) return "interrupted";
  if (ec == beast::error::timeout) return "timeout";
  if (ec == asio::error::connection_reset || ec == asio::error::broken_pipe) return "reset";
  if (ec == asio::error::connection_refused) return "connect";
  if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == http::error::partial_message) return "eof";
  if (ec == asio::error::operation_aborted) return "interrupted";
  return ec.message();
}

}  // namespace

asio::awaitable<http_result> http_client::call(http_request const& req) {
  auto tok = asio::as_tuple(asio::use_awaitable);
  http_result out;
  impl& s = *impl_;
  if (s.closed) {
    out.error = "interrupted";
    co_return out;
  }
  // The request goes out as one flat buffer (one iovec, no serializer): the client's hot path.
  std::string msg;
  msg.reserve(256 + req.target.size() + req.body.size());
  msg += req.method;
  msg += ' ';
  msg += req.target;
  msg += " HTTP/1.1\r\nHost: ";
  msg += s.host_header;
  msg += "\r\nUser-Agent: stormgate-load\r\n";
  for (auto const& [k, v] : req.headers) {
    msg += k;
    msg += ": ";
    msg += v;
    msg += "\r\n";
  }
  if (!req.body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH") {
    msg += "Content-Type: application/json\r\nContent-Length: ";
    msg += std::to_string(req.body.size());
    msg += "\r\n";
  }
  msg += "\r\n";
  msg += req.body;

  // A kept-alive connection the server closed meanwhile fails the write or the first read with
  // nothing received: reconnect once and send again, since the request never reached the server.
  for (int round = 0; round < 2; ++round) {
    bool fresh = false;
    if (!s.connected) {
      if (s.endpoints.empty()) {
        auto [ec, res] = co_await s.resolver.async_resolve(s.base.host, s.base.port, tok);
        if (ec) {
          out.error = "connect";
          co_return out;
        }
        s.endpoints = res;
      }
      s.stream.expires_after(s.timeout);
      auto [ec, ep] = co_await s.stream.async_connect(s.endpoints, tok);
      (void)ep;
      if (ec || s.closed) {
        out.error = s.closed ? "interrupted" : (ec == beast::error::timeout ? "timeout" : "connect");
        beast::error_code ignore;
        s.stream.socket().close(ignore);
        co_return out;
      }
      s.stream.socket().set_option(tcp::no_delay(true));
      s.buffer.clear();
      s.connected = true;
      fresh = true;
    }
    s.stream.expires_after(s.timeout);
    auto [wec, wn] = co_await asio::async_write(s.stream, asio::buffer(msg), tok);
    (void)wn;
    if (wec) {
      s.connected = false;
      beast::error_code ignore;
      s.stream.socket().close(ignore);
      if (!fresh && !s.closed && wec != beast::error::timeout) continue;
      out.error = error_word(wec, s.closed);
      out.sent = true;
      co_return out;
    }
    out.sent = true;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    parser.header_limit(64 * 1024);
    auto [rec, rn] = co_await http::async_read(s.stream, s.buffer, parser, tok);
    (void)rn;
    if (rec) {
      s.connected = false;
      beast::error_code ignore;
      s.stream.socket().close(ignore);
      bool nothing = !parser.got_some();
      if (!fresh && !s.closed && nothing && (rec == http::error::end_of_stream || rec == asio::error::connection_reset))
        continue;
      out.error = error_word(rec, s.closed);
      co_return out;
    }
    auto res = parser.release();
    out.status = res.result_int();
    out.body = std::move(res.body());
    auto rp = res.find("Idempotent-Replayed");
    out.replayed = rp != res.end() && beast::iequals(rp->value(), "true");
    if (auto f = res.find("X-Stormgate-Fault"); f != res.end()) out.fault = std::string(f->value());
    if (!res.keep_alive()) {
      s.connected = false;
      beast::error_code ignore;
      s.stream.socket().shutdown(tcp::socket::shutdown_both, ignore);
      s.stream.socket().close(ignore);
    }
    co_return out;
  }
  out.error = "reset";
  co_return out;
}

}  // namespace stormgate::load
