// Playbook scenario 4: 50 consumes while the karma route is blacked out through the proxy's admin API.
#include "scenarios/scenario_file.hpp"

namespace stormgate::scenarios {
namespace {

scenario_plan plan(plan_builder& b) {
  scenario_plan out;
  if (!b.params().has_admin) {
    out.skip = "needs the proxy's admin API (--admin-url) to black out the karma route";
    return out;
  }
  constexpr int agent_count = 5;
  constexpr int consumes = 50;
  int lanes = std::max(1, std::min(10, b.params().concurrency));
  auto agents = b.agents("karma", agent_count);
  out.phases.push_back(b.fund_agents(agents, 1000.0));

  out.phases.push_back(b.set_fault({{"name", "karma-blackout"}, {"route", "karma"}, {"action", {{"blackout", {{"status", 503}}}}}}));

  phase ph;
  ph.label = "blackout";
  ph.lanes.resize(lanes);
  for (int k = 0; k < consumes; ++k) {
    int lane = k % lanes;
    auto const& a = agents[b.rng().below(agent_count)];
    ph.lanes[lane].push_back(b.op("consume", lane, {{"agent_id", a}, {"amount", b.amount(1.0, 10.0)}, {"reason", "karma blackout"}}));
  }
  out.phases.push_back(std::move(ph));

  out.phases.push_back(b.clear_fault("karma-blackout"));
  out.phases.push_back(b.read_balances(agents));
  return out;
}

// Judged: no consume answered 5xx during the blackout (history and gate D), and every one took the
// fallback (karma "fallback", CI 0.5).
class judge final : public checks::scenario_judge {
 public:
  void on_op(hist_op const& h, source const& src, evidence& broken) override {
    if (h.f != "consume") return;
    ++consumes_;
    if (h.status >= 500) {
      ++server_errors_;
      broken.add(h.op, src, "consume answered " + std::to_string(h.status) + " during the KARMA blackout");
    } else if (h.type == "ok") {
      if (h.karma == "fallback" && h.ci && std::fabs(*h.ci - 0.5) < 1e-9) ++fallback_;
      else broken.add(h.op, src, "consume during the KARMA blackout without fallback (karma=" + std::string(h.karma) + ")");
    }
  }
  void finish(checks::judgement& j) override {
    using checks::gate_id;
    j.metrics()["consumes"] = consumes_;
    j.metrics()["fallback"] = fallback_;
    auto crashes = j.metric(gate_id::D, "crashes_during_outage");
    j.invariant("Keine Crashes (5xx)", server_errors_ == 0 && crashes == 0,
                std::to_string(server_errors_) + " 5xx in the history, " + fmt_num(crashes, 0) + " in the traffic");
    j.invariant("Fallback-Logik greift (CI = 0.5)", consumes_ > 0 && j.broken() == 0 && j.metric(gate_id::D, "missing_fallback") == 0,
                std::to_string(fallback_) + " of " + std::to_string(consumes_) + " consumes with fallback");
  }

 private:
  std::uint64_t consumes_ = 0, fallback_ = 0, server_errors_ = 0;
};

}  // namespace

extern scenario const karma_blackout;
scenario const karma_blackout{"karma_blackout", "KARMA Blackout", {"create", "consume"}, {checks::gate_id::D}, &plan, &judge_of<judge>};

}  // namespace stormgate::scenarios
