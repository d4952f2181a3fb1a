#include "core/latency_histogram.hpp"
#include "tests/support/catch.hpp"

#include <algorithm>
#include <cmath>
#include <thread>
#include <vector>

using histogram = stormgate::core::latency_histogram;

TEST_CASE("histogram keeps values within 1/64 and buckets are contiguous", "[core][histogram]") {
  for (std::uint64_t v : {0ull, 1ull, 127ull, 128ull, 129ull, 1000ull, 4095ull, 65537ull, 1234567ull, 987654321ull,
                          (1ull << 40) + 12345ull, ~0ull}) {
    auto i = histogram::index_of(v);
    INFO("value " << v << " index " << i);
    REQUIRE(i < histogram::bucket_count);
    CHECK(histogram::lowest_of(i) <= v);
    CHECK(histogram::highest_of(i) >= v);
    double width = static_cast<double>(histogram::highest_of(i) - histogram::lowest_of(i));
    CHECK(width <= std::max(0.0, static_cast<double>(v) / 64.0));
  }
  for (std::size_t i = 1; i < histogram::bucket_count; ++i) REQUIRE(histogram::lowest_of(i) == histogram::highest_of(i - 1) + 1);
}

TEST_CASE("histogram percentiles match the exact ones within 2 %", "[core][histogram]") {
  struct row {
    char const* name;
    std::uint64_t (*gen)(std::uint64_t);
  };
  row rows[] = {
      {"uniform 1..100000 us", [](std::uint64_t i) { return i % 100000 + 1; }},
      {"skewed: mostly 2 ms, 1 % at 1 s", [](std::uint64_t i) { return i % 100 == 0 ? std::uint64_t(1000000) : 2000 + i % 50; }},
      {"quadratic", [](std::uint64_t i) { return (i % 1000) * (i % 1000) + 50; }},
  };
  for (auto const& r : rows) {
    SECTION(r.name) {
      histogram h;
      std::vector<std::uint64_t> all;
      for (std::uint64_t i = 0; i < 100000; ++i) {
        auto v = r.gen(i);
        h.record(v);
        all.push_back(v);
      }
      std::sort(all.begin(), all.end());
      for (double q : {0.5, 0.9, 0.95, 0.99, 0.999}) {
        auto exact = all[static_cast<std::size_t>(std::ceil(q * all.size())) - 1];
        auto got = h.percentile(q);
        INFO("q " << q << " exact " << exact << " got " << got);
        CHECK(std::fabs(static_cast<double>(got) - static_cast<double>(exact)) <= 0.02 * static_cast<double>(exact) + 1);
      }
      for (double q : {0.5, 0.9, 0.95, 0.99, 0.999}) {
        // the checker's figure: an upper bound, at most one bucket above the exact value
        auto exact = all[static_cast<std::size_t>(std::ceil(q * all.size())) - 1];
        auto upper = h.percentile_upper(q);
        INFO("q " << q << " exact " << exact << " upper " << upper);
        CHECK(upper >= exact);
        CHECK(static_cast<double>(upper - exact) <= static_cast<double>(exact) / 64.0);
        CHECK(upper <= h.max());
      }
      CHECK(h.percentile(1.0) == all.back());
      CHECK(h.max() == all.back());
      CHECK(h.count() == all.size());
    }
  }
}

TEST_CASE("histogram memory does not grow with the number of values", "[core][histogram]") {
  histogram h;
  auto before = histogram::memory_bytes();
  for (std::uint64_t i = 0; i < 5'000'000; ++i) h.record((i * 2654435761u) % 50'000'000);
  CHECK(histogram::memory_bytes() == before);
  CHECK(before < 40 * 1024);
  CHECK(h.count() == 5'000'000);
  histogram other;
  other.record(7);
  h.merge(other);
  CHECK(h.count() == 5'000'001);
  h.reset();
  CHECK(h.count() == 0);
  CHECK(h.percentile(0.99) == 0);
  CHECK(h.percentile_upper(0.99) == 0);
}

TEST_CASE("histogram: exact below 128 us, a negative latency counts as 0", "[core][histogram]") {
  histogram h;
  for (std::int64_t v : {-5, 0, 3, 3, 100}) h.record_signed(v);
  CHECK(h.count() == 5);
  CHECK(h.min() == 0);
  CHECK(h.percentile(0.2) == 0);  // -5 and 0 are both 0
  CHECK(h.percentile(0.4) == 0);
  CHECK(h.percentile(0.6) == 3);
  CHECK(h.percentile_upper(0.8) == 3);
  CHECK(h.percentile_upper(0.99) == 100);
  // 20 000 us lies in a bucket 256 wide: the upper figure is its top, the midpoint inside it
  histogram w;
  for (int i = 0; i < 10; ++i) w.record(20000);
  w.record(30000);
  CHECK(w.percentile_upper(0.5) == histogram::highest_of(histogram::index_of(20000)));
  CHECK(w.percentile_upper(0.5) > 20000);
  CHECK(w.percentile_upper(0.5) - 20000 < 20000 / 64);
  CHECK(w.percentile(0.5) >= histogram::lowest_of(histogram::index_of(20000)));
  CHECK(w.percentile(0.5) <= histogram::highest_of(histogram::index_of(20000)));
  CHECK(w.percentile_upper(1.0) == 30000);
}

TEST_CASE("histogram: count_at_most counts the buckets that end at or below the value", "[core][histogram]") {
  histogram h;
  for (std::uint64_t v : {100ull, 499ull, 500ull, 2500ull, 40000ull}) h.record(v);
  // 500 lies in [500, 503], 2500 in [2496, 2527]
  REQUIRE(histogram::highest_of(histogram::index_of(500)) == 503);
  REQUIRE(histogram::lowest_of(histogram::index_of(2500)) == 2496);
  REQUIRE(histogram::highest_of(histogram::index_of(2500)) == 2527);
  CHECK(h.count_at_most(99) == 0);
  CHECK(h.count_at_most(100) == 1);  // exact below 128
  CHECK(h.count_at_most(500) == 2);  // 500's bucket has not ended
  CHECK(h.count_at_most(503) == 3);
  CHECK(h.count_at_most(2500) == 3);
  CHECK(h.count_at_most(2527) == 4);
  CHECK(h.count_at_most(~0ull) == 5);
  CHECK(histogram{}.count_at_most(~0ull) == 0);
}

TEST_CASE("concurrent histogram: values recorded from 4 threads read as the same histogram recorded by one",
          "[core][histogram]") {
  stormgate::core::concurrent_latency_histogram shared;
  histogram serial;
  constexpr int threads = 4, per_thread = 50000;
  auto value = [](int t, int i) { return static_cast<std::uint64_t>((i * 7919 + t * 104729) % 3000000 + t); };
  for (int t = 0; t < threads; ++t)
    for (int i = 0; i < per_thread; ++i) serial.record(value(t, i));
  {
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t)
      ts.emplace_back([&, t] {
        for (int i = 0; i < per_thread; ++i) shared.record(value(t, i));
      });
    for (auto& t : ts) t.join();
  }
  shared.record_signed(-3);  // a negative latency counts as 0, as in the serial one
  serial.record_signed(-3);
  auto snap = shared.snapshot();
  CHECK(snap.count() == serial.count());
  CHECK(snap.min() == serial.min());
  CHECK(snap.max() == serial.max());
  for (double q : {0.0, 0.1, 0.5, 0.9, 0.99, 0.999, 1.0}) {
    INFO("q = " << q);
    CHECK(snap.percentile(q) == serial.percentile(q));
    CHECK(snap.percentile_upper(q) == serial.percentile_upper(q));
  }
  for (std::uint64_t le : {0ull, 500ull, 1000ull, 25000ull, 1000000ull, 3000000ull})
    CHECK(snap.count_at_most(le) == serial.count_at_most(le));
  std::uint64_t sum = 0;
  for (int t = 0; t < threads; ++t)
    for (int i = 0; i < per_thread; ++i) sum += value(t, i);
  CHECK(shared.sum() == sum);
  CHECK(stormgate::core::concurrent_latency_histogram{}.snapshot().count() == 0);
}
