// What the checker knows of the fault kinds: which record kinds are outages (gate D) and which
// rewrite a request field, their record's `value` being what the upstream got (gates B and D).
// Header-only and free of Boost, so that checks/ does not depend on faults/; faults.hpp checks both
// lists against each registered kind's `outage` and `rewrites_request` traits, both ways.
#pragma once
#include <string_view>

namespace stormgate::faults {

inline constexpr std::string_view outage_kinds[] = {"blackout", "drop_response"};

constexpr bool is_outage(std::string_view kind) {
  for (auto k : outage_kinds)
    if (k == kind) return true;
  return false;
}

inline constexpr std::string_view rewriting_kinds[] = {"mutate"};

constexpr bool rewrites_request(std::string_view kind) {
  for (auto k : rewriting_kinds)
    if (k == kind) return true;
  return false;
}

}  // namespace stormgate::faults
