// What a scenario's plan is built with (scenarios/*.cpp, and the soak): op ids, agents, seeded
// amounts, funding and reading phases. Pure: no I/O, no clock.
#pragma once
#include "core/hash.hpp"
#include "load/load.hpp"

#include <string>
#include <vector>

namespace stormgate::load {

class plan_builder {
 public:
  plan_builder(std::string scenario, config::target_profile const& profile, plan_params const& p);

  std::string const& scenario() const { return scenario_; }
  config::target_profile const& profile() const { return profile_; }
  plan_params const& params() const { return p_; }
  core::rng& rng() { return rng_; }

  // The next op id: "<prefix><scenario>-000017".
  std::string next_id();
  // A deterministic, shard-disjoint agent id: "<prefix><stem>-s42-03".
  std::string agent(std::string const& stem, int i) const;
  // A seeded amount in [lo, hi), rounded to cents.
  double amount(double lo, double hi);

  planned_op op(std::string f, int process, boost::json::object value, std::map<std::string, std::string> params = {});
  // `n` agents: agent(stem, 1) … agent(stem, n).
  std::vector<std::string> agents(std::string const& stem, int n) const;
  // Sets the fault (SPEC §7 JSON, named by its "name") through the admin API; clear_fault removes it.
  static phase set_fault(boost::json::object fault);
  static phase clear_fault(std::string name);
  // One lane per agent: create with the profile's skill level (up to max_skill_level), then top up
  // with `add` to `credits`.
  phase fund_agents(std::vector<std::string> const& agents, double credits);
  // Reads every agent's balance, then the balances list when the target has one.
  phase read_balances(std::vector<std::string> const& agents);

  std::string fault_path(std::string const& op) const;  // the path a fault on this op matches

 private:
  std::string scenario_;
  config::target_profile const& profile_;
  plan_params p_;
  core::rng rng_;
  std::uint64_t n_ = 0;
};

std::string pad6(std::uint64_t n);

scenario_plan soak_setup(plan_builder& b);  // soak.cpp: the soak's agents and their funding

}  // namespace stormgate::load
