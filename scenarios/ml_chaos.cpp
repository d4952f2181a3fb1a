// Playbook scenario 5: normal consumes, then the proxy multiplies the amount of some of them by 10
// (`mutate`); anomalies must be flagged, not blocked. Agents are funded so that x10 stays affordable.
#include "scenarios/scenario_file.hpp"

namespace stormgate::scenarios {
namespace {

scenario_plan plan(plan_builder& b) {
  scenario_plan out;
  if (!b.params().has_admin) {
    out.skip = "needs the proxy's admin API (--admin-url) to mutate amounts";
    return out;
  }
  constexpr int agent_count = 5;
  constexpr int baseline = 20;
  constexpr int chaos = 40;
  int lanes = std::max(1, std::min(5, b.params().concurrency));
  auto agents = b.agents("chaos", agent_count);
  out.phases.push_back(b.fund_agents(agents, 3000.0));

  auto consumes = [&](std::string label, int count, std::string reason) {
    phase ph;
    ph.label = std::move(label);
    ph.lanes.resize(lanes);
    for (int k = 0; k < count; ++k) {
      int lane = k % lanes;
      auto const& a = agents[k % agent_count];
      ph.lanes[lane].push_back(b.op("consume", lane, {{"agent_id", a}, {"amount", b.amount(2.0, 8.0)}, {"reason", reason}}));
    }
    return ph;
  };
  out.phases.push_back(consumes("baseline", baseline, "ml baseline"));

  out.phases.push_back(b.set_fault({{"name", "ml-chaos"},
                                    {"route", "credits"},
                                    {"match", {{"method", "POST"}, {"path", b.fault_path("consume")}}},
                                    {"action", {{"mutate", {{"path", b.profile().fields.amount}, {"multiply", 10}}}}},
                                    {"probability", 0.2}}));
  out.phases.push_back(consumes("chaos", chaos, "ml chaos"));
  out.phases.push_back(b.clear_fault("ml-chaos"));
  out.phases.push_back(b.read_balances(agents));
  return out;
}

// Judged: mutated (anomalous) consumes are flagged, never blocked (history and gate D), and the CI
// stays out of the extremes.
class judge final : public checks::scenario_judge {
 public:
  void on_op(hist_op const& h, source const& src, evidence& broken) override {
    if (h.f != "consume") return;
    ++consumes_;
    if (h.type == "fail" && h.status >= 400 && h.status < 500 && h.status != 409 &&
        !(h.status == 400 && (h.detail.find("nsufficient") != std::string_view::npos || h.error.find("nsufficient") != std::string_view::npos))) {
      ++blocked_;
      broken.add(h.op, src, "consume blocked with " + std::to_string(h.status));
    }
    if (h.ci && (*h.ci < 0.1 || *h.ci > 0.9)) {
      ++extreme_ci_;
      broken.add(h.op, src, "CI " + fmt_num(*h.ci, 3) + " is extreme");
    }
  }
  void finish(checks::judgement& j) override {
    using checks::gate_id;
    double blocked = 0;
    if (auto const* d = j.gate(gate_id::D))
      if (auto b = d->metrics.if_contains("blocked_by_scenario"); b && b->is_object())
        if (auto n = b->get_object().if_contains("ml_chaos")) blocked = core::as_number(*n).value_or(0);
    j.metrics()["consumes"] = consumes_;
    j.metrics()["anomalies"] = j.metric(gate_id::D, "anomalies");
    j.metrics()["anomalies_flagged"] = j.metric(gate_id::D, "anomalies_flagged");
    j.invariant("Anomalien markiert, nicht blockiert", consumes_ > 0 && blocked_ == 0 && blocked == 0,
                std::to_string(blocked_) + " blocked in the history, " + fmt_num(blocked, 0) + " mutated/anomalous blocked in the traffic");
    j.invariant("CI-Score im Safe-Range", extreme_ci_ == 0 && j.check(checks::check_id::edge_of_chaos) != checks::status::fail,
                std::to_string(extreme_ci_) + " extreme CI values");
  }

 private:
  std::uint64_t consumes_ = 0, blocked_ = 0, extreme_ci_ = 0;
};

}  // namespace

extern scenario const ml_chaos;
scenario const ml_chaos{"ml_chaos", "ML Chaos Injection", {"create", "consume"}, {checks::gate_id::D}, &plan, &judge_of<judge>};

}  // namespace stormgate::scenarios
