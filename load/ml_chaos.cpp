// Playbook scenario 5: normal consumes, then the proxy multiplies the amount of some of them by 10
// (`mutate`); anomalies must be flagged, not blocked. Agents are funded so that x10 stays affordable.
#include "load/detail/plan.hpp"

namespace stormgate::load {

scenario_plan plan_ml_chaos(plan_builder& b) {
  scenario_plan out;
  out.skip = b.lacks({"create", "consume"});
  if (!out.skip.empty()) return out;
  if (!b.params().has_admin) {
    out.skip = "needs the proxy's admin API (--admin-url) to mutate amounts";
    return out;
  }
  constexpr int agent_count = 5;
  constexpr int baseline = 20;
  constexpr int chaos = 40;
  int lanes = std::max(1, std::min(5, b.params().concurrency));
  std::vector<std::string> agents;
  for (int i = 1; i <= agent_count; ++i) agents.push_back(b.agent("chaos", i));
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

  phase set;
  set.kind = phase::set_fault;
  set.fault_name = "ml-chaos";
  set.fault = {{"name", "ml-chaos"},
               {"route", "credits"},
               {"match", {{"method", "POST"}, {"path", b.fault_path("consume")}}},
               {"action", {{"mutate", {{"path", b.profile().fields.amount}, {"multiply", 10}}}}},
               {"probability", 0.2}};
  out.phases.push_back(std::move(set));
  out.phases.push_back(consumes("chaos", chaos, "ml chaos"));
  phase clear;
  clear.kind = phase::clear_fault;
  clear.fault_name = "ml-chaos";
  out.phases.push_back(std::move(clear));
  out.phases.push_back(b.read_balances(agents));
  return out;
}

}  // namespace stormgate::load
