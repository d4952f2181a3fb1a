// Gate D — Failure Safety (SPEC §5): backend 5xx (or a crash) while the karma route was blacked
// out; consumes answered without the fallback (karma:"fallback", CI 0.5) during the outage;
// anomalous amounts blocked instead of flagged; CI outside [0.3, 0.7] (extremes < 0.1 or > 0.9).
#include "checks/detail/evidence.hpp"
#include "checks/detail/folds.hpp"
#include "checks/detail/string_map.hpp"
#include "faults/kind_traits.hpp"

#include <deque>
#include <map>

namespace stormgate::checks::detail {
namespace {

bool is_karma_route(std::string_view route) { return route.find("karma") != std::string_view::npos; }
using stormgate::faults::is_outage;  // blackout, drop_response (header-only, no link to faults/)

class gate_d final : public gate_fold {
 public:
  gate_d(context const& ctx, series* charts) : ctx_(ctx), charts_(charts) {}

  void step(record const& r) override {
    if (r.kind == record_kind::control) on_control(*r.c, r.src);
    else if (r.kind == record_kind::exchange) on_exchange(*r.x, r.src);
    else if (r.kind == record_kind::traffic_run && r.run->action == "stop") close_all(r.run->ts_us);
  }

  gate_result finish() override;

 private:
  struct window {
    std::string name, route, kind;
    std::int64_t from_us = 0, to_us = INT64_MAX;
    bool total = true;
  };
  struct agent_mean {
    double sum = 0;
    std::uint64_t n = 0;
  };

  context const& ctx_;
  series* charts_;
  std::vector<window> open_, closed_;
  string_map<std::int64_t> blacked_ops_;  // op -> ts of its failed KARMA call
  std::deque<std::pair<std::int64_t, std::string>> blacked_order_;
  string_map<agent_mean> means_;
  evidence crash_ev_, fallback_ev_, block_ev_, ci_ev_;
  std::uint64_t during_outage_ = 0, outage_consumes_ = 0, karma_failures_ = 0;
  std::uint64_t anomalous_ = 0, flagged_ = 0, not_flagged_ = 0, ci_values_ = 0, ci_out_of_range_ = 0;
  double ci_min_ = 1e300, ci_max_ = -1e300;
  std::map<std::string, std::uint64_t> blocked_by_scenario_, outage_5xx_by_scenario_;
  std::int64_t last_ts_ = 0;

  void close(std::string_view name, std::int64_t ts) {
    for (auto it = open_.begin(); it != open_.end();) {
      if (name.empty() || it->name == name) {
        it->to_us = std::min(it->to_us, ts);
        closed_.push_back(*it);
        it = open_.erase(it);
      } else {
        ++it;
      }
    }
  }
  void close_all(std::int64_t ts) { close({}, ts); }

  void on_control(control const& c, source const&) {
    last_ts_ = std::max(last_ts_, c.ts_us);
    if (c.action == "set") {
      close(c.name, c.ts_us);  // a set replaces a fault of the same name
      window w;
      w.name = c.name;
      w.route = c.route;
      w.kind = c.action_kind;
      w.from_us = c.ts_us + static_cast<std::int64_t>(c.after_s.value_or(0) * 1e6);
      if (c.for_s) w.to_us = w.from_us + static_cast<std::int64_t>(*c.for_s * 1e6);
      w.total = c.total;
      open_.push_back(std::move(w));
    } else if (c.action == "clear") {
      close(c.name, c.ts_us);
    } else if (c.action == "reset") {
      close_all(c.ts_us);
    }
  }

  // Is [from, to] inside a KARMA outage window? `total`: a window that hit every KARMA call.
  bool in_outage(std::int64_t from, std::int64_t to, bool* total) const {
    bool any = false;
    auto look = [&](std::vector<window> const& ws) {
      for (auto const& w : ws) {
        if (!is_karma_route(w.route) || !is_outage(w.kind)) continue;
        if (from <= w.to_us && to >= w.from_us) {
          any = true;
          if (w.total && from >= w.from_us && to <= w.to_us) *total = true;
        }
      }
    };
    look(open_);
    look(closed_);
    return any;
  }

  void on_exchange(exchange const& x, source const& src);
};

void gate_d::on_exchange(exchange const& x, source const& src) {
  last_ts_ = std::max(last_ts_, x.ts_end_us);
  std::string_view op = x.op_key.empty() ? x.id : x.op_key;
  if (is_karma_route(x.route)) {
    bool failed = false;
    for (auto const& f : x.faults)
      if (is_outage(f.kind)) failed = true;
    if (x.outcome == "upstream_error" || x.outcome == "upstream_timeout" || x.outcome == "fault_abort") failed = true;
    if (failed && !x.op_key.empty()) {
      ++karma_failures_;
      value_for(blacked_ops_, x.op_key) = x.ts_end_us;
      blacked_order_.emplace_back(x.ts_end_us, std::string(x.op_key));
      while (blacked_order_.size() > 4096 && blacked_order_.front().first < x.ts_end_us - 300'000'000) {
        auto it = blacked_ops_.find(blacked_order_.front().second);
        if (it != blacked_ops_.end() && it->second == blacked_order_.front().first) blacked_ops_.erase(it);
        blacked_order_.pop_front();
      }
    }
    return;
  }
  if (x.f.empty()) return;
  // --- KARMA outage ---
  bool total = false;
  bool op_blacked = false;
  if (!x.op_key.empty() && !blacked_ops_.empty()) {
    auto it = blacked_ops_.find(x.op_key);
    if (it != blacked_ops_.end()) {
      op_blacked = true;
      if (x.f == "consume") blacked_ops_.erase(it);
    }
  }
  bool outage = op_blacked || in_outage(x.ts_us, x.ts_end_us, &total);
  auto scen = [&] { return std::string(scenario_of_op(op)); };
  if (outage) {
    ++during_outage_;
    for (auto const& a : x.upstream) {
      bool crash = a.status >= 500 || (a.status == 0 && !a.error.empty() && x.outcome == "upstream_error");
      if (crash) {
        ++outage_5xx_by_scenario_[scen()];
        crash_ev_.add(op, src, std::string(x.f) + " answered " + (a.status ? std::to_string(a.status) : "no answer (" + std::string(a.error) + ")") +
                                   " while KARMA was blacked out");
        break;
      }
    }
    if (x.f == "consume" && (op_blacked || total)) {
      ++outage_consumes_;
      for (auto const& a : x.upstream) {
        if (!ok2xx(a.status)) continue;
        bool fallback = a.karma == "fallback" && a.ci && std::fabs(*a.ci - 0.5) < 1e-9;
        if (!fallback)
          fallback_ev_.add(op, src, "consume during the KARMA outage answered without fallback (karma=" +
                                        (a.karma.empty() ? std::string("none") : std::string(a.karma)) +
                                        ", ci=" + (a.ci ? fmt_num(*a.ci, 3) : std::string("none")) + ")");
        break;
      }
    }
  }
  // --- anomalies: flagged, not blocked ---
  if (x.f == "consume" && !x.agent_id.empty()) {
    bool mutated = false;
    opt_num amount = applied_amount(x, ctx_.profile.fields.amount, &mutated);
    auto& m = value_for(means_, x.agent_id);
    bool anomalous = mutated || (amount && m.n >= 3 && *amount > 5.0 * (m.sum / static_cast<double>(m.n)));
    answer const* last = nullptr;
    for (auto const& a : x.upstream)
      if (a.status) last = &a;
    if (anomalous && amount && *amount > 0) {
      ++anomalous_;
      if (last && last->status >= 400 && last->status < 500 && !is_insufficient(*last) && last->status != 401 &&
          last->status != 403 && last->status != 404 && last->status != 405 && last->status != 408 &&
          last->status != 409 && last->status != 429) {
        ++blocked_by_scenario_[scen()];
        block_ev_.add(op, src, "anomalous consume of " + fmt_num(*amount) + (mutated ? " (mutated by the proxy)" : "") +
                                   " blocked with " + std::to_string(last->status) +
                                   (last->detail.empty() ? std::string() : " " + std::string(last->detail)));
      } else if (last && ok2xx(last->status)) {
        if (last->anomaly_detected && *last->anomaly_detected) ++flagged_;
        else if (last->anomaly_detected) ++not_flagged_;
      }
    }
    if (amount && !mutated && last && ok2xx(last->status)) {
      m.sum += *amount;
      ++m.n;
    }
  }
  // --- CI ---
  if (x.write) {
    for (auto const& a : x.upstream) {
      if (!ok2xx(a.status) || !a.ci) continue;
      ++ci_values_;
      double ci = *a.ci;
      if (!std::isfinite(ci) || ci < 0.1 || ci > 0.9) {
        ci_ev_.add(op, src, "CI " + fmt_num(ci, 3) + " is extreme (< 0.1 or > 0.9)");
      } else if (ci < 0.3 || ci > 0.7) {
        ++ci_out_of_range_;
      }
      if (std::isfinite(ci)) {
        ci_min_ = std::min(ci_min_, ci);
        ci_max_ = std::max(ci_max_, ci);
      }
    }
  }
}

gate_result gate_d::finish() {
  close_all(last_ts_);
  if (charts_) {
    for (auto const& w : closed_) {
      series::window sw;
      sw.name = w.name;
      sw.route = w.route;
      sw.kind = w.kind;
      sw.from_s = static_cast<double>(w.from_us);  // absolute µs; made relative by the caller
      sw.to_s = static_cast<double>(w.to_us);
      charts_->faults.push_back(sw);
    }
  }
  gate_result g;
  g.id = key(gate_id::D);
  g.name = label(gate_id::D);
  g.threshold = "0 backend 5xx during KARMA outage; fallback CI 0.5 on every consume of the outage; anomalies flagged not blocked; CI within [0.3, 0.7]";
  auto karma_skip = ctx_.profile.skip_reason("karma_blackout");
  auto ml_skip = ctx_.profile.skip_reason("ml_chaos");
  bool saw_outage = during_outage_ > 0;
  auto crash = make_check(check_id::karma_no_crash, status::skip, "");
  auto fallback = make_check(check_id::karma_fallback, status::skip, "");
  if (saw_outage) {
    crash.st = crash_ev_.total ? status::fail : status::pass;
    crash.detail = std::to_string(during_outage_) + " exchanges during KARMA outages, " + std::to_string(crash_ev_.total) + " answered 5xx or crashed";
    if (outage_consumes_) {
      fallback.st = fallback_ev_.total ? status::fail : status::pass;
      fallback.detail = std::to_string(outage_consumes_) + " consumes during the outage, " + std::to_string(fallback_ev_.total) + " without fallback";
    } else {
      fallback.detail = "no consume whose KARMA call was blacked out";
    }
  } else {
    crash.detail = fallback.detail = karma_skip ? "target: " + *karma_skip : "no KARMA outage in the logs (control records or karma-route faults)";
  }
  auto anomaly = make_check(check_id::anomaly_flagged, status::skip, "");
  if (anomalous_) {
    anomaly.st = block_ev_.total ? status::fail : status::pass;  // not flagged: a note (the target's threshold is its own)
    anomaly.detail = std::to_string(anomalous_) + " anomalous consumes, " + std::to_string(block_ev_.total) + " blocked, " +
                     std::to_string(flagged_) + " flagged, " + std::to_string(not_flagged_) + " answered without the flag";
  } else {
    anomaly.detail = ml_skip ? "target: " + *ml_skip : "no anomalous consume in the logs";
  }
  auto eoc = make_check(check_id::edge_of_chaos, status::skip, "");
  if (ci_values_) {
    eoc.st = ci_ev_.total ? status::fail : (ci_out_of_range_ ? status::warn : status::pass);
    eoc.detail = std::to_string(ci_values_) + " CI values in [" + fmt_num(ci_min_, 3) + ", " + fmt_num(ci_max_, 3) + "], " +
                 std::to_string(ci_out_of_range_) + " outside [0.3, 0.7], " + std::to_string(ci_ev_.total) + " extreme";
  } else {
    eoc.detail = ml_skip ? "target: " + *ml_skip : "no CI in the write answers";
  }
  g.checks = {crash, fallback, anomaly, eoc};
  g.st = merge_checks(g.checks);
  g.critical = crash_ev_.total > 0;
  g.figure = std::to_string(crash_ev_.total) + " crashes/5xx during KARMA outage, " + std::to_string(fallback_ev_.total) +
             " missing fallbacks, " + std::to_string(block_ev_.total) + " anomalies blocked, " + std::to_string(ci_ev_.total) + " extreme CI";
  merge_evidence(g, {&crash_ev_, &fallback_ev_, &block_ev_, &ci_ev_});
  if (ci_out_of_range_) g.notes.push_back(std::to_string(ci_out_of_range_) + " CI values outside [0.3, 0.7] (warning)");
  if (not_flagged_) g.notes.push_back(std::to_string(not_flagged_) + " anomalous consumes answered 2xx without anomaly_detected (the target's threshold may differ; not a violation)");
  g.metrics["crashes_during_outage"] = crash_ev_.total;
  g.metrics["missing_fallback"] = fallback_ev_.total;
  g.metrics["anomalies"] = anomalous_;
  g.metrics["anomalies_blocked"] = block_ev_.total;
  g.metrics["anomalies_flagged"] = flagged_;
  g.metrics["ci_values"] = ci_values_;
  if (ci_values_) {
    g.metrics["ci_min"] = ci_min_;
    g.metrics["ci_max"] = ci_max_;
  }
  g.metrics["karma_outage_windows"] = closed_.size();
  g.metrics["karma_calls_failed"] = karma_failures_;
  boost::json::object blocked, crashed;
  for (auto const& [s, n] : blocked_by_scenario_) blocked[s] = n;
  for (auto const& [s, n] : outage_5xx_by_scenario_) crashed[s] = n;
  g.metrics["blocked_by_scenario"] = std::move(blocked);
  g.metrics["outage_5xx_by_scenario"] = std::move(crashed);
  return g;
}

}  // namespace

std::unique_ptr<gate_fold> make_gate_d(context const& ctx, series* charts) { return std::make_unique<gate_d>(ctx, charts); }

}  // namespace stormgate::checks::detail
