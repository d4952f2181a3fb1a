// What the gates keep and report: evidence (violations, capped), latency quantiles, time-sliced
// histograms for the charts, and numbers as the reports print them.
#pragma once
#include "checks/checks.hpp"
#include "checks/detail/records.hpp"
#include "core/latency_histogram.hpp"

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace stormgate::checks::detail {

struct evidence {
  std::vector<violation> list;
  std::uint64_t total = 0;
  void add(std::string_view op, source const& src, std::string why) {
    ++total;
    if (list.size() < violation_cap) list.push_back({std::string(op), src.file ? *src.file : std::string(), src.line, std::move(why)});
  }
};

// A gate's evidence from its lists, in the order given: every list's total counts, and the
// violations are kept, oldest list first, up to violation_cap. The lists are moved from.
inline void merge_evidence(gate_result& g, std::initializer_list<evidence*> lists) {
  for (auto* ev : lists) {
    g.total_violations += ev->total;
    for (auto& v : ev->list)
      if (g.violations.size() < violation_cap) g.violations.push_back(std::move(v));
  }
}

// Latencies: the one histogram of core/ (within 1/64, O(1) memory). The gates, scenarios and charts
// report a quantile as an upper bound: the top of the bucket holding it, in milliseconds.
using core::latency_histogram;
inline double quantile_ms(latency_histogram const& h, double q) { return static_cast<double>(h.percentile_upper(q)) / 1000.0; }

// Time-sliced histograms for the charts; slices double in width to stay under a cap.
class timeline {
 public:
  void add(std::int64_t ts_us, std::int64_t latency_us);
  void fill(series& out, std::int64_t origin_us) const;
  static constexpr std::int64_t max_slices = 240;
 private:
  std::int64_t start_us_ = -1;
  std::int64_t width_us_ = 1'000'000;
  std::vector<latency_histogram> slices_;
};

std::string fmt_num(double v, int prec = 2);

}  // namespace stormgate::checks::detail
