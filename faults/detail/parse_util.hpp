// Small helpers shared by the per-action parsers: typed fields with errors naming the field.
#pragma once
#include "core/error.hpp"
#include "faults/faults.hpp"

#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace stormgate::faults::detail {

namespace json = boost::json;

inline core::error field_error(std::string where, std::string what) { return core::usage_error(std::move(where), std::move(what)); }

inline std::optional<double> number_of(json::value const& v) {
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  if (v.is_double()) return v.get_double();
  return std::nullopt;
}

// Whether every number in `v` is finite: Boost.JSON reads 1e400 as an infinity, and writes an
// infinity as Infinity, which is not JSON.
inline bool finite(json::value const& v) {
  if (auto const* d = v.if_double()) return std::isfinite(*d);
  if (auto const* o = v.if_object()) {
    for (auto const& kv : *o)
      if (!finite(kv.value())) return false;
  } else if (auto const* a = v.if_array()) {
    for (auto const& e : *a)
      if (!finite(e)) return false;
  }
  return true;
}

inline std::string short_number(double d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", d);
  return buf;
}

// Unknown keys are errors: a typo must not silently turn a fault into "match everything".
inline core::result<json::object const*> object_with(json::value const& v, std::string const& where,
                                                     std::initializer_list<std::string_view> keys) {
  if (!v.is_object()) return field_error(where.empty() ? "fault" : where, "must be an object");
  auto const& o = v.get_object();
  for (auto const& kv : o) {
    bool known = false;
    for (auto k : keys) known = known || kv.key() == k;
    if (!known) {
      std::string allowed;
      for (auto k : keys) allowed += (allowed.empty() ? "" : ", ") + std::string(k);
      return field_error(where.empty() ? std::string(kv.key()) : where + "." + std::string(kv.key()),
                         "unknown key (expected one of: " + allowed + ")");
    }
  }
  return &o;
}

// A number field within [lo, hi]; nullopt when absent.
inline core::result<std::optional<double>> number_field(json::object const& o, std::string_view key,
                                                        std::string const& where, double lo, double hi) {
  auto it = o.find(key);
  if (it == o.end()) return std::optional<double>{};
  auto n = number_of(it->value());
  std::string w = where.empty() ? std::string(key) : where + "." + std::string(key);
  if (!n || !std::isfinite(*n)) return field_error(w, "must be a number");
  if (*n < lo || *n > hi)
    return field_error(w, "must be between " + short_number(lo) + " and " + short_number(hi) + ", got " +
                              json::serialize(it->value()));
  return std::optional<double>{*n};
}

inline core::result<std::optional<std::string>> string_field(json::object const& o, std::string_view key,
                                                             std::string const& where) {
  auto it = o.find(key);
  if (it == o.end()) return std::optional<std::string>{};
  std::string w = where.empty() ? std::string(key) : where + "." + std::string(key);
  if (!it->value().is_string()) return field_error(w, "must be a string");
  return std::optional<std::string>{std::string(it->value().get_string())};
}

// The answer a fault gives in place of the upstream's ({status} or {mode: reset|hang}), shared by
// blackout and drop_response (defined in blackout.cpp).
core::result<std::pair<abort_mode, unsigned>> parse_abort(json::value const& v, std::string const& w,
                                                          unsigned default_status, bool hang_allowed);
json::object abort_json(abort_mode m, unsigned status);  // the parameters' JSON form
void abort_entry(json::object& entry, abort_mode m, unsigned status);
answer answer_of(abort_mode m);

}  // namespace stormgate::faults::detail
