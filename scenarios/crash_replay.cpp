// Playbook scenario 6: 100 events, a state snapshot, a restart of the backend (a configured command)
// or the replay op, and a snapshot again; the checker compares the two state digests.
#include "scenarios/scenario_file.hpp"

namespace stormgate::scenarios {
namespace {

scenario_plan plan(plan_builder& b) {
  scenario_plan out;
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
  auto agents = b.agents("crash", agent_count);
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

// Judged: the state digest after a restart or replay equals the one before (with no write between
// them), and gate B holds.
class judge final : public checks::scenario_judge {
 public:
  void on_op(hist_op const& h, source const& src, evidence& broken) override {
    if (h.type == "ok" && (h.f == "state" || h.f == "replay") && !h.state_digest.empty()) {
      if (!last_.empty() && (h.f == "replay" || pending_)) {
        ++compared_;
        if (h.state_digest == last_) ++equal_;
        else broken.add(h.op, src, "state digest " + std::string(h.state_digest) + " differs from " + last_);
      }
      last_ = h.state_digest;
      pending_ = h.f == "replay";
    } else if (h.f == "restart" && h.type == "ok") {
      pending_ = true;
    } else if (checks::detail::is_write(h.f) && h.type == "ok") {
      last_.clear();  // state moved on: compare only snapshots with no write in between
      pending_ = false;
    }
  }
  void finish(checks::judgement& j) override {
    j.metrics()["digest_compared"] = compared_;
    j.invariant("Nach Replay: identischer State", compared_ > 0 && equal_ == compared_,
                compared_ ? std::to_string(equal_) + " of " + std::to_string(compared_) + " digest comparisons equal"
                          : "no state digest before and after a replay or restart");
    auto const* b = j.gate(checks::gate_id::B);
    j.invariant("Alle Invarianten erfüllt (Gate B)", b && b->st != checks::status::fail,
                std::string("gate B: ") + (b ? to_string(b->st) : "UNKNOWN"));
  }

 private:
  std::string last_;  // the last digest, in history order
  bool pending_ = false;
  std::uint64_t compared_ = 0, equal_ = 0;
};

}  // namespace

extern scenario const crash_replay;
scenario const crash_replay{"crash_replay", "Crash / Replay", {"create", "consume"}, {checks::gate_id::B}, &plan, &judge_of<judge>};

}  // namespace stormgate::scenarios
