// The one latency histogram: the load's per-scenario and per-slice stats, the checker's gate E,
// scenario and chart figures, and (as concurrent_latency_histogram) the proxy's upstream latency in
// /stats and /metrics. Log-linear buckets (HdrHistogram-style) over microseconds: exact below
// 128 µs, then 64 sub-buckets per power of two, so a bucket is at most 1/64 of its values wide
// (~2 significant digits). Fixed size (15 KB), whatever the run length.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace stormgate::core {

class latency_histogram {
 public:
  static constexpr int sub_bits = 6;
  static constexpr std::size_t bucket_count = 128 + 57 * 64;

  void record(std::uint64_t value_us);
  // A signed latency (as logs carry it); a negative one counts as 0.
  void record_signed(std::int64_t value_us) { record(value_us < 0 ? 0 : static_cast<std::uint64_t>(value_us)); }
  void merge(latency_histogram const& other);
  void reset();
  std::uint64_t count() const { return count_; }
  std::uint64_t max() const { return max_; }
  std::uint64_t min() const { return count_ ? min_ : 0; }
  // The value at quantile q in [0, 1]: the midpoint of its bucket, kept within [min, max]; max for
  // q >= 1, 0 when empty. Within half a bucket (1/128) of the true value.
  std::uint64_t percentile(double q) const;
  // An upper bound of the value at quantile q: the highest value of its bucket, kept <= max; 0 when
  // empty. Never below the true value, at most one bucket (1/64) above it.
  std::uint64_t percentile_upper(double q) const;
  // How many values lie in buckets that end at or below v: the values <= v, except that a value
  // in v's own bucket (at most 1/64 below v) counts only once v reaches the bucket's end.
  std::uint64_t count_at_most(std::uint64_t v) const;

  static std::size_t index_of(std::uint64_t v);
  static std::uint64_t lowest_of(std::size_t index);
  static std::uint64_t highest_of(std::size_t index);
  static constexpr std::size_t memory_bytes() { return sizeof(latency_histogram); }

 private:
  friend class concurrent_latency_histogram;
  std::size_t bucket_of_rank(double q) const;  // the bucket holding the ceil(q * count)-th value

  // 32-bit counts keep the checker's 240 chart slices small: 4 billion values in one bucket is
  // weeks of a run at the playbook's 2 000 ops/s.
  std::array<std::uint32_t, bucket_count> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t max_ = 0;
  std::uint64_t min_ = ~std::uint64_t(0);
};

// The same buckets, recorded from many threads at once (the proxy's workers) with relaxed atomic
// counts, and read as a latency_histogram. A snapshot taken while values are recorded may miss the
// latest of them, and never counts one twice.
class concurrent_latency_histogram {
 public:
  void record(std::uint64_t value_us);
  void record_signed(std::int64_t value_us) { record(value_us < 0 ? 0 : static_cast<std::uint64_t>(value_us)); }
  latency_histogram snapshot() const;
  std::uint64_t sum() const { return sum_.load(std::memory_order_relaxed); }  // of the values, for a mean

 private:
  std::array<std::atomic<std::uint32_t>, latency_histogram::bucket_count> counts_{};
  std::atomic<std::uint64_t> sum_{0};
  std::atomic<std::uint64_t> max_{0};
  std::atomic<std::uint64_t> min_{~std::uint64_t(0)};
};

}  // namespace stormgate::core
