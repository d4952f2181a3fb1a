// Helpers shared by the scenario plans (one .cpp per scenario). Pure: no I/O, no clock.
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
  // One lane per agent: create with the profile's skill level (up to max_skill_level), then top up
  // with `add` to `credits`.
  phase fund_agents(std::vector<std::string> const& agents, double credits);
  // Reads every agent's balance, then the balances list when the target has one.
  phase read_balances(std::vector<std::string> const& agents);
  // Why a scenario needing the ops `fs` cannot run on this target ("target has no 'x' op"), or "".
  std::string lacks(std::initializer_list<char const*> fs) const;

  std::string fault_path(std::string const& op) const;  // the path a fault on this op matches

 private:
  std::string scenario_;
  config::target_profile const& profile_;
  plan_params p_;
  core::rng rng_;
  std::uint64_t n_ = 0;
};

std::string pad6(std::uint64_t n);

scenario_plan plan_credit_storm(plan_builder& b);
scenario_plan plan_synergy_anti_gaming(plan_builder& b);
scenario_plan plan_approval_race(plan_builder& b);
scenario_plan plan_karma_blackout(plan_builder& b);
scenario_plan plan_ml_chaos(plan_builder& b);
scenario_plan plan_crash_replay(plan_builder& b);
scenario_plan plan_soak(plan_builder& b);

}  // namespace stormgate::load
