// `stormgate load`: the playbook's scenarios and the soak against a target, with a history.
#include "app/commands.hpp"
#include "load/load.hpp"

#include <memory>

namespace stormgate::app {

void add_load_commands(CLI::App& app, int& exit_code) {
  auto opt = std::make_shared<load::options>();
  auto shard_text = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("load", "drive the playbook's scenarios and the soak; write a Jepsen-style history");
  cmd->add_option("--target", opt->target, "target profile: reference, brain or a TOML file")->capture_default_str();
  cmd->add_option("--base-url", opt->base_url, "where requests go (the proxy's credits route); default: the profile's");
  cmd->add_option("--admin-url", opt->admin_url, "the proxy's admin API (faults); without it, fault scenarios are SKIP");
  cmd->add_option("--scenario", opt->scenarios,
                  "credit_storm, synergy_anti_gaming, approval_race, karma_blackout, ml_chaos, crash_replay or soak "
                  "(repeatable; default: the six scenarios)");
  cmd->add_flag("--full", opt->full, "the six scenarios, then the soak for --duration");
  cmd->add_option("--concurrency", opt->concurrency, "parallel workers (connections)")
      ->envname("LIVE_TEST_CONCURRENCY")
      ->capture_default_str();
  cmd->add_option("--duration", opt->duration_s, "soak length in seconds")->envname("LIVE_TEST_DURATION")->capture_default_str();
  cmd->add_option("--rate", opt->rate, "open loop: requests per second on a fixed schedule (soak); 0 = closed loop")
      ->capture_default_str();
  cmd->add_option("--seed", opt->seed, "seed of ops, agents and amounts")->envname("LIVE_TEST_SEED")->capture_default_str();
  cmd->add_option("--history", opt->history, "history file (JSONL)")->required();
  cmd->add_option("--backend-pid", opt->backend_pid, "sample the backend's RSS from /proc/PID");
  cmd->add_option("--backend-pid-file", opt->backend_pid_file,
                  "as --backend-pid, the PID read from FILE at every sample (follows a restarted backend)");
  cmd->add_option("--sample-interval-ms", opt->sample_interval_ms, "memory sample interval")
      ->check(CLI::Range(100, 3600000))
      ->capture_default_str();
  cmd->add_option("--restart-command", opt->restart_command, "shell command restarting the backend (crash_replay)");
  cmd->add_option("--shard", *shard_text, "I/N: this client's share (op ids prefixed sIofN-, disjoint agents)");
  cmd->add_option("--mix", opt->mix, "soak mix: default (writes and reads) or read (balance reads only)")
      ->check(CLI::IsMember({"default", "read"}))
      ->capture_default_str();
  cmd->add_option("--timeout-ms", opt->timeout_ms, "per-request timeout")->capture_default_str();
  cmd->add_flag("--quiet", opt->quiet, "no progress output");
  cmd->callback([opt, shard_text, &exit_code] {
    if (!shard_text->empty()) {
      auto s = load::parse_shard(*shard_text);
      if (!s) throw core::failure(s.error());
      opt->part = *s;
    }
    exit_code = load::run(*opt);
  });
}

}  // namespace stormgate::app
