// Why a history op did not end ok: its `cause` as the load wrote it (core/causes.hpp), or, for a
// history written without causes, the same words derived from its status and error.
#pragma once
#include "checks/detail/records.hpp"
#include "core/causes.hpp"

#include <string>
#include <string_view>

namespace stormgate::checks::detail {

inline std::string op_cause(hist_op const& h) {
  if (!h.cause.empty()) return std::string(h.cause);
  if (auto at = h.error.find("(fault "); h.error.starts_with("stormgate: ") && at != std::string_view::npos) {
    auto rule = h.error.substr(at + 7);
    return "fault " + std::string(rule.substr(0, rule.find(')')));
  }
  if (h.status) return core::status_cause(static_cast<unsigned>(h.status));
  return h.error.empty() ? std::string("no answer") : std::string(h.error);
}

}  // namespace stormgate::checks::detail
