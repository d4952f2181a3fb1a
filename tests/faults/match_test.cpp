#include "faults/faults.hpp"

#include "tests/support/catch.hpp"

#include <boost/json.hpp>
#include <map>

using namespace stormgate;
namespace json = boost::json;

TEST_CASE("match: path globs", "[faults][match]") {
  struct row {
    char const* pattern;
    char const* path;
    bool hit;
  };
  row rows[] = {
      {"/api/credits/consume", "/api/credits/consume", true},
      {"/api/credits/consume", "/api/credits/consumed", false},
      {"/api/credits/*", "/api/credits/consume", true},
      {"/api/credits/*", "/api/credits/balance/a1", false},
      {"/api/credits/**", "/api/credits/balance/a1", true},
      {"/api/credits/balance/*", "/api/credits/balance/a1", true},
      {"/api/*/balance/*", "/api/credits/balance/a1", true},
      {"/api/credits/approvals/*/approve", "/api/credits/approvals/ap1/approve", true},
      {"/api/credits/approvals/*/approve", "/api/credits/approvals/ap1/deny", false},
      {"/score", "/score", true},
      {"/sc?re", "/score", true},
      {"/sc?re", "/scoore", false},
      {"/**", "/anything/at/all", true},
      {"*", "/x", false},
  };
  for (auto const& r : rows) {
    INFO(r.pattern << " vs " << r.path);
    CHECK(faults::glob_match(r.pattern, r.path) == r.hit);
  }
}

TEST_CASE("match: method - path (query ignored) - header and JSON predicate", "[faults][match]") {
  std::map<std::string, std::string> headers{{"x-tenant", "a"}, {"x-stormgate-op", "op-1"}};
  auto body = json::parse(R"({"agent_id":"a1","amount":150,"meta":{"kind":"storm"}})");
  faults::request_view r;
  r.route = "credits";
  r.method = "POST";
  r.target = "/api/credits/consume?x=1";
  r.header = [&](std::string_view n) -> std::string_view {
    auto it = headers.find(std::string(n));
    return it == headers.end() ? std::string_view{} : std::string_view(it->second);
  };
  r.body = &body;
  r.body_present = true;
  struct row {
    char const* match;
    bool hit;
  };
  row rows[] = {
      {R"({})", true},
      {R"({"method":"POST"})", true},
      {R"({"method":"get"})", false},
      {R"({"path":"/api/credits/consume"})", true},
      {R"({"path":"/api/credits/refund"})", false},
      {R"({"header":{"x-tenant":"a"}})", true},
      {R"({"header":{"X-Tenant":"b"}})", false},
      {R"({"header":{"x-tenant":"*"}})", true},
      {R"({"header":{"x-missing":"*"}})", false},
      {R"({"json":{"path":"amount","gt":100}})", true},
      {R"({"json":{"path":"amount","gt":150}})", false},
      {R"({"json":{"path":"amount","ge":150,"le":150}})", true},
      {R"({"json":{"path":"amount","lt":100}})", false},
      {R"({"json":{"path":"agent_id","eq":"a1"}})", true},
      {R"({"json":{"path":"agent_id","ne":"a1"}})", false},
      {R"({"json":{"path":"meta.kind","eq":"storm"}})", true},
      {R"({"json":{"path":"reason","exists":false}})", true},
      {R"({"json":{"path":"reason","exists":true}})", false},
      {R"({"method":"POST","path":"/api/credits/*","header":{"x-tenant":"a"},"json":{"path":"amount","gt":100}})", true},
  };
  for (auto const& row : rows) {
    INFO(row.match);
    auto f = faults::parse_fault(json::parse(std::string(R"({"name":"f","route":"credits","action":{"delay":{"ms":1}},"match":)") +
                                             row.match + "}"));
    REQUIRE(f);
    CHECK(faults::matches(f->when, r) == row.hit);
  }
  SECTION("a JSON predicate never matches a request without a JSON body") {
    r.body = nullptr;
    auto f = faults::parse_fault(json::parse(R"({"name":"f","route":"c","action":{"delay":{"ms":1}},"match":{"json":{"path":"amount","gt":1}}})"));
    REQUIRE(f);
    CHECK_FALSE(faults::matches(f->when, r));
  }
}
