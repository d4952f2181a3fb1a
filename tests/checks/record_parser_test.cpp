#include "checks/checks.hpp"
#include "checks/detail/folds.hpp"
#include "checks/detail/op_book.hpp"
#include "checks/detail/record_parser.hpp"
#include "tests/checks/context.hpp"
#include "core/jsonl.hpp"
#include "core/time.hpp"
#include "tests/support/catch.hpp"
#include "tests/support/process.hpp"
#include "tests/support/records.hpp"

#include <cmath>
#include <fstream>

using namespace stormgate;
using namespace stormgate::checks::detail;
namespace json = boost::json;

namespace {

// One parser over a fixed context, as run_check reads a file; the record holds views into `line`.
struct reader {
  std::string file = "t.jsonl";
  context ctx;
  record_parser parser;
  std::string line;
  record rec{};
  std::string err;
  explicit reader(context c = test::profile_context()) : ctx(std::move(c)), parser(ctx) {}
  bool parse(log_kind kind, std::string l) {
    line = std::move(l);
    err.clear();
    return parser.parse(kind, line, {&file, 7}, rec, err);
  }
  exchange const& x() {
    REQUIRE(rec.kind == record_kind::exchange);
    return *rec.x;
  }
};

std::int64_t us(char const* rfc3339) { return *core::parse_rfc3339_us(rfc3339); }

std::string const full_exchange =
    R"({"v":1,"kind":"exchange","id":"credits-17","route":"credits","conn":4,)"
    R"("ts":"2026-11-24T10:00:00.000001Z","ts_end":"2026-11-24T10:00:00.004120Z","method":"POST","target":"/api/credits/consume",)"
    R"("req":{"headers":{"x-stormgate-op":"credit_storm-000017","idempotency-key":"run:credit_storm-000017",)"
    R"("x-correlation-id":"credit_storm-42","x-causation-id":"ev-1"},"body":{"agent_id":"storm-03","amount":12.5,"reason":"storm","team_id":"alpha"}},)"
    R"("faults":[{"kind":"mutate","rule":"ml","path":"amount","original":12.5,"value":125,"applied":true},{"kind":"delay","rule":"slow","ms":20},"x"],)"
    R"("upstream":[{"n":1,"status":200,"latency_us":2100,"body":{"event_id":"e-17","balance_after":987.5,"balance":1000,"awarded":3,)"
    R"("requested":4,"synergy_total":9,"capped":false,"state_digest":"abc","approval_id":"ap-1","status":"pending","detail":"ok",)"
    R"("balances":{"a":1,"b":null},"metadata":{"ci":0.51,"karma":"ok","anomaly_detected":false,"anomaly_score":0.9}},)"
    R"("headers":{"idempotent-replayed":"true"}},{"n":2,"status":0,"error":"answer: timeout"}],)"
    R"("resp":{"status":504,"body":{"detail":"dropped"}},"latency_us":2400,"outcome":"fault_abort"})";

}  // namespace

// ---- traffic -----------------------------------------------------------------------------------

TEST_CASE("record_parser: every field of an exchange the gates read", "[checks][record_parser]") {
  reader r;
  REQUIRE(r.parse(log_kind::traffic, full_exchange));
  auto const& x = r.x();
  CHECK(r.rec.src.line == 7);
  CHECK(x.id == "credits-17");
  CHECK(x.route == "credits");
  CHECK(x.method == "POST");
  CHECK(x.target == "/api/credits/consume");
  CHECK(x.outcome == "fault_abort");
  CHECK(x.ts_us == us("2026-11-24T10:00:00.000001Z"));
  CHECK(x.ts_end_us == us("2026-11-24T10:00:00.004120Z"));
  CHECK(x.latency_us == 2400);
  CHECK(x.op_key == "credit_storm-000017");
  CHECK(x.op_hash == h64("credit_storm-000017"));
  CHECK(x.idem_key == "run:credit_storm-000017");
  CHECK(x.agent_id == "storm-03");
  CHECK(x.amount == 12.5);
  CHECK(x.f == "consume");
  REQUIRE(x.faults.size() == 2);  // the string in the list is not a fault
  CHECK(x.faults[0].kind == "mutate");
  CHECK(x.faults[0].path == "amount");
  CHECK(x.faults[0].value == 125.0);
  CHECK(x.faults[0].applied);
  CHECK(x.faults[1].kind == "delay");
  CHECK(x.faults[1].applied);  // absent: applied
  REQUIRE(x.upstream.size() == 2);
  auto const& a = x.upstream[0];
  CHECK(a.status == 200);
  CHECK(a.has_body);
  CHECK(a.replayed);
  CHECK(a.event_id == "e-17");
  CHECK(a.event_hash == h64("e-17"));
  CHECK(a.balance_after == 987.5);
  CHECK(a.balance == 1000.0);
  CHECK(a.awarded == 3.0);
  CHECK(a.requested == 4.0);
  CHECK(a.synergy_total == 9.0);
  CHECK(a.capped == false);
  CHECK(a.state_digest == "abc");
  CHECK(a.approval_id == "ap-1");
  CHECK(a.detail == "ok");
  CHECK(a.ci == 0.51);
  CHECK(a.karma == "ok");
  CHECK(a.anomaly_detected == false);
  REQUIRE(a.balances);
  REQUIRE(a.balances->size() == 2);
  CHECK((*a.balances)[0].agent == "a");
  CHECK((*a.balances)[0].value == 1.0);
  CHECK((*a.balances)[1].agent == "b");
  CHECK_FALSE((*a.balances)[1].value);
  auto const& b = x.upstream[1];
  CHECK(b.status == 0);
  CHECK(b.error == "answer: timeout");
  CHECK_FALSE(b.has_body);
  CHECK_FALSE(b.replayed);
}

TEST_CASE("record_parser: the op and agent fall back to the idempotency key and the path", "[checks][record_parser]") {
  reader r;
  REQUIRE(r.parse(log_kind::traffic, R"({"kind":"exchange","method":"GET","target":"/api/credits/balance/storm-07",)"
                                     R"("req":{"headers":{"idempotency-key":"k-1"}},"ts":"2026-11-24T10:00:01.5+01:00"})"));
  auto const& x = r.x();
  CHECK(x.f == "balance");
  CHECK(x.path_agent == "storm-07");
  CHECK(x.agent_id == "storm-07");
  CHECK(x.op_key == "k-1");
  CHECK(x.op_hash == h64("k-1"));
  CHECK(x.ts_us == us("2026-11-24T10:00:01.5+01:00"));
  CHECK(x.ts_end_us == x.ts_us);  // no ts_end
  CHECK(x.latency_us == -1);
  REQUIRE(r.parse(log_kind::traffic, R"({"kind":"exchange","method":"POST","target":"/api/credits/approvals/ap-9/deny"})"));
  CHECK(r.x().f == "deny");
  CHECK(r.x().path_id == "ap-9");
  CHECK(r.x().op_key.empty());
  CHECK(r.x().op_hash == 0);
}

TEST_CASE("record_parser: the op class of every target, however many targets a log holds", "[checks][record_parser]") {
  // more distinct targets than the class cache has slots, read twice: classes evicted from the
  // cache are classified again, and a slot never answers for another target
  reader r;
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 6000; ++i) {
      auto agent = "storm-" + std::to_string(i);
      REQUIRE(r.parse(log_kind::traffic, R"({"kind":"exchange","method":"GET","target":"/api/credits/balance/)" + agent + R"("})"));
      CHECK(r.x().f == "balance");
      CHECK(r.x().agent_id == agent);
      REQUIRE(r.parse(log_kind::traffic, R"({"kind":"exchange","method":"POST","target":"/api/credits/approvals/ap-)" +
                                             std::to_string(i) + R"(/approve"})"));
      CHECK(r.x().f == "approve");
      CHECK(r.x().path_id == "ap-" + std::to_string(i));
      REQUIRE(r.parse(log_kind::traffic, R"({"kind":"exchange","method":"DELETE","target":"/api/credits/balance/)" + agent + R"("})"));
      CHECK(r.x().f.empty());  // no op of the profile is a DELETE of a balance
      CHECK(r.x().path_agent.empty());
    }
  }
}

TEST_CASE("record_parser: time stamps of one second, and others, read as core reads them", "[checks][record_parser]") {
  reader r;
  // the same second in a row (read from the first), a bad one in the same second, another format
  for (auto ts : {"2026-11-24T10:00:00.000001Z", "2026-11-24T10:00:00.999999Z", "2026-11-24T10:00:00.12345xZ",
                  "2026-11-24T10:00:00.500000Z", "2026-11-24T10:00:00.5Z", "2026-11-24T10:00:00.500000+00:00",
                  "2026-11-24T23:59:60.000000Z", "2026-13-24T10:00:00.000000Z", "2026-11-24T10:00:00.000000z"}) {
    INFO(ts);
    REQUIRE(r.parse(log_kind::traffic, std::string(R"({"kind":"exchange","method":"GET","target":"/x","ts":")") + ts + "\"}"));
    CHECK(r.x().ts_us == core::parse_rfc3339_us(ts).value_or(0));
  }
}

TEST_CASE("record_parser: escaped strings and keys are read unescaped", "[checks][record_parser]") {
  reader r;
  REQUIRE(r.parse(log_kind::traffic,
                  R"({"kind":"exch\u0061nge","method":"POST","target":"\/api\/credits\/consume",)"
                  R"("req":{"headers":{"x-stormgate-op":"op \"1\"\\\u00e9\ud83d\ude00"},"body":{"\u0061gent_id":"a\tb","amount":1}},)"
                  R"("upstream":[{"status":200,"body":{"balances":{"\u0061":1,"b\"":2},"event_id":"e\n1"}}]})"));
  auto const& x = r.x();
  CHECK(x.f == "consume");
  CHECK(x.op_key == "op \"1\"\\\xC3\xA9\xF0\x9F\x98\x80");
  CHECK(x.agent_id == "a\tb");
  REQUIRE(x.upstream.size() == 1);
  CHECK(x.upstream[0].event_id == "e\n1");
  REQUIRE(x.upstream[0].balances);
  REQUIRE(x.upstream[0].balances->size() == 2);
  CHECK((*x.upstream[0].balances)[0].agent == "a");
  CHECK((*x.upstream[0].balances)[1].agent == "b\"");
  CHECK((*x.upstream[0].balances)[1].value == 2.0);
}

TEST_CASE("record_parser: numbers as ints, doubles, exponents and big ints, and other types", "[checks][record_parser]") {
  reader r;
  REQUIRE(r.parse(log_kind::traffic, R"({"kind":"exchange","method":"POST","target":"/api/credits/consume","latency_us":1.5E3,)"
                                     R"("req":{"body":{"amount":-0.25}},"upstream":[{"status":2E2,"body":{"balance_after":18446744073709551615,)"
                                     R"("balance":-9223372036854775808,"ci":"0.5","metadata":{"ci":5E-1,"anomaly_detected":"yes","karma":1}}},)"
                                     R"({"status":"200","body":[1,2]},{"status":404.9,"body":null,"headers":{"idempotent-replayed":true}}]})"));
  auto const& x = r.x();
  CHECK(x.latency_us == 1500);
  CHECK(x.amount == -0.25);
  REQUIRE(x.upstream.size() == 3);
  CHECK(x.upstream[0].status == 200);
  CHECK(x.upstream[0].balance_after == 18446744073709551615.0);
  CHECK(x.upstream[0].balance == -9223372036854775808.0);
  CHECK(x.upstream[0].ci == 0.5);  // from metadata; a "ci" beside it is not read
  CHECK_FALSE(x.upstream[0].anomaly_detected);
  CHECK(x.upstream[0].karma.empty());
  CHECK(x.upstream[1].status == 0);  // a string is not a status
  CHECK_FALSE(x.upstream[1].has_body);
  CHECK(x.upstream[2].status == 404);
  CHECK_FALSE(x.upstream[2].has_body);
  CHECK_FALSE(x.upstream[2].replayed);  // a bool is not "true"
}

TEST_CASE("record_parser: nested objects and arrays no gate reads are skipped", "[checks][record_parser]") {
  reader r;
  std::string deep = "1";
  for (int i = 0; i < 25; ++i) deep = (i % 2 ? "[" : "{\"k\":") + deep + (i % 2 ? "]" : "}");
  REQUIRE(r.parse(log_kind::traffic, R"({"kind":"exchange","junk":)" + deep + R"(,"method":"POST","target":"/api/credits/consume",)" +
                                     R"("req":{"body":{"agent_id":"a1","nested":{"agent_id":"no","amount":99},"amount":2}},)" +
                                     R"("upstream":[{"body":{"extra":{"event_id":"no","balance_after":1},"event_id":"yes"},"status":200,)" +
                                     R"("more":[{"status":500}]},[{"status":1}]],"id":"x-1"})"));
  auto const& x = r.x();
  CHECK(x.agent_id == "a1");
  CHECK(x.amount == 2.0);
  CHECK(x.id == "x-1");
  REQUIRE(x.upstream.size() == 1);  // an array in the list is not an answer
  CHECK(x.upstream[0].event_id == "yes");
  CHECK_FALSE(x.upstream[0].balance_after);
  CHECK(x.upstream[0].status == 200);
}

TEST_CASE("record_parser: the last of duplicate keys wins, as in a JSON object", "[checks][record_parser]") {
  reader r;
  REQUIRE(r.parse(log_kind::traffic, R"({"kind":"control","kind":"exchange","method":"GET","target":"/x","method":"POST",)"
                                     R"("target":"/api/credits/consume","upstream":[{"status":200}],)"
                                     R"("upstream":[{"status":500,"body":{"event_id":"e-1","metadata":{"ci":0.1}},"body":{"detail":"d"},)"
                                     R"("status":201}],"resp":{"status":200},"resp":"gone",)"
                                     R"("req":{"body":{"agent_id":"a1","amount":5},"body":7,"headers":{"x-stormgate-op":"o-1"}}})"));
  auto const& x = r.x();
  CHECK(x.f == "consume");
  REQUIRE(x.upstream.size() == 1);
  CHECK(x.upstream[0].status == 201);
  CHECK(x.upstream[0].detail == "d");
  CHECK(x.upstream[0].event_id.empty());
  CHECK_FALSE(x.upstream[0].ci);
  CHECK(x.agent_id.empty());
  CHECK_FALSE(x.amount);
  CHECK(x.op_key == "o-1");
  // a balances object keeps the first position of a duplicate agent, with its last value
  REQUIRE(r.parse(log_kind::traffic, R"({"kind":"exchange","method":"GET","target":"/api/credits/balances",)"
                                     R"("upstream":[{"status":200,"body":{"balances":{"a":1,"b":2,"a":"x"}}}]})"));
  auto const& bal = *r.x().upstream[0].balances;
  REQUIRE(bal.size() == 2);
  CHECK(bal[0].agent == "a");
  CHECK_FALSE(bal[0].value);
  CHECK(bal[1].value == 2.0);
}

TEST_CASE("record_parser: control and run records, and record kinds", "[checks][record_parser]") {
  reader r;
  REQUIRE(r.parse(log_kind::traffic, test::control("set", json::parse(R"({"name":"karma-down","route":"karma",)"
                                                                      R"("action":{"blackout":{"status":503}},"window":{"after_s":1,"for_s":2}})"),
                                                   5)));
  REQUIRE(r.rec.kind == record_kind::control);
  CHECK(r.rec.c->action == "set");
  CHECK(r.rec.c->name == "karma-down");
  CHECK(r.rec.c->route == "karma");
  CHECK(r.rec.c->action_kind == "blackout");
  CHECK(r.rec.c->total);
  CHECK(r.rec.c->after_s == 1.0);
  CHECK(r.rec.c->for_s == 2.0);
  CHECK(r.rec.c->ts_us == us(test::at_ms(5).c_str()));
  REQUIRE(r.parse(log_kind::traffic, R"({"kind":"run","action":"stop","ts":"2026-11-24T10:00:00.000000Z","seed":42,"dropped":0})"));
  REQUIRE(r.rec.kind == record_kind::traffic_run);
  CHECK(r.rec.run->action == "stop");
  CHECK(r.rec.run->seed == 42.0);
  REQUIRE(r.rec.run->raw);
  CHECK(r.rec.run->raw->at("dropped") == 0);
  REQUIRE(r.parse(log_kind::traffic, R"({"kind":"weird","x":1})"));
  CHECK(r.rec.kind == record_kind::ignored);
  CHECK(r.rec.ignored_type == "weird");
}

// ---- history and journal ---------------------------------------------------------------------

TEST_CASE("record_parser: every field of a history op, sample and scenario", "[checks][record_parser]") {
  reader r;
  REQUIRE(r.parse(log_kind::history,
                  R"({"v":1,"type":"ok","op":"synergy_anti_gaming-000001","scenario":"synergy_anti_gaming","f":"synergy","ts":"2026-11-24T10:00:00.000100Z",)"
                  R"("status":200,"latency_us":2400,"attempt":2,"error":"none","value":{"agent_id":"a1","amount":7,"balance_after":10,)"
                  R"("balance":null,"event_id":"e-1","approval_id":"ap","status":"approved","state_digest":"d","awarded":5,"requested":7,)"
                  R"("synergy_total":12,"capped":true,"detail":"x","balances":{"a1":10},"metadata":{"ci":0.5,"karma":"fallback","anomaly_detected":true}}})"));
  REQUIRE(r.rec.kind == record_kind::op);
  auto const& h = *r.rec.h;
  CHECK(h.type == "ok");
  CHECK(h.op == "synergy_anti_gaming-000001");
  CHECK(h.scenario == "synergy_anti_gaming");
  CHECK(h.f == "synergy");
  CHECK(h.error == "none");
  CHECK(h.ts_us == us("2026-11-24T10:00:00.000100Z"));
  CHECK(h.status == 200);
  CHECK(h.latency_us == 2400);
  CHECK(h.attempt == 2);
  CHECK(h.agent_id == "a1");
  CHECK(h.amount == 7.0);
  CHECK(h.balance_after == 10.0);
  CHECK_FALSE(h.balance);
  CHECK(h.balance_null);
  CHECK(h.event_id == "e-1");
  CHECK(h.approval_id == "ap");
  CHECK(h.state_digest == "d");
  CHECK(h.awarded == 5.0);
  CHECK(h.requested == 7.0);
  CHECK(h.synergy_total == 12.0);
  CHECK(h.capped == true);
  CHECK(h.detail == "x");
  CHECK(h.ci == 0.5);
  CHECK(h.karma == "fallback");
  CHECK(h.anomaly_detected == true);
  REQUIRE(h.balances);
  CHECK(h.balances->size() == 1);
  REQUIRE(r.parse(log_kind::history, R"({"type":"invoke","op":"o","ts":"2026-11-24T10:00:00Z"})"));
  CHECK(r.rec.h->latency_us == -1);
  CHECK(r.rec.h->attempt == 1);
  CHECK_FALSE(r.rec.h->balances);
  REQUIRE(r.parse(log_kind::history, test::hist_sample(3, 12.5)));
  REQUIRE(r.rec.kind == record_kind::sample);
  CHECK(r.rec.s->rss_bytes == 12.5 * 1024 * 1024);
  CHECK(r.rec.s->ts_us == us(test::at_ms(3).c_str()));
  REQUIRE(r.parse(log_kind::history, test::hist_scenario("skip", "ml_chaos", 4, "no ML")));
  REQUIRE(r.rec.kind == record_kind::scenario);
  CHECK(r.rec.sc->action == "skip");
  CHECK(r.rec.sc->scenario == "ml_chaos");
  CHECK(r.rec.sc->reason == "no ML");
  REQUIRE(r.parse(log_kind::history, test::hist_run("start", 0, 60)));
  REQUIRE(r.rec.kind == record_kind::run);
  CHECK(r.rec.run->planned_duration_s == 60.0);
  CHECK(r.rec.run->mode == "closed");
  REQUIRE(r.parse(log_kind::history, R"({"type":"stats","count":1})"));
  CHECK(r.rec.kind == record_kind::summary);
}

TEST_CASE("record_parser: every field of a journal event", "[checks][record_parser]") {
  reader r;
  REQUIRE(r.parse(log_kind::journal, test::event("e-2", "synergie.collaboration_recorded",
                                                 R"({"agent_id":"a1","awarded":5,"balance_after":105,"reason":"r","approval_id":"ap","capped":false})",
                                                 "k-2", "null", "\"e-1\"", 2)));
  REQUIRE(r.rec.kind == record_kind::event);
  auto const& e = *r.rec.e;
  CHECK(e.event_id == "e-2");
  CHECK(e.event_type == "synergie.collaboration_recorded");
  CHECK(e.idem_key == "k-2");
  CHECK(e.correlation_null);
  CHECK(e.correlation_id.empty());
  CHECK(e.causation_present);
  CHECK(e.causation_id == "e-1");
  CHECK(e.ts_us == us("2026-11-24T10:00:00.000001+00:00"));
  CHECK(e.schema_version == 2);
  CHECK_FALSE(e.schema_missing);
  CHECK(e.entity_id == "a1");      // entity_id, else agent_id
  CHECK(e.amount == 5.0);          // amount, else awarded
  CHECK(e.request_id == "ap");     // request_id, else approval_id
  CHECK(e.balance_after == 105.0);
  CHECK(e.reason == "r");
  CHECK(e.capped == false);
  REQUIRE(r.parse(log_kind::journal, R"({"event_type":"credit.consumed","schema_version":"1","correlation_id":"c",)"
                                     R"("payload":{"entity_id":"b","agent_id":"a","amount":1,"awarded":2,"request_id":"q","balance_after":null}})"));
  CHECK(r.rec.e->schema_missing);
  CHECK_FALSE(r.rec.e->schema_version);
  CHECK_FALSE(r.rec.e->correlation_null);
  CHECK_FALSE(r.rec.e->causation_present);
  CHECK(r.rec.e->entity_id == "b");
  CHECK(r.rec.e->amount == 1.0);
  CHECK(r.rec.e->request_id == "q");
  CHECK(r.rec.e->balance_after_null);
}

TEST_CASE("record_parser: NaN and Infinity are read leniently", "[checks][record_parser]") {
  reader r;
  REQUIRE(r.parse(log_kind::journal, test::event("e-1", "credit.consumed", R"({"entity_id":"a","amount":1,"balance_after":NaN})", "k")));
  REQUIRE(r.rec.e->balance_after);
  CHECK(std::isnan(*r.rec.e->balance_after));
  REQUIRE(r.parse(log_kind::traffic, R"({"kind":"exchange","method":"POST","target":"/api/credits/consume","op":"x\"NaN",)"
                                     R"("upstream":[{"status":200,"body":{"balance_after":-Infinity,"event_id":"e-\u0031"}}]})"));
  REQUIRE(r.x().upstream.size() == 1);
  CHECK(r.x().upstream[0].balance_after == -INFINITY);
  CHECK(r.x().upstream[0].event_id == "e-1");
}

TEST_CASE("record_parser: a profile may name a field like another", "[checks][record_parser]") {
  auto ctx = test::profile_context();
  ctx.profile.fields.balance_after = "balance";
  ctx.profile.fields.amount = "agent_id";
  reader r(ctx);
  REQUIRE(r.parse(log_kind::traffic, R"({"kind":"exchange","method":"POST","target":"/api/credits/consume",)"
                                     R"("req":{"body":{"agent_id":"a1"}},"upstream":[{"status":200,"body":{"balance":5}}]})"));
  CHECK(r.x().agent_id == "a1");
  CHECK_FALSE(r.x().amount);
  CHECK(r.x().upstream[0].balance == 5.0);
  CHECK(r.x().upstream[0].balance_after == 5.0);
}

// ---- bad lines -----------------------------------------------------------------------------------

TEST_CASE("record_parser: a corrupt line gives the DOM parser's error", "[checks][record_parser]") {
  reader r;
  std::string too_deep;
  for (std::size_t i = 0; i < core::log_max_depth + 8; ++i) too_deep += "[";
  for (std::string line : {std::string("{not json"), std::string(R"({"kind":"exchange")"), std::string(R"({"kind":"exchange"} x)"),
                           std::string(R"({"a":"\ud800"})"), std::string(R"({"a":01})"), std::string(R"({"a":"b)") + '\x01' + "\"}",
                           std::string("{\"a\":\"\xff\"}"), std::string(R"({"a":1e999999999999})"), std::string(R"({"a":tru})"), too_deep}) {
    INFO(line);
    json::error_code ec;
    json::parse_options deep;  // a log line may nest deeper than Boost.JSON's default
    deep.max_depth = core::log_max_depth;
    json::parse(line, ec, {}, deep);
    REQUIRE(ec);
    CHECK_FALSE(r.parse(log_kind::traffic, line));
    CHECK(r.err == "not valid JSON (" + ec.message() + ")");
  }
  for (auto [line, why] : {std::pair{R"([1,2])", "a record must be a JSON object"}, {R"("s")", "a record must be a JSON object"},
                           {R"({"v":1})", "record without kind"}, {R"({"kind":"exchange","method":"GET"})", "exchange without method or target"},
                           {R"({"kind":"control","fault":"x"})", "control record without action"}}) {
    INFO(line);
    CHECK_FALSE(r.parse(log_kind::traffic, line));
    CHECK(r.err == why);
  }
  CHECK_FALSE(r.parse(log_kind::history, R"({"type":"ok"})"));
  CHECK(r.err == "op record without op");
  CHECK_FALSE(r.parse(log_kind::history, R"({"op":"x"})"));
  CHECK(r.err == "history record without type");
  CHECK_FALSE(r.parse(log_kind::journal, R"({"event_type":null})"));
  CHECK(r.err == "journal event without event_type");
}

// ---- reading ------------------------------------------------------------------------------------

TEST_CASE("op_window: ops leave a minute after their last exchange, oldest first", "[checks][op_table]") {
  op_window<int> w;
  bool fresh;
  w.touch(1, 0, fresh) = 10;
  CHECK(fresh);
  w.touch(2, 30'000'000, fresh) = 20;
  w.touch(1, 50'000'000, fresh);  // op 1 seen again: kept, not queued again
  CHECK_FALSE(fresh);
  CHECK(w.queued() == 2);
  w.touch(3, 100'000'000, fresh) = 30;
  std::vector<int> dropped;
  auto drop = [&](int& v) { dropped.push_back(v); };
  w.evict(false, drop);  // the cut-off is 40 s: op 2 (last at 30 s) goes, op 1 (50 s) stays
  CHECK(dropped == std::vector<int>{20});
  CHECK(w.queued() == 2);  // op 3, and op 1 queued again from its last exchange (50 s)
  CHECK(w.touch(1, 100'000'000, fresh) == 10);
  CHECK_FALSE(fresh);
  w.touch(4, 200'000'000, fresh) = 40;
  w.evict(false, drop);  // the cut-off is 140 s: op 3 and op 1 (last at 100 s) go
  CHECK(dropped == std::vector<int>{20, 30, 10});
  w.evict(true, drop);
  CHECK(dropped == std::vector<int>{20, 30, 10, 40});
  CHECK(w.queued() == 0);
  CHECK(w.touch(1, 300'000'000, fresh) == 0);  // every op left: each comes back new
  CHECK(fresh);
  CHECK(w.touch(2, 300'000'000, fresh) == 0);
  CHECK(fresh);
}

TEST_CASE("applied_amount: a rewrite of the amount field is what the upstream got - of another field only marks the request",
          "[checks][record]") {
  exchange x;
  x.amount = 12.5;
  bool rewritten = false;
  CHECK(applied_amount(x, "amount", &rewritten) == 12.5);
  CHECK_FALSE(rewritten);
  x.faults.push_back({"mutate", "meta.score", 99.0, true});
  CHECK(applied_amount(x, "amount", &rewritten) == 12.5);
  CHECK(rewritten);
  x.faults.push_back({"delay", "", 125.0, true});  // not a kind that rewrites the request
  CHECK(applied_amount(x, "amount") == 12.5);
  x.faults.push_back({"mutate", "amount", 125.0, false});  // not applied (body not JSON)
  CHECK(applied_amount(x, "amount") == 12.5);
  x.faults.push_back({"mutate", "amount", 125.0, true});
  CHECK(applied_amount(x, "amount") == 125.0);
}
