// The scenario list: a scenario defined only here, added to the registry's list, is planned and sent
// by the load, judged by the checker, counted by the verdict and shown by all four reports; and the
// list's declarations (needs, gates read) hold on both sides.
#include "checks/scenario_judge.hpp"
#include "load/load.hpp"
#include "load/plan_builder.hpp"
#include "scenarios/scenarios.hpp"
#include "tests/support/catch.hpp"
#include "tests/support/process.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <algorithm>
#include <fstream>
#include <sstream>

using namespace stormgate;

namespace {

constexpr int agents = 2, consumes_per_agent = 10;

// "seventh": two agents, ten consumes of 5 credits each, then their balances.
load::scenario_plan seventh_plan(load::plan_builder& b) {
  load::scenario_plan out;
  std::vector<std::string> who{b.agent("seventh", 1), b.agent("seventh", 2)};
  out.phases.push_back(b.fund_agents(who, 500.0));
  load::phase ph;
  ph.label = "consume";
  for (int a = 0; a < agents; ++a) {
    std::vector<load::planned_op> lane;
    for (int i = 0; i < consumes_per_agent; ++i)
      lane.push_back(b.op("consume", a, {{"agent_id", who[a]}, {"amount", 5.0}, {"reason", "seventh"}}));
    ph.lanes.push_back(std::move(lane));
  }
  out.phases.push_back(std::move(ph));
  out.phases.push_back(b.read_balances(who));
  return out;
}

// Its judge: every consume booked (`expected` of them), no negative balance in gate B.
template <int expected>
class seventh_judge final : public checks::scenario_judge {
 public:
  void on_op(checks::detail::hist_op const& h, checks::detail::source const&, checks::detail::evidence&) override {
    if (h.f == "consume" && h.type == "ok") ++booked_;
  }
  void finish(checks::judgement& j) override {
    j.metrics()["booked"] = booked_;
    j.invariant("Alle Consumes gebucht", booked_ == expected, std::to_string(booked_) + " of " + std::to_string(expected));
    j.invariant("Keine negativen Balances (Gate B)", j.metric(checks::gate_id::B, "negative_balances") == 0, "gate B");
  }

 private:
  int booked_ = 0;
};

// A judge that reads a gate its scenario does not declare.
class undeclared_judge final : public checks::scenario_judge {
 public:
  void on_op(checks::detail::hist_op const&, checks::detail::source const&, checks::detail::evidence&) override {}
  void finish(checks::judgement& j) override { j.invariant("reads D", j.metric(checks::gate_id::D, "anomalies") == 0, ""); }
};

scenarios::scenario seventh(std::unique_ptr<checks::scenario_judge> (*judge)(checks::detail::context const&),
                            std::vector<std::string_view> needs = {"create", "consume"}) {
  return {"seventh", "Der siebte Versuch", std::move(needs), {checks::gate_id::B}, &seventh_plan, judge};
}

std::vector<scenarios::scenario> with(scenarios::scenario s) {
  auto list = scenarios::registry();
  list.push_back(std::move(s));
  return list;
}

unsigned short free_port() {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

checks::scenario_result const* result_of(checks::check_report const& r, std::string_view id) {
  auto it = std::find_if(r.scenarios.begin(), r.scenarios.end(), [&](auto const& s) { return s.scenario_id == id; });
  return it == r.scenarios.end() ? nullptr : &*it;
}

}  // namespace

TEST_CASE("the registry lists the playbook's six scenarios once each, in playbook order", "[scenarios]") {
  auto ids = scenarios::ids();
  CHECK(ids == std::vector<std::string>{"credit_storm", "synergy_anti_gaming", "approval_race", "karma_blackout", "ml_chaos",
                                        "crash_replay"});
  for (auto const& s : scenarios::registry()) {
    INFO(s.id);
    CHECK_FALSE(s.label.empty());
    CHECK(s.plan != nullptr);
    CHECK(s.judge != nullptr);
    CHECK_FALSE(s.needs.empty());
  }
  auto load = scenarios::load_catalog();
  auto check = scenarios::check_catalog();
  REQUIRE(load.size() == ids.size());
  REQUIRE(check.size() == ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    CHECK(load[i].id == ids[i]);
    CHECK(check[i].id == ids[i]);
    CHECK(check[i].needs == load[i].needs);
  }
}

TEST_CASE("a scenario's needs skip it on a target without the op, in the load and in the checker alike", "[scenarios]") {
  auto ref = config::load_target("reference").value();
  auto s = seventh(&scenarios::judge_of<seventh_judge<20>>, {"create", "teleport"});
  auto plan = load::plan(scenarios::load_catalog({s})[0], ref, {});
  CHECK(plan.scenario == "seventh");
  CHECK(plan.skip == "target has no 'teleport' op");
  CHECK(plan.phases.empty());
  auto ok = load::plan(scenarios::load_catalog({seventh(&scenarios::judge_of<seventh_judge<20>>)})[0], ref, {});
  CHECK(ok.skip.empty());
  int consumes = 0;
  for (auto const& ph : ok.phases)
    for (auto const& lane : ph.lanes)
      for (auto const& o : lane) consumes += o.f == "consume";
  CHECK(consumes == agents * consumes_per_agent);
}

TEST_CASE("a seventh scenario defined only in the test is planned, sent, judged, counted and reported",
          "[scenarios][integration]") {
  test::temp_dir dir;
  test::process karma({"karma", "--listen", "127.0.0.1:0"});
  auto karma_url = karma.wait_listening("karma");
  auto backend_url = "http://127.0.0.1:" + std::to_string(free_port());
  test::process proxy({"proxy", "--route", "credits=127.0.0.1:0->" + backend_url, "--admin", "127.0.0.1:0", "--traffic-log",
                       dir.file("traffic.jsonl"), "--seed", "42"});
  auto credits_url = proxy.wait_listening("route:credits");
  auto admin_url = proxy.wait_listening("admin");
  test::process backend({"backend", "--listen", backend_url.substr(7), "--journal", dir.file("credits.jsonl"), "--fsync",
                         "never", "--karma-url", karma_url});
  backend.wait_listening("backend");

  load::options opt{.catalog = scenarios::load_catalog(with(seventh(&scenarios::judge_of<seventh_judge<20>>)))};
  opt.base_url = credits_url;
  opt.admin_url = admin_url;
  opt.history = dir.file("history.jsonl");
  opt.scenarios = {"seventh"};
  opt.concurrency = 2;
  opt.quiet = true;
  opt.sample_interval_ms = 100;
  REQUIRE(load::run(opt) == 0);
  proxy.stop();  // the traffic log is whole

  // the load sent it: its ops carry its id
  std::ifstream in(opt.history);
  std::stringstream text;
  text << in.rdbuf();
  CHECK(text.str().find("\"op\":\"seventh-000") != std::string::npos);

  auto check = [&](scenarios::scenario s) {
    checks::check_options o{.scenarios = scenarios::check_catalog(with(std::move(s)))};
    o.traffic = {dir.file("traffic.jsonl")};
    o.history = {opt.history};
    o.journal = dir.file("credits.jsonl");
    auto r = checks::run_check(o);
    REQUIRE(r);
    return *r;
  };

  SECTION("judged PASS by its own judge, the six others not run, and the verdict counts seven") {
    auto r = check(seventh(&scenarios::judge_of<seventh_judge<20>>));
    REQUIRE(r.scenarios.size() == 7);
    auto const* s = result_of(r, "seventh");
    REQUIRE(s);
    INFO(s->reason);
    CHECK(s->scenario_name == "Der siebte Versuch");
    CHECK(s->st == checks::status::pass);
    CHECK(s->metrics.at("booked").as_int64() == 20);
    REQUIRE(s->invariants.size() == 2);
    CHECK(result_of(r, "credit_storm")->st == checks::status::skip);
    CHECK(r.overall_status == "CONDITIONAL");
    auto reasons = [&] {
      std::string all;
      for (auto const& x : r.verdict_reasons) all += x + "\n";
      return all;
    }();
    CHECK(reasons.find("scenario seventh") == std::string::npos);
    CHECK(reasons.find("scenario credit_storm: SKIP") != std::string::npos);
    for (auto const& rendered : {checks::render_json(r), checks::render_markdown(r), checks::render_html(r)}) {
      CHECK(rendered.find("Der siebte Versuch") != std::string::npos);
      CHECK(rendered.find("Alle Consumes gebucht") != std::string::npos);
    }
    CHECK(checks::render_junit(r).find("name=\"seventh\"") != std::string::npos);  // a passing case: its name only
  }
  SECTION("judged FAIL when its judge expects more, naming its invariant") {
    auto r = check(seventh(&scenarios::judge_of<seventh_judge<21>>));
    auto const* s = result_of(r, "seventh");
    REQUIRE(s);
    CHECK(s->st == checks::status::fail);
    CHECK(s->reason == "Alle Consumes gebucht: 20 of 21");
    bool named = false;
    for (auto const& x : r.verdict_reasons) named = named || x.starts_with("scenario seventh: FAIL");
    CHECK(named);
    CHECK(checks::render_junit(r).find("Alle Consumes gebucht: 20 of 21") != std::string::npos);
  }
  SECTION("a judge reading a gate its scenario does not declare gives no result, and says why") {
    auto r = check(seventh(&scenarios::judge_of<undeclared_judge>));
    CHECK(r.scenarios.empty());
    bool said = false;
    for (auto const& n : r.notes) said = said || n.find("reads gate D, which its entry does not list") != std::string::npos;
    CHECK(said);
    CHECK(r.overall_status == "CONDITIONAL");
  }
}

TEST_CASE("the verdict asks every scenario of the list to PASS", "[scenarios]") {
  checks::check_report r;
  for (auto g : checks::all_gates) {
    checks::gate_result gr;
    gr.id = checks::key(g);
    gr.name = checks::label(g);
    gr.st = checks::status::pass;
    r.gates[gr.id] = gr;
  }
  for (int i = 0; i < 7; ++i) {
    checks::scenario_result s;
    s.scenario_id = "s" + std::to_string(i);
    s.st = checks::status::pass;
    r.scenarios.push_back(s);
  }
  checks::detail::decide(r, 7);
  CHECK(r.overall_status == "GO");
  CHECK(r.verdict_reasons.at(0).starts_with("all 7 scenarios PASS"));
  r.scenarios.pop_back();
  checks::detail::decide(r, 7);
  CHECK(r.overall_status == "CONDITIONAL");
  CHECK(r.verdict_reasons.at(0) == "fewer than 7 scenarios");
}
