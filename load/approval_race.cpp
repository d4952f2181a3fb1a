// Playbook scenario 3: one approval for 500 credits, 10 parallel approve/deny decisions;
// the target must let exactly one win (200) and answer the others 409 already_decided.
#include "load/detail/plan.hpp"

namespace stormgate::load {

scenario_plan plan_approval_race(plan_builder& b) {
  scenario_plan out;
  out.skip = b.lacks({"create", "request_approval", "approve", "deny"});
  if (!out.skip.empty()) return out;
  constexpr int deciders = 10;
  auto agent = b.agent("race", 1);
  out.phases.push_back(b.fund_agents({agent}, 1000.0));

  phase req;
  req.label = "request";
  auto r = b.op("request_approval", 0, {{"agent_id", agent}, {"amount", 500.0}, {"reason", "approval race"}});
  r.capture = "approval_id";
  req.lanes.push_back({std::move(r)});
  out.phases.push_back(std::move(req));

  phase race;
  race.label = "race";
  for (int i = 0; i < deciders; ++i) {
    std::string f = (i % 2 == 0) ? "approve" : "deny";
    auto o = b.op(f, i, {{"approver_id", "approver-" + std::to_string(i + 1)}},
                  {{"id", "$approval_id"}});
    race.lanes.push_back({std::move(o)});
  }
  out.phases.push_back(std::move(race));
  out.phases.push_back(b.read_balances({agent}));
  return out;
}

}  // namespace stormgate::load
