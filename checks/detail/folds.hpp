// The gate folds and the scenario fold over the records, and what they may look at besides them.
#pragma once
#include "checks/checks.hpp"
#include "checks/detail/op_book.hpp"
#include "checks/detail/records.hpp"
#include "config/config.hpp"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace stormgate::checks::detail {

// What every gate may look at besides the records.
struct context {
  config::target_profile profile;
  bool has_journal = false;
  bool has_history = false;
  bool has_event_id() const { return !profile.fields.event_id.empty(); }
  bool has_idempotency() const { return !profile.idempotency_header.empty(); }
  double synergy_cap = 500.0;
};

// ---- gate folds --------------------------------------------------------------------------

struct gate_fold {
  virtual ~gate_fold() = default;
  virtual void step(record const& r) = 0;
  // An op leaves the shared op_book: a minute has passed since its last exchange, or the logs ended.
  virtual void retire(op_facts&) {}
  virtual gate_result finish() = 0;
};

std::unique_ptr<gate_fold> make_gate_a(context const& ctx, op_book& ops);
std::unique_ptr<gate_fold> make_gate_b(context const& ctx, op_book& ops);
std::unique_ptr<gate_fold> make_gate_c(context const& ctx);
std::unique_ptr<gate_fold> make_gate_d(context const& ctx, series* charts);
std::unique_ptr<gate_fold> make_gate_e(context const& ctx, series* charts);

// Scenario results: a fold over the history, finished with the gates' results.
struct scenario_fold {
  virtual ~scenario_fold() = default;
  virtual void step(record const& r) = 0;
  virtual std::vector<scenario_result> finish(std::map<std::string, gate_result> const& gates) = 0;
};
std::unique_ptr<scenario_fold> make_scenarios(context const& ctx, std::vector<scenario_entry> const& entries);

// Status of a gate from its sub-checks: FAIL if any, else WARN if any, else PASS if one passed, else SKIP.
status merge_checks(std::vector<sub_check> const& checks);

// The verdict (SPEC §5): fills overall_status, recommendation, verdict_reasons. GO needs each of the
// `scenarios` judged to PASS.
void decide(check_report& r, std::size_t scenarios);

}  // namespace stormgate::checks::detail
