// Counters for GET /metrics (Prometheus text) and GET /stats: requests by route and status,
// upstream latency histogram, faults injected by kind and name, active faults, log drops.
#pragma once
#include "core/latency_histogram.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace stormgate::proxy::detail {

// The `le` edges /metrics shows of the upstream latency histogram (Prometheus' conventional ones).
inline constexpr std::array<std::uint64_t, 14> metrics_le_us = {500,    1000,   2500,    5000,    10000,
                                                                25000,  50000,  100000,  250000,  500000,
                                                                1000000, 2500000, 5000000, 10000000};

struct route_metrics {
  std::string name;
  std::array<std::atomic<std::uint64_t>, 600> by_status{};  // index 0: no answer
  core::concurrent_latency_histogram upstream_latency;  // per upstream attempt, µs
  std::atomic<std::uint64_t> client_errors{0};
  std::atomic<std::uint64_t> open_connections{0};

  void count_status(unsigned status) {
    by_status[status < 600 ? status : 0].fetch_add(1, std::memory_order_relaxed);
  }
  void observe_upstream(std::int64_t latency_us) { upstream_latency.record_signed(latency_us); }
  std::uint64_t requests() const;
};

class metrics {
 public:
  explicit metrics(std::vector<std::string> const& routes);
  route_metrics& route(std::size_t i) { return *routes_[i]; }
  std::size_t route_count() const { return routes_.size(); }
  void fault_injected(std::string const& kind, std::string const& name);
  std::map<std::pair<std::string, std::string>, std::uint64_t> faults_injected();

  std::atomic<std::uint64_t> active_faults{0};
  std::atomic<std::uint64_t> refused_connections{0};  // closed at accept: over limits.connections

 private:
  std::vector<std::unique_ptr<route_metrics>> routes_;
  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> injected_;  // (kind, name)
};

}  // namespace stormgate::proxy::detail
