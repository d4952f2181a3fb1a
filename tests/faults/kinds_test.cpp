#include "faults/faults.hpp"

#include "tests/support/catch.hpp"

#include <boost/json.hpp>

#include <map>
#include <set>

using namespace stormgate;
namespace json = boost::json;

namespace {

core::result<faults::fault> parse(std::string_view action) {
  return faults::parse_fault(json::parse(std::string(R"({"name":"f","route":"credits","action":)") +
                                         std::string(action) + "}"));
}

// One action per registered kind, with every parameter given; a kind missing here fails the test.
std::map<std::string_view, char const*> const samples = {
    {"delay", R"({"delay":{"ms":120,"jitter_ms":7}})"},
    {"blackout", R"({"blackout":{"mode":"hang"}})"},
    {"duplicate", R"({"duplicate":{"copies":4,"spacing_ms":3}})"},
    {"mutate", R"({"mutate":{"path":"meta.score","set":{"a":[1,2]}}})"},
    {"drop_response", R"({"drop_response":{"status":502}})"},
};

struct fixture {
  std::vector<faults::live_fault> lfs;
  json::value body = json::parse(R"({"agent_id":"a1","amount":12.5})");
  faults::request_view r;
  explicit fixture(std::vector<std::pair<char const*, char const*>> const& rules) {
    for (auto const& [name, action] : rules) {
      auto f = faults::parse_fault(
          json::parse(std::string(R"({"name":")") + name + R"(","route":"credits","action":)" + action + "}"));
      REQUIRE(f);
      lfs.push_back({std::move(*f), std::make_shared<faults::fault_state>()});
    }
    r.route = "credits";
    r.body = &body;
    r.body_present = true;
    r.key = "k-1";
  }
  faults::effect plan() {
    std::vector<faults::live_fault const*> hits;
    for (auto const& lf : lfs) hits.push_back(&lf);
    return faults::plan(hits, r, faults::draw{7, r.key});
  }
};

std::vector<std::string> kinds_applied(faults::effect const& e) {
  std::vector<std::string> out;
  for (auto const& a : e.applied) out.emplace_back(a.at("kind").as_string());
  return out;
}

int phase_of(std::string_view kind) {
  int p = -1;
  faults::kinds::each([&]<class K>(std::type_identity<K>) {
    if (K::name == kind) p = K::phase;
  });
  return p;
}

}  // namespace

TEST_CASE("kinds: every registered kind round-trips parse -> to_json -> parse under its own name", "[faults][kinds]") {
  STATIC_REQUIRE(std::variant_size_v<faults::action> == faults::kinds::names.size());
  std::set<std::string_view> seen;
  std::size_t index = 0;
  faults::kinds::each([&]<class K>(std::type_identity<K>) {
    INFO(K::name);
    CHECK(faults::kinds::names[index] == K::name);
    CHECK(seen.insert(K::name).second);  // names are unique
    REQUIRE(samples.count(K::name));
    auto f = parse(samples.at(K::name));
    REQUIRE(f);
    CHECK(f->act.index() == index);
    CHECK(std::holds_alternative<K>(f->act));
    CHECK(faults::kind_of(f->act) == K::name);
    auto j = faults::to_json(f->act);
    CHECK(j == json::parse(samples.at(K::name)));  // every parameter given, so the canonical form is the input
    REQUIRE(j.as_object().size() == 1);
    CHECK(j.as_object().begin()->key() == K::name);
    auto again = parse(json::serialize(j));
    REQUIRE(again);
    CHECK(faults::to_json(again->act) == j);
    CHECK(f->needs_body() == K::needs_body);
    CHECK(faults::is_outage(K::name) == K::outage);
    ++index;
  });
  CHECK(index == samples.size());
}

TEST_CASE("kinds: the action errors list the registered kinds", "[faults][kinds]") {
  auto none = parse("{}");
  REQUIRE_FALSE(none);
  CHECK(none.error().where == "action");
  CHECK(none.error().what == "must be an object with exactly one of: delay, blackout, duplicate, mutate, drop_response");
  auto unknown = parse(R"({"teleport":{}})");
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().where == "action.teleport");
  CHECK(unknown.error().what == "unknown action (expected delay, blackout, duplicate, mutate or drop_response)");
  auto bad = parse(R"({"duplicate":{"copies":1}})");  // the kind's own parser answers
  REQUIRE_FALSE(bad);
  CHECK(bad.error().where == "action.duplicate.copies");
  CHECK(faults::is_outage("blackout"));
  CHECK(faults::is_outage("drop_response"));
  CHECK_FALSE(faults::is_outage("delay"));
  CHECK_FALSE(faults::is_outage("mutate"));
}

TEST_CASE("kinds: the plan follows the phase trait - delays, mutate, duplicate, drop_response, whatever the hit order",
          "[faults][kinds]") {
  fixture fx({{"drop", R"({"drop_response":{"mode":"reset"}})"},
              {"dup", R"({"duplicate":{"copies":3,"spacing_ms":5}})"},
              {"x10", R"({"mutate":{"path":"amount","multiply":10}})"},
              {"slow", R"({"delay":{"ms":40}})"},
              {"dup2", R"({"duplicate":{"copies":2,"spacing_ms":9}})"},
              {"slower", R"({"delay":{"ms":60}})"},
              {"drop2", R"({"drop_response":{"status":500}})"}});
  auto e = fx.plan();
  CHECK(e.applied == json::parse(R"([
    {"kind":"delay","rule":"slow","ms":40},
    {"kind":"delay","rule":"slower","ms":60},
    {"kind":"mutate","rule":"x10","path":"amount","original":12.5,"value":125.0},
    {"kind":"duplicate","rule":"dup","copies":3},
    {"kind":"duplicate","rule":"dup2","copies":2},
    {"kind":"drop_response","rule":"drop","mode":"reset"}])"));
  auto order = kinds_applied(e);
  for (std::size_t i = 1; i < order.size(); ++i) CHECK(phase_of(order[i - 1]) <= phase_of(order[i]));
  CHECK(e.delay_ms == 100);
  CHECK(e.before == faults::answer::upstream);
  REQUIRE(e.body);
  CHECK(json::parse(*e.body) == json::parse(R"({"agent_id":"a1","amount":125.0})"));
  CHECK_FALSE(e.body_json);
  CHECK(e.copies == 3);
  CHECK(e.spacing_ms == 9);
  CHECK(e.after == faults::answer::reset);
  CHECK(e.abort_rule == "drop");
}

TEST_CASE("kinds: a blackout ends the plan after the delays - only the first blackout counts", "[faults][kinds]") {
  fixture fx({{"x10", R"({"mutate":{"path":"amount","multiply":10}})"},
              {"dark", R"({"blackout":{"status":500}})"},
              {"slow", R"({"delay":{"ms":40}})"},
              {"dark2", R"({"blackout":{"mode":"reset"}})"},
              {"drop", R"({"drop_response":{}})"}});
  auto e = fx.plan();
  CHECK(kinds_applied(e) == std::vector<std::string>{"delay", "blackout"});
  CHECK(e.applied.at(1) == json::parse(R"({"kind":"blackout","rule":"dark","status":500})"));
  CHECK(e.delay_ms == 40);
  CHECK(e.before == faults::answer::status);
  CHECK(e.before_status == 500);
  CHECK(e.abort_rule == "dark");
  CHECK_FALSE(e.body);
  CHECK(e.copies == 1);
  CHECK(e.after == faults::answer::upstream);
}
