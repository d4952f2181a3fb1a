#include "proxy/detail/metrics.hpp"

namespace stormgate::proxy::detail {

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
