#include "load/plan_builder.hpp"

#include <algorithm>
#include <cmath>

namespace stormgate::load {

std::string shard::prefix() const {
  if (!sharded()) return {};
  return "s" + std::to_string(index) + "of" + std::to_string(count) + "-";
}

core::result<shard> parse_shard(std::string_view text) {
  auto slash = text.find('/');
  shard s;
  try {
    if (slash == std::string_view::npos) throw std::invalid_argument("no slash");
    std::size_t used = 0;
    std::string a(text.substr(0, slash)), b(text.substr(slash + 1));
    s.index = std::stoi(a, &used);
    if (used != a.size()) throw std::invalid_argument("index");
    s.count = std::stoi(b, &used);
    if (used != b.size()) throw std::invalid_argument("count");
  } catch (std::exception const&) {
    return core::usage_error("--shard", "expected I/N (e.g. 1/2), got '" + std::string(text) + "'");
  }
  if (s.count < 1 || s.index < 1 || s.index > s.count)
    return core::usage_error("--shard", "need 1 <= I <= N, got '" + std::string(text) + "'");
  return s;
}

std::size_t scenario_plan::op_count() const {
  std::size_t n = 0;
  for (auto const& ph : phases)
    for (auto const& lane : ph.lanes) n += lane.size();
  return n;
}

std::string pad6(std::uint64_t n) {
  std::string s = std::to_string(n);
  if (s.size() < 6) s.insert(0, 6 - s.size(), '0');
  return s;
}

plan_builder::plan_builder(std::string scenario, config::target_profile const& profile, plan_params const& p)
    : scenario_(std::move(scenario)), profile_(profile), p_(p), rng_(core::hash64(p.seed, {scenario_, p.part.prefix()})) {}

std::string plan_builder::next_id() { return p_.part.prefix() + scenario_ + "-" + pad6(n_++); }

std::string plan_builder::agent(std::string const& stem, int i) const {
  std::string nn = std::to_string(i);
  if (nn.size() < 2) nn.insert(0, 1, '0');
  return p_.part.prefix() + stem + "-s" + std::to_string(p_.seed) + "-" + nn;
}

std::vector<std::string> plan_builder::agents(std::string const& stem, int n) const {
  std::vector<std::string> out;
  for (int i = 1; i <= n; ++i) out.push_back(agent(stem, i));
  return out;
}

phase plan_builder::set_fault(boost::json::object fault) {
  phase ph;
  ph.kind = phase::set_fault;
  ph.fault_name = std::string(fault.at("name").as_string());
  ph.fault = std::move(fault);
  return ph;
}

phase plan_builder::clear_fault(std::string name) {
  phase ph;
  ph.kind = phase::clear_fault;
  ph.fault_name = std::move(name);
  return ph;
}

double plan_builder::amount(double lo, double hi) { return std::round(rng_.between(lo, hi) * 100.0) / 100.0; }

planned_op plan_builder::op(std::string f, int process, boost::json::object value,
                            std::map<std::string, std::string> params) {
  planned_op o;
  o.op = next_id();
  o.f = std::move(f);
  o.process = process;
  o.value = std::move(value);
  o.params = std::move(params);
  return o;
}

phase plan_builder::fund_agents(std::vector<std::string> const& agents, double credits) {
  phase ph;
  ph.label = "fund";
  double per = profile_.fields.initial_per_skill > 0 ? profile_.fields.initial_per_skill : 100.0;
  double skill = std::min(profile_.fields.max_skill_level, credits / per);
  skill = std::round(skill * 1000.0) / 1000.0;
  double initial = skill * per;
  int process = 0;
  for (auto const& a : agents) {
    std::vector<planned_op> lane;
    lane.push_back(op("create", process, {{"agent_id", a}, {"skill_level", skill}}));
    if (credits - initial > 0.005 && profile_.has("add"))
      lane.push_back(op("add", process,
                        {{"agent_id", a}, {"amount", std::round((credits - initial) * 100.0) / 100.0}, {"reason", "fund"}}));
    ph.lanes.push_back(std::move(lane));
    ++process;
  }
  return ph;
}

phase plan_builder::read_balances(std::vector<std::string> const& agents) {
  phase ph;
  ph.label = "read";
  std::vector<planned_op> lane;
  if (profile_.has("balance"))
    for (auto const& a : agents) lane.push_back(op("balance", 0, {{"agent_id", a}}, {{"agent_id", a}}));
  if (profile_.has("balances")) lane.push_back(op("balances", 0, {}));
  ph.lanes.push_back(std::move(lane));
  return ph;
}

std::string plan_builder::fault_path(std::string const& op) const {
  auto it = profile_.ops.find(op);
  return it == profile_.ops.end() ? std::string() : it->second.path;
}

scenario_plan plan(scenario_entry const& scenario, config::target_profile const& profile, plan_params const& p) {
  std::string id(scenario.id);
  scenario_plan out;
  if (auto why = profile.skip_reason(id)) {
    out.skip = *why;
  } else if (auto lacking = std::find_if(scenario.needs.begin(), scenario.needs.end(), [&](auto f) { return !profile.has(f); });
             lacking != scenario.needs.end()) {
    out.skip = "target has no '" + std::string(*lacking) + "' op";
  } else {
    plan_builder b(id, profile, p);
    out = scenario.plan(b);
  }
  out.scenario = id;
  return out;
}

scenario_plan plan_soak(config::target_profile const& profile, plan_params const& p) {
  return plan(scenario_entry{"soak", {"create", "balance"}, &soak_setup}, profile, p);
}

}  // namespace stormgate::load
