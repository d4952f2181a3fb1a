// Playbook scenario 3: one approval for 500 credits, 10 parallel approve/deny decisions;
// the target must let exactly one win (200) and answer the others 409 already_decided.
#include "scenarios/scenario_file.hpp"

namespace stormgate::scenarios {
namespace {

scenario_plan plan(plan_builder& b) {
  scenario_plan out;
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

// Judged: exactly one decision wins per approval, the others get 409 already_decided, and gate C
// saw no race.
class judge final : public checks::scenario_judge {
 public:
  void on_op(hist_op const& h, source const& src, evidence& broken) override {
    if (h.f != "approve" && h.f != "deny") return;
    auto& t = approvals_[h.approval_id.empty() ? std::string("?") : std::string(h.approval_id)];
    if (h.type == "ok" && ok2xx(h.status)) ++t.won;
    else if (h.status == 409) ++t.conflict;
    else if (h.type == "info") ++t.unknown;
    else {
      ++t.other;
      broken.add(h.op, src, std::string(h.f) + " answered " + std::to_string(h.status) + ", expected 200 or 409 already_decided");
    }
  }
  void finish(checks::judgement& j) override {
    std::uint64_t bad = 0, won = 0, conflicts = 0;
    for (auto const& [a, t] : approvals_) {
      won += t.won;
      conflicts += t.conflict;
      if (t.won != 1 || t.other) ++bad;
    }
    j.metrics()["approvals"] = approvals_.size();
    j.metrics()["winning_decisions"] = won;
    j.metrics()["already_decided"] = conflicts;
    j.invariant("Nur 1 Approval wirksam", !approvals_.empty() && bad == 0,
                approvals_.empty() ? "no approve/deny in the history"
                                   : std::to_string(won) + " winning decisions on " + std::to_string(approvals_.size()) + " approvals");
    j.invariant("Restliche Requests: already_decided", j.broken() == 0, std::to_string(conflicts) + " answered 409");
    auto race = j.check(checks::check_id::approval_serialised);
    j.invariant("Gate C: keine Approval-Races", race != checks::status::fail, std::string("gate C: ") + to_string(race));
  }

 private:
  struct tally {
    std::uint64_t won = 0, conflict = 0, unknown = 0, other = 0;
  };
  std::map<std::string, tally> approvals_;
};

}  // namespace

extern scenario const approval_race;
scenario const approval_race{"approval_race", "Approval Race / Concurrency", {"create", "request_approval", "approve", "deny"}, {checks::gate_id::C}, &plan, &judge_of<judge>};

}  // namespace stormgate::scenarios
