// blackout{status | mode: reset | hang}: the upstream is never asked; the client gets the status,
// a reset connection, or no answer at all.
#include "faults/detail/parse_util.hpp"
#include "faults/faults.hpp"

namespace stormgate::faults {

namespace detail {
// Shared by blackout and drop_response: {"status": N} or {"mode": "reset"|"hang"}.
core::result<std::pair<abort_mode, unsigned>> parse_abort(json::value const& v, std::string const& w,
                                                          unsigned default_status, bool hang_allowed) {
  auto o = object_with(v, w, {"status", "mode"});
  if (!o) return o.error();
  auto status = number_field(**o, "status", w, 100, 599);
  if (!status) return status.error();
  auto mode = string_field(**o, "mode", w);
  if (!mode) return mode.error();
  if (*status && *mode && **mode != "status")
    return field_error(w, "give either status or mode, not both");
  if (*mode && **mode != "status") {
    if (**mode == "reset") return std::pair{abort_mode::reset, 0u};
    if (**mode == "hang" && hang_allowed) return std::pair{abort_mode::hang, 0u};
    return field_error(w + ".mode", std::string("must be ") + (hang_allowed ? "\"status\", \"reset\" or \"hang\"" : "\"status\" or \"reset\"") +
                                        ", got \"" + **mode + "\"");
  }
  return std::pair{abort_mode::status, static_cast<unsigned>(status->value_or(default_status))};
}

json::object abort_json(abort_mode m, unsigned status) {
  if (m == abort_mode::status) return json::object{{"status", status}};
  return json::object{{"mode", m == abort_mode::reset ? "reset" : "hang"}};
}

void abort_entry(json::object& entry, abort_mode m, unsigned status) {
  if (m == abort_mode::status) entry["status"] = status;
  else entry["mode"] = m == abort_mode::reset ? "reset" : "hang";
}

answer answer_of(abort_mode m) {
  switch (m) {
    case abort_mode::status: return answer::status;
    case abort_mode::reset: return answer::reset;
    case abort_mode::hang: return answer::hang;
  }
  return answer::status;
}
}  // namespace detail

core::result<blackout> blackout::parse(json::value const& v) {
  auto r = detail::parse_abort(v, "action.blackout", 503, true);
  if (!r) return r.error();
  return blackout{r->first, r->second};
}

void blackout::plan(fault const& f, request_view const&, draw, effect& e) const {
  e.before = detail::answer_of(mode);
  e.before_status = status;
  e.abort_rule = f.name;
  json::object entry{{"kind", name}, {"rule", f.name}};
  detail::abort_entry(entry, mode, status);
  e.applied.push_back(std::move(entry));
}

json::object blackout::to_json() const { return detail::abort_json(mode, status); }

}  // namespace stormgate::faults
