// `stormgate run`: one chaos run end to end. Starts what the target lacks (reference backend,
// KARMA stub, the proxy with its credits and karma routes) on free loopback ports, drives the load
// through the proxy, stops everything (logs flushed), checks, writes the reports, and returns the
// verdict's exit code. Every part runs as its own `stormgate` subcommand process.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace stormgate::run {

// The reference backend's soak rate when no --rate is given: 20 requests/s per connection (2 000/s at
// --concurrency 100, a quarter of what this project's 2-core machine serves flat out).
inline constexpr double reference_rate_per_connection = 20;

struct run_options {
  std::string target = "reference";  // reference | brain | profile.toml
  std::string base_url;              // an external target; empty = start the reference backend
  std::string scenario;              // one scenario; empty = --full
  bool full = false;
  int concurrency = 50;
  double duration_s = 1800;          // soak duration
  std::optional<double> rate;        // open loop, requests/s
  std::uint64_t seed = 42;
  std::string defect;                // planted defect of the reference backend (SPEC §5.3)
  std::string out_dir = "stormgate-out";
  std::string report_json, report_md, report_junit, report_html;  // default: inside out_dir
  std::string journal;               // an external target's journal file, when readable here
  std::string restart_command;       // an external target's restart command (crash_replay)
  int sample_interval_ms = 5000;     // memory samples of every process of the run (gate E)
  bool plain_logs = false;           // traffic and history as plain JSONL, not zstd streams
  bool quiet = false;
};

int run(run_options const& opts);

}  // namespace stormgate::run
