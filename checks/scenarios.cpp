// Scenario results (playbook §4, SPEC §4): PASS / FAIL / SKIP per scenario of check_options::scenarios,
// from the history's scenario and op records: what every scenario has (ops, latency, causes of
// failure) is kept here; what only one scenario checks is its judge's (scenarios/*.cpp).
#include "checks/detail/evidence.hpp"
#include "checks/detail/folds.hpp"
#include "checks/detail/op_cause.hpp"
#include "checks/detail/string_map.hpp"
#include "checks/scenario_judge.hpp"
#include "core/jsonl.hpp"

#include <map>
#include <stdexcept>

namespace stormgate::checks {

gate_result const* judgement::gate(gate_id g) const {
  if (std::find(entry_.gates.begin(), entry_.gates.end(), g) == entry_.gates.end())
    throw std::logic_error("scenario " + std::string(entry_.id) + " reads gate " + std::string(key(g)) +
                           ", which its entry does not list");
  auto it = gates_.find(std::string(key(g)));
  return it == gates_.end() ? nullptr : &it->second;
}

double judgement::metric(gate_id g, std::string_view name) const {
  auto const* r = gate(g);
  if (!r) return 0;
  auto v = r->metrics.if_contains(name);
  return v ? core::as_number(*v).value_or(0) : 0;
}

status judgement::check(check_id c) const {
  auto const* r = gate(gate_of(c));
  if (!r) return status::unknown;
  for (auto const& sc : r->checks)
    if (sc.id == c) return sc.st;
  return status::skip;
}

void judgement::invariant(std::string name, bool ok, std::string detail) {
  out_.invariants.push_back({std::move(name), ok ? status::pass : status::fail, std::move(detail)});
}

namespace detail {
namespace {

class scenarios final : public scenario_fold {
 public:
  scenarios(context const& ctx, std::vector<scenario_entry> const& entries) : ctx_(ctx), entries_(entries) {
    for (auto const& e : entries_) {
      auto& st = value_for(s_, e.id);
      st.entry = &e;
      st.judge = e.judge(ctx_);
      if (!st.judge) throw std::logic_error("scenario " + std::string(e.id) + " has no judge");
      judges_.push_back(st.judge.get());
    }
  }

  void step(record const& r) override {
    if (r.kind == record_kind::scenario) on_scenario(*r.sc);
    else if (r.kind == record_kind::op) on_op(*r.h, r.src);
    else if (r.kind == record_kind::event)
      for (auto* j : judges_) j->on_event(*r.e);
  }

  std::vector<scenario_result> finish(std::map<std::string, gate_result> const& gates) override;

 private:
  struct stats {
    scenario_entry const* entry = nullptr;  // null: a scenario the history names but no entry judges (soak)
    std::unique_ptr<scenario_judge> judge;
    bool started = false, stopped = false, skipped = false;
    std::string skip_reason;
    std::int64_t start_us = 0, stop_us = 0, first_us = 0, last_us = 0;
    latency_histogram hist;
    std::uint64_t ops = 0, ok = 0, fail = 0, info = 0;
    struct cause_tally {
      std::uint64_t n = 0;
      std::string first_op;
    };
    std::map<std::string, cause_tally> causes;  // failed ops by f and cause (op_cause), at most max_causes
    std::uint64_t unexplained = 0, expected = 0;
    evidence broken;
  };

  context const& ctx_;
  std::vector<scenario_entry> const& entries_;
  string_map<stats> s_;
  std::vector<scenario_judge*> judges_;

  void on_scenario(hist_scenario const& sc) {
    auto& st = value_for(s_, sc.scenario);
    if (sc.action == "start") {
      st.started = true;
      if (!st.start_us || sc.ts_us < st.start_us) st.start_us = sc.ts_us;
    } else if (sc.action == "stop") {
      st.stopped = true;
      st.stop_us = std::max(st.stop_us, sc.ts_us);
    } else if (sc.action == "skip") {
      st.skipped = true;
      st.skip_reason = sc.reason;
    }
  }

  void on_op(hist_op const& h, source const& src) {
    std::string_view scen = h.scenario.empty() ? scenario_of_op(h.op) : h.scenario;
    auto& st = value_for(s_, scen);
    if (h.ts_us) {
      if (!st.first_us || h.ts_us < st.first_us) st.first_us = h.ts_us;
      st.last_us = std::max(st.last_us, h.ts_us);
    }
    if (h.type == "invoke") return;
    ++st.ops;
    if (h.latency_us >= 0 && h.f != "restart") st.hist.record_signed(h.latency_us);
    if (h.type == "ok") ++st.ok;
    else if (h.type == "fail") ++st.fail;
    else ++st.info;
    if (h.type != "ok") {
      auto cause = op_cause(h);
      bool explained = core::cause_explained(cause);
      ++(explained ? st.expected : st.unexplained);
      std::string key = std::string(explained ? "expected: " : "ERROR: ") + std::string(h.f) + " " + cause;
      constexpr std::size_t max_causes = 20;
      auto it = st.causes.find(key);
      if (it == st.causes.end() && st.causes.size() < max_causes) it = st.causes.emplace(key, stats::cause_tally{0, std::string(h.op)}).first;
      if (it != st.causes.end()) ++it->second.n;
    }
    if (st.judge) st.judge->on_op(h, src, st.broken);
  }
};

std::vector<scenario_result> scenarios::finish(std::map<std::string, gate_result> const& gates) {
  std::vector<scenario_result> out;
  for (auto const& def : entries_) {
    scenario_result r;
    r.scenario_id = def.id;
    r.scenario_name = def.label;
    auto skip = [&](std::string why) {
      r.st = status::skip;
      r.reason = std::move(why);
      out.push_back(std::move(r));
    };
    if (auto why = ctx_.profile.skip_reason(def.id)) {
      skip(*why);
      continue;
    }
    if (auto lacking = std::find_if(def.needs.begin(), def.needs.end(), [&](auto f) { return !ctx_.profile.has(f); });
        lacking != def.needs.end()) {
      skip("target has no '" + std::string(*lacking) + "' op");
      continue;
    }
    if (!ctx_.has_history) {
      skip("no history given (--history): scenario results need the load client's history");
      continue;
    }
    auto& st = s_.find(def.id)->second;
    if (!st.started && st.ops == 0) {
      skip(st.skipped ? st.skip_reason : "not run");
      continue;
    }
    if (st.skipped && st.ops == 0) {
      skip(st.skip_reason.empty() ? "skipped by the load client" : st.skip_reason);
      continue;
    }
    std::int64_t from = st.start_us ? st.start_us : st.first_us, to = st.stop_us ? st.stop_us : st.last_us;
    r.duration_s = to > from ? static_cast<double>(to - from) / 1e6 : 0;
    r.throughput = r.duration_s > 0 ? static_cast<double>(st.ops) / r.duration_s : 0;
    r.p95_ms = quantile_ms(st.hist, 0.95);
    for (auto const& [e, t] : st.causes) r.errors.push_back(e + " x" + std::to_string(t.n) + " (first: " + t.first_op + ")");
    r.metrics["unexplained_errors"] = st.unexplained;
    r.metrics["expected_failures"] = st.expected;
    r.metrics["ops"] = st.ops;
    r.metrics["ok"] = st.ok;
    r.metrics["fail"] = st.fail;
    r.metrics["info"] = st.info;
    r.metrics["p50_latency"] = quantile_ms(st.hist, 0.5);
    r.metrics["p99_latency"] = quantile_ms(st.hist, 0.99);
    judgement j(def, ctx_, gates, st.broken.total, r);
    st.judge->finish(j);
    if (!st.stopped && st.started) r.invariants.push_back({"Szenario beendet", status::fail, "no stop record: interrupted"});
    r.invariants_passed = !r.invariants.empty();
    for (auto const& i : r.invariants)
      if (i.st != status::pass) r.invariants_passed = false;
    r.st = r.invariants_passed ? status::pass : status::fail;
    if (!r.invariants_passed)
      for (auto const& i : r.invariants)
        if (i.st != status::pass) {
          r.reason = i.name + ": " + i.detail;
          break;
        }
    for (auto const& v : st.broken.list)
      if (r.errors.size() < 40) r.errors.push_back(v.op + " (" + v.file + ":" + std::to_string(v.line) + "): " + v.why);
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

std::unique_ptr<scenario_fold> make_scenarios(context const& ctx, std::vector<scenario_entry> const& entries) {
  return std::make_unique<scenarios>(ctx, entries);
}

}  // namespace detail
}  // namespace stormgate::checks
