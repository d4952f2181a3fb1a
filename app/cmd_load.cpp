// `stormgate load`: the playbook's scenarios and the soak against a target, with a history.
#include "app/commands.hpp"
#include "load/load.hpp"
#include "scenarios/scenarios.hpp"

#include <charconv>
#include <memory>

namespace stormgate::app {

void add_load_commands(CLI::App& app, int& exit_code) {
  auto opt = std::make_shared<load::options>();
  auto shard_text = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("load", "drive the playbook's scenarios and the soak; write a Jepsen-style history");
  cmd->add_option("--target", opt->target, "target profile: reference, brain or a TOML file")->capture_default_str();
  cmd->add_option("--base-url", opt->base_url, "where requests go (the proxy's credits route); default: the profile's");
  cmd->add_option("--admin-url", opt->admin_url, "the proxy's admin API (faults); without it, fault scenarios are SKIP");
  opt->catalog = scenarios::load_catalog();
  std::string ids;
  for (auto const& s : opt->catalog) ids += std::string(s.id) + ", ";
  cmd->add_option("--scenario", opt->scenarios, ids + "or soak (repeatable; default: the playbook's scenarios)");
  cmd->add_flag("--full", opt->full, "the playbook's scenarios, then the soak for --duration");
  cmd->add_option("--concurrency", opt->concurrency, "parallel workers (connections)")
      ->envname("LIVE_TEST_CONCURRENCY")
      ->capture_default_str();
  cmd->add_option("--duration", opt->duration_s, "soak length in seconds")->envname("LIVE_TEST_DURATION")->capture_default_str();
  cmd->add_option("--rate", opt->rate, "open loop: requests per second on a fixed schedule (soak); 0 = closed loop")
      ->capture_default_str();
  cmd->add_option("--seed", opt->seed, "seed of ops, agents and amounts")->envname("LIVE_TEST_SEED")->capture_default_str();
  cmd->add_option("--history", opt->history, "history file (JSONL)")->required();
  auto watch_pid = std::make_shared<std::vector<std::string>>();
  auto watch_file = std::make_shared<std::vector<std::string>>();
  auto backend_pid = std::make_shared<int>(0);
  auto backend_pid_file = std::make_shared<std::string>();
  cmd->add_option("--watch-pid", *watch_pid, "NAME=PID: sample that process's RSS from /proc/PID (repeatable)");
  cmd->add_option("--watch-pid-file", *watch_file,
                  "NAME=FILE: as --watch-pid, the PID read from FILE at every sample (follows a restart; repeatable)");
  cmd->add_option("--backend-pid", *backend_pid, "the same as --watch-pid backend=PID");
  cmd->add_option("--backend-pid-file", *backend_pid_file, "the same as --watch-pid-file backend=FILE");
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
  cmd->callback([opt, shard_text, watch_pid, watch_file, backend_pid, backend_pid_file, &exit_code] {
    auto watched = [](std::string const& flag, std::string const& text) {
      auto eq = text.find('=');
      if (eq == 0 || eq == std::string::npos || eq + 1 == text.size())
        throw core::failure(core::usage_error(flag + " " + text, "expected NAME=VALUE"));
      return std::pair{text.substr(0, eq), text.substr(eq + 1)};
    };
    for (auto const& t : *watch_pid) {
      auto [name, value] = watched("--watch-pid", t);
      int pid = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), pid);
      if (ec != std::errc{} || end != value.data() + value.size() || pid <= 0)
        throw core::failure(core::usage_error("--watch-pid " + t, "'" + value + "' is not a process id"));
      opt->watch.push_back({name, pid, {}});
    }
    for (auto const& t : *watch_file) {
      auto [name, value] = watched("--watch-pid-file", t);
      opt->watch.push_back({name, 0, value});
    }
    if (*backend_pid > 0) opt->watch.push_back({"backend", *backend_pid, {}});
    if (!backend_pid_file->empty()) opt->watch.push_back({"backend", 0, *backend_pid_file});
    if (!shard_text->empty()) {
      auto s = load::parse_shard(*shard_text);
      if (!s) throw core::failure(s.error());
      opt->part = *s;
    }
    exit_code = load::run(*opt);
  });
}

}  // namespace stormgate::app
