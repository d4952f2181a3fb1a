// The playbook's scenarios (SPEC §4, playbook §4), each declared once, in its own file
// (scenarios/<id>.cpp): its id and playbook label, the ops it needs, its plan (what it sends and
// which faults it sets, as data for load/), the gates it reads and its judge (for checks/).
// registry.cpp lists them in playbook order; the load, the checker, the verdict and the reports take
// the list from there, through the catalogs below, which the stormgate binary passes on.
//
// A target profile skips a scenario in its [skip] table (config/targets/*.toml); one that lacks
// an op of `needs` skips it too. Any other reason (no admin API, no restart command) is the plan's.
#pragma once
#include "checks/checks.hpp"
#include "load/load.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace stormgate::scenarios {

struct scenario {
  std::string_view id;                  // SPEC §4 id: "credit_storm", …
  std::string_view label;               // the playbook's name: "Credit Storm / Reuse Cascade", …
  std::vector<std::string_view> needs;  // ops the target must have
  std::vector<checks::gate_id> gates;   // the gates its judge reads
  load::scenario_plan (*plan)(load::plan_builder& b);
  std::unique_ptr<checks::scenario_judge> (*judge)(checks::detail::context const& ctx);
};

// Every scenario, in playbook order.
std::vector<scenario> const& registry();

// The two halves of `list`: what the load plans, what the checker judges.
std::vector<load::scenario_entry> load_catalog(std::vector<scenario> const& list = registry());
std::vector<checks::scenario_entry> check_catalog(std::vector<scenario> const& list = registry());

std::vector<std::string> ids(std::vector<scenario> const& list = registry());  // in list order
// The plan of the registered scenario `id` (load::plan); std::out_of_range when there is none.
load::scenario_plan plan(std::string_view id, config::target_profile const& profile, load::plan_params const& p);

// The judge of a scenario file: `judge_of<my_judge>` makes one per check, given the check's context
// when its constructor takes one.
template <class Judge>
std::unique_ptr<checks::scenario_judge> judge_of(checks::detail::context const& ctx) {
  if constexpr (std::is_constructible_v<Judge, checks::detail::context const&>) return std::make_unique<Judge>(ctx);
  else return std::make_unique<Judge>();
}

}  // namespace stormgate::scenarios
