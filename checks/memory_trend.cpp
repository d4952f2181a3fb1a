#include "checks/detail/memory_trend.hpp"

#include <algorithm>

namespace stormgate::checks::detail {

memory_trend fit_memory_trend(std::string process, std::vector<memory_sample> samples,
                              std::vector<std::int64_t> const& restarts, std::int64_t from_us) {
  memory_trend t;
  t.process = std::move(process);
  t.samples = samples.size();
  std::sort(samples.begin(), samples.end(), [](auto const& a, auto const& b) { return a.ts_us < b.ts_us; });
  for (auto const& s : samples) t.peak_mb = std::max(t.peak_mb, s.mb);

  // segments: runs of samples of one pid with no restart between them
  std::vector<std::pair<std::size_t, std::size_t>> runs;  // [begin, end) into samples
  std::size_t begin = 0;
  while (begin < samples.size() && samples[begin].ts_us < from_us) ++begin;
  for (std::size_t i = begin; i < samples.size(); ++i) {
    bool cut = i == begin;
    if (!cut) {
      auto const& a = samples[i - 1];
      auto const& b = samples[i];
      cut = a.pid && b.pid && a.pid != b.pid;
      for (auto r : restarts) cut = cut || (r > a.ts_us && r <= b.ts_us);
    }
    if (cut) runs.emplace_back(i, i + 1);
    else runs.back().second = i + 1;
  }

  // within each segment: drop the warm-up, then pool the segments' sums about their own means
  struct sums {
    std::size_t from, to;
    double mx, my, sxx, sxy;
  };
  std::vector<sums> used;
  double sxx = 0, sxy = 0;
  for (auto [b, e] : runs) {
    if (e - b >= 10) {
      auto cut = samples[b].ts_us + (samples[e - 1].ts_us - samples[b].ts_us) / 5;
      std::size_t w = b;
      while (w < e && samples[w].ts_us < cut) ++w;
      if (e - w >= 5) t.warmup += w - b, b = w;
    }
    if (e - b < 3) continue;
    double n = static_cast<double>(e - b), mx = 0, my = 0;
    for (std::size_t i = b; i < e; ++i) mx += static_cast<double>(samples[i].ts_us - samples[b].ts_us) / 60e6, my += samples[i].mb;
    mx /= n, my /= n;
    sums s{b, e, mx, my, 0, 0};
    for (std::size_t i = b; i < e; ++i) {
      double dx = static_cast<double>(samples[i].ts_us - samples[b].ts_us) / 60e6 - mx;
      s.sxx += dx * dx, s.sxy += dx * (samples[i].mb - my);
    }
    sxx += s.sxx, sxy += s.sxy;
    used.push_back(s);
  }
  if (used.empty() || sxx <= 0) return t;
  t.has_trend = true;
  t.slope_mb_per_min = sxy / sxx;
  for (auto const& s : used) {
    t.used += s.to - s.from;
    t.span_min += static_cast<double>(samples[s.to - 1].ts_us - samples[s.from].ts_us) / 60e6;
    t.segments.push_back({samples[s.from].ts_us, samples[s.to - 1].ts_us, s.my - t.slope_mb_per_min * s.mx, s.to - s.from});
  }
  t.first_mb = samples[used.front().from].mb;
  t.last_mb = samples[used.back().to - 1].mb;
  return t;
}

}  // namespace stormgate::checks::detail
