// How a scenario is judged (SPEC §4, playbook §4): the checker folds the history's ops of the
// scenario into its judge as they come, and once the gates are finished, the judge turns what it
// kept and the gates' figures into the scenario's invariants. The scenario's file (scenarios/*.cpp)
// holds the judge; checks/scenarios.cpp keeps what every scenario has (op counts, latencies,
// causes of failure, start / stop / skip) and the PASS / FAIL / SKIP rule.
#pragma once
#include "checks/checks.hpp"
#include "checks/detail/evidence.hpp"
#include "checks/detail/folds.hpp"
#include "checks/detail/records.hpp"

#include <map>
#include <span>
#include <string>

namespace stormgate::checks {

// What a judge's `finish` reads, and where it writes. Reading a gate the scenario did not declare
// in its entry's `gates` is a logic_error: the declaration is the list of what judges it.
class judgement {
 public:
  judgement(scenario_entry const& entry, detail::context const& ctx, std::map<std::string, gate_result> const& gates,
            std::uint64_t broken, scenario_result& out)
      : entry_(entry), ctx_(ctx), gates_(gates), broken_(broken), out_(out) {}

  detail::context const& ctx() const { return ctx_; }
  gate_result const* gate(gate_id g) const;               // null when the gate has no result
  double metric(gate_id g, std::string_view name) const;  // the gate's named figure; 0 when absent
  status check(check_id c) const;                         // its sub-check's status: UNKNOWN without the gate
  std::uint64_t broken() const { return broken_; }        // violations the judge's on_op recorded

  boost::json::object& metrics() { return out_.metrics; }
  void invariant(std::string name, bool ok, std::string detail);

 private:
  scenario_entry const& entry_;
  detail::context const& ctx_;
  std::map<std::string, gate_result> const& gates_;
  std::uint64_t broken_;
  scenario_result& out_;
};

class scenario_judge {
 public:
  virtual ~scenario_judge() = default;
  // A history op of this scenario that ended (ok, fail or info; invokes are not passed). A broken
  // expectation goes to `broken` with the op's file:line; it is the scenario's evidence.
  virtual void on_op(detail::hist_op const& h, detail::source const& src, detail::evidence& broken) = 0;
  virtual void on_event(detail::journal_event const&) {}  // every journal event, of any scenario
  // Adds the scenario's invariants (and metrics); PASS needs every invariant to pass.
  virtual void finish(judgement& j) = 0;
};

}  // namespace stormgate::checks
