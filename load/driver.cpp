#include "load/detail/driver.hpp"
#include "load/plan_builder.hpp"

#include "core/causes.hpp"
#include "core/hash.hpp"
#include "core/jsonl.hpp"
#include "core/subprocess.hpp"
#include "core/time.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sys/wait.h>
#include <unistd.h>

namespace stormgate::load {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr std::int64_t slice_us = 10'000'000;

auto tok() { return asio::as_tuple(asio::use_awaitable); }

// The profile's name for a field written in SPEC words.
std::string const& field_name(config::target_profile const& p, std::string const& key) {
  auto const& f = p.fields;
  if (key == "agent_id") return f.agent_id;
  if (key == "amount") return f.amount;
  if (key == "reason") return f.reason;
  if (key == "skill_level") return f.skill_level;
  return key;
}

std::string classify(http_result const& r) {
  if (r.status == 0) return (!r.sent && r.error == "connect") ? "fail" : "info";
  if (r.status < 300) return "ok";
  if (r.status == 408) return "info";
  if (r.status < 500) return "fail";
  return "info";
}

}  // namespace

driver::driver(asio::io_context& ioc, options opt, config::target_profile profile, std::string auth,
               history_writer& history)
    : ioc_(ioc),
      opt_(std::move(opt)),
      profile_(std::move(profile)),
      auth_(std::move(auth)),
      history_(history),
      admin_(opt_.admin_url, opt_.timeout_ms),
      tick_timer_(ioc),
      sample_timer_(ioc) {
  // X-Stormgate-Op stays a pure function of the seed (fault decisions are reproducible); the
  // idempotency key adds this run's id, so two runs against one backend never share keys.
  char id[17];
  std::snprintf(id, sizeof id, "%016llx",
                static_cast<unsigned long long>(core::hash64(opt_.seed, {core::now_rfc3339(), std::to_string(::getpid())})));
  run_id_ = std::string(id, 8);
  params_.seed = opt_.seed;
  params_.concurrency = opt_.concurrency;
  params_.part = opt_.part;
  params_.has_admin = admin_.enabled();
  params_.can_restart = !opt_.restart_command.empty();
  base_ = net::parse_url(opt_.base_url, "--base-url").value();
  scenario_hist_ = std::make_unique<core::latency_histogram>();
  slice_hist_ = std::make_unique<core::latency_histogram>();
  tty_ = ::isatty(2) != 0;
}

driver::~driver() = default;

void driver::record(json::object rec) { history_.write(rec); }

std::unique_ptr<http_client, std::function<void(http_client*)>> driver::make_client(asio::any_io_executor ex) {
  auto* c = new http_client(ex, base_, std::chrono::milliseconds(opt_.timeout_ms));
  clients_.insert(c);
  return {c, [this](http_client* p) {
            clients_.erase(p);
            delete p;
          }};
}

void driver::interrupt() {
  if (interrupted_) {
    for (auto* c : clients_) c->close();
    return;
  }
  interrupted_ = stopping_ = true;
  auto t = std::make_shared<asio::steady_timer>(ioc_, std::chrono::seconds(2));
  t->async_wait([this, t](boost::system::error_code) {
    if (!done_)
      for (auto* c : clients_) c->close();
  });
}

std::string driver::resolve(std::string const& s) const {
  if (s.size() < 2 || s[0] != '$') return s;
  auto it = vars_.find(s.substr(1));
  return it == vars_.end() ? s : it->second;
}

json::object driver::resolve(json::object const& v) const {
  json::object out = v;
  for (auto& kv : out)
    if (kv.value().is_string()) {
      auto const& s = kv.value().get_string();
      if (!s.empty() && s[0] == '$') kv.value() = resolve(std::string(s));
    }
  return out;
}

http_request driver::build_request(planned_op const& op, json::object const& value) const {
  http_request req;
  auto const& e = profile_.ops.at(op.f);
  std::map<std::string, std::string> params;
  for (auto const& [k, v] : op.params) params[k] = resolve(v);
  req.method = e.method;
  req.target = net::join_target(base_, config::expand(e, params));
  if (req.method == "POST" || req.method == "PUT" || req.method == "PATCH") {
    json::object body;
    for (auto const& kv : value) {
      std::string key(kv.key());
      if (op.params.count("id") && key == "approval_id") continue;
      body[field_name(profile_, key)] = kv.value();
    }
    req.body = core::to_json(body);
  }
  req.headers.reserve(7);
  req.headers.emplace_back("X-Stormgate-Op", op.op);
  if (!profile_.idempotency_header.empty()) req.headers.emplace_back(profile_.idempotency_header, run_id_ + ":" + op.op);
  req.headers.emplace_back("X-Correlation-Id", correlation_);
  if (!profile_.correlation_header.empty() && profile_.correlation_header != "X-Correlation-Id")
    req.headers.emplace_back(profile_.correlation_header, correlation_);
  if (!profile_.auth_header.empty()) req.headers.emplace_back(profile_.auth_header, auth_);
  req.headers.emplace_back("X-Stormgate-Attempt", "1");  // last: attempt() sets it per send
  return req;
}

void driver::note_latency(std::uint64_t us, std::string const& type, std::string const& cause) {
  scenario_hist_->record(us);
  slice_hist_->record(us);
  ++attempts_;
  if (type == "ok") {
    ++sc_ok_;
    ++sl_ok_;
    return;
  }
  if (type == "fail") ++sc_fail_, ++sl_fail_;
  else ++sc_info_, ++sl_info_;
  if (core::cause_explained(cause)) {
    ++phase_expected_, ++run_expected_;
    return;
  }
  ++phase_errors_, ++run_errors_;
  constexpr std::size_t max_causes = 16;  // the progress line names a few; the history has each one
  if (phase_error_causes_.size() < max_causes || phase_error_causes_.count(cause)) ++phase_error_causes_[cause];
  else ++phase_error_causes_["other"];
}

std::string driver::cause_of(http_result const& r) const {
  if (!r.fault.empty()) return "fault " + r.fault;
  if (core::refused(r.status)) return core::status_cause(r.status);
  if (r.error == "interrupted" || stopping_) return "interrupted";
  if (restarting_) return "restart";
  std::string c = r.status ? core::status_cause(r.status) : r.error.empty() ? std::string("no answer") : r.error;
  for (std::size_t i = 0; i < active_faults_.size(); ++i) c += (i ? "," : " under fault ") + active_faults_[i];
  return c;
}

asio::awaitable<op_result> driver::attempt(planned_op const& op, json::object const& value, http_request& req,
                                           int n, http_client& client, std::int64_t start_us) {
  std::string value_text = core::to_json(value);
  std::optional<int> nth = n > 1 ? std::optional<int>(n) : std::nullopt;
  history_.write(op_line{.type = "invoke", .op = op.op, .scenario = scenario_, .f = op.f, .process = op.process,
                         .ts = history_ts(), .value = {value_text}, .attempt = nth});

  req.headers.back().second = std::to_string(n);  // X-Stormgate-Attempt
  http_result res = co_await client.call(req);
  auto latency = std::max<std::int64_t>(0, core::mono_us() - start_us);

  op_result out;
  out.type = classify(res);
  out.status = res.status;
  std::string cause = out.type == "ok" ? std::string() : cause_of(res);
  std::string error;
  bool enriched = false;
  json::object v;
  if (res.status != 0) {
    boost::system::error_code ec;
    auto parsed = json::parse(res.body, ec);
    if (!ec && parsed.is_object()) out.answer = std::move(parsed.get_object());
    auto const& a = out.answer;
    auto pick = [&](std::string const& from, char const* to) {
      if (from.empty()) return;
      if (auto const* x = a.if_contains(from)) {
        if (!enriched) v = value, enriched = true;
        v[to] = *x;
      }
    };
    if (out.type == "ok") {
      pick(profile_.fields.balance_after, "balance_after");
      pick(profile_.fields.event_id, "event_id");
      if (op.f == "balance") pick("balance", "balance");
      if (op.f == "balances") pick("balances", "balances");
      if (op.f == "request_approval" || op.f == "approve" || op.f == "deny") {
        pick("approval_id", "approval_id");
        pick("status", "status");
        pick("version", "version");
      }
      if (op.f == "synergy") {
        pick("awarded", "awarded");
        pick("capped", "capped");
        pick("synergy_total", "synergy_total");
      }
      if (op.f == "state" || op.f == "replay") {
        pick("state_digest", "state_digest");
        pick("events", "events");
        pick("duration_ms", "duration_ms");
      }
      if (op.f == "create") {
        pick("balance", "balance");
        pick("initial_credits", "initial_credits");
      }
      pick("metadata", "metadata");
    } else {
      if (auto d = a.if_contains("detail"); d && d->is_string()) error = std::string(d->get_string().subview(0, 200));
      else error = "http " + std::to_string(res.status);
    }
  } else {
    error = res.error;
  }

  {
    auto text = [](std::string const& s) { return s.empty() ? std::nullopt : std::optional<std::string_view>(s); };
    std::string enriched_text = enriched ? core::to_json(v) : std::string();
    history_.write(op_line{.type = out.type, .op = op.op, .scenario = scenario_, .f = op.f, .process = op.process,
                           .ts = history_ts(),
                           .status = res.status ? std::optional<int>(res.status) : std::nullopt,
                           .latency_us = latency,
                           .value = {enriched ? enriched_text : value_text},
                           .error = text(error), .cause = text(cause), .attempt = nth,
                           .replayed = res.replayed ? std::optional<bool>(true) : std::nullopt});
  }
  note_latency(static_cast<std::uint64_t>(latency), out.type, cause);
  co_return out;
}

asio::awaitable<void> driver::execute(planned_op const& op, http_client& client, std::int64_t intended_us) {
  if (stopping_) co_return;
  if (op.f == "restart") {
    co_await restart_backend(op);
    co_return;
  }
  if (!profile_.has(op.f)) co_return;
  auto value = resolve(op.value);
  if (auto it = op.params.find("id"); it != op.params.end()) value["approval_id"] = resolve(it->second);
  auto req = build_request(op, value);
  std::int64_t start = intended_us > 0 ? intended_us : core::mono_us();
  int n = 1;
  op_result r = co_await attempt(op, value, req, n, client, start);
  auto ex = co_await asio::this_coro::executor;
  while (r.type == "info" && n < op.max_attempts && !stopping_) {
    asio::steady_timer backoff(ex, std::chrono::milliseconds(5 * n));
    co_await backoff.async_wait(tok());
    r = co_await attempt(op, value, req, ++n, client, core::mono_us());
  }
  for (int d = 0; d < op.duplicates && !stopping_; ++d) co_await attempt(op, value, req, ++n, client, core::mono_us());
  if (!op.capture.empty() && r.type == "ok") {
    if (auto const* x = r.answer.if_contains(op.capture)) vars_[op.capture] = x->is_string() ? std::string(x->get_string()) : json::serialize(*x);
  }
  ++logical_ops_;
  ++scenario_ops_done_;
}

asio::awaitable<void> driver::run_parallel(std::vector<std::function<asio::awaitable<void>()>> tasks) {
  auto ex = co_await asio::this_coro::executor;
  struct join_state {
    explicit join_state(asio::any_io_executor e) : timer(e) {}
    std::size_t left = 0;
    asio::steady_timer timer;
  };
  auto st = std::make_shared<join_state>(ex);
  st->left = tasks.size();
  st->timer.expires_at(asio::steady_timer::time_point::max());
  for (auto& t : tasks) {
    asio::co_spawn(
        ex,
        [t = std::move(t), st]() -> asio::awaitable<void> {
          try {
            co_await t();
          } catch (std::exception const& e) {
            spdlog::error("load: lane failed: {}", e.what());
          }
          if (--st->left == 0) st->timer.cancel();
        },
        asio::detached);
  }
  while (st->left > 0) co_await st->timer.async_wait(tok());
}

asio::awaitable<void> driver::run_phase(phase const& ph) {
  switch (ph.kind) {
    case phase::set_fault: {
      auto r = admin_.set_fault(ph.fault_name, ph.fault);
      if (!r) throw core::failure(r.error());
      active_faults_.push_back(ph.fault_name);
      co_return;
    }
    case phase::clear_fault: {
      auto r = admin_.clear_fault(ph.fault_name);
      if (!r) spdlog::warn("load: {}", r.error().message());
      std::erase(active_faults_, ph.fault_name);
      co_return;
    }
    case phase::restart:
    case phase::snapshot_wait:
    case phase::ops:
      break;
  }
  std::vector<std::function<asio::awaitable<void>()>> tasks;
  for (auto const& lane : ph.lanes) {
    tasks.push_back([this, &lane]() -> asio::awaitable<void> {
      auto client = make_client(co_await asio::this_coro::executor);
      for (auto const& op : lane) {
        if (stopping_) break;
        co_await execute(op, *client, 0);
      }
    });
  }
  co_await run_parallel(std::move(tasks));
}

void driver::clear_faults() {
  for (auto const& name : active_faults_) {
    auto r = admin_.clear_fault(name);
    if (!r) spdlog::warn("load: {}", r.error().message());
  }
  active_faults_.clear();
}

asio::awaitable<void> driver::run_scenario(scenario_plan const& plan) {
  std::string skip = plan.skip;
  // Faults are tried (set, then cleared) before anything is sent, so that a scenario the proxy cannot
  // serve is SKIP rather than half run.
  if (skip.empty())
    for (auto const& ph : plan.phases) {
      if (ph.kind != phase::set_fault) continue;
      auto r = admin_.set_fault(ph.fault_name, ph.fault);
      if (r) r = admin_.clear_fault(ph.fault_name);
      if (!r) {
        skip = "proxy admin API refused fault '" + ph.fault_name + "': " + r.error().message();
        break;
      }
    }
  if (!skip.empty()) {
    record({{"type", "scenario"}, {"action", "skip"}, {"scenario", plan.scenario}, {"ts", core::now_rfc3339()},
            {"reason", skip}});
    if (!opt_.quiet) spdlog::warn("load: {} SKIP: {}", plan.scenario, skip);
    co_return;
  }
  end_slice();
  scenario_ = plan.scenario;
  correlation_ = opt_.part.prefix() + plan.scenario + "-" + std::to_string(opt_.seed);
  vars_.clear();
  scenario_hist_->reset();
  sc_ok_ = sc_fail_ = sc_info_ = 0;
  phase_errors_ = phase_expected_ = 0;
  phase_error_causes_.clear();
  scenario_start_us_ = core::mono_us();
  planned_ops_ = plan.op_count();
  scenario_ops_done_ = 0;
  json::object start{{"type", "scenario"}, {"action", "start"}, {"scenario", plan.scenario}, {"ts", core::now_rfc3339()}};
  if (!plan.note.empty()) start["reason"] = plan.note;
  record(std::move(start));

  std::string error;
  try {
    if (plan.scenario == "soak") {
      co_await run_soak(plan);
    } else {
      for (auto const& ph : plan.phases) {
        if (stopping_) break;
        co_await run_phase(ph);
      }
    }
  } catch (core::failure const& f) {
    error = f.err.message();
  } catch (std::exception const& e) {
    error = e.what();
  }
  clear_faults();
  auto now = core::mono_us();
  end_slice();
  write_stats("scenario", *scenario_hist_, scenario_start_us_, now, sc_ok_, sc_fail_, sc_info_);
  json::object stop{{"type", "scenario"}, {"action", "stop"}, {"scenario", plan.scenario}, {"ts", core::now_rfc3339()},
                    {"ops", scenario_ops_done_}, {"elapsed_s", static_cast<double>(now - scenario_start_us_) / 1e6}};
  if (!error.empty()) {
    stop["error"] = error;
    spdlog::error("load: {}: {}", plan.scenario, error);
  }
  if (stopping_) stop["interrupted"] = true;
  record(std::move(stop));
}

void driver::write_stats(std::string const& scope, core::latency_histogram const& h, std::int64_t from_us, std::int64_t to_us,
                         std::uint64_t ok, std::uint64_t fail, std::uint64_t info) {
  double secs = std::max(1e-6, static_cast<double>(to_us - from_us) / 1e6);
  json::object s{{"type", "stats"},
                 {"scope", scope},
                 {"scenario", scenario_},
                 {"ts", core::now_rfc3339()},
                 {"from_s", since_start_s(from_us)},
                 {"to_s", since_start_s(to_us)},
                 {"count", h.count()},
                 {"ok", ok},
                 {"fail", fail},
                 {"info", info},
                 {"rps", static_cast<double>(h.count()) / secs},
                 {"p50_us", h.percentile(0.50)},
                 {"p95_us", h.percentile(0.95)},
                 {"p99_us", h.percentile(0.99)},
                 {"max_us", h.max()}};
  record(std::move(s));
}

void driver::end_slice() {
  auto now = core::mono_us();
  if (slice_hist_->count() > 0) write_stats("slice", *slice_hist_, slice_start_us_, now, sl_ok_, sl_fail_, sl_info_);
  slice_hist_->reset();
  sl_ok_ = sl_fail_ = sl_info_ = 0;
  slice_start_us_ = now;
}

asio::awaitable<void> driver::tick() {
  while (!done_) {
    tick_timer_.expires_after(std::chrono::seconds(1));
    co_await tick_timer_.async_wait(tok());
    if (done_) break;
    auto now = core::mono_us();
    if (now - slice_start_us_ >= slice_us) end_slice();
    double dt = std::max(1e-3, static_cast<double>(now - last_tick_us_) / 1e6);
    double rps = static_cast<double>(attempts_ - attempts_at_tick_) / dt;
    attempts_at_tick_ = attempts_;
    last_tick_us_ = now;
    history_.flush();  // once a second: the history on disk lags a live run (or a killed client) by ~1 s
    if (opt_.quiet) continue;
    progress_view v;
    v.scenario = scenario_;
    v.elapsed_s = since_start_s(now);
    if (soak_end_us_ > 0) v.remaining_s = std::max(0.0, static_cast<double>(soak_end_us_ - now) / 1e6);
    v.ops_done = scenario_ops_done_;
    v.ops_planned = soak_end_us_ > 0 ? 0 : planned_ops_;
    v.rps = rps;
    v.p95_us = slice_hist_->count() ? slice_hist_->percentile(0.95) : scenario_hist_->percentile(0.95);
    v.errors = phase_errors_;
    v.expected = phase_expected_;
    v.error_causes = phase_error_causes_;
    v.faults = active_faults_;
    auto line = progress_line(v);
    if (tty_) {
      std::fprintf(stderr, "\r\033[K%s", line.c_str());
      std::fflush(stderr);
    } else if (now - last_plain_us_ >= 15'000'000) {
      std::fprintf(stderr, "stormgate load: %s\n", line.c_str());
      last_plain_us_ = now;
    }
  }
}

namespace {
// A process's resident set from /proc/PID/statm, in bytes; nothing when it is gone or a zombie.
std::optional<std::int64_t> rss_of(int pid) {
  if (pid <= 0) return std::nullopt;
  std::ifstream in("/proc/" + std::to_string(pid) + "/statm");
  long long size = 0, resident = 0;
  if (!(in >> size >> resident) || resident <= 0) return std::nullopt;
  static long const page = ::sysconf(_SC_PAGESIZE);
  return static_cast<std::int64_t>(resident) * page;
}
}  // namespace

asio::awaitable<void> driver::sample_memory() {
  // Each watched process, the load itself, and the backend through the metrics op when no backend
  // process is watched: one `sample` record per process and interval.
  bool backend_watched = std::any_of(opt_.watch.begin(), opt_.watch.end(), [](auto const& w) { return w.name == "backend"; });
  bool metrics = !backend_watched && !profile_.fields.rss_bytes.empty() && profile_.has("metrics");
  auto client = make_client(co_await asio::this_coro::executor);
  auto write = [this](std::string const& process, int pid, std::int64_t rss, char const* source) {
    ++samples_;
    json::object value{{"process", process}, {"rss_bytes", rss}, {"source", source}};
    if (pid > 0) value["pid"] = pid;
    record({{"type", "sample"}, {"f", "memory"}, {"ts", core::now_rfc3339()}, {"scenario", scenario_}, {"value", std::move(value)}});
  };
  while (!done_) {
    for (auto const& w : opt_.watch) {
      int pid = w.pid;
      if (!w.pid_file.empty() && !(std::ifstream(w.pid_file) >> pid)) pid = 0;  // mid-restart: no sample
      if (auto rss = rss_of(pid)) write(w.name, pid, *rss, "proc");
    }
    if (auto rss = rss_of(static_cast<int>(::getpid()))) write("load", static_cast<int>(::getpid()), *rss, "proc");
    if (metrics) {
      http_request req;
      req.method = profile_.ops.at("metrics").method;
      req.target = net::join_target(base_, profile_.ops.at("metrics").path);
      req.headers.emplace_back("X-Stormgate-Op", opt_.part.prefix() + "sample-" + pad6(metrics_samples_++));
      if (!profile_.auth_header.empty()) req.headers.emplace_back(profile_.auth_header, auth_);
      auto res = co_await client->call(req);
      if (res.status == 200 && !done_) {
        std::string err;
        if (auto v = core::parse_json(res.body, err))
          if (auto const* x = core::find_path(*v, profile_.fields.rss_bytes))
            if (auto rss = core::as_number(*x)) write("backend", 0, static_cast<std::int64_t>(*rss), "metrics");
      }
    }
    if (done_) break;
    sample_timer_.expires_after(std::chrono::milliseconds(opt_.sample_interval_ms));
    co_await sample_timer_.async_wait(tok());
  }
}

asio::awaitable<void> driver::restart_backend(planned_op const& op) {
  json::object value{{"command", opt_.restart_command}};
  record({{"type", "invoke"}, {"op", op.op}, {"scenario", scenario_}, {"f", "restart"}, {"process", op.process},
          {"ts", core::now_rfc3339()}, {"value", value}});
  restarting_ = true;
  auto start = core::mono_us();
  auto ex = co_await asio::this_coro::executor;
  // Not std::system(): it ignores SIGINT in the caller while the command runs, so a Ctrl-C then
  // would be lost. The command runs as a child polled on a timer (bounded), the io thread stays live.
  int exit_status = -1;
  try {
    core::spawn_options so;
    so.inherit_stderr = true;
    so.own_process_group = false;  // what the command starts is not ours to kill when it exits
    core::child_process sh("/bin/sh", {"-c", opt_.restart_command}, so);
    asio::steady_timer poll(ex);
    std::optional<int> rc;
    for (int i = 0; i < 2400 && !(rc = sh.wait_exit(std::chrono::milliseconds(0))); ++i) {  // <= 120 s
      poll.expires_after(std::chrono::milliseconds(50));
      co_await poll.async_wait(tok());
    }
    exit_status = rc ? *rc : sh.stop();
  } catch (std::exception const& e) {
    spdlog::error("load: restart command: {}", e.what());
  }
  value["exit_status"] = exit_status;
  std::string type = "ok", error;
  if (exit_status != 0) {
    type = "info";
    error = "restart command exited " + std::to_string(exit_status);
  }
  // Wait for the target to answer its health op again, bounded.
  bool healthy = false;
  if (profile_.has("health")) {
    auto const& h = profile_.ops.at("health");
    auto deadline = core::mono_us() + static_cast<std::int64_t>(opt_.health_timeout_s) * 1'000'000;
    asio::steady_timer t(ex);
    while (!stopping_ && core::mono_us() < deadline) {
      net::request req;
      req.method = h.method;
      req.url = "http://" + base_.host + ":" + base_.port + net::join_target(base_, h.path);
      if (!profile_.auth_header.empty()) req.headers.emplace_back(profile_.auth_header, auth_);
      req.timeout = std::chrono::milliseconds(1000);
      auto r = net::fetch(req);
      if (r && r->status >= 200 && r->status < 300) {
        healthy = true;
        break;
      }
      t.expires_after(std::chrono::milliseconds(200));
      co_await t.async_wait(tok());
    }
  } else {
    healthy = true;
  }
  restarting_ = false;
  auto latency = core::mono_us() - start;
  value["wait_ms"] = latency / 1000;
  if (!healthy && type == "ok") {
    type = "info";
    error = "target not healthy " + std::to_string(opt_.health_timeout_s) + " s after the restart";
  }
  json::object done{{"type", type}, {"op", op.op}, {"scenario", scenario_}, {"f", "restart"}, {"process", op.process},
                    {"ts", core::now_rfc3339()}, {"latency_us", latency}, {"value", value}};
  if (!error.empty()) done["error"] = error;
  record(std::move(done));
  ++logical_ops_;
  ++scenario_ops_done_;
}

asio::awaitable<void> driver::main(std::vector<scenario_entry> scenarios, bool soak) {
  auto ex = co_await asio::this_coro::executor;
  t0_us_ = slice_start_us_ = last_tick_us_ = core::mono_us();
  last_plain_us_ = t0_us_;
  json::array names;
  for (auto const& s : scenarios) names.emplace_back(s.id);
  if (soak) names.emplace_back("soak");
  json::object run_rec{{"type", "run"},
                       {"action", "start"},
                       {"ts", core::now_rfc3339()},
                       {"seed", opt_.seed},
                       {"target", profile_.name},
                       {"concurrency", opt_.concurrency},
                       {"duration_s", soak ? opt_.duration_s : 0.0},
                       {"planned_duration_s", soak ? opt_.duration_s : 0.0},
                       {"mode", opt_.rate > 0 ? "open" : "closed"},
                       {"rate", opt_.rate},
                       {"scenarios", names},
                       {"shard", opt_.part.text()},
                       {"run_id", run_id_},
                       {"interrupted", false}};
  if (soak) run_rec["mix"] = opt_.mix;
  record(run_rec);
  asio::co_spawn(ex, tick(), asio::detached);
  asio::co_spawn(ex, sample_memory(), asio::detached);
  try {
    for (auto const& s : scenarios) {
      if (stopping_) break;
      co_await run_scenario(plan(s, profile_, params_));
    }
    if (soak && !stopping_) co_await run_scenario(plan_soak(profile_, params_));
  } catch (std::exception const& e) {
    spdlog::error("load: {}", e.what());
  }
  done_ = true;
  tick_timer_.cancel();
  sample_timer_.cancel();
  clear_faults();
  auto now = core::mono_us();
  scenario_ = "run";
  end_slice();
  run_rec["action"] = "stop";
  run_rec["ts"] = core::now_rfc3339();
  run_rec["interrupted"] = interrupted_;
  run_rec["ops"] = logical_ops_;
  run_rec["elapsed_s"] = since_start_s(now);
  record(std::move(run_rec));
  history_.flush();
  if (tty_ && !opt_.quiet) std::fprintf(stderr, "\n");
  if (!opt_.quiet)
    std::fprintf(stderr,
                 "stormgate load: %llu ops, %llu errors, %llu expected failures (injected faults, refusals, "
                 "restarts) in %.1f s%s; history %s\n",
                 static_cast<unsigned long long>(logical_ops_), static_cast<unsigned long long>(run_errors_),
                 static_cast<unsigned long long>(run_expected_),
                 since_start_s(now), interrupted_ ? " (interrupted)" : "", history_.path().c_str());
  for (auto* c : clients_) c->close();
}

}  // namespace stormgate::load
