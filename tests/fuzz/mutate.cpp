// The JSON mutate path, as proxy/session.cpp takes it: the request body parsed by Boost.JSON (when it
// is JSON), a mutate fault decided and planned on it (faults::decide, faults::plan), the new body
// sent upstream and the fault's entry logged. What must hold: the fault's entry says whether it was
// applied and why not; a body sent instead is JSON that reads back as it was written (but for the
// last digit Boost.JSON 1.81 reads inexactly); and the traffic log's record of the exchange is one line of valid JSON.
//   input: line 1 the dotted path; line 2 "*NUMBER" (multiply) or a JSON value (set); the rest the body
#include "core/jsonl.hpp"
#include "faults/faults.hpp"
#include "proxy/detail/record.hpp"

#include <boost/json.hpp>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace stormgate;
namespace json = boost::json;

namespace {

[[noreturn]] void fail(char const* what, std::string_view detail) {
  std::fprintf(stderr, "mutate: %s: %.*s\n", what, static_cast<int>(detail.size()), detail.data());
  std::abort();
}

std::string_view take_line(std::string_view& in) {
  auto nl = in.find('\n');
  auto line = in.substr(0, nl);
  in = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
  return line;
}

// A JSON text cut into its tokens: strings and numbers whole, every other byte alone.
std::vector<std::string_view> tokens(std::string_view t) {
  std::vector<std::string_view> out;
  for (std::size_t i = 0; i < t.size();) {
    std::size_t j = i + 1;
    if (t[i] == '"') {
      while (j < t.size() && t[j] != '"') j += t[j] == '\\' ? 2 : 1;
      j = std::min(j + 1, t.size());
    } else if (t[i] == '-' || (t[i] >= '0' && t[i] <= '9')) {
      while (j < t.size() && std::strchr("0123456789.eE+-", t[j])) ++j;
    }
    out.push_back(t.substr(i, j - i));
    i = j;
  }
  return out;
}

// Whether two JSON texts are the same but for numbers one ulp apart: Boost.JSON 1.81 reads some
// long decimals (1.1413333333333333E24) to the double next to the one they spell.
bool same_but_last_digits(std::string_view a, std::string_view b) {
  auto ta = tokens(a), tb = tokens(b);
  if (ta.size() != tb.size()) return false;
  for (std::size_t i = 0; i < ta.size(); ++i) {
    if (ta[i] == tb[i]) continue;
    auto number = [](std::string_view t) { return !t.empty() && (t[0] == '-' || (t[0] >= '0' && t[0] <= '9')); };
    if (!number(ta[i]) || !number(tb[i])) return false;
    double x = std::strtod(std::string(ta[i]).c_str(), nullptr), y = std::strtod(std::string(tb[i]).c_str(), nullptr);
    if (x != y && std::nextafter(x, y) != y) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  std::string_view in(reinterpret_cast<char const*>(data), size);
  auto path = take_line(in);
  auto spec = take_line(in);
  auto body = in;

  json::object m{{"path", json::string(path.data(), path.size())}};
  json::error_code ec;
  if (!spec.empty() && spec[0] == '*') {
    auto n = json::parse(json::string_view(spec.data() + 1, spec.size() - 1), ec);
    if (ec) return 0;
    m["multiply"] = n;
  } else {
    auto v = json::parse(json::string_view(spec.data(), spec.size()), ec);
    if (ec) return 0;
    m["set"] = v;
  }
  auto parsed = faults::parse_fault(json::object{{"name", "ml"}, {"route", "credits"}, {"action", json::object{{"mutate", m}}}});
  if (!parsed) return 0;  // the fault file target covers what parse_fault refuses

  faults::fault_set set;
  set.faults.push_back(faults::live_fault{*parsed, std::make_shared<faults::fault_state>()});
  if (!set.needs_body("credits")) fail("a mutate does not ask for the body", path);
  // as the session: the body parsed when there is one, and it is JSON
  std::optional<json::value> body_json;
  if (!body.empty()) {
    auto v = json::parse(json::string_view(body.data(), body.size()), ec);
    if (!ec) body_json = std::move(v);
  }
  faults::request_view rv;
  rv.route = "credits";
  rv.method = "POST";
  rv.target = "/api/credits/consume";
  rv.header = [](std::string_view) { return std::string_view{}; };
  rv.body = body_json ? &*body_json : nullptr;
  rv.body_present = !body.empty();
  rv.key = "op-1";
  auto hits = faults::decide(set, rv, 42, 0);
  if (hits.size() != 1) fail("the mutate did not hit", path);
  auto e = faults::plan(hits, rv, faults::draw{42, rv.key});

  if (e.applied.size() != 1 || !e.applied[0].is_object()) fail("not one entry for one fault", json::serialize(e.applied));
  auto const& entry = e.applied[0].get_object();
  auto applied = entry.find("applied");
  bool skipped = applied != entry.end() && applied->value() == false;
  if (skipped != !e.body) fail("an entry and the body disagree on whether the mutate applied", json::serialize(e.applied));
  if (skipped && !entry.contains("why")) fail("a mutate not applied does not say why", json::serialize(e.applied));
  if (e.body) {
    auto back = json::parse(*e.body, ec);
    if (ec) fail("the body sent upstream is not JSON", *e.body);
    if (!same_but_last_digits(json::serialize(back), *e.body))
      fail("the body sent upstream does not read back as it was written", *e.body);
  }

  proxy::detail::exchange_record x;
  x.id = "credits-1";
  x.route = "credits";
  x.method = rv.method;
  x.target = rv.target;
  if (!body.empty()) x.req_body = body;
  x.faults = e.applied;
  x.upstream.push_back(proxy::detail::attempt_record{1, 200, 10, "", std::nullopt});
  x.outcome = "ok";
  std::string line;
  proxy::detail::format_exchange(line, x, 64 * 1024);
  if (line.find('\n') != std::string::npos || !core::is_json(line)) fail("the record is not one JSON line", line);
  return 0;
}
