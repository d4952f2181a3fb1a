// mutate{path, multiply | set}: a field of the JSON request body changed before it goes upstream.
// A body that is not JSON (or lacks the field) passes untouched and the record says why.
#include "faults/detail/parse_util.hpp"
#include "faults/faults.hpp"

#include <cmath>
#include <cstdlib>

namespace stormgate::faults {

core::result<mutate> mutate::parse(json::value const& v) {
  std::string const w = "action.mutate";
  auto o = detail::object_with(v, w, {"path", "multiply", "set"});
  if (!o) return o.error();
  auto path = detail::string_field(**o, "path", w);
  if (!path) return path.error();
  if (!*path || (*path)->empty()) return detail::field_error(w + ".path", "is required (a dotted JSON path, e.g. \"amount\")");
  auto mult = detail::number_field(**o, "multiply", w, -1e300, 1e300);
  if (!mult) return mult.error();
  auto set_it = (*o)->find("set");
  if (*mult && set_it != (*o)->end()) return detail::field_error(w, "give either multiply or set, not both");
  if (!*mult && set_it == (*o)->end()) return detail::field_error(w, "needs multiply or set");
  if (set_it != (*o)->end() && !detail::finite(set_it->value()))
    return detail::field_error(w + ".set", "holds a number beyond a double's range (it has no JSON spelling)");
  mutate m;
  m.path = **path;
  m.multiply = *mult;
  if (set_it != (*o)->end()) m.set = set_it->value();
  return m;
}

namespace {
// The value at a dotted path (object keys, array indexes), or nullptr.
json::value* locate(json::value& root, std::string_view path) {
  json::value* cur = &root;
  while (!path.empty()) {
    auto dot = path.find('.');
    auto part = path.substr(0, dot);
    path = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
    if (auto* o = cur->if_object()) {
      auto it = o->find(part);
      if (it == o->end()) return nullptr;
      cur = &it->value();
    } else if (auto* a = cur->if_array()) {
      char* end = nullptr;
      std::string p(part);
      auto i = std::strtoul(p.c_str(), &end, 10);
      if (p.empty() || *end || i >= a->size()) return nullptr;
      cur = &(*a)[i];
    } else {
      return nullptr;
    }
  }
  return cur;
}
}  // namespace

void mutate::plan(fault const& f, request_view const& r, draw, effect& e) const {
  json::object entry{{"kind", name}, {"rule", f.name}, {"path", path}};
  auto skip = [&](char const* why) {
    entry["applied"] = false;
    entry["why"] = why;
    e.applied.push_back(std::move(entry));
  };
  if (!e.body_json) {
    if (!r.body) return skip(r.body_present ? "body is not JSON" : "no body");
    // Boost.JSON reads 1e400 as an infinity and would write it back as Infinity, which is not JSON
    if (!detail::finite(*r.body)) return skip("body holds a number beyond a double's range");
    e.body_json = *r.body;
  }
  json::value* target = locate(*e.body_json, path);
  if (!target) return skip("path not found");
  json::value original = *target;
  if (multiply) {
    auto n = detail::number_of(*target);
    if (!n) return skip("value is not a number");
    double product = *n * *multiply;
    // a product beyond a double (1e300 x 1e300) has no JSON spelling: the body passes untouched
    if (!std::isfinite(product)) return skip("the product is not a finite number");
    *target = product;
  } else {
    *target = *set;
  }
  entry["original"] = std::move(original);
  entry["value"] = *target;
  e.applied.push_back(std::move(entry));
  e.body = json::serialize(*e.body_json);
}

json::object mutate::to_json() const {
  json::object o{{"path", path}};
  if (multiply) o["multiply"] = *multiply;
  if (set) o["set"] = *set;
  return o;
}

}  // namespace stormgate::faults
