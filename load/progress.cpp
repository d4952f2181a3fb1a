// The progress line: live on a terminal, a plain line every 15 s otherwise (driver::tick).
#include "load/detail/driver.hpp"

#include <algorithm>
#include <cstdio>

namespace stormgate::load {

std::string progress_line(progress_view const& v) {
  char buf[256];
  std::string out = "[" + v.scenario + "] ";
  std::snprintf(buf, sizeof buf, "%.0fs", v.elapsed_s);
  out += buf;
  if (v.remaining_s >= 0) {
    std::snprintf(buf, sizeof buf, " (%.0fs left)", v.remaining_s);
    out += buf;
  } else if (v.ops_planned > 0) {
    std::snprintf(buf, sizeof buf, " ops %llu/%llu", static_cast<unsigned long long>(v.ops_done),
                  static_cast<unsigned long long>(v.ops_planned));
    out += buf;
  }
  std::snprintf(buf, sizeof buf, " | %.0f req/s | p95 %.1f ms | errors %llu", v.rps,
                static_cast<double>(v.p95_us) / 1000.0, static_cast<unsigned long long>(v.errors));
  out += buf;
  if (v.errors) {  // the three most frequent causes
    std::vector<std::pair<std::uint64_t, std::string>> top;
    for (auto const& [cause, n] : v.error_causes) top.emplace_back(n, cause);
    std::sort(top.begin(), top.end(), [](auto const& a, auto const& b) { return a.first > b.first; });
    out += " (";
    for (std::size_t i = 0; i < top.size() && i < 3; ++i) out += (i ? ", " : "") + top[i].second + " " + std::to_string(top[i].first);
    if (top.size() > 3) out += ", …";
    out += ")";
  }
  std::snprintf(buf, sizeof buf, " | expected %llu | faults: ", static_cast<unsigned long long>(v.expected));
  out += buf;
  if (v.faults.empty()) out += "none";
  for (std::size_t i = 0; i < v.faults.size(); ++i) out += (i ? "," : "") + v.faults[i];
  return out;
}

}  // namespace stormgate::load
