#include "checks/checks.hpp"
#include "checks/detail/evidence.hpp"
#include "checks/detail/folds.hpp"
#include "checks/detail/op_book.hpp"
#include "tests/support/catch.hpp"
#include "tests/support/process.hpp"
#include "tests/support/records.hpp"
#include "scenarios/scenarios.hpp"

#include <optional>

using namespace stormgate;
using namespace stormgate::test;
using checks::status;
namespace json = boost::json;

namespace {

struct logs {
  std::vector<std::string> traffic, history, journal;
  std::string target = "reference";
};

checks::check_report check(logs const& l, temp_dir const& dir) {
  checks::check_options o{.scenarios = scenarios::check_catalog()};
  write_lines(dir.file("traffic.jsonl"), l.traffic);
  o.traffic = {dir.file("traffic.jsonl")};
  if (!l.history.empty()) {
    write_lines(dir.file("history.jsonl"), l.history);
    o.history = {dir.file("history.jsonl")};
  }
  if (!l.journal.empty()) {
    write_lines(dir.file("journal.jsonl"), l.journal);
    o.journal = dir.file("journal.jsonl");
  }
  o.target = l.target;
  auto r = checks::run_check(o);
  if (!r) FAIL(r.error().message());
  return *r;
}

checks::sub_check const& sub(checks::gate_result const& g, std::string const& name) {
  for (auto const& c : g.checks)
    if (c.name.find(name) == 0) return c;
  FAIL("no sub-check " << name);
  return g.checks.front();
}

}  // namespace

// ---- gate A ----------------------------------------------------------------------------------

TEST_CASE("gate A passes when retries and duplicates repeat one event_id", "[checks][gate_a]") {
  temp_dir dir;
  exchange_line dup;
  dup.op = "credit_storm-000002";
  dup.t_ms = 20;
  dup.body = {{"agent_id", "a1"}, {"amount", 5}};
  dup.faults.push_back(json::object{{"kind", "duplicate"}, {"rule", "dup"}, {"copies", 2}});
  dup.upstream.push_back(answer(200, write_body(85, "e-2")));
  dup.upstream.push_back(answer(200, write_body(85, "e-2"), true));
  auto r = check({{create("c-1", "a1", 100, 0), consume("credit_storm-000001", "a1", 10, 90, "e-1", 10), dup.str(),
                   balance_read("a1", 85, 100)}},
                 dir);
  auto const& a = r.gates.at("A");
  CHECK(a.st == status::pass);
  CHECK(a.total_violations == 0);
  CHECK(sub(a, "Idempotency").st == status::pass);
  CHECK(sub(a, "schema_version").st == status::skip);  // no journal
  CHECK(r.gates.at("B").st == status::pass);
}

TEST_CASE("gate A fails on two applied effects for one op, with the evidence", "[checks][gate_a]") {
  temp_dir dir;
  exchange_line first;
  first.op = "credit_storm-000007";
  first.t_ms = 10;
  first.body = {{"agent_id", "a1"}, {"amount", 10}};
  first.faults.push_back(json::object{{"kind", "drop_response"}, {"rule", "retry-injection"}, {"status", 504}});
  first.upstream.push_back(answer(200, write_body(90, "e-1")));
  first.resp = answer(504);
  first.outcome = "fault_abort";
  exchange_line retry = first;
  retry.t_ms = 30;
  retry.faults.clear();
  retry.upstream = {answer(200, write_body(80, "e-2"))};  // the backend applied it again
  retry.resp = {};
  retry.outcome = "ok";
  auto r = check({{create("c-1", "a1", 100, 0), first.str(), retry.str(), balance_read("a1", 80, 100)}}, dir);
  auto const& a = r.gates.at("A");
  CHECK(a.st == status::fail);
  CHECK(a.critical);
  REQUIRE(a.total_violations == 1);
  CHECK(a.violations[0].op == "credit_storm-000007");
  CHECK(a.violations[0].file == dir.file("traffic.jsonl"));
  CHECK(a.violations[0].line == 3);
  CHECK(a.violations[0].why.find("2 applied effects") != std::string::npos);
  // both effects counted: the balance still adds up, so B passes and only A fails
  CHECK(r.gates.at("B").st == status::pass);
  CHECK(r.overall_status == "NO-GO");
  CHECK(r.exit_code() == 1);
}

TEST_CASE("gate A on a target without event_id: two 2xx for one op are two balance steps", "[checks][gate_a]") {
  temp_dir dir;
  exchange_line x;
  x.op = "credit_storm-000001";
  x.body = {{"agent_id", "a1"}, {"amount", 10}};
  x.upstream.push_back(answer(200, json::object{{"agent_id", "a1"}, {"amount", 10}, {"balance_after", 40}}));
  exchange_line y = x;
  y.t_ms = 50;
  y.upstream = {answer(200, json::object{{"agent_id", "a1"}, {"amount", 10}, {"balance_after", 30}})};
  auto r = check({{x.str(), y.str()}, {}, {}, "brain"}, dir);
  CHECK(r.gates.at("A").st == status::fail);
  REQUIRE(!r.gates.at("A").violations.empty());
  CHECK(r.gates.at("A").violations[0].why.find("two balance steps") != std::string::npos);
  // brain skips four scenarios, with the profile's reasons
  int skipped = 0;
  for (auto const& s : r.scenarios) skipped += s.st == status::skip;
  CHECK(skipped == 6);
  CHECK(r.scenarios[2].reason.find("approval") != std::string::npos);
}

TEST_CASE("gate A journal checks: schema_version, correlation, causation, duplicate keys", "[checks][gate_a]") {
  temp_dir dir;
  std::string p = R"j({"entity_id":"a1","entity_type":"agent","amount":10.0,"reason":"x","balance_after":90.0})j";
  logs l;
  l.traffic = {consume("op-1", "a1", 10, 90, "e-1", 0)};
  l.journal = {event("e-0", "credit.allocated", R"j({"entity_id":"a1","entity_type":"agent","amount":100.0,"reason":"Agent creation (skill_level=1.0)","balance_after":100.0})j", "k0"),
               event("e-1", "credit.consumed", p, "k1", "\"c\"", "\"e-0\"", 0),
               event("e-2", "credit.consumed", R"j({"entity_id":"a1","amount":10.0,"balance_after":80.0})j", "k2", "null"),
               event("e-3", "credit.consumed", R"j({"entity_id":"a1","amount":10.0,"balance_after":70.0})j", "k2", "\"c\"", "\"e-404\"")};
  auto r = check(l, dir);
  auto const& a = r.gates.at("A");
  CHECK(a.st == status::fail);
  CHECK(sub(a, "schema_version").st == status::fail);
  CHECK(sub(a, "Correlation").st == status::fail);
  CHECK(sub(a, "Keine doppelten").st == status::fail);
  CHECK(a.total_violations == 4);
  bool dangling = false;
  for (auto const& v : a.violations) dangling |= v.why.find("e-404") != std::string::npos && v.line == 4;
  CHECK(dangling);
}

// ---- gate B ----------------------------------------------------------------------------------

TEST_CASE("gate B: final balance against the sum of deltas", "[checks][gate_b]") {
  struct row {
    double read;
    status expect;
  };
  for (auto const& [read, expect] : {row{85, status::pass}, row{80, status::fail}, row{85.004, status::pass}}) {
    temp_dir dir;
    auto r = check({{create("c-1", "a1", 100, 0), consume("op-1", "a1", 10, 90, "e-1", 10), consume("op-2", "a1", 5, 85, "e-2", 20),
                     balance_read("a1", read, 100)}},
                   dir);
    INFO("read " << read);
    CHECK(r.gates.at("B").st == expect);
    if (expect == status::fail) {
      CHECK(r.gates.at("B").critical);
      CHECK(r.gates.at("B").violations.at(0).line == 4);
    }
  }
}

TEST_CASE("gate B: Jepsen's interval for an op of unknown outcome", "[checks][gate_b]") {
  // consume 10 timed out upstream: it may or may not have happened -> balance in [75, 85]
  // (Jepsen's counter: bounds, not the set of sums; 80 lies inside them)
  struct row {
    double read;
    status expect;
  };
  for (auto const& [read, expect] : {row{85, status::pass}, row{75, status::pass}, row{80, status::pass}, row{74.5, status::fail}, row{70, status::fail}, row{90, status::fail}}) {
    temp_dir dir;
    exchange_line lost;
    lost.op = "op-3";
    lost.t_ms = 30;
    lost.body = {{"agent_id", "a1"}, {"amount", 10}};
    lost.upstream.push_back(no_answer());
    lost.has_resp = false;
    lost.outcome = "upstream_timeout";
    // 75 means the lost consume happened after op-2: the chain then has a gap the unknown op explains
    std::vector<std::string> t{create("c-1", "a1", 100, 0), consume("op-1", "a1", 10, 90, "e-1", 10), consume("op-2", "a1", 5, 85, "e-2", 20),
                               lost.str(), balance_read("a1", read, 100)};
    auto r = check({t}, dir);
    INFO("read " << read);
    CHECK(r.gates.at("B").st == expect);
    CHECK(r.gates.at("B").metrics.at("unknown_effects").as_uint64() == 1);
  }
}

TEST_CASE("gate B: a lost update breaks the balance chain", "[checks][gate_b]") {
  temp_dir dir;
  // two consumes both started from 100: 100-10 = 90 and 100-20 = 80, the last write wins
  auto r = check({{create("c-1", "a1", 100, 0), consume("op-1", "a1", 10, 90, "e-1", 10), consume("op-2", "a1", 20, 80, "e-2", 11),
                   balance_read("a1", 80, 100)}},
                 dir);
  auto const& b = r.gates.at("B");
  CHECK(b.st == status::fail);
  CHECK(sub(b, "Balance-Kette").st == status::fail);
  CHECK(sub(b, "Balance ==").st == status::fail);  // 100 - 30 = 70, read 80
}

TEST_CASE("gate B: negative balances and NaN in the journal", "[checks][gate_b]") {
  temp_dir dir;
  logs l;
  l.traffic = {create("c-1", "a1", 10, 0), consume("op-1", "a1", 20, -10, "e-1", 10)};
  l.journal = {event("e-0", "credit.allocated", R"j({"entity_id":"a1","amount":10.0,"reason":"Agent creation (skill_level=0.1)","balance_after":10.0})j", "k0"),
               event("e-1", "credit.consumed", R"j({"entity_id":"a1","amount":20.0,"balance_after":-10.0})j", "k1"),
               event("e-2", "credit.refunded", R"j({"entity_id":"a2","amount":NaN,"balance_after":NaN})j", "k2")};
  auto r = check(l, dir);
  auto const& b = r.gates.at("B");
  CHECK(b.st == status::fail);
  CHECK(b.critical);
  CHECK(sub(b, "Keine negativen").st == status::fail);
  CHECK(sub(b, "Keine NaN").st == status::fail);
  CHECK(b.metrics.at("negative_balances").as_uint64() == 2);  // the answer and the journal
}

TEST_CASE("gate B: the journal's chain balance_after(n) = balance_after(n-1) +- amount(n)", "[checks][gate_b]") {
  temp_dir dir;
  logs l;
  l.traffic = {consume("op-1", "a1", 10, 90, "e-1", 10)};
  l.journal = {event("e-0", "credit.allocated", R"j({"entity_id":"a1","amount":100.0,"reason":"Agent creation (skill_level=1.0)","balance_after":100.0})j", "k0"),
               event("e-1", "credit.consumed", R"j({"entity_id":"a1","amount":10.0,"balance_after":90.0})j", "k1"),
               event("e-2", "credit.consumed", R"j({"entity_id":"a1","amount":10.0,"balance_after":85.0})j", "k2")};
  auto r = check(l, dir);
  auto const& b = r.gates.at("B");
  CHECK(sub(b, "Balance-Kette").st == status::fail);
  bool found = false;
  for (auto const& v : b.violations) found |= v.op == "e-2" && v.line == 3;
  CHECK(found);
}

TEST_CASE("gate B: state digest before and after replay", "[checks][gate_b]") {
  for (std::string after : {"d1", "d2"}) {
    temp_dir dir;
    exchange_line state;
    state.op = "crash_replay-000101";
    state.method = "GET";
    state.target = "/api/credits/state";
    state.t_ms = 100;
    state.upstream.push_back(answer(200, json::object{{"state_digest", "d1"}, {"events", 100}}));
    exchange_line replay = state;
    replay.op = "crash_replay-000102";
    replay.method = "POST";
    replay.target = "/api/credits/replay";
    replay.t_ms = 200;
    replay.upstream = {answer(200, json::object{{"state_digest", after}, {"events", 100}, {"duration_ms", 3}})};
    auto r = check({{consume("op-1", "a1", 10, 90, "e-1", 10), state.str(), replay.str()}}, dir);
    auto const& d = sub(r.gates.at("B"), "Kein Drift nach Replay");
    CHECK(d.st == (after == "d1" ? status::pass : status::fail));
  }
}

// ---- gate C ----------------------------------------------------------------------------------

namespace {
std::string decision(std::string const& op, std::string const& approval, std::string const& what, int status, std::string const& event_id,
                     std::int64_t t_ms) {
  exchange_line x;
  x.op = op;
  x.id = "credits-" + op;
  x.t_ms = t_ms;
  x.target = "/api/credits/approvals/" + approval + "/" + what;
  x.body = {{"approver_id", "u-" + op}};
  x.upstream.push_back(status == 200 ? answer(200, json::object{{"approval_id", approval}, {"status", "approved"}, {"event_id", event_id}})
                                     : answer(status, json::object{{"detail", "already_decided"}}));
  return x.str();
}
}  // namespace

TEST_CASE("gate C: one winning decision passes, two fail", "[checks][gate_c]") {
  {
    temp_dir dir;
    auto r = check({{decision("approval_race-1", "ap-1", "approve", 200, "e-1", 0), decision("approval_race-2", "ap-1", "deny", 409, "", 1),
                     decision("approval_race-3", "ap-1", "approve", 409, "", 2)}},
                   dir);
    auto const& c = r.gates.at("C");
    CHECK(c.st == status::pass);
    CHECK(sub(c, "Audit").st == status::skip);  // no journal: said so
    CHECK(sub(c, "Audit").detail.find("no journal") != std::string::npos);
  }
  {
    temp_dir dir;
    auto r = check({{decision("approval_race-1", "ap-1", "approve", 200, "e-1", 0), decision("approval_race-2", "ap-1", "deny", 200, "e-2", 1)}}, dir);
    auto const& c = r.gates.at("C");
    CHECK(c.st == status::fail);
    CHECK(c.critical);
    REQUIRE(c.violations.size() == 1);
    CHECK(c.violations[0].op == "approval_race-2");
    CHECK(r.overall_status == "NO-GO");
  }
}

TEST_CASE("gate C: a decision missing from the audit trail", "[checks][gate_c]") {
  for (bool audited : {true, false}) {
    temp_dir dir;
    logs l;
    l.traffic = {decision("approval_race-1", "ap-1", "approve", 200, "e-9", 0)};
    l.journal = {event("e-8", "approval.requested", R"j({"request_id":"ap-1","action_type":"credits"})j", "ap-1:requested")};
    if (audited) l.journal.push_back(event("e-9", "approval.approved", R"j({"request_id":"ap-1","approver_id":"u"})j", "ap-1:approved:u"));
    auto r = check(l, dir);
    CHECK(sub(r.gates.at("C"), "Audit").st == (audited ? status::pass : status::warn));
  }
}

// ---- gate D ----------------------------------------------------------------------------------

namespace {
json::value karma_blackout_fault() {
  return json::object{{"name", "karma-down"}, {"route", "karma"}, {"action", json::object{{"blackout", json::object{{"status", 503}}}}}};
}
}  // namespace

TEST_CASE("gate D: KARMA blackout with fallback passes; 5xx is critical; no fallback fails", "[checks][gate_d]") {
  struct row {
    int code;
    char const* karma;
    double ci;
    status expect;
    bool critical;
  };
  for (auto const& rw : {row{200, "fallback", 0.5, status::pass, false}, row{500, "", 0, status::fail, true},
                         row{200, "ok", 0.42, status::fail, false}}) {
    temp_dir dir;
    exchange_line x;
    x.op = "karma_blackout-000001";
    x.t_ms = 100;
    x.body = {{"agent_id", "a1"}, {"amount", 10}};
    x.upstream.push_back(rw.code == 200 ? answer(200, write_body(90, "e-1", rw.ci, rw.karma))
                                          : answer(500, json::object{{"detail", "karma unavailable"}}));
    auto r = check({{create("c-1", "a1", 100, 0), control("set", karma_blackout_fault(), 50), x.str(), control("clear", "karma-down", 200),
                     consume("op-after", "a1", 1, rw.code == 200 ? 89 : 99, "e-2", 300, 0.42, "ok")}},
                   dir);
    auto const& d = r.gates.at("D");
    INFO("status " << rw.code << " karma " << rw.karma);
    CHECK(d.st == rw.expect);
    CHECK(d.critical == rw.critical);
    if (rw.expect == status::fail) CHECK(d.violations.at(0).line == 3);
    CHECK(r.charts.faults.size() == 1);
  }
}

TEST_CASE("gate D: anomalies flagged pass, blocked fail; CI ranges", "[checks][gate_d]") {
  for (int st : {200, 422, 400}) {
    temp_dir dir;
    exchange_line x;
    x.op = "ml_chaos-000004";
    x.t_ms = 40;
    x.body = {{"agent_id", "a1"}, {"amount", 5}};
    x.faults.push_back(json::object{{"kind", "mutate"}, {"rule", "x10"}, {"path", "amount"}, {"original", 5}, {"value", 50}});
    x.upstream.push_back(st == 200 ? answer(200, write_body(50, "e-4", 0.5, "ok", true))
                         : st == 422 ? answer(422, json::object{{"detail", "anomaly_blocked"}})
                                     : answer(400, json::object{{"detail", "Insufficient credits: a1 has 10, needs 50"}}));
    auto r = check({{create("c-1", "a1", 100, 0), x.str()}}, dir);
    auto const& d = r.gates.at("D");
    INFO("status " << st);
    CHECK(sub(d, "ML-Anomalie").st == (st == 422 ? status::fail : status::pass));
    CHECK_FALSE(d.critical);
  }
  struct row {
    double ci;
    status expect;
  };
  for (auto const& [ci, expect] : {row{0.5, status::pass}, row{0.75, status::warn}, row{0.95, status::fail}, row{0.05, status::fail}}) {
    temp_dir dir;
    auto r = check({{create("c-1", "a1", 100, 0), consume("op-1", "a1", 1, 99, "e-1", 10, ci)}}, dir);
    INFO("ci " << ci);
    CHECK(sub(r.gates.at("D"), "Edge-of-Chaos").st == expect);
  }
}

// ---- gate E ----------------------------------------------------------------------------------

TEST_CASE("gate E: runtime, p95 and the memory slope", "[checks][gate_e]") {
  struct row {
    double planned, elapsed, mb_per_min;
    std::int64_t latency_us;
    status expect;
    bool critical;
    int samples = 30;
    int ops = 100;
  };
  for (auto const& rw : {row{1800, 1805, 0.0, 20000, status::pass, false}, row{60, 60, 0.0, 20000, status::warn, false},
                         row{1800, 1805, 0.3, 20000, status::fail, false}, row{1800, 1805, 2.0, 20000, status::fail, true},
                         row{1800, 1805, 0.0, 700000, status::warn, false}, row{1800, 600, 0.0, 20000, status::fail, false},
                         row{1800, 1805, 2.0, 20000, status::warn, false, 6},  // too few samples for a trend
                         // a one-minute run: 0.3 MB/min at 333 ops/s is ~16 bytes per op (warm-up), a warning;
                         // 20 MB/min at 1.7 ops/s is ~200 KB kept per request, a leak however short the run
                         row{60, 60, 0.3, 20000, status::warn, false, 30, 20000},
                         row{60, 60, 20.0, 20000, status::fail, true, 30, 100}}) {
    temp_dir dir;
    std::vector<std::string> h{hist_run("start", 0, rw.planned)};
    auto span_ms = static_cast<std::int64_t>(rw.elapsed * 1000);
    for (int i = 0; i < rw.ops; ++i) {
      auto t = span_ms * i / rw.ops;
      h.push_back(hist("ok", "credit_storm-" + std::to_string(i), "credit_storm", "consume", t, {}, 200, rw.latency_us));
    }
    for (int i = 0; i <= rw.samples; ++i) {
      auto t = span_ms * i / rw.samples;
      h.push_back(hist_sample(t, 50 + rw.mb_per_min * static_cast<double>(t) / 60000.0 + (i % 2) * 0.01));
    }
    h.push_back(hist_run("stop", span_ms, rw.planned, rw.elapsed));
    auto r = check({{consume("op-1", "a1", 1, 99, "e-1", 10)}, h}, dir);
    auto const& e = r.gates.at("E");
    INFO("planned " << rw.planned << " slope " << rw.mb_per_min << " latency " << rw.latency_us);
    CHECK(e.st == rw.expect);
    CHECK(e.critical == rw.critical);
    CHECK(e.metrics.at("memory_slope_mb_per_min").as_double() == Approx(rw.mb_per_min).margin(0.02));
    CHECK(r.overall_status != "GO");
  }
}

TEST_CASE("gate E: each process judged on its own; provoked failures are expected, the others errors with evidence",
          "[checks][gate_e]") {
  temp_dir dir;
  std::vector<std::string> h{hist_run("start", 0, 1800)};
  for (int i = 0; i < 100; ++i) h.push_back(hist("ok", "soak-" + std::to_string(i), "soak", "balance", i * 18000, {}, 200));
  auto failed = [&](std::string const& op, int status, std::string const& cause) {
    auto rec = boost::json::parse(hist("fail", op, "credit_storm", "consume", 1000, {}, status)).as_object();
    rec["cause"] = cause;
    h.push_back(boost::json::serialize(rec));
  };
  failed("credit_storm-1", 504, "fault retry-injection");
  failed("credit_storm-2", 400, "rejected 400");
  failed("credit_storm-3", 503, "status 503");
  // the backend flat, the proxy growing 0.3 MB/min over 30 minutes: the proxy's trend fails the gate
  for (int i = 0; i <= 60; ++i) {
    auto t = static_cast<std::int64_t>(i) * 30000;
    for (auto [process, mb] : {std::pair{"backend", 40.0 + (i % 2) * 0.01}, {"proxy", 12.0 + 0.3 * static_cast<double>(t) / 60000.0}})
      h.push_back(boost::json::serialize(boost::json::object{
          {"v", 1}, {"type", "sample"}, {"f", "memory"}, {"ts", at_ms(t)},
          {"value", boost::json::object{{"process", process}, {"pid", 7}, {"rss_bytes", static_cast<std::int64_t>(mb * 1024 * 1024)}, {"source", "proc"}}}}));
  }
  h.push_back(hist_run("stop", 1805000, 1800, 1805));
  auto r = check({{consume("op-1", "a1", 1, 99, "e-1", 10)}, h}, dir);
  auto const& e = r.gates.at("E");
  CHECK(e.metrics.at("unexplained_errors").as_uint64() == 1);
  CHECK(e.metrics.at("expected_failures").as_uint64() == 2);
  CHECK(e.metrics.at("memory_slope_process").as_string() == "proxy");
  CHECK(e.metrics.at("memory_slope_mb_per_min").as_double() == Approx(0.3).margin(0.02));
  auto const& procs = e.metrics.at("memory_processes").as_object();
  CHECK(procs.at("backend").as_object().at("status").as_string() == "PASS");
  CHECK(procs.at("proxy").as_object().at("status").as_string() == "FAIL");
  CHECK(e.st == status::fail);
  bool error_evidence = false;
  for (auto const& v : e.violations) error_evidence |= v.op == "credit_storm-3" && v.why.find("status 503") != std::string::npos;
  CHECK(error_evidence);
  for (auto const& v : e.violations) CHECK(v.op != "credit_storm-1");
}

// ---- scenarios --------------------------------------------------------------------------------

TEST_CASE("scenarios: approval_race and karma_blackout invariants from the history", "[checks][scenarios]") {
  temp_dir dir;
  std::vector<std::string> h{hist_run("start", 0, 60), hist_scenario("start", "approval_race", 0)};
  h.push_back(hist("ok", "approval_race-1", "approval_race", "approve", 10, {{"approval_id", "ap-1"}}, 200));
  for (int i = 2; i <= 10; ++i)
    h.push_back(hist("fail", "approval_race-" + std::to_string(i), "approval_race", i % 2 ? "approve" : "deny", 10 + i,
                     {{"approval_id", "ap-1"}, {"detail", "already_decided"}}, 409));
  h.push_back(hist_scenario("stop", "approval_race", 50));
  h.push_back(hist_scenario("start", "karma_blackout", 60));
  h.push_back(hist("ok", "karma_blackout-1", "karma_blackout", "consume", 70,
                   {{"agent_id", "a1"}, {"amount", 1}, {"metadata", json::object{{"ci", 0.5}, {"karma", "fallback"}}}}, 200));
  h.push_back(hist("ok", "karma_blackout-2", "karma_blackout", "consume", 71,
                   {{"agent_id", "a1"}, {"amount", 1}, {"metadata", json::object{{"ci", 0.61}, {"karma", "ok"}}}}, 200));
  h.push_back(hist_scenario("stop", "karma_blackout", 80));
  h.push_back(hist_scenario("skip", "ml_chaos", 80, "not selected"));
  h.push_back(hist_run("stop", 90, 60, 0.09));
  auto r = check({{decision("approval_race-1", "ap-1", "approve", 200, "e-1", 10)}, h}, dir);
  std::map<std::string, checks::scenario_result> by;
  for (auto const& s : r.scenarios) by[s.scenario_id] = s;
  CHECK(by["approval_race"].st == status::pass);
  CHECK(by["approval_race"].invariants_passed);
  CHECK(by["karma_blackout"].st == status::fail);
  CHECK(by["karma_blackout"].reason.find("Fallback") != std::string::npos);
  CHECK(by["ml_chaos"].st == status::skip);
  CHECK(by["ml_chaos"].reason == "not selected");
  CHECK(by["credit_storm"].st == status::skip);
  CHECK(r.overall_status == "CONDITIONAL");
}

TEST_CASE("scenarios: synergy cap and crash_replay digests", "[checks][scenarios]") {
  for (bool good : {true, false}) {
    temp_dir dir;
    std::vector<std::string> h{hist_run("start", 0, 60), hist_scenario("start", "synergy_anti_gaming", 0)};
    double total = 0;
    for (int i = 0; i < 10; ++i) {
      double award = good ? std::min(80.0, 500.0 - total) : 80.0;
      total += award;
      h.push_back(hist("ok", "synergy_anti_gaming-" + std::to_string(i), "synergy_anti_gaming", "synergy", 10 + i,
                       {{"agent_id", "s1"}, {"amount", 80}, {"requested", 80}, {"awarded", award}, {"capped", award < 80}, {"synergy_total", total}}, 200));
    }
    h.push_back(hist_scenario("stop", "synergy_anti_gaming", 30));
    h.push_back(hist_scenario("start", "crash_replay", 40));
    h.push_back(hist("ok", "crash_replay-1", "crash_replay", "state", 41, {{"state_digest", "d1"}}, 200));
    h.push_back(hist("ok", "crash_replay-2", "crash_replay", "restart", 42, {}, 200));
    h.push_back(hist("ok", "crash_replay-3", "crash_replay", "state", 43, {{"state_digest", good ? "d1" : "d9"}}, 200));
    h.push_back(hist_scenario("stop", "crash_replay", 44));
    h.push_back(hist_run("stop", 50, 60, 0.05));
    auto r = check({{consume("op-1", "a1", 1, 99, "e-1", 10)}, h}, dir);
    std::map<std::string, checks::scenario_result> by;
    for (auto const& s : r.scenarios) by[s.scenario_id] = s;
    INFO("good " << good);
    CHECK(by["synergy_anti_gaming"].st == (good ? status::pass : status::fail));
    CHECK(by["crash_replay"].st == (good ? status::pass : status::fail));
    CHECK(sub(r.gates.at("B"), "Kein Drift nach Replay").st == (good ? status::pass : status::fail));
  }
}

// ---- verdict ----------------------------------------------------------------------------------

TEST_CASE("verdict follows the playbook's rules", "[checks][verdict]") {
  auto make = [](status scen, std::map<std::string, std::pair<status, bool>> gates, int failed_scenarios = 0) {
    checks::check_report r;
    for (int i = 0; i < 6; ++i) {
      checks::scenario_result s;
      s.scenario_id = "s" + std::to_string(i);
      s.st = i < failed_scenarios ? status::fail : scen;
      r.scenarios.push_back(s);
    }
    for (auto id : {"A", "B", "C", "D", "E"}) {
      checks::gate_result g;
      g.id = id;
      g.st = status::pass;
      if (gates.count(id)) {
        g.st = gates[id].first;
        g.critical = gates[id].second;
      }
      r.gates[id] = g;
    }
    checks::detail::decide(r, 6);
    return r;
  };
  auto go = make(status::pass, {});
  CHECK(go.overall_status == "GO");
  CHECK(go.exit_code() == 0);
  CHECK(go.recommendation.find("Freigabe für Phase 5a") != std::string::npos);
  CHECK(make(status::skip, {}).overall_status == "CONDITIONAL");
  CHECK(make(status::pass, {{"E", {status::warn, false}}}).overall_status == "CONDITIONAL");
  CHECK(make(status::pass, {{"D", {status::fail, false}}}).overall_status == "CONDITIONAL");
  CHECK(make(status::pass, {{"D", {status::fail, true}}}).overall_status == "NO-GO");
  CHECK(make(status::pass, {{"A", {status::fail, false}}}).overall_status == "NO-GO");
  CHECK(make(status::pass, {{"B", {status::fail, false}}}).overall_status == "NO-GO");
  CHECK(make(status::pass, {{"C", {status::unknown, false}}}).overall_status == "CONDITIONAL");
  CHECK(make(status::pass, {}, 2).overall_status == "CONDITIONAL");
  auto nogo = make(status::pass, {}, 3);
  CHECK(nogo.overall_status == "NO-GO");
  CHECK(nogo.exit_code() == 1);
  CHECK(nogo.recommendation.find("Evolution blockiert") != std::string::npos);
  CHECK(make(status::pass, {{"E", {status::skip, false}}}).exit_code() == 2);
}

TEST_CASE("op_table: insert, find, erase with backward shift", "[checks][op_table]") {
  checks::detail::op_table<int> t;
  std::map<std::uint64_t, int> ref;
  std::uint64_t x = 7;
  for (int i = 0; i < 20000; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    auto key = x % 5000;  // many collisions and repeats
    if (i % 3 == 2) {
      t.erase(key);
      ref.erase(key);
    } else {
      bool fresh;
      int& v = t.get(key, fresh);
      CHECK(fresh == (ref.count(key) == 0));
      v = i;
      ref[key] = i;
    }
  }
  CHECK(t.size() == ref.size());
  for (std::uint64_t k = 0; k < 5000; ++k) {
    auto* v = t.find(k);
    if (ref.count(k)) {
      REQUIRE(v);
      CHECK(*v == ref[k]);
    } else {
      CHECK(v == nullptr);
    }
  }
}

// ---- record types -----------------------------------------------------------------------------

TEST_CASE("the load's stats summaries are read silently; an unknown record type is noted", "[checks][records]") {
  temp_dir dir;
  auto stats = R"({"v":1,"type":"stats","scope":"slice","scenario":"credit_storm","ts":")" + at_ms(5) +
               R"(","count":1,"p95_us":900})";
  auto odd = R"({"v":1,"type":"teleport","ts":")" + at_ms(6) + R"("})";
  auto noted = [](checks::check_report const& r, std::string const& what) {
    for (auto const& n : r.notes)
      if (n.find(what) != std::string::npos) return true;
    return false;
  };
  auto quiet = check({{consume("op-1", "a1", 1, 99, "e-1", 10)}, {hist_run("start", 0, 60), stats}}, dir);
  CHECK_FALSE(noted(quiet, "not read by the checker"));
  auto loud = check({{consume("op-1", "a1", 1, 99, "e-1", 10)}, {hist_run("start", 0, 60), stats, odd}}, dir);
  CHECK(noted(loud, "\"teleport\" not read by the checker"));
  CHECK_FALSE(noted(loud, "\"stats\""));
}

TEST_CASE("merge_evidence: every total counts, the violations are kept in list order up to the cap", "[checks][evidence]") {
  using checks::detail::evidence;
  std::string file = "traffic.jsonl";
  checks::detail::source src{&file, 7};
  evidence first, second, third;
  for (int i = 0; i < 40; ++i) first.add("a-" + std::to_string(i), src, "first");
  for (int i = 0; i < 70; ++i) second.add("b-" + std::to_string(i), src, "second");  // 50 kept of 70
  third.add("c-0", src, "third");
  checks::gate_result g;
  g.total_violations = 1;  // added to, not replaced
  checks::detail::merge_evidence(g, {&first, &second, &third});
  CHECK(g.total_violations == 1 + 40 + 70 + 1);
  REQUIRE(g.violations.size() == checks::violation_cap);
  CHECK(g.violations.front().op == "a-0");
  CHECK(g.violations[39].op == "a-39");
  CHECK(g.violations[40].op == "b-0");
  CHECK(g.violations.back().op == "b-9");
  CHECK(g.violations.back().line == 7);
  CHECK(g.violations.back().file == "traffic.jsonl");
}

TEST_CASE("timeline: an earlier record shifts the origin; slices stay under the cap however far back it is",
          "[checks][timeline]") {
  using checks::detail::timeline;
  auto total_ops = [](checks::series const& s) {
    std::uint64_t n = 0;
    for (auto const& sl : s.slices) n += sl.ops;
    return n;
  };
  {
    timeline t;
    t.add(100'000'000, 10'000);  // t = 100 s
    t.add(95'500'000, 20'000);   // 4.5 s earlier: 5 whole slices of 1 s to the left
    checks::series s;
    t.fill(s, 0);
    REQUIRE(s.slices.size() == 6);
    CHECK(s.slices.front().t_s == Approx(95.0));
    CHECK(s.slices.front().width_s == Approx(1.0));
    CHECK(s.slices.front().ops == 1);
    CHECK(s.slices.back().ops == 1);
    CHECK(s.slices.front().p95_ms >= 20.0);
    CHECK(s.slices.front().p95_ms < 20.0 * (1 + 1.0 / 64));
  }
  {
    timeline t;
    for (int i = 0; i < 200; ++i) t.add(1'000'000'000'000 + i * 1'000'000LL, 1000);  // 200 s, 1 s slices
    t.add(1'000'000'000'000 - 86'400'000'000LL, 5000);                              // a day earlier
    t.add(1'000'000'000'000 + 199'000'000LL, 1000);
    checks::series s;
    t.fill(s, 0);
    CHECK(s.slices.size() <= static_cast<std::size_t>(timeline::max_slices));
    CHECK(total_ops(s) == 202);
    double day_s = 86'400.0, first = 1'000'000.0 - day_s;
    CHECK(s.slices.front().t_s <= first);
    CHECK(s.slices.front().t_s + s.slices.front().width_s > first);  // the day-earlier record is in slice 0
    CHECK(s.slices.front().ops == 1);
    CHECK(s.slices.back().t_s <= 1'000'199.0);
    CHECK(s.slices.back().t_s + s.slices.back().width_s > 1'000'199.0);
  }
}
