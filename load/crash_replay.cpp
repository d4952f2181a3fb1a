// Playbook scenario 6: 100 events, a state snapshot, a restart of the backend (a configured command)
// or the replay op, and a snapshot again; the checker compares the two state digests.
#include "load/detail/plan.hpp"

namespace stormgate::load {

scenario_plan plan_crash_replay(plan_builder& b) {
  scenario_plan out;
  out.skip = b.lacks({"create", "consume"});
  if (!out.skip.empty()) return out;
  bool restart = b.params().can_restart;
  if (!restart && !b.profile().has("replay")) {
    out.skip = "no restart command ([restart] command or --restart-command) and no replay op";
    return out;
  }
  std::string snapshot = b.profile().has("state") ? "state" : (b.profile().has("balances") ? "balances" : "");
  if (snapshot.empty()) {
    out.skip = "target has neither a 'state' nor a 'balances' op to snapshot";
    return out;
  }
  constexpr int agent_count = 5;
  constexpr int events = 100;
  std::vector<std::string> agents;
  for (int i = 1; i <= agent_count; ++i) agents.push_back(b.agent("crash", i));
  out.phases.push_back(b.fund_agents(agents, 1000.0));

  phase ph;
  ph.label = "events";
  ph.lanes.resize(agent_count);
  bool refund = b.profile().has("refund");
  for (int k = 0; k < events; ++k) {
    int lane = k % agent_count;
    auto const& a = agents[lane];
    double u = b.rng().uniform();
    std::string f = u < 0.7 ? "consume" : (u < 0.85 && refund ? "refund" : "add");
    if (f == "add" && !b.profile().has("add")) f = "consume";
    ph.lanes[lane].push_back(b.op(f, lane, {{"agent_id", a}, {"amount", b.amount(1.0, 10.0)}, {"reason", "crash replay"}}));
  }
  out.phases.push_back(std::move(ph));

  auto snap = [&](std::string label) {
    phase s;
    s.label = std::move(label);
    s.lanes.push_back({b.op(snapshot, 0, {})});
    return s;
  };
  out.phases.push_back(snap("before"));
  phase r;
  r.kind = phase::restart;
  r.label = restart ? "restart" : "replay";
  r.lanes.push_back({b.op(restart ? "restart" : "replay", 0, {})});
  out.phases.push_back(std::move(r));
  out.phases.push_back(snap("after"));
  out.phases.push_back(b.read_balances(agents));
  return out;
}

}  // namespace stormgate::load
