#include "backend/detail/json_out.hpp"
#include "backend/detail/projection.hpp"
#include "core/jsonl.hpp"
#include "tests/support/catch.hpp"

#include <vector>

using namespace stormgate::backend::detail;
namespace json = boost::json;

namespace {

json::object ev(std::string_view line) {
  std::string err;
  auto v = stormgate::core::parse_json(line, err);
  REQUIRE(v);
  return v->as_object();
}

projection fold(std::vector<std::string_view> const& lines) {
  projection p;
  for (auto l : lines) apply(p, ev(l));
  return p;
}

constexpr std::string_view created =
    R"J({"event_id":"e1","event_type":"credit.allocated","timestamp":"2026-11-24T00:00:00.000001+00:00","actor_id":"system","correlation_id":"a1","causation_id":null,"payload":{"entity_id":"a1","entity_type":"agent","amount":50.0,"reason":"Agent creation (skill_level=0.5)","balance_after":50.0,"skill_level":0.5},"schema_version":1,"idempotency_key":"k1"})J";
constexpr std::string_view consumed =
    R"J({"event_id":"e2","event_type":"credit.consumed","timestamp":"2026-11-24T00:00:00.000002+00:00","actor_id":"system","correlation_id":"m1","causation_id":null,"payload":{"entity_id":"a1","entity_type":"agent","amount":20.0,"reason":"r","balance_after":30.0,"mission_id":"m1"},"schema_version":1,"idempotency_key":"k2"})J";
constexpr std::string_view refunded =
    R"J({"event_id":"e3","event_type":"credit.refunded","timestamp":"2026-11-24T00:00:00.000003+00:00","actor_id":"system","correlation_id":"a1","causation_id":null,"payload":{"entity_id":"a1","entity_type":"agent","amount":5.0,"reason":"r","balance_after":35.0},"schema_version":1,"idempotency_key":"k3"})J";
constexpr std::string_view requested =
    R"J({"event_id":"e4","event_type":"approval.requested","timestamp":"t","actor_id":"u","correlation_id":"A1","causation_id":null,"payload":{"request_id":"A1","action_type":"credit_spend","action_context":{"agent_id":"a1","amount":500.0,"reason":"big"},"requester_id":"u","risk_level":"MEDIUM","version":1},"schema_version":1,"idempotency_key":"k4"})J";
constexpr std::string_view approved =
    R"J({"event_id":"e5","event_type":"approval.approved","timestamp":"t2","actor_id":"boss","correlation_id":"A1","causation_id":null,"payload":{"request_id":"A1","approver_id":"boss","justification":"","action_type":"credit_spend","version":2},"schema_version":1,"idempotency_key":"k5"})J";
constexpr std::string_view synergy =
    R"J({"event_id":"e6","event_type":"synergie.collaboration_recorded","timestamp":"t3","actor_id":"system","correlation_id":"c1","causation_id":null,"payload":{"collaboration_id":"c1","team_id":"alpha","entity_id":"a1","entity_type":"agent","requested":40.0,"amount":40.0,"capped":false,"synergy_total":40.0,"reason":"synergy c1","balance_after":75.0},"schema_version":1,"idempotency_key":"k6"})J";

}  // namespace

TEST_CASE("apply: the balance is the last balance_after, history is signed and newest first", "[backend][projection]") {
  auto p = fold({created, consumed, refunded});
  REQUIRE(p.agents.size() == 1);
  auto const& a = p.agents.at("a1");
  CHECK(a.balance == 35.0);
  CHECK(a.consumed_count == 1);
  CHECK(a.consumed_sum == 20.0);
  REQUIRE(a.history.size() == 3);
  CHECK(a.history[0].event_id == "e3");
  CHECK(a.history[0].amount == 5.0);
  CHECK(a.history[1].amount == -20.0);
  CHECK(a.history[1].mission_id == "m1");
  CHECK(a.history[2].amount == 50.0);
  CHECK(p.events == 3);
  CHECK(p.events_by_type.at("credit.consumed") == 1);
}

TEST_CASE("apply: approvals and synergy", "[backend][projection]") {
  auto p = fold({created, requested, approved, synergy});
  auto const& s = p.approvals.at("A1");
  CHECK(s.status == "approved");
  CHECK(s.version == 2);
  CHECK(s.decided_by == "boss");
  CHECK(s.agent_id == "a1");
  CHECK(s.amount == 500.0);
  CHECK(p.agents.at("a1").synergy_total == 40.0);
  CHECK(p.agents.at("a1").balance == 75.0);
}

TEST_CASE("apply: events lacking their fields are counted and ignored", "[backend][projection]") {
  auto p = fold({R"({"event_type":"credit.consumed","payload":{"amount":3.0}})",
                 R"({"event_type":"approval.approved","payload":{"request_id":"nope"}})",
                 R"({"event_type":"credit.allocated"})"});
  CHECK(p.agents.empty());
  CHECK(p.approvals.empty());
  CHECK(p.ignored == 3);
  CHECK(p.events == 3);
}

TEST_CASE("signed_amount by event type", "[backend][projection]") {
  struct row {
    std::string_view type;
    double expected;
  };
  json::object payload{{"amount", 7.5}};
  for (auto r : std::vector<row>{{"credit.allocated", 7.5}, {"credit.consumed", -7.5}, {"credit.refunded", 7.5},
                                 {"credit.withdrawn", -7.5}, {"synergie.collaboration_recorded", 7.5},
                                 {"credit.anomaly_flagged", 0.0}, {"approval.requested", 0.0}}) {
    INFO(r.type);
    CHECK(signed_amount(r.type, payload) == r.expected);
  }
}

TEST_CASE("state digest: same events same digest, any change shows", "[backend][projection]") {
  auto d1 = state_digest(fold({created, consumed, refunded}));
  auto d2 = state_digest(fold({created, consumed, refunded}));
  CHECK(d1 == d2);
  CHECK(d1.size() == 64);
  CHECK(state_digest(fold({created, consumed})) != d1);           // a skipped refund changes it
  CHECK(state_digest(fold({created, consumed, refunded, requested})) != d1);
  auto snap = snapshot(fold({created, consumed, refunded}));
  CHECK(snap.at("state_digest").as_string() == d1);
  CHECK(snap.at("balances").at("a1").as_double() == 35.0);
  CHECK(snap.at("events").to_number<std::uint64_t>() == 3);
}

TEST_CASE("history keeps the newest 1000 entries per agent", "[backend][projection]") {
  projection p;
  for (int i = 0; i < 1005; ++i) {
    json::object e{{"event_id", "e" + std::to_string(i)},
                   {"event_type", "credit.allocated"},
                   {"payload", json::object{{"entity_id", "a"}, {"amount", 1.0}, {"balance_after", double(i + 1)}}}};
    apply(p, e);
  }
  auto const& a = p.agents.at("a");
  CHECK(a.history.size() == history_cap);
  CHECK(a.history.front().event_id == "e1004");
  CHECK(a.history[history_cap - 1].event_id == "e5");  // the oldest kept
  CHECK(a.history[1].balance_after == 1004.0);
  CHECK(a.entries == 1005);
}

TEST_CASE("py_float writes floats as Python does", "[backend][json]") {
  struct row {
    double d;
    std::string_view text;
  };
  for (auto r : std::vector<row>{{80.0, "80.0"}, {12.5, "12.5"}, {0.1, "0.1"}, {1e-05, "1e-05"}, {-3.0, "-3.0"}, {100000.0, "100000.0"}, {1e16, "1e+16"}, {0.0001, "0.0001"}, {123.456, "123.456"}, {0.0, "0.0"}}) {
    CHECK(py_float(r.d) == r.text);
  }
  CHECK(to_json(json::object{{"a", 1.0}, {"b", json::array{1, "x\n"}}, {"c", nullptr}}) ==
        R"({"a":1.0,"b":[1,"x\n"],"c":null})");
}
