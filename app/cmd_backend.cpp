// `stormgate backend` (the reference credit backend) and `stormgate karma` (the KARMA stub).
#include "app/commands.hpp"
#include "backend/backend.hpp"

namespace stormgate::app {

namespace {

void add_backend(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("backend", "the reference credit backend (BRAiN's credits API plus SPEC §1.1)");
  struct flags {
    std::string config, listen, journal, karma_url, fsync, defect;
    int karma_timeout_ms = 0;
    double anomaly_factor = 0, synergy_cap = 0;
  };
  auto f = std::make_shared<flags>();
  auto* listen = cmd->add_option("--listen", f->listen, "HOST:PORT to listen on (port 0: any free port) [127.0.0.1:8000]");
  auto* journal = cmd->add_option("--journal", f->journal, "the JSONL event journal [storage/events/credits.jsonl]");
  auto* karma = cmd->add_option("--karma-url", f->karma_url, "KARMA base URL; none: every consume uses CI 0.5 (fallback)");
  auto* timeout = cmd->add_option("--karma-timeout-ms", f->karma_timeout_ms, "timeout of the KARMA call [250]")
                      ->check(CLI::Range(1, 600000));
  auto* fsync = cmd->add_option("--fsync", f->fsync, "journal fsync policy [always]")
                    ->check(CLI::IsMember({"always", "interval", "never"}));
  auto names = backend::defect_names();
  names.insert(names.begin(), "none");
  auto* defect = cmd->add_option("--defect", f->defect, "switch on one known bug (SPEC §5.3)")->check(CLI::IsMember(names));
  auto* factor = cmd->add_option("--anomaly-factor", f->anomaly_factor, "flag consumes above FACTOR x the agent's mean [5]")
                     ->check(CLI::PositiveNumber);
  auto* cap = cmd->add_option("--synergy-cap", f->synergy_cap, "per-agent synergy cap [500]")->check(CLI::NonNegativeNumber);
  cmd->add_option("--config", f->config, "TOML file with the same keys (listen, journal, karma_url, …); flags win")
      ->check(CLI::ExistingFile);
  cmd->callback([=, &exit_code] {
    backend::backend_options o;
    if (!f->config.empty()) {
      auto r = backend::read_backend_config(f->config, o);
      if (!r) throw core::failure(r.error());
      o = *r;
    }
    if (listen->count()) o.listen = f->listen;
    if (journal->count()) o.journal = f->journal;
    if (karma->count()) o.karma_url = f->karma_url;
    if (timeout->count()) o.karma_timeout_ms = f->karma_timeout_ms;
    if (fsync->count()) o.fsync = *backend::parse_fsync_policy(f->fsync);
    if (defect->count()) o.defect_ = *backend::parse_defect(f->defect);
    if (factor->count()) o.anomaly_factor = f->anomaly_factor;
    if (cap->count()) o.synergy_cap = f->synergy_cap;
    exit_code = backend::run_backend(o);
  });
}

void add_karma(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("karma", "the KARMA stub: POST /score -> {ci} in [0.3, 0.7]");
  auto o = std::make_shared<backend::karma_options>();
  cmd->add_option("--listen", o->listen, "HOST:PORT to listen on (port 0: any free port)")->capture_default_str();
  cmd->add_option("--delay-ms", o->delay_ms, "answer every request after this delay")->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--error-rate", o->error_rate, "share of requests answered with --error-status (seeded per op)")
      ->check(CLI::Range(0.0, 1.0))->capture_default_str();
  cmd->add_option("--error-status", o->error_status, "status of an error answer")->check(CLI::Range(100, 599))
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "seed of the CI and of the error draw")->capture_default_str();
  cmd->callback([o, &exit_code] { exit_code = backend::run_karma(*o); });
}

}  // namespace

void add_backend_commands(CLI::App& app, int& exit_code) {
  add_backend(app, exit_code);
  add_karma(app, exit_code);
}

}  // namespace stormgate::app
