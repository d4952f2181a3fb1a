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
    CHECK(faults::rewrites_request(K::name) == K::rewrites_request);
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
  CHECK(faults::rewrites_request("mutate"));
  CHECK_FALSE(faults::rewrites_request("duplicate"));
}
