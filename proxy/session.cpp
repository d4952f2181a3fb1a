// proxy::session: one client connection on one route. The chain reads top to bottom:
//   run → read_request → parse_request ⇄ on_client_read → on_request (plan) → do_delay → on_delay
//   → do_attempt → do_connect → on_connect → do_forward → on_forward → read_reply → parse_reply
//   ⇄ on_upstream_read → on_reply → do_respond → send_to_client → on_write → finish → (next request)
// Every exchange ends in finish(outcome), which writes exactly one record.
//
// Costs per exchange are kept near a plain relay's: messages are parsed into reused buffers, heads
// are written as text, a send is tried at once (the socket is non-blocking) and only a send that
// would block waits; timeouts share one watchdog timer per connection that is re-armed lazily.
#include "core/time.hpp"
#include "proxy/detail/drained_read.hpp"
#include "proxy/detail/http1.hpp"
#include "proxy/detail/server.hpp"
#include "proxy/detail/stop_waiting.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/json/parse.hpp>
#include <array>
#include <charconv>
#include <deque>

namespace stormgate::proxy::detail {

namespace json = boost::json;

namespace {

using clock = std::chrono::steady_clock;
using buffers = std::array<asio::const_buffer, 2>;

bool retryable(beast::error_code ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == asio::error::connection_aborted;
}

constexpr std::string_view logged_headers[] = {"x-stormgate-op", "idempotency-key", "x-correlation-id",
                                               "x-causation-id"};

constexpr std::size_t read_size = 16 * 1024;

// The space for the next read. A buffer that still holds a partial message reads less than
// read_size, so that its capacity stays read_size: asking a flat_buffer for read_size on top of what
// it holds makes it reallocate to a little more each time, and over hours every connection's buffer
// would creep up to the largest partial message it ever held.
asio::mutable_buffer read_space(beast::flat_buffer& b) {
  constexpr std::size_t least = 4 * 1024;
  auto held = b.size();
  return b.prepare(held + least < read_size ? read_size - held : least);
}

buffers skip(buffers b, std::size_t n) {
  for (auto& x : b) {
    auto k = std::min(n, x.size());
    x += k;
    n -= k;
  }
  return b;
}

// Sends what the socket takes now, without waiting. "Would block" is not an error: the caller
// waits for the rest.
std::size_t send_now(stream_socket& s, buffers const& b, beast::error_code& ec) {
  std::size_t sent = 0, total = asio::buffer_size(b);
  while (sent < total) {
    auto n = s.write_some(skip(b, sent), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      ec = {};
      break;
    }
    if (ec) break;
    sent += n;
  }
  return sent;
}

// Whether a request or an answer is first tried at once (send_now) before its async write. On epoll
// it usually goes whole, which saves the reactor's round. On io_uring the async write goes into the
// ring with the loop's other operations and costs no system call of its own, where send_now would
// cost one.
constexpr bool send_at_once = !on_io_uring;

// What the connection waits for; the watchdog's action when the wait outlives its deadline.
enum class wait { none, request_start, request_rest, upstream, client_write, linger };

class session : public std::enable_shared_from_this<session>, public closable {
 public:
  session(server& srv, worker& w, route_state& r, stream_socket s)
      : srv_(srv), w_(w), route_(r), client_(std::move(s)), watchdog_(w.ioc.get_executor()),
        fault_timer_(w.ioc.get_executor()), conn_(srv.conn_seq.fetch_add(1, std::memory_order_relaxed) + 1) {
    w_.sessions.insert(this);
    srv_.stats.route(route_.index).open_connections.fetch_add(1, std::memory_order_relaxed);
  }

  ~session() override {
    if (in_exchange_) finish("client_gone", "connection dropped");
    srv_.stats.route(route_.index).open_connections.fetch_sub(1, std::memory_order_relaxed);
    w_.sessions.erase(this);
  }

  void run() {
    beast::error_code ec;
    client_.set_option(tcp::no_delay(true), ec);
    client_.non_blocking(true, ec);
    client_inq_ = enable_inq(client_);
    read_request();
  }

  void shutdown(bool force) override {
    if (force) {
      fault_timer_.cancel();
      if (up_) end_socket(up_->socket);
      end_socket(client_);
    } else if (!in_exchange_) {
      end_socket(client_);  // nothing in hand: stop waiting for the next request
    }
  }

 private:
  // ---- timeouts: one watchdog per connection ----------------------------------------------------
  // expect() names the wait and its deadline. The timer is re-armed only when the new deadline is
  // earlier than the one it is armed for; when it fires early it re-arms for the current deadline.
  // A wait that outlives its deadline has its socket cancelled, and settle() turns that into a timeout.

  void expect(wait w, clock::time_point deadline) {
    phase_ = w;
    deadline_ = deadline;
    if (!armed_ || deadline < armed_until_) arm(deadline);
  }
  void expect(wait w, std::chrono::milliseconds limit) { expect(w, clock::now() + limit); }

  void arm(clock::time_point at) {
    armed_ = true;
    armed_until_ = at;
    watchdog_.expires_at(at);
    watchdog_.async_wait([self = weak_from_this(), gen = ++watchdog_gen_](beast::error_code ec) {
      if (auto s = self.lock()) s->on_watchdog(gen, ec);
    });
  }

  void on_watchdog(std::uint64_t gen, beast::error_code ec) {
    if (gen != watchdog_gen_) return;  // a wait that a re-arm replaced
    armed_ = false;
    if (ec || phase_ == wait::none) return;
    if (clock::now() < deadline_) return arm(deadline_);
    fired_ = true;
    if (phase_ == wait::upstream) {
      if (up_) stop_waiting(up_->socket, side::both);
    } else {
      stop_waiting(client_, phase_ == wait::client_write ? side::both : side::receive);
    }
  }

  // A wait the watchdog ended is a timeout: cancelled on epoll; on io_uring an end of stream or an
  // error from the shutdown (stop_waiting).
  beast::error_code settle(beast::error_code ec) {
    phase_ = wait::none;
    if (fired_) {
      fired_ = false;
      if (ec == asio::error::operation_aborted || (stop_by_shutdown && ec)) ec = beast::error::timeout;
    }
    return ec;
  }

  // ---- reading the client's request ---------------------------------------------------------

  void read_request() {
    if (w_.stopping) return close_client();
    req_reader_.emplace(req_);
    req_reader_->header_limit(static_cast<std::uint32_t>(srv_.cfg.header_limit));
    req_reader_->body_limit(srv_.cfg.body_limit);
    req_reader_->eager(true);
    request_deadline_.reset();
    continue_sent_ = false;
    parse_request();
  }

  void parse_request() {
    beast::error_code ec;
    while (buf_.size() > 0) {
      auto n = req_reader_->put(buf_.data(), ec);
      buf_.consume(n);
      if (ec == http::error::need_more) {
        ec = {};
        break;
      }
      if (ec || req_reader_->is_done()) return on_request(ec);
      if (n == 0) break;
    }
    // More is needed. An idle connection waits up to idle_timeout for a request to begin; a begun
    // request must be whole within request_timeout of its first bytes.
    if (buf_.size() > 0 || req_reader_->got_some()) {
      if (!request_deadline_) request_deadline_ = clock::now() + srv_.cfg.request_timeout;
      send_continue();
      expect(wait::request_rest, *request_deadline_);
    } else {
      expect(wait::request_start, srv_.cfg.idle_timeout);
    }
    // With TCP_INQ the read waits for its edge (proxy/detail/drained_read.hpp). Without it, a client
    // that half-closes after a whole request sends no further edge: its reads try recv() at once.
    auto on_read = beast::bind_front_handler(&session::on_client_read, shared_from_this());
    if (client_inq_) async_read_drained(client_, read_space(buf_), read_kind::fresh, true, std::move(on_read));
    else client_.async_read_some(read_space(buf_), std::move(on_read));
  }

  // A client that sent "Expect: 100-continue" waits for this before it sends the body.
  void send_continue() {
    if (continue_sent_ || !req_reader_->is_header_done() || req_.version < 11) return;
    auto expect_value = req_.find(http::field::expect);
    if (expect_value.size() != 12 || !std::equal(expect_value.begin(), expect_value.end(), "100-continue",
                                                 [](char a, char b) { return (a | 0x20) == (b | 0x20); }))
      return;
    continue_sent_ = true;
    static constexpr std::string_view line = "HTTP/1.1 100 Continue\r\n\r\n";
    beast::error_code ignored;
    send_now(client_, {asio::buffer(line.data(), line.size()), asio::const_buffer()}, ignored);
  }

  void on_client_read(beast::error_code ec, std::size_t n) {
    ec = settle(ec);
    buf_.commit(n);
    if (!ec) return parse_request();
    bool begun = buf_.size() > 0 || req_reader_->got_some();
    // idle timeout, client closed, shutdown: no exchange began (or the proxy is going away)
    if (!begun || ec == asio::error::operation_aborted) return close_client();
    on_request(ec);
  }

  void on_request(beast::error_code ec) {
    begin_exchange();
    if (ec) {
      if (req_reader_->is_header_done()) {
        rec_.method = req_.method_text();
        rec_.target = req_.target();
      }
      if (ec == http::error::partial_message || ec == asio::error::eof || ec == asio::error::connection_reset) {
        finish("client_gone", "client closed mid-request");
        return close_client();
      }
      unsigned status = 400;
      std::string why = ec.message();
      if (ec == http::error::header_limit && req_.method_len == 0) status = 414, why = "request line too long";
      else if (ec == http::error::header_limit) status = 431, why = "request headers too large";
      else if (ec == framing_error::unsupported_transfer_coding) status = 501;
      else if (ec == http::error::body_limit) status = 413, why = "request body too large";
      else if (ec == beast::error::timeout) status = 408, why = "request not received in time";
      client_keep_alive_ = false;
      lingering_close_ = true;
      rec_.error = why;
      return respond_proxy(status, "stormgate: " + why, "client_error");
    }
    plan_exchange();
    do_delay();
  }

  void begin_exchange() {
    in_exchange_ = true;
    t0_us_ = core::mono_us();
    rec_.clear();
    rec_.ts = core::now_us();
    rec_.route = route_.cfg.name;
    rec_.conn = conn_;
    auto seq = route_.seq.fetch_add(1, std::memory_order_relaxed) + 1;
    id_.assign(route_.cfg.name);
    id_ += '-';
    char digits[24];
    auto prefix = id_.size();
    id_.append(digits, std::to_chars(digits, digits + sizeof digits, seq).ptr);
    rec_.id = id_;
    seq_text_ = std::string_view(id_).substr(prefix);
    eff_ = faults::effect{};
    mutated_body_.reset();
    attempt_n_ = 0;
    resp_from_upstream_ = false;
    client_version_ = 11;
  }

  // ---- faults: decide and plan (data), then carry the effect out ----------------------------

  void plan_exchange() {
    rec_.method = req_.method_text();
    rec_.target = req_.target();
    client_keep_alive_ = req_reader_->keep_alive();
    client_version_ = req_.version;
    auto header = [this](std::string_view lower) { return req_.find(lower); };
    for (auto name : logged_headers)
      if (auto v = header(name); !v.empty()) rec_.req_headers.emplace_back(name, v);
    for (auto const& name : srv_.cfg.log_headers) {
      bool listed = std::find(std::begin(logged_headers), std::end(logged_headers), name) != std::end(logged_headers);
      if (auto v = header(name); !v.empty() && !listed) rec_.req_headers.emplace_back(name, v);
    }

    auto snapshot = srv_.fault_set.load(std::memory_order_acquire);
    if (snapshot && !snapshot->faults.empty()) {
      std::optional<json::value> body_json;
      if (!req_.body.empty() && snapshot->needs_body(route_.cfg.name)) {
        json::error_code jec;
        auto v = json::parse(req_.body, jec);
        if (!jec) body_json = std::move(v);
      }
      faults::request_view rv;
      rv.route = route_.cfg.name;
      rv.method = req_.method_text();
      rv.target = req_.target();
      rv.header = header;
      rv.body = body_json ? &*body_json : nullptr;
      rv.body_present = !req_.body.empty();
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
    if (eff_.body) {  // mutate: the record keeps the body as received, the upstream gets this one
      mutated_body_ = std::move(*eff_.body);
      eff_.body.reset();
    }
    bool send_length = mutated_body_ || req_reader_->content_length() || req_reader_->chunked();
    write_upstream_head(up_head_, req_, id_, upstream_body().size(), send_length);
  }

  std::string_view upstream_body() const { return mutated_body_ ? *mutated_body_ : req_.body; }

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
    fault_timer_.expires_after(std::chrono::milliseconds(eff_.delay_ms));
    fault_timer_.async_wait(beast::bind_front_handler(&session::on_delay, shared_from_this()));
  }

  void on_delay(beast::error_code ec) {
    if (ec) {
      finish("client_gone", "proxy shutting down");
      return close_client();
    }
    switch (eff_.before) {
      case faults::answer::upstream: return do_attempt();
      case faults::answer::status:
        return respond_proxy(eff_.before_status, "stormgate: blackout (fault " + eff_.abort_rule + ")", "fault_abort",
                             eff_.abort_rule);
      case faults::answer::reset: return reset_client("fault_abort");
      case faults::answer::hang:
        fault_timer_.expires_after(srv_.cfg.hang_timeout);
        return fault_timer_.async_wait(beast::bind_front_handler(&session::on_hang, shared_from_this()));
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
    expect(wait::upstream, srv_.cfg.connect_timeout);
    asio::async_connect(up_->socket, route_.endpoints, beast::bind_front_handler(&session::on_connect, shared_from_this()));
  }

  void on_connect(beast::error_code ec, tcp::endpoint const&) {
    ec = settle(ec);
    if (ec) return upstream_failed(ec, "connect: ");
    beast::error_code ignored;
    up_->socket.set_option(tcp::no_delay(true), ignored);
    up_->socket.non_blocking(true, ignored);
    up_->inq = enable_inq(up_->socket);
    do_forward();
  }

  // The upstream's deadline covers sending the request and reading the whole answer.
  void do_forward() {
    upstream_deadline_ = clock::now() + srv_.cfg.upstream_timeout;
    auto body = upstream_body();
    buffers out{asio::buffer(up_head_), asio::buffer(body.data(), body.size())};
    beast::error_code ec;
    auto sent = send_at_once ? send_now(up_->socket, out, ec) : 0;
    if (ec || sent == asio::buffer_size(out)) return on_forward(ec, sent);
    expect(wait::upstream, upstream_deadline_);
    asio::async_write(up_->socket, skip(out, sent), beast::bind_front_handler(&session::on_forward, shared_from_this()));
  }

  void on_forward(beast::error_code ec, std::size_t) {
    ec = settle(ec);
    if (ec) {
      if (up_reused_ && retryable(ec)) return do_connect(false);  // a kept-alive connection the upstream closed
      return upstream_failed(ec, "send: ");
    }
    read_reply();
  }

  void read_reply() {
    res_reader_.emplace(attempt_n_ == 1 ? res_ : copy_);
    res_reader_->body_limit(srv_.cfg.response_body_limit);
    res_reader_->eager(true);
    if (req_.method == http::verb::head) res_reader_->skip(true);
    parse_reply();
  }

  void parse_reply() {
    auto& in = up_->buffer;
    beast::error_code ec;
    while (in.size() > 0) {
      auto n = res_reader_->put(in.data(), ec);
      in.consume(n);
      if (ec == http::error::need_more) {
        ec = {};
        break;
      }
      if (ec) return upstream_failed(ec, "answer: ");
      if (res_reader_->is_done()) return on_reply();
      if (n == 0) break;
    }
    expect(wait::upstream, upstream_deadline_);
    auto kind = in.size() > 0 || res_reader_->got_some() ? read_kind::rest : read_kind::fresh;
    async_read_drained(up_->socket, read_space(in), kind, up_->inq,
                       beast::bind_front_handler(&session::on_upstream_read, shared_from_this()));
  }

  void on_upstream_read(beast::error_code ec, std::size_t n) {
    ec = settle(ec);
    up_->buffer.commit(n);
    if (!ec) return parse_reply();
    bool got_some = res_reader_->got_some();
    if (ec == asio::error::eof) {
      if (!got_some) {
        ec = http::error::end_of_stream;
      } else {  // an answer that ends with the connection
        res_reader_->put_eof(ec);
        if (!ec && res_reader_->is_done()) return on_reply();
      }
    }
    if (up_reused_ && !got_some && retryable(ec)) return do_connect(false);
    upstream_failed(ec, "answer: ");
  }

  void on_reply() {
    auto& answer = attempt_n_ == 1 ? res_ : copy_;
    attempt_record a;
    a.n = attempt_n_;
    a.status = answer.status;
    a.replayed = answer.find("idempotent-replayed");  // a copy: copy_ is read again for the next attempt
    a.latency_us = core::mono_us() - attempt_t0_us_;
    srv_.stats.route(route_.index).observe_upstream(a.latency_us);
    release_upstream(res_reader_->keep_alive());
    res_reader_.reset();
    if (attempt_n_ == 1) {
      if (!res_.body.empty()) a.body = res_.body;
    } else if (!copy_.body.empty()) {
      copy_bodies_.push_back(copy_.body);  // a deque: the record's views stay valid
      a.body = copy_bodies_.back();
    }
    rec_.upstream.push_back(std::move(a));
    next_attempt_or_respond();
  }

  void release_upstream(bool keep) {
    auto& pool = w_.idle[route_.index];
    if (keep && !w_.stopping && pool.size() < 256) {
      pool.push_back(std::move(up_));
    } else {
      beast::error_code ignored;
      up_->socket.shutdown(tcp::socket::shutdown_both, ignored);
      up_->socket.close(ignored);
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
    res_reader_.reset();
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
      fault_timer_.expires_after(std::chrono::milliseconds(eff_.spacing_ms));
      return fault_timer_.async_wait(beast::bind_front_handler(&session::on_spacing, shared_from_this()));
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
      if (eff_.after == faults::answer::reset) return reset_client("fault_abort");
      return respond_proxy(eff_.after_status, "stormgate: response dropped (fault " + eff_.abort_rule + ")",
                           "fault_abort", eff_.abort_rule);
    }
    resp_from_upstream_ = true;
    bool keep = client_keep_alive_ && !w_.stopping;
    write_client_head(client_head_, res_, client_version_, keep, req_.method == http::verb::head);
    rec_.resp_status = res_.status;
    rec_.resp_content_type = res_.find(http::field::content_type);
    rec_.resp_replayed = res_.find("idempotent-replayed");
    send_to_client(res_.body, "ok", keep);
  }

  void respond_proxy(unsigned status, std::string const& detail, char const* outcome, std::string_view fault_rule = {}) {
    bool keep = client_keep_alive_ && !w_.stopping;
    write_proxy_answer(client_head_, own_body_, status, detail, client_version_, keep, fault_rule);
    rec_.resp_status = status;
    rec_.resp_content_type = "application/json";
    rec_.resp_replayed = {};
    rec_.resp_body = own_body_;
    send_to_client(own_body_, outcome, keep);
  }

  void send_to_client(std::string_view body, char const* outcome, bool keep) {
    outcome_ = outcome;
    keep_client_ = keep;
    rec_.has_resp = true;
    buffers out{asio::buffer(client_head_), asio::buffer(body.data(), body.size())};
    beast::error_code ec;
    auto sent = send_at_once ? send_now(client_, out, ec) : 0;
    if (ec || sent == asio::buffer_size(out)) return on_write(ec, sent);
    expect(wait::client_write, srv_.cfg.request_timeout);
    asio::async_write(client_, skip(out, sent), beast::bind_front_handler(&session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    ec = settle(ec);
    if (ec) {
      rec_.has_resp = false;
      finish("client_gone", ec == beast::error::timeout ? "timeout writing the answer" : ec.message());
      return close_client();
    }
    finish(outcome_);
    if (lingering_close_) return do_linger();
    if (!keep_client_) return close_client();
    read_request();
  }

  // After an error answer, the client may still be sending: closing now would reset the connection
  // and could destroy the answer in flight. Stop sending, drain what comes (bounded), then close.
  void do_linger() {
    beast::error_code ec;
    client_.shutdown(tcp::socket::shutdown_send, ec);
    expect(wait::linger, std::chrono::seconds(1));
    do_drain();
  }

  void do_drain() {
    buf_.clear();
    client_.async_read_some(buf_.prepare(4096), beast::bind_front_handler(&session::on_drain, shared_from_this()));
  }

  void on_drain(beast::error_code ec, std::size_t) {
    if (ec || w_.stopping) {
      settle(ec);
      return close_client();
    }
    do_drain();
  }

  void reset_client(char const* outcome) {
    beast::error_code ec;
    client_.set_option(asio::socket_base::linger(true, 0), ec);
    client_.close(ec);
    finish(outcome);
  }

  void close_client() {
    beast::error_code ec;
    phase_ = wait::none;
    client_.shutdown(tcp::socket::shutdown_send, ec);
    client_.close(ec);
  }

  // ---- the one exit of an exchange ------------------------------------------------------------

  void finish(char const* outcome, std::string why = {}) {
    if (!in_exchange_) return;
    in_exchange_ = false;
    rec_.latency_us = core::mono_us() - t0_us_;
    rec_.ts_end = rec_.ts + std::chrono::microseconds(rec_.latency_us);
    rec_.outcome = outcome;
    if (!why.empty() && rec_.error.empty()) rec_.error = std::move(why);
    if (!req_.body.empty()) rec_.req_body = req_.body;
    rec_.resp_is_upstream = resp_from_upstream_ && rec_.has_resp;
    if (holding_slot_) {
      srv_.stats.active_faults.fetch_sub(1, std::memory_order_relaxed);
      holding_slot_ = false;
    }
    srv_.record(rec_, route_.index, log_line_);
    rec_.clear();
    copy_bodies_.clear();
    mutated_body_.reset();
    req_.clear();
    res_.clear();
  }

  server& srv_;
  worker& w_;
  route_state& route_;
  stream_socket client_;
  beast::flat_buffer buf_;
  http_message req_;
  http_message res_;   // the first copy's answer: the one the client gets
  http_message copy_;  // answers of further copies (duplicate)
  std::optional<message_reader<true>> req_reader_;
  std::optional<message_reader<false>> res_reader_;
  std::string up_head_, client_head_, own_body_;
  std::optional<std::string> mutated_body_;
  std::deque<std::string> copy_bodies_;
  std::unique_ptr<upstream_conn> up_;
  bool up_reused_ = false;

  steady_timer watchdog_;
  steady_timer fault_timer_;  // delay, hang, duplicate spacing
  wait phase_ = wait::none;
  bool armed_ = false, fired_ = false;
  std::uint64_t watchdog_gen_ = 0;
  clock::time_point deadline_{}, armed_until_{}, upstream_deadline_{};
  std::optional<clock::time_point> request_deadline_;

  std::uint64_t conn_;
  exchange_record rec_;
  std::string log_line_;
  std::string id_;
  std::string_view seq_text_;
  bool in_exchange_ = false;
  bool client_inq_ = false;  // TCP_INQ on the client's socket
  bool holding_slot_ = false;
  bool client_keep_alive_ = false;
  bool keep_client_ = false;
  bool resp_from_upstream_ = false;
  bool lingering_close_ = false;
  bool continue_sent_ = false;
  unsigned client_version_ = 11;
  std::int64_t t0_us_ = 0;
  std::int64_t attempt_t0_us_ = 0;
  int attempt_n_ = 0;
  faults::effect eff_;
  char const* outcome_ = "ok";
};

}  // namespace

void start_session(server& srv, worker& w, route_state& r, stream_socket socket) {
  std::make_shared<session>(srv, w, r, std::move(socket))->run();
}

}  // namespace stormgate::proxy::detail
