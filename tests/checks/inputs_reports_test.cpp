#include "checks/checks.hpp"
#include "core/jsonl.hpp"
#include "tests/support/catch.hpp"
#include "tests/support/process.hpp"
#include "tests/support/records.hpp"
#include "scenarios/scenarios.hpp"

#include <fstream>
#include <regex>
#include <sstream>

using namespace stormgate;
using namespace stormgate::test;
using checks::status;
namespace json = boost::json;

namespace {

std::string slurp(std::string const& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> good_traffic() {
  return {create("c-1", "a1", 100, 0), consume("credit_storm-1", "a1", 10, 90, "e-1", 10), consume("credit_storm-2", "a1", 5, 85, "e-2", 20),
          balance_read("a1", 85, 100)};
}

}  // namespace

// ---- bad input ----------------------------------------------------------------------------------

TEST_CASE("a torn last line is tolerated and reported", "[checks][input]") {
  temp_dir dir;
  auto lines = good_traffic();
  lines.push_back(R"({"v":1,"kind":"exchange","id":"credits-9","rou)");
  write_lines(dir.file("t.jsonl"), lines, false);
  checks::check_options o{.scenarios = scenarios::check_catalog()};
  o.traffic = {dir.file("t.jsonl")};
  auto r = checks::run_check(o);
  REQUIRE(r);
  CHECK(r->records == 4);
  REQUIRE(!r->notes.empty());
  CHECK(r->notes[0] == dir.file("t.jsonl") + ":5: torn last line ignored (not valid JSON (incomplete JSON))");
  CHECK(r->gates.at("B").st == status::pass);
  // a last line without its newline that is whole is read, leniently (NaN) too
  exchange_line x;
  x.op = "credit_storm-3";
  x.t_ms = 30;
  x.body = {{"agent_id", "a1"}, {"amount", 5}};
  x.upstream.push_back(answer(200, json::object{{"event_id", "e-3"}, {"balance_after", "NAN"}}));
  auto nan_line = x.str();
  nan_line.replace(nan_line.find("\"NAN\""), 5, "NaN");
  lines = good_traffic();
  lines.push_back(nan_line);
  write_lines(dir.file("n.jsonl"), lines, false);
  o.traffic = {dir.file("n.jsonl")};
  auto n = checks::run_check(o);
  REQUIRE(n);
  CHECK(n->records == 5);
  for (auto const& note : n->notes) CHECK(note.find("torn") == std::string::npos);
  CHECK(n->gates.at("B").metrics.at("non_finite").as_uint64() == 1);
}

TEST_CASE("a corrupt line before the last stops with 65 and file:line", "[checks][input]") {
  temp_dir dir;
  auto lines = good_traffic();
  lines.insert(lines.begin() + 2, "{not json");
  write_lines(dir.file("t.jsonl"), lines);
  checks::check_options o{.scenarios = scenarios::check_catalog()};
  o.traffic = {dir.file("t.jsonl")};
  auto r = checks::run_check(o);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == 65);
  CHECK(r.error().where == dir.file("t.jsonl") + ":3");
  // a complete but broken last line (with its newline) is corrupt too, not torn
  lines = good_traffic();
  lines.push_back("{\"v\":1,\"kind\":\"exchange\"");
  write_lines(dir.file("t2.jsonl"), lines, true);
  o.traffic = {dir.file("t2.jsonl")};
  auto r2 = checks::run_check(o);
  REQUIRE_FALSE(r2);
  CHECK(r2.error().where == dir.file("t2.jsonl") + ":5");
}

TEST_CASE("an empty or missing log is an error, never a PASS", "[checks][input]") {
  temp_dir dir;
  write_lines(dir.file("empty.jsonl"), {});
  for (auto const& f : {dir.file("empty.jsonl"), dir.file("missing.jsonl")}) {
    checks::check_options o{.scenarios = scenarios::check_catalog()};
    o.traffic = {f};
    auto r = checks::run_check(o);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == 65);
    CHECK(r.error().where == f);
  }
  // a record kind this checker does not read is counted in a note, not an error
  write_lines(dir.file("odd.jsonl"), {good_traffic()[0], R"({"v":1,"kind":"weird"})"});
  checks::check_options o{.scenarios = scenarios::check_catalog()};
  o.traffic = {dir.file("odd.jsonl")};
  auto r = checks::run_check(o);
  REQUIRE(r);
  REQUIRE(!r->notes.empty());
  CHECK(r->notes[0].find("1 records of type \"weird\"") != std::string::npos);
  // a record without a kind is corrupt
  write_lines(dir.file("bad.jsonl"), {good_traffic()[0], R"({"v":1})", good_traffic()[1]});
  o.traffic = {dir.file("bad.jsonl")};
  auto r2 = checks::run_check(o);
  REQUIRE_FALSE(r2);
  CHECK(r2.error().message().find("bad.jsonl:2: record without kind") != std::string::npos);
}

TEST_CASE("rotated traffic files are read in time order; several logs merge", "[checks][input]") {
  temp_dir dir;
  // the rotated file holds the older records
  write_lines(dir.file("traffic.1.jsonl"), {create("c-1", "a1", 100, 0), consume("op-1", "a1", 10, 90, "e-1", 10)});
  write_lines(dir.file("traffic.jsonl"), {consume("op-2", "a1", 5, 85, "e-2", 20), balance_read("a1", 85, 100)});
  write_lines(dir.file("other.jsonl"), {create("c-2", "b1", 50, 0), consume("op-3", "b1", 5, 45, "e-3", 10), balance_read("b1", 45, 100)});
  checks::check_options o{.scenarios = scenarios::check_catalog()};
  o.traffic = {dir.file("traffic.jsonl"), dir.file("other.jsonl")};
  auto r = checks::run_check(o);
  REQUIRE(r);
  CHECK(r->records == 7);
  REQUIRE(r->inputs.size() == 3);
  CHECK(r->inputs[0].find("traffic.1.jsonl") != std::string::npos);
  CHECK(r->gates.at("B").st == status::pass);
  CHECK(r->gates.at("B").metrics.at("agents_compared").as_uint64() == 2);
}

// ---- reports ----------------------------------------------------------------------------------

TEST_CASE("reports: JSON fields, JUnit testcases, HTML with SVG, Markdown template", "[checks][reports]") {
  temp_dir dir;
  std::vector<std::string> traffic = good_traffic();
  exchange_line dup;
  dup.op = "credit_storm-3";
  dup.t_ms = 30;
  dup.body = {{"agent_id", "a1"}, {"amount", 1}};
  dup.upstream.push_back(answer(200, write_body(84, "e-3")));
  dup.upstream.push_back(answer(200, write_body(83, "e-4")));
  traffic.insert(traffic.begin() + 3, dup.str());
  traffic.back() = balance_read("a1", 83, 100);
  traffic.insert(traffic.begin() + 1,
                 control("set", json::object{{"name", "slow"}, {"route", "credits"}, {"action", json::object{{"delay", json::object{{"ms", 5}}}}}}, 5));
  write_lines(dir.file("t.jsonl"), traffic);
  std::vector<std::string> h{hist_run("start", 0, 60)};
  for (int i = 0; i < 20; ++i) h.push_back(hist("ok", "credit_storm-" + std::to_string(i), "credit_storm", "consume", i * 5, {}, 200, 1000 + i * 100));
  for (int i = 0; i < 5; ++i) h.push_back(hist_sample(i * 20, 40 + i));
  h.push_back(hist_run("stop", 100, 60, 0.1));
  write_lines(dir.file("h.jsonl"), h);
  checks::check_options o{.scenarios = scenarios::check_catalog()};
  o.traffic = {dir.file("t.jsonl")};
  o.history = {dir.file("h.jsonl")};
  auto r = checks::run_check(o);
  REQUIRE(r);
  CHECK(r->overall_status == "NO-GO");

  std::string err;
  auto j = core::parse_json(checks::render_json(*r), err);
  REQUIRE(j);
  for (auto k : {"timestamp", "branch", "commit", "test_config", "scenario_results", "gate_results", "overall_status", "recommendation"})
    CHECK(core::find(*j, k) != nullptr);
  auto const& sr = core::find(*j, "scenario_results")->as_array();
  REQUIRE(sr.size() == 6);
  for (auto k : {"scenario_name", "status", "duration", "throughput", "p95_latency", "errors", "metrics", "invariants_passed"})
    CHECK(core::find(sr[0], k) != nullptr);
  auto const* ga = core::find_path(*j, "gate_results.A");
  REQUIRE(ga);
  CHECK(core::get_string(*ga, "status") == "FAIL");
  CHECK(core::get_bool(*ga, "critical") == true);
  auto const& vs = core::find(*ga, "violations")->as_array();
  REQUIRE(vs.size() == 1);
  CHECK(core::get_string(vs[0], "op") == "credit_storm-3");
  CHECK(core::get_int(vs[0], "line") == 5);
  CHECK(core::get_string(*j, "overall_status") == "NO-GO");
  CHECK(core::find_path(*j, "test_config.seed") != nullptr);

  auto x = checks::render_junit(*r);
  CHECK(x.rfind("<?xml", 0) == 0);
  std::regex tc("<testcase ");
  CHECK(std::distance(std::sregex_iterator(x.begin(), x.end(), tc), std::sregex_iterator()) == 11);
  CHECK(x.find("<failure message=") != std::string::npos);
  CHECK(x.find("<skipped message=") != std::string::npos);
  CHECK(x.find("credit_storm-3") != std::string::npos);
  // balanced tags
  auto count = [&](std::string const& s) {
    std::size_t n = 0;
    for (auto p = x.find(s); p != std::string::npos; p = x.find(s, p + 1)) ++n;
    return n;
  };
  CHECK(count("<testsuite ") == count("</testsuite>"));
  CHECK(count("<failure ") == count("</failure>"));

  auto html = checks::render_html(*r);
  CHECK(html.find("<svg") != std::string::npos);
  CHECK(html.find("<polyline") != std::string::npos);
  CHECK(html.find("class=\"fault\"") != std::string::npos);
  CHECK(html.find("http") == html.find("http://www.w3.org/2000/svg"));  // no external assets
  CHECK(html.find("credit_storm-3") != std::string::npos);

  auto md = checks::render_markdown(*r);
  CHECK(md.find("### Gate A — Event Integrity") != std::string::npos);
  CHECK(md.find("- [x] ❌ NO-GO") != std::string::npos);
  CHECK(md.find("- [ ] Idempotency Key wirksam") != std::string::npos);
  CHECK(md.find("Kritische Risiken identifiziert") != std::string::npos);

  auto m = checks::render_matrices(*r);
  CHECK(m.find("| Credit Storm / Reuse Cascade |") != std::string::npos);
  CHECK(m.find("| A — Event Integrity | FAIL") != std::string::npos);
}

TEST_CASE("stormgate check: exit codes and report files", "[checks][cli]") {
  temp_dir dir;
  write_lines(dir.file("t.jsonl"), good_traffic());
  {
    process p({"check", "--traffic", dir.file("t.jsonl"), "--report-json", dir.file("r.json"), "--report-html", dir.file("r.html"),
               "--report-junit", dir.file("r.xml"), "--report-md", dir.file("r.md")});
    auto rc = p.wait_exit(std::chrono::seconds(20));
    REQUIRE(rc);
    CHECK(*rc == 2);  // CONDITIONAL: scenarios SKIP without a history
    CHECK(slurp(dir.file("r.json")).find("\"overall_status\":\"CONDITIONAL\"") != std::string::npos);
    CHECK(slurp(dir.file("r.html")).find("<svg") != std::string::npos);
    CHECK(p.stdout_text().find("Gate-Matrix") != std::string::npos);
  }
  {
    process p({"check", "--traffic", dir.file("nope.jsonl")});
    auto rc = p.wait_exit(std::chrono::seconds(20));
    REQUIRE(rc);
    CHECK(*rc == 65);
    CHECK(p.stderr_text().find("nope.jsonl") != std::string::npos);
  }
  {
    process p({"check", "--traffic", dir.file("t.jsonl"), "--journal", "a", "--events-url", "http://127.0.0.1:1/"});
    auto rc = p.wait_exit(std::chrono::seconds(20));
    REQUIRE(rc);
    CHECK(*rc == 64);
  }
  {
    // the journal could not be fetched: exit 69, and no partial download is left behind
    temp_dir tmp;
    process p({"check", "--traffic", dir.file("t.jsonl"), "--events-url", "http://127.0.0.1:1/api/credits/events", "--quiet"},
              {{"TMPDIR", tmp.path.string()}});
    auto rc = p.wait_exit(std::chrono::seconds(30));
    REQUIRE(rc);
    CHECK(*rc == 69);
    CHECK(std::filesystem::is_empty(tmp.path));
  }
}
