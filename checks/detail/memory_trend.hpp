// Gate E's memory slope, per process: least squares over the RSS samples of one process, after its
// warm-up, in segments between its restarts (a restarted process starts again from its base, which
// is not growth). Pure: gate_e_load_reality.cpp feeds it the history's `sample` records.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace stormgate::checks::detail {

struct memory_sample {
  std::int64_t ts_us = 0;
  double mb = 0;
  std::int64_t pid = 0;  // 0: not known
};

struct memory_trend {
  struct segment {
    std::int64_t from_us = 0, to_us = 0;  // the samples used for the slope
    double intercept_mb = 0;              // at from_us, on the pooled slope's line
    std::size_t used = 0;
  };
  std::string process;
  std::size_t samples = 0;  // all of this process's samples
  std::size_t used = 0;     // those the slope was fitted over (after warm-up, in segments of >= 3)
  std::size_t warmup = 0;   // samples left out as warm-up
  double slope_mb_per_min = 0;
  double peak_mb = 0;          // over all samples
  double span_min = 0;         // the used segments' spans, added up
  double first_mb = 0, last_mb = 0;  // the first and last used sample
  bool has_trend = false;      // at least 3 used samples, not all at one time
  std::vector<segment> segments;
};

// `samples` of one process in any order; a segment ends at a change of pid or at a time in
// `restarts`. Only samples at or after `from_us` count for the slope (0: all); the first fifth of each
// segment's span is warm-up when at least 5 samples remain after it.
memory_trend fit_memory_trend(std::string process, std::vector<memory_sample> samples,
                              std::vector<std::int64_t> const& restarts, std::int64_t from_us);

}  // namespace stormgate::checks::detail
