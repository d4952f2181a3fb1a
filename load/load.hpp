// stormgate load: the playbook's six scenarios and the soak against a target profile, seeded,
// closed or open loop, writing a Jepsen-style history (SPEC §3, §4; docs/formats.md).
#pragma once
#include "config/config.hpp"
#include "core/error.hpp"

#include <boost/json/object.hpp>
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace stormgate::load {

struct scenario_plan;
class plan_builder;  // load/plan_builder.hpp

// A scenario as the load sees it (scenarios/ declares each; `scenarios::load_catalog()` lists them,
// in playbook order, for options::catalog). "soak" is the load's own, run after them by --full.
struct scenario_entry {
  std::string_view id;
  std::vector<std::string_view> needs;  // ops the target must have, else SKIP "target has no 'x' op"
  scenario_plan (*plan)(plan_builder& b);
};

struct shard {
  int index = 1;  // 1-based
  int count = 1;
  bool sharded() const { return count > 1; }
  std::string prefix() const;  // "s1of2-" when sharded, else ""
  std::string text() const { return std::to_string(index) + "/" + std::to_string(count); }
};
core::result<shard> parse_shard(std::string_view text);  // "I/N", 1 <= I <= N

struct options {
  std::vector<scenario_entry> catalog;  // the scenarios known, in the order --full and the default run them
  std::string target = "reference";  // reference | brain | F.toml
  std::string base_url;              // where requests go (the proxy's credits route, or the target)
  std::string admin_url;             // the proxy's admin API; "" = scenarios that need faults are SKIP
  std::vector<std::string> scenarios;  // by id; empty: every scenario of the catalog
  bool full = false;                   // the six scenarios, then the soak
  int concurrency = 50;
  double duration_s = 1800;  // soak length
  double rate = 0;           // > 0: open loop at R requests/s (soak)
  std::uint64_t seed = 42;
  std::string history;
  // Memory samples (gate E): the RSS of each watched process, and of the load itself ("load"), every
  // sample_interval_ms. A process given by a PID file is followed across restarts (the file is read
  // at every sample). Without a watched "backend", the backend's RSS comes from the profile's
  // metrics op, where it has one.
  struct watched_process {
    std::string name;      // "backend", "proxy", "karma", …
    int pid = 0;
    std::string pid_file;  // read again at every sample
  };
  std::vector<watched_process> watch;
  int sample_interval_ms = 5000;
  std::string restart_command;  // overrides the profile's [restart] command
  shard part;
  bool quiet = false;
  std::string mix = "default";  // soak mix: default | read (GET balance only, for throughput runs)
  int timeout_ms = 5000;        // per request
  int health_timeout_s = 30;    // waiting for the backend after a restart
};

// Runs the load; returns the exit code (0 ran, 64 usage/config, 69 target unreachable, 70 internal).
int run(options const& opt);

// ---- plans: what a scenario sends, computed purely from (scenario, profile, seed, …) ------

// One logical operation. `value` holds the request's fields in SPEC words (agent_id, amount, …);
// the profile maps them onto its field names. A string "$name" in `params` or `value` is replaced by
// the scenario variable `name`, which an earlier op's `capture` filled from its answer.
struct planned_op {
  std::string op;  // "credit_storm-000017" (shard prefix included)
  std::string f;   // SPEC §3 f
  int process = 0;
  std::map<std::string, std::string> params;  // path placeholders
  boost::json::object value;
  int max_attempts = 1;   // > 1: an unknown outcome (info) is retried with the same op id and key
  int duplicates = 0;     // plain duplicate sends after the first answer (same op id and key)
  std::string capture;    // answer field stored as a scenario variable of the same name
};

struct phase {
  enum kind_t { ops, set_fault, clear_fault, restart, snapshot_wait };
  kind_t kind = ops;
  std::string label;
  std::vector<std::vector<planned_op>> lanes;  // ops: lanes run in parallel, each in order
  boost::json::object fault;                   // set_fault: the fault JSON of SPEC §7
  std::string fault_name;                      // set_fault / clear_fault
};

struct scenario_plan {
  std::string scenario;
  std::string skip;    // non-empty: the scenario cannot run here, and why
  std::string note;    // e.g. "no admin URL: retry injection by plain duplicates only"
  std::vector<phase> phases;
  std::size_t op_count() const;
};

struct plan_params {
  std::uint64_t seed = 42;
  int concurrency = 50;
  shard part;
  bool has_admin = false;
  bool can_restart = false;  // a restart command is configured
};

// Pure: the same arguments give the same plan (op ids, agents, amounts, order). A scenario the
// profile skips, or whose `needs` it lacks, is a plan with only `skip` set.
scenario_plan plan(scenario_entry const& scenario, config::target_profile const& profile, plan_params const& p);
scenario_plan plan_soak(config::target_profile const& profile, plan_params const& p);  // its setup ops

// The soak's i-th op (pure); `mix` is "default" or "read". Setup ops (agents, funding) come from
// plan("soak", …).
planned_op soak_op(std::uint64_t i, config::target_profile const& profile, plan_params const& p,
                   std::string const& mix);

}  // namespace stormgate::load
