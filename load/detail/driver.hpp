// The driver runs plans on one io thread: lanes of ops as coroutines, the history, the latency
// statistics, the faults a scenario set, the progress line and the memory samples.
#pragma once
#include "core/latency_histogram.hpp"
#include "load/detail/history_writer.hpp"
#include "load/detail/http_client.hpp"
#include "load/load.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace stormgate::load {

// What the progress line shows (progress.cpp).
struct progress_view {
  std::string scenario;
  double elapsed_s = 0;
  double remaining_s = -1;  // < 0: unknown
  std::uint64_t ops_done = 0, ops_planned = 0;
  double rps = 0;
  std::uint64_t p95_us = 0;
  std::uint64_t errors = 0;    // this phase's unexplained failures (core::cause_explained)
  std::uint64_t expected = 0;  // this phase's provoked ones: injected faults, refusals, restarts
  std::map<std::string, std::uint64_t> error_causes;  // the errors by cause
  std::vector<std::string> faults;
};
std::string progress_line(progress_view const& v);

// The proxy's admin API (admin.cpp): synchronous, short, between phases.
class admin_client {
 public:
  admin_client(std::string base_url, int timeout_ms) : base_(std::move(base_url)), timeout_ms_(timeout_ms) {}
  bool enabled() const { return !base_.empty(); }
  core::result<void> set_fault(std::string const& name, boost::json::object const& fault);
  core::result<void> clear_fault(std::string const& name);

 private:
  std::string base_;
  int timeout_ms_;
};

// Outcome of one attempt, as written to the history.
struct op_result {
  std::string type;  // ok | fail | info
  unsigned status = 0;
  boost::json::object answer;  // the parsed JSON answer (object), when there was one
};

class driver {
 public:
  driver(boost::asio::io_context& ioc, options opt, config::target_profile profile, std::string auth,
         history_writer& history);
  ~driver();

  // The whole run: run record, scenarios (and soak), stop record. Never throws.
  boost::asio::awaitable<void> main(std::vector<scenario_entry> scenarios, bool soak);
  void interrupt();  // SIGINT/SIGTERM: stop sending, close connections after a grace period
  bool interrupted() const { return interrupted_; }
  std::uint64_t ops() const { return logical_ops_; }

  // For the soak (soak.cpp).
  boost::asio::awaitable<void> run_soak(scenario_plan const& setup);

 private:
  friend class client_lease;
  boost::asio::awaitable<void> run_scenario(scenario_plan const& plan);
  boost::asio::awaitable<void> run_phase(phase const& ph);
  boost::asio::awaitable<void> run_parallel(std::vector<std::function<boost::asio::awaitable<void>()>> tasks);
  // One logical op: attempts (retry on unknown outcome), then plain duplicates.
  boost::asio::awaitable<void> execute(planned_op const& op, http_client& client, std::int64_t intended_us);
  boost::asio::awaitable<op_result> attempt(planned_op const& op, boost::json::object const& value,
                                            http_request& req, int n, http_client& client,
                                            std::int64_t start_us);
  boost::asio::awaitable<void> restart_backend(planned_op const& op);
  boost::asio::awaitable<void> sample_memory();
  boost::asio::awaitable<void> tick();

  std::unique_ptr<http_client, std::function<void(http_client*)>> make_client(boost::asio::any_io_executor ex);
  http_request build_request(planned_op const& op, boost::json::object const& value) const;
  boost::json::object resolve(boost::json::object const& v) const;
  std::string resolve(std::string const& s) const;
  void record(boost::json::object rec);
  void note_latency(std::uint64_t us, std::string const& type, std::string const& cause);
  std::string cause_of(http_result const& r) const;
  void write_stats(std::string const& scope, core::latency_histogram const& h, std::int64_t from_us, std::int64_t to_us,
                   std::uint64_t ok, std::uint64_t fail, std::uint64_t info);
  void end_slice();
  void clear_faults();
  double since_start_s(std::int64_t mono) const { return static_cast<double>(mono - t0_us_) / 1e6; }

  boost::asio::io_context& ioc_;
  options opt_;
  config::target_profile profile_;
  std::string auth_;
  history_writer& history_;
  admin_client admin_;
  plan_params params_;
  net::url base_;

  std::map<std::string, std::string> vars_;
  std::vector<std::string> active_faults_;
  std::set<http_client*> clients_;
  bool stopping_ = false;
  bool interrupted_ = false;
  bool done_ = false;

  std::string scenario_ = "setup";
  std::string correlation_;
  std::string run_id_;  // per invocation: prefixes Idempotency-Key, so a second run on the same backend is not a replay
  std::int64_t t0_us_ = 0;
  std::int64_t soak_end_us_ = 0;
  std::uint64_t logical_ops_ = 0;
  std::uint64_t planned_ops_ = 0, scenario_ops_done_ = 0;

  // statistics: per scenario and per slice
  std::unique_ptr<core::latency_histogram> scenario_hist_, slice_hist_;
  boost::asio::steady_timer tick_timer_, sample_timer_;
  std::uint64_t sc_ok_ = 0, sc_fail_ = 0, sc_info_ = 0;
  std::uint64_t sl_ok_ = 0, sl_fail_ = 0, sl_info_ = 0;
  std::int64_t scenario_start_us_ = 0, slice_start_us_ = 0;
  std::uint64_t attempts_ = 0, attempts_at_tick_ = 0;
  // failures by cause: this phase's (reset at each scenario) and the run's
  std::uint64_t phase_errors_ = 0, phase_expected_ = 0, run_errors_ = 0, run_expected_ = 0;
  std::map<std::string, std::uint64_t> phase_error_causes_;
  bool restarting_ = false;  // a restart op is running: what fails meanwhile fails because of it
  std::int64_t last_tick_us_ = 0, last_plain_us_ = 0;
  bool tty_ = false;
  std::uint64_t samples_ = 0;
  std::uint64_t metrics_samples_ = 0;
};

}  // namespace stormgate::load
