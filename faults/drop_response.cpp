// drop_response{status | mode: reset}: the request reaches the upstream and takes effect there,
// but the client gets the failure instead of the answer — the lost answer that makes clients retry.
#include "faults/detail/parse_util.hpp"
#include "faults/faults.hpp"

namespace stormgate::faults {

core::result<action> parse_drop_response(json::value const& v) {
  auto r = detail::parse_abort(v, "action.drop_response", 504, false);
  if (!r) return r.error();
  return action{drop_response{r->first, r->second}};
}

void plan(drop_response const& a, fault const& f, request_view const&, draw, effect& e) {
  if (e.after != answer::upstream) return;  // an earlier drop_response already decided
  e.after = detail::answer_of(a.mode);
  e.after_status = a.status;
  e.abort_rule = f.name;
  json::object entry{{"kind", "drop_response"}, {"rule", f.name}};
  detail::abort_entry(entry, a.mode, a.status);
  e.applied.push_back(std::move(entry));
}

}  // namespace stormgate::faults
