#include "faults/faults.hpp"

#include "tests/support/catch.hpp"

#include <boost/json.hpp>

using namespace stormgate;
namespace json = boost::json;

namespace {

struct fixture {
  std::vector<faults::live_fault> lfs;
  json::value body = json::parse(R"({"agent_id":"a1","amount":12.5})");
  faults::request_view r;
  fixture(std::vector<std::string> const& texts) {
    for (auto const& t : texts) {
      auto f = faults::parse_fault(json::parse(t));
      REQUIRE(f);
      lfs.push_back({std::move(*f), std::make_shared<faults::fault_state>()});
    }
    r.route = "credits";
    r.method = "POST";
    r.target = "/api/credits/consume";
    r.body = &body;
    r.body_present = true;
    r.key = "credit_storm-000017";
  }
  faults::effect plan() {
    std::vector<faults::live_fault const*> hits;
    for (auto const& lf : lfs) hits.push_back(&lf);
    return faults::plan(hits, r, faults::draw{42, r.key});
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

TEST_CASE("plan: delay - with a seeded jitter that stays within bounds", "[faults][delay]") {
  fixture fx({R"({"name":"slow","route":"credits","action":{"delay":{"ms":200,"jitter_ms":20}}})"});
  auto e = fx.plan();
  CHECK(e.delay_ms >= 180);
  CHECK(e.delay_ms <= 220);
  CHECK(e.before == faults::answer::upstream);
  CHECK(e.applied == json::parse(R"([{"kind":"delay","rule":"slow","ms":)" + std::to_string(e.delay_ms) + "}]"));
  CHECK(fx.plan().delay_ms == e.delay_ms);  // same key, same draw
}

TEST_CASE("plan: blackout answers without the upstream - and ends the plan", "[faults][blackout]") {
  fixture fx({R"({"name":"d","route":"credits","action":{"delay":{"ms":5}}})",
              R"({"name":"down","route":"credits","action":{"blackout":{"status":503}}})",
              R"({"name":"m","route":"credits","action":{"mutate":{"path":"amount","multiply":10}}})"});
  auto e = fx.plan();
  CHECK(e.before == faults::answer::status);
  CHECK(e.before_status == 503);
  CHECK(e.delay_ms == 5);
  CHECK_FALSE(e.body);
  CHECK(e.applied == json::parse(R"([{"kind":"delay","rule":"d","ms":5},{"kind":"blackout","rule":"down","status":503}])"));
  fixture reset({R"({"name":"r","route":"credits","action":{"blackout":{"mode":"reset"}}})"});
  CHECK(reset.plan().before == faults::answer::reset);
  CHECK(reset.plan().applied == json::parse(R"([{"kind":"blackout","rule":"r","mode":"reset"}])"));
  fixture hang({R"({"name":"h","route":"credits","action":{"blackout":{"mode":"hang"}}})"});
  CHECK(hang.plan().before == faults::answer::hang);
}

TEST_CASE("plan: duplicate sends the request upstream `copies` times", "[faults][duplicate]") {
  fixture fx({R"({"name":"dup","route":"credits","action":{"duplicate":{"copies":3,"spacing_ms":7}}})"});
  auto e = fx.plan();
  CHECK(e.copies == 3);
  CHECK(e.spacing_ms == 7);
  CHECK(e.before == faults::answer::upstream);
  CHECK(e.after == faults::answer::upstream);
  CHECK(e.applied == json::parse(R"([{"kind":"duplicate","rule":"dup","copies":3}])"));
}

TEST_CASE("plan: mutate multiplies or sets a JSON field - a body that is not JSON passes untouched", "[faults][mutate]") {
  fixture fx({R"({"name":"x10","route":"credits","action":{"mutate":{"path":"amount","multiply":10}}})"});
  auto e = fx.plan();
  REQUIRE(e.body);
  CHECK(json::parse(*e.body) == json::parse(R"({"agent_id":"a1","amount":125.0})"));
  CHECK(e.applied == json::parse(R"([{"kind":"mutate","rule":"x10","path":"amount","original":12.5,"value":125.0}])"));

  fixture set({R"({"name":"big","route":"credits","action":{"mutate":{"path":"amount","set":1e9}}})"});
  auto s = set.plan();
  REQUIRE(s.body);
  CHECK(json::parse(*s.body).at("amount") == json::value(1e9));

  fixture text({R"({"name":"x10","route":"credits","action":{"mutate":{"path":"amount","multiply":10}}})"});
  text.r.body = nullptr;
  auto t = text.plan();
  CHECK_FALSE(t.body);
  CHECK(t.applied == json::parse(R"([{"kind":"mutate","rule":"x10","path":"amount","applied":false,"why":"body is not JSON"}])"));

  fixture missing({R"({"name":"m","route":"credits","action":{"mutate":{"path":"nope","multiply":10}}})"});
  auto m = missing.plan();
  CHECK_FALSE(m.body);
  CHECK(m.applied.at(0).at("why") == "path not found");
}

TEST_CASE("plan: a mutate never sends upstream a body that is not JSON", "[faults][mutate]") {
  // found by tests/fuzz (mutate): 1e300 x 1e300 was sent as {"amount":Infinity}
  fixture big({R"({"name":"x","route":"credits","action":{"mutate":{"path":"amount","multiply":1e300}}})"});
  big.body = json::parse(R"({"agent_id":"a1","amount":1e300})");
  auto e = big.plan();
  CHECK_FALSE(e.body);
  CHECK(e.applied.at(0).at("why") == "the product is not a finite number");
  // a number beyond a double elsewhere in the body (1e400 reads as an infinity): untouched too
  fixture other({R"({"name":"x10","route":"credits","action":{"mutate":{"path":"amount","multiply":10}}})"});
  other.body = json::parse(R"({"agent_id":"a1","amount":2,"score":1e400})");
  auto o = other.plan();
  CHECK_FALSE(o.body);
  CHECK(o.applied.at(0).at("why") == "body holds a number beyond a double's range");
  // and a set of such a number is refused when the fault is read
  auto bad = faults::parse_fault(json::parse(R"({"name":"s","route":"credits","action":{"mutate":{"path":"amount","set":[1e400]}}})"));
  REQUIRE_FALSE(bad);
  CHECK(bad.error().where == "action.mutate.set");
}

TEST_CASE("plan: drop_response lets the upstream answer and fails the client", "[faults][drop_response]") {
  fixture fx({R"({"name":"lost","route":"credits","action":{"drop_response":{}}})"});
  auto e = fx.plan();
  CHECK(e.before == faults::answer::upstream);
  CHECK(e.after == faults::answer::status);
  CHECK(e.after_status == 504);
  CHECK(e.abort_rule == "lost");
  CHECK(e.applied == json::parse(R"([{"kind":"drop_response","rule":"lost","status":504}])"));
  fixture reset({R"({"name":"lost","route":"credits","action":{"drop_response":{"mode":"reset"}}})"});
  CHECK(reset.plan().after == faults::answer::reset);
}

TEST_CASE("plan: hits follow their kind's phase - delays, mutate, duplicate, drop_response, whatever the hit order",
          "[faults][kinds]") {
  fixture fx({R"({"name":"drop","route":"credits","action":{"drop_response":{"mode":"reset"}}})",
              R"({"name":"dup","route":"credits","action":{"duplicate":{"copies":3,"spacing_ms":5}}})",
              R"({"name":"x10","route":"credits","action":{"mutate":{"path":"amount","multiply":10}}})",
              R"({"name":"slow","route":"credits","action":{"delay":{"ms":40}}})",
              R"({"name":"dup2","route":"credits","action":{"duplicate":{"copies":2,"spacing_ms":9}}})",
              R"({"name":"slower","route":"credits","action":{"delay":{"ms":60}}})",
              R"({"name":"drop2","route":"credits","action":{"drop_response":{"status":500}}})"});
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

TEST_CASE("plan: a blackout ends the plan after the delays - only the first blackout counts", "[faults][kinds]") {
  fixture fx({R"({"name":"x10","route":"credits","action":{"mutate":{"path":"amount","multiply":10}}})",
              R"({"name":"dark","route":"credits","action":{"blackout":{"status":500}}})",
              R"({"name":"slow","route":"credits","action":{"delay":{"ms":40}}})",
              R"({"name":"dark2","route":"credits","action":{"blackout":{"mode":"reset"}}})",
              R"({"name":"drop","route":"credits","action":{"drop_response":{}}})"});
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
