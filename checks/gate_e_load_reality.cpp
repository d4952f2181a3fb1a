// Gate E — Load Reality (SPEC §5): runtime (planned vs actual), p95 latency, throughput, the memory
// slope in MB/min of each sampled process (checks/memory_trend.cpp), and the errors the load saw
// that the run did not provoke (checks/detail/op_cause.hpp).
#include "checks/detail/memory_trend.hpp"
#include "checks/detail/evidence.hpp"
#include "checks/detail/folds.hpp"
#include "checks/detail/op_cause.hpp"

#include <algorithm>
#include <map>

namespace stormgate::checks::detail {
namespace {

class gate_e final : public gate_fold {
 public:
  gate_e(context const& ctx, series* charts) : ctx_(ctx), charts_(charts) {}

  void step(record const& r) override {
    switch (r.kind) {
      case record_kind::run: on_run(*r.run); break;
      case record_kind::traffic_run: span(r.run->ts_us, traffic_first_, traffic_last_); break;
      case record_kind::op: on_op(*r.h, r.src); break;
      case record_kind::sample: on_sample(*r.s); break;
      case record_kind::scenario:
        if (r.sc->scenario == "soak" && r.sc->action == "start" && r.sc->ts_us > 0 && !soak_start_) soak_start_ = r.sc->ts_us;
        break;
      case record_kind::exchange:
        span(r.x->ts_us, traffic_first_, traffic_last_);
        span(r.x->ts_end_us, traffic_first_, traffic_last_);
        if (!ctx_.has_history && !is_karma(r.x->route) && r.x->latency_us >= 0) {
          traffic_hist_.record_signed(r.x->latency_us);
          line_.add(r.x->ts_us, r.x->latency_us);
          ++traffic_ops_;
        }
        break;
      default: break;
    }
  }

  gate_result finish() override;

 private:
  // bounds: a run samples a handful of processes every few seconds; 30 min at 5 s is 360 a process
  static constexpr std::size_t max_processes = 16, max_samples = 1'000'000, max_restarts = 10'000;
  context const& ctx_;
  series* charts_;
  latency_histogram hist_, traffic_hist_;
  timeline line_;
  std::map<std::string, std::vector<memory_sample>, std::less<>> samples_;  // by process
  std::size_t sample_count_ = 0;
  std::vector<std::int64_t> restarts_;  // the backend's: a restart op's invoke
  std::int64_t soak_start_ = 0;
  std::uint64_t unexplained_ = 0, expected_ = 0;
  evidence errors_;
  std::int64_t traffic_first_ = 0, traffic_last_ = 0, hist_first_ = 0, hist_last_ = 0;
  std::int64_t run_start_ = 0, run_stop_ = 0;
  double planned_s_ = 0, elapsed_s_ = 0;
  bool has_run_ = false, stopped_ = false, interrupted_ = false;
  std::uint64_t ops_ = 0, traffic_ops_ = 0, starts_ = 0;

  static bool is_karma(std::string_view r) { return r.find("karma") != std::string_view::npos; }
  static void span(std::int64_t ts, std::int64_t& first, std::int64_t& last) {
    if (ts <= 0) return;
    if (!first || ts < first) first = ts;
    if (ts > last) last = ts;
  }

  void on_run(run_marker const& r) {
    has_run_ = true;
    if (r.action == "start") {
      ++starts_;
      if (!run_start_ || r.ts_us < run_start_) run_start_ = r.ts_us;
      planned_s_ = std::max(planned_s_, r.planned_duration_s.value_or(r.duration_s.value_or(0)));
    } else if (r.action == "stop") {
      stopped_ = true;
      run_stop_ = std::max(run_stop_, r.ts_us);
      elapsed_s_ = std::max(elapsed_s_, r.elapsed_s.value_or(0));
      if (r.interrupted) interrupted_ = true;
    }
  }

  void on_sample(hist_sample const& s) {
    if (!s.rss_bytes || s.ts_us <= 0 || sample_count_ >= max_samples) return;
    auto it = samples_.find(s.process);
    if (it == samples_.end()) {
      if (samples_.size() >= max_processes) return;
      it = samples_.emplace(std::string(s.process), std::vector<memory_sample>{}).first;
    }
    it->second.push_back({s.ts_us, *s.rss_bytes / (1024.0 * 1024.0), s.pid});
    ++sample_count_;
  }

  void on_op(hist_op const& h, source const& src) {
    span(h.ts_us, hist_first_, hist_last_);
    if (h.f == "restart" && h.type == "invoke" && h.ts_us > 0 && restarts_.size() < max_restarts) restarts_.push_back(h.ts_us);
    if (h.type != "invoke" && h.type != "ok") {
      auto cause = op_cause(h);
      if (core::cause_explained(cause)) {
        ++expected_;
      } else {
        ++unexplained_;
        errors_.add(h.op, src, std::string(h.scenario) + ": " + std::string(h.f) + " " + cause +
                                   (h.error.empty() ? "" : " (" + std::string(h.error.substr(0, 120)) + ")"));
      }
    }
    if (h.type == "invoke" || h.latency_us < 0) return;
    if (h.f == "restart") return;  // a restart's duration is not a request latency
    ++ops_;
    hist_.record_signed(h.latency_us);
    line_.add(h.ts_us, h.latency_us);
  }
};

// The memory slope is extrapolated as a trend only over this span; shorter runs are judged by the
// memory kept per op served (a leak keeps kilobytes per request).
constexpr double min_trend_span_min = 10;
constexpr double leak_bytes_per_op = 1024;

gate_result gate_e::finish() {
  gate_result g;
  g.id = key(gate_id::E);
  g.name = label(gate_id::E);
  g.threshold = "runtime >= 1800 s, p95 < 500 ms, memory slope < 0.1 MB/min (critical > 0.5)";
  // runtime
  double runtime = 0;
  std::string runtime_from;
  if (elapsed_s_ > 0) {
    runtime = elapsed_s_;
    runtime_from = "history run stop (elapsed_s)";
  } else if (run_start_ && run_stop_ > run_start_) {
    runtime = static_cast<double>(run_stop_ - run_start_) / 1e6;
    runtime_from = "history run start/stop";
  } else if (hist_last_ > hist_first_) {
    runtime = static_cast<double>(hist_last_ - hist_first_) / 1e6;
    runtime_from = "first to last history record";
  } else if (traffic_last_ > traffic_first_) {
    runtime = static_cast<double>(traffic_last_ - traffic_first_) / 1e6;
    runtime_from = "first to last traffic record";
  }
  auto rt = make_check(check_id::soak_without_drift, status::skip, "");
  if (runtime > 0) {
    if (runtime >= 1800) {
      rt.st = status::pass;
    } else if (has_run_ && planned_s_ < 1800) {
      rt.st = status::warn;  // a shortened run: CONDITIONAL, never GO
    } else {
      rt.st = status::fail;
    }
    rt.detail = "runtime " + fmt_num(runtime, 1) + " s (" + runtime_from + ")";
    if (planned_s_ > 0) rt.detail += ", planned " + fmt_num(planned_s_, 0) + " s";
    if (has_run_ && planned_s_ < 1800) rt.detail += planned_s_ > 0 ? ": shortened run" : ": no soak planned (scenarios only)";
    if (interrupted_) rt.detail += ", interrupted";
  } else {
    rt.detail = "no run start/stop and no timed records";
  }
  // latency
  latency_histogram const& h = ops_ ? hist_ : traffic_hist_;
  std::uint64_t n = ops_ ? ops_ : traffic_ops_;
  double p50 = quantile_ms(h, 0.5), p95 = quantile_ms(h, 0.95), p99 = quantile_ms(h, 0.99);
  auto lat = make_check(check_id::p95_latency, status::skip, "no latencies");
  if (n) {
    lat.st = p95 < 500 ? status::pass : p95 < 1000 ? status::warn : status::fail;
    lat.detail = "p95 " + fmt_num(p95, 1) + " ms over " + std::to_string(n) + (ops_ ? " history ops" : " traffic exchanges") +
                 " (p50 " + fmt_num(p50, 1) + ", p99 " + fmt_num(p99, 1) + ")";
  }
  double throughput = runtime > 0 ? static_cast<double>(n) / runtime : 0;
  // memory: one trend per process, over the soak when there is one (the scenarios before it run at
  // other concurrencies), each process judged on its own; the worst decides
  std::int64_t origin = run_start_ ? run_start_ : hist_first_ ? hist_first_ : traffic_first_;
  for (auto const& [name, list] : samples_)
    for (auto const& s : list)
      if (!origin || s.ts_us < origin) origin = s.ts_us;
  std::vector<memory_trend> trends;
  for (auto& [name, list] : samples_) {
    std::sort(list.begin(), list.end(), [](auto const& a, auto const& b) { return a.ts_us < b.ts_us; });
    trends.push_back(fit_memory_trend(name, list, name == "backend" ? restarts_ : std::vector<std::int64_t>{}, soak_start_));
  }
  auto mem = make_check(check_id::no_memory_leak, status::skip, "");
  double slope = 0, peak = 0;
  std::size_t all_samples = 0;
  std::string worst;
  boost::json::object per_process;
  auto rank = [](status st) { return st == status::fail ? 3 : st == status::warn ? 2 : st == status::pass ? 1 : 0; };
  for (auto const& t : trends) {
    all_samples += t.samples;
    peak = std::max(peak, t.peak_mb);
    if (!t.has_trend) {
      per_process[t.process] = {{"peak_mb", t.peak_mb}, {"samples", t.samples}, {"used", t.used}, {"status", "SKIP"}};
      continue;
    }
    // A trend needs enough samples (below 10 a breach is a warning, never a failure) and a long enough
    // span: over a few minutes a process filling its bounded tables grows like a leak. Below
    // `min_trend_span_min` the slope is judged by what it means per op: memory kept per request
    // served. A leak keeps kilobytes per request; warm-up keeps a few bytes per op.
    double kept_per_op = throughput > 0 ? t.slope_mb_per_min * 1024 * 1024 / 60 / throughput : 0;
    status st = status::pass;
    std::string why;
    if (t.slope_mb_per_min < 0.1) {
      st = status::pass;
    } else if (t.used < 10) {
      st = status::warn;
      why = ": too few samples to call it a leak";
    } else if (t.span_min >= min_trend_span_min || kept_per_op > leak_bytes_per_op) {
      st = status::fail;
    } else {
      st = status::warn;
      why = ": a " + fmt_num(t.span_min, 1) + "-minute span cannot tell warm-up from a leak (judged as a trend from " +
            fmt_num(min_trend_span_min, 0) + " min, or above " + fmt_num(leak_bytes_per_op, 0) + " bytes per op)";
    }
    std::string line = t.process + " " + fmt_num(t.slope_mb_per_min, 3) + " MB/min (peak " + fmt_num(t.peak_mb, 1) + " MB, " +
                       std::to_string(t.used) + " samples in " + fmt_num(t.span_min, 1) + " min" +
                       (t.segments.size() > 1 ? ", " + std::to_string(t.segments.size()) + " segments between restarts" : "") +
                       (t.warmup ? ", " + std::to_string(t.warmup) + " warm-up samples left out" : "") + ", " +
                       fmt_num(kept_per_op, 0) + " bytes kept per op)" + why;
    mem.detail += (mem.detail.empty() ? "" : "; ") + line;
    if (rank(st) > rank(mem.st) || (rank(st) == rank(mem.st) && t.slope_mb_per_min > slope)) {
      mem.st = st;
      slope = t.slope_mb_per_min;
      worst = t.process;
    }
    per_process[t.process] = {{"slope_mb_per_min", t.slope_mb_per_min}, {"peak_mb", t.peak_mb},      {"samples", t.samples},
                              {"used", t.used},                         {"warmup", t.warmup},        {"segments", t.segments.size()},
                              {"span_min", t.span_min},                 {"first_mb", t.first_mb},    {"last_mb", t.last_mb},
                              {"kept_bytes_per_op", kept_per_op},       {"status", to_string(st)}};
  }
  if (mem.st == status::skip)
    mem.detail = std::to_string(all_samples) + " memory samples: at least 3 of one process needed, not all at one time";
  else
    mem.detail = std::string(soak_start_ ? "over the soak, " : "") + "per process: " + mem.detail;
  // errors: every failed op the run did not provoke (an injected fault, a refusal, a restart) is one
  auto err = make_check(check_id::no_unexplained_errors, status::skip, "no ops");
  if (ops_ || unexplained_ || expected_) {
    err.st = unexplained_ ? status::warn : status::pass;
    err.detail = std::to_string(unexplained_) + " unexplained errors, " + std::to_string(expected_) +
                 " expected failures (injected faults, refusals, restarts); each unexplained one is evidence below, with its phase and cause";
  }
  g.checks = {rt, lat, mem, err};
  g.st = merge_checks(g.checks);
  g.critical = mem.st == status::fail && slope > 0.5;
  g.figure = "runtime " + fmt_num(runtime, 1) + " s, p95 " + fmt_num(p95, 1) + " ms, " + fmt_num(throughput, 1) + " ops/s, memory slope " +
             (mem.st == status::skip ? std::string("n/a") : fmt_num(slope, 3) + " MB/min (" + worst + ")") + ", " +
             std::to_string(unexplained_) + " unexplained errors";
  if (mem.st == status::fail || (mem.st == status::warn && slope >= 0.1))
    g.violations.push_back({"memory", "", 0, worst + " memory grows " + fmt_num(slope, 3) + " MB/min (threshold 0.1, critical 0.5)"});
  for (auto const& v : errors_.list) g.violations.push_back(v);
  if (lat.st == status::fail || lat.st == status::warn)
    g.violations.push_back({"latency", "", 0, "p95 " + fmt_num(p95, 1) + " ms (threshold 500 ms)"});
  if (rt.st == status::fail || rt.st == status::warn) g.violations.push_back({"runtime", "", 0, rt.detail});
  g.total_violations = g.violations.size() + (errors_.total - errors_.list.size());
  g.metrics["runtime_s"] = runtime;
  g.metrics["planned_duration_s"] = planned_s_;
  g.metrics["p50_ms"] = p50;
  g.metrics["p95_ms"] = p95;
  g.metrics["p99_ms"] = p99;
  g.metrics["throughput"] = throughput;
  g.metrics["ops"] = n;
  g.metrics["memory_samples"] = all_samples;
  g.metrics["memory_slope_mb_per_min"] = slope;
  g.metrics["memory_slope_process"] = worst;
  g.metrics["memory_peak_mb"] = peak;
  g.metrics["memory_processes"] = std::move(per_process);
  g.metrics["unexplained_errors"] = unexplained_;
  g.metrics["expected_failures"] = expected_;
  g.metrics["shortened"] = has_run_ && planned_s_ < 1800;
  if (charts_) {
    charts_->origin_us = origin;
    line_.fill(*charts_, origin);
    auto at = [origin](std::int64_t us) { return static_cast<double>(us - origin) / 1e6; };
    for (auto const& t : trends) {
      series::memory_line m;
      m.process = t.process;
      m.slope_mb_per_min = t.slope_mb_per_min;
      m.has_trend = t.has_trend;
      for (auto const& p : samples_.find(t.process)->second) m.points.push_back({at(p.ts_us), p.mb});
      for (auto const& sg : t.segments)
        m.trend.push_back({at(sg.from_us), at(sg.to_us), sg.intercept_mb,
                           sg.intercept_mb + t.slope_mb_per_min * static_cast<double>(sg.to_us - sg.from_us) / 60e6});
      charts_->memory.push_back(std::move(m));
    }
  }
  return g;
}

}  // namespace

std::unique_ptr<gate_fold> make_gate_e(context const& ctx, series* charts) { return std::make_unique<gate_e>(ctx, charts); }

}  // namespace stormgate::checks::detail
