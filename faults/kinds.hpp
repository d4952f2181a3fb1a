// The fault kinds (SPEC §7): each kind's parameters and traits here, its parse, plan and JSON form
// in its own file (faults/<name>.cpp). `kinds` at the end is the one list of them: the action
// variant, the action parser, kind_of, to_json, the plan's order and needs_body all follow it.
// faults.hpp checks every listed kind against `fault_kind`, so a missing piece does not compile.
#pragma once
#include "core/error.hpp"

#include <boost/json/value.hpp>
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

namespace stormgate::faults {

namespace json = boost::json;

struct fault;
struct request_view;
struct draw;
struct effect;

// How a fault answers the client in place of the upstream's answer.
enum class abort_mode { status, reset, hang };

// Traits every kind has:
//   name        the action's JSON key, "kind" in records and metrics;
//   phase       plan order: all hits of a lower phase are planned before any of a higher one;
//   ends_plan   once one hit of this kind is planned, nothing else is;
//   needs_body  the request body must be parsed as JSON for it;
//   outage      the client is cut off from the upstream's answer (gate D; see kind_traits.hpp);
//   rewrites_request  a request field (the record's `path`) goes upstream as the record's `value`
//               (gates B and D read the applied amount from it; see kind_traits.hpp).
// And three functions, defined in its file:
//   static core::result<K> parse(json::value const&);   errors name "action.<name>.<field>"
//   void plan(fault const&, request_view const&, draw, effect&) const;
//   json::object to_json() const;                         the parameters, the inverse of parse

struct delay {
  static constexpr std::string_view name = "delay";
  static constexpr int phase = 0;
  static constexpr bool ends_plan = false, needs_body = false, outage = false, rewrites_request = false;

  std::int64_t ms = 0;
  std::int64_t jitter_ms = 0;  // the delay is ms + a seeded draw in [-jitter_ms, +jitter_ms], never < 0

  static core::result<delay> parse(json::value const& v);
  void plan(fault const& f, request_view const& r, draw d, effect& e) const;
  json::object to_json() const;
};

struct blackout {  // the upstream is never asked
  static constexpr std::string_view name = "blackout";
  static constexpr int phase = 1;
  static constexpr bool ends_plan = true, needs_body = false, outage = true, rewrites_request = false;

  abort_mode mode = abort_mode::status;
  unsigned status = 503;

  static core::result<blackout> parse(json::value const& v);
  void plan(fault const& f, request_view const& r, draw d, effect& e) const;
  json::object to_json() const;
};

struct duplicate {  // the same request sent upstream `copies` times in all; the client gets the first answer
  static constexpr std::string_view name = "duplicate";
  static constexpr int phase = 3;
  static constexpr bool ends_plan = false, needs_body = false, outage = false, rewrites_request = false;

  int copies = 2;
  std::int64_t spacing_ms = 0;

  static core::result<duplicate> parse(json::value const& v);
  void plan(fault const& f, request_view const& r, draw d, effect& e) const;
  json::object to_json() const;
};

struct mutate {  // a JSON request body field changed before it goes upstream
  static constexpr std::string_view name = "mutate";
  static constexpr int phase = 2;
  static constexpr bool ends_plan = false, needs_body = true, outage = false, rewrites_request = true;

  std::string path;  // dotted ("amount", "meta.score", "items.0.qty")
  std::optional<double> multiply;
  std::optional<json::value> set;

  static core::result<mutate> parse(json::value const& v);
  void plan(fault const& f, request_view const& r, draw d, effect& e) const;
  json::object to_json() const;
};

struct drop_response {  // the upstream applies the request, the client gets a failure instead of the answer
  static constexpr std::string_view name = "drop_response";
  static constexpr int phase = 4;
  static constexpr bool ends_plan = false, needs_body = false, outage = true, rewrites_request = false;

  abort_mode mode = abort_mode::status;  // status or reset
  unsigned status = 504;

  static core::result<drop_response> parse(json::value const& v);
  void plan(fault const& f, request_view const& r, draw d, effect& e) const;
  json::object to_json() const;
};

template <class... K>
struct kind_list {
  using variant = std::variant<K...>;
  static constexpr std::array<std::string_view, sizeof...(K)> names{K::name...};  // in variant order
  static constexpr int last_phase = std::max({K::phase...});
  // f(std::type_identity<K>{}) for each kind, in list order.
  template <class F>
  static constexpr void each(F&& f) {
    (f(std::type_identity<K>{}), ...);
  }
};

// ---- the registry: every kind, once ---------------------------------------------------------
using kinds = kind_list<delay, blackout, duplicate, mutate, drop_response>;

using action = kinds::variant;

}  // namespace stormgate::faults
