// Wall-clock timestamps in the logs: RFC 3339, UTC, microseconds ("2026-11-24T00:23:04.418024Z").
#pragma once
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stormgate::core {

using sys_us = std::chrono::time_point<std::chrono::system_clock, std::chrono::microseconds>;

sys_us now_us();
std::string rfc3339_us(sys_us t);
void append_rfc3339_us(std::string& out, sys_us t);  // the same text, appended (no allocation when out has room)
inline std::string now_rfc3339() { return rfc3339_us(now_us()); }
// Accepts "Z" or "+00:00" (any offset), with 0..9 fraction digits. Microseconds since the epoch.
std::optional<std::int64_t> parse_rfc3339_us(std::string_view s);

// Monotonic microseconds for latencies.
inline std::int64_t mono_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace stormgate::core
