#include "faults/faults.hpp"

#include "tests/support/catch.hpp"

#include <boost/json.hpp>

using namespace stormgate;
namespace json = boost::json;

namespace {
core::result<faults::fault> parse(std::string_view text) { return faults::parse_fault(json::parse(text)); }
}  // namespace

TEST_CASE("parse: SPEC §7's example fault - and its canonical JSON round-trips", "[faults][parse]") {
  auto f = parse(R"({"name": "slow-consume", "route": "credits",
    "match": {"method": "post", "path": "/api/credits/consume", "header": {"X-Tenant": "a"}, "json": {"path": "amount", "gt": 100}},
    "action": {"delay": {"ms": 200, "jitter_ms": 20}},
    "probability": 0.5, "window": {"after_s": 10, "for_s": 60}})");
  REQUIRE(f);
  CHECK(f->name == "slow-consume");
  CHECK(f->route == "credits");
  CHECK(f->when.method == "POST");
  CHECK(f->when.header.at(0).first == "x-tenant");
  REQUIRE(f->when.json);
  CHECK(f->when.json->path == "amount");
  auto const& d = std::get<faults::delay>(f->act);
  CHECK(d.ms == 200);
  CHECK(d.jitter_ms == 20);
  CHECK(f->probability == 0.5);
  CHECK(f->win.after_s == 10);
  CHECK(f->win.for_s == 60);
  CHECK(f->needs_body());
  auto again = faults::parse_fault(faults::to_json(*f));
  REQUIRE(again);
  CHECK(faults::to_json(*again) == faults::to_json(*f));
}

TEST_CASE("parse: every action and its defaults", "[faults][parse]") {
  struct row {
    char const* action;
    char const* kind;
    char const* canonical;
  };
  row rows[] = {
      {R"({"delay": {"ms": 5}})", "delay", R"({"delay":{"ms":5,"jitter_ms":0}})"},
      {R"({"blackout": {}})", "blackout", R"({"blackout":{"status":503}})"},
      {R"({"blackout": {"status": 500}})", "blackout", R"({"blackout":{"status":500}})"},
      {R"({"blackout": {"mode": "reset"}})", "blackout", R"({"blackout":{"mode":"reset"}})"},
      {R"({"blackout": {"mode": "hang"}})", "blackout", R"({"blackout":{"mode":"hang"}})"},
      {R"({"duplicate": {}})", "duplicate", R"({"duplicate":{"copies":2,"spacing_ms":0}})"},
      {R"({"duplicate": {"copies": 3, "spacing_ms": 10}})", "duplicate", R"({"duplicate":{"copies":3,"spacing_ms":10}})"},
      {R"({"mutate": {"path": "amount", "multiply": 10}})", "mutate", R"({"mutate":{"path":"amount","multiply":1E1}})"},
      {R"({"mutate": {"path": "amount", "set": 1e9}})", "mutate", R"({"mutate":{"path":"amount","set":1E9}})"},
      {R"({"drop_response": {}})", "drop_response", R"({"drop_response":{"status":504}})"},
      {R"({"drop_response": {"mode": "reset"}})", "drop_response", R"({"drop_response":{"mode":"reset"}})"},
  };
  for (auto const& r : rows) {
    INFO(r.action);
    auto f = parse(std::string(R"({"name":"f","route":"credits","action":)") + r.action + "}");
    REQUIRE(f);
    CHECK(faults::kind_of(f->act) == r.kind);
    CHECK(faults::to_json(f->act) == json::parse(r.canonical));
    CHECK(f->probability == 1.0);
  }
}

TEST_CASE("parse: clear errors name the field", "[faults][parse]") {
  struct row {
    char const* text;
    char const* where;
    char const* what_has;
  };
  row rows[] = {
      {R"({"route":"c","action":{"delay":{"ms":1}}})", "name", "required"},
      {R"({"name":"a b","route":"c","action":{"delay":{"ms":1}}})", "name", "[A-Za-z0-9._-]"},
      {R"({"name":"f","action":{"delay":{"ms":1}}})", "route", "required"},
      {R"({"name":"f","route":"c"})", "action", "required"},
      {R"({"name":"f","route":"c","action":{"explode":{}}})", "action.explode", "unknown action"},
      {R"({"name":"f","route":"c","action":{"delay":{},"blackout":{}}})", "action", "exactly one"},
      {R"({"name":"f","route":"c","action":{"delay":{}}})", "action.delay.ms", "required"},
      {R"({"name":"f","route":"c","action":{"delay":{"ms":-1}}})", "action.delay.ms", "between"},
      {R"({"name":"f","route":"c","action":{"delay":{"ms":"slow"}}})", "action.delay.ms", "number"},
      {R"({"name":"f","route":"c","action":{"blackout":{"mode":"explode"}}})", "action.blackout.mode", "reset"},
      {R"({"name":"f","route":"c","action":{"drop_response":{"mode":"hang"}}})", "action.drop_response.mode", "reset"},
      {R"({"name":"f","route":"c","action":{"duplicate":{"copies":1}}})", "action.duplicate.copies", "between"},
      {R"({"name":"f","route":"c","action":{"mutate":{"multiply":2}}})", "action.mutate.path", "required"},
      {R"({"name":"f","route":"c","action":{"mutate":{"path":"a"}}})", "action.mutate", "multiply or set"},
      {R"({"name":"f","route":"c","action":{"delay":{"ms":1}},"probability":1.5})", "probability", "between"},
      {R"({"name":"f","route":"c","action":{"delay":{"ms":1}},"probabilty":0.5})", "probabilty", "unknown key"},
      {R"({"name":"f","route":"c","action":{"delay":{"ms":1}},"match":{"path":"api"}})", "match.path", "start with"},
      {R"({"name":"f","route":"c","action":{"delay":{"ms":1}},"match":{"json":{"path":"a"}}})", "match.json", "needs a test"},
      {R"({"name":"f","route":"c","action":{"delay":{"ms":1}},"match":{"json":{"path":"a","gt":"x"}}})", "match.json.gt", "number"},
      {R"({"name":"f","route":"c","action":{"delay":{"ms":1}},"window":{"first_n":0}})", "window.first_n", "between"},
      {R"({"name":"f","route":"c","action":{"delay":{"ms":1}},"window":{"until":3}})", "window.until", "unknown key"},
      {R"([1,2])", "fault", "object"},
  };
  for (auto const& r : rows) {
    INFO(r.text);
    auto f = parse(r.text);
    REQUIRE_FALSE(f);
    CHECK(f.error().where == r.where);
    CHECK_THAT(f.error().what, Catch::Contains(r.what_has));
  }
}

TEST_CASE("parse: merge_patch changes only what the patch names", "[faults][parse]") {
  auto base = json::parse(R"({"name":"f","route":"credits","action":{"delay":{"ms":5,"jitter_ms":1}},"probability":1,
                             "match":{"method":"POST","path":"/a"}})");
  auto merged = faults::merge_patch(base, json::parse(R"({"probability":0.25,"match":{"path":"/b"},"action":{"blackout":{}}})"));
  auto f = faults::parse_fault(merged);
  REQUIRE(f);
  CHECK(f->probability == 0.25);
  CHECK(f->when.method == "POST");
  CHECK(f->when.path == "/b");
  CHECK(std::holds_alternative<faults::blackout>(f->act));
}
