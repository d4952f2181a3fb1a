// Playbook scenario 1: 10 agents x 1000 credits, N parallel workers x 20 consumes of seeded amounts,
// ~10 % of consume answers dropped at the proxy (retried with the same op id and key), some plain
// duplicate sends, balances read at the end.
#include "scenarios/scenario_file.hpp"

#include <algorithm>

namespace stormgate::scenarios {
namespace {

scenario_plan plan(plan_builder& b) {
  scenario_plan out;
  constexpr int agent_count = 10;
  constexpr int consumes_per_worker = 20;
  int workers = std::max(1, b.params().concurrency);
  // Seeded amounts in [1, 2m - 1] with mean m chosen so that the storm asks for about 1.5x what the
  // agents hold, at any worker count: the sufficient-funds check is always exercised (a drained
  // agent's later consumes must get 400, never a negative balance).
  constexpr double credits_per_agent = 1000.0;
  double mean_amount = std::max(1.5, 1.5 * agent_count * credits_per_agent / (workers * consumes_per_worker));
  auto agents = b.agents("storm", agent_count);
  out.phases.push_back(b.fund_agents(agents, credits_per_agent));

  if (b.params().has_admin) {
    out.phases.push_back(b.set_fault(
        {{"name", "retry-injection"},
         {"route", "credits"},
         {"match", {{"method", "POST"}, {"path", b.fault_path("consume")}, {"header", {{"x-stormgate-attempt", "1"}}}}},
         {"action", {{"drop_response", {{"status", 504}}}}},
         {"probability", 0.1}}));
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
    out.phases.push_back(b.clear_fault("retry-injection"));
  }
  out.phases.push_back(b.read_balances(agents));
  return out;
}

// Judged: no balance below 0 (in the answers and gate B), no idempotency violation (gate A), and
// gate B's sum rule.
class judge final : public checks::scenario_judge {
 public:
  void on_op(hist_op const& h, source const& src, evidence& broken) override {
    if (h.type != "ok") return;
    if ((h.balance_after && *h.balance_after < -1e-9) || (h.balance && *h.balance < -1e-9)) {
      ++negative_;
      broken.add(h.op, src, "negative balance in an answer");
    }
  }
  void finish(checks::judgement& j) override {
    using checks::gate_id;
    auto negative = j.metric(gate_id::B, "negative_balances");
    j.invariant("Alle Balances >= 0", negative_ == 0 && negative == 0,
                fmt_num(negative, 0) + " negative balances (gate B), " + std::to_string(negative_) + " in the history");
    auto idem = j.metric(gate_id::A, "idempotency_violations");
    j.invariant("Keine Idempotency-Violations", idem == 0, fmt_num(idem, 0) + " idempotency violations (gate A)");
    auto sum = j.check(checks::check_id::balance_sum);
    j.invariant("balance == sum(event_deltas)", sum == checks::status::pass,
                std::string("gate B: ") + to_string(sum) + ", max drift " + fmt_num(j.metric(gate_id::B, "max_drift")));
  }

 private:
  std::uint64_t negative_ = 0;
};

}  // namespace

extern scenario const credit_storm;
scenario const credit_storm{"credit_storm", "Credit Storm / Reuse Cascade", {"create", "consume"}, {checks::gate_id::A, checks::gate_id::B}, &plan, &judge_of<judge>};

}  // namespace stormgate::scenarios
