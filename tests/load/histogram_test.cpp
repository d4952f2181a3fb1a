#include "load/load.hpp"
#include "tests/support/catch.hpp"

#include <cmath>

using stormgate::load::histogram;

TEST_CASE("histogram keeps values within 1/64 and buckets are contiguous", "[load][histogram]") {
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

TEST_CASE("histogram percentiles match the exact ones within 2 %", "[load][histogram]") {
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
      CHECK(h.percentile(1.0) == all.back());
      CHECK(h.max() == all.back());
      CHECK(h.count() == all.size());
    }
  }
}

TEST_CASE("histogram memory does not grow with the number of values", "[load][histogram]") {
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
}
