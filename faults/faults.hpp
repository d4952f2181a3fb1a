// The fault model (SPEC §7): parse a fault from JSON (TOML arrives as JSON too), match it against a
// request, decide whether it hits from the seeded hash only, and plan its effect as data.
// The proxy session carries the effect out; nothing here does I/O or reads a clock.
#pragma once
#include "core/error.hpp"
#include "faults/kind_traits.hpp"
#include "faults/kinds.hpp"

#include <boost/json/value.hpp>
#include <atomic>
#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace stormgate::faults {

namespace json = boost::json;

// ---- actions: the kinds and their registry are in kinds.hpp, each kind's code in its file ----

std::string_view kind_of(action const& a);  // "delay", "blackout", …

// ---- the fault ----------------------------------------------------------------------------

struct json_predicate {
  enum class op { eq, ne, gt, ge, lt, le, exists };
  std::string path;  // dotted path into the JSON request body
  std::vector<std::pair<op, json::value>> tests;  // all must hold
};

struct match {
  std::string method;                                       // "" = any
  std::string path;                                         // glob on the path (no query); "" = any
  std::vector<std::pair<std::string, std::string>> header;  // lower-case name -> value ("*" = present)
  std::optional<json_predicate> json;
};

struct window {
  double after_s = 0;                   // from the moment the fault was set
  std::optional<double> for_s;          // then for this long
  std::optional<std::uint64_t> first_n; // only the first N matching requests
};

struct fault {
  std::string name;
  std::string route;
  match when;
  action act;
  double probability = 1.0;
  window win;

  bool needs_body() const;  // a JSON predicate or a mutate: the request body must be parsed
};

// Parses one fault. On error, `where` is the field's path inside the fault ("action.delay.ms",
// "probability"), so that callers can prefix a file:line or answer a 400 naming the field.
core::result<fault> parse_fault(json::value const& v);
// The canonical JSON form (what GET /faults shows and control records carry).
json::value to_json(fault const& f);
// `patch` merged into `base` key by key (objects recursively; `action` replaced whole), for PATCH.
json::value merge_patch(json::value const& base, json::value const& patch);

// ---- requests, as the fault model sees them --------------------------------------------------

struct request_view {
  std::string_view route;
  std::string_view method;
  std::string_view target;  // as received, query included
  std::function<std::string_view(std::string_view lower_name)> header;  // "" when absent
  json::value const* body = nullptr;  // the parsed JSON body, when there is one
  bool body_present = false;          // a body was sent (JSON or not)
  std::string_view key;               // request_key(...)
};

// The decision key: X-Stormgate-Op, else Idempotency-Key, else the route's request sequence number.
std::string_view request_key(std::string_view op, std::string_view idempotency_key, std::string_view route_seq);

bool glob_match(std::string_view pattern, std::string_view text);  // * within a segment, ** across, ? one char
bool matches(match const& m, request_view const& r);

// ---- the live fault set: an immutable snapshot, with counters kept beside it ----------------

struct fault_state {  // changes while the fault is live; shared by the snapshots that hold the fault
  std::int64_t set_at_us = 0;                 // monotonic time the fault was set
  std::atomic<std::uint64_t> matched{0};      // requests that matched inside the window (first_n)
  std::atomic<std::uint64_t> injected{0};     // requests the fault hit
};

struct live_fault {
  fault f;
  std::shared_ptr<fault_state> state;
};

struct fault_set {
  std::vector<live_fault> faults;
  bool needs_body(std::string_view route) const;
  live_fault const* find(std::string_view name) const;
};

// The faults that hit this request, in set order: route, match, window, then hits(seed, name, key, p),
// then first_n. Pure but for the first_n counter.
std::vector<live_fault const*> decide(fault_set const& set, request_view const& r, std::uint64_t seed,
                                      std::int64_t now_us);

// ---- plans: what the session does, as data ---------------------------------------------------

enum class answer { upstream, status, reset, hang };

struct effect {
  std::int64_t delay_ms = 0;               // sleep before anything else
  answer before = answer::upstream;        // blackout: answer without asking the upstream
  unsigned before_status = 0;
  int copies = 1;                          // upstream attempts in all
  std::int64_t spacing_ms = 0;             // between attempts
  std::optional<std::string> body;         // the request body to send instead (mutate)
  std::optional<json::value> body_json;    // working copy while mutates are planned
  answer after = answer::upstream;         // drop_response: what the client gets once the upstream answered
  unsigned after_status = 0;
  std::string abort_rule;                  // the fault that decided the client's answer
  json::array applied;                     // the record's faults[] entries

  bool faulted() const { return !applied.empty(); }
};

struct draw {  // the seeded source of a plan's random parts (jitter): never the clock
  std::uint64_t seed = 0;
  std::string_view key;
};

// All hits by their kind's phase, in hit order within one: delays, then a blackout (which ends the
// plan), then mutate, duplicate, drop_response.
effect plan(std::vector<live_fault const*> const& hits, request_view const& r, draw d);

json::value to_json(action const& a);  // {"<kind>": {parameters}}

// ---- what every registered kind must have (see kinds.hpp) ------------------------------------

template <class K>
concept fault_kind = requires(K const& k, json::value const& v, fault const& f, request_view const& r, draw d,
                              effect& e) {
  requires std::is_same_v<decltype(K::name), std::string_view const>;
  requires !K::name.empty();  // a constant expression: the traits are constexpr
  requires K::phase >= 0;
  typename std::bool_constant<K::ends_plan>;
  typename std::bool_constant<K::needs_body>;
  typename std::bool_constant<K::outage>;
  typename std::bool_constant<K::rewrites_request>;
  { K::parse(v) } -> std::same_as<core::result<K>>;
  { k.plan(f, r, d, e) } -> std::same_as<void>;
  { k.to_json() } -> std::same_as<json::object>;
};

namespace detail {
template <fault_kind K>
consteval bool complete() { return true; }  // called for a kind that is not, the error names what it lacks
template <class... K>
consteval bool registered(kind_list<K...>) {
  if (!(complete<K>() && ...)) return false;
  std::string_view const names[] = {K::name...};
  for (std::size_t i = 0; i < sizeof...(K); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (names[i] == names[j]) return false;
  return true;
}
// kind_traits.hpp's list `names` and its test `listed` hold exactly the kinds whose trait is true.
template <class... K, std::size_t N>
consteval bool same_as_trait(kind_list<K...>, std::string_view const (&names)[N], bool (*listed)(std::string_view),
                             std::array<bool, sizeof...(K)> trait) {
  std::string_view const kind_names[] = {K::name...};
  std::size_t n = 0;
  for (auto o : names)
    for (std::size_t i = 0; i < sizeof...(K); ++i) n += kind_names[i] == o && trait[i];
  bool agree = true;
  for (std::size_t i = 0; i < sizeof...(K); ++i) agree = agree && trait[i] == listed(kind_names[i]);
  return n == N && agree;
}
template <class... K>
consteval bool outages_listed(kind_list<K...> l) {
  return same_as_trait(l, outage_kinds, is_outage, {K::outage...});
}
template <class... K>
consteval bool rewrites_listed(kind_list<K...> l) {
  return same_as_trait(l, rewriting_kinds, rewrites_request, {K::rewrites_request...});
}
}  // namespace detail

static_assert(detail::registered(kinds{}), "two fault kinds share a name");
static_assert(detail::outages_listed(kinds{}), "faults/kind_traits.hpp's outage_kinds differ from the kinds' `outage`");
static_assert(detail::rewrites_listed(kinds{}),
              "faults/kind_traits.hpp's rewriting_kinds differ from the kinds' `rewrites_request`");

}  // namespace stormgate::faults
