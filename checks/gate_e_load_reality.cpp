// Gate E — Load Reality (SPEC §5): runtime (planned vs actual), p95 latency, throughput, and the
// memory slope in MB/min by least squares over the history's `sample` records.
#include "checks/detail/model.hpp"

#include <algorithm>

namespace stormgate::checks::detail {
namespace {

class gate_e final : public gate_fold {
 public:
  gate_e(context const& ctx, series* charts) : ctx_(ctx), charts_(charts) {}

  void step(record const& r) override {
    switch (r.kind) {
      case record_kind::run: on_run(*r.run); break;
      case record_kind::traffic_run: span(r.run->ts_us, traffic_first_, traffic_last_); break;
      case record_kind::op: on_op(*r.h); break;
      case record_kind::sample:
        if (r.s->rss_bytes && r.s->ts_us > 0 && samples_.size() < 1'000'000)
          samples_.push_back({r.s->ts_us, *r.s->rss_bytes / (1024.0 * 1024.0)});
        break;
      case record_kind::exchange:
        span(r.x->ts_us, traffic_first_, traffic_last_);
        span(r.x->ts_end_us, traffic_first_, traffic_last_);
        if (!ctx_.has_history && !is_karma(r.x->route) && r.x->latency_us >= 0) {
          traffic_hist_.add(r.x->latency_us);
          line_.add(r.x->ts_us, r.x->latency_us);
          ++traffic_ops_;
        }
        break;
      default: break;
    }
  }

  gate_result finish() override;

 private:
  struct sample {
    std::int64_t ts_us;
    double mb;
  };
  context const& ctx_;
  series* charts_;
  histogram hist_, traffic_hist_;
  timeline line_;
  std::vector<sample> samples_;
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

  void on_op(hist_op const& h) {
    span(h.ts_us, hist_first_, hist_last_);
    if (h.type == "invoke" || h.latency_us < 0) return;
    if (h.f == "restart") return;  // a restart's duration is not a request latency
    ++ops_;
    hist_.add(h.latency_us);
    line_.add(h.ts_us, h.latency_us);
  }
};

// The memory slope is extrapolated as a trend only over this span; shorter runs are judged by the
// memory kept per op served (a leak keeps kilobytes per request).
constexpr double min_trend_span_min = 10;
constexpr double leak_bytes_per_op = 1024;

gate_result gate_e::finish() {
  gate_result g;
  g.id = "E";
  g.name = "Load Reality";
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
  sub_check rt{"≥ 30 Min Dauerlauf ohne Drift", status::skip, ""};
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
  histogram const& h = ops_ ? hist_ : traffic_hist_;
  std::uint64_t n = ops_ ? ops_ : traffic_ops_;
  double p50 = h.quantile_ms(0.5), p95 = h.quantile_ms(0.95), p99 = h.quantile_ms(0.99);
  sub_check lat{"P95 Latenz < Grenzwert", status::skip, "no latencies"};
  if (n) {
    lat.st = p95 < 500 ? status::pass : p95 < 1000 ? status::warn : status::fail;
    lat.detail = "p95 " + fmt_num(p95, 1) + " ms over " + std::to_string(n) + (ops_ ? " history ops" : " traffic exchanges") +
                 " (p50 " + fmt_num(p50, 1) + ", p99 " + fmt_num(p99, 1) + ")";
  }
  double throughput = runtime > 0 ? static_cast<double>(n) / runtime : 0;
  // memory slope by least squares, over minutes; the first fifth of the run is warm-up when enough remains
  std::sort(samples_.begin(), samples_.end(), [](sample const& a, sample const& b) { return a.ts_us < b.ts_us; });
  std::int64_t origin = run_start_ ? run_start_ : hist_first_ ? hist_first_ : traffic_first_;
  if (!samples_.empty() && (!origin || samples_.front().ts_us < origin)) origin = samples_.front().ts_us;
  std::size_t from = 0;
  if (samples_.size() >= 10) {
    auto cut = samples_.front().ts_us + (samples_.back().ts_us - samples_.front().ts_us) / 5;
    while (from < samples_.size() && samples_[from].ts_us < cut) ++from;
    if (samples_.size() - from < 5) from = 0;
  }
  sub_check mem{"Kein Memory-Leak-Trend", status::skip, ""};
  double slope = 0, intercept = 0, peak = 0;
  std::size_t used = samples_.size() - from;
  for (auto const& s : samples_) peak = std::max(peak, s.mb);
  if (used >= 3) {
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (std::size_t i = from; i < samples_.size(); ++i) {
      double x = static_cast<double>(samples_[i].ts_us - origin) / 60e6, y = samples_[i].mb;
      sx += x, sy += y, sxx += x * x, sxy += x * y;
    }
    double k = static_cast<double>(used);
    double den = k * sxx - sx * sx;
    if (den > 0) {
      slope = (k * sxy - sx * sy) / den;
      intercept = (sy - slope * sx) / k;
      // A trend needs enough samples (below 10 a breach is a warning, never a failure) and a long
      // enough span: over a few minutes a backend filling its caches grows like a leak. Below
      // `min_trend_span_min` the slope is judged by what it means per op: memory kept per request
      // served. A leak keeps kilobytes per request; warm-up keeps a few bytes per op.
      double span_min = static_cast<double>(samples_.back().ts_us - samples_[from].ts_us) / 60e6;
      double kept_per_op = throughput > 0 ? slope * 1024 * 1024 / 60 / throughput : 0;
      mem.detail = "slope " + fmt_num(slope, 3) + " MB/min over " + std::to_string(used) + " samples in " +
                   fmt_num(span_min, 1) + " min" + (from ? " (first " + std::to_string(from) + " samples taken as warm-up)" : "") +
                   ", peak " + fmt_num(peak, 1) + " MB, " + fmt_num(kept_per_op, 0) + " bytes kept per op";
      if (slope < 0.1) {
        mem.st = status::pass;
      } else if (used < 10) {
        mem.st = status::warn;
        mem.detail += ": too few samples to call it a leak";
      } else if (span_min >= min_trend_span_min || kept_per_op > leak_bytes_per_op) {
        mem.st = status::fail;
      } else {
        mem.st = status::warn;
        mem.detail += ": a " + fmt_num(span_min, 1) + "-minute span cannot tell warm-up from a leak (judged as a trend from " +
                      fmt_num(min_trend_span_min, 0) + " min, or above " + fmt_num(leak_bytes_per_op, 0) + " bytes per op)";
      }
    } else {
      mem.detail = "memory samples all at one time";
    }
  } else {
    mem.detail = std::to_string(samples_.size()) + " memory samples: at least 3 needed";
  }
  g.checks = {rt, lat, mem};
  g.st = merge_checks(g.checks);
  g.critical = mem.st == status::fail && slope > 0.5;
  g.figure = "runtime " + fmt_num(runtime, 1) + " s, p95 " + fmt_num(p95, 1) + " ms, " + fmt_num(throughput, 1) + " ops/s, memory slope " +
             (mem.st == status::skip ? std::string("n/a") : fmt_num(slope, 3) + " MB/min");
  if (mem.st == status::fail || (mem.st == status::warn && slope >= 0.1))
    g.violations.push_back({"memory", "", 0, "memory grows " + fmt_num(slope, 3) + " MB/min (threshold 0.1, critical 0.5)"});
  if (lat.st == status::fail || lat.st == status::warn)
    g.violations.push_back({"latency", "", 0, "p95 " + fmt_num(p95, 1) + " ms (threshold 500 ms)"});
  if (rt.st == status::fail || rt.st == status::warn) g.violations.push_back({"runtime", "", 0, rt.detail});
  g.total_violations = g.violations.size();
  g.metrics["runtime_s"] = runtime;
  g.metrics["planned_duration_s"] = planned_s_;
  g.metrics["p50_ms"] = p50;
  g.metrics["p95_ms"] = p95;
  g.metrics["p99_ms"] = p99;
  g.metrics["throughput"] = throughput;
  g.metrics["ops"] = n;
  g.metrics["memory_samples"] = samples_.size();
  g.metrics["memory_slope_mb_per_min"] = slope;
  g.metrics["memory_peak_mb"] = peak;
  g.metrics["shortened"] = has_run_ && planned_s_ < 1800;
  if (charts_) {
    charts_->origin_us = origin;
    line_.fill(*charts_, origin);
    for (auto const& s : samples_) charts_->memory.push_back({static_cast<double>(s.ts_us - origin) / 1e6, s.mb});
    if (mem.st != status::skip) {
      charts_->has_trend = true;
      charts_->trend_slope_mb_per_min = slope;
      charts_->trend_intercept_mb = intercept;
    }
  }
  return g;
}

}  // namespace

std::unique_ptr<gate_fold> make_gate_e(context const& ctx, series* charts) { return std::make_unique<gate_e>(ctx, charts); }

}  // namespace stormgate::checks::detail
