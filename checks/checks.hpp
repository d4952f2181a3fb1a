// stormgate check: the playbook's gates A–E, the scenario results and the verdict, computed in one
// streamed pass over traffic logs, histories and the event journal (SPEC §5, §6); and the reports
// (JSON, Markdown, JUnit, HTML) that render a finished `check_report` and compute nothing.
#pragma once
#include "core/error.hpp"

#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stormgate::checks {

enum class status { pass, warn, fail, skip, unknown };
char const* to_string(status s);  // "PASS", "WARN", "FAIL", "SKIP", "UNKNOWN"

// One violation, enough to find it again: the logical op (or event / approval id), file:line, why.
struct violation {
  std::string op;
  std::string file;
  std::uint64_t line = 0;
  std::string why;
};

// The playbook's gates, and their sub-checks (the checkboxes of the report template). Code names them
// by these ids; their labels (the playbook's words, which the reports show) are in one table,
// checks/labels.cpp.
enum class gate_id { A, B, C, D, E };
enum class check_id {
  idempotency_key, no_duplicate_events, schema_version, correlation_ids,               // A
  balance_sum, balance_chain, no_nan, no_negative_balance, no_replay_drift,            // B
  approval_serialised, audit_log,                                                      // C
  karma_no_crash, karma_fallback, anomaly_flagged, edge_of_chaos,                      // D
  soak_without_drift, p95_latency, no_memory_leak, no_unexplained_errors,              // E
};
inline constexpr gate_id all_gates[] = {gate_id::A, gate_id::B, gate_id::C, gate_id::D, gate_id::E};
std::string_view key(gate_id g);           // "A".."E": the key of check_report::gates
std::string_view label(gate_id g);         // "Event Integrity", …
std::string_view label(check_id c);        // "Idempotency Key wirksam", …
gate_id gate_of(check_id c);

// A gate's sub-check, or a scenario's invariant: its own status and a one-line detail. A gate's
// sub-check carries its id; an invariant (named by its scenario) has none.
struct sub_check {
  std::string name;
  status st = status::skip;
  std::string detail;
  std::optional<check_id> id;
};
sub_check make_check(check_id c, status st, std::string detail);  // named by label(c)

struct gate_result {
  std::string id;    // "A".."E"
  std::string name;  // "Event Integrity", …
  status st = status::skip;
  bool critical = false;  // a critical failure (→ NO-GO)
  std::string figure;     // what was measured, e.g. "0 idempotency violations"
  std::string threshold;  // what PASS needs
  std::vector<sub_check> checks;
  std::vector<violation> violations;  // capped (violation_cap), oldest first
  std::uint64_t total_violations = 0;
  std::vector<std::string> notes;
  boost::json::object metrics;  // named figures (max_drift, p95_ms, …)
};

struct scenario_result {
  std::string scenario_id;    // SPEC §4 id: credit_storm, …
  std::string scenario_name;  // playbook name: "Credit Storm / Reuse Cascade", …
  status st = status::skip;   // PASS / FAIL / SKIP
  std::string reason;         // why SKIP / FAIL
  double duration_s = 0;
  double throughput = 0;  // ops/s
  double p95_ms = 0;
  std::vector<std::string> errors;
  boost::json::object metrics;
  bool invariants_passed = false;
  std::vector<sub_check> invariants;
};

// Time series for the HTML charts (one entry per time slice, times in seconds since the first record).
struct series {
  struct slice {
    double t_s = 0, width_s = 0;
    double p50_ms = 0, p95_ms = 0, p99_ms = 0;
    std::uint64_t ops = 0;
  };
  struct point {
    double t_s = 0, mb = 0;
  };
  struct window {
    double from_s = 0, to_s = 0;
    std::string name, route, kind;
  };
  // one process's RSS, and its trend line over each segment it was fitted in (gate E)
  struct memory_line {
    std::string process;
    std::vector<point> points;
    double slope_mb_per_min = 0;
    bool has_trend = false;
    struct segment {
      double from_s = 0, to_s = 0, from_mb = 0, to_mb = 0;
    };
    std::vector<segment> trend;
  };
  std::int64_t origin_us = 0;
  std::vector<slice> slices;
  std::vector<memory_line> memory;
  std::vector<window> faults;
};

struct check_report {
  std::string timestamp, branch, commit;
  boost::json::object test_config;
  std::vector<scenario_result> scenarios;
  std::map<std::string, gate_result> gates;  // "A".."E"
  std::string overall_status;                // GO / CONDITIONAL / NO-GO
  std::string recommendation;                // the playbook's sentence
  std::vector<std::string> verdict_reasons;
  std::vector<std::string> notes;            // torn lines, skipped inputs
  std::vector<std::string> damaged;          // of those notes, the inputs cut short (a torn last line, a cut zstd stream)
  std::vector<std::string> inputs;
  std::uint64_t records = 0;
  series charts;
  int exit_code() const;  // SPEC §6: 0 GO, 1 NO-GO, 2 CONDITIONAL
};

inline constexpr std::size_t violation_cap = 50;

namespace detail {
struct context;
}
class scenario_judge;  // checks/scenario_judge.hpp

// A scenario as the checker sees it (scenarios/ declares each; `scenarios::check_catalog()` lists them,
// in playbook order, for check_options::scenarios).
struct scenario_entry {
  std::string_view id;                 // SPEC §4 id
  std::string_view label;              // the playbook's name
  std::vector<gate_id> gates;          // the gates its judge reads (it may read no other)
  std::vector<std::string_view> needs; // ops the target must have, else SKIP "target has no 'x' op"
  std::unique_ptr<scenario_judge> (*judge)(detail::context const& ctx);
};

struct check_options {
  // The scenarios to judge, in report order; each is a result, and GO needs every one PASS.
  std::vector<scenario_entry> scenarios;
  std::vector<std::string> traffic;  // rotated siblings (x.1.jsonl, …) are added and ordered by time
  std::vector<std::string> history;
  std::string target = "reference";
  std::optional<std::string> journal;  // a journal file (the events URL is fetched into one by the caller)
  std::string journal_label;           // how the journal is named in evidence (the URL), default its path
};

// Reads every input once and returns the finished report. Unreadable input (missing, empty, a corrupt
// line before the last) is an error with exit code 65 naming file:line; a bad target profile is 64.
core::result<check_report> run_check(check_options const& opts);

// Renderers: they only format what the report holds.
std::string render_json(check_report const& r);
std::string render_markdown(check_report const& r);
std::string render_junit(check_report const& r);
std::string render_html(check_report const& r);
std::string render_matrices(check_report const& r);  // playbook §7 tables for stdout

// Fills timestamp / branch / commit (GITHUB_REF_NAME / GITHUB_SHA, else git, else "unknown").
void stamp(check_report& r);

}  // namespace stormgate::checks
