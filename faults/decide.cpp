// Whether a fault hits a request: route, match, window, then the seeded draw — never the
// connection or the clock's jitter. And the combined plan of all the faults that hit.
#include "faults/faults.hpp"
#include "core/hash.hpp"

namespace stormgate::faults {

std::string_view request_key(std::string_view op, std::string_view idempotency_key, std::string_view route_seq) {
  if (!op.empty()) return op;
  if (!idempotency_key.empty()) return idempotency_key;
  return route_seq;
}

bool fault_set::needs_body(std::string_view route) const {
  for (auto const& lf : faults)
    if (lf.f.route == route && lf.f.needs_body()) return true;
  return false;
}

live_fault const* fault_set::find(std::string_view name) const {
  for (auto const& lf : faults)
    if (lf.f.name == name) return &lf;
  return nullptr;
}

std::vector<live_fault const*> decide(fault_set const& set, request_view const& r, std::uint64_t seed,
                                      std::int64_t now_us) {
  std::vector<live_fault const*> out;
  for (auto const& lf : set.faults) {
    auto const& f = lf.f;
    if (f.route != r.route) continue;
    if (!matches(f.when, r)) continue;
    double live_s = static_cast<double>(now_us - lf.state->set_at_us) / 1e6;
    if (live_s < f.win.after_s) continue;
    if (f.win.for_s && live_s >= f.win.after_s + *f.win.for_s) continue;
    if (!core::hits(seed, f.name, r.key, f.probability)) continue;
    if (f.win.first_n && lf.state->matched.fetch_add(1, std::memory_order_relaxed) >= *f.win.first_n) continue;
    out.push_back(&lf);
  }
  return out;
}

effect plan(std::vector<live_fault const*> const& hits, request_view const& r, draw d) {
  effect e;
  for (int phase = 0; phase <= kinds::last_phase; ++phase)
    for (auto const* lf : hits) {
      bool ends = std::visit(
          [&](auto const& a) {
            using K = std::decay_t<decltype(a)>;
            if (K::phase != phase) return false;
            a.plan(lf->f, r, d, e);
            return K::ends_plan;
          },
          lf->f.act);
      if (ends) return e;  // a blackout: the upstream is never asked, nothing else applies
    }
  e.body_json.reset();
  return e;
}

}  // namespace stormgate::faults
