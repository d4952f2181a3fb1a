// The one list of scenarios: each is defined in scenarios/<id>.cpp as `scenario const <id>`.
// A new scenario is its file and its name here.
#include "scenarios/scenarios.hpp"

#include <stdexcept>

#define STORMGATE_SCENARIOS(X) X(credit_storm) X(synergy_anti_gaming) X(approval_race) X(karma_blackout) X(ml_chaos) X(crash_replay)

namespace stormgate::scenarios {

#define STORMGATE_DECLARE(id) extern scenario const id;
STORMGATE_SCENARIOS(STORMGATE_DECLARE)
#undef STORMGATE_DECLARE

std::vector<scenario> const& registry() {
#define STORMGATE_LIST(id) id,
  static std::vector<scenario> const list{STORMGATE_SCENARIOS(STORMGATE_LIST)};
#undef STORMGATE_LIST
  return list;
}

std::vector<load::scenario_entry> load_catalog(std::vector<scenario> const& list) {
  std::vector<load::scenario_entry> out;
  for (auto const& s : list) out.push_back({s.id, s.needs, s.plan});
  return out;
}

std::vector<checks::scenario_entry> check_catalog(std::vector<scenario> const& list) {
  std::vector<checks::scenario_entry> out;
  for (auto const& s : list) out.push_back({s.id, s.label, s.gates, s.needs, s.judge});
  return out;
}

std::vector<std::string> ids(std::vector<scenario> const& list) {
  std::vector<std::string> out;
  for (auto const& s : list) out.emplace_back(s.id);
  return out;
}

load::scenario_plan plan(std::string_view id, config::target_profile const& profile, load::plan_params const& p) {
  for (auto const& e : load_catalog())
    if (e.id == id) return load::plan(e, profile, p);
  throw std::out_of_range("no scenario '" + std::string(id) + "'");
}

}  // namespace stormgate::scenarios
