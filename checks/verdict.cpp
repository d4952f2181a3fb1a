// The verdict (playbook "Erfolgs-Kriterien", SPEC §5): GO / CONDITIONAL / NO-GO with the playbook's
// recommendation, and the exit code of SPEC §6.
#include "checks/detail/folds.hpp"

namespace stormgate::checks {

namespace detail {

namespace {
constexpr char const* recommendation_go =
    "System stabil. Event Sourcing Foundation production-ready. Freigabe für Phase 5a (Postgres Event Store).";
// CONDITIONAL names what keeps the run from GO (the verdict's reasons), instead of a fixed time span.
std::string recommendation_conditional(std::vector<std::string> const& open) {
  std::string s = "System grundsätzlich stabil, aber noch nicht freigabereif. Offen: ";
  for (std::size_t i = 0; i < open.size(); ++i) s += (i ? "; " : "") + open[i];
  return s + ". Re-Evaluation mit einem vollen Lauf (stormgate run --full --duration 1800), sobald diese Punkte behoben sind.";
}
constexpr char const* recommendation_no_go =
    "Kritische Risiken identifiziert. Evolution blockiert bis Fixes implementiert. Phase 5–8 weiterhin gesperrt.";
}  // namespace

void decide(check_report& r, std::size_t scenarios) {
  std::vector<std::string> no_go, not_go;
  std::size_t failed = 0, passed = 0;
  for (auto const& s : r.scenarios) {
    if (s.st == status::fail) ++failed;
    if (s.st == status::pass) ++passed;
    if (s.st != status::pass)
      not_go.push_back("scenario " + s.scenario_id + ": " + to_string(s.st) + (s.reason.empty() ? "" : " (" + s.reason + ")"));
  }
  if (failed >= 3) no_go.push_back(std::to_string(failed) + " scenarios FAIL (>= 3)");
  for (auto const& [id, g] : r.gates) {
    if ((id == key(gate_id::A) || id == key(gate_id::B)) && g.st == status::fail) no_go.push_back("gate " + id + " (" + g.name + ") FAIL: " + g.figure);
    else if (g.critical && g.st == status::fail) no_go.push_back("critical failure in gate " + id + " (" + g.name + "): " + g.figure);
    if (g.st != status::pass) not_go.push_back("gate " + id + ": " + to_string(g.st));
  }
  auto const n = std::to_string(scenarios);
  if (r.scenarios.size() < scenarios) not_go.push_back("fewer than " + n + " scenarios");
  if (r.gates.size() < std::size(all_gates)) not_go.push_back("fewer than " + std::to_string(std::size(all_gates)) + " gates");
  if (!no_go.empty()) {
    r.overall_status = "NO-GO";
    r.recommendation = recommendation_no_go;
    r.verdict_reasons = std::move(no_go);
  } else if (not_go.empty() && scenarios > 0 && passed == scenarios) {
    r.overall_status = "GO";
    r.recommendation = recommendation_go;
    r.verdict_reasons = {"all " + n + " scenarios PASS, all " + std::to_string(std::size(all_gates)) +
                         " gates PASS, no critical failure, p95 < 500 ms, 30-minute soak without drift"};
  } else {
    r.overall_status = "CONDITIONAL";
    r.recommendation = recommendation_conditional(not_go);
    r.verdict_reasons = std::move(not_go);
  }
}

}  // namespace detail

int check_report::exit_code() const {
  if (overall_status == "GO") return core::exit_go;
  if (overall_status == "NO-GO") return core::exit_no_go;
  return core::exit_conditional;
}

}  // namespace stormgate::checks
