// proxy::session: one client connection on one route. The chain reads top to bottom:
//   run → do_read_request → on_idle → do_read_rest → on_read (plan) → do_delay → on_delay
//   → do_connect → on_connect → do_forward → on_forward → do_read_reply → on_read_reply
//   → do_respond → do_write → on_write → finish → (next request)
// Every exchange ends in finish(outcome), which writes exactly one record.
#include "core/time.hpp"
#include "proxy/detail/server.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

namespace stormgate::proxy::detail {

namespace http = beast::http;
namespace json = boost::json;

namespace {

using namespace std::chrono_literals;

bool retryable(beast::error_code ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == asio::error::connection_aborted;
}

constexpr std::string_view logged_headers[] = {"x-stormgate-op", "idempotency-key", "x-correlation-id",
                                               "x-causation-id"};

class session : public std::enable_shared_from_this<session>, public closable {
 public:
  session(server& srv, worker& w, route_state& r, tcp::socket s)
      : srv_(srv), w_(w), route_(r), client_(std::move(s)), timer_(w.ioc),
        conn_(srv.conn_seq.fetch_add(1, std::memory_order_relaxed) + 1) {
    w_.sessions.insert(this);
  }

  ~session() override {
    if (in_exchange_) finish("client_gone", "connection dropped");
    w_.sessions.erase(this);
  }

  void run() {
    beast::error_code ec;
    client_.socket().set_option(tcp::no_delay(true), ec);
    do_read_request();
  }

  void shutdown(bool force) override {
    beast::error_code ec;
    if (force) {
      timer_.cancel();
      if (up_) up_->stream.socket().close(ec);
      client_.socket().close(ec);
    } else if (!in_exchange_) {
      client_.socket().close(ec);  // nothing in hand: stop waiting for the next request
    }
  }

 private:
  // ---- reading the client's request ---------------------------------------------------------

  void do_read_request() {
    if (w_.stopping) return close_client();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(srv_.cfg.header_limit));
    parser_->body_limit(srv_.cfg.body_limit);
    if (buf_.size() > 0) return do_read_rest();
    client_.expires_after(srv_.cfg.idle_timeout);
    client_.async_read_some(buf_.prepare(16 * 1024),
                            beast::bind_front_handler(&session::on_idle, shared_from_this()));
  }

  void on_idle(beast::error_code ec, std::size_t n) {
    if (ec) return close_client();  // idle timeout, client closed, shutdown: no exchange began
    buf_.commit(n);
    do_read_rest();
  }

  // The request deadline is our own timer, not the stream's expiry: an expiry closes the socket,
  // and a slow client is owed a 408 on it.
  void do_read_rest() {
    client_.expires_never();
    reading_ = true;
    read_timed_out_ = false;
    timer_.expires_after(srv_.cfg.request_timeout);
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || !self->reading_) return;
      self->read_timed_out_ = true;
      beast::error_code ignored;
      self->client_.socket().cancel(ignored);
    });
    http::async_read(client_, buf_, *parser_, beast::bind_front_handler(&session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    reading_ = false;
    timer_.cancel();
    if (read_timed_out_ && ec == asio::error::operation_aborted) ec = beast::error::timeout;
    if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted) return close_client();
    begin_exchange();
    if (ec) {
      if (parser_->is_header_done()) {
        rec_.method = std::string(parser_->get().method_string());
        rec_.target = std::string(parser_->get().target());
      }
      if (ec == http::error::partial_message || ec == asio::error::eof || ec == asio::error::connection_reset) {
        finish("client_gone", "client closed mid-request");
        return close_client();
      }
      unsigned status = 400;
      std::string why = ec.message();
      if (ec == http::error::header_limit) status = 431, why = "request headers too large";
      else if (ec == http::error::body_limit) status = 413, why = "request body too large";
      else if (ec == beast::error::timeout) status = 408, why = "request not received in time";
      client_keep_alive_ = false;
      lingering_close_ = true;
      rec_.error = why;
      return respond_proxy(status, "stormgate: " + why, "client_error");
    }
    req_ = parser_->release();
    plan_exchange();
    do_delay();
  }

  void begin_exchange() {
    in_exchange_ = true;
    t0_us_ = core::mono_us();
    rec_ = exchange_record{};
    rec_.ts = core::now_us();
    rec_.route = route_.cfg.name;
    rec_.conn = conn_;
    seq_ = route_.seq.fetch_add(1, std::memory_order_relaxed) + 1;
    seq_text_ = std::to_string(seq_);
    rec_.id = route_.cfg.name + "-" + seq_text_;
    eff_ = faults::effect{};
    attempt_n_ = 0;
    resp_from_upstream_ = false;
    req_body_logged_ = false;
    client_version_ = 11;
  }

  // ---- faults: decide and plan (data), then carry the effect out ----------------------------

  void plan_exchange() {
    rec_.method = std::string(req_.method_string());
    rec_.target = std::string(req_.target());
    client_keep_alive_ = req_.keep_alive();
    client_version_ = req_.version();
    auto header = [this](std::string_view lower) -> std::string_view {
      auto it = req_.find(lower);
      if (it == req_.end()) return {};
      auto v = it->value();
      return std::string_view(v.data(), v.size());
    };
    for (auto name : logged_headers)
      if (auto v = header(name); !v.empty()) rec_.req_headers.emplace_back(name, v);
    for (auto const& name : srv_.cfg.log_headers)
      if (auto v = header(name); !v.empty()) rec_.req_headers.emplace_back(name, v);

    auto snapshot = srv_.fault_set.load(std::memory_order_acquire);
    if (snapshot && !snapshot->faults.empty()) {
      std::optional<json::value> body_json;
      if (!req_.body().empty() && snapshot->needs_body(route_.cfg.name)) {
        json::error_code jec;
        auto v = json::parse(req_.body(), jec);
        if (!jec) body_json = std::move(v);
      }
      faults::request_view rv;
      rv.route = route_.cfg.name;
      rv.method = req_.method_string();
      rv.target = req_.target();
      rv.header = header;
      rv.body = body_json ? &*body_json : nullptr;
      rv.body_present = !req_.body().empty();
      rv.key = faults::request_key(header("x-stormgate-op"), header("idempotency-key"), seq_text_);
      auto hits = faults::decide(*snapshot, rv, srv_.cfg.seed, core::mono_us());
      if (!hits.empty() && take_fault_slot()) {
        eff_ = faults::plan(hits, rv, faults::draw{srv_.cfg.seed, rv.key});
        for (auto const* lf : hits) {
          lf->state->injected.fetch_add(1, std::memory_order_relaxed);
          srv_.stats.fault_injected(std::string(faults::kind_of(lf->f.act)), lf->f.name);
        }
        rec_.faults = std::move(eff_.applied);
      }
    }
    if (eff_.body) {  // mutate: the record keeps the body as received
      rec_.req_body = std::move(req_.body());
      req_body_logged_ = true;
      req_.body() = std::move(*eff_.body);
      eff_.body.reset();
    }
    // the request as it goes upstream
    req_.set("X-Stormgate-Request-Id", rec_.id);
    req_.erase(http::field::connection);
    req_.erase(http::field::keep_alive);
    req_.erase("Proxy-Connection");
    req_.version(11);
    if (req_body_logged_ || req_.has_content_length()) req_.prepare_payload();
  }

  bool take_fault_slot() {
    auto cap = srv_.cfg.max_active_faults;
    auto before = srv_.stats.active_faults.fetch_add(1, std::memory_order_relaxed);
    if (cap != 0 && before >= cap) {
      srv_.stats.active_faults.fetch_sub(1, std::memory_order_relaxed);
      return false;
    }
    holding_slot_ = true;
    return true;
  }

  void do_delay() {
    if (eff_.delay_ms <= 0) return on_delay({});
    timer_.expires_after(std::chrono::milliseconds(eff_.delay_ms));
    timer_.async_wait(beast::bind_front_handler(&session::on_delay, shared_from_this()));
  }

  void on_delay(beast::error_code ec) {
    if (ec) {
      finish("client_gone", "proxy shutting down");
      return close_client();
    }
    switch (eff_.before) {
      case faults::answer::upstream: return do_attempt();
      case faults::answer::status:
        return respond_proxy(eff_.before_status, "stormgate: blackout (fault " + eff_.abort_rule + ")", "fault_abort");
      case faults::answer::reset: return reset_client("fault_abort");
      case faults::answer::hang:
        timer_.expires_after(srv_.cfg.hang_timeout);
        return timer_.async_wait(beast::bind_front_handler(&session::on_hang, shared_from_this()));
    }
  }

  void on_hang(beast::error_code) {
    finish("fault_abort");
    close_client();
  }

  // ---- the upstream: one attempt per copy ---------------------------------------------------

  void do_attempt() {
    ++attempt_n_;
    attempt_t0_us_ = core::mono_us();
    do_connect(true);
  }

  void do_connect(bool pooled) {
    auto& pool = w_.idle[route_.index];
    if (pooled && !pool.empty()) {
      up_ = std::move(pool.back());
      pool.pop_back();
      up_reused_ = true;
      return do_forward();
    }
    up_reused_ = false;
    up_ = std::make_unique<upstream_conn>(w_.ioc);
    up_->stream.expires_after(srv_.cfg.connect_timeout);
    up_->stream.async_connect(route_.endpoints, beast::bind_front_handler(&session::on_connect, shared_from_this()));
  }

  void on_connect(beast::error_code ec, tcp::endpoint const&) {
    if (ec) return upstream_failed(ec, "connect: ");
    beast::error_code ignored;
    up_->stream.socket().set_option(tcp::no_delay(true), ignored);
    do_forward();
  }

  void do_forward() {
    up_->stream.expires_after(srv_.cfg.upstream_timeout);
    http::async_write(up_->stream, req_, beast::bind_front_handler(&session::on_forward, shared_from_this()));
  }

  void on_forward(beast::error_code ec, std::size_t) {
    if (ec) {
      if (up_reused_ && retryable(ec)) return do_connect(false);  // a kept-alive connection the upstream closed
      return upstream_failed(ec, "send: ");
    }
    do_read_reply();
  }

  void do_read_reply() {
    up_parser_.emplace();
    up_parser_->body_limit(srv_.cfg.response_body_limit);
    if (req_.method() == http::verb::head) up_parser_->skip(true);
    http::async_read(up_->stream, up_->buffer, *up_parser_,
                     beast::bind_front_handler(&session::on_read_reply, shared_from_this()));
  }

  void on_read_reply(beast::error_code ec, std::size_t) {
    if (ec) {
      if (up_reused_ && !up_parser_->got_some() && retryable(ec)) return do_connect(false);
      return upstream_failed(ec, "answer: ");
    }
    auto res = up_parser_->release();
    up_parser_.reset();
    attempt_record a;
    a.n = attempt_n_;
    a.status = res.result_int();
    a.latency_us = core::mono_us() - attempt_t0_us_;
    srv_.stats.route(route_.index).observe_upstream(a.latency_us);
    release_upstream(res.keep_alive());
    if (attempt_n_ == 1) {
      res_ = std::move(res);
    } else if (!res.body().empty()) {
      a.body = std::move(res.body());
    }
    rec_.upstream.push_back(std::move(a));
    next_attempt_or_respond();
  }

  void release_upstream(bool keep) {
    auto& pool = w_.idle[route_.index];
    if (keep && !w_.stopping && pool.size() < 256) {
      up_->stream.expires_never();
      pool.push_back(std::move(up_));
    } else {
      beast::error_code ignored;
      up_->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      up_->stream.socket().close(ignored);
      up_.reset();
    }
  }

  void upstream_failed(beast::error_code ec, char const* step) {
    bool timeout = ec == beast::error::timeout;
    attempt_record a;
    a.n = attempt_n_;
    a.latency_us = core::mono_us() - attempt_t0_us_;
    a.error = step + (timeout ? std::string("timeout") : ec.message());
    up_.reset();
    up_parser_.reset();
    if (attempt_n_ > 1) {  // a duplicate copy failed: the client still gets the first answer
      rec_.upstream.push_back(std::move(a));
      return next_attempt_or_respond();
    }
    rec_.error = a.error;
    rec_.upstream.push_back(std::move(a));
    if (timeout) return respond_proxy(504, "stormgate: upstream timeout", "upstream_timeout");
    respond_proxy(502, "stormgate: upstream unreachable (" + rec_.error + ")", "upstream_error");
  }

  void next_attempt_or_respond() {
    if (attempt_n_ < eff_.copies) {
      if (eff_.spacing_ms <= 0) return do_attempt();
      timer_.expires_after(std::chrono::milliseconds(eff_.spacing_ms));
      return timer_.async_wait(beast::bind_front_handler(&session::on_spacing, shared_from_this()));
    }
    do_respond();
  }

  void on_spacing(beast::error_code ec) {
    if (ec) return do_respond();
    do_attempt();
  }

  // ---- answering the client -----------------------------------------------------------------

  void do_respond() {
    if (eff_.after != faults::answer::upstream) {
      if (!res_.body().empty()) rec_.upstream.front().body = std::move(res_.body());
      if (eff_.after == faults::answer::reset) return reset_client("fault_abort");
      return respond_proxy(eff_.after_status, "stormgate: response dropped (fault " + eff_.abort_rule + ")",
                           "fault_abort");
    }
    resp_from_upstream_ = true;
    res_.version(client_version_);
    res_.erase(http::field::connection);
    res_.erase(http::field::keep_alive);
    res_.keep_alive(client_keep_alive_ && !w_.stopping);
    if (req_.method() != http::verb::head) res_.prepare_payload();
    do_write("ok");
  }

  void respond_proxy(unsigned status, std::string const& detail, char const* outcome) {
    res_ = {};
    res_.result(status);
    res_.version(client_version_);
    res_.set(http::field::content_type, "application/json");
    res_.set(http::field::server, "stormgate");
    res_.body() = json::serialize(json::object{{"detail", detail}});
    res_.keep_alive(client_keep_alive_ && !w_.stopping);
    res_.prepare_payload();
    do_write(outcome);
  }

  void do_write(char const* outcome) {
    outcome_ = outcome;
    rec_.has_resp = true;
    rec_.resp_status = res_.result_int();
    if (auto it = res_.find(http::field::content_type); it != res_.end()) rec_.resp_content_type = std::string(it->value());
    if (auto it = res_.find("idempotent-replayed"); it != res_.end()) rec_.resp_replayed = std::string(it->value());
    client_.expires_after(srv_.cfg.request_timeout);
    http::async_write(client_, res_, beast::bind_front_handler(&session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    client_.expires_never();
    if (ec) {
      rec_.has_resp = false;
      finish("client_gone", ec == beast::error::timeout ? "timeout writing the answer" : ec.message());
      return close_client();
    }
    bool keep = res_.keep_alive();
    finish(outcome_);
    if (lingering_close_) return do_linger();
    if (!keep) return close_client();
    do_read_request();
  }

  // After an error answer, the client may still be sending: closing now would reset the connection
  // and could destroy the answer in flight. Stop sending, drain what comes (bounded), then close.
  void do_linger() {
    beast::error_code ec;
    client_.socket().shutdown(tcp::socket::shutdown_send, ec);
    client_.expires_after(std::chrono::seconds(1));
    do_drain();
  }

  void do_drain() {
    buf_.clear();
    client_.async_read_some(buf_.prepare(4096), beast::bind_front_handler(&session::on_drain, shared_from_this()));
  }

  void on_drain(beast::error_code ec, std::size_t) {
    if (ec || w_.stopping) return close_client();
    do_drain();
  }

  void reset_client(char const* outcome) {
    beast::error_code ec;
    client_.socket().set_option(asio::socket_base::linger(true, 0), ec);
    client_.socket().close(ec);
    finish(outcome);
  }

  void close_client() {
    beast::error_code ec;
    client_.socket().shutdown(tcp::socket::shutdown_send, ec);
    client_.socket().close(ec);
  }

  // ---- the one exit of an exchange ------------------------------------------------------------

  void finish(char const* outcome, std::string why = {}) {
    if (!in_exchange_) return;
    in_exchange_ = false;
    rec_.ts_end = core::now_us();
    rec_.latency_us = core::mono_us() - t0_us_;
    rec_.outcome = outcome;
    if (!why.empty() && rec_.error.empty()) rec_.error = std::move(why);
    if (!req_body_logged_ && !req_.body().empty()) rec_.req_body = std::move(req_.body());
    if (!res_.body().empty()) {
      if (resp_from_upstream_ && !rec_.upstream.empty()) rec_.upstream.front().body = std::move(res_.body());
      else if (rec_.has_resp) rec_.resp_body = std::move(res_.body());
    }
    rec_.resp_is_upstream = resp_from_upstream_ && rec_.has_resp;
    if (holding_slot_) {
      srv_.stats.active_faults.fetch_sub(1, std::memory_order_relaxed);
      holding_slot_ = false;
    }
    srv_.record(std::move(rec_), route_.index);
    req_ = {};
    res_ = {};
  }

  server& srv_;
  worker& w_;
  route_state& route_;
  beast::tcp_stream client_;
  beast::flat_buffer buf_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
  std::unique_ptr<upstream_conn> up_;
  bool up_reused_ = false;
  std::optional<http::response_parser<http::string_body>> up_parser_;
  asio::steady_timer timer_;
  std::uint64_t conn_;

  exchange_record rec_;
  bool in_exchange_ = false;
  bool holding_slot_ = false;
  bool client_keep_alive_ = false;
  bool resp_from_upstream_ = false;
  bool req_body_logged_ = false;
  bool lingering_close_ = false;
  bool reading_ = false;
  bool read_timed_out_ = false;
  unsigned client_version_ = 11;
  std::uint64_t seq_ = 0;
  std::string seq_text_;
  std::int64_t t0_us_ = 0;
  std::int64_t attempt_t0_us_ = 0;
  int attempt_n_ = 0;
  faults::effect eff_;
  char const* outcome_ = "ok";
};

}  // namespace

void start_session(server& srv, worker& w, route_state& r, tcp::socket socket) {
  std::make_shared<session>(srv, w, r, std::move(socket))->run();
}

}  // namespace stormgate::proxy::detail
