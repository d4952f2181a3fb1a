// drop_response{status | mode: reset}: the request reaches the upstream and takes effect there,
// but the client gets the failure instead of the answer — the lost answer that makes clients retry.
#include "faults/detail/parse_util.hpp"
#include "faults/faults.hpp"

namespace stormgate::faults {

core::result<drop_response> drop_response::parse(json::value const& v) {
  auto r = detail::parse_abort(v, "action.drop_response", 504, false);
  if (!r) return r.error();
  return drop_response{r->first, r->second};
}

void drop_response::plan(fault const& f, request_view const&, draw, effect& e) const {
  if (e.after != answer::upstream) return;  // an earlier drop_response already decided
  e.after = detail::answer_of(mode);
  e.after_status = status;
  e.abort_rule = f.name;
  json::object entry{{"kind", name}, {"rule", f.name}};
  detail::abort_entry(entry, mode, status);
  e.applied.push_back(std::move(entry));
}

json::object drop_response::to_json() const { return detail::abort_json(mode, status); }

}  // namespace stormgate::faults
