// What the checker knows of the fault kinds: which record kinds are outages (gate D). Header-only
// and free of Boost, so that checks/ does not depend on faults/; faults.hpp checks it against each
// registered kind's `outage` trait, both ways.
#pragma once
#include <string_view>

namespace stormgate::faults {

inline constexpr std::string_view outage_kinds[] = {"blackout", "drop_response"};

constexpr bool is_outage(std::string_view kind) {
  for (auto k : outage_kinds)
    if (k == kind) return true;
  return false;
}

}  // namespace stormgate::faults
