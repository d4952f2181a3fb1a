// duplicate{copies, spacing_ms}: the same request (headers and body) sent upstream again;
// the client gets the first answer, every copy's answer is logged.
#include "faults/detail/parse_util.hpp"
#include "faults/faults.hpp"

#include <algorithm>

namespace stormgate::faults {

core::result<duplicate> duplicate::parse(json::value const& v) {
  std::string const w = "action.duplicate";
  auto o = detail::object_with(v, w, {"copies", "spacing_ms"});
  if (!o) return o.error();
  auto copies = detail::number_field(**o, "copies", w, 2, 16);
  if (!copies) return copies.error();
  auto spacing = detail::number_field(**o, "spacing_ms", w, 0, 60e3);
  if (!spacing) return spacing.error();
  return duplicate{static_cast<int>(copies->value_or(2)), static_cast<std::int64_t>(spacing->value_or(0))};
}

void duplicate::plan(fault const& f, request_view const&, draw, effect& e) const {
  e.copies = std::max(e.copies, copies);
  e.spacing_ms = std::max(e.spacing_ms, spacing_ms);
  e.applied.push_back(json::object{{"kind", name}, {"rule", f.name}, {"copies", copies}});
}

json::object duplicate::to_json() const { return {{"copies", copies}, {"spacing_ms", spacing_ms}}; }

}  // namespace stormgate::faults
