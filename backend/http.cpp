#include "backend/detail/http.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>
#include <set>

namespace stormgate::backend::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {
constexpr std::size_t header_limit = 8 * 1024;
constexpr std::uint64_t body_limit = 1024 * 1024;
constexpr auto idle_timeout = std::chrono::seconds(30);
class session;
}  // namespace

struct http_server::state : std::enable_shared_from_this<http_server::state> {
  asio::any_io_executor ex;
  tcp::acceptor acceptor;
  request_handler handler;
  std::set<session*> sessions;  // raw pointers, removed by each session's destructor
  bool stopped = false;
  state(asio::any_io_executor e, request_handler h) : ex(e), acceptor(e), handler(std::move(h)) {}
  void do_accept();
  void on_accept(beast::error_code ec, tcp::socket socket);
};

namespace {

class session : public std::enable_shared_from_this<session> {
 public:
  session(tcp::socket socket, std::shared_ptr<http_server::state> owner)
      : stream_(std::move(socket)), owner_(std::move(owner)) {
    owner_->sessions.insert(this);
  }
  ~session() { owner_->sessions.erase(this); }

  void run() { do_read(); }

  // Closes the connection now if it waits for a request; otherwise after the answer in hand.
  void close_when_idle() {
    if (!busy_) {
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
      stream_.socket().close(ec);
    }
  }

 private:
  void do_read() {
    parser_.emplace();
    parser_->header_limit(header_limit);
    parser_->body_limit(body_limit);
    stream_.expires_after(idle_timeout);
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == http::error::body_limit) return refuse(413, "request body too large");
    if (ec == http::error::header_limit) return refuse(431, "request header too large");
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::operation_aborted) return close();
    if (ec) {
      if (parser_ && parser_->got_some()) return refuse(400, "bad request");
      return close();
    }
    auto req = parser_->release();
    // Beast reads "Transfer-Encoding: xchunked" or "chunked, chunked" as no body, and the body as
    // the next request: refused, and the connection closed, as nginx does (501; 400 in HTTP/1.0).
    if (auto te = req.find(http::field::transfer_encoding); te != req.end()) {
      if (req.version() < 11) return refuse(400, "Transfer-Encoding in an HTTP/1.0 request");
      if (!beast::iequals(te->value(), "chunked")) return refuse(501, "transfer coding not implemented");
    }
    keep_alive_ = req.keep_alive();
    http_request r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    for (auto const& f : req) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers[name] = std::string(f.value());
    }
    r.body = std::move(req.body());
    busy_ = true;
    answered_ = false;
    stream_.expires_never();
    owner_->handler(std::move(r), [self = shared_from_this()](http_answer a) { self->do_write(std::move(a)); });
  }

  void refuse(unsigned status, std::string_view why) {
    keep_alive_ = false;
    busy_ = true;
    answered_ = false;
    do_write(http_answer{status, "{\"detail\":\"" + std::string(why) + "\"}"});
  }

  void do_write(http_answer a) {
    if (answered_) return;
    answered_ = true;
    res_ = {};
    res_.version(11);
    res_.result(a.status);
    res_.set(http::field::server, "stormgate");
    res_.set(http::field::content_type, a.content_type);
    for (auto const& [k, v] : a.headers) res_.set(k, v);
    res_.keep_alive(keep_alive_ && !owner_->stopped);
    res_.body() = std::move(a.body);
    res_.prepare_payload();
    stream_.expires_after(idle_timeout);
    http::async_write(stream_, res_, beast::bind_front_handler(&session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    busy_ = false;
    if (ec) return close();
    if (!res_.keep_alive()) return close();
    do_read();
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  std::shared_ptr<http_server::state> owner_;
  bool keep_alive_ = true;
  bool busy_ = false;
  bool answered_ = false;
};

}  // namespace

void http_server::state::do_accept() {
  acceptor.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket s) {
    self->on_accept(ec, std::move(s));
  });
}

void http_server::state::on_accept(beast::error_code ec, tcp::socket socket) {
  if (stopped || ec == asio::error::operation_aborted) return;
  if (!ec) {
    socket.set_option(tcp::no_delay(true), ec);
    std::make_shared<session>(std::move(socket), shared_from_this())->run();
  }
  do_accept();
}

http_server::http_server(asio::any_io_executor ex, tcp::endpoint ep, request_handler handler)
    : state_(std::make_shared<state>(ex, std::move(handler))) {
  auto& a = state_->acceptor;
  a.open(ep.protocol());
  a.set_option(asio::socket_base::reuse_address(true));
  a.bind(ep);
  a.listen(asio::socket_base::max_listen_connections);
}

http_server::~http_server() { stop(); }

tcp::endpoint http_server::local_endpoint() const { return state_->acceptor.local_endpoint(); }

void http_server::start() { state_->do_accept(); }

void http_server::stop() {
  if (state_->stopped) return;
  state_->stopped = true;
  beast::error_code ec;
  state_->acceptor.close(ec);
  auto sessions = state_->sessions;
  for (auto* s : sessions) s->close_when_idle();
}

// ---- client ---------------------------------------------------------------------------------

struct http_client::state : std::enable_shared_from_this<http_client::state> {
  asio::any_io_executor ex;
  tcp::endpoint endpoint;
  std::string host_header;
  std::chrono::milliseconds timeout;
  std::vector<std::unique_ptr<beast::tcp_stream>> idle;
  static constexpr std::size_t max_idle = 64;
};

namespace {

class client_call : public std::enable_shared_from_this<client_call> {
 public:
  client_call(std::shared_ptr<http_client::state> st, std::string target, std::string body,
              std::vector<std::pair<std::string, std::string>> const& headers, std::function<void(client_result)> done)
      : st_(std::move(st)), done_(std::move(done)) {
    req_.method(http::verb::post);
    req_.target(target);
    req_.version(11);
    req_.set(http::field::host, st_->host_header);
    req_.set(http::field::user_agent, "stormgate-backend");
    req_.set(http::field::content_type, "application/json");
    for (auto const& [k, v] : headers) req_.set(k, v);
    req_.body() = std::move(body);
    req_.prepare_payload();
    deadline_ = std::chrono::steady_clock::now() + st_->timeout;
  }

  void start() {
    if (!st_->idle.empty()) {
      stream_ = std::move(st_->idle.back());
      st_->idle.pop_back();
      reused_ = true;
      do_write();
    } else {
      do_connect();
    }
  }

 private:
  void do_connect() {
    reused_ = false;
    stream_ = std::make_unique<beast::tcp_stream>(st_->ex);
    stream_->expires_at(deadline_);
    stream_->async_connect(st_->endpoint, beast::bind_front_handler(&client_call::on_connect, shared_from_this()));
  }
  void on_connect(beast::error_code ec) {
    if (ec) return fail(ec);
    beast::error_code ignored;
    stream_->socket().set_option(tcp::no_delay(true), ignored);
    do_write();
  }
  void do_write() {
    stream_->expires_at(deadline_);
    http::async_write(*stream_, req_, beast::bind_front_handler(&client_call::on_write, shared_from_this()));
  }
  void on_write(beast::error_code ec, std::size_t) {
    if (ec) return retry_or_fail(ec);
    http::async_read(*stream_, buffer_, res_, beast::bind_front_handler(&client_call::on_read, shared_from_this()));
  }
  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return retry_or_fail(ec);
    client_result r;
    r.ok = true;
    r.status = res_.result_int();
    r.body = std::move(res_.body());
    if (res_.keep_alive() && st_->idle.size() < http_client::state::max_idle) {
      stream_->expires_never();
      st_->idle.push_back(std::move(stream_));
    }
    done_(std::move(r));
  }
  // A pooled connection the server closed meanwhile: once more on a fresh one.
  void retry_or_fail(beast::error_code ec) {
    if (reused_ && ec != beast::error::timeout) {
      buffer_.clear();
      res_ = {};
      return do_connect();
    }
    fail(ec);
  }
  void fail(beast::error_code ec) {
    client_result r;
    r.error = ec == beast::error::timeout ? "timeout" : ec.message();
    stream_.reset();
    done_(std::move(r));
  }

  std::shared_ptr<http_client::state> st_;
  std::function<void(client_result)> done_;
  std::unique_ptr<beast::tcp_stream> stream_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
  beast::flat_buffer buffer_;
  std::chrono::steady_clock::time_point deadline_;
  bool reused_ = false;
};

}  // namespace

http_client::http_client(asio::any_io_executor ex, std::string host, std::string port, std::chrono::milliseconds timeout)
    : state_(std::make_shared<state>()) {
  state_->ex = ex;
  state_->timeout = timeout;
  state_->host_header = host + ":" + port;
  beast::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) {
    asio::io_context tmp;  // a name (not an IP): resolved once, at start, never on the request path
    tcp::resolver resolver(tmp);
    auto results = resolver.resolve(host, port, ec);
    if (!ec && !results.empty()) addr = results.begin()->endpoint().address();
    else addr = asio::ip::make_address("127.0.0.1");
  }
  state_->endpoint = tcp::endpoint(addr, static_cast<unsigned short>(std::stoi(port)));
}

http_client::~http_client() = default;

void http_client::post(std::string target, std::string body, std::vector<std::pair<std::string, std::string>> headers,
                       std::function<void(client_result)> done) {
  std::make_shared<client_call>(state_, std::move(target), std::move(body), headers, std::move(done))->start();
}

}  // namespace stormgate::backend::detail
