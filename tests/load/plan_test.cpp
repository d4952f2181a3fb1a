#include "load/load.hpp"
#include "scenarios/scenarios.hpp"
#include "tests/support/catch.hpp"

#include <boost/json.hpp>
#include <set>

using namespace stormgate;

namespace {

config::target_profile profile(char const* name) { return config::load_target(name).value(); }

// The whole plan as text: op ids, f, processes, values, params, faults, in plan order.
std::string dump(load::scenario_plan const& p) {
  std::string out = p.scenario + "|" + p.skip + "|" + p.note + "\n";
  for (auto const& ph : p.phases) {
    out += "phase " + std::to_string(ph.kind) + " " + ph.label + " " + ph.fault_name + " " +
           boost::json::serialize(ph.fault) + "\n";
    for (auto const& lane : ph.lanes)
      for (auto const& o : lane) {
        out += o.op + " " + o.f + " p" + std::to_string(o.process) + " " + boost::json::serialize(o.value);
        for (auto const& [k, v] : o.params) out += " " + k + "=" + v;
        out += " a" + std::to_string(o.max_attempts) + " d" + std::to_string(o.duplicates) + "\n";
      }
  }
  return out;
}

std::vector<load::planned_op> ops_of(load::scenario_plan const& p) {
  std::vector<load::planned_op> out;
  for (auto const& ph : p.phases)
    for (auto const& lane : ph.lanes)
      for (auto const& o : lane) out.push_back(o);
  return out;
}

}  // namespace

TEST_CASE("the same seed gives the same plan, another seed another one", "[load][plan]") {
  auto ref = profile("reference");
  for (auto const& s : scenarios::ids()) {
    load::plan_params p;
    p.has_admin = true;
    p.seed = 42;
    auto a = dump(scenarios::plan(s, ref, p));
    auto b = dump(scenarios::plan(s, ref, p));
    INFO(s);
    CHECK(a == b);
    p.seed = 43;
    CHECK(dump(scenarios::plan(s, ref, p)) != a);
  }
  load::plan_params p;
  for (std::uint64_t i : {0u, 1u, 999u}) {
    auto x = load::soak_op(i, ref, p, "default");
    auto y = load::soak_op(i, ref, p, "default");
    CHECK(x.op == y.op);
    CHECK(boost::json::serialize(x.value) == boost::json::serialize(y.value));
    CHECK(load::soak_op(i, ref, p, "read").f == "balance");
  }
}

TEST_CASE("credit_storm follows the playbook: 10 agents x 1000, workers x 20 consumes, retry injection", "[load][plan]") {
  auto ref = profile("reference");
  load::plan_params p;
  p.has_admin = true;
  p.concurrency = 50;
  auto plan = scenarios::plan("credit_storm", ref, p);
  REQUIRE(plan.skip.empty());
  auto ops = ops_of(plan);
  std::set<std::string> ids, agents;
  int creates = 0, adds = 0, consumes = 0, dups = 0;
  double demand = 0;
  for (auto const& o : ops) {
    CHECK(ids.insert(o.op).second);
    CHECK(o.op.rfind("credit_storm-", 0) == 0);
    if (o.f == "create") ++creates, agents.insert(std::string(o.value.at("agent_id").as_string()));
    if (o.f == "add") {
      ++adds;
      CHECK(o.value.at("amount").as_double() == Approx(900.0));  // skill 1.0 x 100, topped up to 1000
    }
    if (o.f == "consume") {
      ++consumes;
      CHECK(o.max_attempts == 3);
      dups += o.duplicates;
      double a = o.value.at("amount").as_double();
      CHECK(a >= 1.0);
      CHECK(a <= 29.0);  // mean 15: 1.5 x 10 agents x 1000 credits over 50 x 20 consumes
      demand += a;
    }
  }
  CHECK(creates == 10);
  CHECK(adds == 10);
  CHECK(agents.size() == 10);
  CHECK(consumes == 50 * 20);
  // the storm overdraws the agents (about 1.5x their 10 000 credits), so the funds check is exercised
  CHECK(demand > 13000);
  CHECK(demand < 17000);
  CHECK(dups > 10);
  CHECK(dups < 150);
  CHECK(ops.front().op == "credit_storm-000000");
  bool set = false, cleared = false;
  for (auto const& ph : plan.phases) {
    if (ph.kind == load::phase::set_fault) {
      set = true;
      CHECK(ph.fault.at("action").as_object().contains("drop_response"));
      CHECK(ph.fault.at("probability").as_double() == Approx(0.1));
      CHECK(ph.fault.at("match").at("path").as_string() == "/api/credits/consume");
    }
    if (ph.kind == load::phase::clear_fault) cleared = true;
  }
  CHECK(set);
  CHECK(cleared);
  CHECK(ops.back().f == "balances");

  p.has_admin = false;
  auto bare = scenarios::plan("credit_storm", ref, p);
  CHECK_FALSE(bare.note.empty());
  for (auto const& ph : bare.phases) CHECK(ph.kind == load::phase::ops);
}

TEST_CASE("shards get prefixed op ids and disjoint agents", "[load][plan]") {
  auto ref = profile("reference");
  load::plan_params p1, p2;
  p1.part = load::parse_shard("1/2").value();
  p2.part = load::parse_shard("2/2").value();
  std::set<std::string> agents1, ids1;
  for (auto const& o : ops_of(scenarios::plan("credit_storm", ref, p1))) {
    CHECK(o.op.rfind("s1of2-credit_storm-", 0) == 0);
    ids1.insert(o.op);
    if (o.value.contains("agent_id")) agents1.insert(std::string(o.value.at("agent_id").as_string()));
  }
  for (auto const& o : ops_of(scenarios::plan("credit_storm", ref, p2))) {
    CHECK(ids1.count(o.op) == 0);
    if (o.value.contains("agent_id")) CHECK(agents1.count(std::string(o.value.at("agent_id").as_string())) == 0);
  }
  CHECK_FALSE(load::parse_shard("3/2"));
  CHECK_FALSE(load::parse_shard("x"));
  CHECK_FALSE(load::parse_shard("0/1"));
}

TEST_CASE("scenarios a target cannot run are SKIP with a reason", "[load][plan]") {
  auto brain = profile("brain");
  auto ref = profile("reference");
  load::plan_params p;
  p.has_admin = true;
  struct row {
    config::target_profile const* prof;
    char const* scenario;
    bool admin, restart, skipped;
  };
  row rows[] = {
      {&brain, "credit_storm", true, false, false},   {&brain, "synergy_anti_gaming", true, false, true},
      {&brain, "approval_race", true, false, true},   {&brain, "karma_blackout", true, false, true},
      {&brain, "ml_chaos", true, false, true},        {&brain, "crash_replay", true, false, true},
      {&brain, "crash_replay", true, true, false},    {&ref, "karma_blackout", false, false, true},
      {&ref, "ml_chaos", false, false, true},         {&ref, "crash_replay", false, false, false},
      {&ref, "approval_race", false, false, false},   {&ref, "synergy_anti_gaming", false, false, false},
  };
  for (auto const& r : rows) {
    p.has_admin = r.admin;
    p.can_restart = r.restart;
    auto plan = scenarios::plan(r.scenario, *r.prof, p);
    INFO(r.prof->name << " " << r.scenario << " skip: " << plan.skip);
    CHECK(plan.skip.empty() == !r.skipped);
    if (r.skipped) CHECK(plan.phases.empty());
  }
}

TEST_CASE("the other scenarios have the playbook's shape", "[load][plan]") {
  auto ref = profile("reference");
  load::plan_params p;
  p.has_admin = true;
  auto count = [](load::scenario_plan const& plan, char const* f) {
    int n = 0;
    for (auto const& o : ops_of(plan)) n += o.f == f;
    return n;
  };
  auto syn = scenarios::plan("synergy_anti_gaming", ref, p);
  CHECK(count(syn, "synergy") == 500);
  CHECK(count(syn, "create") == 5);
  for (auto const& o : ops_of(syn))
    if (o.f == "synergy") CHECK(o.value.at("team_id").as_string() == "Alpha");
  auto race = scenarios::plan("approval_race", ref, p);
  CHECK(count(race, "request_approval") == 1);
  CHECK(count(race, "approve") + count(race, "deny") == 10);
  for (auto const& o : ops_of(race))
    if (o.f == "approve" || o.f == "deny") CHECK(o.params.at("id") == "$approval_id");
  auto karma = scenarios::plan("karma_blackout", ref, p);
  CHECK(count(karma, "consume") == 50);
  auto crash = scenarios::plan("crash_replay", ref, p);
  CHECK(count(crash, "consume") + count(crash, "refund") + count(crash, "add") == 100 + 5);
  CHECK(count(crash, "state") == 2);
  CHECK(count(crash, "replay") == 1);
  p.can_restart = true;
  CHECK(count(scenarios::plan("crash_replay", ref, p), "restart") == 1);
  auto ml = scenarios::plan("ml_chaos", ref, p);
  bool mutate = false;
  for (auto const& ph : ml.phases)
    if (ph.kind == load::phase::set_fault)
      mutate = ph.fault.at("action").at("mutate").at("multiply").as_int64() == 10;
  CHECK(mutate);
}

TEST_CASE("credit_storm overdraws the agents at any concurrency", "[load][plan]") {
  auto ref = profile("reference");
  for (int concurrency : {1, 8, 20, 300}) {
    load::plan_params p;
    p.has_admin = true;
    p.concurrency = concurrency;
    double demand = 0;
    for (auto const& o : ops_of(scenarios::plan("credit_storm", ref, p)))
      if (o.f == "consume") demand += o.value.at("amount").as_double();
    INFO("concurrency " << concurrency);
    CHECK(demand > 1.2 * 10000);
    CHECK(demand < 1.8 * 10000 + concurrency * 20 * 1.0);  // at 300 workers the amounts bottom out at 1..2
  }
}
