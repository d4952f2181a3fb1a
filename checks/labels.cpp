// The labels of the gates and their sub-checks: the playbook's words (live_credit_system_playbook.md,
// "Hard Gates"), as the reports show them. The one place they are written.
#include "checks/checks.hpp"

#include <iterator>

namespace stormgate::checks {

namespace {

constexpr std::string_view gate_labels[] = {"Event Integrity", "Projection Integrity", "Human Gate Safety",
                                            "Failure Safety", "Load Reality"};

struct check_label {
  check_id id;
  gate_id gate;
  std::string_view text;
};
// In check_id order (the static_assert below holds the count; label() checks the order).
constexpr check_label check_labels[] = {
    {check_id::idempotency_key, gate_id::A, "Idempotency Key wirksam"},
    {check_id::no_duplicate_events, gate_id::A, "Keine doppelten Events"},
    {check_id::schema_version, gate_id::A, "schema_version gesetzt"},
    {check_id::correlation_ids, gate_id::A, "Correlation/Causation IDs korrekt"},
    {check_id::balance_sum, gate_id::B, "Balance == Sum(Event-Deltas)"},
    {check_id::balance_chain, gate_id::B, "Balance-Kette balance_after(n) = balance_after(n-1) ± amount(n)"},
    {check_id::no_nan, gate_id::B, "Keine NaN / Inf"},
    {check_id::no_negative_balance, gate_id::B, "Keine negativen Balances"},
    {check_id::no_replay_drift, gate_id::B, "Kein Drift nach Replay"},
    {check_id::approval_serialised, gate_id::C, "Approval serialisiert (OCC / Single-Writer)"},
    {check_id::audit_log, gate_id::C, "Audit-Log vollständig & kausal"},
    {check_id::karma_no_crash, gate_id::D, "KARMA-Ausfall ohne Crash"},
    {check_id::karma_fallback, gate_id::D, "Fallback-Logik greift (CI = 0.5)"},
    {check_id::anomaly_flagged, gate_id::D, "ML-Anomalie markiert, keine Overreaction"},
    {check_id::edge_of_chaos, gate_id::D, "Edge-of-Chaos stabil (CI 0.3–0.7)"},
    {check_id::soak_without_drift, gate_id::E, "≥ 30 Min Dauerlauf ohne Drift"},
    {check_id::p95_latency, gate_id::E, "P95 Latenz < Grenzwert"},
    {check_id::no_memory_leak, gate_id::E, "Kein Memory-Leak-Trend"},
    {check_id::no_unexplained_errors, gate_id::E, "Keine unerklärten Fehler"},
};
static_assert(std::size(check_labels) == static_cast<std::size_t>(check_id::no_unexplained_errors) + 1,
              "every check_id needs its label");

constexpr bool in_order() {
  for (std::size_t i = 0; i < std::size(check_labels); ++i)
    if (static_cast<std::size_t>(check_labels[i].id) != i) return false;
  return true;
}
static_assert(in_order(), "check_labels must be in check_id order");

check_label const& entry(check_id c) { return check_labels[static_cast<std::size_t>(c)]; }

}  // namespace

std::string_view key(gate_id g) {
  static constexpr std::string_view keys[] = {"A", "B", "C", "D", "E"};
  return keys[static_cast<std::size_t>(g)];
}
std::string_view label(gate_id g) { return gate_labels[static_cast<std::size_t>(g)]; }
std::string_view label(check_id c) { return entry(c).text; }
gate_id gate_of(check_id c) { return entry(c).gate; }

sub_check make_check(check_id c, status st, std::string detail) {
  return sub_check{std::string(label(c)), st, std::move(detail), c};
}

}  // namespace stormgate::checks
