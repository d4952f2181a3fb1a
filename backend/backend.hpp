// The reference credit backend (`stormgate backend`, SPEC §1.1) and the KARMA stub (`stormgate karma`).
// One entry point each; the options are plain values so that main (flags) and a TOML file can fill them.
#pragma once
#include "core/error.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stormgate::backend {

enum class fsync_policy { always, interval, never };
std::optional<fsync_policy> parse_fsync_policy(std::string_view text);
std::string_view to_string(fsync_policy p);

// SPEC §5.3: each switches on one known bug.
enum class defect { none, no_idempotency, lost_update, negative_balance, double_approve, karma_crash, anomaly_block,
                    replay_drift, leak };
std::optional<defect> parse_defect(std::string_view text);  // "lost-update", …; "" and "none" -> none
std::string_view to_string(defect d);
std::vector<std::string> defect_names();

struct backend_options {
  std::string listen = "127.0.0.1:8000";
  std::string journal = "storage/events/credits.jsonl";
  std::string karma_url;  // "" = no KARMA call, every consume uses the fallback CI
  int karma_timeout_ms = 250;
  fsync_policy fsync = fsync_policy::always;
  defect defect_ = defect::none;
  double anomaly_factor = 5.0;
  double synergy_cap = 500.0;
};

// Reads a backend TOML file (keys as the flags: listen, journal, karma_url, karma_timeout_ms, fsync, defect,
// anomaly_factor, synergy_cap; at the top or in a [backend] table) over `base`. Errors name file:line:col key.
core::result<backend_options> read_backend_config(std::string const& path, backend_options base);

// Runs until SIGINT/SIGTERM; prints "listening backend http://IP:PORT". Returns the exit code.
int run_backend(backend_options const& opts);

struct karma_options {
  std::string listen = "127.0.0.1:8100";
  int delay_ms = 0;
  double error_rate = 0.0;
  unsigned error_status = 503;
  std::uint64_t seed = 42;
};

// The CI the stub answers for (seed, agent_id, amount): deterministic, in [0.3, 0.7].
double karma_ci(std::uint64_t seed, std::string_view agent_id, double amount);

// Runs until SIGINT/SIGTERM; prints "listening karma http://IP:PORT". Returns the exit code.
int run_karma(karma_options const& opts);

}  // namespace stormgate::backend
