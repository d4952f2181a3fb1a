#include "app/commands.hpp"
#include "run/run.hpp"

#include <memory>

namespace stormgate::app {

void add_run_commands(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<run::run_options>();
  auto* cmd = app.add_subcommand("run", "One chaos run: start what is missing, load through the proxy, check, report");
  cmd->add_option("--target", o->target, "reference | brain | profile.toml")->capture_default_str();
  cmd->add_option("--base-url", o->base_url, "an external target (e.g. BRAiN); without it the reference backend is started");
  auto* full = cmd->add_flag("--full", o->full, "the six scenarios and the soak (the default)");
  cmd->add_option("--scenario", o->scenario, "run one scenario only")->excludes(full);
  cmd->add_option("--concurrency", o->concurrency, "parallel workers")->envname("LIVE_TEST_CONCURRENCY")->capture_default_str()->check(CLI::Range(1, 100000));
  cmd->add_option("--duration", o->duration_s, "soak duration in seconds")->envname("LIVE_TEST_DURATION")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--seed", o->seed, "seed of the load and of the fault decisions")->envname("LIVE_TEST_SEED")->capture_default_str();
  cmd->add_option("--rate", o->rate,
                  "soak requests per second, open loop (latency from the intended send time); 0 = closed loop. "
                  "Default: 20 per connection against the reference backend, closed loop against an external one");
  cmd->add_option("--defect", o->defect, "plant a known bug in the reference backend (SPEC 5.3)")
      ->check(CLI::IsMember({"no-idempotency", "lost-update", "negative-balance", "double-approve", "karma-crash",
                             "anomaly-block", "replay-drift", "leak"}));
  cmd->add_option("--out", o->out_dir, "folder for logs and reports")->capture_default_str();
  cmd->add_option("--report-json", o->report_json, "default OUT/report.json");
  cmd->add_option("--report-md", o->report_md, "default OUT/report.md");
  cmd->add_option("--report-junit", o->report_junit, "default OUT/report.xml");
  cmd->add_option("--report-html", o->report_html, "default OUT/report.html");
  cmd->add_option("--journal", o->journal, "an external target's journal file, when readable here");
  cmd->add_option("--restart-command", o->restart_command, "an external target's restart command (crash_replay)");
  cmd->add_option("--sample-interval-ms", o->sample_interval_ms, "memory sample interval (proxy, backend, KARMA stub, load)")
      ->check(CLI::Range(100, 3600000))
      ->capture_default_str();
  cmd->add_flag("--plain-logs", o->plain_logs, "write traffic.jsonl and history.jsonl as plain JSONL (default: zstd streams, .jsonl.zst)")
      ->envname("STORMGATE_PLAIN_LOGS");
  cmd->add_flag("--quiet", o->quiet, "no progress, no tables");
  cmd->callback([o, &exit_code] { exit_code = run::run(*o); });
}

}  // namespace stormgate::app
