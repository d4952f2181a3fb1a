#include "proxy/detail/metrics.hpp"

namespace stormgate::proxy::detail {

void route_metrics::observe_upstream(std::int64_t latency_us) {
  double s = static_cast<double>(latency_us) / 1e6;
  std::size_t i = 0;
  while (i < latency_buckets_s.size() && s > latency_buckets_s[i]) ++i;
  latency[i].fetch_add(1, std::memory_order_relaxed);
  latency_sum_us.fetch_add(static_cast<std::uint64_t>(latency_us < 0 ? 0 : latency_us), std::memory_order_relaxed);
  latency_count.fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t route_metrics::requests() const {
  std::uint64_t n = 0;
  for (auto const& c : by_status) n += c.load(std::memory_order_relaxed);
  return n;
}

metrics::metrics(std::vector<std::string> const& routes) {
  for (auto const& r : routes) {
    routes_.push_back(std::make_unique<route_metrics>());
    routes_.back()->name = r;
  }
}

void metrics::fault_injected(std::string const& kind, std::string const& name) {
  std::lock_guard lk(mu_);
  ++injected_[{kind, name}];
}

std::map<std::pair<std::string, std::string>, std::uint64_t> metrics::faults_injected() {
  std::lock_guard lk(mu_);
  return injected_;
}

}  // namespace stormgate::proxy::detail
