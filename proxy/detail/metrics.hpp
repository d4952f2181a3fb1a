// Counters for GET /metrics (Prometheus text) and GET /stats: requests by route and status,
// upstream latency histogram, faults injected by kind and name, active faults, log drops.
#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace stormgate::proxy::detail {

inline constexpr std::array<double, 14> latency_buckets_s = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                             0.1,    0.25,  0.5,    1.0,   2.5,   5.0,  10.0};

struct route_metrics {
  std::string name;
  std::array<std::atomic<std::uint64_t>, 600> by_status{};  // index 0: no answer
  std::array<std::atomic<std::uint64_t>, latency_buckets_s.size() + 1> latency{};  // upstream attempts
  std::atomic<std::uint64_t> latency_sum_us{0};
  std::atomic<std::uint64_t> latency_count{0};
  std::atomic<std::uint64_t> client_errors{0};
  std::atomic<std::uint64_t> open_connections{0};

  void count_status(unsigned status) {
    by_status[status < 600 ? status : 0].fetch_add(1, std::memory_order_relaxed);
  }
  void observe_upstream(std::int64_t latency_us);
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
