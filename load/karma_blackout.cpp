// Playbook scenario 4: 50 consumes while the karma route is blacked out through the proxy's admin API.
#include "load/detail/plan.hpp"

namespace stormgate::load {

scenario_plan plan_karma_blackout(plan_builder& b) {
  scenario_plan out;
  out.skip = b.lacks({"create", "consume"});
  if (!out.skip.empty()) return out;
  if (!b.params().has_admin) {
    out.skip = "needs the proxy's admin API (--admin-url) to black out the karma route";
    return out;
  }
  constexpr int agent_count = 5;
  constexpr int consumes = 50;
  int lanes = std::max(1, std::min(10, b.params().concurrency));
  std::vector<std::string> agents;
  for (int i = 1; i <= agent_count; ++i) agents.push_back(b.agent("karma", i));
  out.phases.push_back(b.fund_agents(agents, 1000.0));

  phase set;
  set.kind = phase::set_fault;
  set.fault_name = "karma-blackout";
  set.fault = {{"name", "karma-blackout"}, {"route", "karma"}, {"action", {{"blackout", {{"status", 503}}}}}};
  out.phases.push_back(std::move(set));

  phase ph;
  ph.label = "blackout";
  ph.lanes.resize(lanes);
  for (int k = 0; k < consumes; ++k) {
    int lane = k % lanes;
    auto const& a = agents[b.rng().below(agent_count)];
    ph.lanes[lane].push_back(b.op("consume", lane, {{"agent_id", a}, {"amount", b.amount(1.0, 10.0)}, {"reason", "karma blackout"}}));
  }
  out.phases.push_back(std::move(ph));

  phase clear;
  clear.kind = phase::clear_fault;
  clear.fault_name = "karma-blackout";
  out.phases.push_back(std::move(clear));
  out.phases.push_back(b.read_balances(agents));
  return out;
}

}  // namespace stormgate::load
