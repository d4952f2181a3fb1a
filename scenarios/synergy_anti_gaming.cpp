// Playbook scenario 2: 5 agents in team Alpha, 100 synergy events each, against the cap (500).
#include "scenarios/scenario_file.hpp"

namespace stormgate::scenarios {
namespace {

scenario_plan plan(plan_builder& b) {
  scenario_plan out;
  constexpr int agent_count = 5;
  constexpr int events_per_agent = 100;
  int lanes = std::max(1, std::min(10, b.params().concurrency));
  auto agents = b.agents("alpha", agent_count);
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

// Judged: no agent above the reward cap from synergy, and a cap that was reached shows in the
// answers (capped: true) or in the journal (reward_capped events).
class judge final : public checks::scenario_judge {
 public:
  explicit judge(context const& ctx) : cap_(ctx.synergy_cap) {}
  void on_op(hist_op const& h, source const&, evidence&) override {
    if (h.f != "synergy" || h.type != "ok" || h.agent_id.empty()) return;
    auto& t = agents_[std::string(h.agent_id)];
    t.awarded += h.awarded.value_or(0);
    t.requested += h.requested.value_or(h.amount.value_or(0));
    if (h.synergy_total) t.max_total = std::max(t.max_total, *h.synergy_total);
    if (h.capped && *h.capped) capped_answer_ = true;
  }
  void on_event(journal_event const& e) override {
    if (e.event_type.find("reward_capped") != std::string_view::npos) ++capped_events_;
  }
  void finish(checks::judgement& j) override {
    double worst = 0, req_worst = 0;
    std::string who;
    for (auto const& [a, t] : agents_) {
      double got = std::max(t.awarded, t.max_total);
      if (got > worst) worst = got, who = a;
      req_worst = std::max(req_worst, t.requested);
    }
    j.metrics()["reward_cap"] = cap_;
    j.metrics()["max_agent_synergy"] = worst;
    j.metrics()["agents"] = agents_.size();
    j.invariant("Kein Agent > Reward-Deckel aus Synergie", !agents_.empty() && worst <= cap_ + 0.01,
                agents_.empty() ? "no synergy answers in the history" : "max " + fmt_num(worst) + " (" + who + "), cap " + fmt_num(cap_));
    bool cap_hit = req_worst > cap_ + 0.01;
    bool audited = capped_answer_ || capped_events_ > 0;
    j.invariant("Audit-Log zeigt reward_capped", !cap_hit || audited,
                cap_hit ? (audited ? "cap hit; " + std::to_string(capped_events_) + " reward_capped events in the journal" +
                                         (capped_answer_ ? ", capped:true answers" : "")
                                   : "cap hit but no capped:true answer and no reward_capped event")
                        : "cap not reached (max requested " + fmt_num(req_worst) + ")");
  }

 private:
  struct tally {
    double awarded = 0, requested = 0, max_total = 0;
  };
  double cap_;
  std::map<std::string, tally> agents_;
  bool capped_answer_ = false;
  std::uint64_t capped_events_ = 0;
};

}  // namespace

extern scenario const synergy_anti_gaming;
scenario const synergy_anti_gaming{"synergy_anti_gaming", "Synergy Anti-Gaming Loop", {"create", "synergy"}, {}, &plan, &judge_of<judge>};

}  // namespace stormgate::scenarios
