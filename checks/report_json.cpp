// --report-json: the BRAiN harness's top-level fields plus the evidence. Renders, computes nothing.
#include "checks/detail/evidence.hpp"

#include <boost/json.hpp>

namespace stormgate::checks {

namespace json = boost::json;

namespace {

json::array checks_json(std::vector<sub_check> const& cs) {
  json::array a;
  for (auto const& c : cs) a.push_back(json::object{{"name", c.name}, {"status", to_string(c.st)}, {"detail", c.detail}});
  return a;
}

json::array strings(std::vector<std::string> const& v) {
  json::array a;
  for (auto const& s : v) a.push_back(json::value(s));
  return a;
}

}  // namespace

std::string render_json(check_report const& r) {
  json::object o;
  o["timestamp"] = r.timestamp;
  o["branch"] = r.branch;
  o["commit"] = r.commit;
  o["test_config"] = r.test_config;
  json::array scen;
  for (auto const& s : r.scenarios) {
    json::object j;
    j["scenario_id"] = s.scenario_id;
    j["scenario_name"] = s.scenario_name;
    j["status"] = to_string(s.st);
    j["duration"] = s.duration_s;
    j["throughput"] = s.throughput;
    j["p95_latency"] = s.p95_ms;
    j["errors"] = strings(s.errors);
    j["metrics"] = s.metrics;
    j["invariants_passed"] = s.invariants_passed;
    j["invariants"] = checks_json(s.invariants);
    if (!s.reason.empty()) j["reason"] = s.reason;
    scen.push_back(std::move(j));
  }
  o["scenario_results"] = std::move(scen);
  json::object gates;
  for (auto const& [id, g] : r.gates) {
    json::object j;
    j["name"] = g.name;
    j["status"] = to_string(g.st);
    j["passed"] = g.st == status::pass;
    j["figure"] = g.figure;
    j["threshold"] = g.threshold;
    j["critical"] = g.critical;
    j["checks"] = checks_json(g.checks);
    json::array vs;
    for (auto const& v : g.violations) vs.push_back(json::object{{"op", v.op}, {"file", v.file}, {"line", v.line}, {"why", v.why}});
    j["violations"] = std::move(vs);
    j["violations_total"] = g.total_violations;
    j["notes"] = strings(g.notes);
    j["metrics"] = g.metrics;
    gates[id] = std::move(j);
  }
  o["gate_results"] = std::move(gates);
  o["overall_status"] = r.overall_status;
  o["recommendation"] = r.recommendation;
  o["verdict_reasons"] = strings(r.verdict_reasons);
  o["notes"] = strings(r.notes);
  o["records"] = r.records;
  return json::serialize(o) + "\n";
}

}  // namespace stormgate::checks
