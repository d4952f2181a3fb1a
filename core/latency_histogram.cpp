#include "core/latency_histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace stormgate::core {

std::size_t latency_histogram::index_of(std::uint64_t v) {
  if (v < 128) return static_cast<std::size_t>(v);
  int e = 63 - std::countl_zero(v);  // >= 7
  int shift = e - sub_bits;
  std::uint64_t sub = v >> shift;  // [64, 127]
  return 128 + static_cast<std::size_t>(e - 7) * 64 + static_cast<std::size_t>(sub - 64);
}

std::uint64_t latency_histogram::lowest_of(std::size_t index) {
  if (index < 128) return index;
  std::size_t e = (index - 128) / 64 + 7;
  std::uint64_t sub = (index - 128) % 64 + 64;
  return sub << (e - sub_bits);
}

std::uint64_t latency_histogram::highest_of(std::size_t index) {
  if (index < 128) return index;
  std::size_t e = (index - 128) / 64 + 7;
  std::uint64_t sub = (index - 128) % 64 + 64;
  std::uint64_t width = std::uint64_t(1) << (e - sub_bits);
  return (sub << (e - sub_bits)) + (width - 1);
}

void latency_histogram::record(std::uint64_t v) {
  ++counts_[index_of(v)];
  ++count_;
  max_ = std::max(max_, v);
  min_ = std::min(min_, v);
}

void latency_histogram::merge(latency_histogram const& o) {
  for (std::size_t i = 0; i < bucket_count; ++i) counts_[i] += o.counts_[i];
  count_ += o.count_;
  max_ = std::max(max_, o.max_);
  min_ = std::min(min_, o.min_);
}

void latency_histogram::reset() { *this = latency_histogram{}; }

std::size_t latency_histogram::bucket_of_rank(double q) const {
  q = std::max(q, 0.0);
  auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
  rank = std::max<std::uint64_t>(rank, 1);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < bucket_count; ++i) {
    seen += counts_[i];
    if (seen >= rank) return i;
  }
  return index_of(max_);
}

std::uint64_t latency_histogram::percentile(double q) const {
  if (count_ == 0) return 0;
  if (q >= 1.0) return max_;
  auto i = bucket_of_rank(q);
  std::uint64_t mid = lowest_of(i) + (highest_of(i) - lowest_of(i)) / 2;
  return std::clamp(mid, min(), max_);
}

std::uint64_t latency_histogram::percentile_upper(double q) const {
  if (count_ == 0) return 0;
  if (q >= 1.0) return max_;
  return std::min(highest_of(bucket_of_rank(q)), max_);
}

std::uint64_t latency_histogram::count_at_most(std::uint64_t v) const {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < bucket_count && highest_of(i) <= v; ++i) n += counts_[i];
  return n;
}

void concurrent_latency_histogram::record(std::uint64_t v) {
  counts_[latency_histogram::index_of(v)].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
  auto seen = max_.load(std::memory_order_relaxed);
  while (v > seen && !max_.compare_exchange_weak(seen, v, std::memory_order_relaxed)) {
  }
  seen = min_.load(std::memory_order_relaxed);
  while (v < seen && !min_.compare_exchange_weak(seen, v, std::memory_order_relaxed)) {
  }
}

latency_histogram concurrent_latency_histogram::snapshot() const {
  latency_histogram h;
  for (std::size_t i = 0; i < latency_histogram::bucket_count; ++i) {
    h.counts_[i] = counts_[i].load(std::memory_order_relaxed);
    h.count_ += h.counts_[i];
  }
  if (h.count_ == 0) return h;
  // max and min as recorded, kept within the buckets counted, so that percentiles stay in range
  std::size_t lo = 0, hi = latency_histogram::bucket_count - 1;
  while (h.counts_[lo] == 0) ++lo;
  while (h.counts_[hi] == 0) --hi;
  h.max_ = std::clamp(max_.load(std::memory_order_relaxed), latency_histogram::lowest_of(hi), latency_histogram::highest_of(hi));
  h.min_ = std::clamp(min_.load(std::memory_order_relaxed), latency_histogram::lowest_of(lo), latency_histogram::highest_of(lo));
  return h;
}

}  // namespace stormgate::core
