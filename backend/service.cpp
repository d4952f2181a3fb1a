// `stormgate backend`: BRAiN's credits API plus SPEC §1.1, on one io thread (the ledger's serialisation),
// with the journal's writer thread for write()/fsync and an async KARMA client.
#include "backend/backend.hpp"
#include "backend/detail/http.hpp"
#include "backend/detail/journal.hpp"
#include "backend/detail/json_out.hpp"
#include "backend/detail/ledger.hpp"
#include "core/jsonl.hpp"
#include "core/time.hpp"
#include "net/net.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <unistd.h>

namespace stormgate::backend {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace detail;

namespace {

constexpr auto defect_gap = std::chrono::milliseconds(10);  // the async gap the race defects open
constexpr std::size_t leak_bytes = 16 * 1024;

std::uint64_t rss_bytes() {
  std::ifstream in("/proc/self/statm");
  std::uint64_t size = 0, resident = 0;
  in >> size >> resident;
  return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    auto j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.emplace_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

std::string url_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else if (s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

std::map<std::string, std::string> parse_query(std::string_view q) {
  std::map<std::string, std::string> out;
  std::size_t i = 0;
  while (i <= q.size() && !q.empty()) {
    auto j = q.find('&', i);
    if (j == std::string_view::npos) j = q.size();
    auto part = q.substr(i, j - i);
    auto eq = part.find('=');
    if (!part.empty()) {
      try {
        out[url_decode(part.substr(0, eq))] = eq == std::string_view::npos ? "" : url_decode(part.substr(eq + 1));
      } catch (...) {
      }
    }
    i = j + 1;
    if (j == q.size()) break;
  }
  return out;
}

std::optional<std::int64_t> parse_int(std::string const& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || end != s.c_str() + s.size()) return std::nullopt;
  return v;
}

answer query_error(std::string_view name, std::string_view msg) {
  return json_answer(422, json::object{{"detail", json::array{json::object{
                                                      {"loc", json::array{"query", name}},
                                                      {"msg", msg},
                                                      {"type", "type_error.integer"}}}}});
}

http_answer to_http(answer const& a) {
  http_answer h{a.status, a.body};
  if (a.replayed) h.headers.emplace_back("Idempotent-Replayed", "true");
  return h;
}

}  // namespace

namespace detail {

class service {
 public:
  service(asio::io_context& ioc, backend_options opts)
      : ioc_(ioc), opts_(std::move(opts)),
        ledger_({opts_.anomaly_factor, opts_.synergy_cap, opts_.defect_}), started_us_(core::mono_us()) {}

  core::result<void> open() {
    if (!opts_.karma_url.empty()) {
      auto u = net::parse_url(opts_.karma_url, "--karma-url");
      if (!u) return u.error();
      karma_score_target_ = net::join_target(*u, "/score");
      karma_ = std::make_unique<http_client>(ioc_.get_executor(), u->host, u->port,
                                             std::chrono::milliseconds(opts_.karma_timeout_ms));
    }
    auto t0 = core::mono_us();
    auto j = journal::open(
        opts_.journal, opts_.fsync, [this](std::function<void()> f) { asio::post(ioc_, std::move(f)); },
        [this](std::uint64_t seq, json::object&& e) { replay_one(e, seq); }, warn_);
    if (!j) return j.error();
    journal_ = std::move(*j);
    note_replay(journal_->open_report().events, journal_->open_report().bad_lines, t0);
    return {};
  }

  journal& journal_ref() { return *journal_; }

  void handle(http_request&& req, responder respond) {
    ++requests_;
    if (opts_.defect_ == defect::leak) {
      auto block = std::make_unique<char[]>(leak_bytes);
      std::memset(block.get(), static_cast<int>(requests_ & 0xff), leak_bytes);
      leaked_.push_back(std::move(block));
    }
    call c{std::move(req), {}, {}, std::move(respond)};
    std::string_view target = c.req.target;
    auto qpos = target.find('?');
    auto path = target.substr(0, qpos);
    if (qpos != std::string_view::npos) c.query = parse_query(target.substr(qpos + 1));
    auto segs = split_path(path);
    bool path_known = false;
    for (auto const& r : routes()) {
      std::vector<std::string> params;
      if (!match(r.pattern, segs, params)) continue;
      path_known = true;
      if (r.method != c.req.method) continue;
      c.params = std::move(params);
      try {
        (this->*r.fn)(c);
      } catch (std::exception const& e) {
        c.respond(to_http(detail_answer(500, std::string("Internal error: ") + e.what())));
      }
      return;
    }
    if (path_known) return c.respond(to_http(detail_answer(405, "Method Not Allowed")));
    c.respond(to_http(detail_answer(404, "Not Found")));
  }

 private:
  struct call {
    http_request req;
    std::vector<std::string> params;
    std::map<std::string, std::string> query;
    responder respond;
  };
  struct route {
    std::string_view method;
    std::string_view pattern;
    void (service::*fn)(call&);
  };

  static std::vector<route> const& routes() {
    static std::vector<route> const table = {
        {"GET", "/api/health", &service::on_root_health},
        {"GET", "/api/credits/health", &service::on_health},
        {"GET", "/api/credits/info", &service::on_info},
        {"POST", "/api/credits/agents", &service::on_agents},
        {"POST", "/api/credits/consume", &service::on_consume},
        {"POST", "/api/credits/refund", &service::on_refund},
        {"POST", "/api/credits/add", &service::on_add},
        {"GET", "/api/credits/balance/{}", &service::on_balance},
        {"GET", "/api/credits/balances", &service::on_balances},
        {"GET", "/api/credits/history/{}", &service::on_history},
        {"GET", "/api/credits/metrics", &service::on_metrics},
        {"POST", "/api/credits/approvals", &service::on_request_approval},
        {"GET", "/api/credits/approvals/{}", &service::on_approval},
        {"POST", "/api/credits/approvals/{}/approve", &service::on_approve},
        {"POST", "/api/credits/approvals/{}/deny", &service::on_deny},
        {"POST", "/api/credits/synergy", &service::on_synergy},
        {"GET", "/api/credits/events", &service::on_events},
        {"POST", "/api/credits/replay", &service::on_replay},
        {"GET", "/api/credits/state", &service::on_state},
    };
    return table;
  }

  static bool match(std::string_view pattern, std::vector<std::string> const& segs, std::vector<std::string>& params) {
    auto parts = split_path(pattern);
    if (parts.size() != segs.size()) return false;
    for (std::size_t i = 0; i < parts.size(); ++i) {
      if (parts[i] == "{}") {
        try {
          params.push_back(url_decode(segs[i]));
        } catch (...) {
          return false;
        }
      } else if (parts[i] != segs[i]) {
        return false;
      }
    }
    return true;
  }

  // ---- writes ------------------------------------------------------------------------------

  request_context context_of(http_request const& r) const {
    request_context ctx;
    ctx.idempotency_key = r.header("idempotency-key");
    ctx.correlation_id = r.header("x-correlation-id");
    ctx.causation_id = r.header("x-causation-id");
    return ctx;
  }

  bool honours_keys() const { return opts_.defect_ != defect::no_idempotency; }

  // Common start of every POST write: the idempotent replay, then the causation check.
  bool prelude(call& c, request_context& ctx) {
    ctx = context_of(c.req);
    if (honours_keys()) {
      if (auto seq = ledger_.replay_seq(ctx.idempotency_key)) {
        send_replay(*seq, c.respond);
        return false;
      }
    }
    if (!ctx.causation_id.empty() && !known_event(ctx.causation_id)) {
      c.respond(to_http(detail_answer(422, "unknown causation_id: " + ctx.causation_id)));
      return false;
    }
    return true;
  }

  bool known_event(std::string const& id) {
    if (ledger_.knows_event(id)) return true;
    if (ledger_.event_ids_complete()) return false;
    for (auto const& line : journal_->read_lines(0, UINT64_MAX))  // older than the in-memory window
      if (line.find("\"event_id\":\"" + id + "\"") != std::string::npos) return true;
    return false;
  }

  // The original answer, rebuilt from the key's event once everything journaled before it is written
  // (and durable with always).
  void send_replay(std::uint64_t seq, responder const& respond) {
    ++replays_;
    journal_->submit({}, [this, seq, respond](bool) {
      auto lines = journal_->read_lines(seq - 1, 1);
      std::string err;
      auto v = lines.empty() ? std::nullopt : core::parse_json(lines.front(), err);
      auto a = v && v->is_object() ? answer_of(v->as_object()) : std::nullopt;
      if (!a) return respond(to_http(detail_answer(500, "Internal error: journal line " + std::to_string(seq) + " unreadable")));
      a->replayed = true;
      respond(to_http(*a));
    });
  }

  void finish(outcome o, request_context const& ctx, responder const& respond) {
    if (o.events.empty()) return respond(to_http(o.ans));
    std::uint64_t first = journal_->last_seq() + 1;
    auto lines = ledger_.commit(o, ctx, first);
    published_ += lines.size();
    for (auto& e : o.events) pending_.emplace_back(first++, std::move(e));
    journal_->submit(std::move(lines), [this, respond, a = std::move(o.ans)](bool ok) {
      auto written = journal_->written_seq();
      while (!pending_.empty() && pending_.front().first <= written) pending_.pop_front();
      if (!ok) return respond(to_http(detail_answer(500, "Internal error: journal write failed")));
      respond(to_http(a));
    });
  }

  template <class F>
  void after(std::chrono::milliseconds d, F f) {
    auto t = std::make_shared<asio::steady_timer>(ioc_, d);
    t->async_wait([t, f = std::move(f)](boost::system::error_code) mutable { f(); });
  }

  template <class Input>
  bool parse_or_answer(parsed<Input>&& p, Input& out, call& c) {
    if (auto* a = std::get_if<answer>(&p)) {
      c.respond(to_http(*a));
      return false;
    }
    out = std::move(std::get<Input>(p));
    return true;
  }

  void on_agents(call& c) {
    request_context ctx;
    agent_input in;
    if (!prelude(c, ctx) || !parse_or_answer(parse_agent(c.req.body), in, c)) return;
    finish(ledger_.create_agent(in, ctx), ctx, c.respond);
  }

  void on_refund(call& c) {
    request_context ctx;
    amount_input in;
    if (!prelude(c, ctx) || !parse_or_answer(parse_amount(c.req.body, true), in, c)) return;
    finish(ledger_.refund(in, ctx), ctx, c.respond);
  }

  void on_add(call& c) {
    request_context ctx;
    amount_input in;
    if (!prelude(c, ctx) || !parse_or_answer(parse_amount(c.req.body, false), in, c)) return;
    finish(ledger_.add(in, ctx), ctx, c.respond);
  }

  void on_consume(call& c) {
    request_context ctx;
    amount_input in;
    if (!prelude(c, ctx) || !parse_or_answer(parse_amount(c.req.body, true), in, c)) return;
    // lost-update: the balance is read before the async KARMA call and written after it.
    std::optional<double> early;
    if (opts_.defect_ == defect::lost_update) early = ledger_.balance(in.agent_id);
    ask_karma(in, c.req, [this, in, ctx, early, respond = c.respond](karma_result k, bool failed) {
      if (failed && opts_.defect_ == defect::karma_crash)
        return respond(to_http(detail_answer(500, "Internal error: KARMA unavailable")));
      auto decide = [this, in, ctx, early, k, respond] {
        // Serialised again after the async call: a concurrent request with this key may have won.
        if (honours_keys()) {
          if (auto seq = ledger_.replay_seq(ctx.idempotency_key)) return send_replay(*seq, respond);
        }
        double balance = early ? *early : ledger_.balance(in.agent_id);
        finish(ledger_.consume(in, ctx, k, balance), ctx, respond);
      };
      if (early) return after(defect_gap, decide);
      decide();
    });
  }

  // KARMA: POST {agent_id, amount}; CI 0.5 and karma "fallback" on any error or timeout.
  void ask_karma(amount_input const& in, http_request const& req, std::function<void(karma_result, bool)> done) {
    if (!karma_) return done(karma_result{}, false);
    std::vector<std::pair<std::string, std::string>> headers;
    for (auto const* h : {"x-stormgate-op", "x-correlation-id"}) {
      auto v = req.header(h);
      if (!v.empty()) headers.emplace_back(h, v);
    }
    ++karma_calls_;
    karma_->post(karma_score_target_, to_json(json::object{{"agent_id", in.agent_id}, {"amount", in.amount}}),
                 std::move(headers), [this, done = std::move(done)](client_result r) {
                   karma_result k;
                   if (r.ok && r.status == 200) {
                     std::string err;
                     auto v = core::parse_json(r.body, err);
                     auto ci = v ? core::get_number(*v, "ci") : std::nullopt;
                     if (ci && std::isfinite(*ci)) {
                       k.ci = std::clamp(*ci, 0.3, 0.7);
                       k.ok = true;
                       return done(k, false);
                     }
                   }
                   ++karma_fallbacks_;
                   done(k, true);
                 });
  }

  void on_request_approval(call& c) {
    request_context ctx;
    approval_input in;
    if (!prelude(c, ctx) || !parse_or_answer(parse_approval(c.req.body), in, c)) return;
    finish(ledger_.request_approval(in, ctx), ctx, c.respond);
  }

  void on_approve(call& c) { decide(c, true); }
  void on_deny(call& c) { decide(c, false); }

  void decide(call& c, bool approve) {
    request_context ctx;
    decision_input in;
    if (!prelude(c, ctx) || !parse_or_answer(parse_decision(c.req.body), in, c)) return;
    auto id = c.params.at(0);
    if (auto refused = ledger_.decision_refused(id)) return c.respond(to_http(*refused));
    if (opts_.defect_ == defect::double_approve) {
      // The pending check above and the decision below are split by an async gap.
      return after(defect_gap, [this, id, approve, in, ctx, respond = c.respond] {
        finish(ledger_.decide(id, approve, in, ctx), ctx, respond);
      });
    }
    finish(ledger_.decide(id, approve, in, ctx), ctx, c.respond);
  }

  void on_synergy(call& c) {
    request_context ctx;
    synergy_input in;
    if (!prelude(c, ctx) || !parse_or_answer(parse_synergy(c.req.body), in, c)) return;
    finish(ledger_.synergy(in, ctx), ctx, c.respond);
  }

  // ---- reads -------------------------------------------------------------------------------

  void on_root_health(call& c) {
    c.respond(to_http(json_answer(200, json::object{{"status", "ok"},
                                                    {"message", "stormgate reference credit backend is running"},
                                                    {"version", "0.3.0"}})));
  }

  void on_health(call& c) {
    c.respond(to_http(json_answer(200, json::object{{"status", "ok"}, {"timestamp", brain_timestamp()}})));
  }

  void on_info(call& c) {
    json::object cfg{{"event_sourcing_enabled", true}, {"event_sourcing_metrics", metrics()}};
    c.respond(to_http(json_answer(
        200, json::object{{"name", "brain.credits"},
                          {"version", "2.0.0"},
                          {"config", std::move(cfg)},
                          {"reference", json::object{{"fsync", to_string(opts_.fsync)},
                                                     {"defect", to_string(opts_.defect_)},
                                                     {"karma_url", opts_.karma_url},
                                                     {"anomaly_factor", opts_.anomaly_factor},
                                                     {"synergy_cap", opts_.synergy_cap}}}})));
  }

  void on_balance(call& c) {
    auto const& id = c.params.at(0);
    c.respond(to_http(json_answer(200, json::object{{"agent_id", id}, {"balance", ledger_.balance(id)}})));
  }

  void on_balances(call& c) {
    json::object b;
    for (auto const& [id, a] : ledger_.state().agents) b[id] = a.balance;
    auto n = b.size();
    c.respond(to_http(json_answer(200, json::object{{"balances", std::move(b)}, {"total_agents", n}})));
  }

  void on_history(call& c) {
    auto const& id = c.params.at(0);
    std::int64_t limit = 10;
    if (auto it = c.query.find("limit"); it != c.query.end()) {
      auto v = parse_int(it->second);
      if (!v) return c.respond(to_http(query_error("limit", "value is not a valid integer")));
      limit = *v;
    }
    json::array h;
    std::size_t total = 0;
    if (auto it = ledger_.state().agents.find(id); it != ledger_.state().agents.end()) {
      auto const& entries = it->second.history;
      total = entries.size();
      std::size_t n = total;  // Python's entries[:limit]: 0 = all, negative drops from the end
      if (limit > 0) n = std::min<std::size_t>(total, static_cast<std::size_t>(limit));
      if (limit < 0) n = static_cast<std::size_t>(std::max<std::int64_t>(0, static_cast<std::int64_t>(total) + limit));
      for (std::size_t i = 0; i < n; ++i) {
        auto const& e = entries[i];
        h.push_back(json::object{{"event_id", e.event_id},
                                 {"timestamp", e.timestamp},
                                 {"entity_id", id},
                                 {"entity_type", "agent"},
                                 {"amount", e.amount},
                                 {"balance_after", e.balance_after},
                                 {"reason", e.reason},
                                 {"mission_id", e.mission_id.empty() ? json::value() : json::value(e.mission_id)}});
      }
    }
    c.respond(to_http(json_answer(200, json::object{{"agent_id", id}, {"history", std::move(h)}, {"total_entries", total}})));
  }

  json::object metrics() const {
    double size_mb = static_cast<double>(journal_->file_bytes()) / (1024.0 * 1024.0);
    json::object by_type;
    for (auto const& [t, n] : ledger_.state().events_by_type) by_type[t] = n;
    return json::object{
        {"journal", json::object{{"total_events", journal_->written_seq()},
                                 {"file_size_mb", std::round(size_mb * 1e6) / 1e6},
                                 {"idempotency_violations", ledger_.idempotency_violations()},
                                 {"file_path", journal_->path()},
                                 {"fsync", to_string(opts_.fsync)},
                                 {"idempotent_replays", replays_}}},
        {"event_bus", json::object{{"total_published", published_},
                                   {"total_subscriber_errors", 0},
                                   {"subscribers_by_type", json::object{}},
                                   {"events_by_type", std::move(by_type)}}},
        {"replay", json::object{{"total_events", replay_events_},
                                {"replay_duration_seconds", replay_seconds_},
                                {"last_replay_timestamp", replay_ts_},
                                {"integrity_errors_count", replay_errors_},
                                {"snapshot_used", false},
                                {"events_skipped_by_snapshot", 0},
                                {"snapshot_restore_duration_seconds", 0.0}}},
        {"karma", json::object{{"url", opts_.karma_url}, {"calls", karma_calls_}, {"fallbacks", karma_fallbacks_}}},
        {"process", json::object{{"rss_bytes", rss_bytes()},
                                 {"uptime_s", static_cast<double>(core::mono_us() - started_us_) / 1e6},
                                 {"requests", requests_}}}};
  }

  void on_metrics(call& c) { c.respond(to_http(json_answer(200, metrics()))); }

  void on_approval(call& c) {
    auto const& id = c.params.at(0);
    auto const& all = ledger_.state().approvals;
    auto it = all.find(id);
    if (it == all.end()) return c.respond(to_http(detail_answer(404, "Approval request " + id + " not found")));
    auto const& s = it->second;
    auto opt = [](std::string const& v) { return v.empty() ? json::value() : json::value(v); };
    c.respond(to_http(json_answer(200, json::object{{"approval_id", id},
                                                    {"agent_id", s.agent_id},
                                                    {"amount", s.amount},
                                                    {"reason", s.reason},
                                                    {"requester_id", s.requester_id},
                                                    {"status", s.status},
                                                    {"version", s.version},
                                                    {"decided_by", opt(s.decided_by)},
                                                    {"decided_at", opt(s.decided_at)},
                                                    {"event_id", s.requested_event_id}})));
  }

  void on_events(call& c) {
    std::uint64_t after = 0, limit = 1000;
    for (auto [name, target] : {std::pair{"after", &after}, std::pair{"limit", &limit}}) {
      auto it = c.query.find(name);
      if (it == c.query.end()) continue;
      auto v = parse_int(it->second);
      if (!v || *v < 0) return c.respond(to_http(query_error(name, "value is not a valid non-negative integer")));
      *target = static_cast<std::uint64_t>(*v);
    }
    limit = std::min<std::uint64_t>(limit, 100000);
    // Everything queued so far is written first, so the export never misses an answered write.
    journal_->submit({}, [this, after, limit, respond = c.respond](bool) {
      auto lines = journal_->read_lines(after, limit);
      http_answer h;
      h.content_type = "application/x-ndjson";
      for (auto const& l : lines) {
        h.body += l;
        h.body += '\n';
      }
      h.headers.emplace_back("X-Stormgate-Last-Seq", std::to_string(after + lines.size()));
      h.headers.emplace_back("X-Stormgate-Journal-Seq", std::to_string(journal_->written_seq()));
      respond(std::move(h));
    });
  }

  void replay_one(json::object const& e, std::uint64_t seq) {
    if (opts_.defect_ == defect::replay_drift && text_of(e, "event_type") == event_type::refunded) return;
    ledger_.on_event(e, seq);
  }

  void note_replay(std::uint64_t events, std::uint64_t errors, std::int64_t t0) {
    replay_events_ = events;
    replay_errors_ = errors;
    replay_seconds_ = static_cast<double>(core::mono_us() - t0) / 1e6;
    replay_ts_ = brain_timestamp();
  }

  void on_replay(call& c) {
    journal_->submit({}, [this, respond = c.respond](bool) {
      auto t0 = core::mono_us();
      ledger_.reset();
      auto rep = journal_->rescan([this](std::uint64_t seq, json::object&& e) { replay_one(e, seq); }, warn_);
      if (!rep) return respond(to_http(detail_answer(500, "Internal error: " + rep.error().message())));
      std::uint64_t events = rep->events;
      for (auto const& [seq, e] : pending_) {  // queued after the barrier, not yet in the file
        if (seq <= rep->lines) continue;
        replay_one(e, seq);
        ++events;
      }
      note_replay(events, rep->bad_lines, t0);
      respond(to_http(json_answer(200, json::object{{"events", events},
                                                    {"duration_ms", std::round(replay_seconds_ * 1e6) / 1e3},
                                                    {"state_digest", state_digest(ledger_.state())}})));
    });
  }

  void on_state(call& c) { c.respond(to_http(json_answer(200, snapshot(ledger_.state())))); }

  asio::io_context& ioc_;
  backend_options opts_;
  ledger ledger_;
  std::unique_ptr<journal> journal_;
  std::unique_ptr<http_client> karma_;
  std::string karma_score_target_;
  std::deque<std::pair<std::uint64_t, json::object>> pending_;  // journaled, not yet written
  std::vector<std::unique_ptr<char[]>> leaked_;                 // --defect leak
  warn_fn warn_ = [](std::string const& m) { std::fprintf(stderr, "stormgate backend: %s\n", m.c_str()); };
  std::int64_t started_us_;
  std::uint64_t requests_ = 0, replays_ = 0, published_ = 0, karma_calls_ = 0, karma_fallbacks_ = 0;
  std::uint64_t replay_events_ = 0, replay_errors_ = 0;
  double replay_seconds_ = 0;
  std::string replay_ts_;
};

}  // namespace detail

int run_backend(backend_options const& opts) {
  auto ep = net::parse_listen(opts.listen, "--listen");
  if (!ep) throw core::failure(ep.error());
  if (opts.karma_timeout_ms <= 0) throw core::failure(core::usage_error("--karma-timeout-ms", "must be positive"));
  if (!(opts.anomaly_factor > 0)) throw core::failure(core::usage_error("--anomaly-factor", "must be positive"));
  if (!(opts.synergy_cap >= 0)) throw core::failure(core::usage_error("--synergy-cap", "must not be negative"));

  asio::io_context ioc(1);
  service svc(ioc, opts);
  if (auto r = svc.open(); !r) throw core::failure(r.error());
  std::unique_ptr<http_server> server;
  try {
    server = std::make_unique<http_server>(ioc.get_executor(), *ep,
                                           [&svc](http_request&& r, responder respond) { svc.handle(std::move(r), std::move(respond)); });
  } catch (boost::system::system_error const& e) {
    throw core::failure(core::unavailable_error(opts.listen, std::string("cannot listen: ") + e.code().message()));
  }
  server->start();
  net::announce_listening("backend", server->local_endpoint());

  // SIGINT/SIGTERM: stop accepting, let the answers in hand go out, write and fsync the journal.
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  asio::steady_timer grace(ioc);
  signals.async_wait([&](boost::system::error_code ec, int) {
    if (ec) return;
    server->stop();
    svc.journal_ref().submit({}, [&](bool) {
      grace.expires_after(std::chrono::milliseconds(200));
      grace.async_wait([&](boost::system::error_code) { ioc.stop(); });
    });
  });
  ioc.run();
  svc.journal_ref().close();
  return core::exit_go;
}

}  // namespace stormgate::backend
