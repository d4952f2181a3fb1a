#include "net/net.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <cstdio>
#include <optional>

namespace stormgate::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

core::result<tcp::endpoint> parse_listen(std::string_view text, std::string_view where) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos)
    return core::usage_error(std::string(where), "expected HOST:PORT, got '" + std::string(text) + "'");
  std::string host(text.substr(0, colon));
  std::string port(text.substr(colon + 1));
  if (!host.empty() && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty() || host == "localhost") host = "127.0.0.1";
  unsigned long p = 0;
  try {
    std::size_t used = 0;
    p = std::stoul(port, &used);
    if (used != port.size() || p > 65535) throw std::out_of_range("port");
  } catch (...) {
    return core::usage_error(std::string(where), "bad port '" + port + "' in '" + std::string(text) + "'");
  }
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) return core::usage_error(std::string(where), "bad address '" + host + "' (use a numeric IP)");
  return tcp::endpoint(addr, static_cast<unsigned short>(p));
}

core::result<url> parse_url(std::string_view text, std::string_view where) {
  auto r = boost::urls::parse_uri(boost::core::string_view(text.data(), text.size()));
  if (!r) return core::usage_error(std::string(where), "not a URL: '" + std::string(text) + "'");
  if (r->scheme() != "http")
    return core::usage_error(std::string(where), "only http:// URLs are supported: '" + std::string(text) + "'");
  url u;
  u.host = std::string(r->host());
  if (u.host == "localhost") u.host = "127.0.0.1";
  if (u.host.size() > 2 && u.host.front() == '[') u.host = u.host.substr(1, u.host.size() - 2);
  if (r->has_port()) u.port = std::string(r->port());
  std::string t(r->encoded_path());
  if (r->has_query()) t += "?" + std::string(r->encoded_query());
  u.target = t.empty() ? "/" : t;
  if (u.host.empty()) return core::usage_error(std::string(where), "URL without host: '" + std::string(text) + "'");
  return u;
}

std::string join_target(url const& base, std::string_view path) {
  std::string t = base.target;
  if (t == "/") t.clear();
  while (!t.empty() && t.back() == '/') t.pop_back();
  if (!path.empty() && path.front() != '/') t += '/';
  t += path;
  return t.empty() ? "/" : t;
}

void announce_listening(std::string_view name, tcp::endpoint const& ep) {
  auto addr = ep.address().to_string();
  if (ep.address().is_v6()) addr = "[" + addr + "]";
  std::printf("listening %.*s http://%s:%u\n", static_cast<int>(name.size()), name.data(), addr.c_str(),
              static_cast<unsigned>(ep.port()));
  std::fflush(stdout);
}

namespace {

http::verb verb_of(std::string_view m) {
  auto v = http::string_to_verb(m);
  return v == http::verb::unknown ? http::verb::get : v;
}

response to_response(http::response<http::string_body>& res) {
  response out;
  out.status = res.result_int();
  for (auto const& f : res) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(f.value());
  }
  out.body = std::move(res.body());
  return out;
}

}  // namespace

struct client::impl {
  asio::io_context ioc;
  std::optional<beast::tcp_stream> stream;
  url base;
  std::string base_text;
  std::chrono::milliseconds timeout;
  beast::flat_buffer buffer;

  core::result<response> call(std::string_view method, std::string_view target, std::string_view body,
                              std::vector<std::pair<std::string, std::string>> const& headers, bool close) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      bool fresh = !stream;
      beast::error_code ec;
      if (fresh) {
        tcp::resolver resolver(ioc);
        auto results = resolver.resolve(base.host, base.port, ec);
        if (ec) return core::unavailable_error(base_text, "cannot resolve: " + ec.message());
        stream.emplace(ioc);
        stream->expires_after(timeout);
        stream->connect(results, ec);
        if (ec) {
          stream.reset();
          return core::unavailable_error(base_text, "cannot connect: " + ec.message());
        }
      }
      http::request<http::string_body> req{verb_of(method), std::string(target), 11};
      req.set(http::field::host, base.host + ":" + base.port);
      req.set(http::field::user_agent, "stormgate");
      if (close) req.set(http::field::connection, "close");
      for (auto const& [k, v] : headers) req.set(k, v);
      if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
        if (req.find(http::field::content_type) == req.end()) req.set(http::field::content_type, "application/json");
        req.body() = std::string(body);
        req.prepare_payload();
      }
      stream->expires_after(timeout);
      http::write(*stream, req, ec);
      http::response_parser<http::string_body> parser;
      parser.body_limit(256 * 1024 * 1024);
      if (!ec) http::read(*stream, buffer, parser, ec);
      if (ec) {
        stream.reset();
        buffer.clear();
        // A kept-alive connection the server closed in between: try once on a fresh one.
        if (!fresh && (ec == http::error::end_of_stream || ec == asio::error::connection_reset ||
                       ec == asio::error::broken_pipe || ec == asio::error::eof))
          continue;
        if (ec == beast::error::timeout) return core::unavailable_error(base_text + std::string(target), "timeout");
        return core::unavailable_error(base_text + std::string(target), ec.message());
      }
      auto res = parser.release();
      bool keep = res.keep_alive() && !close;
      auto out = to_response(res);
      if (!keep) {
        beast::error_code ignored;
        stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream.reset();
        buffer.clear();
      }
      return out;
    }
    return core::unavailable_error(base_text, "connection closed");
  }
};

client::client(std::string base_url, std::chrono::milliseconds timeout) : impl_(new impl) {
  auto u = parse_url(base_url, "url");
  if (!u) throw core::failure(u.error());
  impl_->base = *u;
  impl_->base_text = base_url;
  impl_->timeout = timeout;
}

client::~client() { delete impl_; }

core::result<response> client::call(std::string_view method, std::string_view target, std::string_view body,
                                     std::vector<std::pair<std::string, std::string>> const& headers) {
  return impl_->call(method, join_target(impl_->base, target), body, headers, false);
}

core::result<response> fetch(request const& req) {
  auto u = parse_url(req.url, "url");
  if (!u) return u.error();
  client::impl im;
  im.base = *u;
  im.base_text = req.url;
  im.timeout = req.timeout;
  return im.call(req.method, u->target, req.body, req.headers, true);
}

}  // namespace stormgate::net
