// One parser for faults from the admin API (JSON) and from config files (TOML converted to JSON).
#include "faults/detail/parse_util.hpp"
#include "faults/faults.hpp"

#include <cctype>

namespace stormgate::faults {

std::string_view kind_of(action const& a) { return kinds::names[a.index()]; }

bool fault::needs_body() const {
  return when.json.has_value() || std::visit([](auto const& k) { return std::decay_t<decltype(k)>::needs_body; }, act);
}

namespace {

using detail::field_error;

bool valid_name(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  return true;
}

core::result<json_predicate> parse_json_predicate(json::value const& v) {
  std::string const w = "match.json";
  auto o = detail::object_with(v, w, {"path", "eq", "ne", "gt", "ge", "lt", "le", "exists"});
  if (!o) return o.error();
  auto path = detail::string_field(**o, "path", w);
  if (!path) return path.error();
  if (!*path || (*path)->empty()) return field_error(w + ".path", "is required (a dotted JSON path)");
  json_predicate p;
  p.path = **path;
  using op = json_predicate::op;
  static constexpr std::pair<std::string_view, op> ops[] = {{"eq", op::eq}, {"ne", op::ne}, {"gt", op::gt},
                                                            {"ge", op::ge}, {"lt", op::lt}, {"le", op::le},
                                                            {"exists", op::exists}};
  for (auto [name, o2] : ops) {
    auto it = (*o)->find(name);
    if (it == (*o)->end()) continue;
    bool numeric = o2 == op::gt || o2 == op::ge || o2 == op::lt || o2 == op::le;
    if (numeric && !detail::number_of(it->value())) return field_error(w + "." + std::string(name), "must be a number");
    if (o2 == op::exists && !it->value().is_bool()) return field_error(w + ".exists", "must be true or false");
    p.tests.emplace_back(o2, it->value());
  }
  if (p.tests.empty()) return field_error(w, "needs a test: eq, ne, gt, ge, lt, le or exists");
  return p;
}

core::result<match> parse_match(json::value const& v) {
  auto o = detail::object_with(v, "match", {"method", "path", "header", "json"});
  if (!o) return o.error();
  match m;
  auto method = detail::string_field(**o, "method", "match");
  if (!method) return method.error();
  if (*method) {
    m.method = **method;
    for (auto& c : m.method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  auto path = detail::string_field(**o, "path", "match");
  if (!path) return path.error();
  if (*path) {
    if ((*path)->empty() || (*path)->front() != '/') return field_error("match.path", "must start with '/'");
    m.path = **path;
  }
  if (auto it = (*o)->find("header"); it != (*o)->end()) {
    if (!it->value().is_object()) return field_error("match.header", "must be an object of name: value");
    for (auto const& kv : it->value().get_object()) {
      std::string name(kv.key());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (!kv.value().is_string()) return field_error("match.header." + std::string(kv.key()), "must be a string");
      m.header.emplace_back(std::move(name), std::string(kv.value().get_string()));
    }
  }
  if (auto it = (*o)->find("json"); it != (*o)->end()) {
    auto p = parse_json_predicate(it->value());
    if (!p) return p.error();
    m.json = std::move(*p);
  }
  return m;
}

core::result<window> parse_window(json::value const& v) {
  auto o = detail::object_with(v, "window", {"after_s", "for_s", "first_n"});
  if (!o) return o.error();
  window w;
  auto after = detail::number_field(**o, "after_s", "window", 0, 1e9);
  if (!after) return after.error();
  auto for_s = detail::number_field(**o, "for_s", "window", 0, 1e9);
  if (!for_s) return for_s.error();
  auto first = detail::number_field(**o, "first_n", "window", 1, 1e15);
  if (!first) return first.error();
  w.after_s = after->value_or(0);
  w.for_s = *for_s;
  if (*first) w.first_n = static_cast<std::uint64_t>(**first);
  return w;
}

// The kinds' names: "delay, blackout, …, drop_response", the last one after `last_sep`.
std::string kind_names(std::string_view last_sep) {
  std::string out;
  for (std::size_t i = 0; i < kinds::names.size(); ++i)
    out.append(i == 0 ? "" : i + 1 == kinds::names.size() ? last_sep : ", ").append(kinds::names[i]);
  return out;
}

core::result<action> parse_action(json::value const& v) {
  if (!v.is_object() || v.get_object().size() != 1)
    return field_error("action", "must be an object with exactly one of: " + kind_names(", "));
  auto const& kv = *v.get_object().begin();
  std::optional<core::result<action>> out;
  kinds::each([&]<class K>(std::type_identity<K>) {
    if (out || kv.key() != K::name) return;
    auto k = K::parse(kv.value());
    out = k ? core::result<action>(action{std::move(*k)}) : core::result<action>(k.error());
  });
  if (out) return std::move(*out);
  return field_error("action." + std::string(kv.key()), "unknown action (expected " + kind_names(" or ") + ")");
}

}  // namespace

core::result<fault> parse_fault(json::value const& v) {
  auto o = detail::object_with(v, "", {"name", "route", "match", "action", "probability", "window"});
  if (!o) return o.error();
  fault f;
  auto name = detail::string_field(**o, "name", "");
  if (!name) return name.error();
  if (!*name) return field_error("name", "is required");
  if (!valid_name(**name)) return field_error("name", "must be 1-128 characters of [A-Za-z0-9._-], got \"" + **name + "\"");
  f.name = **name;
  auto route = detail::string_field(**o, "route", "");
  if (!route) return route.error();
  if (!*route || (*route)->empty()) return field_error("route", "is required (the route's name, e.g. \"credits\")");
  f.route = **route;
  auto act = (*o)->find("action");
  if (act == (*o)->end()) return field_error("action", "is required");
  auto a = parse_action(act->value());
  if (!a) return a.error();
  f.act = std::move(*a);
  if (auto it = (*o)->find("match"); it != (*o)->end()) {
    auto m = parse_match(it->value());
    if (!m) return m.error();
    f.when = std::move(*m);
  }
  auto p = detail::number_field(**o, "probability", "", 0, 1);
  if (!p) return p.error();
  f.probability = p->value_or(1.0);
  if (auto it = (*o)->find("window"); it != (*o)->end()) {
    auto w = parse_window(it->value());
    if (!w) return w.error();
    f.win = *w;
  }
  return f;
}

json::value to_json(action const& a) {
  return std::visit([](auto const& k) { return json::object{{std::decay_t<decltype(k)>::name, k.to_json()}}; }, a);
}

json::value to_json(fault const& f) {
  json::object o{{"name", f.name}, {"route", f.route}};
  json::object m;
  if (!f.when.method.empty()) m["method"] = f.when.method;
  if (!f.when.path.empty()) m["path"] = f.when.path;
  if (!f.when.header.empty()) {
    json::object h;
    for (auto const& [k, v] : f.when.header) h[k] = v;
    m["header"] = std::move(h);
  }
  if (f.when.json) {
    static constexpr std::string_view names[] = {"eq", "ne", "gt", "ge", "lt", "le", "exists"};
    json::object j{{"path", f.when.json->path}};
    for (auto const& [op, operand] : f.when.json->tests) j[names[static_cast<int>(op)]] = operand;
    m["json"] = std::move(j);
  }
  if (!m.empty()) o["match"] = std::move(m);
  o["action"] = to_json(f.act);
  o["probability"] = f.probability;
  json::object w;
  if (f.win.after_s > 0) w["after_s"] = f.win.after_s;
  if (f.win.for_s) w["for_s"] = *f.win.for_s;
  if (f.win.first_n) w["first_n"] = *f.win.first_n;
  if (!w.empty()) o["window"] = std::move(w);
  return o;
}

json::value merge_patch(json::value const& base, json::value const& patch) {
  if (!base.is_object() || !patch.is_object()) return patch;
  json::object out = base.get_object();
  for (auto const& kv : patch.get_object()) {
    if (kv.value().is_null()) {
      out.erase(kv.key());
    } else if (kv.key() != "action" && out.contains(kv.key())) {
      out[kv.key()] = merge_patch(out[kv.key()], kv.value());
    } else {
      out[kv.key()] = kv.value();
    }
  }
  return out;
}

}  // namespace stormgate::faults
