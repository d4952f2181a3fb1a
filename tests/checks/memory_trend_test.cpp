#include "checks/detail/memory_trend.hpp"
#include "tests/support/catch.hpp"

#include <cmath>

using namespace stormgate::checks::detail;

namespace {
constexpr std::int64_t minute = 60'000'000;
// one sample every 5 s over `minutes`, from `t0`, of mb(t) with t in minutes since t0
template <class F>
std::vector<memory_sample> sampled(double minutes, F mb, std::int64_t pid = 10, std::int64_t t0 = minute) {
  std::vector<memory_sample> out;
  for (std::int64_t t = 0; t <= static_cast<std::int64_t>(minutes * minute); t += 5'000'000)
    out.push_back({t0 + t, mb(static_cast<double>(t) / minute), pid});
  return out;
}
}  // namespace

TEST_CASE("a steady growth is measured as its slope, a flat line with noise as none", "[checks][memory]") {
  auto leak = fit_memory_trend("backend", sampled(10, [](double t) { return 40 + 0.8 * t; }), {}, 0);
  REQUIRE(leak.has_trend);
  CHECK(leak.slope_mb_per_min == Approx(0.8).epsilon(1e-9));
  CHECK(leak.peak_mb == Approx(48));
  int i = 0;
  auto flat = fit_memory_trend("proxy", sampled(10, [&](double) { return 12 + ((i++ % 3) - 1) * 0.05; }), {}, 0);
  REQUIRE(flat.has_trend);
  CHECK(std::abs(flat.slope_mb_per_min) < 0.01);
}

TEST_CASE("the warm-up of each segment is left out of the slope", "[checks][memory]") {
  // fills its tables in the first minute of ten, then stays flat
  auto t = fit_memory_trend("backend", sampled(10, [](double m) { return m < 1 ? 20 + 15 * m : 35; }), {}, 0);
  REQUIRE(t.has_trend);
  CHECK(t.warmup > 0);
  CHECK(std::abs(t.slope_mb_per_min) < 1e-9);
  CHECK(t.peak_mb == Approx(35));
}

TEST_CASE("restarts split the samples into segments: a restarted process starting low is no trend", "[checks][memory]") {
  // three lives of 4 minutes, each flat at a different level after its own warm-up: a naive fit
  // over all samples sees a slope, the segmented one none
  std::vector<memory_sample> all;
  std::vector<std::int64_t> restarts;
  for (int life = 0; life < 3; ++life) {
    auto t0 = minute + life * 4 * minute;
    auto part = sampled(3.9, [life](double m) { return (m < 0.5 ? 10 + 20 * m : 20) + 5 * life; }, 100 + life, t0);
    all.insert(all.end(), part.begin(), part.end());
  }
  auto by_pid = fit_memory_trend("backend", all, {}, 0);
  REQUIRE(by_pid.has_trend);
  CHECK(by_pid.segments.size() == 3);
  CHECK(std::abs(by_pid.slope_mb_per_min) < 1e-9);
  // the same samples without pids (sampled through a metrics op): the restart times split them
  for (auto& s : all) s.pid = 0;
  auto unsplit = fit_memory_trend("backend", all, {}, 0);
  CHECK(unsplit.slope_mb_per_min > 1);
  restarts = {minute + 4 * minute - 1, minute + 8 * minute - 1};
  auto by_restart = fit_memory_trend("backend", all, restarts, 0);
  CHECK(by_restart.segments.size() == 3);
  CHECK(std::abs(by_restart.slope_mb_per_min) < 1e-9);
}

TEST_CASE("only samples from the soak's start count for the slope; the peak counts them all", "[checks][memory]") {
  // the scenarios before the soak grow memory at other concurrencies; from minute 6 on it is flat
  auto samples = sampled(16, [](double m) { return m < 6 ? 10 + 3 * m : 28; });
  auto t = fit_memory_trend("backend", samples, {}, minute + 6 * minute);
  REQUIRE(t.has_trend);
  CHECK(std::abs(t.slope_mb_per_min) < 1e-9);
  auto all = fit_memory_trend("backend", samples, {}, 0);
  CHECK(all.slope_mb_per_min > 0.3);
  CHECK(t.samples == samples.size());
}

TEST_CASE("too few samples give no trend", "[checks][memory]") {
  auto t = fit_memory_trend("load", {{minute, 5, 1}, {2 * minute, 6, 1}}, {}, 0);
  CHECK_FALSE(t.has_trend);
  CHECK(t.peak_mb == Approx(6));
}
