// delay{ms, jitter_ms}: the request waits before it goes on (SPEC §7).
#include "faults/detail/parse_util.hpp"
#include "faults/faults.hpp"
#include "core/hash.hpp"

namespace stormgate::faults {

core::result<delay> delay::parse(json::value const& v) {
  std::string const w = "action.delay";
  auto o = detail::object_with(v, w, {"ms", "jitter_ms"});
  if (!o) return o.error();
  auto ms = detail::number_field(**o, "ms", w, 0, 3600e3);
  if (!ms) return ms.error();
  if (!*ms) return detail::field_error(w + ".ms", "is required");
  auto jitter = detail::number_field(**o, "jitter_ms", w, 0, 3600e3);
  if (!jitter) return jitter.error();
  return delay{static_cast<std::int64_t>(**ms), static_cast<std::int64_t>(jitter->value_or(0))};
}

void delay::plan(fault const& f, request_view const&, draw d, effect& e) const {
  std::int64_t total = ms;
  if (jitter_ms > 0) {
    auto span = static_cast<std::uint64_t>(2 * jitter_ms + 1);
    total += static_cast<std::int64_t>(core::hash64(d.seed, {f.name, d.key, "jitter"}) % span) - jitter_ms;
  }
  if (total < 0) total = 0;
  e.delay_ms += total;
  e.applied.push_back(json::object{{"kind", name}, {"rule", f.name}, {"ms", total}});
}

json::object delay::to_json() const { return {{"ms", ms}, {"jitter_ms", jitter_ms}}; }

}  // namespace stormgate::faults
