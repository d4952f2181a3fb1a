// Playbook scenario 1: 10 agents x 1000 credits, N parallel workers x 20 consumes of seeded amounts,
// ~10 % of consume answers dropped at the proxy (retried with the same op id and key), some plain
// duplicate sends, balances read at the end.
#include "load/detail/plan.hpp"

#include <algorithm>

namespace stormgate::load {

scenario_plan plan_credit_storm(plan_builder& b) {
  scenario_plan out;
  out.skip = b.lacks({"create", "consume"});
  if (!out.skip.empty()) return out;
  constexpr int agent_count = 10;
  constexpr int consumes_per_worker = 20;
  int workers = std::max(1, b.params().concurrency);
  // Seeded amounts in [1, 2m - 1] with mean m chosen so that the storm asks for about 1.5x what the
  // agents hold, at any worker count: the sufficient-funds check is always exercised (a drained
  // agent's later consumes must get 400, never a negative balance).
  constexpr double credits_per_agent = 1000.0;
  double mean_amount = std::max(1.5, 1.5 * agent_count * credits_per_agent / (workers * consumes_per_worker));
  std::vector<std::string> agents;
  for (int i = 1; i <= agent_count; ++i) agents.push_back(b.agent("storm", i));
  out.phases.push_back(b.fund_agents(agents, credits_per_agent));

  if (b.params().has_admin) {
    phase set;
    set.kind = phase::set_fault;
    set.fault_name = "retry-injection";
    set.fault = {{"name", "retry-injection"},
                 {"route", "credits"},
                 {"match",
                  {{"method", "POST"}, {"path", b.fault_path("consume")}, {"header", {{"x-stormgate-attempt", "1"}}}}},
                 {"action", {{"drop_response", {{"status", 504}}}}},
                 {"probability", 0.1}};
    out.phases.push_back(std::move(set));
  } else {
    out.note = "no admin URL: retry injection by plain duplicate sends only";
  }

  phase storm;
  storm.label = "storm";
  for (int w = 0; w < workers; ++w) {
    std::vector<planned_op> lane;
    for (int j = 0; j < consumes_per_worker; ++j) {
      auto const& a = agents[b.rng().below(agent_count)];
      auto o = b.op("consume", w, {{"agent_id", a}, {"amount", b.amount(1.0, 2 * mean_amount - 1.0)}, {"reason", "storm"}});
      o.max_attempts = 3;
      if (b.rng().uniform() < 0.05) o.duplicates = 1;
      lane.push_back(std::move(o));
    }
    storm.lanes.push_back(std::move(lane));
  }
  out.phases.push_back(std::move(storm));
  if (b.params().has_admin) {
    phase clear;
    clear.kind = phase::clear_fault;
    clear.fault_name = "retry-injection";
    out.phases.push_back(std::move(clear));
  }
  out.phases.push_back(b.read_balances(agents));
  return out;
}

}  // namespace stormgate::load
