#include "config/config.hpp"

#include "tests/support/catch.hpp"

using namespace stormgate;

TEST_CASE("embedded profiles load and differ where BRAiN lacks features", "[config][target]") {
  auto ref = config::load_target("reference");
  REQUIRE(ref);
  CHECK(ref->name == "reference");
  CHECK(ref->idempotency_header == "Idempotency-Key");
  CHECK_FALSE(ref->skip_reason("approval_race"));
  auto brain = config::load_target("brain");
  REQUIRE(brain);
  CHECK(brain->idempotency_header.empty());
  CHECK(brain->auth_header == "Authorization");
  CHECK(brain->skip_reason("approval_race"));
  CHECK(brain->skip_reason("synergy_anti_gaming"));
  CHECK_FALSE(brain->skip_reason("credit_storm"));
  CHECK_FALSE(brain->has("approve"));
}

TEST_CASE("classify maps an exchange onto the profile's ops", "[config][target]") {
  auto p = config::load_target("reference").value();
  auto m = config::classify(p, "GET", "/api/credits/balance/agent-7?x=1");
  REQUIRE(m);
  CHECK(m->op == "balance");
  CHECK(m->params.at("agent_id") == "agent-7");
  auto a = config::classify(p, "POST", "/api/credits/approvals/ap1/deny");
  REQUIRE(a);
  CHECK(a->op == "deny");
  CHECK(a->params.at("id") == "ap1");
  CHECK(config::classify(p, "POST", "/api/credits/consume")->op == "consume");
  CHECK(config::classify(p, "POST", "/gw/api/credits/consume")->op == "consume");
  CHECK_FALSE(config::classify(p, "GET", "/api/credits/consume"));
  CHECK_FALSE(config::classify(p, "GET", "/api/credits/balance/"));
  CHECK(config::expand(p.ops.at("approve"), {{"id", "a9"}}) == "/api/credits/approvals/a9/approve");
}

TEST_CASE("a bad profile names file, line and key", "[config][target]") {
  auto r = config::parse_target("name = \"x\"\n[ops]\nconsume = 5\n", "t.toml");
  REQUIRE_FALSE(r);
  CHECK(r.error().where == "t.toml:3:11 ops.consume");
  auto r2 = config::parse_target("name = \"x\"\n[opz]\n", "t.toml");
  REQUIRE_FALSE(r2);
  CHECK(r2.error().where.find("opz") != std::string::npos);
  auto r3 = config::parse_target("name = \n", "t.toml");
  REQUIRE_FALSE(r3);
  CHECK(r3.error().where.rfind("t.toml:1:", 0) == 0);
  auto r4 = config::load_target("/nonexistent/x.toml");
  REQUIRE_FALSE(r4);
  CHECK(r4.error().where == "--target");
}
