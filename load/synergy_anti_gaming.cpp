// Playbook scenario 2: 5 agents in team Alpha, 100 synergy events each, against the cap (500).
#include "load/detail/plan.hpp"

namespace stormgate::load {

scenario_plan plan_synergy_anti_gaming(plan_builder& b) {
  scenario_plan out;
  out.skip = b.lacks({"create", "synergy"});
  if (!out.skip.empty()) return out;
  constexpr int agent_count = 5;
  constexpr int events_per_agent = 100;
  int lanes = std::max(1, std::min(10, b.params().concurrency));
  std::vector<std::string> agents;
  for (int i = 1; i <= agent_count; ++i) agents.push_back(b.agent("alpha", i));
  out.phases.push_back(b.fund_agents(agents, 100.0));

  phase ph;
  ph.label = "synergy";
  ph.lanes.resize(lanes);
  for (int k = 0; k < agent_count * events_per_agent; ++k) {
    int lane = k % lanes;
    auto id = b.next_id();
    planned_op o;
    o.op = id;
    o.f = "synergy";
    o.process = lane;
    o.value = {{"team_id", "Alpha"},
               {"agent_id", agents[k % agent_count]},
               {"amount", b.amount(5.0, 15.0)},
               {"collaboration_id", "collab-" + id}};
    ph.lanes[lane].push_back(std::move(o));
  }
  out.phases.push_back(std::move(ph));
  out.phases.push_back(b.read_balances(agents));
  return out;
}

}  // namespace stormgate::load
