#include "core/hash.hpp"
#include "faults/faults.hpp"

#include "tests/support/catch.hpp"

#include <boost/json.hpp>
#include <set>

using namespace stormgate;
namespace json = boost::json;

namespace {

faults::fault_set make_set(std::vector<std::string> const& texts) {
  faults::fault_set s;
  for (auto const& t : texts) {
    auto f = faults::parse_fault(json::parse(t));
    REQUIRE(f);
    s.faults.push_back({std::move(*f), std::make_shared<faults::fault_state>()});
  }
  return s;
}

faults::request_view view(std::string_view route, std::string_view key) {
  faults::request_view r;
  r.route = route;
  r.method = "POST";
  r.target = "/api/credits/consume";
  r.key = key;
  return r;
}

std::set<std::string> faulted_ops(faults::fault_set const& s, std::uint64_t seed, std::vector<std::string> const& ops) {
  std::set<std::string> out;
  for (auto const& op : ops)
    if (!faults::decide(s, view("credits", op), seed, 0).empty()) out.insert(op);
  return out;
}

}  // namespace

TEST_CASE("decide: the key is the op id - else the idempotency key - else the route sequence", "[faults][decide]") {
  CHECK(faults::request_key("op-1", "idem-1", "7") == "op-1");
  CHECK(faults::request_key("", "idem-1", "7") == "idem-1");
  CHECK(faults::request_key("", "", "7") == "7");
}

TEST_CASE("decide: same seed and ops give the same faulted ops - in any order - another seed differs",
          "[faults][decide][determinism]") {
  auto s = make_set({R"({"name":"drop","route":"credits","action":{"drop_response":{}},"probability":0.3})"});
  std::vector<std::string> ops;
  for (int i = 0; i < 2000; ++i) ops.push_back("credit_storm-" + std::to_string(100000 + i));
  auto a = faulted_ops(s, 42, ops);
  std::vector<std::string> reversed(ops.rbegin(), ops.rend());
  auto b = faulted_ops(s, 42, reversed);
  CHECK(a == b);
  // the decision is exactly core::hits(seed, fault name, key, p)
  for (auto const& op : ops) CHECK(a.count(op) == (core::hits(42, "drop", op, 0.3) ? 1u : 0u));
  // about 30 % hit
  CHECK(a.size() > 500);
  CHECK(a.size() < 700);
  auto c = faulted_ops(s, 43, ops);
  CHECK(c != a);
}

TEST_CASE("decide: route - probability 0 and 1 - windows and first_n", "[faults][decide]") {
  auto s = make_set({
      R"({"name":"never","route":"credits","action":{"delay":{"ms":1}},"probability":0})",
      R"({"name":"karma-only","route":"karma","action":{"blackout":{}}})",
      R"({"name":"later","route":"credits","action":{"delay":{"ms":1}},"window":{"after_s":10,"for_s":5}})",
      R"({"name":"first3","route":"credits","action":{"delay":{"ms":1}},"window":{"first_n":3}})",
  });
  auto names = [&](std::int64_t now_us, std::string_view route, std::string_view key) {
    std::vector<std::string> out;
    for (auto const* lf : faults::decide(s, view(route, key), 1, now_us)) out.push_back(lf->f.name);
    return out;
  };
  CHECK(names(0, "credits", "a") == std::vector<std::string>{"first3"});
  CHECK(names(0, "karma", "a") == std::vector<std::string>{"karma-only"});
  CHECK(names(11'000'000, "credits", "b") == std::vector<std::string>{"later", "first3"});
  CHECK(names(12'000'000, "credits", "c") == std::vector<std::string>{"later", "first3"});
  CHECK(names(13'000'000, "credits", "d") == std::vector<std::string>{"later"});  // first3 is used up
  CHECK(names(16'000'000, "credits", "e").empty());                              // the window is over
}

TEST_CASE("decide: needs_body only for JSON predicates and mutate", "[faults][decide]") {
  auto s = make_set({R"({"name":"d","route":"credits","action":{"delay":{"ms":1}}})",
                     R"({"name":"m","route":"karma","action":{"mutate":{"path":"amount","multiply":2}}})"});
  CHECK_FALSE(s.needs_body("credits"));
  CHECK(s.needs_body("karma"));
  CHECK(s.find("m") != nullptr);
  CHECK(s.find("x") == nullptr);
}
