// Matching a request against a fault's `match`: method, path glob, headers, JSON-field predicate.
#include "faults/detail/parse_util.hpp"
#include "faults/faults.hpp"
#include "core/jsonl.hpp"

namespace stormgate::faults {

bool glob_match(std::string_view p, std::string_view t) {
  // Iterative matcher with backtracking on the last star; '*' stops at '/', '**' does not.
  std::size_t pi = 0, ti = 0;
  std::size_t star_p = std::string_view::npos, star_t = 0;
  bool star_deep = false;
  while (ti < t.size()) {
    if (pi < p.size() && p[pi] == '*') {
      star_deep = pi + 1 < p.size() && p[pi + 1] == '*';
      pi += star_deep ? 2 : 1;
      star_p = pi;
      star_t = ti;
      continue;
    }
    if (pi < p.size() && (p[pi] == '?' ? t[ti] != '/' : p[pi] == t[ti])) {
      ++pi;
      ++ti;
      continue;
    }
    if (star_p != std::string_view::npos && (star_deep || t[star_t] != '/')) {
      pi = star_p;
      ti = ++star_t;
      continue;
    }
    return false;
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

bool test(json_predicate::op o, json::value const* v, json::value const& operand) {
  using op = json_predicate::op;
  if (o == op::exists) return (v != nullptr) == (operand.is_bool() ? operand.get_bool() : true);
  if (!v) return o == op::ne;
  auto a = detail::number_of(*v);
  auto b = detail::number_of(operand);
  if (o == op::eq) return a && b ? *a == *b : *v == operand;
  if (o == op::ne) return a && b ? *a != *b : *v != operand;
  if (!a || !b) return false;
  switch (o) {
    case op::gt: return *a > *b;
    case op::ge: return *a >= *b;
    case op::lt: return *a < *b;
    case op::le: return *a <= *b;
    default: return false;
  }
}

}  // namespace

bool matches(match const& m, request_view const& r) {
  if (!m.method.empty() && !iequals(m.method, r.method)) return false;
  if (!m.path.empty()) {
    auto path = r.target.substr(0, r.target.find('?'));
    if (!glob_match(m.path, path)) return false;
  }
  for (auto const& [name, value] : m.header) {
    auto got = r.header ? r.header(name) : std::string_view{};
    if (got.empty()) return false;
    if (value != "*" && got != value) return false;
  }
  if (m.json) {
    if (!r.body) return false;
    auto const* v = core::find_path(*r.body, m.json->path);
    for (auto const& [o, operand] : m.json->tests)
      if (!test(o, v, operand)) return false;
  }
  return true;
}

}  // namespace stormgate::faults
