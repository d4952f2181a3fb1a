// The histograms, time series, huge-page tables and small helpers the gates share.
#include "checks/detail/evidence.hpp"
#include "checks/detail/folds.hpp"
#include "checks/detail/op_book.hpp"
#include "faults/kind_traits.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

namespace stormgate::checks::detail {

// ---- huge pages ----------------------------------------------------------------------------

void* allocate_huge(std::size_t bytes) {
  constexpr std::size_t huge = huge_page_allocator<char>::huge;
  bytes = (bytes + huge - 1) / huge * huge;
  void* p = std::aligned_alloc(huge, bytes);
  if (!p) throw std::bad_alloc();
  ::madvise(p, bytes, MADV_HUGEPAGE);  // before the first touch; a refusal leaves 4 KB pages
  return p;
}

void free_huge(void* p) { std::free(p); }

// ---- histogram / timeline ------------------------------------------------------------------

void timeline::add(std::int64_t ts_us, std::int64_t latency_us) {
  if (ts_us <= 0) return;
  if (start_us_ < 0) start_us_ = ts_us;
  if (ts_us < start_us_) {
    // an earlier record of another file: shift the origin left by whole slices, widening them first
    // when that would pass the cap (pairs counted from the new origin, as the loop below pairs them)
    auto shift = (start_us_ - ts_us + width_us_ - 1) / width_us_;
    while (static_cast<std::int64_t>(slices_.size()) + shift > max_slices) {
      auto odd = static_cast<std::size_t>(shift % 2);
      std::vector<latency_histogram> merged((slices_.size() + odd + 1) / 2);
      for (std::size_t k = 0; k < slices_.size(); ++k) merged[(k + odd) / 2].merge(slices_[k]);
      slices_.swap(merged);
      start_us_ -= static_cast<std::int64_t>(odd) * width_us_;
      width_us_ *= 2;
      shift /= 2;
    }
    slices_.insert(slices_.begin(), static_cast<std::size_t>(shift), latency_histogram{});
    start_us_ -= shift * width_us_;
  }
  auto i = static_cast<std::size_t>((ts_us - start_us_) / width_us_);
  while (i >= static_cast<std::size_t>(max_slices)) {
    std::vector<latency_histogram> merged((slices_.size() + 1) / 2);
    for (std::size_t k = 0; k < slices_.size(); ++k) merged[k / 2].merge(slices_[k]);
    slices_.swap(merged);
    width_us_ *= 2;
    i = static_cast<std::size_t>((ts_us - start_us_) / width_us_);
  }
  if (slices_.size() <= i) slices_.resize(i + 1);
  slices_[i].record_signed(latency_us);
}

void timeline::fill(series& out, std::int64_t origin_us) const {
  out.slices.clear();
  for (std::size_t i = 0; i < slices_.size(); ++i) {
    series::slice s;
    s.t_s = static_cast<double>(start_us_ + static_cast<std::int64_t>(i) * width_us_ - origin_us) / 1e6;
    s.width_s = static_cast<double>(width_us_) / 1e6;
    s.ops = slices_[i].count();
    s.p50_ms = quantile_ms(slices_[i], 0.50);
    s.p95_ms = quantile_ms(slices_[i], 0.95);
    s.p99_ms = quantile_ms(slices_[i], 0.99);
    out.slices.push_back(s);
  }
}

// ---- misc ----------------------------------------------------------------------------------

std::string fmt_num(double v, int prec) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", prec, v);
  return buf;
}

std::string_view scenario_of_op(std::string_view op) {
  // a shard prefix "s<i>of<n>-"
  if (op.size() > 4 && op[0] == 's') {
    std::size_t i = 1;
    while (i < op.size() && op[i] >= '0' && op[i] <= '9') ++i;
    if (i > 1 && op.substr(i, 2) == "of") {
      std::size_t j = i + 2, k = j;
      while (k < op.size() && op[k] >= '0' && op[k] <= '9') ++k;
      if (k > j && k < op.size() && op[k] == '-') op.remove_prefix(k + 1);
    }
  }
  auto last = op.rfind('-');
  if (last == std::string_view::npos) return op;
  return op.substr(0, last);
}

opt_num applied_amount(exchange const& x, std::string_view amount_field, bool* rewritten) {
  opt_num a = x.amount;
  for (auto const& f : x.faults) {
    if (!faults::rewrites_request(f.kind) || !f.applied || !f.value) continue;
    if (rewritten) *rewritten = true;
    if (f.path == amount_field || f.path.empty()) a = f.value;
  }
  return a;
}

bool is_insufficient(answer const& a) {
  if (a.status != 400) return false;
  auto d = a.detail;
  return d.empty() || d.find("nsufficient") != std::string_view::npos;
}

status merge_checks(std::vector<sub_check> const& checks) {
  bool any_pass = false, any_warn = false;
  for (auto const& c : checks) {
    if (c.st == status::fail) return status::fail;
    if (c.st == status::unknown) return status::unknown;
    if (c.st == status::warn) any_warn = true;
    if (c.st == status::pass) any_pass = true;
  }
  if (any_warn) return status::warn;
  return any_pass ? status::pass : status::skip;
}

}  // namespace stormgate::checks::detail

namespace stormgate::checks {
char const* to_string(status s) {
  switch (s) {
    case status::pass: return "PASS";
    case status::warn: return "WARN";
    case status::fail: return "FAIL";
    case status::skip: return "SKIP";
    case status::unknown: return "UNKNOWN";
  }
  return "UNKNOWN";
}
}  // namespace stormgate::checks
